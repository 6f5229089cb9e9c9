/*
 * internal.h - what the core's files share. Not installed, not public API.
 *
 * uthash is configured here, once, for the whole library: it never aborts
 * (HASH_NONFATAL_OOM, also set by the build) and allocates through the
 * cache's allocator hooks. The hooks name a variable `cache` (a wc_cache *),
 * so every function that expands a uthash macro which may allocate or free
 * must have a local or parameter called `cache`.
 */
#ifndef WC_INTERNAL_H
#define WC_INTERNAL_H

#include "weakcache.h"

#include <stdint.h>

#ifndef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#endif
/* A failed add is noticed by the caller (uthash sets hh.tbl to NULL). */
#define uthash_nonfatal_oom(elt) ((void)(elt))
/* uthash gives up doubling its buckets when a doubling did not shorten the
 * chains ("ineffective expansion", twice in a row). With the mixed hashes of
 * cache.c that only happens for keys whose caller hashes really collide;
 * count it so that stats, tests and the benchmark can say it never did. */
#define uthash_noexpand_fyi(tbl) (cache->noexpand++)
#define uthash_malloc(sz) wc__malloc(cache, (sz))
#define uthash_free(ptr, sz) wc__free(cache, (ptr), (sz))
#include <uthash.h>

/* An entry. `hh` must stay the first member (uthash's hho offset is 0, so an
 * element pointer and its handle pointer are the same address). Two fields of
 * the handle carry our data, see the block comment in cache.c:
 *   hh.tbl    -> the entry's owner group (struct wc__group *), NULL if unowned
 *   hh.keylen -> the entry's weight
 * Unowned entries are allocated without `olink` (WC__UNOWNED_SIZE bytes). */
typedef struct wc__group wc__group;

typedef struct wc__entry {
    UT_hash_handle hh;
    void *value;
    struct wc__link olink;   /* link in the owner group's list (owned only) */
} wc__entry;

#define WC__OWNED_SIZE (sizeof(wc__entry))
#define WC__UNOWNED_SIZE (offsetof(wc__entry, olink))

struct wc_cache {
    wc__entry *head;             /* always &sentinel: uthash's "head" */
    size_t max_entries;
    uint64_t max_weight;
    size_t size;
    uint64_t weight;
    uint64_t version;            /* bumped when an entry is added or removed */
    uint64_t moves;              /* bumped when a hit reorders the LRU list */
    uint64_t hits, misses, inserts;
    uint64_t noexpand;           /* times uthash stopped expanding (stats) */
    uint64_t evictions[WC_EVICT_SLOTS];
    wc_ops ops;
    void *ctx;
    wc_allocator alloc;
    unsigned depth;              /* API calls in progress on this cache */
    int closing;                 /* wc_cache_free() has been called */
    int free_pending;            /* ... from a callback: the outermost call frees */
    wc__entry *grave_head;       /* unlinked entries awaiting release */
    wc__entry *grave_tail;
    /* the bytes convenience layer (bytes.c) */
    int is_bytes;
    void (*bytes_free_value)(void *value);
    wc__entry sentinel;          /* permanent first element, never a match */
};

void *wc__malloc(wc_cache *cache, size_t size);
void wc__free(wc_cache *cache, void *ptr, size_t size);
extern const wc_allocator wc__default_allocator;

#endif /* WC_INTERNAL_H */
