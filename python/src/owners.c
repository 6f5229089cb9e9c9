/*
 * owners.c - owner records, the owner registry, and the ops that make a
 * wc_cache hold Python objects.
 *
 * DATA STRUCTURE
 * ==============
 * Every object that owns cache entries (an instance whose cached method or
 * weak-store property was used) has exactly one owner record, an _OwnerRef:
 * a weakref.ref subclass whose callback is this module's _owner_died, with
 * the core's wc_owner embedded. The one allocation (about 128 bytes) holds
 * the weak reference and the entries of that object in every cache, so the
 * per-owner cost is paid once however many cached methods it uses.
 *
 *     registry (open addressing, key = object address)
 *       slots[i] -> _OwnerRef { weakref -> obj, callback = _owner_died,
 *                               wc_owner (groups: entries per cache),
 *                               addr = (uintptr_t)obj }
 *
 * The registry holds the only strong reference to a record. Probing is
 * linear; deletions leave a dummy; the table grows at 3/4 full (live +
 * dummies) and shrinks when mostly empty, so it costs 11-16 bytes per live
 * owner.
 *
 * Hits reach a record without the registry when they can
 * (wcpy_owner_lookup, owners.h): the record is a weak reference to its
 * object, so it is in the object's own list of weak references, and first
 * in it unless the object has a plain ref or proxy or a weak reference
 * made after the record. A first entry of the record type that points at
 * the object is the object's registered record; anything else goes to the
 * registry. With many instances that saves the registry slot's cache miss
 * on every hit (bench/python/bench_scale.py, "N owners x 1"). Lookups that
 * create records, or must tell a registered record from an unregistered
 * one, use the registry itself (wcpy_owner_lookup_registry).
 *
 * LIFETIMES
 * =========
 * When an owner dies, its record's callback removes the record from the
 * registry and calls wc_owner_release(), which evicts the owner's entries
 * from every cache; then the registry's reference to the record is dropped.
 * A record is trusted only while its weakref points at the very object
 * being looked up (wc_weakref_is): a record left by a dead object whose
 * callback has not run yet (the collector may clear weakrefs before calling
 * callbacks, and a callback-less clear happens when the record itself is
 * garbage) fails that check and is discarded on sight, so an object that
 * reuses a dead owner's address never sees its entries.
 *
 * RE-ENTRANCY
 * ===========
 * Python code runs when a record is created (allocation may run the
 * collector, hence finalizers) and when entries are released (decrefs).
 *   1. The registry is consistent before each of those: a record is linked
 *      or unlinked with no Python call between the table write and the
 *      counters.
 *   2. After creating a record, the registry is searched again: a
 *      finalizer run by the allocation may have registered the same object.
 *   3. A record is unlinked before its entries are released, so a callback
 *      that looks the object up meanwhile finds no record.
 *   4. registry_clear (module teardown) re-reads the table after every
 *      release and scans again until it is empty, since the releases may
 *      add, remove or move records.
 *   5. A record found through the object's list of weak references serves
 *      lookups only. Stores get theirs from the registry
 *      (wcpy_owner_get_or_create), so no entry is ever stored under a
 *      record the registry does not hold: one being created (first in the
 *      list before it is registered), or one that teardown released while
 *      someone keeps it alive (weakref.getweakrefs). Lookups through those
 *      find no entries, or, while teardown is still releasing them, entries
 *      of that very object that are not released yet.
 */
#include "owners.h"

#include <string.h>

static OwnerRef registry_dummy_storage;   /* pointer-aligned: its low 3 bits are 0 */
#define DUMMY (&registry_dummy_storage)

/* A slot holds a record's address with a 3-bit fingerprint of the owner's
 * address in its low bits (records are objects, at least 8-aligned), so a
 * probe passing other records reads only the slot array, and a hit reads
 * the record's first cache line only (the weakref's referent) and not
 * rec->addr at its end. */
#define FP_MASK ((uintptr_t)7)

static inline uintptr_t fingerprint(uintptr_t addr)
{
    return (uintptr_t)(((uint64_t)addr * 0x9E3779B97F4A7C15ull) >> 61);
}

static inline OwnerRef *slot_rec(OwnerRef *slot)   /* NULL and DUMMY unchanged */
{
    return (OwnerRef *)((uintptr_t)slot & ~FP_MASK);
}

static inline OwnerRef *slot_of(OwnerRef *rec)
{
    return (OwnerRef *)((uintptr_t)rec | fingerprint(rec->addr));
}

/* Where OwnersState sits inside the module state (for the callback, which
 * receives the module). The same for every instance of the module. */
static Py_ssize_t owners_offset;

/* ------------------------------------------------------------------ */
/* The registry                                                        */
/* ------------------------------------------------------------------ */

static size_t registry_slot(const Registry *reg, uintptr_t addr)
{
    uint64_t h = (uint64_t)addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & reg->mask;
}

/* The record registered at obj's address: obj's own (its weakref points at
 * obj) or a dead object's that had the address. */
static OwnerRef *registry_find(const Registry *reg, PyObject *obj)
{
    uintptr_t addr = (uintptr_t)obj, fp = fingerprint(addr);
    size_t i;
    if (reg->slots == NULL)
        return NULL;
    for (i = registry_slot(reg, addr);; i = (i + 1) & reg->mask) {
        OwnerRef *s = reg->slots[i], *r;
        if (s == NULL)
            return NULL;
        if (s == DUMMY || ((uintptr_t)s & FP_MASK) != fp)
            continue;
        r = slot_rec(s);
        if (wc_weakref_is((PyObject *)r, obj) || r->addr == addr)
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
        OwnerRef *r = slot_rec(old[i]);
        size_t j;
        if (r == NULL || r == DUMMY)
            continue;
        for (j = registry_slot(reg, r->addr); slots[j] != NULL; j = (j + 1) & reg->mask)
            ;
        slots[j] = slot_of(r);
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
    reg->slots[i] = slot_of(rec);
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
        OwnerRef *r = slot_rec(reg->slots[i]);
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

/* Release every owner: their entries leave every cache, then the records.
 * One pass over the slots, going on after each release from where it was
 * (re-reading the table, which the release may have resized, shrunk or
 * added to), then passes again while records are left: records a release
 * added behind the scan, or moved there by a resize. Restarting from slot
 * 0 after every release, as this once did, made teardown quadratic: 80,000
 * live owners at interpreter exit took 4 s. */
static void registry_clear(Registry *reg)
{
    while (reg->used > 0) {
        size_t i;
        for (i = 0; reg->slots != NULL && i <= reg->mask && reg->used > 0; i++) {
            OwnerRef *r = slot_rec(reg->slots[i]);
            if (r != NULL && r != DUMMY) {
                reg->slots[i] = DUMMY;
                reg->used--;
                owner_record_drop(r);   /* may re-enter and change the table */
            }
        }
    }
    PyMem_Free(reg->slots);
    reg->slots = NULL;
    reg->mask = reg->used = reg->filled = 0;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

OwnerRef *wcpy_owner_lookup_registry(OwnersState *st, PyObject *obj)
{
    OwnerRef *rec = registry_find(&st->registry, obj);
    st->registry_lookups++;
    if (rec == NULL || wc_weakref_is((PyObject *)rec, obj))
        return rec;
    /* A dead object had this address and its callback has not run. */
    if (registry_remove(&st->registry, rec))
        owner_record_drop(rec);
    return NULL;
}

OwnerRef *wcpy_owner_get_or_create(OwnersState *st, PyObject *obj)
{
    PyTypeObject *tp = st->ownerref_type;
    /* The registry's record, never a hint from obj's weak references: a
     * record that module teardown has taken out of the registry may still
     * be alive and in that list, and entries stored under it would never
     * be released. */
    OwnerRef *rec = wcpy_owner_lookup_registry(st, obj), *existing;
    PyObject *args;

    if (rec != NULL)
        return rec;
    /* _OwnerRef cannot be instantiated from Python (its tp_new is NULL);
     * weakref.ref's own tp_new builds it. */
    args = PyTuple_Pack(2, obj, st->owner_died);
    if (args == NULL)
        return NULL;
    rec = (OwnerRef *)tp->tp_base->tp_new(tp, args, NULL);
    Py_DECREF(args);
    if (rec == NULL)
        return NULL;
    /* Creating it may have run the collector, and a finalizer may have
     * registered obj meanwhile: one record per object, always (rule 2).
     * The registry, not obj's list of weak references, whose head may now
     * be this unregistered record. No Python code runs from here until the
     * record is registered or dropped. */
    existing = wcpy_owner_lookup_registry(st, obj);
    if (existing != NULL) {
        Py_DECREF(rec);
        return existing;
    }
    wc_owner_init(&rec->owner);
    rec->addr = (uintptr_t)obj;
    if (registry_add(&st->registry, rec) < 0) {
        Py_DECREF(rec);
        return NULL;
    }
    return rec;
}

size_t wcpy_owner_records(const OwnersState *st)
{
    return st->registry.used;
}

size_t wcpy_owner_records_in(const OwnersState *st, const wc_cache *cache)
{
    const Registry *reg = &st->registry;
    size_t i, n = 0;
    if (reg->slots == NULL)
        return 0;
    for (i = 0; i <= reg->mask; i++) {
        OwnerRef *r = slot_rec(reg->slots[i]);
        if (r != NULL && r != DUMMY && wc_owner_count(&r->owner, cache) > 0)
            n++;
    }
    return n;
}

/* The weakref callback: the owner has died (or is being collected). It is
 * reachable from Python (ref.__callback__), so it acts only on a record
 * whose referent is really gone: a live owner's record never leaves the
 * registry, which is what lets the call paths borrow it. */
static PyObject *owner_died(PyObject *module, PyObject *ref)
{
    OwnersState *st = wcpy_part_state(module, owners_offset);
    if (st == NULL || st->ownerref_type == NULL)
        Py_RETURN_NONE;   /* the module is being torn down */
    if (!PyObject_TypeCheck(ref, st->ownerref_type)) {
        PyErr_SetString(PyExc_TypeError, "expected a weakcache owner reference");
        return NULL;
    }
    if (!wc_weakref_is_dead(ref))
        Py_RETURN_NONE;
    if (registry_remove(&st->registry, (OwnerRef *)ref))
        owner_record_drop((OwnerRef *)ref);
    Py_RETURN_NONE;
}

static PyMethodDef owner_died_def = {
    "_owner_died", (PyCFunction)owner_died, METH_O, "Weakref callback: evict a dead owner."};

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
    {Py_tp_traverse, WC_SLOT_FN(ownerref_traverse)},
    {Py_tp_clear, WC_SLOT_FN(ownerref_clear)},
    {Py_tp_repr, WC_SLOT_FN(ownerref_repr)},
    {Py_tp_doc, (void *)"The weak reference that carries one owner's cache entries (internal)."},
    {0, NULL},
};

static PyType_Spec ownerref_spec = {
    "weakcache._OwnerRef", sizeof(OwnerRef), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    ownerref_slots,
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

void wcpy_obj_decref(void *ctx, void *obj)
{
    (void)ctx;
    Py_DECREF((PyObject *)obj);
}

void wcpy_obj_incref(void *ctx, void *obj)
{
    (void)ctx;
    Py_INCREF((PyObject *)obj);
}

const wc_ops wcpy_ops = {key_equal, wcpy_obj_decref, wcpy_obj_decref, wcpy_obj_incref, NULL};
const wc_ops wcpy_identity_ops = {NULL, wcpy_obj_decref, wcpy_obj_decref, wcpy_obj_incref, NULL};

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

void wcpy_config_init(wc_config *cfg, const wc_ops *ops)
{
    wc_config_init(cfg);
    cfg->ops = ops;
    cfg->allocator = &wcpy_allocator;
    cfg->flags = WC_RETAIN_SIMPLE;   /* retain_value is Py_INCREF: never re-enters */
}

int wcpy_put_as(wc_cache *cache, wc_owner *owner, uint64_t hash, void *stored,
                PyObject *key, PyObject *value, uint32_t weight)
{
    int r;
    Py_INCREF(key);
    Py_INCREF(value);
    r = wc_put(cache, owner, hash, stored, value, weight);
    if (r < 0) {
        Py_DECREF(key);
        Py_DECREF(value);
        return r;
    }
    /* A refresh of the very same pointer: the cache keeps the reference it
     * already had, ours is surplus. Not the last one (the caller holds one). */
    if (r & WC_KEPT_KEY)
        Py_DECREF(key);
    if (r & WC_KEPT_VALUE)
        Py_DECREF(value);
    return WC_OK;
}

int wcpy_put(wc_cache *cache, wc_owner *owner, uint64_t hash, PyObject *key, PyObject *value,
             uint32_t weight)
{
    return wcpy_put_as(cache, owner, hash, key, key, value, weight);
}

int wcpy_cache_traverse(wc_cache *cache, visitproc visit, void *arg)
{
    wc_iter it;
    wc_item item;
    if (cache == NULL)
        return 0;
    wc_iter_init(&it, cache);
    while (wc_iter_next(&it, &item) == 1) {
        /* lru caches store some keys with the low bit set (key.c, "Stored
         * keys"); objects are aligned, so clearing it is right for all */
        Py_VISIT((PyObject *)((uintptr_t)item.key & ~(uintptr_t)1));
        Py_VISIT((PyObject *)item.value);
    }
    return 0;
}

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
/* Setup and teardown                                                  */
/* ------------------------------------------------------------------ */

int wcpy_owners_init(PyObject *module, OwnersState *st)
{
    PyObject *weakref_mod, *ref_type, *bases;
    owners_offset = wcpy_part_offset(module, st);
    wc_owner_init(&st->no_entries);
    /* weakref.ref, reached through the public module (its C name is private). */
    weakref_mod = PyImport_ImportModule("_weakref");
    if (weakref_mod == NULL)
        return -1;
    ref_type = PyObject_GetAttrString(weakref_mod, "ref");
    Py_DECREF(weakref_mod);
    if (ref_type == NULL)
        return -1;
    bases = PyTuple_Pack(1, ref_type);
    Py_DECREF(ref_type);
    if (bases == NULL)
        return -1;
    st->ownerref_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &ownerref_spec, bases);
    Py_DECREF(bases);
    if (st->ownerref_type == NULL)
        return -1;
    st->owner_died = PyCFunction_NewEx(&owner_died_def, module, NULL);
    if (st->owner_died == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "_OwnerRef", (PyObject *)st->ownerref_type);
}

int wcpy_owners_traverse(OwnersState *st, visitproc visit, void *arg)
{
    size_t i;
    Py_VISIT(st->ownerref_type);
    Py_VISIT(st->owner_died);
    if (st->registry.slots != NULL)
        for (i = 0; i <= st->registry.mask; i++) {
            OwnerRef *r = slot_rec(st->registry.slots[i]);
            if (r != NULL && r != DUMMY)
                Py_VISIT((PyObject *)r);
        }
    return 0;
}

void wcpy_owners_clear(OwnersState *st)
{
    registry_clear(&st->registry);
    Py_CLEAR(st->owner_died);
    Py_CLEAR(st->ownerref_type);
}
