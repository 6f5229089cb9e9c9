/*
 * flat.c - the table of an unbounded function cache.
 *
 * WHY A TABLE OF ITS OWN
 * ======================
 * weakcache.cache and lru_cache(maxsize=None) on a plain function need none
 * of what the C core's entries carry: no owner (a function's entries are
 * unowned), no order (nothing is ever evicted), no weight, no deadline.
 * functools keeps such a cache in a dict, whose hit reads an index slot and
 * then the entry it points to: two dependent cache misses once the cache
 * outgrows the L2. The core reads an index slot and then a 48-byte entry of
 * its own: the same two. This table holds the entries themselves,
 *
 *     slots[cap]: { key, value, hash }      24 bytes, linear probing,
 *                                           at most 3/4 full
 *
 * so a hit reads one slot: the home slot is the hash's multiplicative mix
 * scaled to the capacity, and a hit of an identical key (the common case:
 * interned strings, small ints, the caller's own objects) compares
 * pointers only. The table grows by half when a store would make it more
 * than 3/4 full, so it is 1/2 to 3/4 full: 32-48 bytes an entry, against
 * 30-52 for functools' dict and 55-58 for the core's entry and slot; a
 * table doubling in size would be 3/8 to 3/4 full, 32-64 bytes. Hits at
 * scale cost one cache miss where both functools and the core pay two
 * (bench/python/bench_scale.py, "function"; docs/benchmarks.md).
 *
 * A wrapper starts with this table when it is unbounded and has no options
 * (lru.c). Becoming a method (__set_name__) or async moves its entries into
 * the core cache (wcpy_flat_move), which has owners and an in-flight table;
 * a lookup or store whose __eq__ did that goes on in the core (`moved`).
 * The move stores one entry at a time, and a store's __eq__ may call the
 * wrapper: such a call sees the entries moved so far, and misses the
 * others (it computes, as a call racing a clear would).
 *
 * Keys are key.c's stored forms (a tagged pointer for a wrapped lone
 * argument), compared as there: identical pointers are equal; otherwise
 * only a slot with the same 64-bit hash is compared, with key.c's equality
 * (__eq__). Entries are never removed one at a time: a store of an equal
 * key replaces the value and keeps the stored key (dict's rule, which is
 * what functools' store does), and clearing drops them all.
 *
 * RE-ENTRANCY
 * ===========
 * __eq__ (in a lookup or a store) and every Py_DECREF of a key or value
 * (replace, clear, move) can run Python code, which may call this cache
 * again, store, clear it, or let another thread do so (the GIL is released
 * in __eq__). Rules, after CPython's dict:
 *   1. The table is consistent before every such call: a store writes the
 *      slot and the counters, then releases the value it replaced; a clear
 *      detaches the array first and releases its contents after.
 *   2. A lookup holds a reference to the stored key while __eq__ runs and,
 *      when it returns, touches nothing before comparing the table's array
 *      and version with the ones it started with; if either moved, the
 *      slot it was looking at may be gone, and it starts again from the
 *      home slot. After WCPY_FLAT_RESTARTS, the lookup or store gives up
 *      (WCPY_FLAT_UNSETTLED, or 1 from a store): lru.c then counts a miss,
 *      calls the function and returns its result, as functools would.
 *   3. Growth allocates the new array before it touches the old one, runs
 *      no Python code, and bumps the version. (A capacity of 2^32 slots or
 *      more, 96 GiB, is refused with MemoryError: the home slot's multiply
 *      is 32 by 32 bits.)
 */
#include "flat.h"
#include "lru.h"

#define WCPY_FLAT_RESTARTS 64   /* as the core's WC_MAX_RESTARTS */
#define MIN_CAP 8
#define UNTAG(p) ((PyObject *)((uintptr_t)(p) & ~(uintptr_t)1))

enum { FOUND, ABSENT, CHANGED, FAILED };

/* Walk the probe run of (probe, hash). FOUND: *at is the slot of an equal
 * key; ABSENT: no such key (a store then places it, place()); CHANGED:
 * __eq__ changed the table; FAILED: __eq__ raised. */
static int find(FlatTable *t, void *probe, Py_hash_t hash, size_t *at)
{
    FlatSlot *slots = t->slots;
    uint64_t version = t->version;
    size_t i;
    if (slots == NULL)
        return ABSENT;
    for (i = wcpy_flat_home(t, hash);; i = wcpy_flat_next(t, i)) {
        FlatSlot *s = &slots[i];
        void *stored = s->key;
        PyObject *hold;
        int eq;
        if (stored == probe) {
            *at = i;
            return FOUND;
        }
        if (stored == NULL)
            return ABSENT;
        if (s->hash != hash)
            continue;
        hold = Py_NewRef(UNTAG(stored));   /* rule 2 */
        eq = wcpy_lru_keys_equal(stored, probe);
        Py_DECREF(hold);
        if (eq < 0)
            return FAILED;
        if (t->slots != slots || t->version != version)
            return CHANGED;
        if (eq) {
            *at = i;
            return FOUND;
        }
    }
}

int wcpy_flat_get_slow(FlatTable *t, void *probe, Py_hash_t hash, PyObject **value)
{
    int n;
    for (n = 0; n < WCPY_FLAT_RESTARTS; n++) {
        size_t at;
        if (t->moved)   /* __eq__ made the wrapper a method or async */
            return WCPY_FLAT_MOVED;
        switch (find(t, probe, hash, &at)) {
        case FOUND:
            t->hits++;
            *value = Py_NewRef(t->slots[at].value);
            return WCPY_FLAT_HIT;
        case ABSENT:
            t->misses++;
            return WCPY_FLAT_MISS;
        case FAILED:
            return -1;
        default:
            break;   /* CHANGED: again from the home slot */
        }
    }
    return WCPY_FLAT_UNSETTLED;
}

/* How far slot i is from `home`, walking forwards (with the wrap). */
static size_t distance(const FlatTable *t, size_t home, size_t i)
{
    return i >= home ? i - home : i + t->cap - home;
}

/* Put a key known to be absent into its probe run (no compare), the Robin
 * Hood way: walking from its home, it takes the first slot whose entry is
 * closer to its own home than the newcomer is, and that entry goes on
 * walking in its place, until one lands in the empty slot that ends the
 * run. Every entry still lies between its home and the run's end, so
 * lookups walk runs as before; what changes is that no entry ends up far
 * from home while others sit right at theirs: at 3/4 full the longest walk
 * to any entry stays within a few dozen slots, where first-free placement
 * leaves some a few hundred slots out (a lookup of those reads that many).
 * Returns the longest distance an entry it placed or moved ended at, in
 * slots (1 = its home). */
static size_t place(FlatTable *t, const FlatSlot *in)
{
    FlatSlot e = *in;
    size_t i = wcpy_flat_home(t, e.hash), d = 0, longest = 0;
    for (;; i = wcpy_flat_next(t, i), d++) {
        FlatSlot *s = &t->slots[i];
        size_t sd;
        if (s->key == NULL) {
            *s = e;
            return d + 1 > longest ? d + 1 : longest;
        }
        sd = distance(t, wcpy_flat_home(t, s->hash), i);
        if (sd < d) {
            FlatSlot moved = *s;
            *s = e;
            e = moved;
            if (d + 1 > longest)
                longest = d + 1;
            d = sd;
        }
    }
}

/* Make room for one more entry: a first array, or one half as large again.
 * -1 with MemoryError (the table unchanged). */
static int grow(FlatTable *t)
{
    FlatSlot *old = t->slots;
    size_t old_cap = old != NULL ? t->cap : 0, cap, i;
    FlatSlot *slots;
    if (old != NULL && (t->used + 1) * 4 <= old_cap * 3)
        return 0;
    cap = old_cap ? old_cap + old_cap / 2 : MIN_CAP;
    if (cap >= ((uint64_t)1 << 32) || cap > PY_SSIZE_T_MAX / sizeof(FlatSlot)) {
        PyErr_NoMemory();
        return -1;
    }
    slots = PyMem_Calloc(cap, sizeof(FlatSlot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->slots = slots;
    t->cap = cap;
    t->longest_probe = 0;
    t->version++;
    for (i = 0; i < old_cap; i++)
        if (old[i].key != NULL) {
            size_t n = place(t, &old[i]);
            if (n > t->longest_probe)
                t->longest_probe = n;
        }
    PyMem_Free(old);
    return 0;
}

int wcpy_flat_put(FlatTable *t, void *key, Py_hash_t hash, PyObject *value)
{
    int n;
    for (n = 0; n < WCPY_FLAT_RESTARTS; n++) {
        size_t at;
        if (t->moved)   /* __eq__ made the wrapper a method or async */
            return WCPY_FLAT_MOVED;
        switch (find(t, key, hash, &at)) {
        case FOUND: {
            PyObject *old = t->slots[at].value;
            t->slots[at].value = Py_NewRef(value);
            t->replaced++;
            t->inserts++;
            t->version++;
            Py_DECREF(old);   /* rule 1: after the slot is whole */
            return 0;
        }
        case ABSENT: {
            FlatSlot e;
            size_t len;
            if (grow(t) < 0)
                return -1;
            e.key = key;
            e.value = Py_NewRef(value);
            e.hash = hash;
            Py_INCREF(UNTAG(key));
            len = place(t, &e);
            if (len > t->longest_probe)
                t->longest_probe = len;
            t->used++;
            t->inserts++;
            t->version++;
            return 0;
        }
        case FAILED:
            return -1;
        default:
            break;
        }
    }
    return 1;
}

/* Detach the array (the table is then empty and consistent); returns it and
 * its capacity. */
static FlatSlot *detach(FlatTable *t, size_t *cap)
{
    FlatSlot *slots = t->slots;
    *cap = slots != NULL ? t->cap : 0;
    t->slots = NULL;
    t->cap = 0;
    t->used = 0;
    t->longest_probe = 0;
    t->version++;
    return slots;
}

void wcpy_flat_clear(FlatTable *t)
{
    size_t cap, i;
    FlatSlot *slots;
    t->cleared += t->used;
    slots = detach(t, &cap);
    for (i = 0; i < cap; i++)
        if (slots[i].key != NULL) {
            Py_DECREF(UNTAG(slots[i].key));
            Py_DECREF(slots[i].value);
        }
    PyMem_Free(slots);
}

int wcpy_flat_traverse(const FlatTable *t, visitproc visit, void *arg)
{
    size_t i;
    if (t->slots == NULL)
        return 0;
    for (i = 0; i < t->cap; i++)
        if (t->slots[i].key != NULL) {
            Py_VISIT(UNTAG(t->slots[i].key));
            Py_VISIT(t->slots[i].value);
        }
    return 0;
}

int wcpy_flat_move(FlatTable *t, int (*put)(void *ctx, void *key, Py_hash_t hash, PyObject *value),
                   void *ctx)
{
    size_t cap, i;
    FlatSlot *slots;
    int rc = 0, stop = 0;
    wc_saved_error first = {0};
    t->moved = 1;
    slots = detach(t, &cap);
    for (i = 0; i < cap; i++) {
        FlatSlot *s = &slots[i];
        int r;
        if (s->key == NULL)
            continue;
        r = stop ? 1 : put(ctx, s->key, s->hash, s->value);
        if (r > 0) {
            stop = 1;
            t->cleared++;   /* dropped by that clear, as if it had been there */
        }
        if (r < 0) {
            if (rc == 0)
                wc_error_save(&first);   /* kept aside: the decrefs below may run code */
            else
                PyErr_Clear();
            rc = -1;
        }
        Py_DECREF(UNTAG(s->key));
        Py_DECREF(s->value);
    }
    PyMem_Free(slots);
    if (rc < 0)
        wc_error_restore(&first);
    return rc;
}
