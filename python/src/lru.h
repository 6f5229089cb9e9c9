/*
 * lru.h - weakcache.lru_cache / weakcache.cache: the wrapper type (lru.c) and
 * the bound method that `obj.method` returns (bound.c).
 *
 * Depends on owners.h only. module.c calls the three functions at the top;
 * the rest is shared by lru.c and bound.c.
 */
#ifndef WC_PY_LRU_H
#define WC_PY_LRU_H

#include "async.h"
#include "flat.h"
#include "owners.h"

/* The lru_cache part of the module state. */
typedef struct {
    PyTypeObject *wrapper_type;
    PyTypeObject *bound_type;
    PyObject *cache_info_type;
    PyObject *kwd_mark;
    PyObject *not_weakrefable_warning;
    PyObject *owner_cycle_warning;
    OwnersState *owners;   /* the module's owner service (not a reference) */
    AsyncState *async;     /* the async part (async.c; not a reference) */
} LruState;

/* Create the types, CacheInfo and the two warnings (subclasses of
 * base_warning) and add them to the module. 0, or -1 with an exception. */
int wcpy_lru_init(PyObject *module, LruState *st, OwnersState *owners, PyObject *base_warning);
int wcpy_lru_traverse(LruState *st, visitproc visit, void *arg);
void wcpy_lru_clear(LruState *st);

/* ------------------------------------------------------------------ */
/* Shared by lru.c and bound.c                                         */
/* ------------------------------------------------------------------ */

struct WcOptions;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *func;
    PyObject *cache_info_type;
    wc_cache *cache;
    LruState *state;
    Py_ssize_t maxsize;            /* -1: unbounded */
    uint64_t hits_base, misses_base, uncached_misses;
    char typed, is_method, warned_not_weakrefable, warned_cycle;
    struct WcOptions *opts;        /* lock/ttl/maxweight/weigher (options.h); NULL: none */
    size_t cycle_checks, cycle_visits_max;   /* for _debug_stats() */
    PyObject *async_miss;          /* async.c: NULL unless a coroutine function */
    PyObject *async_hit;           /* async.c: NULL, or makes the awaitable of a hit */
    PyObject *dict;
    PyObject *weakreflist;
    /* flat.c: an unbounded function's entries, while `flat_on` (then the
     * core cache stays empty). Its counters stay after the entries move. */
    FlatTable flat;
    char flat_on;
    uint64_t clears;               /* cache_clear() calls, for the move */
} Wrapper;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Wrapper *wrapper;
    PyObject *self;
    PyObject *weakreflist;   /* weakref.ref(obj.m), WeakSet, as bound methods */
} Bound;

/* lru.c */
/* Where LruState sits inside the module state (the same in every instance
 * of the module), for wcpy_type_part_state(). */
extern Py_ssize_t wcpy_lru_offset;
/* The call itself: args[0] is the owner when the wrapper is a method. */
PyObject *wcpy_wrapper_call(Wrapper *self, PyObject *const *args, size_t nargsf,
                            PyObject *kwnames);
/* Store result for (owner_obj, probe) as a call that missed would (owner_obj
 * NULL: unowned; probe and hash as wcpy_lru_probe() made them, or a key from
 * wcpy_lru_probe_key() with the same hash). 0 (stored, or not stored by the
 * bounds' rules), or -1 with an exception. */
int wcpy_wrapper_store(Wrapper *self, PyObject *owner_obj, void *probe, Py_hash_t hash,
                       PyObject *result);
/* A new collections.namedtuple type in module "weakcache". */
PyObject *wcpy_namedtuple(const char *name, const char *fields);
/* CacheInfo(hits, misses, maxsize, currsize) of the wrapper. */
PyObject *wcpy_wrapper_cache_info(Wrapper *self, size_t currsize);
/* The wrapper's statistics: the core cache's, plus what its flat table
 * counted (every field wc_stats has; size and weight count both). */
void wcpy_wrapper_stats(Wrapper *self, wc_stats *stats);
/* Leave the flat table for good: its entries move into the core cache (the
 * wrapper became a method, or async). 0, or -1 with an exception. */
int wcpy_wrapper_unflatten(Wrapper *self);
/* The wrapper's __qualname__ (new reference), "?" if it has none. */
PyObject *wcpy_wrapper_name(Wrapper *self);

/* key.c: the lookup key ("probe") of a call with args[0:nargs] plus
 * keywords, and its hash; `owner` is the owner object of an owned entry (not
 * in args), NULL for an unowned one. The probe is a new reference to a key
 * object, or a tagged pointer standing for a 1-tuple without allocating it:
 * use it only as the key of a lookup, store wcpy_lru_probe_key(probe), and
 * release it with wcpy_lru_probe_release(). 0, or -1 with an exception. */
int wcpy_lru_probe(LruState *st, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   int typed, PyObject *owner, void **probe, Py_hash_t *hash);
/* The probe of a function's lone positional argument x (not typed), as
 * wcpy_lru_probe makes it but borrowing x: valid while the caller holds x.
 * wcpy_lru_probe_own turns such a probe into one wcpy_lru_probe_release
 * accepts (takes the reference the release will drop). */
void *wcpy_lru_probe_single(PyObject *x);
void *wcpy_lru_probe_own(void *probe);
PyObject *wcpy_lru_probe_key(void *probe);   /* new reference, NULL + exception */
/* How a key is stored (key.c, "Stored keys"): a key object in the probe
 * form the cache keeps (borrowed); store a probe (either form) with
 * wcpy_lru_put, which takes its references (WC_OK or a core error); and
 * whether a stored key's first element is obj (a fallback owner's key). */
void *wcpy_lru_key_probe_form(PyObject *key);
void *wcpy_lru_stored_form(void *probe);   /* a probe, or a key object */
int wcpy_lru_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *probe,
                 PyObject *value, uint32_t weight);
int wcpy_lru_key_starts_with(const void *stored, PyObject *obj);
void wcpy_lru_probe_release(void *probe);
/* The ops of an lru_cache's wc_cache (key equality as functools', see key.c). */
extern const wc_ops wcpy_lru_ops;
/* Their key equality: 1, 0, or -1 with an exception (runs __eq__). */
int wcpy_lru_keys_equal(const void *stored, const void *probe);

/* cycle.c: does `value` reach `owner` within a few references? Bounded work
 * (see cycle.c for what is and is not found); *visits receives the number of
 * references looked at. */
#define WC_CYCLE_VISITS 64    /* references looked at, in total */
#define WC_CYCLE_QUEUE 16     /* containers entered per level */
#define WC_CYCLE_DEPTH 3      /* levels: value -> a -> b -> owner */
int wcpy_references_owner(PyObject *value, PyObject *owner, size_t *visits);
/* async.c. The awaitable of a hit of an async wrapper (steals value). */
PyObject *wcpy_async_hit(Wrapper *self, PyObject *value);
/* The miss path of an async wrapper: the coroutine that looks for a
 * computation of (owner_obj, key) in flight on the running loop, or starts
 * one (weakcache/_async.py). owner_obj NULL: unowned. */
PyObject *wcpy_async_miss(Wrapper *self, PyObject *owner_obj, void *probe, Py_hash_t hash,
                          PyObject *const *args, size_t nargsf, PyObject *kwnames);
/* The wrapper's private methods for weakcache/_async.py. */
PyObject *wcpy_async_enable(PyObject *op, PyObject *const *args, Py_ssize_t nargs);
PyObject *wcpy_async_store(PyObject *op, PyObject *const *args, Py_ssize_t nargs);
PyObject *wcpy_async_peek(PyObject *op, PyObject *const *args, Py_ssize_t nargs);
#define WCPY_ASYNC_WRAPPER_METHODS                                                       \
    {"_async_enable", (PyCFunction)(void (*)(void))wcpy_async_enable, METH_FASTCALL,      \
     "_async_enable(miss, hit=None): cache awaited results; a miss returns "             \
     "miss(wrapper, owner, key, hash, *args, **kwargs), a hit hit(value) or a _ready."},  \
    {"_async_store", (PyCFunction)(void (*)(void))wcpy_async_store, METH_FASTCALL,       \
     "_async_store(owner, key, hash, value): store an awaited result (owner None: "       \
     "unowned)."},                                                                       \
    {"_async_peek", (PyCFunction)(void (*)(void))wcpy_async_peek, METH_FASTCALL,         \
     "_async_peek(owner, key, hash, default): the stored result (not counted), or "       \
     "default."},

/* bound.c */
PyObject *wcpy_bound_new(Wrapper *wrapper, PyObject *obj);
extern PyType_Spec wcpy_bound_spec;

#endif /* WC_PY_LRU_H */
