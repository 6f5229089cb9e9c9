/*
 * owners.h - the owner service of the extension: one record per live owner
 * object, the weak reference that evicts its entries when it dies, and the
 * allocator and ops tables that make a wc_cache hold PyObject * keys and
 * values.
 *
 * This is the bottom layer of python/src: it depends only on weakcache.h and
 * Python. The features (lru.c: lru_cache/cache; property.c:
 * cached_property) use it and never each other; module.c ties them together.
 */
#ifndef WC_PY_OWNERS_H
#define WC_PY_OWNERS_H

#include "compat.h"
#include "weakcache.h"

#include <stdint.h>

/* An owner record: a weakref.ref subclass (so it carries the weak reference
 * and its callback) with the core's wc_owner embedded, so one allocation
 * per live owner holds the entries of every cache the owner uses. */
typedef struct {
    PyWeakReference wr;   /* must come first: this is a weakref.ref */
    wc_owner owner;
    uintptr_t addr;       /* the referent's address, the registry key */
} OwnerRef;

/* Identity-keyed open-addressing table: object address -> record. */
typedef struct {
    OwnerRef **slots;     /* NULL, the dummy or a record (a strong reference) with a
                             fingerprint of its owner in the low 3 bits (owners.c) */
    size_t mask;          /* capacity - 1, capacity a power of two */
    size_t used;          /* live records */
    size_t filled;        /* live records + dummy slots */
} Registry;

/* The owner service's part of the module state. */
typedef struct {
    PyTypeObject *ownerref_type;  /* _OwnerRef: not instantiable from Python */
    PyObject *owner_died;         /* the weakref callback (bound to the module) */
    Registry registry;
    wc_owner no_entries;          /* never holds entries: lookups for an object
                                     without a record use it to count a miss */
    size_t registry_lookups;      /* wcpy_owner_lookup_registry calls, for tests:
                                     hits that the weakref-list hint serves
                                     leave it unchanged */
} OwnersState;

/* Set up *st (which lives inside the state of `module`). 0, or -1 with an
 * exception. */
int wcpy_owners_init(PyObject *module, OwnersState *st);
int wcpy_owners_traverse(OwnersState *st, visitproc visit, void *arg);
/* Release every owner (their entries leave every cache) and the types. */
void wcpy_owners_clear(OwnersState *st);

/* The live owner record of obj (borrowed), or NULL if it has none. A record
 * left by a dead object at the same address is discarded. No Python code runs
 * except the decrefs of a discarded record's entries. */
OwnerRef *wcpy_owner_lookup_registry(OwnersState *st, PyObject *obj);

/* wcpy_owner_lookup_registry, reached without the registry when it can be:
 * the record is a weak reference to obj, so it is in obj's own list of weak
 * references, and it is that list's first one unless obj has a plain
 * weakref.ref or proxy, or a weak reference made after the record (CPython
 * puts refs with a callback or of a subclass after the plain ones, else
 * first). obj is hot (the caller just read its type), so the list head
 * costs no miss, and the record read that confirms it overlaps the cache's
 * own lookup (whose hash needs only the record's address): a hit on a
 * cached method of one of many instances waits for the index slot and the
 * entry, not also for a registry slot first. A head of our record type that
 * points at obj is obj's record: one record per object, in the registry as
 * long as it refers to a live object, and a record of another module
 * instance has another type. Anything else takes the registry. */
static inline OwnerRef *wcpy_owner_lookup(OwnersState *st, PyObject *obj)
{
    if (Py_TYPE(obj)->tp_weaklistoffset != 0) {
        PyObject *head = wc_weaklist_head(obj);
        if (head != NULL && Py_IS_TYPE(head, st->ownerref_type) && wc_weakref_is(head, obj))
            return (OwnerRef *)head;
    }
    return wcpy_owner_lookup_registry(st, obj);
}

/* The record of obj, created if needed (borrowed: the registry holds it until
 * obj dies). NULL with an exception set (TypeError if obj cannot be weakly
 * referenced, MemoryError). */
OwnerRef *wcpy_owner_get_or_create(OwnersState *st, PyObject *obj);

/* Number of live owner records; number of them with entries in `cache`. */
size_t wcpy_owner_records(const OwnersState *st);
size_t wcpy_owner_records_in(const OwnersState *st, const wc_cache *cache);

/* Caches of PyObject * keys and values: the allocator routes every byte of
 * the core through PyMem (so tracemalloc sees it); the ops hold strong
 * references to keys and values. wcpy_ops compares keys with ==,
 * wcpy_identity_ops by identity only (no Python code runs in a lookup). */
extern const wc_allocator wcpy_allocator;
extern const wc_ops wcpy_ops;
extern const wc_ops wcpy_identity_ops;
/* Their free_* and retain_value callbacks, for other ops tables (ctx unused). */
void wcpy_obj_decref(void *ctx, void *obj);
void wcpy_obj_incref(void *ctx, void *obj);

/* wc_config_init() for a cache of PyObject * with these ops (wcpy_ops or
 * wcpy_identity_ops) and the PyMem allocator; set the bounds afterwards. */
void wcpy_config_init(wc_config *cfg, const wc_ops *ops);

/* Store key -> value (both borrowed; the cache takes references of its own
 * on success, and drops the extra one when the core kept the pointer it
 * already held). WC_OK, or the core's negative status (no exception is set
 * here; a callback may have set one). */
int wcpy_put(wc_cache *cache, wc_owner *owner, uint64_t hash, PyObject *key, PyObject *value,
             uint32_t weight);
/* The same with the key stored as the pointer `stored` (a tagged form of
 * it, key.c), the reference being taken on `key`. */
int wcpy_put_as(wc_cache *cache, wc_owner *owner, uint64_t hash, void *stored,
                PyObject *key, PyObject *value, uint32_t weight);

/* tp_traverse helper: visit every key and value of a cache of PyObject *
 * (NULL cache: nothing). Iterating runs no Python code and allocates nothing,
 * so it is safe inside the collector. */
int wcpy_cache_traverse(wc_cache *cache, visitproc visit, void *arg);

/* Raise the Python exception for a failed core call (unless one is set);
 * returns NULL. */
PyObject *wcpy_core_error(int status);

/* Module parts. Each part of the extension keeps its state in a sub-struct
 * of the module state without knowing the enclosing layout: at init it
 * records the sub-struct's offset, and finds it again from the module. */
static inline Py_ssize_t wcpy_part_offset(PyObject *module, void *part)
{
    return (Py_ssize_t)((char *)part - (char *)PyModule_GetState(module));
}

static inline void *wcpy_part_state(PyObject *module, Py_ssize_t offset)
{
    char *s = (char *)PyModule_GetState(module);
    return s != NULL ? s + offset : NULL;
}

/* The same from one of the part's heap types (created with the module). */
static inline void *wcpy_type_part_state(PyTypeObject *tp, Py_ssize_t offset)
{
    char *s = (char *)PyType_GetModuleState(tp);
    return s != NULL ? s + offset : NULL;
}

#endif /* WC_PY_OWNERS_H */
