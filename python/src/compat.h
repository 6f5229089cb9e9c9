/*
 * compat.h - the one place where CPython version differences live.
 *
 * Supported: CPython 3.10 and newer (GIL builds; see Py_mod_gil in
 * module.c). Every `#if PY_VERSION_HEX` of the extension is in this file;
 * the other files use the names defined here. Only public C API is used
 * (no _Py* names); where a version lacks a function, a shim built from
 * public API stands in for it. docs/cpython-versions.md lists what was
 * checked against the 3.14 and 3.15 What's New.
 */
#ifndef WC_PY_COMPAT_H
#define WC_PY_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030A0000
#error "weakcache needs CPython 3.10 or newer"
#endif

/* ------------------------------------------------------------------ */
/* PyMemberDef constants                                               */
/* ------------------------------------------------------------------ */
/* 3.12 moved them into Python.h under Py_ names and deprecated
 * structmember.h's spellings. There is no public T_OBJECT (None for NULL)
 * any more: members that may be NULL are getters instead. */
#if PY_VERSION_HEX >= 0x030C0000
#define WC_T_PYSSIZET Py_T_PYSSIZET
#define WC_READONLY Py_READONLY
#define WC_T_OBJECT_EX Py_T_OBJECT_EX
#else
#include <structmember.h>
#define WC_T_PYSSIZET T_PYSSIZET
#define WC_READONLY READONLY
#define WC_T_OBJECT_EX T_OBJECT_EX
#endif

/* Py_RELATIVE_OFFSET (3.12): a member offset relative to the subclass data. */
#ifdef Py_RELATIVE_OFFSET
#define WC_MEMBER_IS_RELATIVE(m) (((m)->flags & Py_RELATIVE_OFFSET) != 0)
#else
#define WC_MEMBER_IS_RELATIVE(m) 0
#endif

/* ------------------------------------------------------------------ */
/* Type flags and module slots                                         */
/* ------------------------------------------------------------------ */

/* Py_TPFLAGS_MANAGED_DICT (3.12): instances have a __dict__ with no
 * tp_dictoffset. */
static inline int wc_type_has_instance_dict(PyTypeObject *tp)
{
#ifdef Py_TPFLAGS_MANAGED_DICT
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        return 1;
#endif
    return tp->tp_dictoffset != 0;
}

/* Py_mod_multiple_interpreters (3.12): every piece of state is per module
 * object (module state, heap types), so the module supports one instance
 * per interpreter, each with its own GIL. */
#ifdef Py_mod_multiple_interpreters
#define WC_MOD_MULTIPLE_INTERPRETERS_SLOT \
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#else
#define WC_MOD_MULTIPLE_INTERPRETERS_SLOT
#endif

/* Py_mod_gil (3.13): the structures are protected by the GIL; on
 * free-threaded builds the interpreter keeps the GIL enabled while this
 * module is loaded. */
#ifdef Py_mod_gil
#define WC_MOD_GIL_SLOT {Py_mod_gil, Py_MOD_GIL_USED},
#else
#define WC_MOD_GIL_SLOT
#endif

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

/* The dict of a type, borrowed (the type keeps it alive). 3.12 made static
 * builtin types keep their dict per interpreter: PyType_GetDict is the
 * public way to reach it. */
static inline PyObject *wc_type_dict(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *d = PyType_GetDict(tp);
    Py_XDECREF(d);   /* owned by tp as long as tp lives */
    return d;
#else
    return tp->tp_dict;
#endif
}

/* What attribute lookup on the type finds for `name` along the MRO, without
 * running descriptors: a borrowed reference, or NULL (with an exception
 * only if a dict lookup failed). The public counterpart of _PyType_Lookup,
 * minus its method cache. */
static inline PyObject *wc_type_lookup(PyTypeObject *tp, PyObject *name)
{
    PyObject *mro = tp->tp_mro;
    Py_ssize_t i, n;
    if (mro == NULL)
        return NULL;
    n = PyTuple_GET_SIZE(mro);
    for (i = 0; i < n; i++) {
        PyObject *d = wc_type_dict((PyTypeObject *)PyTuple_GET_ITEM(mro, i));
        PyObject *v;
        if (d == NULL)
            continue;
        v = PyDict_GetItemWithError(d, name);
        if (v != NULL || PyErr_Occurred())
            return v;
    }
    return NULL;
}

/* PyType_GetModuleByDef arrived in 3.11: the module of the first heap type
 * in tp's MRO created from `def` (borrowed), or NULL with TypeError. */
#if PY_VERSION_HEX >= 0x030B0000
#define wc_type_module_by_def PyType_GetModuleByDef
#else
static inline PyObject *wc_type_module_by_def(PyTypeObject *tp, PyModuleDef *def)
{
    PyObject *mro = tp->tp_mro;
    Py_ssize_t i, n = mro != NULL ? PyTuple_GET_SIZE(mro) : 0;
    for (i = 0; i < n; i++) {
        PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        PyObject *m;
        if (!PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE))
            continue;
        m = PyType_GetModule(t);
        if (m == NULL) {
            PyErr_Clear();   /* a heap type made by a class statement */
            continue;
        }
        if (PyModule_GetDef(m) == def)
            return m;
    }
    PyErr_Format(PyExc_TypeError, "PyType_GetModuleByDef: no superclass of '%s' has the given module",
                 tp->tp_name);
    return NULL;
}
#endif

/* ------------------------------------------------------------------ */
/* Weak references                                                     */
/* ------------------------------------------------------------------ */

/* Does this weak reference point at exactly `obj` right now? A pointer
 * comparison of the referent slot, so no strong reference is needed and the
 * answer is false once the referent has died (the slot then holds None).
 * PyWeakref_GET_OBJECT is deprecated in 3.13 and removed in 3.15; the
 * PyWeakReference struct and its wr_object field stay in the non-limited
 * API (cpython/weakrefobject.h). GIL builds only: on free-threaded builds
 * the field must be read atomically. */
static inline int wc_weakref_is(PyObject *ref, PyObject *obj)
{
    return ((PyWeakReference *)ref)->wr_object == obj;
}

/* The first weak reference in obj's list of weak references (borrowed; NULL
 * if it has none), or NULL when this build does not know where the list is.
 * The list head is a PyObject * at tp_weaklistoffset bytes from the object:
 * the documented meaning of the field up to 3.11, and what CPython's own
 * _PyObject_GET_WEAKREFS_LISTPTR computes on 3.12-3.14, where a class with
 * managed weakrefs has a negative offset into the pre-header. Two cases
 * differ and are left out: static builtin types keep their list in the
 * interpreter (3.12+), so no type object is read here; and a version not
 * checked yet (3.15 on) or a free-threaded build answers NULL. A caller uses
 * the head only as a hint it verifies (owners.h), and NULL costs nothing
 * but the slower way. obj must be weakly referenceable. */
#if PY_VERSION_HEX < 0x030F0000 && !defined(Py_GIL_DISABLED)
#define WC_HAVE_WEAKLIST_HEAD 1
static inline PyObject *wc_weaklist_head(PyObject *obj)
{
    if (PyType_Check(obj))
        return NULL;
#if PY_VERSION_HEX < 0x030C0000
    if (Py_TYPE(obj)->tp_weaklistoffset < 0)   /* not weakly referenceable there */
        return NULL;
#endif
    return *(PyObject **)((char *)obj + Py_TYPE(obj)->tp_weaklistoffset);
}
#else
#define WC_HAVE_WEAKLIST_HEAD 0
static inline PyObject *wc_weaklist_head(PyObject *obj)
{
    (void)obj;
    return NULL;
}
#endif

/* Is the referent gone? */
static inline int wc_weakref_is_dead(PyObject *ref)
{
    return ((PyWeakReference *)ref)->wr_object == Py_None;
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

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */
/* ------------------------------------------------------------------ */

/* Keep the current exception aside while cleanup code runs.
 * PyErr_Fetch/Restore are deprecated from 3.12 on. */
#if PY_VERSION_HEX >= 0x030C0000
typedef struct { PyObject *exc; } wc_saved_error;
static inline void wc_error_save(wc_saved_error *s) { s->exc = PyErr_GetRaisedException(); }
static inline void wc_error_restore(wc_saved_error *s) { PyErr_SetRaisedException(s->exc); }
#else
typedef struct { PyObject *type, *value, *tb; } wc_saved_error;
static inline void wc_error_save(wc_saved_error *s) { PyErr_Fetch(&s->type, &s->value, &s->tb); }
static inline void wc_error_restore(wc_saved_error *s) { PyErr_Restore(s->type, s->value, s->tb); }
#endif

/* Take the current exception as one object (normalized, its traceback
 * attached), and raise such an object again (borrowed) any number of times:
 * the single flight of lru_cache(lock=True) hands one exception to every
 * waiter. */
#if PY_VERSION_HEX >= 0x030C0000
static inline PyObject *wc_error_take(void) { return PyErr_GetRaisedException(); }
static inline void wc_error_raise(PyObject *exc) { PyErr_SetRaisedException(Py_NewRef(exc)); }
#else
static inline PyObject *wc_error_take(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
        Py_DECREF(tb);
    }
    Py_DECREF(type);
    return value;
}
static inline void wc_error_raise(PyObject *exc)
{
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), Py_NewRef(exc),
                  PyException_GetTraceback(exc));
}
#endif

/* PyObject_GetOptionalAttr (3.13): 1 and *out on success, 0 and *out NULL
 * if there is no such attribute (no exception), -1 on other errors. */
#if PY_VERSION_HEX >= 0x030D0000
#define wc_getattr_optional PyObject_GetOptionalAttr
#else
static inline int wc_getattr_optional(PyObject *obj, PyObject *name, PyObject **out)
{
    *out = PyObject_GetAttr(obj, name);
    if (*out != NULL)
        return 1;
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    return 0;
}
#endif

/* PyType_Slot.pfunc is a void *. ISO C has no conversion from a function
 * pointer to void *, but has one through an integer: -Wpedantic stays quiet. */
#define WC_SLOT_FN(f) ((void *)(uintptr_t)(f))

/* Keep a cold continuation out of its caller, so that the hot part has no
 * register spills for code it does not run (not a version difference, but
 * a compiler one: kept with the others). */
#if defined(__GNUC__) || defined(__clang__)
#define WCPY_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define WCPY_NOINLINE __declspec(noinline)
#else
#define WCPY_NOINLINE
#endif

#endif /* WC_PY_COMPAT_H */
