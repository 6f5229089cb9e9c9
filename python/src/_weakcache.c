/*
 * _weakcache.c - the CPython face of libweakcache.
 *
 * WHAT LIVES WHERE
 * ================
 * Module state (one per module object, multi-phase init):
 *   - the heap types: _lru_cache_wrapper (the decorator's result), _bound
 *     (what `obj.method` returns when it is not called at once), _OwnerRef;
 *   - the owner registry: an open-addressing table from an object's address
 *     to its _OwnerRef. An _OwnerRef is a weakref.ref subclass with a
 *     wc_owner embedded in it, so one allocation of 128 bytes per live owner
 *     carries the weak reference, its callback hook and all its cache
 *     entries' group (shared by every cached method of that object).
 *   - CacheInfo, the warning classes, the kwd marker of multi-argument keys.
 *
 * An lru_cache wrapper owns one wc_cache. Entries are (owner, key) -> value:
 *   - on a method (the wrapper saw __set_name__), owner is the instance's
 *     _OwnerRef and key is built from the remaining arguments. A single
 *     positional argument of a type that cannot compare equal to a tuple
 *     (int, str, float, bytes, None, bool, or any type using object's
 *     identity equality) is stored as is; everything else becomes a tuple
 *     like functools' (args, kwd_mark, k1, v1, ..., types if typed).
 *   - on a function, or on an owner that cannot be weakly referenced, the
 *     entry is unowned and the key contains every argument (functools'
 *     behaviour: such an owner is held strongly until evicted).
 * The hit path of obj.m(x) allocates nothing: the wrapper type is a method
 * descriptor with vectorcall, so CPython calls it with (obj, x) directly.
 *
 * LIFETIMES
 * =========
 * Cache entries hold strong references to keys and values, none to owners.
 * When an owner dies, its _OwnerRef's callback (_owner_died) removes it from
 * the registry and calls wc_owner_release(), which evicts its entries from
 * every cache; then the registry's reference to the _OwnerRef is dropped.
 * A hit is served only through a registry record whose weakref currently
 * points at the very object being called (wc_weakref_is), so an object that
 * reuses a dead owner's address can never see its entries: a dead record
 * either is gone already or fails that check and is discarded.
 *
 * RE-ENTRANCY
 * ===========
 * Python code can run inside: __hash__ (key building, before the cache is
 * touched), __eq__ (ops->equal, inside a lookup), every Py_DECREF of a key or
 * value (ops->free_*: __del__, weakref callbacks, including _owner_died for
 * other owners) and the user's function. The core keeps itself consistent
 * across all of these (see src/cache.c: deferred releases, restarting
 * lookups). This file adds three rules:
 *   1. No pointer into the registry and no _OwnerRef is trusted across a call
 *      into Python unless we hold a reference to it; the record is looked up
 *      again after the user's function returns.
 *   2. The user's function is called with no cache operation in progress.
 *   3. Every reference handed to the core is owned by the core from the
 *      moment wc_put() succeeds; on failure we release it ourselves.
 * The GIL serialises threads; a thread switch can only happen inside one of
 * the Python calls above, which the core already treats as re-entry.
 */
#include "module.h"

#include <string.h>

#ifndef WC_PY_VERSION
#define WC_PY_VERSION "0.0.0"
#endif
#ifndef WC_BUILD_FLAGS
#define WC_BUILD_FLAGS ""
#endif

/* ------------------------------------------------------------------ */
/* Types and state                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *func;
    PyObject *cache_info_type;
    wc_cache *cache;
    ModState *state;
    Py_ssize_t maxsize;            /* -1: unbounded */
    uint64_t hits_base, misses_base, uncached_misses;
    char typed, is_method, warned_not_weakrefable, warned_cycle;
    PyObject *dict;
    PyObject *weakreflist;
} Wrapper;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Wrapper *wrapper;
    PyObject *self;
} Bound;

static OwnerRef registry_dummy_storage;
#define DUMMY (&registry_dummy_storage)

static ModState *state_of_module(PyObject *module)
{
    return (ModState *)PyModule_GetState(module);
}

/* ------------------------------------------------------------------ */
/* The owner registry                                                  */
/* ------------------------------------------------------------------ */

static size_t registry_slot(const Registry *reg, uintptr_t addr)
{
    uint64_t h = (uint64_t)addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & reg->mask;
}

static OwnerRef *registry_find(const Registry *reg, uintptr_t addr)
{
    size_t i;
    if (reg->slots == NULL)
        return NULL;
    for (i = registry_slot(reg, addr);; i = (i + 1) & reg->mask) {
        OwnerRef *r = reg->slots[i];
        if (r == NULL)
            return NULL;
        if (r != DUMMY && r->addr == addr)
            return r;
    }
}

static int registry_resize(Registry *reg, size_t capacity)
{
    OwnerRef **old = reg->slots;
    size_t old_cap = old != NULL ? reg->mask + 1 : 0, i;
    OwnerRef **slots = PyMem_Calloc(capacity, sizeof *slots);
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    reg->slots = slots;
    reg->mask = capacity - 1;
    reg->filled = reg->used;
    for (i = 0; i < old_cap; i++) {
        OwnerRef *r = old[i];
        size_t j;
        if (r == NULL || r == DUMMY)
            continue;
        for (j = registry_slot(reg, r->addr); slots[j] != NULL; j = (j + 1) & reg->mask)
            ;
        slots[j] = r;
    }
    PyMem_Free(old);
    return 0;
}

/* Insert a record (steals the reference). -1 with MemoryError. */
static int registry_add(Registry *reg, OwnerRef *rec)
{
    size_t i;
    /* Load stays between 1/2 and 3/4: 11-16 bytes of table per owner. */
    if (reg->slots == NULL || (reg->filled + 1) * 4 > (reg->mask + 1) * 3) {
        size_t cap = 16;
        while (cap < (reg->used + 1) * 2)
            cap *= 2;
        if (registry_resize(reg, cap) < 0)
            return -1;
    }
    for (i = registry_slot(reg, rec->addr);; i = (i + 1) & reg->mask) {
        if (reg->slots[i] == NULL || reg->slots[i] == DUMMY)
            break;
    }
    if (reg->slots[i] == NULL)
        reg->filled++;
    reg->slots[i] = rec;
    reg->used++;
    return 0;
}

/* Unlink rec if present; returns 1 if it was (the caller now owns the
 * registry's reference), 0 otherwise. Shrinks the table when mostly empty. */
static int registry_remove(Registry *reg, OwnerRef *rec)
{
    size_t i;
    if (reg->slots == NULL)
        return 0;
    for (i = registry_slot(reg, rec->addr);; i = (i + 1) & reg->mask) {
        OwnerRef *r = reg->slots[i];
        if (r == NULL)
            return 0;
        if (r == rec)
            break;
    }
    reg->slots[i] = DUMMY;
    reg->used--;
    if (reg->mask + 1 > 64 && reg->used * 8 < reg->mask + 1) {
        size_t cap = 16;
        while (cap < reg->used * 2 + 2)
            cap *= 2;
        if (registry_resize(reg, cap) < 0)
            PyErr_Clear();   /* keeping the larger table is fine */
    }
    return 1;
}

/* Release a record that the caller has just unlinked from the registry. */
static void owner_record_drop(OwnerRef *rec)
{
    wc_owner_release(&rec->owner);
    Py_DECREF(rec);
}

/* The live record of `obj`, or NULL. A record whose weakref no longer points
 * at obj belongs to a dead object that had this address: drop it now. */
OwnerRef *wcpy_owner_lookup(ModState *st, PyObject *obj)
{
    OwnerRef *rec = registry_find(&st->registry, (uintptr_t)obj);
    if (rec == NULL || wc_weakref_is((PyObject *)rec, obj))
        return rec;
    if (registry_remove(&st->registry, rec))
        owner_record_drop(rec);
    return NULL;
}

/* The record of obj, created if needed (borrowed). NULL with an exception. */
OwnerRef *wcpy_owner_get_or_create(ModState *st, PyObject *obj)
{
    PyObject *args[2];
    OwnerRef *rec = wcpy_owner_lookup(st, obj);
    if (rec != NULL)
        return rec;
    args[0] = obj;
    args[1] = st->owner_died;
    rec = (OwnerRef *)PyObject_Vectorcall((PyObject *)st->ownerref_type, args, 2, NULL);
    if (rec == NULL)
        return NULL;
    {
        /* Creating it may have run the collector, and a finalizer may have
         * registered obj meanwhile: one record per object, always. */
        OwnerRef *existing = wcpy_owner_lookup(st, obj);
        if (existing != NULL) {
            Py_DECREF(rec);
            return existing;
        }
    }
    wc_owner_init(&rec->owner);
    rec->addr = (uintptr_t)obj;
    if (registry_add(&st->registry, rec) < 0) {
        Py_DECREF(rec);
        return NULL;
    }
    return rec;
}

/* The weakref callback: the owner has died (or is being collected). It is
 * reachable from Python (ref.__callback__), so it acts only on a record
 * whose referent is really gone: a live owner's record never leaves the
 * registry, which is what lets the call paths borrow it. */
static PyObject *owner_died(PyObject *module, PyObject *ref)
{
    ModState *st = state_of_module(module);
    if (!PyObject_TypeCheck(ref, st->ownerref_type)) {
        PyErr_SetString(PyExc_TypeError, "expected a weakcache owner reference");
        return NULL;
    }
    if (((PyWeakReference *)ref)->wr_object != Py_None)
        Py_RETURN_NONE;
    if (registry_remove(&st->registry, (OwnerRef *)ref))
        owner_record_drop((OwnerRef *)ref);
    Py_RETURN_NONE;
}

static int ownerref_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return Py_TYPE(self)->tp_base->tp_traverse(self, visit, arg);
}

static int ownerref_clear(PyObject *self)
{
    return Py_TYPE(self)->tp_base->tp_clear(self);
}

static PyObject *ownerref_repr(PyObject *self)
{
    OwnerRef *rec = (OwnerRef *)self;
    PyObject *obj = wc_weakref_get(self), *r;
    size_t n = wc_owner_count(&rec->owner, NULL);
    if (obj == NULL)
        return PyUnicode_FromFormat("<weakcache owner (dead) entries=%zu>", n);
    r = PyUnicode_FromFormat("<weakcache owner of %s at %p, entries=%zu>",
                             Py_TYPE(obj)->tp_name, (void *)obj, n);
    Py_DECREF(obj);
    return r;
}

static PyType_Slot ownerref_slots[] = {
    {Py_tp_traverse, (void *)ownerref_traverse},
    {Py_tp_clear, (void *)ownerref_clear},
    {Py_tp_repr, (void *)ownerref_repr},
    {Py_tp_doc, (void *)"The weak reference that carries one owner's cache entries (internal)."},
    {0, NULL},
};

static PyType_Spec ownerref_spec = {
    "weakcache._OwnerRef", sizeof(OwnerRef), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, ownerref_slots,
};

/* ------------------------------------------------------------------ */
/* Core callbacks: keys and values are PyObject *                     */
/* ------------------------------------------------------------------ */

static int key_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    if (stored == probe)
        return 1;
    return PyObject_RichCompareBool((PyObject *)stored, (PyObject *)probe, Py_EQ);
}

static void obj_decref(void *ctx, void *obj)
{
    (void)ctx;
    Py_DECREF((PyObject *)obj);
}

static void obj_incref(void *ctx, void *obj)
{
    (void)ctx;
    Py_INCREF((PyObject *)obj);
}

const wc_ops wcpy_ops = {key_equal, obj_decref, obj_decref, obj_incref, NULL};

static void *py_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return PyMem_Malloc(size);
}

static void py_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    PyMem_Free(ptr);
}

/* PyMem: every byte shows in tracemalloc, small blocks come from pymalloc. */
const wc_allocator wcpy_allocator = {py_malloc, py_free, NULL};

PyObject *wcpy_core_error(int status)
{
    if (PyErr_Occurred())
        return NULL;
    if (status == WC_ENOMEM)
        return PyErr_NoMemory();
    PyErr_Format(PyExc_RuntimeError, "weakcache: %s", wc_strerror(status));
    return NULL;
}

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
static PyObject *make_key(ModState *st, PyObject *const *args, Py_ssize_t nargs,
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

/* ------------------------------------------------------------------ */
/* Detecting a value that keeps its owner alive                        */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject *target;
    int depth;
    int budget;
    int found;
} CycleSearch;

static int cycle_visit(PyObject *obj, void *arg)
{
    CycleSearch *s = arg;
    if (obj == s->target) {
        s->found = 1;
        return 1;
    }
    if (s->depth > 0 && s->budget > 0 && PyObject_IS_GC(obj) &&
        Py_TYPE(obj)->tp_traverse != NULL) {
        s->budget--;
        s->depth--;
        Py_TYPE(obj)->tp_traverse(obj, cycle_visit, s);
        s->depth++;
    }
    return s->found;
}

/* Does value reach owner within a few references (value -> x -> y -> owner)?
 * Bounded: at most 64 containers looked into, on the miss path only. */
static int references_owner(PyObject *value, PyObject *owner)
{
    CycleSearch s = {owner, 2, 64, 0};
    if (value == owner)
        return 1;
    if (!PyObject_IS_GC(value) || Py_TYPE(value)->tp_traverse == NULL)
        return 0;
    Py_TYPE(value)->tp_traverse(value, cycle_visit, &s);
    return s.found;
}

/* ------------------------------------------------------------------ */
/* The wrapper: calls                                                  */
/* ------------------------------------------------------------------ */

static PyObject *wrapper_name(Wrapper *self)
{
    PyObject *name = NULL;
    if (self->dict != NULL)
        name = PyDict_GetItemString(self->dict, "__qualname__");
    if (name == NULL)
        name = PyObject_GetAttrString(self->func, "__qualname__");
    else
        Py_INCREF(name);
    if (name == NULL) {
        PyErr_Clear();
        name = PyUnicode_FromString("?");
    }
    return name;
}

static int warn_not_weakrefable(Wrapper *self, PyObject *owner)
{
    PyObject *name;
    int r;
    if (self->warned_not_weakrefable || self->maxsize >= 0)
        return 0;
    self->warned_not_weakrefable = 1;
    name = wrapper_name(self);
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
    name = wrapper_name(self);
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

/* The miss path: call, then store. `owner` NULL for unowned entries. */
static PyObject *call_and_store(Wrapper *self, PyObject *owner_obj, PyObject *key,
                                Py_hash_t hash, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames)
{
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    OwnerRef *rec = NULL;
    int r;

    if (result == NULL)
        return NULL;
    if (owner_obj != NULL) {
        rec = wcpy_owner_get_or_create(self->state, owner_obj);
        if (rec == NULL)
            goto error;
        if (references_owner(result, owner_obj) && warn_cycle(self, owner_obj) < 0)
            goto error;
    }
    Py_INCREF(key);
    Py_INCREF(result);
    r = wc_put(self->cache, rec != NULL ? &rec->owner : NULL, (uint64_t)hash, key, result, 1);
    if (r != WC_OK) {
        Py_DECREF(key);
        Py_DECREF(result);
        wcpy_core_error(r);
        goto error;
    }
    return result;

error:
    Py_DECREF(result);
    return NULL;
}

/* args[0] is the owner when is_method. */
static PyObject *wrapper_call_impl(Wrapper *self, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    ModState *st = self->state;
    PyObject *owner_obj = NULL, *key, *value = NULL, *result;
    OwnerRef *rec = NULL;
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
        key = make_key(st, args + 1, nargs - 1, kwnames, self->typed, 1);
    else
        key = make_key(st, args, nargs, kwnames, self->typed, 0);
    if (key == NULL)
        return NULL;
    hash = PyObject_Hash(key);
    if (hash == -1) {
        Py_DECREF(key);
        return NULL;
    }
    if (owner_obj != NULL) {
        rec = wcpy_owner_lookup(st, owner_obj);
        r = wc_get(self->cache, rec != NULL ? &rec->owner : &st->no_entries,
                   (uint64_t)hash, key, (void **)&value);
    } else {
        r = wc_get(self->cache, NULL, (uint64_t)hash, key, (void **)&value);
    }
    if (r == WC_OK) {
        Py_DECREF(key);
        return value;   /* retain_value gave us our reference */
    }
    if (r != WC_NOTFOUND) {
        Py_DECREF(key);
        return wcpy_core_error(r);
    }
    result = call_and_store(self, owner_obj, key, hash, args, nargsf, kwnames);
    Py_DECREF(key);
    return result;
}

static PyObject *wrapper_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    return wrapper_call_impl((Wrapper *)self, args, nargsf, kwnames);
}

/* ------------------------------------------------------------------ */
/* The wrapper: object protocol                                        */
/* ------------------------------------------------------------------ */

static PyObject *wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"user_function", "maxsize", "typed", "cache_info_type", NULL};
    PyObject *func, *maxsize_obj, *cache_info_type;
    int typed;
    Py_ssize_t maxsize;
    wc_config config;
    Wrapper *self;
    ModState *st = PyType_GetModuleState(type);

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOpO:_lru_cache_wrapper", kwlist,
                                     &func, &maxsize_obj, &typed, &cache_info_type))
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

    self = (Wrapper *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    memset(&config, 0, sizeof config);
    config.max_entries = maxsize > 0 ? (size_t)maxsize : 0;
    config.ops = &wcpy_ops;
    config.allocator = &wcpy_allocator;
    if (wc_cache_new(&config, &self->cache) != WC_OK) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->vectorcall = wrapper_vectorcall;
    self->func = Py_NewRef(func);
    self->cache_info_type = Py_NewRef(cache_info_type);
    self->state = st;
    self->maxsize = maxsize;
    self->typed = (char)typed;
    return (PyObject *)self;
}

int wcpy_cache_traverse(wc_cache *cache, visitproc visit, void *arg)
{
    wc_iter it;
    wc_item item;
    if (cache == NULL)
        return 0;
    wc_iter_init(&it, cache);
    while (wc_iter_next(&it, &item) == 1) {
        Py_VISIT((PyObject *)item.key);
        Py_VISIT((PyObject *)item.value);
    }
    return 0;
}

static int wrapper_traverse(PyObject *op, visitproc visit, void *arg)
{
    Wrapper *self = (Wrapper *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->func);
    Py_VISIT(self->cache_info_type);
    Py_VISIT(self->dict);
    return wcpy_cache_traverse(self->cache, visit, arg);
}

static int wrapper_clear(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    if (self->cache != NULL)
        wc_clear(self->cache);
    Py_CLEAR(self->func);
    Py_CLEAR(self->cache_info_type);
    Py_CLEAR(self->dict);
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
    Py_XDECREF(self->func);
    Py_XDECREF(self->cache_info_type);
    Py_XDECREF(self->dict);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *make_cache_info(Wrapper *self, size_t currsize)
{
    wc_stats stats;
    PyObject *maxsize;
    wc_cache_stats(self->cache, &stats);
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
    return make_cache_info(self, wc_cache_size(self->cache));
}

static PyObject *wrapper_cache_clear(PyObject *op, PyObject *unused)
{
    Wrapper *self = (Wrapper *)op;
    wc_stats stats;
    (void)unused;
    wc_cache_stats(self->cache, &stats);
    self->hits_base = stats.hits;
    self->misses_base = stats.misses + self->uncached_misses;
    if (wc_clear(self->cache) != WC_OK)
        return wcpy_core_error(WC_EINVAL);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *wrapper_set_name(PyObject *op, PyObject *args)
{
    PyObject *owner, *name;
    if (!PyArg_ParseTuple(args, "OO:__set_name__", &owner, &name))
        return NULL;
    ((Wrapper *)op)->is_method = 1;
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

/* Count distinct live owners with entries in this cache (for repr). */
static size_t wrapper_owner_count(Wrapper *self)
{
    Registry *reg = &self->state->registry;
    size_t i, n = 0;
    if (reg->slots == NULL)
        return 0;
    for (i = 0; i <= reg->mask; i++) {
        OwnerRef *r = reg->slots[i];
        if (r != NULL && r != DUMMY && wc_owner_count(&r->owner, self->cache) > 0)
            n++;
    }
    return n;
}

static PyObject *wrapper_repr(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    PyObject *name = wrapper_name(self), *r;
    char maxsize[32];
    if (name == NULL)
        return NULL;
    if (self->maxsize < 0)
        strcpy(maxsize, "None");
    else
        PyOS_snprintf(maxsize, sizeof maxsize, "%zd", self->maxsize);
    if (self->is_method)
        r = PyUnicode_FromFormat("<weakcache.lru_cache method %U maxsize=%s owners=%zu entries=%zu>",
                                 name, maxsize, wrapper_owner_count(self),
                                 wc_cache_size(self->cache));
    else
        r = PyUnicode_FromFormat("<weakcache.lru_cache %U maxsize=%s entries=%zu>", name,
                                 maxsize, wc_cache_size(self->cache));
    Py_DECREF(name);
    return r;
}

static PyObject *bound_new(Wrapper *wrapper, PyObject *obj);

static PyObject *wrapper_descr_get(PyObject *op, PyObject *obj, PyObject *type)
{
    Wrapper *self = (Wrapper *)op;
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(op);
    if (!self->is_method)   /* functools: an ordinary bound method */
        return PyMethod_New(op, obj);
    return bound_new(self, obj);
}

static PyMethodDef wrapper_methods[] = {
    {"cache_info", wrapper_cache_info, METH_NOARGS,
     "Report hits, misses, maxsize and current size (all owners)."},
    {"cache_clear", wrapper_cache_clear, METH_NOARGS,
     "Drop every entry of every owner and reset the statistics."},
    {"__set_name__", wrapper_set_name, METH_VARARGS,
     "Called by the class body: from now on the first argument is the owner."},
    {"__reduce__", wrapper_reduce, METH_NOARGS, NULL},
    {"__copy__", wrapper_copy, METH_NOARGS, NULL},
    {"__deepcopy__", wrapper_deepcopy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef wrapper_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(Wrapper, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(Wrapper, weakreflist), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Wrapper, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot wrapper_slots[] = {
    {Py_tp_new, (void *)wrapper_new},
    {Py_tp_dealloc, (void *)wrapper_dealloc},
    {Py_tp_traverse, (void *)wrapper_traverse},
    {Py_tp_clear, (void *)wrapper_clear},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_descr_get, (void *)wrapper_descr_get},
    {Py_tp_repr, (void *)wrapper_repr},
    {Py_tp_methods, wrapper_methods},
    {Py_tp_members, wrapper_members},
    {Py_tp_getset, wrapper_getset},
    {Py_tp_doc, (void *)"A memoizing wrapper whose method entries die with their instance."},
    {0, NULL},
};

static PyType_Spec wrapper_spec = {
    "weakcache._lru_cache_wrapper", sizeof(Wrapper), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_METHOD_DESCRIPTOR |
        Py_TPFLAGS_HAVE_VECTORCALL,
    wrapper_slots,
};

/* ------------------------------------------------------------------ */
/* Bound: obj.method when not called immediately                       */
/* ------------------------------------------------------------------ */

static PyObject *bound_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    Bound *b = (Bound *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[8], **buf = small, *result;

    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        /* The caller lent us args[-1]: put self there, as bound methods do. */
        PyObject **a = (PyObject **)args - 1;
        PyObject *saved = a[0];
        a[0] = b->self;
        result = wrapper_call_impl(b->wrapper, a, (size_t)(nargs + 1), kwnames);
        a[0] = saved;
        return result;
    }
    if (total + 1 > (Py_ssize_t)(sizeof small / sizeof small[0])) {
        buf = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    buf[0] = b->self;
    if (total > 0)
        memcpy(buf + 1, args, (size_t)total * sizeof(PyObject *));
    result = wrapper_call_impl(b->wrapper, buf, (size_t)(nargs + 1), kwnames);
    if (buf != small)
        PyMem_Free(buf);
    return result;
}

static PyObject *bound_new(Wrapper *wrapper, PyObject *obj)
{
    Bound *b = PyObject_GC_New(Bound, wrapper->state->bound_type);
    if (b == NULL)
        return NULL;
    b->vectorcall = bound_vectorcall;
    b->wrapper = (Wrapper *)Py_NewRef(wrapper);
    b->self = Py_NewRef(obj);
    PyObject_GC_Track(b);
    return (PyObject *)b;
}

static int bound_traverse(PyObject *op, visitproc visit, void *arg)
{
    Bound *b = (Bound *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(b->wrapper);
    Py_VISIT(b->self);
    return 0;
}

static int bound_clear(PyObject *op)
{
    Bound *b = (Bound *)op;
    Py_CLEAR(b->wrapper);
    Py_CLEAR(b->self);
    return 0;
}

static void bound_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    bound_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static int is_weakrefable(PyObject *obj)
{
    return Py_TYPE(obj)->tp_weaklistoffset != 0;
}

/* Fallback owners (not weakly referenceable) are the first item of their
 * entries' key tuples. Is `key` one of obj's? */
static int key_of_fallback_owner(PyObject *key, PyObject *obj)
{
    return PyTuple_CheckExact(key) && PyTuple_GET_SIZE(key) > 0 && PyTuple_GET_ITEM(key, 0) == obj;
}

/* The keys of a fallback owner's entries: a new list, or NULL on error. */
static PyObject *fallback_owner_keys(Wrapper *w, PyObject *obj)
{
    PyObject *keys = PyList_New(0);
    wc_iter it;
    wc_item item;
    if (keys == NULL)
        return NULL;
    wc_iter_init(&it, w->cache);
    while (wc_iter_next(&it, &item) == 1) {   /* no callbacks run while iterating */
        if (key_of_fallback_owner((PyObject *)item.key, obj) &&
            PyList_Append(keys, (PyObject *)item.key) < 0) {
            Py_DECREF(keys);
            return NULL;
        }
    }
    return keys;
}

static PyObject *bound_cache_info(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    size_t n = 0;
    (void)unused;
    if (is_weakrefable(b->self)) {
        OwnerRef *rec = wcpy_owner_lookup(b->wrapper->state, b->self);
        if (rec != NULL)
            n = wc_owner_count(&rec->owner, b->wrapper->cache);
    } else {
        wc_iter it;
        wc_item item;
        wc_iter_init(&it, b->wrapper->cache);
        while (wc_iter_next(&it, &item) == 1)
            n += (size_t)key_of_fallback_owner((PyObject *)item.key, b->self);
    }
    return make_cache_info(b->wrapper, n);
}

static PyObject *bound_cache_clear(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    (void)unused;
    if (is_weakrefable(b->self)) {
        OwnerRef *rec = wcpy_owner_lookup(b->wrapper->state, b->self);
        if (rec != NULL) {
            Py_INCREF(rec);
            wc_cache_clear_owner(b->wrapper->cache, &rec->owner);
            Py_DECREF(rec);
        }
    } else {
        /* Collect first (iterating runs no Python code), then remove each
         * key: hashing a tuple we hashed before gives the same value, and the
         * stored key object is found by identity without calling __eq__. */
        PyObject *keys = fallback_owner_keys(b->wrapper, b->self);
        Py_ssize_t i;
        if (keys == NULL)
            return NULL;
        for (i = 0; i < PyList_GET_SIZE(keys); i++) {
            PyObject *key = PyList_GET_ITEM(keys, i);
            Py_hash_t h = PyObject_Hash(key);
            int r;
            if (h == -1) {
                Py_DECREF(keys);
                return NULL;
            }
            r = wc_remove(b->wrapper->cache, NULL, (uint64_t)h, key);
            if (r < 0) {
                Py_DECREF(keys);
                return wcpy_core_error(r);
            }
        }
        Py_DECREF(keys);
    }
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* pickle / copy: like a bound method, rebuild as getattr(obj, name). */
static PyObject *bound_reduce(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    PyObject *name, *builtins, *getattr_fn, *r;
    (void)unused;
    name = PyObject_GetAttrString((PyObject *)b->wrapper, "__name__");
    if (name == NULL)
        return NULL;
    builtins = PyEval_GetBuiltins();   /* borrowed */
    getattr_fn = builtins != NULL ? PyDict_GetItemString(builtins, "getattr") : NULL;
    if (getattr_fn == NULL) {
        Py_DECREF(name);
        PyErr_SetString(PyExc_RuntimeError, "builtins.getattr not found");
        return NULL;
    }
    r = Py_BuildValue("O(ON)", getattr_fn, b->self, name);
    return r;
}

/* inspect.signature(obj.m): the wrapper's signature without its first
 * parameter, as for a bound method. */
static PyObject *bound_signature(PyObject *op, void *closure)
{
    Bound *b = (Bound *)op;
    PyObject *inspect, *sig, *params = NULL, *values = NULL, *rest = NULL, *kw = NULL, *r = NULL;
    (void)closure;
    inspect = PyImport_ImportModule("inspect");
    if (inspect == NULL)
        return NULL;
    sig = PyObject_CallMethod(inspect, "signature", "O", (PyObject *)b->wrapper);
    Py_DECREF(inspect);
    if (sig == NULL)
        return NULL;
    params = PyObject_GetAttrString(sig, "parameters");
    if (params == NULL)
        goto done;
    values = PyObject_CallMethod(params, "values", NULL);
    if (values == NULL)
        goto done;
    rest = PySequence_List(values);
    if (rest == NULL)
        goto done;
    if (PyList_GET_SIZE(rest) > 0 && PySequence_DelItem(rest, 0) < 0)
        goto done;
    kw = Py_BuildValue("{s:O}", "parameters", rest);
    if (kw == NULL)
        goto done;
    {
        PyObject *replace = PyObject_GetAttrString(sig, "replace");
        if (replace == NULL)
            goto done;
        PyObject *empty = PyTuple_New(0);
        if (empty != NULL) {
            r = PyObject_Call(replace, empty, kw);
            Py_DECREF(empty);
        }
        Py_DECREF(replace);
    }
done:
    Py_XDECREF(kw);
    Py_XDECREF(rest);
    Py_XDECREF(values);
    Py_XDECREF(params);
    Py_DECREF(sig);
    return r;
}

/* Attributes that describe the function come from the wrapper, not from
 * this type (its __doc__ and __module__ would shadow them). */
static PyObject *bound_forward(PyObject *op, void *closure)
{
    return PyObject_GetAttrString((PyObject *)((Bound *)op)->wrapper, (const char *)closure);
}

/* _bound_method(func, obj): what weakref.WeakMethod uses to rebuild it. */
static PyObject *bound_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *func, *obj;
    ModState *st = PyType_GetModuleState(type);
    if (kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "_bound_method() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "_bound_method", 2, 2, &func, &obj))
        return NULL;
    if (!PyObject_TypeCheck(func, st->wrapper_type)) {
        PyErr_SetString(PyExc_TypeError, "_bound_method() expects a weakcache lru_cache wrapper");
        return NULL;
    }
    return bound_new((Wrapper *)func, obj);
}

/* Unknown attributes (cache_parameters, attributes set on the function) come
 * from the wrapper. Dunders do not: the wrapper's __copy__, __deepcopy__ or
 * __reduce_ex__ would make copy and pickle return the unbound wrapper. */
static PyObject *bound_getattro(PyObject *op, PyObject *name)
{
    PyObject *r = PyObject_GenericGetAttr(op, name);
    Py_ssize_t n;
    if (r != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    n = PyUnicode_GET_LENGTH(name);
    if (n > 4 && PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
        PyUnicode_READ_CHAR(name, n - 1) == '_' && PyUnicode_READ_CHAR(name, n - 2) == '_')
        return NULL;
    PyErr_Clear();
    return PyObject_GetAttr((PyObject *)((Bound *)op)->wrapper, name);
}

static PyObject *bound_repr(PyObject *op)
{
    Bound *b = (Bound *)op;
    PyObject *name = wrapper_name(b->wrapper), *r;
    if (name == NULL)
        return NULL;
    r = PyUnicode_FromFormat("<weakcache bound method %U of %R>", name, b->self);
    Py_DECREF(name);
    return r;
}

static PyObject *bound_richcompare(PyObject *a, PyObject *b, int op)
{
    Bound *x, *y;
    int eq;
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    x = (Bound *)a;
    y = (Bound *)b;
    eq = x->wrapper == y->wrapper && x->self == y->self;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t bound_hash(PyObject *op)
{
    Bound *b = (Bound *)op;
    Py_hash_t h = (Py_hash_t)(((uintptr_t)b->wrapper >> 4) ^ ((uintptr_t)b->self * 31));
    return h == -1 ? -2 : h;
}

static PyMethodDef bound_methods[] = {
    {"cache_info", bound_cache_info, METH_NOARGS,
     "hits, misses and maxsize of the whole cache; currsize counts this instance's entries."},
    {"cache_clear", bound_cache_clear, METH_NOARGS, "Drop this instance's entries only."},
    {"__reduce__", bound_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef bound_members[] = {
    {"__self__", T_OBJECT, offsetof(Bound, self), READONLY, NULL},
    {"__func__", T_OBJECT, offsetof(Bound, wrapper), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Bound, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef bound_getset[] = {
    {"__signature__", bound_signature, NULL, NULL, NULL},
    {"__doc__", bound_forward, NULL, NULL, (void *)"__doc__"},
    {"__module__", bound_forward, NULL, NULL, (void *)"__module__"},
    {"__name__", bound_forward, NULL, NULL, (void *)"__name__"},
    {"__qualname__", bound_forward, NULL, NULL, (void *)"__qualname__"},
    {"__wrapped__", bound_forward, NULL, NULL, (void *)"__wrapped__"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot bound_slots[] = {
    {Py_tp_new, (void *)bound_tp_new},
    {Py_tp_getset, bound_getset},
    {Py_tp_dealloc, (void *)bound_dealloc},
    {Py_tp_traverse, (void *)bound_traverse},
    {Py_tp_clear, (void *)bound_clear},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_getattro, (void *)bound_getattro},
    {Py_tp_repr, (void *)bound_repr},
    {Py_tp_richcompare, (void *)bound_richcompare},
    {Py_tp_hash, (void *)bound_hash},
    {Py_tp_methods, bound_methods},
    {Py_tp_members, bound_members},
    {0, NULL},
};

static PyType_Spec bound_spec = {
    "weakcache._bound_method", sizeof(Bound), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL, bound_slots,
};

/* ------------------------------------------------------------------ */
/* Module                                                              */
/* ------------------------------------------------------------------ */

static PyObject *mod_build_info(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return Py_BuildValue("{s:s,s:s,s:s,s:s}", "package", WC_PY_VERSION, "core",
                         wc_version(), "uthash", wc_uthash_version(), "build_flags",
                         WC_BUILD_FLAGS);
}

static PyObject *mod_owner_count(PyObject *module, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(state_of_module(module)->registry.used);
}

static PyMethodDef module_methods[] = {
    {"_build_info", mod_build_info, METH_NOARGS,
     "Versions of the package, the C core and uthash, and the build flags."},
    {"_owner_count", mod_owner_count, METH_NOARGS,
     "Number of live owner records (objects with entries in some cache)."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef owner_died_def = {
    "_owner_died", (PyCFunction)owner_died, METH_O, "Weakref callback: evict a dead owner."};

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

static int module_exec(PyObject *module)
{
    ModState *st = state_of_module(module);
    PyObject *weakref_mod, *ref_type, *bases, *collections, *namedtuple;
    static PyObject *package_name;   /* immortal-ish: one per process */

    wc_owner_init(&st->no_entries);
    if (PyModule_AddStringConstant(module, "__version__", WC_VERSION_STRING) < 0)
        return -1;
    if (package_name == NULL && (package_name = PyUnicode_InternFromString("weakcache")) == NULL)
        return -1;

    weakref_mod = PyImport_ImportModule("_weakref");
    if (weakref_mod == NULL)
        return -1;
    ref_type = PyObject_GetAttrString(weakref_mod, "ref");
    Py_DECREF(weakref_mod);
    if (ref_type == NULL)
        return -1;
    bases = PyTuple_Pack(1, ref_type);   /* 3.9 accepts only a tuple here */
    Py_DECREF(ref_type);
    if (bases == NULL)
        return -1;
    st->ownerref_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &ownerref_spec, bases);
    Py_DECREF(bases);
    if (st->ownerref_type == NULL)
        return -1;
    st->wrapper_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &wrapper_spec, NULL);
    if (st->wrapper_type == NULL)
        return -1;
    st->bound_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &bound_spec, NULL);
    if (st->bound_type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "_lru_cache_wrapper", (PyObject *)st->wrapper_type) < 0 ||
        PyModule_AddObjectRef(module, "_bound_method", (PyObject *)st->bound_type) < 0 ||
        PyModule_AddObjectRef(module, "_OwnerRef", (PyObject *)st->ownerref_type) < 0)
        return -1;

    collections = PyImport_ImportModule("collections");
    if (collections == NULL)
        return -1;
    namedtuple = PyObject_GetAttrString(collections, "namedtuple");
    Py_DECREF(collections);
    if (namedtuple == NULL)
        return -1;
    st->cache_info_type = PyObject_CallFunction(namedtuple, "ss", "CacheInfo",
                                                "hits misses maxsize currsize");
    Py_DECREF(namedtuple);
    if (st->cache_info_type == NULL ||
        PyObject_SetAttrString(st->cache_info_type, "__module__", package_name) < 0 ||
        PyModule_AddObjectRef(module, "CacheInfo", st->cache_info_type) < 0)
        return -1;

    st->kwd_mark = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (st->kwd_mark == NULL)
        return -1;
    st->owner_died = PyCFunction_NewEx(&owner_died_def, module, NULL);
    if (st->owner_died == NULL)
        return -1;

    st->warning = new_warning(module, "weakcache.WeakcacheWarning", PyExc_UserWarning,
                              "Base class of weakcache's warnings.", "WeakcacheWarning");
    if (st->warning == NULL)
        return -1;
    st->not_weakrefable_warning = new_warning(
        module, "weakcache.NotWeakrefableWarning", st->warning,
        "An unbounded cached method is used on objects that cannot be weakly referenced, "
        "so they are kept alive as functools would.",
        "NotWeakrefableWarning");
    if (st->not_weakrefable_warning == NULL)
        return -1;
    st->owner_cycle_warning = new_warning(
        module, "weakcache.OwnerCycleWarning", st->warning,
        "A cached method returned a value that references its own instance, which keeps "
        "the instance alive until the entry is evicted.",
        "OwnerCycleWarning");
    if (st->owner_cycle_warning == NULL)
        return -1;
    return wcpy_property_exec(module, st);
}

/* Release every owner: their entries leave every cache, then the records. */
static void registry_clear(Registry *reg)
{
    while (reg->used > 0) {
        size_t i;
        for (i = 0; i <= reg->mask; i++) {
            OwnerRef *r = reg->slots[i];
            if (r != NULL && r != DUMMY) {
                reg->slots[i] = DUMMY;
                reg->used--;
                owner_record_drop(r);   /* may re-enter and change the table */
                break;
            }
        }
    }
    PyMem_Free(reg->slots);
    reg->slots = NULL;
    reg->mask = reg->used = reg->filled = 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModState *st = state_of_module(module);
    size_t i;
    Py_VISIT(st->wrapper_type);
    Py_VISIT(st->bound_type);
    Py_VISIT(st->ownerref_type);
    Py_VISIT(st->cache_info_type);
    Py_VISIT(st->kwd_mark);
    Py_VISIT(st->owner_died);
    Py_VISIT(st->warning);
    Py_VISIT(st->not_weakrefable_warning);
    Py_VISIT(st->owner_cycle_warning);
    Py_VISIT(st->cached_property_type);
    if (st->registry.slots != NULL)
        for (i = 0; i <= st->registry.mask; i++) {
            OwnerRef *r = st->registry.slots[i];
            if (r != NULL && r != DUMMY)
                Py_VISIT((PyObject *)r);
        }
    return 0;
}

static int module_clear(PyObject *module)
{
    ModState *st = state_of_module(module);
    registry_clear(&st->registry);
    Py_CLEAR(st->wrapper_type);
    Py_CLEAR(st->bound_type);
    Py_CLEAR(st->ownerref_type);
    Py_CLEAR(st->cache_info_type);
    Py_CLEAR(st->kwd_mark);
    Py_CLEAR(st->owner_died);
    Py_CLEAR(st->warning);
    Py_CLEAR(st->not_weakrefable_warning);
    Py_CLEAR(st->owner_cycle_warning);
    Py_CLEAR(st->cached_property_type);
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#ifdef Py_mod_gil
    /* The structures are protected by the GIL; on free-threaded builds the
     * interpreter keeps the GIL enabled while this module is loaded. */
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "weakcache._weakcache",
    "C implementation of weakcache: owner-keyed LRU caches for functions and methods.",
    sizeof(ModState),
    module_methods,
    module_slots,
    module_traverse,
    module_clear,
    module_free,
};

PyMODINIT_FUNC PyInit__weakcache(void)
{
    return PyModuleDef_Init(&module_def);
}
