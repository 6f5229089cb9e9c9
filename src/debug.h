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

#endif /* WC_DEBUG_H */
