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

#ifdef WC_HAVE_PTHREADS
#include <pthread.h>
#endif

#ifndef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#endif
/* A failed add is noticed by the caller (uthash sets hh.tbl to NULL). */
#define uthash_nonfatal_oom(elt) ((void)(elt))
#define uthash_malloc(sz) wc__malloc(cache, (sz))
#define uthash_free(ptr, sz) wc__free(cache, (ptr), (sz))
/* uthash gives up doubling its buckets when a doubling did not shorten the
 * chains ("ineffective expansion", twice in a row). With the mixed hashes of
 * cache.c that only happens for keys whose caller hashes really collide;
 * count it so that stats, tests and the benchmark can say it never did. */
#define uthash_noexpand_fyi(tbl) (cache->noexpand++)
#include <uthash.h>

/* An entry. `hh` must stay the first member (uthash's hho offset is 0, so an
 * element pointer and its handle pointer are the same address). Fields of
 * the handle carry our data, see the block comment in cache.c:
 *   hh.tbl    -> the entry's owner (wc_owner *), NULL if unowned
 *   hh.keylen -> the entry's weight (31 bits) and the SIEVE visited bit
 * Unowned entries are allocated without `olink`; entries of a cache with a
 * ttl have an 8-byte deadline after the last member they have. */
typedef struct wc__group wc__group;

typedef struct wc__entry {
    UT_hash_handle hh;
    void *value;
    struct wc__link olink;   /* link in the owner group's list (owned only) */
} wc__entry;

#define WC__OWNED_SIZE (sizeof(wc__entry))
#define WC__UNOWNED_SIZE (offsetof(wc__entry, olink))

enum {
    WC__F_BYTES = 1u,        /* made by the bytes layer: generic API refused */
    WC__F_LOCKED = 2u,       /* thread-safe: calls take the cache's lock */
    WC__F_SIEVE = 4u,        /* SIEVE policy (else LRU) */
    WC__F_TTL = 8u,          /* entries carry a deadline */
    WC__F_HOOKS = 16u,       /* WC__F_LOCKED through the caller's wc_lock */
    WC__F_RETAIN = 32u       /* ops.retain_value is set (hit path gate) */
};

struct wc_cache {
    wc__entry *head;             /* always &sentinel: uthash's "head" */
    unsigned flags;              /* WC__F_* */
    unsigned depth;              /* API calls in progress on this cache */
    /* uthash's bucket array and its size - 1, copied after every HASH_ADD
     * (the only operation that moves them) for the hit path: one load less */
    UT_hash_bucket *buckets;
    unsigned bucket_mask;
    int closing;                 /* wc_cache_free() has been called */
    int free_pending;            /* ... from a callback: the outermost call frees */
    size_t max_entries;
    uint64_t max_weight;
    size_t size;
    uint64_t weight;
    uint64_t version;            /* bumped when an entry is added or removed */
    uint64_t moves;              /* bumped when a hit reorders the list */
    uint64_t hits, misses, inserts;
    uint64_t noexpand;           /* times uthash stopped expanding (stats) */
    uint64_t evictions[WC_EVICT_SLOTS];
    wc_ops ops;
    void *ctx;
    wc__entry *hand;             /* SIEVE: next eviction candidate (NULL: oldest) */
    wc__entry *grave_head;       /* unlinked entries awaiting release */
    wc__entry *grave_tail;
    /* expiry */
    uint64_t ttl;
    uint64_t clock_max;          /* highest time the clock returned */
    uint64_t (*now)(void *ctx);
    void *clock_ctx;
    /* locking */
    wc_lock lock;                /* the caller's hooks (WC__F_HOOKS) */
#ifdef WC_HAVE_PTHREADS
    /* the built-in recursive lock: a plain mutex, its holder (the address
     * of a thread-local byte of the holding thread, 0 if none) and the
     * holder's recursion count */
    pthread_mutex_t mutex;
    _Atomic(uintptr_t) mutex_holder;
    unsigned mutex_count;
    int has_mutex;
#endif
    wc_allocator alloc;
    /* the bytes convenience layer (bytes.c) */
    void (*bytes_free_value)(void *value);
    wc__entry sentinel;          /* permanent first element, never a match */
};

void *wc__malloc(wc_cache *cache, size_t size);
void wc__free(wc_cache *cache, void *ptr, size_t size);
extern const wc_allocator wc__default_allocator;

/* The API functions without the check that refuses bytes caches; bytes.c
 * calls these. Same contracts as the public functions. wc__bytes_get is
 * wc_lookup for a bytes cache (key: a wc_bytes_key probe, hint may be NULL). */
int wc__bytes_get(wc_cache *cache, wc_owner *owner, uint64_t hash,
                  const void *key, void **value_out, wc_hint *hint);
int wc__put(wc_cache *cache, const wc_hint *hint, wc_owner *owner,
            uint64_t hash, void *key, void *value, uint32_t weight);
int wc__remove(wc_cache *cache, wc_owner *owner, uint64_t hash,
               const void *key, void **key_out, void **value_out);
/* Create a cache from a config already read (config->size == sizeof). */
int wc__cache_new(const wc_config *config, wc_cache **out);
int wc__config_read(const wc_config *in, wc_config *out);

#endif /* WC_INTERNAL_H */
