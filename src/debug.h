/*
 * debug.h - introspection for the library's own tests and benchmark.
 * Internal (wc__ names, not exported from the shared library, not
 * installed): link the static library to use it.
 */
#ifndef WC_DEBUG_H
#define WC_DEBUG_H

#include "weakcache.h"

typedef struct wc__table_info {
    size_t buckets;        /* uthash bucket count */
    size_t max_chain;      /* longest bucket chain */
    size_t items;          /* entries in the table (the sentinel excluded) */
    unsigned noexpand;     /* uthash has stopped doubling the buckets */
} wc__table_info;

/* Walks every bucket: O(buckets). cache and out borrowed, not NULL. */
void wc__debug_table(const wc_cache *cache, wc__table_info *out);

/* The 32-bit uthash hashv the cache stores for (owner, caller hash): lets
 * the benchmark build its bare-uthash baseline with the very same bucket
 * layout as the cache, so that a comparison measures the cache's own work
 * and not the luck of two different tables' doublings. owner may be NULL. */
uint32_t wc__debug_hashv(uint64_t hash, const wc_owner *owner);

#endif /* WC_DEBUG_H */
