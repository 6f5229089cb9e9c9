/*
 * debug.h - introspection for the library's own tests and benchmark.
 * Internal (wc__ names, not exported from the shared library, not
 * installed): link the static library to use it.
 */
#ifndef WC_DEBUG_H
#define WC_DEBUG_H

#include "weakcache.h"

typedef struct wc__table_info {
    size_t slots;          /* slots of the index (a power of two) */
    size_t items;          /* entries in the index */
    size_t max_probe;      /* longest probe run of an entry now in the index */
    size_t probe_total;    /* sum of every entry's probe run (mean = / items) */
    unsigned tag_mask;     /* the slot bits holding a hash tag (15, 7 or 3) */
    size_t slot_bytes;     /* 4: narrow slots (offsets from a base), 8: wide */
    size_t owned;          /* the cache's count of owned entries */
    size_t owned_items;    /* entries in the index that have an owner */
} wc__table_info;

/* Walks every slot: O(slots). cache and out borrowed, not NULL. */
void wc__debug_table(const wc_cache *cache, wc__table_info *out);

/* The 64-bit hash the index stores for (owner, caller hash). owner may be
 * NULL. */
uint64_t wc__debug_hash(uint64_t hash, const wc_owner *owner);

#endif /* WC_DEBUG_H */
