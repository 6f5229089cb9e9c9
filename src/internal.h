/*
 * internal.h - what the core's files share. Not installed, not public API.
 */
#ifndef WC_INTERNAL_H
#define WC_INTERNAL_H

#include "weakcache.h"

#include <stdint.h>

#ifdef WC_HAVE_PTHREADS
#include <pthread.h>
#endif

/* An entry: one allocation of 64 bytes (48 when unowned: no olink; 8 more
 * with a ttl, for the deadline after the last member it has). The fields a
 * hit reads (key, value, owner, the hash's high half and the weight word)
 * are one 32-byte run at offsets 16-47, after the order links: pymalloc
 * (the Python extension's allocator) puts 64-byte blocks at 48 mod 64 in
 * its pools, so the run is then inside one cache line, where at offset 0
 * it would straddle two; with 16-byte aligned blocks anywhere else it
 * stays in one line three times in four, as at offset 0. See the block
 * comment in cache.c. While an entry waits in the graveyard (unlinked, not
 * yet released), `owner` is NULL, `hhi` holds its release flags and `next`
 * links the graveyard. */
typedef struct wc__group wc__group;

typedef struct wc__entry {
    struct wc__entry *prev;      /* order list: older neighbour (sentinel first) */
    struct wc__entry *next;      /* newer neighbour, NULL for the newest */
    void *key;
    void *value;
    wc_owner *owner;             /* NULL if unowned */
    uint32_t hhi;                /* high 32 bits of the mixed hash (home slot) */
    uint32_t bits;               /* weight (31 bits) | SIEVE's visited bit */
    struct wc__link olink;       /* link in the owner group's list (owned only) */
} wc__entry;

#define WC__OWNED_SIZE (sizeof(wc__entry))
#define WC__UNOWNED_SIZE (offsetof(wc__entry, olink))

/* A slot of the open-addressing index, decoded: the entry's address with a
 * few bits of its hash (the tag) in the address's low bits, which are zero
 * because entries are aligned; 0: empty. Stored narrow, as a wc__nslot (4
 * bytes, sixteen slots to a cache line: that value minus cache->base, while
 * every entry lies less than 4 GiB above the base), or wide, as the value
 * itself (WC__DEPTH_WIDE). See "The index" in cache.c. */
typedef uintptr_t wc__slot;
typedef uint32_t wc__nslot;

enum {
    WC__F_BYTES = 1u,        /* made by the bytes layer: generic API refused */
    WC__F_LOCKED = 2u,       /* thread-safe: calls take the cache's lock */
    WC__F_SIEVE = 4u,        /* SIEVE policy (else LRU) */
    WC__F_TTL = 8u,          /* entries carry a deadline */
    WC__F_HOOKS = 16u,       /* WC__F_LOCKED through the caller's wc_lock */
    WC__F_RETAIN = 32u       /* ops.retain_value is set and may re-enter (hit
                                path gate; not set with WC_RETAIN_SIMPLE) */
};

/* wc_cache.depth's two top bits. WIDE: the index holds wide slots (an
 * entry lies 4 GiB or more from the base, "The index" in cache.c); the
 * public functions' inlined fast path does not run, get_locked's wide copy
 * does. LIMITED: max_entries or max_weight is set, so SIEVE hits record
 * visits (entry_touch); the fast path runs. */
#define WC__DEPTH_WIDE 0x80000000u
#define WC__DEPTH_LIMITED 0x40000000u
#define WC__DEPTH_STATE (WC__DEPTH_WIDE | WC__DEPTH_LIMITED)
#define WC__DEPTH_CALLS(cache) ((cache)->depth & ~WC__DEPTH_STATE)

struct wc_cache {
    unsigned flags;              /* WC__F_*: set at creation, never changed */
    /* API calls in progress on this cache (low 30 bits), WC__DEPTH_WIDE and
     * WC__DEPTH_LIMITED. The fast path runs only when all but LIMITED are
     * 0, and reads LIMITED on a SIEVE hit from this word, which it tests
     * anyway (reading max_entries and max_weight there instead cost 10-20%
     * of a C hit's throughput at 1M entries). Changed under the lock, read
     * after `flags`. */
    unsigned depth;
    /* the index: 2^k slots (k <= 32), never more than 3/4 full */
    void *slots;                 /* wc__nslot[], or wc__slot[] if wide */
    uintptr_t base;              /* narrow slots: decoded = base + stored */
    size_t mask;                 /* slots - 1 */
    unsigned shift;              /* 64 - k: home slot = hash >> shift */
    unsigned longest_probe;      /* high-water mark since the last rebuild */
    uintptr_t tag_mask;          /* the slot bits that hold the tag */
    int shrink_failed;           /* a shrink's or narrowing's allocation
                                    failed: no retry until the next rebuild */
    int closing;                 /* wc_cache_free() has been called */
    int free_pending;            /* ... from a callback: the outermost call frees */
    size_t max_entries;
    uint64_t max_weight;
    size_t size;
    size_t owned;                /* entries with an owner, of `size`: while 0,
                                    an unowned lookup need not read e->owner */
    uint64_t weight;
    uint64_t version;            /* bumped when an entry is added or removed */
    uint64_t moves;              /* bumped when a hit reorders the list */
    uint64_t hits, misses, inserts;
    uint64_t evictions[WC_EVICT_SLOTS];
    wc_ops ops;
    void *ctx;
    wc__entry *tail;             /* newest entry; &sentinel when empty */
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
    /* index width (cold: never read by a hit) */
    size_t far;                  /* wide index: entries out of the window at
                                    base (at 0 it may narrow, in leave()) */
    size_t rebuilt_puts;         /* puts since the index was last rebuilt */
    wc_allocator alloc;
    /* the bytes convenience layer (bytes.c) */
    void (*bytes_free_value)(void *value);
    wc__entry sentinel;          /* the order list's head (not in the index) */
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
