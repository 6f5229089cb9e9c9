/*
 * weakcache.h - a bounded LRU memoization cache whose entries belong to owners.
 *
 * Every entry is identified by (owner, key). An owner is a small handle the
 * caller embeds in its own objects (a session, a request, a Python instance);
 * wc_owner_release() evicts every entry of that owner, in every cache, in time
 * proportional to the owner's own entries. Entries without an owner (owner ==
 * NULL) form one more group. On top of that each cache is an ordinary LRU,
 * bounded by entry count and optionally by total weight.
 *
 * Keys and values are opaque pointers. The caller hashes keys (any 64-bit
 * hash; the cache mixes it again) and supplies an equality callback that may
 * fail. For plain C use there is a byte-string convenience layer at the end
 * of this file: create, get, put.
 *
 * Conventions used throughout:
 *  - Functions that can fail return an int status: WC_OK (0), a positive
 *    informational code (WC_NOTFOUND) or a negative WC_E* error code;
 *    wc_strerror() names each of them. The library never prints, never calls
 *    exit() or abort(), and leaves the cache unchanged when it returns an
 *    error unless the function's comment says otherwise.
 *  - "Borrowed" pointers stay owned by whoever passed them in; "taken"
 *    pointers become the cache's on success (it frees them through the ops
 *    callbacks) and stay the caller's on failure.
 *  - A cache is not thread-safe: callers serialise access to one cache
 *    (the CPython extension does so with the GIL or a critical section).
 *    Distinct caches and owners with no entries in common need no locking.
 *  - Callbacks may call back into the same cache; see "Re-entrancy" below.
 */
#ifndef WEAKCACHE_H
#define WEAKCACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Versions and symbol export                                          */
/* ------------------------------------------------------------------ */

#define WC_VERSION_MAJOR 0
#define WC_VERSION_MINOR 2
#define WC_VERSION_PATCH 0
/* The version lives in the three numbers above and nowhere else: CMake
 * (project version, SONAME, pkg-config) and the Python package metadata
 * (pyproject.toml, a regex over this file) read them from here. */
#define WC__VERSION_STR2(x) #x
#define WC__VERSION_STR(x) WC__VERSION_STR2(x)
#define WC_VERSION_STRING                                                     \
    WC__VERSION_STR(WC_VERSION_MAJOR) "." WC__VERSION_STR(WC_VERSION_MINOR) "." \
    WC__VERSION_STR(WC_VERSION_PATCH)
/* One number that orders versions: major * 10000 + minor * 100 + patch. */
#define WC_VERSION_NUMBER \
    (WC_VERSION_MAJOR * 10000 + WC_VERSION_MINOR * 100 + WC_VERSION_PATCH)

#if defined(_WIN32) && defined(WC_SHARED_BUILD)
#define WC_API __declspec(dllexport)
#elif defined(_WIN32) && defined(WC_SHARED)
#define WC_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define WC_API __attribute__((visibility("default")))
#else
#define WC_API
#endif

/* The version of the library actually linked, e.g. "0.1.0". Static string. */
WC_API const char *wc_version(void);
/* WC_VERSION_NUMBER of the library actually linked. */
WC_API unsigned wc_version_number(void);
/* The uthash version the library was compiled with, e.g. "2.3.0". */
WC_API const char *wc_uthash_version(void);

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

enum {
    WC_OK = 0,
    WC_NOTFOUND = 1,    /* get/remove: no entry for (owner, key); not an error */
    WC_ENOMEM = -1,     /* an allocator hook returned NULL */
    WC_EINVAL = -2,     /* a NULL or out-of-range argument */
    WC_ECALLBACK = -3,  /* the ops->equal callback reported an error */
    WC_ETOOBIG = -4,    /* the entry's weight exceeds the cache's max_weight */
    WC_ECHANGED = -5,   /* callbacks kept changing the cache under a lookup, or
                           the cache changed under an iterator */
    WC_EBUSY = -6       /* the cache is being freed: a call made from its
                           callbacks after wc_cache_free(), or a second
                           wc_cache_free() */
};

/* A static, human-readable description of a status code ("unknown status"
 * for codes not listed above). Never NULL. */
WC_API const char *wc_strerror(int status);

/* ------------------------------------------------------------------ */
/* Allocator hooks                                                     */
/* ------------------------------------------------------------------ */

/* Every byte the library allocates, uthash's tables included, goes through
 * these hooks. `free` receives the size that was requested for the block, for
 * allocators that want it (pool and arena allocators); it is never called
 * with NULL. Hooks must not call into the cache. There is no realloc hook:
 * the library never grows a block in place (uthash allocates a new bucket
 * array when it doubles). */
typedef struct wc_allocator {
    void *(*malloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} wc_allocator;

/* ------------------------------------------------------------------ */
/* Owners                                                              */
/* ------------------------------------------------------------------ */

/* An owner groups entries so they can be dropped together. The caller
 * provides the storage (embed it in the object it stands for; no allocation
 * happens until the owner is used with a second cache) and must call
 * wc_owner_init() before use. The fields are private: the struct is public
 * only so that it can be embedded, which saves an allocation per owner.
 *
 * Storage rules: while an owner has entries, its storage must stay valid.
 * wc_owner_release() empties it; after that the storage may be freed or the
 * owner reused. */
struct wc_cache;
struct wc__link {
    struct wc__link *next, *prev;
};
struct wc__group {               /* the entries of one owner in one cache */
    struct wc_cache *cache;      /* NULL while this group is unused */
    struct wc_owner *owner;
    struct wc__link entries;     /* circular list, this node is the sentinel */
    struct wc__group *next;      /* the owner's next group */
};
typedef struct wc_owner {
    struct wc__group wc__first;  /* private: first group, stored inline */
    unsigned char wc__lock;      /* private: the owner's lock (an atomic byte) */
    unsigned char wc__reserved[7]; /* reserved for later versions, keep zero */
} wc_owner;
/* ABI: sizeof(wc_owner) (48 bytes on LP64) is part of the ABI and stays the
 * same within a major version; later minor versions may use the reserved
 * bytes and change the private fields, never the size. */

/* Initialise an owner with no entries. `owner` is borrowed; it must not
 * already hold entries (re-initialising a used owner leaks its entries).
 * NULL is a no-op. */
WC_API void wc_owner_init(wc_owner *owner);

/* Evict every entry of `owner` in every cache (cause WC_EVICT_OWNER), in time
 * proportional to the owner's entries. Afterwards the owner holds no entries
 * and no memory: its storage may be freed, or it may be used again. Releasing
 * an owner that holds nothing (released twice, never used) is a no-op.
 * Returns WC_OK, or WC_EINVAL if owner is NULL. Eviction callbacks of a cache
 * that is in the middle of another operation (release called from one of its
 * callbacks) run when that operation finishes; otherwise before returning. */
WC_API int wc_owner_release(wc_owner *owner);

/* Number of entries `owner` holds in `cache`, or in all caches if cache is
 * NULL. O(entries of the owner). 0 for NULL owner. */
WC_API size_t wc_owner_count(const wc_owner *owner, const struct wc_cache *cache);

/* ------------------------------------------------------------------ */
/* Cache configuration                                                 */
/* ------------------------------------------------------------------ */

typedef enum wc_evict_cause {
    WC_EVICT_CAPACITY = 0,  /* LRU eviction: max_entries reached */
    WC_EVICT_WEIGHT = 1,    /* LRU eviction: max_weight reached */
    WC_EVICT_OWNER = 2,     /* the entry's owner was released */
    WC_EVICT_REMOVED = 3,   /* wc_remove() */
    WC_EVICT_REPLACED = 4,  /* wc_put() of an equal (owner, key) */
    WC_EVICT_CLEARED = 5,   /* wc_clear(), wc_cache_clear_owner(), wc_cache_free() */
    WC_EVICT__COUNT = 6
} wc_evict_cause;

/* A short name for a cause ("capacity", "weight", ...); "unknown" otherwise. */
WC_API const char *wc_evict_cause_name(wc_evict_cause cause);

/* Callbacks that give meaning to the opaque keys and values. Every member may
 * be NULL. All receive wc_config.ops_ctx as their first argument. */
typedef struct wc_ops {
    /* Compare a stored key with a probe key (the probe is what was passed to
     * get/put/remove). Called only when the (mixed) hashes and owners match.
     * Return 1 if equal, 0 if not, a negative value on error (the operation
     * then fails with WC_ECALLBACK and the cache is left consistent).
     * NULL: keys are equal when the pointers are equal. */
    int (*equal)(void *ctx, const void *stored_key, const void *probe_key);
    /* Release a key / value the cache took in wc_put(). */
    void (*free_key)(void *ctx, void *key);
    void (*free_value)(void *ctx, void *value);
    /* Called on the value a successful wc_get() returns, before any other
     * callback can run, so that reference-counted values can take a
     * reference that outlives re-entrant removals. */
    void (*retain_value)(void *ctx, void *value);
    /* Eviction listener: sees every entry that leaves the cache, with its
     * cause, just before free_key/free_value release it. key and value are
     * borrowed for the duration of the call. */
    void (*on_evict)(void *ctx, const void *key, void *value, uint32_t weight,
                     wc_evict_cause cause);
} wc_ops;

typedef struct wc_config {
    size_t size;          /* set by wc_config_init(): the struct size the
                             caller was compiled with (ABI versioning) */
    size_t max_entries;   /* 0: no bound on the number of entries */
    uint64_t max_weight;  /* 0: no bound on the total weight */
    const wc_ops *ops;    /* borrowed, copied at creation; NULL: all-NULL ops */
    void *ops_ctx;        /* passed to every ops callback */
    const wc_allocator *allocator; /* copied at creation; NULL: malloc/free */
} wc_config;

/* Prepare a config: zero every field and record the struct's size, so that
 * a program compiled against this header keeps working with later versions
 * of the library (which append fields, and treat the missing ones as zero).
 * Always start from wc_config_init(), then set the fields you need:
 *
 *     wc_config cfg;
 *     wc_config_init(&cfg);
 *     cfg.max_entries = 1024;
 *
 * Returns WC_OK, or WC_EINVAL if cfg is NULL. (A macro: it passes
 * sizeof(wc_config) as seen by the caller to wc_config_init_size().) */
#define wc_config_init(cfg) wc_config_init_size((cfg), sizeof(wc_config))
/* cfg borrowed; `size` bytes at cfg are zeroed and cfg->size = size.
 * Errors: WC_EINVAL (cfg NULL, or size smaller than the 0.2.0 struct). */
WC_API int wc_config_init_size(wc_config *cfg, size_t size);

/* ------------------------------------------------------------------ */
/* Re-entrancy                                                         */
/* ------------------------------------------------------------------ */
/* Any callback (equal, free_key, free_value, retain_value, on_evict) may call
 * any function of this API on the same cache, wc_cache_free() included (the
 * free then completes when the outermost call returns). The rules the
 * library keeps:
 *  - Entries removed while an operation is running are unlinked at once but
 *    their memory, key and value are released only when the outermost call on
 *    that cache returns; so a key passed to `equal` stays valid for the whole
 *    call even if the callback removes its entry.
 *  - A lookup whose `equal` callback changed the cache starts again; after
 *    WC_MAX_RESTARTS restarts it gives up with WC_ECHANGED.
 *  - Pointers obtained from the cache (a value from wc_get(), items from an
 *    iterator) are borrowed: any later call on the cache may free them. */
#define WC_MAX_RESTARTS 64

/* ------------------------------------------------------------------ */
/* Caches                                                              */
/* ------------------------------------------------------------------ */

typedef struct wc_cache wc_cache;

/* Create a cache. `config` is borrowed (NULL: unbounded, pointer keys, no
 * callbacks, malloc/free). On success *out receives the cache, which the
 * caller owns and frees with wc_cache_free(). Errors: WC_EINVAL (out NULL,
 * or an allocator with a NULL hook), WC_ENOMEM. */
WC_API int wc_cache_new(const wc_config *config, wc_cache **out);

/* Free the cache and all its entries (listener cause WC_EVICT_CLEARED), and
 * detach it from every owner. NULL is a no-op returning WC_OK. Called from
 * one of this cache's own callbacks, it takes every entry out at once and
 * the call that ran the callback finishes the job just before it returns
 * (a wc_put in progress then fails with WC_EBUSY); either way the caller
 * must not use the cache afterwards. Returns WC_OK, or WC_EBUSY if the cache
 * is already being freed. */
WC_API int wc_cache_free(wc_cache *cache);

/* Look up (owner, key). owner may be NULL (the unowned group); key is
 * borrowed. On a hit: *value_out receives the value (borrowed, see
 * retain_value), the entry becomes the most recently used, returns WC_OK.
 * On a miss: *value_out = NULL, returns WC_NOTFOUND. Errors: WC_EINVAL
 * (cache, value_out NULL), WC_ECALLBACK, WC_ECHANGED. Counts a hit or a miss
 * in the stats (not on errors). */
WC_API int wc_get(wc_cache *cache, wc_owner *owner, uint64_t hash,
                  const void *key, void **value_out);

/* Insert (owner, key) -> value with the given weight as the most recently
 * used entry. key and value are taken on success. If an equal (owner, key)
 * entry exists it is replaced: the old entry is evicted with cause
 * WC_EVICT_REPLACED (its key and value freed) and the new one takes its
 * place. Then least recently used entries are evicted (WC_EVICT_CAPACITY or
 * WC_EVICT_WEIGHT) until the limits hold; the new entry itself is never
 * evicted by its own put. A cache whose max_weight is 0 still records
 * weights (they show in the stats).
 * Errors (key and value stay the caller's, the cache is unchanged):
 * WC_EINVAL (cache NULL), WC_ETOOBIG (max_weight != 0 and weight >
 * max_weight; an existing entry under this key is left in place),
 * WC_ENOMEM, WC_ECALLBACK, WC_ECHANGED, WC_EBUSY (a callback freed the
 * cache during the put). */
WC_API int wc_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *key,
                  void *value, uint32_t weight);

/* Remove (owner, key) (cause WC_EVICT_REMOVED). Returns WC_OK if an entry was
 * removed, WC_NOTFOUND if there was none. Errors: WC_EINVAL, WC_ECALLBACK,
 * WC_ECHANGED. */
WC_API int wc_remove(wc_cache *cache, wc_owner *owner, uint64_t hash,
                     const void *key);

/* Remove every entry (cause WC_EVICT_CLEARED). Stats counters are kept.
 * Returns WC_OK, or WC_EINVAL for NULL. */
WC_API int wc_clear(wc_cache *cache);

/* Remove every entry `owner` has in this cache (cause WC_EVICT_CLEARED);
 * owner NULL means the unowned entries. O(those entries) for an owner, a scan
 * for NULL. Returns WC_OK, or WC_EINVAL if cache is NULL. */
WC_API int wc_cache_clear_owner(wc_cache *cache, wc_owner *owner);

/* Change the bounds (0 = unbounded) and evict down to them at once: first
 * every entry heavier than the new max_weight, whatever its age (it could
 * never fit), then least recently used entries until both bounds hold. When
 * both bounds are exceeded the eviction is counted as WC_EVICT_CAPACITY.
 * Returns WC_OK, WC_EINVAL (NULL) or WC_EBUSY (cache being freed). */
WC_API int wc_cache_set_limits(wc_cache *cache, size_t max_entries,
                               uint64_t max_weight);

/* Room for eviction causes: the evictions[] array has this many slots
 * whatever WC_EVICT__COUNT is, so later causes do not move the fields
 * after it. */
#define WC_EVICT_SLOTS 16

typedef struct wc_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t inserts;                     /* successful puts */
    uint64_t evictions[WC_EVICT_SLOTS];   /* indexed by wc_evict_cause */
    size_t size;                          /* current number of entries */
    uint64_t weight;                      /* current total weight */
    size_t max_entries;
    uint64_t max_weight;
    /* How often the hash index gave up growing its bucket array (uthash's
     * "ineffective expansion" rule): 0 unless many distinct keys have equal
     * 64-bit caller hashes (a broken hash function). Lookups get slower as
     * the cache grows once it is non-zero. */
    uint64_t noexpand;
} wc_stats;

/* Fill *out with the cache's counters. wc_stats may grow in later versions
 * (fields are only ever appended): the library writes the first `size`
 * bytes at most, and zeroes what it does not know. Use the macro, which
 * passes the caller's sizeof. Both pointers borrowed. Returns WC_OK, or
 * WC_EINVAL (cache or out NULL, *out is then untouched). */
#define wc_cache_stats(cache, out) \
    wc_cache_stats_size((cache), (out), sizeof(wc_stats))
WC_API int wc_cache_stats_size(const struct wc_cache *cache, wc_stats *out,
                               size_t size);

/* Number of entries (0 for NULL). */
WC_API size_t wc_cache_size(const wc_cache *cache);

/* ------------------------------------------------------------------ */
/* Iteration, most to least recently used                              */
/* ------------------------------------------------------------------ */

typedef struct wc_item {
    const void *key;      /* borrowed */
    void *value;          /* borrowed */
    wc_owner *owner;      /* NULL for unowned entries */
    uint32_t weight;
} wc_item;

typedef struct wc_iter {  /* fields private */
    struct wc_cache *wc__cache;
    void *wc__next;
    void *wc__cur;
    uint64_t wc__version;
    void *wc__reserved[4];  /* room for later versions: sizeof is ABI */
} wc_iter;

/* Start an iteration. Iterating does not touch the LRU order or the stats.
 * Both pointers borrowed; it NULL is a no-op, cache NULL gives an iterator
 * whose wc_iter_next() returns WC_EINVAL. */
WC_API void wc_iter_init(wc_iter *it, wc_cache *cache);

/* Fetch the next item: returns 1 and fills *out, 0 at the end, WC_ECHANGED
 * if the cache changed (any get, put, remove, eviction) since
 * wc_iter_init(), or WC_EINVAL for NULL arguments. */
WC_API int wc_iter_next(wc_iter *it, wc_item *out);

/* ------------------------------------------------------------------ */
/* Byte-string keys: the convenience layer                             */
/* ------------------------------------------------------------------ */
/* A bytes cache copies each key into memory it owns and hashes it with
 * wc_hash_bytes(); values stay opaque pointers released with free_value.
 * The common case is three calls:
 *
 *     wc_cache *c;
 *     wc_bytes_cache_new(1024, free, NULL, &c);
 *     void *v;
 *     if (wc_bytes_get(c, NULL, "key", 3, &v) == WC_NOTFOUND) {
 *         v = compute("key");
 *         wc_bytes_put(c, NULL, "key", 3, v);
 *     }
 *     ...
 *     wc_cache_free(c);
 *
 * wc_get/wc_put/wc_remove must not be used on a bytes cache (its keys have a
 * private layout); wc_clear, owners, stats, limits and iteration work as
 * usual (an iterated key is a wc_bytes_key). The wc_bytes_* functions
 * return WC_EINVAL on a cache not made by wc_bytes_cache_new(). */

typedef struct wc_bytes_key {
    size_t len;
    const unsigned char *data;
} wc_bytes_key;

/* A 64-bit hash of `len` bytes at `data` (which may be NULL if len is 0),
 * good for hash tables; not cryptographic. Deterministic for a given seed. */
WC_API uint64_t wc_hash_bytes(const void *data, size_t len, uint64_t seed);

/* Create a bytes cache bounded to max_entries (0 = unbounded). free_value
 * (may be NULL) releases values taken by wc_bytes_put(). allocator may be
 * NULL (malloc/free). Errors: WC_EINVAL (out NULL, or an allocator with a
 * NULL hook), WC_ENOMEM. */
WC_API int wc_bytes_cache_new(size_t max_entries, void (*free_value)(void *value),
                              const wc_allocator *allocator, wc_cache **out);

/* wc_get for a bytes cache. key (len bytes; may be NULL when len is 0) is
 * borrowed. Returns WC_OK with *value_out set, WC_NOTFOUND, or WC_EINVAL. */
WC_API int wc_bytes_get(wc_cache *cache, wc_owner *owner, const void *key,
                        size_t len, void **value_out);

/* wc_put for a bytes cache, weight 1. The key bytes are copied; value is taken
 * on success. Errors: WC_EINVAL, WC_ENOMEM (value stays the caller's). */
WC_API int wc_bytes_put(wc_cache *cache, wc_owner *owner, const void *key,
                        size_t len, void *value);

/* wc_remove for a bytes cache: WC_OK, WC_NOTFOUND or WC_EINVAL. */
WC_API int wc_bytes_remove(wc_cache *cache, wc_owner *owner, const void *key,
                           size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WEAKCACHE_H */
