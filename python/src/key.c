/*
 * key.c - the keys of weakcache.lru_cache entries (see lru.c for how entries
 * are laid out: (owner, key) -> value).
 */
#include "lru.h"

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/* Can a lone argument stand for its own key? Only if it can never compare
 * equal to a tuple key built for a call with other arguments. For functions
 * we follow functools exactly (exact int and str only), so that the same
 * calls share entries as they do there: f(1) and f(1.0) are two entries. On
 * methods functools' key always holds self, so f(1) and f(1.0) share one
 * entry there; any type whose equality cannot match a tuple keeps that. */
static int stands_alone(PyObject *arg, int is_method)
{
    PyTypeObject *t = Py_TYPE(arg);
    if (t == &PyLong_Type || t == &PyUnicode_Type)
        return 1;
    if (!is_method)
        return 0;
    if (t == &PyFloat_Type || t == &PyBytes_Type || t == &PyBool_Type || arg == Py_None)
        return 1;
    return t->tp_richcompare == PyBaseObject_Type.tp_richcompare;
}

/* Build the key for args[0:nargs] plus keywords. Returns a new reference. */
PyObject *wcpy_lru_make_key(LruState *st, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames, int typed, int owned)
{
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    Py_ssize_t size, i, pos = 0;
    PyObject *key;

    if (nkw == 0 && !typed && nargs == 1 && stands_alone(args[0], owned))
        return Py_NewRef(args[0]);
    size = nargs + (nkw ? 1 + 2 * nkw : 0) + (typed ? nargs + nkw : 0);
    key = PyTuple_New(size);
    if (key == NULL)
        return NULL;
    for (i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(key, pos++, Py_NewRef(args[i]));
    if (nkw) {
        PyTuple_SET_ITEM(key, pos++, Py_NewRef(st->kwd_mark));
        for (i = 0; i < nkw; i++) {
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(PyTuple_GET_ITEM(kwnames, i)));
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(args[nargs + i]));
        }
    }
    if (typed) {
        for (i = 0; i < nargs; i++)
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(Py_TYPE(args[i])));
        for (i = 0; i < nkw; i++)
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(Py_TYPE(args[nargs + i])));
    }
    return key;
}

