/*
 * compat.h - the one place where CPython version differences live.
 * Supported: CPython 3.9 - 3.13 (GIL builds; see Py_mod_gil in _weakcache.c).
 */
#ifndef WC_PY_COMPAT_H
#define WC_PY_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>   /* T_OBJECT, READONLY: still present on 3.13 */

#if PY_VERSION_HEX < 0x03090000
#error "weakcache needs CPython 3.9 or newer"
#endif

/* Py_NewRef / Py_XNewRef arrived in 3.10. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *wc_Py_NewRef(PyObject *o) { Py_INCREF(o); return o; }
static inline PyObject *wc_Py_XNewRef(PyObject *o) { Py_XINCREF(o); return o; }
#define Py_NewRef(o) wc_Py_NewRef((PyObject *)(o))
#define Py_XNewRef(o) wc_Py_XNewRef((PyObject *)(o))
#endif

/* PyModule_AddObjectRef arrived in 3.10. */
#if PY_VERSION_HEX < 0x030A0000
static inline int wc_PyModule_AddObjectRef(PyObject *mod, const char *name, PyObject *value)
{
    int r;
    Py_XINCREF(value);
    r = PyModule_AddObject(mod, name, value);
    if (r < 0)
        Py_XDECREF(value);
    return r;
}
#define PyModule_AddObjectRef wc_PyModule_AddObjectRef
#endif

/* Does this weak reference point at exactly `obj` right now? A pointer
 * comparison of the referent slot, so no strong reference is needed and the
 * answer is false once the referent has died (the slot then holds None).
 * PyWeakref_GET_OBJECT is deprecated in 3.13; the struct field is stable
 * from 3.9 to 3.13 on GIL builds. */
static inline int wc_weakref_is(PyObject *ref, PyObject *obj)
{
    return ((PyWeakReference *)ref)->wr_object == obj;
}

/* A strong reference to a weakref's referent, or NULL if it is dead. */
static inline PyObject *wc_weakref_get(PyObject *ref)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *obj = NULL;
    if (PyWeakref_GetRef(ref, &obj) < 0) {
        PyErr_Clear();
        return NULL;
    }
    return obj;
#else
    PyObject *obj = PyWeakref_GET_OBJECT(ref);
    if (obj == Py_None || Py_REFCNT(obj) <= 0)
        return NULL;
    return Py_NewRef(obj);
#endif
}

#endif /* WC_PY_COMPAT_H */
