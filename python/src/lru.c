/*
 * lru.c - weakcache.lru_cache / weakcache.cache: the wrapper type.
 *
 * An lru_cache wrapper owns one wc_cache. Entries are (owner, key) -> value:
 *   - on a method (the wrapper saw __set_name__), owner is the instance's
 *     owner record (owners.c) and key is built from the remaining arguments
 *     so that equal calls share an entry exactly as with functools' key
 *     (self, args..., kwd_mark, k1, v1, ..., types if typed): key.c.
 *   - on a function, or on an owner that cannot be weakly referenced, the
 *     entry is unowned and the key contains every argument (functools'
 *     behaviour: such an owner is held strongly until evicted).
 * An unbounded wrapper without options on a plain function (weakcache.cache,
 * lru_cache(maxsize=None)) keeps its entries in a flat table of its own
 * instead (flat.c: one slot read a hit, where the core reads an index slot
 * and an entry), with the core cache unused and empty beside it; it moves
 * them into the core, for good, when it becomes a method (__set_name__) or
 * async (wcpy_wrapper_unflatten).
 * The hit path of obj.m(x) allocates nothing: the wrapper type is a method
 * descriptor with vectorcall, so CPython calls it with (obj, x) directly.
 * `obj.m` not called at once is a bound method object (bound.c).
 *
 * LIFETIMES
 * =========
 * Cache entries hold strong references to keys and values, none to owners.
 * When an owner dies, owners.c evicts its entries from every cache. A hit is
 * served only through a record whose weakref currently points at the very
 * object being called (wcpy_owner_lookup), so an object that reuses a dead
 * owner's address can never see its entries.
 *
 * RE-ENTRANCY
 * ===========
 * Python code can run inside: __hash__ (key building, before the cache is
 * touched), __eq__ (ops->equal, inside a lookup), every Py_DECREF of a key or
 * value (ops->free_*: __del__, weakref callbacks, including the owner
 * callback of other owners) and the user's function. The core keeps itself
 * consistent across all of these (see src/cache.c: deferred releases,
 * restarting lookups). This file adds three rules:
 *   1. No pointer into the registry and no owner record is trusted across a
 *      call into Python unless we hold a reference to it; the record is
 *      looked up again after the user's function returns.
 *   2. The user's function is called with no cache operation in progress.
 *   3. Every reference handed to the core is owned by the core from the
 *      moment wc_put() succeeds; on failure we release it ourselves.
 *   4. A lookup or store that cannot settle (WC_ECHANGED: __eq__ changed the
 *      cache at every one of the core's restarts) is never an error: the
 *      lookup counts as a miss and the function is called; an unsettled
 *      store returns the result without storing it.
 * The GIL serialises threads; a thread switch can only happen inside one of
 * the Python calls above, which the core already treats as re-entry.
 */
#include "lru.h"
#include "flight.h"
#include "options.h"

#include <string.h>

Py_ssize_t wcpy_lru_offset;

/* ------------------------------------------------------------------ */
/* The wrapper: calls                                                  */
/* ------------------------------------------------------------------ */

/* The wrapper's attribute `attr` (its __dict__ first, where update_wrapper
 * puts it, then the wrapped function's) if it is a str: a new reference.
 * NULL if it is missing, raises an Exception, or is not a str (a number, a
 * descriptor's odd result): the caller falls back. NULL with the exception
 * kept only for a BaseException that is not an Exception (KeyboardInterrupt). */
static PyObject *str_attr(Wrapper *self, const char *attr)
{
    PyObject *v = NULL;
    if (self->dict != NULL) {
        v = PyDict_GetItemString(self->dict, attr);   /* borrowed, runs no code */
        Py_XINCREF(v);
    }
    if (v == NULL && self->func != NULL) {
        v = PyObject_GetAttrString(self->func, attr);
        if (v == NULL && PyErr_ExceptionMatches(PyExc_Exception))
            PyErr_Clear();
    }
    if (v != NULL && !PyUnicode_Check(v))
        Py_CLEAR(v);
    return v;
}

/* For reprs and warnings: __qualname__ if it is a str, else __name__ if it
 * is one, else "?" (as a bound method's repr does). Never passes a non-str
 * to "%U". */
PyObject *wcpy_wrapper_name(Wrapper *self)
{
    PyObject *name = str_attr(self, "__qualname__");
    if (name == NULL && !PyErr_Occurred())
        name = str_attr(self, "__name__");
    if (name == NULL && !PyErr_Occurred())
        name = PyUnicode_FromString("?");
    return name;
}

static int warn_not_weakrefable(Wrapper *self, PyObject *owner)
{
    PyObject *name;
    int r;
    if (self->warned_not_weakrefable || self->maxsize >= 0)
        return 0;
    self->warned_not_weakrefable = 1;
    name = wcpy_wrapper_name(self);
    if (name == NULL)
        return -1;
    r = PyErr_WarnFormat(
        self->state->not_weakrefable_warning, 1,
        "%U: instances of %s cannot be weakly referenced, so this unbounded cache "
        "keeps every instance it sees alive (functools behaviour). Add '__weakref__' "
        "to %s.__slots__, or give the cache a maxsize.",
        name, Py_TYPE(owner)->tp_name, Py_TYPE(owner)->tp_name);
    Py_DECREF(name);
    return r;
}

static int warn_cycle(Wrapper *self, PyObject *owner)
{
    PyObject *name;
    int r;
    if (self->warned_cycle)
        return 0;
    self->warned_cycle = 1;
    name = wcpy_wrapper_name(self);
    if (name == NULL)
        return -1;
    r = PyErr_WarnFormat(
        self->state->owner_cycle_warning, 1,
        "%U returned a value that references its %s instance; the cache holds the "
        "value strongly, so the instance stays alive until the entry is evicted "
        "(LRU or cache_clear()). Return data that does not point back at self, "
        "or cache it elsewhere.",
        name, Py_TYPE(owner)->tp_name);
    Py_DECREF(name);
    return r;
}

int wcpy_wrapper_store(Wrapper *self, PyObject *owner_obj, void *probe, Py_hash_t hash,
                       PyObject *result)
{
    OwnerRef *rec = NULL;
    uint32_t weight = 1;
    void *stored;
    int r;

    if (self->opts != NULL) {
        r = wcpy_options_weigh(self, result, &weight);
        if (r < 0)
            return -1;
        if (r > 0)
            return 0;   /* heavier than maxweight: returned, not stored */
    }
    if (owner_obj != NULL) {
        rec = wcpy_owner_get_or_create(self->state->owners, owner_obj);
        if (rec == NULL)
            return -1;
        size_t visits;
        int found = wcpy_references_owner(result, owner_obj, &visits);
        self->cycle_checks++;
        if (visits > self->cycle_visits_max)
            self->cycle_visits_max = visits;
        if (found && warn_cycle(self, owner_obj) < 0)
            return -1;
    }
    /* a key object from Python (the async path) goes in its probe form */
    stored = wcpy_lru_stored_form(probe);
    if (self->flat_on) {   /* unowned, no options: nothing else applies */
        r = wcpy_flat_put(&self->flat, stored, hash, result);
        if (r != WCPY_FLAT_MOVED)
            return r < 0 ? -1 : 0;   /* 1: could not settle, returned unstored */
        /* moved into the core by __eq__ meanwhile: store there */
    }
    /* The clock is read last, after every call that may run Python code
     * (weigher, owner record, warning), so the put's time is the put's. */
    if (self->opts != NULL && wcpy_options_tick(self->opts) < 0)
        return -1;
    r = wcpy_lru_put(self->cache, rec != NULL ? &rec->owner : NULL, (uint64_t)hash, stored,
                     result, weight);
    if (r == WC_ETOOBIG)
        return 0;   /* the core's own check of maxweight */
    if (r == WC_ECHANGED && !PyErr_Occurred())
        return 0;   /* the store could not settle: the result, not stored */
    if (r != WC_OK) {
        wcpy_core_error(r);
        return -1;
    }
    if (self->opts != NULL)
        wcpy_options_after_put(self);
    return 0;
}

/* The miss path: call, then store. `owner` NULL for unowned entries. */
static PyObject *call_and_store(Wrapper *self, PyObject *owner_obj, void *probe,
                                Py_hash_t hash, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames)
{
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);

    if (result == NULL)
        return NULL;
    if (wcpy_wrapper_store(self, owner_obj, probe, hash, result) < 0) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

/* lock=True: the miss path as a single flight per (owner, key). */
typedef struct {
    Wrapper *self;
    PyObject *owner_obj;
    void *probe;
    Py_hash_t hash;
    PyObject *const *args;
    size_t nargsf;
    PyObject *kwnames;
} MissCall;

static PyObject *miss_compute(void *ctx)
{
    MissCall *m = ctx;
    return call_and_store(m->self, m->owner_obj, m->probe, m->hash, m->args, m->nargsf,
                          m->kwnames);
}

static PyObject *call_and_store_flight(Wrapper *self, PyObject *owner_obj, void *probe,
                                       Py_hash_t hash, PyObject *const *args, size_t nargsf,
                                       PyObject *kwnames)
{
    OptState *ost = wcpy_type_part_state(Py_TYPE(self), wcpy_options_offset);
    MissCall m = {self, owner_obj, probe, hash, args, nargsf, kwnames};
    PyObject *fkey, *key, *result;
    if (ost == NULL || self->opts->flights == NULL)   /* module or wrapper torn down */
        return miss_compute(&m);
    key = wcpy_lru_probe_key(probe);
    if (key == NULL)
        return NULL;
    fkey = wcpy_flight_key(ost->flight_mark, owner_obj, key);
    Py_DECREF(key);
    if (fkey == NULL)
        return NULL;
    result = wcpy_flight_call(self->opts->flights, fkey, miss_compute, &m);
    Py_DECREF(fkey);
    return result;
}

/* After a lookup that did not hit (r: wc_get's status): compute, and store
 * if the store settles. Takes over the probe (releases it). */
static WCPY_NOINLINE PyObject *after_miss(Wrapper *self, PyObject *owner_obj, void *key,
                                          Py_hash_t hash, int r, PyObject *const *args,
                                          size_t nargsf, PyObject *kwnames)
{
    PyObject *result;
    if (r == WC_ECHANGED && !PyErr_Occurred()) {
        /* __eq__ kept changing the cache (re-entrant calls, other threads
         * while it released the GIL): a miss, as functools would count it;
         * compute, and store if the store settles. */
        self->uncached_misses++;
    } else if (r != WC_NOTFOUND) {
        wcpy_lru_probe_release(key);
        return wcpy_core_error(r);
    }
    if (self->async_miss != NULL)
        result = wcpy_async_miss(self, owner_obj, key, hash, args, nargsf, kwnames);
    else if (self->opts != NULL && self->opts->flights != NULL)
        result = call_and_store_flight(self, owner_obj, key, hash, args, nargsf, kwnames);
    else
        result = call_and_store(self, owner_obj, key, hash, args, nargsf, kwnames);
    wcpy_lru_probe_release(key);
    return result;
}

/* A flat table's lookup result as the core's status (after_miss's input). */
static inline int flat_status(int r)
{
    switch (r) {
    case WCPY_FLAT_HIT:
        return WC_OK;
    case WCPY_FLAT_MISS:
        return WC_NOTFOUND;
    case WCPY_FLAT_UNSETTLED:
        return WC_ECHANGED;
    default:
        return WC_ECALLBACK;   /* with __eq__'s exception */
    }
}

/* An unowned lookup: the flat table while the wrapper has one, else (or
 * once __eq__ moved the table's entries there) the core. A core status; on
 * WC_OK *value is a new reference. */
static inline int get_unowned(Wrapper *self, void *key, Py_hash_t hash, PyObject **value)
{
    if (self->flat_on) {
        int r = wcpy_flat_get(&self->flat, key, hash, value);
        if (r == WCPY_FLAT_HIT)
            return WC_OK;
        if (r != WCPY_FLAT_MOVED)
            return flat_status(r);
    }
    return wc_get(self->cache, NULL, (uint64_t)hash, key, (void **)value);
}

/* args[0] is the owner when is_method. */
PyObject *wcpy_wrapper_call(Wrapper *self, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    LruState *st = self->state;
    PyObject *owner_obj = NULL, *value = NULL;
    OwnerRef *rec = NULL;
    void *key;
    Py_hash_t hash;
    int r;

    if (self->maxsize == 0) {
        self->uncached_misses++;
        return PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    }
    if (self->is_method && nargs > 0) {
        owner_obj = args[0];
        if (Py_TYPE(owner_obj)->tp_weaklistoffset == 0) {
            if (warn_not_weakrefable(self, owner_obj) < 0)
                return NULL;
            owner_obj = NULL;   /* functools fallback: owner inside the key */
        }
    }
    if (owner_obj != NULL)
        r = wcpy_lru_probe(st, args + 1, nargs - 1, kwnames, self->typed, owner_obj, &key, &hash);
    else
        r = wcpy_lru_probe(st, args, nargs, kwnames, self->typed, NULL, &key, &hash);
    if (r < 0)
        return NULL;
    if (wcpy_options_tick(self->opts) < 0) {
        wcpy_lru_probe_release(key);
        return NULL;
    }
    if (owner_obj != NULL) {
        rec = wcpy_owner_lookup(st->owners, owner_obj);
        r = wc_get(self->cache, rec != NULL ? &rec->owner : &st->owners->no_entries,
                   (uint64_t)hash, key, (void **)&value);
    } else {
        r = get_unowned(self, key, hash, &value);
    }
    if (r == WC_OK) {
        wcpy_lru_probe_release(key);
        if (self->async_miss != NULL)   /* async: an awaitable of the value */
            return wcpy_async_hit(self, value);
        return value;   /* retain_value gave us our reference */
    }
    return after_miss(self, owner_obj, key, hash, r, args, nargsf, kwnames);
}

/* The call of a plain function (not a method, no typed, no options, not
 * async) with one positional argument, the commonest memoized call: the
 * probe is made here with no reference taken (the caller holds the
 * argument for the whole call), and everything but a hit goes on in the
 * general path with the hash already computed (__hash__ runs once per
 * call, as in functools). Same probe as wcpy_lru_probe (key.c). */
static PyObject *wrapper_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    Wrapper *self = (Wrapper *)op;
    if (PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL && !self->is_method &&
        !self->typed && self->opts == NULL && self->async_miss == NULL && self->maxsize != 0) {
        PyObject *x = args[0];
        PyObject *value;
        void *key;
        Py_hash_t hash = PyObject_Hash(x);
        int r;
        if (hash == -1)
            return NULL;
        key = wcpy_lru_probe_single(x);
        r = get_unowned(self, key, hash, &value);
        if (r == WC_OK)
            return value;   /* a new reference (the core's retain_value, or the table) */
        return after_miss(self, NULL, wcpy_lru_probe_own(key), hash, r, args, nargsf, NULL);
    }
    return wcpy_wrapper_call(self, args, nargsf, kwnames);
}

/* ------------------------------------------------------------------ */
/* The wrapper: object protocol                                        */
/* ------------------------------------------------------------------ */

static PyObject *wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"user_function", "maxsize", "typed", "cache_info_type",
                             "lock", "ttl", "timer", "maxweight", "weigher", NULL};
    PyObject *func, *maxsize_obj, *cache_info_type;
    PyObject *lock = NULL, *ttl = NULL, *timer = NULL, *maxweight = NULL, *weigher = NULL;
    WcOptions *opts;
    int typed;
    Py_ssize_t maxsize;
    wc_config config;
    Wrapper *self;
    LruState *st = wcpy_type_part_state(type, wcpy_lru_offset);

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOpO|$OOOOO:_lru_cache_wrapper", kwlist,
                                     &func, &maxsize_obj, &typed, &cache_info_type, &lock,
                                     &ttl, &timer, &maxweight, &weigher))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "the first argument must be callable");
        return NULL;
    }
    if (maxsize_obj == Py_None) {
        maxsize = -1;
    } else if (PyIndex_Check(maxsize_obj)) {
        maxsize = PyNumber_AsSsize_t(maxsize_obj, PyExc_OverflowError);
        if (maxsize == -1 && PyErr_Occurred())
            return NULL;
        if (maxsize < 0)
            maxsize = 0;
    } else {
        PyErr_SetString(PyExc_TypeError, "maxsize should be integer or None");
        return NULL;
    }

    if (wcpy_options_new(wcpy_type_part_state(type, wcpy_options_offset), lock, ttl, timer,
                         maxweight, weigher, &opts) < 0)
        return NULL;
    self = (Wrapper *)type->tp_alloc(type, 0);
    if (self == NULL) {
        wcpy_options_free(opts);
        return NULL;
    }
    self->opts = opts;
    wcpy_config_init(&config, &wcpy_lru_ops);
    config.max_entries = maxsize > 0 ? (size_t)maxsize : 0;
    wcpy_options_config(opts, &config);
    /* Unbounded by count and by weight: nothing is ever evicted by the
     * policy, so the order is never used; SIEVE hits only set a bit in the
     * entry instead of relinking it between its LRU neighbours (two fewer
     * cache lines per hit at scale). With maxweight the order matters: LRU. */
    if (maxsize < 0 && config.max_weight == 0)
        config.policy = WC_POLICY_SIEVE;
    if (wc_cache_new(&config, &self->cache) != WC_OK) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    /* A plain function's unbounded cache keeps its entries in a flat table
     * (flat.c) until it turns out to be a method or async. */
    self->flat_on = maxsize < 0 && opts == NULL;
    self->vectorcall = wrapper_vectorcall;
    self->func = Py_NewRef(func);
    self->cache_info_type = Py_NewRef(cache_info_type);
    self->state = st;
    self->maxsize = maxsize;
    self->typed = (char)typed;
    return (PyObject *)self;
}

static int wrapper_traverse(PyObject *op, visitproc visit, void *arg)
{
    Wrapper *self = (Wrapper *)op;
    int r;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->func);
    Py_VISIT(self->cache_info_type);
    Py_VISIT(self->dict);
    Py_VISIT(self->async_miss);
    Py_VISIT(self->async_hit);
    if ((r = wcpy_options_traverse_one(self->opts, visit, arg)) != 0)
        return r;
    if ((r = wcpy_flat_traverse(&self->flat, visit, arg)) != 0)
        return r;
    return wcpy_cache_traverse(self->cache, visit, arg);
}

static int wrapper_clear(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    if (self->cache != NULL)
        wc_clear(self->cache);
    self->clears++;
    wcpy_flat_clear(&self->flat);
    Py_CLEAR(self->func);
    Py_CLEAR(self->cache_info_type);
    Py_CLEAR(self->dict);
    Py_CLEAR(self->async_miss);
    Py_CLEAR(self->async_hit);
    wcpy_options_clear_one(self->opts);
    return 0;
}

static void wrapper_dealloc(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs(op);
    if (self->cache != NULL) {
        wc_cache *cache = self->cache;
        self->cache = NULL;
        wc_cache_free(cache);
    }
    wcpy_flat_clear(&self->flat);
    wcpy_options_free(self->opts);   /* after the cache: it is the clock's context */
    self->opts = NULL;
    Py_XDECREF(self->func);
    Py_XDECREF(self->cache_info_type);
    Py_XDECREF(self->dict);
    Py_XDECREF(self->async_miss);
    Py_XDECREF(self->async_hit);
    tp->tp_free(op);
    Py_DECREF(tp);
}

void wcpy_wrapper_stats(Wrapper *self, wc_stats *stats)
{
    const FlatTable *t = &self->flat;
    memset(stats, 0, sizeof *stats);
    if (self->cache != NULL)
        wc_cache_stats(self->cache, stats);
    stats->hits += t->hits;
    stats->misses += t->misses;
    stats->inserts += t->inserts;
    stats->evictions[WC_EVICT_REPLACED] += t->replaced;
    stats->evictions[WC_EVICT_CLEARED] += t->cleared;
    stats->size += t->used;
    stats->weight += t->used;
    if (t->longest_probe > stats->longest_probe)
        stats->longest_probe = t->longest_probe;
}

static size_t wrapper_size(Wrapper *self)
{
    return wc_cache_size(self->cache) + self->flat.used;
}

typedef struct {
    Wrapper *self;
    uint64_t clears;
} Move;

static int move_one(void *ctx, void *key, Py_hash_t hash, PyObject *value)
{
    Move *m = ctx;
    int r;
    if (m->self->clears != m->clears)
        return 1;   /* cache_clear() ran (from a put's __eq__): move no more */
    r = wcpy_lru_put(m->self->cache, NULL, (uint64_t)hash, key, value, 1);
    if (r == WC_OK || (r == WC_ECHANGED && !PyErr_Occurred()))
        return 0;   /* unsettled: left out, as a store that cannot settle */
    wcpy_core_error(r);
    return -1;
}

int wcpy_wrapper_unflatten(Wrapper *self)
{
    Move m = {self, self->clears};
    if (!self->flat_on)
        return 0;
    self->flat_on = 0;   /* first: a call made by the move uses the core */
    return wcpy_flat_move(&self->flat, move_one, &m);
}

PyObject *wcpy_wrapper_cache_info(Wrapper *self, size_t currsize)
{
    wc_stats stats;
    PyObject *maxsize;
    wcpy_wrapper_stats(self, &stats);
    maxsize = self->maxsize < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(self->maxsize);
    if (maxsize == NULL)
        return NULL;
    return PyObject_CallFunction(self->cache_info_type, "KKNn",
                                 (unsigned long long)(stats.hits - self->hits_base),
                                 (unsigned long long)(stats.misses + self->uncached_misses -
                                                      self->misses_base),
                                 maxsize, (Py_ssize_t)currsize);
}

static PyObject *wrapper_cache_info(PyObject *op, PyObject *unused)
{
    Wrapper *self = (Wrapper *)op;
    (void)unused;
    return wcpy_wrapper_cache_info(self, wrapper_size(self));
}

static PyObject *wrapper_cache_clear(PyObject *op, PyObject *unused)
{
    Wrapper *self = (Wrapper *)op;
    wc_stats stats;
    (void)unused;
    wcpy_wrapper_stats(self, &stats);
    self->hits_base = stats.hits;
    self->misses_base = stats.misses + self->uncached_misses;
    self->clears++;
    wcpy_flat_clear(&self->flat);
    if (wc_clear(self->cache) != WC_OK)
        return wcpy_core_error(WC_EINVAL);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* Internal figures for tests and benchmarks (not part of the API). */
static PyObject *wrapper_debug_stats(PyObject *op, PyObject *unused)
{
    Wrapper *self = (Wrapper *)op;
    wc_stats stats;
    (void)unused;
    wcpy_wrapper_stats(self, &stats);
    return Py_BuildValue("{s:K,s:n,s:n,s:n}", "longest_probe",
                         (unsigned long long)stats.longest_probe,
                         "size", (Py_ssize_t)stats.size, "cycle_checks",
                         (Py_ssize_t)self->cycle_checks, "cycle_visits_max",
                         (Py_ssize_t)self->cycle_visits_max);
}

static PyObject *wrapper_set_name(PyObject *op, PyObject *args)
{
    PyObject *owner, *name;
    if (!PyArg_ParseTuple(args, "OO:__set_name__", &owner, &name))
        return NULL;
    ((Wrapper *)op)->is_method = 1;
    if (wcpy_wrapper_unflatten((Wrapper *)op) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *wrapper_reduce(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyObject_GetAttrString(op, "__qualname__");
}

static PyObject *wrapper_copy(PyObject *op, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(op);
}

static PyObject *wrapper_deepcopy(PyObject *op, PyObject *memo)
{
    (void)memo;
    return Py_NewRef(op);
}

static PyObject *wrapper_repr(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    PyObject *name = wcpy_wrapper_name(self), *r;
    char maxsize[32];
    if (name == NULL)
        return NULL;
    if (self->maxsize < 0)
        strcpy(maxsize, "None");
    else
        PyOS_snprintf(maxsize, sizeof maxsize, "%zd", self->maxsize);
    if (self->is_method)
        r = PyUnicode_FromFormat("<weakcache.lru_cache method %U maxsize=%s owners=%zu entries=%zu>",
                                 name, maxsize, wcpy_owner_records_in(self->state->owners, self->cache),
                                 wrapper_size(self));
    else
        r = PyUnicode_FromFormat("<weakcache.lru_cache %U maxsize=%s entries=%zu>", name,
                                 maxsize, wrapper_size(self));
    Py_DECREF(name);
    return r;
}

static PyObject *wrapper_descr_get(PyObject *op, PyObject *obj, PyObject *type)
{
    Wrapper *self = (Wrapper *)op;
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(op);
    if (!self->is_method)   /* functools: an ordinary bound method */
        return PyMethod_New(op, obj);
    return wcpy_bound_new(self, obj);
}

static PyMethodDef wrapper_methods[] = {
    {"cache_info", wrapper_cache_info, METH_NOARGS,
     "Report hits, misses, maxsize and current size (all owners)."},
    {"cache_clear", wrapper_cache_clear, METH_NOARGS,
     "Drop every entry of every owner and reset the statistics."},
    {"cache_stats", wcpy_wrapper_cache_stats, METH_NOARGS,
     "CacheStats(hits, misses, currsize, weight, evictions by cause) of the whole cache."},
    {"cache_expire", wcpy_wrapper_cache_expire, METH_NOARGS,
     "Drop the expired entries now (ttl caches); return how many."},
    {"__set_name__", wrapper_set_name, METH_VARARGS,
     "Called by the class body: from now on the first argument is the owner."},
    {"_debug_stats", wrapper_debug_stats, METH_NOARGS,
     "Internal: the longest probe run (the core's index, or the flat table's), the "
     "owner-cycle checks and the most references one of them looked at."},
    {"__reduce__", wrapper_reduce, METH_NOARGS, NULL},
    WCPY_ASYNC_WRAPPER_METHODS
    {"__copy__", wrapper_copy, METH_NOARGS, NULL},
    {"__deepcopy__", wrapper_deepcopy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef wrapper_members[] = {
    {"__dictoffset__", WC_T_PYSSIZET, offsetof(Wrapper, dict), WC_READONLY, NULL},
    {"__weaklistoffset__", WC_T_PYSSIZET, offsetof(Wrapper, weakreflist), WC_READONLY, NULL},
    {"__vectorcalloffset__", WC_T_PYSSIZET, offsetof(Wrapper, vectorcall), WC_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot wrapper_slots[] = {
    {Py_tp_new, WC_SLOT_FN(wrapper_new)},
    {Py_tp_dealloc, WC_SLOT_FN(wrapper_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(wrapper_traverse)},
    {Py_tp_clear, WC_SLOT_FN(wrapper_clear)},
    {Py_tp_call, WC_SLOT_FN(PyVectorcall_Call)},
    {Py_tp_descr_get, WC_SLOT_FN(wrapper_descr_get)},
    {Py_tp_repr, WC_SLOT_FN(wrapper_repr)},
    {Py_tp_methods, wrapper_methods},
    {Py_tp_members, wrapper_members},
    {Py_tp_getset, wrapper_getset},
    {Py_tp_doc, (void *)"A memoizing wrapper whose method entries die with their instance."},
    {0, NULL},
};

static PyType_Spec wrapper_spec = {
    "weakcache._lru_cache_wrapper", sizeof(Wrapper), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_METHOD_DESCRIPTOR |
        Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE,
    wrapper_slots,
};

/* ------------------------------------------------------------------ */
/* Setup and teardown                                                  */
/* ------------------------------------------------------------------ */

static PyObject *new_warning(PyObject *module, const char *qualified, PyObject *base,
                             const char *doc, const char *attr)
{
    PyObject *w = PyErr_NewExceptionWithDoc(qualified, doc, base, NULL);
    if (w == NULL || PyModule_AddObjectRef(module, attr, w) < 0) {
        Py_XDECREF(w);
        return NULL;
    }
    return w;
}

/* collections.namedtuple(name, fields, module="weakcache"): CacheInfo (the
 * namedtuple functools uses) here, CacheStats in options.c. */
PyObject *wcpy_namedtuple(const char *name, const char *fields)
{
    PyObject *collections, *namedtuple, *args, *kwargs, *t = NULL;
    collections = PyImport_ImportModule("collections");
    if (collections == NULL)
        return NULL;
    namedtuple = PyObject_GetAttrString(collections, "namedtuple");
    Py_DECREF(collections);
    if (namedtuple == NULL)
        return NULL;
    args = Py_BuildValue("(ss)", name, fields);
    kwargs = Py_BuildValue("{ss}", "module", "weakcache");
    if (args != NULL && kwargs != NULL)
        t = PyObject_Call(namedtuple, args, kwargs);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    Py_DECREF(namedtuple);
    return t;
}

int wcpy_lru_init(PyObject *module, LruState *st, OwnersState *owners, PyObject *base_warning)
{
    wcpy_lru_offset = wcpy_part_offset(module, st);
    st->owners = owners;
    st->wrapper_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &wrapper_spec, NULL);
    if (st->wrapper_type == NULL)
        return -1;
    st->bound_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &wcpy_bound_spec, NULL);
    if (st->bound_type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "_lru_cache_wrapper", (PyObject *)st->wrapper_type) < 0 ||
        PyModule_AddObjectRef(module, "_bound_method", (PyObject *)st->bound_type) < 0)
        return -1;
    st->cache_info_type = wcpy_namedtuple("CacheInfo", "hits misses maxsize currsize");
    if (st->cache_info_type == NULL ||
        PyModule_AddObjectRef(module, "CacheInfo", st->cache_info_type) < 0)
        return -1;
    st->kwd_mark = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (st->kwd_mark == NULL)
        return -1;
    st->not_weakrefable_warning = new_warning(
        module, "weakcache.NotWeakrefableWarning", base_warning,
        "An unbounded cached method is used on objects that cannot be weakly referenced, "
        "so they are kept alive as functools would.",
        "NotWeakrefableWarning");
    if (st->not_weakrefable_warning == NULL)
        return -1;
    st->owner_cycle_warning = new_warning(
        module, "weakcache.OwnerCycleWarning", base_warning,
        "A cached method returned a value that references its own instance, which keeps "
        "the instance alive until the entry is evicted.",
        "OwnerCycleWarning");
    return st->owner_cycle_warning != NULL ? 0 : -1;
}

int wcpy_lru_traverse(LruState *st, visitproc visit, void *arg)
{
    Py_VISIT(st->wrapper_type);
    Py_VISIT(st->bound_type);
    Py_VISIT(st->cache_info_type);
    Py_VISIT(st->kwd_mark);
    Py_VISIT(st->not_weakrefable_warning);
    Py_VISIT(st->owner_cycle_warning);
    return 0;
}

void wcpy_lru_clear(LruState *st)
{
    Py_CLEAR(st->wrapper_type);
    Py_CLEAR(st->bound_type);
    Py_CLEAR(st->cache_info_type);
    Py_CLEAR(st->kwd_mark);
    Py_CLEAR(st->not_weakrefable_warning);
    Py_CLEAR(st->owner_cycle_warning);
}

