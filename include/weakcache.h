/*
 * weakcache.h - a bounded memoization cache whose entries belong to owners.
 *
 * Every entry is identified by (owner, key). An owner is a small handle the
 * caller embeds in its own objects (a session, a request, a Python instance);
 * wc_owner_release() evicts every entry of that owner, in every cache, in time
 * proportional to the owner's own entries. Entries without an owner (owner ==
 * NULL) form one more group. On top of that each cache is bounded by entry
 * count and optionally by total weight, with LRU (the default) or SIEVE
 * eviction, and optionally an expiry time (ttl) per entry.
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
 *  - Threads: see "Threads" below. In short, a cache created with
 *    WC_THREAD_SAFE (or lock hooks) may be used from any number of threads;
 *    any other cache must be used by one thread at a time. Owners may be
 *    shared by caches used from different threads.
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
/* Deprecated, kept for source and binary compatibility: the library was
 * built on uthash in its first versions and has its own index now;
 * returns "none". */
WC_API const char *wc_uthash_version(void);

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

enum {
    WC_OK = 0,
    WC_NOTFOUND = 1,    /* get/peek/remove/take: no entry for (owner, key);
                           not an error */
    WC_KEPT_KEY = 2,    /* wc_put succeeded; the entry it replaced held the
                           very same key pointer, which the cache kept (see
                           wc_put) */
    WC_KEPT_VALUE = 4,  /* wc_put succeeded; the same value pointer, kept */
    WC_KEPT_BOTH = 6,   /* wc_put succeeded; both pointers were the same */
    WC_ENOMEM = -1,     /* an allocator hook returned NULL */
    WC_EINVAL = -2,     /* a NULL or out-of-range argument, or a call not
                           allowed on this kind of cache */
    WC_ECALLBACK = -3,  /* the ops->equal callback reported an error; its own
                           code: wc_callback_error() */
    WC_ETOOBIG = -4,    /* the entry's weight exceeds the cache's max_weight */
    WC_ECHANGED = -5,   /* callbacks kept changing the cache under a lookup, or
                           the cache changed under an iterator */
    WC_EBUSY = -6       /* the cache is being freed: a call made from its
                           callbacks after wc_cache_free(), a second
                           wc_cache_free(), or a put whose callbacks freed the
                           cache; wc_take from a callback of the same cache */
};

/* A static, human-readable description of a status code ("unknown status"
 * for codes not listed above). Never NULL. */
WC_API const char *wc_strerror(int status);

/* The value the ops->equal callback returned (a negative int) in the most
 * recent call made by this thread that failed with WC_ECALLBACK; 0 if no
 * call of this thread has failed that way. Thread-local, like errno: read
 * it right after the failing call. */
WC_API int wc_callback_error(void);

/* ------------------------------------------------------------------ */
/* Allocator hooks                                                     */
/* ------------------------------------------------------------------ */

/* Every byte the library allocates, the index included, goes through
 * these hooks. `free` receives the size that was requested for the block,
 * for allocators that want it (pool and arena allocators); it is never
 * called with NULL. Hooks must not call into the cache. There is no realloc
 * hook: the library never grows a block in place (the index allocates a new
 * slot array when it grows or shrinks). Blocks must be aligned for a
 * pointer at least; the index keeps a 4-bit tag in the low bits of entry
 * addresses, 16-byte alignment (malloc's on 64-bit systems) keeps all four,
 * and a block aligned less than a pointer makes wc_put fail with WC_EINVAL.
 * The index stores entries as 4-byte offsets while they all lie within a
 * 4 GiB window (blocks from one heap do); an entry block outside it
 * switches the cache to 8-byte slots, and lookups then take the general
 * path (which enters and leaves the cache: a few dozen instructions more),
 * until the index is next resized with its entries close together again.
 * A put whose switch cannot allocate the wider array fails with WC_ENOMEM.
 * On a thread-safe cache the hooks are called with the cache's lock held,
 * from whichever thread makes the call. */
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
 * Storage rules: while an owner has entries, and while any call that names
 * it is running, its storage must stay valid. There is one exception, made
 * for reference-counted objects whose cached values point back at them: a
 * callback run by wc_owner_release(owner) itself (on the releasing thread)
 * may free the owner's storage once the owner holds no entries in any cache
 * (typically the last free_value drops the last reference); the release
 * then never touches the owner again. After wc_owner_release() returns the
 * storage may be freed or the owner reused.
 *
 * Threads: the owner's list of per-cache groups is protected by a small
 * lock inside wc_owner (an atomic byte), so an owner may hold entries in
 * caches that different threads use at the same time. */
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
 * proportional to the owner's entries, one cache at a time (the eviction
 * callbacks of each cache run before the next cache is visited, unless that
 * cache is in the middle of another operation: release called from one of
 * its callbacks; then they run when that operation finishes). Entries that
 * the release's own callbacks add to the owner are released too. Afterwards
 * the owner holds no entries and no memory. Releasing an owner that holds
 * nothing (released twice, never used) is a no-op. See "Storage rules"
 * above for freeing the owner from the release's callbacks.
 * Threads: the release takes each cache's lock in turn (without holding the
 * owner's lock while it waits), so it may run on any thread, concurrently
 * with calls on those caches if they are thread-safe; on a cache that is
 * not, the caller must serialise the release with that cache's other calls.
 * Entries other threads add to the owner while a release runs may stay.
 * Returns WC_OK, or WC_EINVAL if owner is NULL. */
WC_API int wc_owner_release(wc_owner *owner);

/* Number of entries `owner` holds in `cache`, or in all caches if cache is
 * NULL. O(entries of the owner). 0 for NULL owner (and for a cache being
 * freed). Takes the caches' locks like wc_owner_release. */
WC_API size_t wc_owner_count(const wc_owner *owner, const struct wc_cache *cache);

/* ------------------------------------------------------------------ */
/* Cache configuration                                                 */
/* ------------------------------------------------------------------ */

typedef enum wc_evict_cause {
    WC_EVICT_CAPACITY = 0,  /* policy eviction: max_entries reached */
    WC_EVICT_WEIGHT = 1,    /* policy eviction: max_weight reached */
    WC_EVICT_OWNER = 2,     /* the entry's owner was released */
    WC_EVICT_REMOVED = 3,   /* wc_remove(), wc_take(), wc_iter_remove() */
    WC_EVICT_REPLACED = 4,  /* wc_put() of an equal (owner, key) */
    WC_EVICT_CLEARED = 5,   /* wc_clear(), wc_cache_clear_owner(), wc_cache_free() */
    WC_EVICT_EXPIRED = 6,   /* older than the cache's ttl (see "Expiry") */
    WC_EVICT__COUNT = 7
} wc_evict_cause;

/* A short name for a cause ("capacity", "weight", ...); "unknown" otherwise. */
WC_API const char *wc_evict_cause_name(wc_evict_cause cause);

/* Callbacks that give meaning to the opaque keys and values. Every member may
 * be NULL. All receive wc_config.ops_ctx as their first argument. */
typedef struct wc_ops {
    /* Compare a stored key with a probe key (the probe is what was passed to
     * get/put/remove). Called only when the owners match, the two pointers
     * differ (identical pointers are equal keys, whatever the hashes) and
     * the hashes agree on the high 32 bits of their mix with the owner
     * (all an entry keeps): so about once in 2^32 candidate pairs for two
     * keys whose 64-bit hashes differ. `equal` must decide equality by
     * itself, not from the hashes having matched.
     * Return 1 if equal, 0 if not, a negative value on error (the operation
     * then fails with WC_ECALLBACK, the cache is left consistent, and
     * wc_callback_error() returns the value).
     * NULL: keys are equal when the pointers are equal. */
    int (*equal)(void *ctx, const void *stored_key, const void *probe_key);
    /* Release a key / value the cache took in wc_put(). */
    void (*free_key)(void *ctx, void *key);
    void (*free_value)(void *ctx, void *value);
    /* Called on the value a successful wc_get()/wc_peek() returns, before
     * any other callback can run, so that reference-counted values can take
     * a reference that outlives re-entrant removals. That reference belongs
     * to the caller of wc_get: the caller drops it when done with the value;
     * the cache never does. */
    void (*retain_value)(void *ctx, void *value);
    /* Eviction listener: sees every entry that leaves the cache, with its
     * cause, just before free_key/free_value release it. key and value are
     * borrowed for the duration of the call. */
    void (*on_evict)(void *ctx, const void *key, void *value, uint32_t weight,
                     wc_evict_cause cause);
} wc_ops;

/* Eviction policies. */
typedef enum wc_policy {
    /* Least recently used: a hit moves the entry to the front of the list;
     * eviction takes the back. Exact LRU order. */
    WC_POLICY_LRU = 0,
    /* SIEVE (Zhang et al., NSDI 2024): entries stay in insertion order; a
     * hit only sets the entry's "visited" bit. To evict, a hand moves from
     * the oldest entry towards newer ones, clearing visited bits, and evicts
     * the first entry it finds unvisited; the hand stays there for the next
     * eviction and wraps around. No extra bytes per entry (the bit is the
     * top bit of the 32-bit weight field, hence WC_WEIGHT_MAX). A cache with
     * no limit (max_entries and max_weight 0) evicts nothing, and its hits
     * set no bit (they read less of the entry): hits made while a cache
     * has no limit are not remembered once limits are set, so its first
     * evictions then take the oldest entries not hit since. Hits cost
     * about a bare hash lookup; the miss ratio is lower than LRU's on
     * skewed (Zipf) workloads, see docs/benchmarks.md. */
    WC_POLICY_SIEVE = 1
} wc_policy;

/* Largest weight an entry may have (for every policy). */
#define WC_WEIGHT_MAX 0x7FFFFFFFu

/* Lock hooks for thread-safe caches (see "Threads"). The lock must be
 * recursive: the thread that holds it may take it again (callbacks call back
 * into the cache). lock(ctx, 1) blocks until the lock is held and returns 1;
 * lock(ctx, 0) only tries: it returns 1 if it took the lock, 0 if another
 * thread holds it. unlock(ctx) releases one level. Hooks must not call into
 * any cache. */
typedef struct wc_lock {
    int (*lock)(void *ctx, int wait);
    void (*unlock)(void *ctx);
    void *ctx;
} wc_lock;

/* wc_config.flags */
#define WC_THREAD_SAFE 1u   /* every call takes the cache's lock: the lock
                               hooks if given, else a built-in recursive
                               mutex (pthreads) */
#define WC_RETAIN_SIMPLE 2u /* the caller promises that ops->retain_value
                               never calls into any cache (it only takes a
                               reference, say): a hit then calls it from the
                               fast path, without entering the cache, and
                               costs what a hit without retain_value does.
                               Without this flag a hit with retain_value
                               enters the cache first, so that the callback
                               may re-enter it. Ignored without retain_value. */

typedef struct wc_config {
    size_t size;          /* set by wc_config_init(): the struct size the
                             caller was compiled with (ABI versioning) */
    size_t max_entries;   /* 0: no bound on the number of entries */
    uint64_t max_weight;  /* 0: no bound on the total weight */
    const wc_ops *ops;    /* borrowed, copied at creation; NULL: all-NULL ops */
    void *ops_ctx;        /* passed to every ops callback */
    const wc_allocator *allocator; /* copied at creation; NULL: malloc/free */
    wc_policy policy;     /* WC_POLICY_LRU (0, default) or WC_POLICY_SIEVE */
    unsigned flags;       /* WC_THREAD_SAFE, WC_RETAIN_SIMPLE, or 0 */
    const wc_lock *lock;  /* copied at creation; non-NULL implies
                             WC_THREAD_SAFE with these hooks */
    /* Expiry (see "Expiry"): 0 = entries never expire. Ticks are whatever
     * `now` counts in (the library only adds and compares them). */
    uint64_t ttl;
    uint64_t (*now)(void *clock_ctx);  /* required when ttl != 0 */
    void *clock_ctx;
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
 * free then completes when the outermost call returns), except wc_take
 * (WC_EBUSY). The rules the library keeps:
 *  - Entries removed while an operation is running are unlinked at once but
 *    their memory, key and value are released only when the outermost call on
 *    that cache returns; so a key passed to `equal` stays valid for the whole
 *    call even if the callback removes its entry.
 *  - A lookup whose `equal` callback changed the cache (added or removed an
 *    entry) starts again; after WC_MAX_RESTARTS restarts it gives up with
 *    WC_ECHANGED. The failed call changed nothing; retrying is safe but will
 *    fail again if every `equal` call changes the cache. A memoizer should
 *    treat WC_ECHANGED from a get as a miss (compute the value) and may
 *    skip storing it.
 *  - Pointers obtained from the cache (a value from wc_get(), items from an
 *    iterator) are borrowed: any later call on the cache may free them (on a
 *    thread-safe cache, a call from any thread: take a reference with
 *    retain_value, or hold wc_cache_lock() while using them). */
#define WC_MAX_RESTARTS 64

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */
/* - A cache created with WC_THREAD_SAFE in wc_config.flags, or with lock
 *   hooks, may be called from any number of threads: every public call on it
 *   takes its recursive lock for the whole call, callbacks included (so a
 *   callback may call back into the cache from the same thread; a callback
 *   that waits for another thread that calls the same cache deadlocks).
 *   Thread-safety costs one uncontended lock/unlock per call, see
 *   docs/benchmarks.md.
 * - Any other cache must not be called by two threads at once.
 * - Owners: an owner may be used with several caches from several threads
 *   at once (its group list has its own lock, held only briefly, never while
 *   a callback runs or while waiting for a cache's lock).
 * - Lock order: a call holds its cache's lock and may take an owner's lock
 *   inside it. wc_owner_release and wc_owner_count take the owner's lock to
 *   pick a cache, then only *try* that cache's lock; when it is busy they drop
 *   the owner's lock, yield and start over, so they never wait on a cache
 *   while holding an owner. They therefore cannot deadlock with calls on
 *   caches, nor with each other; a cache cannot be freed under them (freeing
 *   it detaches it from every owner first, under the owner's lock).
 *   Callbacks that call into *other* thread-safe caches create lock orders of
 *   their own; avoid cycles between caches.
 * - wc_cache_free must not race with other calls on the same cache, and
 *   values handed out by a thread-safe cache are borrowed as above. */

/* Hold the cache's lock across several calls (e.g. an iteration, or using a
 * borrowed value); recursive, pair each wc_cache_lock with one
 * wc_cache_unlock on the same thread. No-op on a cache that is not
 * thread-safe. Returns WC_OK, or WC_EINVAL for NULL. */
WC_API int wc_cache_lock(struct wc_cache *cache);
WC_API int wc_cache_unlock(struct wc_cache *cache);

/* ------------------------------------------------------------------ */
/* Expiry                                                              */
/* ------------------------------------------------------------------ */
/* With wc_config.ttl != 0 every entry records a deadline, now() + ttl at
 * its insertion (8 bytes per entry; a cache without ttl has no deadline and
 * never calls the clock). Rules:
 *  - An entry whose deadline has passed (now >= deadline) is never served:
 *    wc_get counts a miss and drops it (cause WC_EVICT_EXPIRED); wc_peek
 *    reports WC_NOTFOUND and leaves it; iteration still shows it.
 *  - Time never goes backwards: the cache uses the highest value the clock
 *    has returned so far, so a clock that steps back cannot make an expired
 *    entry servable again.
 *  - The clock is called once per wc_get/wc_peek that finds an entry and
 *    once per wc_put (and by wc_cache_expire). It cannot fail; it runs with
 *    the cache's lock held and must not call into the cache.
 *  - Expired entries go before live ones: SIEVE caches keep entries in
 *    insertion order, which (one ttl for all, a clock that never goes back)
 *    is deadline order, so each put first drops every expired entry at the
 *    old end, exactly, in O(1) per dropped entry. LRU caches keep recency
 *    order: before each capacity or weight eviction, the put looks at the
 *    WC_EXPIRY_SCAN least recently used entries and evicts the first expired
 *    one among them instead of the least recently used live entry; an expired
 *    entry further up the list leaves when a get finds it, when it reaches
 *    that window, or with wc_cache_expire(). */
#define WC_EXPIRY_SCAN 4

/* ------------------------------------------------------------------ */
/* Caches                                                              */
/* ------------------------------------------------------------------ */

typedef struct wc_cache wc_cache;

/* Create a cache. `config` is borrowed (NULL: unbounded LRU, pointer keys,
 * no callbacks, malloc/free, not thread-safe). On success *out receives the
 * cache, which the caller owns and frees with wc_cache_free(). Errors:
 * WC_EINVAL (out NULL; config not prepared by wc_config_init(); an allocator
 * or lock hooks with a NULL member; an unknown policy or flag; ttl without
 * `now`; WC_THREAD_SAFE without lock hooks where the library has no built-in
 * mutex), WC_ENOMEM. */
WC_API int wc_cache_new(const wc_config *config, wc_cache **out);

/* Free the cache and all its entries (listener cause WC_EVICT_CLEARED), and
 * detach it from every owner. NULL is a no-op returning WC_OK. Called from
 * one of this cache's own callbacks, it takes every entry out at once and
 * the call that ran the callback finishes the job just before it returns
 * (a wc_put in progress then fails with WC_EBUSY, see there); either way the
 * caller must not use the cache afterwards. Returns WC_OK, or WC_EBUSY if
 * the cache is already being freed. */
WC_API int wc_cache_free(wc_cache *cache);

/* A lookup remembered for a following put (the one-lookup miss path):
 *
 *     wc_hint hint;
 *     rc = wc_lookup(c, owner, hash, key, &value, &hint);
 *     if (rc == WC_NOTFOUND) {
 *         value = compute(key);
 *         rc = wc_put_hint(c, &hint, stored_key, value, weight);
 *     }
 *
 * wc_put_hint inserts without a second lookup when the cache has had no
 * entry added or removed since the lookup (its version is unchanged); else
 * it does the full wc_put. Fields private; the struct is caller-allocated,
 * needs no initialisation and no cleanup, and holds no references. */
typedef struct wc_hint {
    struct wc_cache *wc__cache;
    void *wc__owner;
    uint64_t wc__hash;
    uint64_t wc__version;
    unsigned wc__found;
    unsigned wc__reserved1;
    void *wc__reserved[2];  /* room for later versions: sizeof is ABI */
} wc_hint;

/* Look up (owner, key). owner may be NULL (the unowned group); key is
 * borrowed. On a hit: *value_out receives the value (borrowed, see
 * retain_value), the entry counts as used (LRU: becomes the most recently
 * used; SIEVE: marked visited if the cache has a limit), returns WC_OK. On
 * a miss (an expired entry included, which is dropped): *value_out = NULL,
 * returns WC_NOTFOUND.
 * Errors: WC_EINVAL (cache or value_out NULL; a bytes cache), WC_ECALLBACK,
 * WC_ECHANGED, WC_EBUSY. Counts a hit or a miss in the stats (not on
 * errors). */
WC_API int wc_get(wc_cache *cache, wc_owner *owner, uint64_t hash,
                  const void *key, void **value_out);

/* wc_get that also fills *hint (borrowed, may be NULL) for wc_put_hint. */
WC_API int wc_lookup(wc_cache *cache, wc_owner *owner, uint64_t hash,
                     const void *key, void **value_out, wc_hint *hint);

/* Find (owner, key) without counting a hit or miss and without touching the
 * eviction order or visited bits (iterators stay valid). retain_value is
 * called on a found value as in wc_get. An expired entry is reported as
 * WC_NOTFOUND and left in place. Returns and errors as wc_get. */
WC_API int wc_peek(wc_cache *cache, wc_owner *owner, uint64_t hash,
                   const void *key, void **value_out);

/* Insert (owner, key) -> value with the given weight as the newest entry
 * (LRU: most recently used; SIEVE: unvisited, at the new end). key and value
 * are taken on success. If an equal (owner, key) entry exists it is
 * replaced: the old entry is evicted with cause WC_EVICT_REPLACED and the new
 * one takes its place. Then entries are evicted by the policy
 * (WC_EVICT_CAPACITY or WC_EVICT_WEIGHT; expired ones first, see "Expiry")
 * until the limits hold; the new entry itself is never evicted by its own
 * put. A cache whose max_weight is 0 still records weights.
 * Success:
 *  - WC_OK: key and value taken; the replaced entry's key and value (if any)
 *    are released as usual.
 *  - WC_KEPT_KEY / WC_KEPT_VALUE / WC_KEPT_BOTH: a "refresh": the replaced
 *    entry held the very same key and/or value pointer. The cache holds
 *    that pointer once, under the new entry, and does not release it (its
 *    on_evict still reports the replaced entry). So the call took nothing
 *    new for that pointer: a caller that hands over one reference per put
 *    (reference counting) drops the extra reference itself; a caller of
 *    plain malloc'ed objects has nothing to do.
 * Errors (key and value stay the caller's, never released by the cache):
 * WC_EINVAL (cache NULL, weight > WC_WEIGHT_MAX, a bytes cache, an
 * allocator block not aligned for a pointer), WC_ETOOBIG
 * (max_weight != 0 and weight > max_weight; an existing entry under this key
 * is left in place), WC_ENOMEM, WC_ECALLBACK, WC_ECHANGED, WC_EBUSY (the
 * cache is being freed, or a callback of this put freed the cache: from the
 * lookup's `equal`, before anything was linked, or from the release of the
 * entries the put replaced or evicted; in the latter case the new entry is
 * dropped unseen by the callbacks, and a pointer the put had "kept" is the
 * caller's too). */
WC_API int wc_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *key,
                  void *value, uint32_t weight);

/* wc_put of (the hint's owner and hash, key) after wc_lookup() reported a
 * miss into *hint (borrowed). `key` must be equal (ops->equal) to the key
 * that was looked up; it is the key that will be stored (taken). Skips the
 * lookup when the cache is unchanged since; returns and errors as wc_put,
 * plus WC_EINVAL if hint is NULL or was filled by another cache. */
WC_API int wc_put_hint(wc_cache *cache, const wc_hint *hint, void *key,
                       void *value, uint32_t weight);

/* Remove (owner, key) (cause WC_EVICT_REMOVED). Returns WC_OK if an entry was
 * removed, WC_NOTFOUND if there was none. Errors: WC_EINVAL (cache NULL, a
 * bytes cache), WC_ECALLBACK, WC_ECHANGED, WC_EBUSY. */
WC_API int wc_remove(wc_cache *cache, wc_owner *owner, uint64_t hash,
                     const void *key);

/* Remove (owner, key) and hand its key and value back instead of releasing
 * them: on WC_OK *key_out and *value_out (either may be NULL to not receive
 * it; then that pointer is the caller's all the same) become the caller's;
 * free_key/free_value are not called; on_evict sees the entry with cause
 * WC_EVICT_REMOVED before wc_take returns. WC_NOTFOUND if there is no such
 * entry (outputs set to NULL). Errors: WC_EINVAL, WC_ECALLBACK, WC_ECHANGED,
 * WC_EBUSY (also when called from one of this cache's callbacks: the key
 * might be one an outer `equal` is still reading). */
WC_API int wc_take(wc_cache *cache, wc_owner *owner, uint64_t hash,
                   const void *key, void **key_out, void **value_out);

/* Remove every entry (cause WC_EVICT_CLEARED). Stats counters are kept.
 * Returns WC_OK, WC_EINVAL for NULL, WC_EBUSY. */
WC_API int wc_clear(wc_cache *cache);

/* Remove every entry `owner` has in this cache (cause WC_EVICT_CLEARED);
 * owner NULL means the unowned entries. O(those entries) for an owner, a scan
 * for NULL. Returns WC_OK, WC_EINVAL if cache is NULL, WC_EBUSY. */
WC_API int wc_cache_clear_owner(wc_cache *cache, wc_owner *owner);

/* Change the bounds (0 = unbounded) and evict down to them at once: first
 * every entry heavier than the new max_weight, whatever its age (it could
 * never fit), then by the policy until both bounds hold. When both bounds
 * are exceeded the eviction is counted as WC_EVICT_CAPACITY.
 * Returns WC_OK, WC_EINVAL (NULL) or WC_EBUSY (cache being freed). */
WC_API int wc_cache_set_limits(wc_cache *cache, size_t max_entries,
                               uint64_t max_weight);

/* Drop every expired entry now (cause WC_EVICT_EXPIRED): O(expired entries)
 * for SIEVE, a scan of the cache for LRU. *dropped (may be NULL) receives
 * the number. A cache without ttl drops nothing. Returns WC_OK, WC_EINVAL,
 * WC_EBUSY. */
WC_API int wc_cache_expire(wc_cache *cache, size_t *dropped);

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
    /* Deprecated, always 0: how often the uthash index of the first
     * versions gave up growing. The index has no such rule; see longest_probe. */
    uint64_t noexpand;
    /* The longest probe run an insert has needed since the index was last
     * rebuilt (it changed size or slot width; a high-water mark, in
     * slots; 1 = found its home slot
     * free). With hashes that spread, it stays within a few dozen at any
     * size; a value in the hundreds or more means many distinct keys share
     * their 64-bit caller hash (a broken hash function), and lookups of
     * those keys walk that far. */
    uint64_t longest_probe;
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
/* Iteration: LRU most to least recently used; SIEVE newest to oldest  */
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

/* Start an iteration. Iterating does not touch the order or the stats.
 * Both pointers borrowed; it NULL is a no-op, cache NULL gives an iterator
 * whose wc_iter_next() returns WC_EINVAL. */
WC_API void wc_iter_init(wc_iter *it, wc_cache *cache);

/* Fetch the next item: returns 1 and fills *out, 0 at the end, WC_ECHANGED
 * if the cache changed (any put, remove, eviction, LRU hit; a SIEVE hit or
 * wc_peek does not count) since wc_iter_init() other than through
 * wc_iter_remove() on this iterator, or WC_EINVAL for NULL arguments. */
WC_API int wc_iter_next(wc_iter *it, wc_item *out);

/* Remove the item the last wc_iter_next() returned (cause WC_EVICT_REMOVED);
 * the iteration then goes on with the next item (unless the removal's
 * callbacks changed the cache: then wc_iter_next reports WC_ECHANGED).
 * Returns WC_OK; WC_EINVAL (NULL, or no current item: nothing fetched yet,
 * or already removed); WC_ECHANGED (the cache changed since that item was
 * fetched: it may be gone); WC_EBUSY. */
WC_API int wc_iter_remove(wc_iter *it);

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
 * wc_get/wc_lookup/wc_peek/wc_put/wc_put_hint/wc_remove/wc_take return
 * WC_EINVAL on a bytes cache (its keys have a private layout); wc_clear,
 * owners, stats, limits, expiry, locking and iteration work as usual (an
 * iterated key, like the key on_evict sees, is a const wc_bytes_key *).
 * The wc_bytes_* functions return WC_EINVAL on a cache not made by
 * wc_bytes_cache_new() or wc_bytes_cache_new_ex(). */

typedef struct wc_bytes_key {
    size_t len;
    const unsigned char *data;
} wc_bytes_key;

/* A 64-bit hash of `len` bytes at `data` (which may be NULL if len is 0),
 * good for hash tables; not cryptographic. Deterministic for a given seed. */
WC_API uint64_t wc_hash_bytes(const void *data, size_t len, uint64_t seed);

/* Create a bytes cache bounded to max_entries (0 = unbounded), LRU, not
 * thread-safe. free_value (may be NULL) releases values taken by
 * wc_bytes_put(). allocator may be NULL (malloc/free). Errors: WC_EINVAL
 * (out NULL, or an allocator with a NULL hook), WC_ENOMEM. */
WC_API int wc_bytes_cache_new(size_t max_entries, void (*free_value)(void *value),
                              const wc_allocator *allocator, wc_cache **out);

/* Create a bytes cache from a full config (borrowed): limits, policy, ttl,
 * threads, allocator, and ops whose free_value, retain_value and on_evict
 * receive ops_ctx (on_evict's key is a const wc_bytes_key *). ops->equal and
 * ops->free_key must be NULL (the layer supplies both). Errors: as
 * wc_cache_new, plus WC_EINVAL for a non-NULL equal or free_key. */
WC_API int wc_bytes_cache_new_ex(const wc_config *config, wc_cache **out);

/* wc_get for a bytes cache. key (len bytes; may be NULL when len is 0) is
 * borrowed. Returns WC_OK with *value_out set, WC_NOTFOUND, or errors as
 * wc_get (WC_EINVAL also for a cache that is not a bytes cache). */
WC_API int wc_bytes_get(wc_cache *cache, wc_owner *owner, const void *key,
                        size_t len, void **value_out);

/* wc_lookup for a bytes cache: also fills *hint (may be NULL). */
WC_API int wc_bytes_lookup(wc_cache *cache, wc_owner *owner, const void *key,
                           size_t len, void **value_out, wc_hint *hint);

/* wc_put for a bytes cache, weight 1. The key bytes are copied; value is
 * taken on success. Returns and errors as wc_put (WC_KEPT_VALUE when the
 * replaced entry held the same value pointer; a bytes key is always a new
 * copy). */
WC_API int wc_bytes_put(wc_cache *cache, wc_owner *owner, const void *key,
                        size_t len, void *value);

/* wc_put_hint for a bytes cache after wc_bytes_lookup(): copies the key once
 * and, when the cache is unchanged, neither hashes nor looks it up again.
 * key/len must be the bytes that were looked up. */
WC_API int wc_bytes_put_hint(wc_cache *cache, const wc_hint *hint,
                             const void *key, size_t len, void *value,
                             uint32_t weight);

/* wc_remove for a bytes cache: WC_OK, WC_NOTFOUND or errors as wc_remove. */
WC_API int wc_bytes_remove(wc_cache *cache, wc_owner *owner, const void *key,
                           size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WEAKCACHE_H */
