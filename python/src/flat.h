/*
 * flat.h - the table of an unbounded function cache: weakcache.cache and
 * lru_cache(maxsize=None) on a plain function (flat.c says why and how).
 *
 * Depends on compat.h only. Keys are stored in key.c's forms (a key object,
 * or a lone argument's address with the low bit set); the table holds a
 * strong reference to each key (to the argument for a tagged key) and
 * value. GIL builds: the GIL protects it, as the rest of the extension.
 */
#ifndef WC_PY_FLAT_H
#define WC_PY_FLAT_H

#include "compat.h"

#include <stdint.h>

typedef struct {
    void *key;        /* NULL: empty slot */
    PyObject *value;
    Py_hash_t hash;
} FlatSlot;

typedef struct {
    FlatSlot *slots;      /* NULL until the first store, and after a clear */
    size_t cap;           /* slots: 8, then 1.5 times as many at each growth
                             (any number: the home slot is a multiply, below) */
    size_t used;
    uint64_t version;     /* bumped by every store and clear: a lookup that
                             called __eq__ starts over if it moved */
    uint64_t hits, misses, inserts, replaced, cleared;
    size_t longest_probe; /* slots, since the table last grew */
    char moved;           /* wcpy_flat_move ran: the entries live in the core
                             now, and a lookup or store still under way here
                             (its __eq__ ran the move) must not use the table */
} FlatTable;

/* Lookup results; WCPY_FLAT_MOVED also a store's. */
enum { WCPY_FLAT_HIT = 0, WCPY_FLAT_MISS = 1, WCPY_FLAT_UNSETTLED = 2, WCPY_FLAT_MOVED = 3 };

/* The home slot: the top 32 bits of the hash's multiplicative mix, scaled
 * to the capacity (a multiply and a shift rather than a mask, so that the
 * capacity need not be a power of two; it stays below 2^32). */
static inline size_t wcpy_flat_home(const FlatTable *t, Py_hash_t hash)
{
    uint64_t top = ((uint64_t)hash * 0x9E3779B97F4A7C15ull) >> 32;
    return (size_t)((top * (uint64_t)t->cap) >> 32);
}

static inline size_t wcpy_flat_next(const FlatTable *t, size_t i)
{
    return i + 1 == t->cap ? 0 : i + 1;
}

/* The slow part of wcpy_flat_get: a stored key with the probe's hash that
 * is not the probe itself, compared with key.c's equality. */
int wcpy_flat_get_slow(FlatTable *t, void *probe, Py_hash_t hash, PyObject **value);

/* Look up a probe (key.c's form, borrowed). WCPY_FLAT_HIT with *value a new
 * reference; WCPY_FLAT_MISS; WCPY_FLAT_UNSETTLED (__eq__ changed the table
 * at every restart: neither a hit nor a miss is counted); WCPY_FLAT_MOVED
 * (__eq__ moved the entries into the core: look there, nothing counted
 * here); -1 with an exception (__eq__ raised). A hit of an identical key
 * runs no Python code and reads one slot. */
static inline int wcpy_flat_get(FlatTable *t, void *probe, Py_hash_t hash, PyObject **value)
{
    FlatSlot *slots = t->slots;
    if (slots != NULL) {
        size_t i = wcpy_flat_home(t, hash);
        for (;; i = wcpy_flat_next(t, i)) {
            FlatSlot *s = &slots[i];
            if (s->key == probe) {
                t->hits++;
                *value = Py_NewRef(s->value);
                return WCPY_FLAT_HIT;
            }
            if (s->key == NULL)
                break;
            if (s->hash == hash)
                return wcpy_flat_get_slow(t, probe, hash, value);
        }
    }
    t->misses++;
    return WCPY_FLAT_MISS;
}

/* Store key (key.c's stored form, borrowed) -> value (borrowed); the table
 * takes references of its own. An equal key already stored keeps its key
 * and gets the new value (a dict's rule, functools' store). 0 stored; 1 not
 * stored because __eq__ kept changing the table; WCPY_FLAT_MOVED not stored
 * because __eq__ moved the entries into the core (store there instead); -1
 * with an exception (MemoryError, or __eq__ raised). */
int wcpy_flat_put(FlatTable *t, void *key, Py_hash_t hash, PyObject *value);

/* Drop every entry: the table is empty before the first key or value is
 * released, so finalizers may use it. */
void wcpy_flat_clear(FlatTable *t);

/* Visit every key and value (tp_traverse). */
int wcpy_flat_traverse(const FlatTable *t, visitproc visit, void *arg);

/* Empty the table into `put`, for good (`moved`), called once per entry with
 * its key (stored form), hash and value, all borrowed (`put` takes
 * references of its own); the table is empty before the first call, the
 * counters stay. `put` returns 0, -1 with an exception, or 1: hand over no
 * more (the rest is released; the caller's cache was cleared meanwhile).
 * Returns 0, or -1 if a put failed (the first failure's exception is set;
 * the other entries are still handed over, and every reference of the
 * table released). */
int wcpy_flat_move(FlatTable *t, int (*put)(void *ctx, void *key, Py_hash_t hash, PyObject *value),
                   void *ctx);

#endif /* WC_PY_FLAT_H */
