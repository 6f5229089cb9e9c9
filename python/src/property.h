/*
 * property.h - weakcache.cached_property: the descriptor at run time
 * (property.c: __get__, __set__, __delete__ and the three storages) and its
 * binding to classes (property_class.c: __set_name__, the data twin types,
 * the type objects, cached_slots()).
 *
 * Depends on owners.h only. module.c calls the three functions at the top;
 * the rest is shared by the two files.
 */
#ifndef WC_PY_PROPERTY_H
#define WC_PY_PROPERTY_H

#include "owners.h"

/* The cached_property part of the module state. */
typedef struct {
    PyTypeObject *cached_property_type;   /* weakcache.cached_property (non-data) */
    PyTypeObject *data_twin_type;         /* its data-descriptor twin */
    PyTypeObject *store_type;             /* _CachedPropertyStore */
    PyTypeObject *values_type;            /* _CachedValues: one instance's weak-mode values */
    PyObject *store;                      /* the one weak-mode store */
    PyObject *weak_store_warning;         /* WeakStoreWarning */
    PyObject *str_dict;                   /* "__dict__" */
    PyObject *str_twin;                   /* the twin's key in a Python subclass */
    OwnersState *owners;                  /* the module's owner service */
} PropState;

/* Create the types and the store, add cached_property and cached_slots to
 * the module. 0, or -1 with an exception. */
int wcpy_property_init(PyObject *module, PropState *st, OwnersState *owners);
int wcpy_property_traverse(PropState *st, visitproc visit, void *arg);
void wcpy_property_clear(PropState *st);

/* ------------------------------------------------------------------ */
/* Shared by property.c and property_class.c                           */
/* ------------------------------------------------------------------ */

enum { MODE_UNBOUND = 0, MODE_DICT = 1, MODE_SLOT = 2, MODE_WEAK = 3 };

#define RESERVED_PREFIX "_wc_cached_"

typedef struct {
    PyObject_HEAD
    PyObject *func;
    PyObject *name;           /* attrname; NULL until __set_name__ */
    PyTypeObject *owner;      /* the class of the last __set_name__ */
    Py_ssize_t offset;        /* slot mode: the slot's offset in the instance */
    PyObject *store;          /* weak mode: the shared Store (strong) */
    PyObject *lock;           /* an RLock with lock=True, else NULL */
    PropState *state;
    int mode;
    PyObject *dict;
    PyObject *weakreflist;
} CachedProperty;

/* A Store: the wc_cache of weak-mode values, see property.c. */
typedef struct {
    PyObject_HEAD
    wc_cache *cache;
} Store;

/* One instance's weak-mode values: (property, value) pairs, both strong. */
typedef struct {
    PyObject *prop;
    PyObject *value;
} ValuePair;

typedef struct {
    PyObject_HEAD
    ValuePair *pairs;         /* PyMem block of `cap` pairs, `len` in use */
    Py_ssize_t len;
    Py_ssize_t cap;
} Values;

extern const char *const wcpy_property_mode_names[];

/* The weak store has one entry per instance, keyed by (owner record,
 * None): its hash is a constant through a 64-bit finalizer (splitmix64), so
 * that what the core mixes with the owner's address is well spread. */
static inline uint64_t store_key_hash(void)
{
    uint64_t z = (uint64_t)0x5743414348454421ull + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* property.c */
PyObject *wcpy_cp_descr_get(PyObject *op, PyObject *obj, PyObject *type);
int wcpy_cp_descr_set(PyObject *op, PyObject *obj, PyObject *value);
/* __get__ as a method: accepts __get__(None, cls) like functools. */
PyObject *wcpy_cp_get_method(PyObject *op, PyObject *const *args, Py_ssize_t nargs);
/* The store and values types' specs, and a new Store (new reference). */
extern PyType_Spec wcpy_store_spec;
extern PyType_Spec wcpy_values_spec;
PyObject *wcpy_store_new(PropState *st);

#endif /* WC_PY_PROPERTY_H */
