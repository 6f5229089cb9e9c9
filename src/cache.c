/*
 * cache.c - the cache: open-addressing index, LRU or SIEVE order, owner
 * groups, expiry, locking.
 *
 * DATA STRUCTURE
 * ==============
 * A cache is an index of entries plus two kinds of lists. Each entry is
 * identified by (owner, key):
 *
 *     wc_cache                       wc_owner (caller's storage)
 *     +-----------+                  +------------------------+
 *     | slots ----+--> index         | wc__first: group ------+--> entries of this
 *     | sentinel  |    (2^k slots)   |   cache, owner, list   |    owner in cache A
 *     | tail      |                  |   next ----------------+--> overflow group:
 *     | counters  |                  | lock (atomic byte)     |    cache B, list, ...
 *     +-----------+                  +------------------------+
 *
 *   index:      2^k slots, each an entry address with a 4-bit hash tag in
 *               its low bits, stored as a 4-byte offset from a base
 *               (8 bytes if an entry lies out of reach), linear probing,
 *               at most 3/4 full, no tombstones (see below).
 *   order list: sentinel <-> oldest <-> ... <-> newest (= cache->tail),
 *               through prev/next; the sentinel lives in the cache and is
 *               in no index slot.
 *               LRU: recency order (a hit moves the entry to the tail).
 *               SIEVE: insertion order (hits move nothing).
 *   owner list: each group has a circular list of its entries (olink); the
 *               group's own `entries` node is the list's sentinel.
 *
 * An entry is one allocation of 64 bytes (48 when unowned, no olink; 8 more
 * with a ttl, for the deadline at the end): the order links, key, value,
 * owner, the high half of its hash (hhi), a word with the weight (low 31
 * bits, hence WC_WEIGHT_MAX) and SIEVE's visited bit (top bit), and the
 * owner-list link. A hit reads 32 bytes (offsets 16-47, internal.h says
 * why there), LRU hits also the links; an unowned lookup of a cache with
 * no owned entry skips the owner, and a SIEVE cache without limits records
 * no visit, so a function cache's hit reads only the key and value
 * (offsets 16-31: one 16-byte run, in one cache line wherever a 16-aligned
 * block starts).
 *
 * The index is an open-addressing array, like CPython's dict and most
 * modern tables, rather than uthash's chains (which the core used until
 * issue 9): a lookup reads one dense array, where seven neighbours share
 * the slot's cache line, and then the one entry whose tag matches; a
 * chained table reads a bucket, then each entry of the chain. A slot is
 * the entry's address OR-ed with a tag: the low 4 bits of hhi, stored in
 * the address's low bits, which are zero because entries are 16-byte
 * aligned (index_retag drops to 3 or 2 bits, once, for an allocator that
 * gives less). A probe skips 15 of 16 foreign slots on the tag alone, and
 * an entry whose tag matches is checked on its owner, its key (identity
 * first, as CPython's dict does), its hhi, then `equal`.
 *
 * Slots are narrow, 4 bytes (the dict's own index width at 64k entries):
 * the slot value minus cache->base, where the base is chosen so that
 * every entry lies less than 4 GiB above it, as entries from one heap do
 * (pymalloc's arenas, malloc's heap). At 3/8 to 3/4 full that is 5-11
 * bytes an entry; against 8-byte slots, half the array a hit reads a slot
 * of, which at 64k entries stays in a 1 MiB L2 (0.24 fewer misses a hit
 * from L2 in bench/python/hits_cachesim.py; at 1M, 0.45 fewer from
 * memory). A first version with 16-byte slots {hash, entry} cost four
 * times that. The base is set by the first entry of an empty index; an
 * entry out of its reach makes the index wide (index_make_room: 8-byte
 * slots holding the value itself, WC__DEPTH_WIDE), and a wide index
 * becomes narrow again when it is rebuilt (grown or shrunk) with entries
 * that fit a window, or emptied (index_make_room, index_shrink). The fast
 * path has a copy for each width; a wide index's is one call further from
 * the public functions (the WC__DEPTH_WIDE bit sends them there).
 *
 * Slot i holds an entry whose home slot (hash >> shift: the top k bits,
 * the top of hhi) is i or before it in the same run of occupied slots, so
 * a lookup walks from the home slot to the first empty one. Removal
 * shifts back the entries after the gap whose run crossed it
 * (index_remove), so runs stay as short as if the removed entry had never
 * been there, and no slot is ever a tombstone. The index doubles
 * when a put would make it more than 3/4 full, and halves (in leave(), best
 * effort) when it is less than 1/8 full; both rehash from each entry's hhi.
 * An entry finds its own slot from hhi (its home) and its address:
 * unlinking needs no lookup.
 *
 * A hit therefore never touches owner groups: the lookup compares the
 * slot's tag, then the entry's owner and key; the hash is mixed with the
 * owner's address (mix_hash). Groups are resolved only where entries are
 * linked into or out of an owner: a put finds or creates the (owner, cache)
 * group by walking the owner's group list; an unlink sees from the entry's
 * olink neighbours whether the group's list became empty (both neighbours
 * are then the group's sentinel node, and container_of gives the group) and
 * frees the group without a walk of the cache. Owners are embedded by the
 * caller (no allocation); the first group is inside wc_owner, further
 * groups (the same owner in more caches) are allocated from the cache's
 * allocator and freed as soon as they are empty.
 *
 * SIEVE keeps a hand (cache->hand): the next eviction candidate, NULL meaning
 * the oldest entry. Eviction walks from the hand towards newer entries,
 * clearing visited bits, evicts the first unvisited entry and leaves the hand
 * on its newer neighbour (wrapping to the oldest at the end). Unlinking the
 * hand's entry moves the hand to its newer neighbour.
 *
 * Costs: get/put/remove walk one probe run (about 2.5 slots on average at
 * the highest load, wc_stats.longest_probe at worst; a removal also reads
 * the entries it shifts back); owner release and wc_cache_clear_owner walk
 * only that owner's list; LRU eviction takes sentinel.next, SIEVE eviction
 * clears at most one pass of visited bits.
 *
 * HIT PATH
 * ========
 * wc_get/wc_lookup/wc_peek (and the bytes layer's lookups) first try a fast
 * path (get_quick) that skips enter()/leave(): it applies when the cache has
 * no ttl (no clock call), no call in progress on it and a narrow index
 * (depth 0 but for WC__DEPTH_LIMITED, which also means not closing:
 * wc_cache_free with no call in progress never returns with the cache
 * alive); a wide index has its own copy, reached through get_locked. On
 * a cache that is not thread-safe one test of the flags and depth decides; a thread-safe cache takes its lock first and tests under
 * it. The fast path mixes the hash once, walks the probe run comparing the
 * slots' tags, then owner and key pointers, and on a hit sets the visited
 * bit (SIEVE) or relinks (LRU) and counts it; a miss is counted too. It
 * unlinks nothing, so there is nothing to drain, and it calls no user
 * callback itself:
 *  - an entry that needs the user's `equal` (keys not identical) hands over
 *    to the general path (enter, lookup with the restart rule, leave), which
 *    walks the probe run again from the start;
 *  - retain_value on a hit: the call is entered (depth 1) just before the
 *    callback and leaves through leave(), as rule 5 requires; unless the
 *    cache was made with WC_RETAIN_SIMPLE (the callback never calls into a
 *    cache), when the fast path calls it directly;
 *  - the bytes layer's `equal` is its own memcmp, which never re-enters: the
 *    fast path calls it directly.
 * The fast part is inlined into each public function and everything else is
 * out of line behind tail calls, so the common case has no register spills.
 * Instructions per hit: bench/c/callgrind.sh, docs/benchmarks.md.
 *
 * RE-ENTRANCY
 * ===========
 * Callbacks (ops->equal, free_key, free_value, retain_value, on_evict) may
 * call any API function on the same cache, wc_cache_free included, except
 * wc_take (WC_EBUSY). Rules:
 *
 * 1. The structure is consistent before every callback. Lookups call `equal`
 *    only between probe steps, with nothing half-linked.
 * 2. Releases are deferred. Removing an entry (entry_unlink) takes it out of
 *    the index, the order list and its group at once, updates the counters,
 *    and appends it to the cache's graveyard (linked through next;
 *    hhi records cause, size and which pointers to keep). Keys, values
 *    and entry memory are released only by the outermost API call on this
 *    cache, in leave(), after its own work is done; nested calls (made from
 *    callbacks) only append. So a key that `equal` is looking at stays valid
 *    even if the callback removes its entry, and free_* callbacks always see
 *    a consistent cache.
 * 3. Adding or removing an entry bumps cache->version. A lookup compares the
 *    version before and after each `equal` call; if it moved, the run it was
 *    walking may be gone (removals shift slots back, adds may double the
 *    index), so it starts again. The index shrinks only in the outermost
 *    leave(), when no lookup is in progress. After WC_MAX_RESTARTS it reports
 *    WC_ECHANGED. An LRU hit only relinks the order list, which lookups never
 *    walk, so it bumps cache->moves instead: a callback may hit the cache
 *    without making the lookup that called it start over. Iterators walk the
 *    order list and check both counters. A hint (wc_lookup) records the
 *    version; wc_put_hint skips its lookup only if it is unchanged.
 * 4. wc_put does everything that can fail (allocation, the lookup's
 *    callbacks) before it links anything; the group it needs is looked up
 *    only after the last callback has returned.
 * 5. wc_get hands the value to ops->retain_value before leave() runs any
 *    deferred release, so a reference-counted value survives a callback that
 *    clears the cache.
 * 6. wc_cache_free called from one of the cache's callbacks unlinks every
 *    entry and marks the cache closed; the outermost call, which is still
 *    running, releases the entries and then frees the cache in leave(), as
 *    its very last step (no API function touches the cache after leave()).
 *    Once closed, calls on the cache from callbacks get WC_EBUSY. A wc_put
 *    whose lookup saw the cache close fails with WC_EBUSY; a wc_put whose
 *    own entry is taken out by such a free while it drains (the replaced
 *    or evicted entries' callbacks freed the cache) holds that entry back
 *    to the end of the drain and frees only its memory: the put returns
 *    WC_EBUSY and its key and value are the caller's again.
 * 7. A put that replaces an entry holding the very same key or value
 *    pointer marks the replaced entry "keep key/value": its release skips
 *    free_key/free_value for that pointer (the new entry holds it), and the
 *    put reports WC_KEPT_*. wc_take marks both kept and hands them back.
 * 8. wc_owner_release works one group at a time: it takes the group's
 *    entries out of its cache, then lets that cache drain (callbacks may add
 *    or remove groups of the same owner, or free the owner's storage once it
 *    is empty) and starts over from the owner. It never reads the owner
 *    after a drain in which the owner became empty: every change of an
 *    owner's group set on this thread updates the thread-local release
 *    records of that owner (note_groups), so the release knows, without
 *    touching the owner, whether it still has groups.
 *
 * THREADS
 * =======
 * A thread-safe cache's lock is the caller's wc_lock hooks, or the built-in
 * recursive lock: a default pthread mutex, the holder's identity (the
 * address of a thread-local byte, atomic, read by waiters) and a recursion
 * count that only the holder touches (mutex_lock/mutex_unlock), called
 * directly rather than through hooks.
 * Lock order, outermost first: cache lock (recursive, held for a whole API
 * call, callbacks included, on thread-safe caches only), then owner lock
 * (a spin lock on the atomic byte in wc_owner, held only around reads and
 * edits of the owner's group list, never across a callback or a wait).
 * Each group's entry list belongs to its cache: it is edited only under
 * that cache's lock. wc_owner_release and wc_owner_count need the reverse
 * order (owner first, to pick a cache): under the owner lock they only try
 * the cache's lock; if it is busy they drop the owner lock, yield, and
 * start over. While the owner lock is held, every cache named by one of its
 * groups is alive (freeing a cache detaches its groups, each under the
 * owner lock), so the try is safe; once the cache lock is held, that
 * cache's group cannot go away (only calls on the cache remove it), so the
 * owner lock can be dropped before the entries are unlinked.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L   /* pthread mutexes, sched_yield */
#endif
#include "internal.h"
#include "debug.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#ifdef WC_HAVE_PTHREADS
#include <sched.h>
#endif

_Static_assert(offsetof(wc__entry, key) == 2 * sizeof(void *) &&
               offsetof(wc__entry, bits) + sizeof(uint32_t) <= 48,
               "the fields a hit reads are one run at offsets 16-47 (internal.h)");
_Static_assert(sizeof(atomic_uchar) == 1 && ATOMIC_CHAR_LOCK_FREE == 2,
               "wc_owner's lock byte must be a lock-free atomic byte");

#if defined(_MSC_VER) && !defined(__clang__)
#define WC__TLS __declspec(thread)
#else
#define WC__TLS _Thread_local
#endif

/* Inlining of the hit path (HIT PATH above): the fast part goes into each
 * public lookup function, the general part stays out of line, so that the
 * common case has no register spills for code it does not run. */
#if defined(__GNUC__) || defined(__clang__)
#define WC__ALWAYS_INLINE inline __attribute__((always_inline))
#define WC__NOINLINE __attribute__((noinline))
#define WC__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WC__ALWAYS_INLINE inline
#define WC__NOINLINE
#define WC__UNLIKELY(x) (x)
#endif

/* hhi of a graveyard entry: cause in the low byte, then flags */
#define GRAVE_OWNED 0x100u      /* the block has an olink */
#define GRAVE_KEEP_KEY 0x200u   /* do not release the key (rule 7) */
#define GRAVE_KEEP_VALUE 0x400u /* do not release the value (rule 7) */

#define VISITED 0x80000000u     /* bits: SIEVE's visited bit */
#define WEIGHT(e) ((e)->bits & WC_WEIGHT_MAX)

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static WC__TLS int tls_callback_error;

static size_t entry_size(const wc_cache *cache, int owned)
{
    return (owned ? WC__OWNED_SIZE : WC__UNOWNED_SIZE) +
           ((cache->flags & WC__F_TTL) ? sizeof(uint64_t) : 0);
}

/* The deadline of an entry of a ttl cache: the last 8 bytes. They are
 * 8-aligned only where pointers are 8 bytes, hence memcpy (one load or
 * store once compiled). */
static void *entry_deadline(wc__entry *e)
{
    return (char *)e + (e->owner != NULL ? WC__OWNED_SIZE : WC__UNOWNED_SIZE);
}

static uint64_t deadline_get(wc__entry *e)
{
    uint64_t d;
    memcpy(&d, entry_deadline(e), sizeof d);
    return d;
}

static void deadline_set(wc__entry *e, uint64_t d)
{
    memcpy(entry_deadline(e), &d, sizeof d);
}

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/* The 64-bit hash of (owner, key) that the index stores. Each input goes
 * through its own bijection before they are combined, so that the
 * combination cannot cancel: XOR-ing raw inputs (h ^ addr) makes distinct
 * pairs collide exactly whenever h1 ^ h2 == a1 ^ a2, which small ints and
 * aligned addresses do all the time (issue 9: with uthash such pairs froze
 * the table; with open addressing they would pile up in one probe run).
 *  - the key hash and the owner address are each multiplied by an odd
 *    constant (a bijection on 64 bits: distinct inputs stay distinct), with
 *    different constants, and XOR-ed: a collision now needs two unrelated
 *    products to differ by exactly the XOR of two others (chance about
 *    2^-60 per pair; unowned entries use address 0);
 *  - x ^ x >> 32 folds the high half, which the products fill from every
 *    input bit, into the low half, and a last multiply (Fibonacci hashing)
 *    spreads it upwards: the index takes its home slot from the top bits,
 *    which depend on every input bit.
 * Three multiplies, two of them independent: about ten instructions on a
 * hit (the hit path computes it once; the general path reuses it). tests/c/
 * test_hash.c checks the structured inputs this has to survive (small ints,
 * negative ints, integral floats, address hashes, many owners). */
static inline uint64_t mix_hash(uint64_t h, const void *owner)
{
    uint64_t x = h * 0x94D049BB133111EBull ^
                 (uint64_t)(uintptr_t)owner * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return x * 0x9E3779B97F4A7C15ull;
}

/* ------------------------------------------------------------------ */
/* The index                                                           */
/* ------------------------------------------------------------------ */

#define INDEX_MIN_BITS 3u   /* 8 slots */
/* Home slots come from the hash's high half (hhi): at most 2^32 slots; and
 * the slot array's size in bytes must fit in a size_t (where size_t has 32
 * bits, 2^27 slots of 4 bytes: 512 MiB). */
#define INDEX_MAX_BITS (SIZE_MAX > 0xFFFFFFFFu ? 32u : 27u)

static inline size_t home_slot(const wc_cache *cache, uint64_t hash)
{
    return (size_t)(hash >> cache->shift);
}

/* The entry's home slot, from the high half of its hash kept in the entry
 * (shift >= 32, so the low half never matters). */
static inline size_t entry_home(const wc_cache *cache, const wc__entry *e)
{
    return (size_t)((uint64_t)e->hhi << 32 >> cache->shift);
}

/* Narrow and wide slots ("The index" above). A narrow slot stores the
 * decoded slot (entry address | tag) minus cache->base, in 32 bits: it
 * fits if the entry lies above the base by less than 4 GiB, less 16 bytes
 * (the tag may add up to 15), and not at the base itself (0 is empty). The
 * arithmetic is modulo 2^N, so a base "below zero" is as good as another. */
#define NARROW_SPAN ((uintptr_t)0xFFFFFFF0u)   /* largest offset that fits */
#define NARROW_HALF ((uintptr_t)0x80000000u)   /* 2 GiB */

static inline int index_wide(const wc_cache *cache)
{
    return (cache->depth & WC__DEPTH_WIDE) != 0;
}

static size_t slot_bytes(int wide) { return wide ? sizeof(wc__slot) : sizeof(wc__nslot); }

static size_t index_bytes(int wide, size_t slots) { return slots * slot_bytes(wide); }

static inline int narrow_fits(uintptr_t base, const void *e)
{
    uintptr_t off = (uintptr_t)e - base;
    return off != 0 && off <= NARROW_SPAN;
}

/* The base that puts e in the middle of the narrow window (16-aligned, so
 * that offsets keep the entries' alignment and their tag bits free). */
static uintptr_t narrow_base(uintptr_t mid)
{
    return (mid - NARROW_HALF) & ~(uintptr_t)15;
}

static inline wc__slot slot_decode(const void *slots, size_t i, int wide,
                                   uintptr_t base)
{
    wc__nslot s;
    if (wide)
        return ((const wc__slot *)slots)[i];
    s = ((const wc__nslot *)slots)[i];
    return s != 0 ? base + s : 0;
}

static inline wc__slot slot_get(const wc_cache *cache, size_t i)
{
    return slot_decode(cache->slots, i, index_wide(cache), cache->base);
}

/* v: a decoded slot, or 0; narrow: its entry fits (narrow_fits). */
static inline void slot_set(wc_cache *cache, size_t i, wc__slot v)
{
    if (index_wide(cache))
        ((wc__slot *)cache->slots)[i] = v;
    else
        ((wc__nslot *)cache->slots)[i] = v != 0 ? (wc__nslot)(v - cache->base) : 0;
}

/* Tags: the low bits of the hash's high half (hhi), so that they can be
 * computed again from the entry when the index is rebuilt; the home slot
 * uses the top bits, which are independent of these below 2^28 slots. */
static inline uintptr_t hash_tag(const wc_cache *cache, uint64_t hash)
{
    return (uintptr_t)(hash >> 32) & cache->tag_mask;
}

static inline wc__entry *slot_entry(const wc_cache *cache, wc__slot s)
{
    return (wc__entry *)(s & ~cache->tag_mask);
}

/* Put e in the first free slot from its home; records the probe length.
 * The caller made sure there is room (load <= 3/4) and, for a narrow
 * index, that e fits. */
static void index_insert(wc_cache *cache, wc__entry *e)
{
    size_t i = entry_home(cache, e);
    unsigned probe = 1;
    while (slot_get(cache, i) != 0) {
        i = (i + 1) & cache->mask;
        probe++;
    }
    slot_set(cache, i, (uintptr_t)e | ((uintptr_t)e->hhi & cache->tag_mask));
    if (index_wide(cache) && !narrow_fits(cache->base, e))
        cache->far++;
    if (probe > cache->longest_probe)
        cache->longest_probe = probe;
}

static unsigned index_bits(const wc_cache *cache) { return 64u - cache->shift; }

/* A narrow window for every entry of the index and `extra` (NULL: none):
 * the current base if it holds them all, else one centred on their span.
 * Returns 1 with *base_out set to it, or 0 (and the current base) if they
 * span more than a window.
 * O(slots), so called only where the index is rebuilt anyway. */
static int index_window(const wc_cache *cache, const wc__entry *extra,
                        uintptr_t *base_out)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0, base;
    int fit = 1;
    size_t i;
    if (!index_wide(cache) && (extra == NULL || narrow_fits(cache->base, extra))) {
        *base_out = cache->base;   /* narrow: its entries fit by construction */
        return 1;
    }
    for (i = 0; i <= cache->mask + 1; i++) {   /* the slots, then extra */
        const wc__entry *e = i <= cache->mask ? slot_entry(cache, slot_get(cache, i)) : extra;
        if (e == NULL)
            continue;
        lo = (uintptr_t)e < lo ? (uintptr_t)e : lo;
        hi = (uintptr_t)e > hi ? (uintptr_t)e : hi;
        fit = fit && narrow_fits(cache->base, e);
    }
    if (fit) {   /* nothing, or all within the current window */
        *base_out = cache->base;
        return 1;
    }
    /* every address between lo and hi fits if both do */
    base = narrow_base(lo + (hi - lo) / 2);
    if (!narrow_fits(base, (const void *)lo) || !narrow_fits(base, (const void *)hi)) {
        *base_out = cache->base;   /* a wide index keeps its window */
        return 0;
    }
    *base_out = base;
    return 1;
}

/* Move every entry into a new array of 2^bits slots (reading each entry's
 * hhi: slots keep only a tag), narrow with this base or wide. Fails
 * (WC_ENOMEM, nothing changed) only if the allocation does. The caller
 * bumps the version if a lookup may be in progress (rule 3). */
static int index_rebuild(wc_cache *cache, unsigned bits, int wide, uintptr_t base)
{
    size_t n = (size_t)1 << bits, old_n, i;
    void *old = cache->slots;
    int old_wide = index_wide(cache);
    uintptr_t old_base = cache->base;
    void *slots;

    old_n = old != NULL ? cache->mask + 1 : 0;
    slots = wc__malloc(cache, index_bytes(wide, n));
    if (slots == NULL)
        return WC_ENOMEM;
    memset(slots, 0, index_bytes(wide, n));
    cache->slots = slots;
    cache->base = base;
    if (wide)
        cache->depth |= WC__DEPTH_WIDE;
    else
        cache->depth &= ~WC__DEPTH_WIDE;
    cache->mask = n - 1;
    cache->shift = 64u - bits;
    cache->longest_probe = 0;
    cache->shrink_failed = 0;
    cache->far = 0;   /* counted again by index_insert */
    cache->rebuilt_puts = 0;
    for (i = 0; i < old_n; i++) {
        wc__slot v = slot_decode(old, i, old_wide, old_base);
        if (v != 0)
            index_insert(cache, slot_entry(cache, v));
    }
    if (old != NULL)
        wc__free(cache, old, index_bytes(old_wide, old_n));
    return WC_OK;
}

/* A new entry's address must leave the tag bits free. Entries need the
 * alignment of a pointer, which gives at least 2 (32-bit) or 3 bits; the
 * cache starts with 4 (16-byte alignment, what malloc and pymalloc give on
 * 64-bit systems) and drops to what the allocator really gives the first
 * time a block comes back less aligned, retagging every slot in place
 * (O(slots), once). A block not even aligned for the entry is refused
 * (WC_EINVAL: the allocator hook breaks its contract). */
static int index_retag(wc_cache *cache, const wc__entry *e)
{
    uintptr_t old_mask = cache->tag_mask, mask = old_mask;
    size_t i;
    if (((uintptr_t)e & old_mask) == 0)
        return WC_OK;
    if (((uintptr_t)e & (_Alignof(wc__entry) - 1)) != 0)
        return WC_EINVAL;
    while (((uintptr_t)e & mask) != 0)
        mask >>= 1;
    cache->tag_mask = mask;
    for (i = 0; i <= cache->mask; i++) {
        wc__slot v = slot_get(cache, i);
        if (v != 0) {
            wc__entry *x = (wc__entry *)(v & ~old_mask);
            slot_set(cache, i, (uintptr_t)x | ((uintptr_t)x->hhi & mask));
        }
    }
    /* Every slot changed: a lookup that called this put from `equal` holds
     * a tag of the old width and must start over (rule 3), even if this
     * put then fails and adds nothing. */
    cache->version++;
    return WC_OK;
}

/* Make the index ready to take e, a put's new entry, after the put's
 * lookup (whose callbacks may have resized the index) and with no callback
 * until e is linked: a tag that fits e's address (index_retag), a free
 * slot, and a slot width that holds e. One rebuild at most does both:
 *  - growth: the index doubles when the put would make it more than 3/4
 *    full; a put that replaces an entry (`replacing`) holds both for a
 *    moment and then has as many as before, so it only needs a free slot
 *    and never grows the index (nor fails for want of memory to do so);
 *  - width: e outside a narrow index's window moves the window (an empty
 *    index: nothing to re-encode), re-centres it on the entries and e, or
 *    makes the index wide; an empty wide index becomes narrow again (best
 *    effort: a failed allocation leaves it wide).
 * A rebuild bumps the version, so that a lookup that called this put from
 * `equal` starts over on the new array (rule 3). WC_EINVAL (misaligned block) or WC_ENOMEM (the new array, or 2^32
 * slots already): the index is as it was, but for a retag. */
static int index_make_room(wc_cache *cache, const wc__entry *e, int replacing)
{
    size_t n = cache->mask + 1;
    unsigned bits = index_bits(cache);
    int grow, wide = index_wide(cache), r;
    uintptr_t base = cache->base;

    r = index_retag(cache, e);
    if (r != WC_OK)
        return r;
    grow = !(cache->size + 1 <= n - n / 4 || (replacing && cache->size + 1 < n));
    if (grow && bits >= INDEX_MAX_BITS)
        return WC_ENOMEM;   /* 2^32 slots: the index cannot grow further */
    if (!grow && !wide) {
        if (narrow_fits(base, e))
            return WC_OK;   /* the common case */
        if (cache->size == 0) {   /* no slot to re-encode: move the window */
            cache->base = narrow_base((uintptr_t)e);
            return WC_OK;
        }
    } else if (!grow) {   /* wide: stays so until the next rebuild, unless empty */
        if (cache->size == 0 &&
            index_rebuild(cache, bits, 0, narrow_base((uintptr_t)e)) == WC_OK)
            cache->version++;
        return WC_OK;   /* (a failed narrowing leaves it wide) */
    }
    wide = !index_window(cache, e, &base);
    r = index_rebuild(cache, grow ? bits + 1 : bits, wide, base);
    if (r != WC_OK)
        return r;
    cache->version++;
    return WC_OK;
}

/* After removals: when the index is less than 1/8 full, halve it until
 * its load is at least 1/8 (it is then below 1/4, so growing again takes
 * as many puts as there are entries). Best effort: if the allocation
 * fails the index stays as it is, and no shrink is tried again until the
 * index next changes size (so that calls under memory pressure do not
 * each try the allocator). A wide index whose entries now fit a window
 * becomes narrow. Runs in the outermost leave(): no lookup in progress. */
static void index_shrink(wc_cache *cache)
{
    unsigned bits = index_bits(cache);
    uintptr_t base = cache->base;
    int wide;
    if (cache->size >= ((cache->mask + 1) >> 3) || bits <= INDEX_MIN_BITS ||
        cache->shrink_failed)
        return;
    while (bits > INDEX_MIN_BITS && cache->size < (((size_t)1 << bits) >> 3))
        bits--;
    wide = !index_window(cache, NULL, &base);
    if (index_rebuild(cache, bits, wide, base) != WC_OK)
        cache->shrink_failed = 1;
}

/* Take e out of the index: find its slot from its home, then close the
 * gap by moving back the entries after it whose probe run crossed it
 * (backward-shift deletion: no tombstones, runs stay as short as if the
 * entry had never been there). */
static void index_remove(wc_cache *cache, const wc__entry *e)
{
    size_t mask = cache->mask;
    size_t i = entry_home(cache, e), j;
    wc__slot v;
    while (slot_entry(cache, slot_get(cache, i)) != e)
        i = (i + 1) & mask;
    for (j = (i + 1) & mask; (v = slot_get(cache, j)) != 0; j = (j + 1) & mask) {
        size_t home = entry_home(cache, slot_entry(cache, v));
        /* slot j may move to the gap at i if its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            slot_set(cache, i, v);
            i = j;
        }
    }
    slot_set(cache, i, 0);
    if (index_wide(cache) && !narrow_fits(cache->base, e))
        cache->far--;
}

/* A wide index whose entries fit one window again becomes narrow, at the
 * same size (best effort, like index_shrink, and from the same place: the
 * outermost leave(), no lookup in progress). So a bounded cache, which
 * never resizes once full, narrows once the entries that did not fit have
 * been evicted (a thread-safe cache that got puts from a thread whose
 * malloc arena lies far away, say), whichever side of the window they
 * were on: with none out of its window (far == 0) at its own base, else
 * at one centred on the entries, if they fit one (index_window). Not
 * before as many puts as the index has slots since it last changed, and
 * a look that finds no window waits as long again: a cache whose far
 * entries come and go would otherwise pay O(slots) each time (two size
 * classes of a sanitizer's allocator lie 64 GiB apart), where this way the
 * rebuilds and scans cost O(1) a put. */
static void index_narrow(wc_cache *cache)
{
    uintptr_t base = cache->base;
    if (!index_wide(cache) || cache->shrink_failed || cache->rebuilt_puts <= cache->mask)
        return;
    if (cache->far != 0 && !index_window(cache, NULL, &base)) {
        cache->rebuilt_puts = 0;   /* look again after as many puts */
        return;
    }
    if (index_rebuild(cache, index_bits(cache), 0, base) != WC_OK)
        cache->shrink_failed = 1;
}

/* ------------------------------------------------------------------ */
/* Locks                                                               */
/* ------------------------------------------------------------------ */

static atomic_uchar *owner_lock_byte(const wc_owner *owner)
{
    return (atomic_uchar *)(void *)&((wc_owner *)(uintptr_t)owner)->wc__lock;
}

static void yield_cpu(void)
{
#ifdef WC_HAVE_PTHREADS
    sched_yield();
#endif
}

static void owner_lock(const wc_owner *owner)
{
    atomic_uchar *b = owner_lock_byte(owner);
    while (atomic_exchange_explicit(b, 1, memory_order_acquire) != 0) {
        while (atomic_load_explicit(b, memory_order_relaxed) != 0)
            yield_cpu();
    }
}

static void owner_unlock(const wc_owner *owner)
{
    atomic_store_explicit(owner_lock_byte(owner), 0, memory_order_release);
}

#ifdef WC_HAVE_PTHREADS
/* The built-in recursive lock (WC_THREAD_SAFE without hooks): a default
 * pthread mutex plus the holder's identity and recursion count, cheaper
 * than a PTHREAD_MUTEX_RECURSIVE one. A thread is identified by the address
 * of its own thread-local byte. The holder is atomic because other threads
 * read it while they wait; it equals a thread's tag only while that thread
 * holds the mutex (it stores it after locking and clears it before
 * unlocking, and a thread always sees its own last store), so the relaxed
 * load can only answer "it is me" to the holder. mutex_count is only ever
 * touched by the holder. */
static WC__TLS char tls_thread_tag;

static int mutex_lock(wc_cache *cache, int wait)
{
    uintptr_t self = (uintptr_t)(void *)&tls_thread_tag;
    if (atomic_load_explicit(&cache->mutex_holder, memory_order_relaxed) == self) {
        cache->mutex_count++;
        return 1;
    }
    if (wait ? pthread_mutex_lock(&cache->mutex) != 0
             : pthread_mutex_trylock(&cache->mutex) != 0)
        return 0;
    atomic_store_explicit(&cache->mutex_holder, self, memory_order_relaxed);
    cache->mutex_count = 1;
    return 1;
}

static void mutex_unlock(wc_cache *cache)
{
    if (--cache->mutex_count == 0) {
        atomic_store_explicit(&cache->mutex_holder, 0, memory_order_relaxed);
        pthread_mutex_unlock(&cache->mutex);
    }
}
#endif

/* Lock hooks are called only for WC__F_HOOKS caches; the built-in lock is
 * called directly (no indirection on the hit path). */
static void cache_lock(wc_cache *cache)
{
    if (cache->flags & WC__F_LOCKED) {
#ifdef WC_HAVE_PTHREADS
        if (!(cache->flags & WC__F_HOOKS)) {
            (void)mutex_lock(cache, 1);
            return;
        }
#endif
        (void)cache->lock.lock(cache->lock.ctx, 1);
    }
}

static int cache_trylock(wc_cache *cache)
{
    if (cache->flags & WC__F_LOCKED) {
#ifdef WC_HAVE_PTHREADS
        if (!(cache->flags & WC__F_HOOKS))
            return mutex_lock(cache, 0);
#endif
        return cache->lock.lock(cache->lock.ctx, 0);
    }
    return 1;
}

static void cache_unlock(wc_cache *cache)
{
    if (cache->flags & WC__F_LOCKED) {
#ifdef WC_HAVE_PTHREADS
        if (!(cache->flags & WC__F_HOOKS)) {
            mutex_unlock(cache);
            return;
        }
#endif
        cache->lock.unlock(cache->lock.ctx);
    }
}

int wc_cache_lock(wc_cache *cache)
{
    if (cache == NULL)
        return WC_EINVAL;
    cache_lock(cache);
    return WC_OK;
}

int wc_cache_unlock(wc_cache *cache)
{
    if (cache == NULL)
        return WC_EINVAL;
    cache_unlock(cache);
    return WC_OK;
}

int wc_callback_error(void)
{
    return tls_callback_error;
}

/* ------------------------------------------------------------------ */
/* Owner groups                                                        */
/* ------------------------------------------------------------------ */

static void link_init(struct wc__link *l) { l->next = l->prev = l; }

void wc_owner_init(wc_owner *owner)
{
    if (owner == NULL)
        return;
    memset(owner, 0, sizeof *owner);
    owner->wc__first.cache = NULL;
    owner->wc__first.owner = owner;
    owner->wc__first.next = NULL;
    link_init(&owner->wc__first.entries);
}

/* Rule 8: the releases running on this thread, innermost first. */
typedef struct release_rec {
    const wc_owner *owner;
    int has_groups;          /* the owner has at least one group */
    struct release_rec *up;
} release_rec;

static WC__TLS release_rec *tls_releases;

/* Owner lock held. */
static int owner_has_groups(const wc_owner *owner)
{
    const wc__group *g;
    for (g = &owner->wc__first; g != NULL; g = g->next)
        if (g->cache != NULL)
            return 1;
    return 0;
}

/* Owner lock held; the owner's group set just changed. */
static void note_groups(const wc_owner *owner)
{
    release_rec *r;
    for (r = tls_releases; r != NULL; r = r->up)
        if (r->owner == owner)
            r->has_groups = owner_has_groups(owner);
}

/* Owner lock held. */
static wc__group *group_find(wc_owner *owner, const wc_cache *cache)
{
    wc__group *g;
    for (g = &owner->wc__first; g != NULL; g = g->next)
        if (g->cache == cache)
            return g;
    return NULL;
}

/* A group for (owner, cache), found or created; NULL on OOM. Takes the
 * owner lock; the caller holds the cache (its lock, or it is the only
 * thread using it). */
static wc__group *group_get(wc_owner *owner, wc_cache *cache)
{
    wc__group *g, *fresh = NULL;
    owner_lock(owner);
    g = group_find(owner, cache);
    if (g == NULL && owner->wc__first.cache == NULL) {
        g = &owner->wc__first;
    } else if (g == NULL) {
        owner_unlock(owner);   /* the allocator hook is not called under it */
        fresh = wc__malloc(cache, sizeof *fresh);
        if (fresh == NULL)
            return NULL;
        owner_lock(owner);
        /* only calls on `cache` add its group, and we hold the cache; but
         * the inline first group may have been freed meanwhile */
        if (owner->wc__first.cache == NULL) {
            g = &owner->wc__first;
        } else {
            g = fresh;
            fresh = NULL;
            g->cache = NULL;
            g->owner = owner;
            g->next = owner->wc__first.next;
            owner->wc__first.next = g;
        }
    }
    if (g->cache == NULL) {
        g->cache = cache;
        link_init(&g->entries);
        note_groups(owner);
    }
    owner_unlock(owner);
    if (fresh != NULL)
        wc__free(cache, fresh, sizeof *fresh);
    return g;
}

/* A group's list has become empty: detach it from its owner. */
static void group_release(wc_cache *cache, wc__group *g)
{
    wc_owner *owner = g->owner;
    wc__group *prev = &owner->wc__first;
    owner_lock(owner);
    g->cache = NULL;
    if (g != prev) {
        while (prev->next != g)
            prev = prev->next;
        prev->next = g->next;
    }
    note_groups(owner);
    owner_unlock(owner);
    if (g != &owner->wc__first)
        wc__free(cache, g, sizeof *g);
}

/* ------------------------------------------------------------------ */
/* Entering, leaving, deferred release                                 */
/* ------------------------------------------------------------------ */

/* Start an API call: take the lock, refuse a closing cache. */
static int enter(wc_cache *cache)
{
    cache_lock(cache);
    if (cache->closing) {
        cache_unlock(cache);
        return WC_EBUSY;
    }
    cache->depth++;
    return WC_OK;
}

static void cache_destroy(wc_cache *cache);

/* Take an entry out of every structure; release it later (rule 2). */
static void entry_unlink(wc_cache *cache, wc__entry *e, wc_evict_cause cause,
                         unsigned keep)
{
    unsigned owned = 0;

    if (cache->hand == e)
        cache->hand = e->next;
    index_remove(cache, e);
    e->prev->next = e->next;   /* prev is never NULL: the sentinel is first */
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        cache->tail = e->prev;
    if (e->owner != NULL) {
        struct wc__link *prev = e->olink.prev, *next = e->olink.next;
        owned = GRAVE_OWNED;
        cache->owned--;
        prev->next = next;
        next->prev = prev;
        if (prev == next)   /* only the group's own node is left */
            group_release(cache, container_of(next, wc__group, entries));
    }
    cache->size--;
    cache->weight -= WEIGHT(e);
    cache->evictions[cause]++;
    cache->version++;

    e->owner = NULL;
    e->hhi = (unsigned)cause | owned | keep;
    e->next = NULL;
    if (cache->grave_tail != NULL)
        cache->grave_tail->next = e;
    else
        cache->grave_head = e;
    cache->grave_tail = e;
}

static size_t grave_size(const wc_cache *cache, const wc__entry *e)
{
    return entry_size(cache, (e->hhi & GRAVE_OWNED) != 0);
}

/* Release one graveyard entry: listener, then key, value, memory. */
static void entry_release(wc_cache *cache, wc__entry *e)
{
    unsigned flags = e->hhi;
    wc_evict_cause cause = (wc_evict_cause)(flags & 0xffu);
    void *key = e->key;
    void *value = e->value;
    uint32_t weight = WEIGHT(e);

    wc__free(cache, e, grave_size(cache, e));
    if (cache->ops.on_evict != NULL)
        cache->ops.on_evict(cache->ctx, key, value, weight, cause);
    if (!(flags & GRAVE_KEEP_KEY)) {
        if (cache->flags & WC__F_BYTES) {
            const wc_bytes_key *k = key;
            wc__free(cache, key, sizeof *k + k->len);
        } else if (cache->ops.free_key != NULL) {
            cache->ops.free_key(cache->ctx, key);
        }
    }
    if (!(flags & GRAVE_KEEP_VALUE) && cache->ops.free_value != NULL)
        cache->ops.free_value(cache->ctx, value);
}

/* Drain the graveyard (depth stays 1 meanwhile, so that calls made by the
 * callbacks only append to it). `mine`, the entry of the put being
 * finished, is held back to the end (rule 6): returns 1 if the cache is
 * then being freed, in which case only its memory was freed. */
static int drain(wc_cache *cache, wc__entry *mine)
{
    wc__entry *held = NULL;
    for (;;) {
        while (cache->grave_head != NULL) {
            wc__entry *e = cache->grave_head;
            cache->grave_head = e->next;
            if (cache->grave_head == NULL)
                cache->grave_tail = NULL;
            if (e == mine)
                held = e;
            else
                entry_release(cache, e);
        }
        if (held == NULL)
            return 0;
        if (cache->free_pending) {
            wc__free(cache, held, grave_size(cache, held));
            return 1;
        }
        entry_release(cache, held);   /* evicted for good: released as usual */
        held = NULL;
        mine = NULL;
    }
}

/* Leave an API call. The outermost one drains the graveyard, and frees the
 * cache if wc_cache_free was called from a callback (rule 6). Returns what
 * drain() says about `mine`. */
static int leave_ex(wc_cache *cache, wc__entry *mine)
{
    int dropped = 0;
    if (WC__DEPTH_CALLS(cache) > 1) {
        cache->depth--;
        cache_unlock(cache);
        return 0;
    }
    if (cache->grave_head != NULL)
        dropped = drain(cache, mine);
    cache->depth &= WC__DEPTH_STATE;   /* no call in progress */
    if (cache->free_pending) {
        cache_destroy(cache);   /* unlocks; the cache is gone */
    } else {
        index_shrink(cache);
        index_narrow(cache);
        cache_unlock(cache);
    }
    return dropped;
}

static void leave(wc_cache *cache) { (void)leave_ex(cache, NULL); }

/* ------------------------------------------------------------------ */
/* Lookup, order, expiry                                               */
/* ------------------------------------------------------------------ */

/* Find (owner, key) with hash (mixed). Returns 1 with *found set, 0 if
 * absent, or an error. May call ops->equal; see rule 3. */
static int lookup(wc_cache *cache, const wc_owner *owner, uint64_t hash,
                  const void *key, wc__entry **found)
{
    unsigned restarts;
    for (restarts = 0; restarts <= WC_MAX_RESTARTS; restarts++) {
        size_t i = home_slot(cache, hash);
        uintptr_t tag = hash_tag(cache, hash);
        int changed = 0;
        wc__slot s;
        for (; (s = slot_get(cache, i)) != 0; i = (i + 1) & cache->mask) {
            wc__entry *e;
            uint64_t version;
            int eq;
            if (((s ^ tag) & cache->tag_mask) != 0)
                continue;
            e = (wc__entry *)(s ^ tag);
            if (e->owner != owner)
                continue;
            if (e->key == key) {   /* identity first, as in CPython's dict */
                *found = e;
                return 1;
            }
            if (e->hhi != (uint32_t)(hash >> 32))
                continue;
            if (cache->ops.equal == NULL)
                continue;   /* no callback: keys are equal only if identical */
            version = cache->version;
            eq = cache->ops.equal(cache->ctx, e->key, key);
            if (eq < 0) {
                tls_callback_error = eq;
                return WC_ECALLBACK;
            }
            if (cache->version != version) {
                changed = 1;   /* the slots may have moved (rule 3) */
                break;
            }
            if (eq > 0) {
                *found = e;
                return 1;
            }
        }
        if (!changed)
            return 0;
    }
    return WC_ECHANGED;
}

/* Append e to the order list (the newest entry). */
static void order_append(wc_cache *cache, wc__entry *e)
{
    e->prev = cache->tail;
    e->next = NULL;
    cache->tail->next = e;
    cache->tail = e;
}

/* Make e the most recently used entry (LRU). */
static inline void lru_touch(wc_cache *cache, wc__entry *e)
{
    wc__entry *prev, *next;
    if (cache->tail == e)
        return;
    prev = e->prev;   /* never NULL: the sentinel is first */
    next = e->next;   /* never NULL: e is not the tail */
    prev->next = next;
    next->prev = prev;
    order_append(cache, e);
    cache->moves++;
}

/* The cache's time: the highest value its clock has returned. */
static uint64_t cache_now(wc_cache *cache)
{
    uint64_t t = cache->now(cache->clock_ctx);
    if (t > cache->clock_max)
        cache->clock_max = t;
    return cache->clock_max;
}

static int expired(wc__entry *e, uint64_t now)
{
    return deadline_get(e) <= now;
}

/* SIEVE + ttl: drop the expired entries at the old end (deadline order). */
static void expire_oldest(wc_cache *cache, uint64_t now)
{
    wc__entry *e;
    while ((e = cache->sentinel.next) != NULL && expired(e, now))
        entry_unlink(cache, e, WC_EVICT_EXPIRED, 0);
}

/* WC__DEPTH_LIMITED follows the limits: without one nothing is ever
 * evicted by the policy, so SIEVE's visited bits would never be read. */
static void set_limited(wc_cache *cache)
{
    if (cache->max_entries != 0 || cache->max_weight != 0)
        cache->depth |= WC__DEPTH_LIMITED;
    else
        cache->depth &= ~WC__DEPTH_LIMITED;
}

static int over_limits(const wc_cache *cache, wc_evict_cause *cause)
{
    if (cache->max_entries != 0 && cache->size > cache->max_entries) {
        *cause = WC_EVICT_CAPACITY;
        return 1;
    }
    if (cache->max_weight != 0 && cache->weight > cache->max_weight) {
        *cause = WC_EVICT_WEIGHT;
        return 1;
    }
    return 0;
}

/* SIEVE's victim, sparing `keep`; NULL if there is none. */
static wc__entry *sieve_victim(wc_cache *cache, const wc__entry *keep)
{
    wc__entry *e = cache->hand;
    if (cache->size <= (keep != NULL ? 1u : 0u))
        return NULL;
    for (;;) {
        if (e == NULL)
            e = cache->sentinel.next;   /* wrap to the oldest */
        if (e == keep) {
            e = e->next;
        } else if (e->bits & VISITED) {
            e->bits &= ~VISITED;
            e = e->next;
        } else {
            /* the hand goes to the newer neighbour; not to the entry this
             * put is adding, which SIEVE inserts after the eviction */
            cache->hand = e->next != keep ? e->next : NULL;
            return e;
        }
    }
}

/* Evict until the limits hold, sparing `keep` (rule: expired first). */
static void evict_to_limits(wc_cache *cache, const wc__entry *keep, uint64_t now)
{
    wc_evict_cause cause;
    while (over_limits(cache, &cause)) {
        wc__entry *victim;
        if (cache->flags & WC__F_SIEVE) {
            victim = sieve_victim(cache, keep);
        } else {
            victim = cache->sentinel.next;
            if (victim == keep && victim != NULL)
                victim = victim->next;
            if (victim != NULL && (cache->flags & WC__F_TTL)) {
                wc__entry *e = victim;
                int i;
                for (i = 0; i < WC_EXPIRY_SCAN && e != NULL; i++, e = e->next) {
                    if (e != keep && expired(e, now)) {
                        victim = e;
                        cause = WC_EVICT_EXPIRED;
                        break;
                    }
                }
            }
        }
        if (victim == NULL)
            break;
        entry_unlink(cache, victim, cause, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Cache lifetime                                                      */
/* ------------------------------------------------------------------ */

/* The smallest config a caller can have: the 0.2.0 struct. */
#define CONFIG_MIN_SIZE (offsetof(wc_config, clock_ctx) + sizeof(void *))

int wc_config_init_size(wc_config *cfg, size_t size)
{
    if (cfg == NULL || size < CONFIG_MIN_SIZE)
        return WC_EINVAL;
    memset(cfg, 0, size);
    cfg->size = size;
    return WC_OK;
}

/* Copy the caller's config (of the caller's size) into *cfg, a zeroed
 * struct of this library's size. A larger caller struct (a newer header)
 * is accepted when the fields this library does not know are all zero. */
int wc__config_read(const wc_config *in, wc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (in == NULL) {
        cfg->size = sizeof *cfg;
        return WC_OK;
    }
    if (in->size < CONFIG_MIN_SIZE)
        return WC_EINVAL;   /* not made by wc_config_init() */
    if (in->size > sizeof *cfg) {
        const unsigned char *tail = (const unsigned char *)in + sizeof *cfg;
        size_t i;
        for (i = 0; i < in->size - sizeof *cfg; i++)
            if (tail[i] != 0)
                return WC_EINVAL;   /* asks for a feature we do not have */
    }
    memcpy(cfg, in, in->size < sizeof *cfg ? in->size : sizeof *cfg);
    cfg->size = sizeof *cfg;
    return WC_OK;
}

int wc__cache_new(const wc_config *config, wc_cache **out)
{
    const wc_allocator *alloc;
    wc_cache *cache;

    alloc = config->allocator != NULL ? config->allocator : &wc__default_allocator;
    if (alloc->malloc == NULL || alloc->free == NULL)
        return WC_EINVAL;
    if ((unsigned)config->policy > (unsigned)WC_POLICY_SIEVE ||
        (config->flags & ~(WC_THREAD_SAFE | WC_RETAIN_SIMPLE)) != 0 ||
        (config->ttl != 0 && config->now == NULL) ||
        (config->lock != NULL &&
         (config->lock->lock == NULL || config->lock->unlock == NULL)))
        return WC_EINVAL;
#ifndef WC_HAVE_PTHREADS
    if ((config->flags & WC_THREAD_SAFE) && config->lock == NULL)
        return WC_EINVAL;   /* no built-in mutex on this platform */
#endif

    cache = alloc->malloc(alloc->ctx, sizeof *cache);
    if (cache == NULL)
        return WC_ENOMEM;
    memset(cache, 0, sizeof *cache);
    cache->alloc = *alloc;
    cache->max_entries = config->max_entries;
    cache->max_weight = config->max_weight;
    set_limited(cache);
    if (config->ops != NULL)
        cache->ops = *config->ops;
    if (cache->ops.retain_value != NULL && !(config->flags & WC_RETAIN_SIMPLE))
        cache->flags |= WC__F_RETAIN;   /* else the fast path calls it directly */
    cache->ctx = config->ops_ctx;
    if (config->policy == WC_POLICY_SIEVE)
        cache->flags |= WC__F_SIEVE;
    if (config->ttl != 0) {
        cache->flags |= WC__F_TTL;
        cache->ttl = config->ttl;
        cache->now = config->now;
        cache->clock_ctx = config->clock_ctx;
    }
    if (config->lock != NULL) {
        cache->flags |= WC__F_LOCKED | WC__F_HOOKS;
        cache->lock = *config->lock;
    }
#ifdef WC_HAVE_PTHREADS
    else if (config->flags & WC_THREAD_SAFE) {
        if (pthread_mutex_init(&cache->mutex, NULL) != 0) {
            alloc->free(alloc->ctx, cache, sizeof *cache);
            return WC_ENOMEM;
        }
        atomic_init(&cache->mutex_holder, 0);
        cache->has_mutex = 1;
        cache->flags |= WC__F_LOCKED;
    }
#endif

    cache->tail = &cache->sentinel;
    cache->tag_mask = 15;   /* 16-byte aligned entries, until one is not */
    if (index_rebuild(cache, INDEX_MIN_BITS, 0, 0) != WC_OK) {
#ifdef WC_HAVE_PTHREADS
        if (cache->has_mutex)
            pthread_mutex_destroy(&cache->mutex);
#endif
        alloc->free(alloc->ctx, cache, sizeof *cache);
        return WC_ENOMEM;
    }
    *out = cache;
    return WC_OK;
}

int wc_cache_new(const wc_config *config_in, wc_cache **out)
{
    wc_config config;
    if (out == NULL)
        return WC_EINVAL;
    *out = NULL;
    if (wc__config_read(config_in, &config) != WC_OK)
        return WC_EINVAL;
    return wc__cache_new(&config, out);
}

/* Unlink every entry, oldest first. */
static void unlink_all(wc_cache *cache, wc_evict_cause cause)
{
    wc__entry *e;
    while ((e = cache->sentinel.next) != NULL)
        entry_unlink(cache, e, cause, 0);
}

/* Free the table and the cache itself; every entry is gone already. The
 * caller holds the lock (once): it is released and destroyed here. */
static void cache_destroy(wc_cache *cache)
{
    wc_allocator alloc = cache->alloc;
    wc__free(cache, cache->slots, index_bytes(index_wide(cache), cache->mask + 1));
    cache_unlock(cache);
#ifdef WC_HAVE_PTHREADS
    if (cache->has_mutex)
        pthread_mutex_destroy(&cache->mutex);
#endif
    alloc.free(alloc.ctx, cache, sizeof *cache);
}

int wc_cache_free(wc_cache *cache)
{
    if (cache == NULL)
        return WC_OK;
    cache_lock(cache);
    if (cache->closing) {
        cache_unlock(cache);
        return WC_EBUSY;
    }
    cache->closing = 1;
    if (WC__DEPTH_CALLS(cache) != 0) {   /* from a callback: rule 6 */
        cache->free_pending = 1;
        unlink_all(cache, WC_EVICT_CLEARED);
        cache_unlock(cache);
        return WC_OK;
    }
    cache->depth++;   /* entered: no call was in progress */
    unlink_all(cache, WC_EVICT_CLEARED);
    cache->free_pending = 1;
    leave(cache);   /* releases the entries, then the cache */
    return WC_OK;
}

/* ------------------------------------------------------------------ */
/* Get, put, remove, clear                                             */
/* ------------------------------------------------------------------ */

/* Fill *hint (if any) for wc_put_hint (rule 3). hint->wc__hash was stored
 * on entry (hint_start), so that no function of the hit path needs more
 * than six arguments (the calls out of the fast path are tail calls). */
static inline void hint_start(wc_hint *hint, wc_owner *owner, uint64_t hash)
{
    if (hint != NULL) {
        hint->wc__owner = owner;
        hint->wc__hash = hash;
    }
}

static inline void hint_fill(wc_cache *cache, wc_hint *hint, int found)
{
    if (hint != NULL) {
        hint->wc__cache = cache;
        hint->wc__version = cache->version;
        hint->wc__found = (unsigned)found;
    }
}

/* A hit counts as a use: SIEVE sets the visited bit (only if clear, so that
 * a hot entry's cache line is not written again), LRU relinks. A SIEVE
 * cache without limits evicts nothing, so its hits record no visit: they
 * read no entry field but the key and value, one 16-byte run, which is
 * never split across cache lines (entries are 16-byte aligned). Hits made
 * while the cache has no limit are not remembered once limits are set. */
static inline void entry_touch(wc_cache *cache, wc__entry *e)
{
    if (cache->flags & WC__F_SIEVE) {
        if ((cache->depth & WC__DEPTH_LIMITED) && !(e->bits & VISITED))
            e->bits |= VISITED;
    } else {
        lru_touch(cache, e);
    }
}

/* The general lookup: enter() (the lock already held), lookup, leave().
 * *value_out is NULL. */
static WC__ALWAYS_INLINE int get_slow(wc_cache *cache, wc_owner *owner,
                                      uint64_t hashv, const void *key,
                                      void **value_out, wc_hint *hint,
                                      int peek)
{
    wc__entry *e = NULL;
    int r;
    if (cache->closing) {
        cache_unlock(cache);
        return WC_EBUSY;
    }
    cache->depth++;
    r = lookup(cache, owner, hashv, key, &e);
    if (r == 1 && (cache->flags & WC__F_TTL) && expired(e, cache_now(cache))) {
        if (!peek)
            entry_unlink(cache, e, WC_EVICT_EXPIRED, 0);
        r = 0;
    }
    if (r == 1) {
        if (!peek) {
            entry_touch(cache, e);
            cache->hits++;
        }
        *value_out = e->value;
        if (cache->ops.retain_value != NULL)
            cache->ops.retain_value(cache->ctx, e->value);
        r = WC_OK;
    } else if (r == 0) {
        if (!peek)
            cache->misses++;
        r = WC_NOTFOUND;
    }
    hint_fill(cache, hint, r != WC_NOTFOUND);
    leave(cache);
    return r;
}

static WC__NOINLINE int get_slow_get(wc_cache *cache, wc_owner *owner,
                                     uint64_t hashv, const void *key,
                                     void **value_out, wc_hint *hint)
{
    return get_slow(cache, owner, hashv, key, value_out, hint, 0);
}

static WC__NOINLINE int get_slow_peek(wc_cache *cache, wc_owner *owner,
                                      uint64_t hashv, const void *key,
                                      void **value_out)
{
    return get_slow(cache, owner, hashv, key, value_out, NULL, 1);
}

/* A hit of the fast path on a cache with retain_value: the callback may
 * call back into the cache, so from here on the call is entered (depth 1)
 * and leaves through leave() (rule 5), which also releases the lock. */
static WC__NOINLINE int hit_retain(wc_cache *cache, wc__entry *e,
                                   wc_hint *hint)
{
    cache->depth++;   /* the fast path ran: no call was in progress */
    cache->ops.retain_value(cache->ctx, e->value);
    hint_fill(cache, hint, 1);
    leave(cache);
    return WC_OK;
}

/* The fast path (HIT PATH in the block comment), for a cache with no call
 * in progress (hence not closing) and no ttl, its lock held if `locked`,
 * its index wide if `wide`. No enter()/leave(): it unlinks nothing and
 * runs no user callback itself; when one is needed it hands over by a
 * tail call:
 *  - an entry whose key needs the user's `equal` (which may re-enter the
 *    cache): the general path, which walks the run again, entered;
 *  - retain_value on a hit: hit_retain, which enters first (without
 *    WC_RETAIN_SIMPLE; with it, the callback is called here).
 * `bytes`: the cache is a bytes cache, whose `equal` is the layer's own
 * memcmp (it never re-enters): called here directly.
 * An unowned probe of a cache that holds no owned entry does not read the
 * entry's owner (every entry's owner matches): a function cache's hit reads
 * only the entry's key and value (and what entry_touch needs: nothing more
 * for SIEVE without limits). */
static WC__ALWAYS_INLINE int get_quick(wc_cache *cache, wc_owner *owner,
                                       uint64_t hashv, const void *key,
                                       void **value_out, wc_hint *hint,
                                       int peek, int locked, int bytes,
                                       int retain, int wide)
{
    const void *slots = cache->slots;
    uintptr_t base = cache->base;
    size_t i = home_slot(cache, hashv);
    uintptr_t tag = hash_tag(cache, hashv);
    wc__entry *e;
    wc__slot s;

    if (wide)
        base = 0;   /* a wide slot is the address itself */
    for (;; i = (i + 1) & cache->mask) {
        /* a narrow slot's low bits are the decoded slot's: test the tag on
         * the stored value, add the base only to a candidate */
        s = wide ? ((const wc__slot *)slots)[i] : ((const wc__nslot *)slots)[i];
        if (s == 0)
            break;
        if (((s ^ tag) & cache->tag_mask) != 0)
            continue;
        e = (wc__entry *)(base + (s ^ tag));   /* the tag's bits are now 0 */
        if ((owner != NULL || cache->owned != 0) && e->owner != owner)
            continue;
        if (e->key == key)   /* identity first, as in CPython's dict */
            goto found;
        if (e->hhi != (uint32_t)(hashv >> 32))
            continue;
        if (bytes) {
            if (cache->ops.equal(cache->ctx, e->key, key) > 0)
                goto found;
        } else if (cache->ops.equal != NULL) {
            *value_out = NULL;
            return peek ? get_slow_peek(cache, owner, hashv, key, value_out)
                        : get_slow_get(cache, owner, hashv, key, value_out, hint);
        }
    }
    *value_out = NULL;
    if (!peek)
        cache->misses++;
    hint_fill(cache, hint, 0);
    if (locked)
        cache_unlock(cache);
    return WC_NOTFOUND;

found:
    if (!peek) {
        entry_touch(cache, e);
        cache->hits++;
    }
    *value_out = e->value;
    if (retain)
        return hit_retain(cache, e, hint);
    if (cache->ops.retain_value != NULL)   /* WC_RETAIN_SIMPLE: cannot re-enter */
        cache->ops.retain_value(cache->ctx, e->value);
    hint_fill(cache, hint, 1);
    if (locked)
        cache_unlock(cache);
    return WC_OK;
}

/* A thread-safe cache, or one with a ttl, retain_value or a call in
 * progress: take the lock (if any), then the fast path if it applies, else
 * the general one. */
static WC__ALWAYS_INLINE int get_locked(wc_cache *cache, wc_owner *owner,
                                        uint64_t hashv, const void *key,
                                        void **value_out, wc_hint *hint,
                                        int peek, int bytes)
{
    *value_out = NULL;
    cache_lock(cache);
    if (WC__DEPTH_CALLS(cache) == 0 && !(cache->flags & WC__F_TTL)) {
        int retain = (cache->flags & WC__F_RETAIN) != 0;
        int wide = index_wide(cache);   /* tested in the loop: one copy */
        if (cache->flags & WC__F_LOCKED)
            return get_quick(cache, owner, hashv, key, value_out, hint, peek, 1,
                             bytes, retain, wide);
        return get_quick(cache, owner, hashv, key, value_out, hint, peek, 0,
                         bytes, retain, wide);
    }
    return get_slow(cache, owner, hashv, key, value_out, hint, peek);
}

static WC__NOINLINE int get_locked_get(wc_cache *cache, wc_owner *owner,
                                       uint64_t hashv, const void *key,
                                       void **value_out, wc_hint *hint)
{
    return get_locked(cache, owner, hashv, key, value_out, hint, 0, 0);
}

static WC__NOINLINE int get_locked_peek(wc_cache *cache, wc_owner *owner,
                                        uint64_t hashv, const void *key,
                                        void **value_out)
{
    return get_locked(cache, owner, hashv, key, value_out, NULL, 1, 0);
}

/* The generic-key API (wc_get, wc_lookup, wc_peek), inlined into each: the
 * fast path's test of the flags also refuses bytes caches. */
static WC__ALWAYS_INLINE int get_api(wc_cache *cache, wc_owner *owner,
                                     uint64_t hash, const void *key,
                                     void **value_out, wc_hint *hint, int peek)
{
    uint64_t hashv;
    if (value_out == NULL)
        return WC_EINVAL;
    if (cache == NULL) {
        *value_out = NULL;
        return WC_EINVAL;
    }
    hint_start(hint, owner, hash);
    hashv = mix_hash(hash, owner);
    if (!(cache->flags & (WC__F_BYTES | WC__F_LOCKED | WC__F_TTL | WC__F_RETAIN)) &&
        (cache->depth & ~WC__DEPTH_LIMITED) == 0)   /* no call, narrow index */
        return get_quick(cache, owner, hashv, key, value_out, hint, peek, 0, 0, 0, 0);
    if (cache->flags & WC__F_BYTES) {
        *value_out = NULL;
        return WC_EINVAL;
    }
    return peek ? get_locked_peek(cache, owner, hashv, key, value_out)
                : get_locked_get(cache, owner, hashv, key, value_out, hint);
}

int wc__bytes_get(wc_cache *cache, wc_owner *owner, uint64_t hash,
                  const void *key, void **value_out, wc_hint *hint)
{
    hint_start(hint, owner, hash);
    return get_locked(cache, owner, mix_hash(hash, owner), key, value_out, hint,
                      0, 1);
}

int wc_get(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key,
           void **value_out)
{
    return get_api(cache, owner, hash, key, value_out, NULL, 0);
}

int wc_lookup(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key,
              void **value_out, wc_hint *hint)
{
    return get_api(cache, owner, hash, key, value_out, hint, 0);
}

int wc_peek(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key,
            void **value_out)
{
    return get_api(cache, owner, hash, key, value_out, NULL, 1);
}

int wc__put(wc_cache *cache, const wc_hint *hint, wc_owner *owner,
            uint64_t hash, void *key, void *value, uint32_t weight)
{
    wc__entry *e, *old = NULL;
    wc__group *g = NULL;
    uint64_t hashv;
    uint64_t now = 0;
    unsigned kept = 0;
    size_t size;
    int r;

    if (weight > WC_WEIGHT_MAX)
        return WC_EINVAL;
    if (hint != NULL) {
        owner = hint->wc__owner;
        hash = hint->wc__hash;
    }
    hashv = mix_hash(hash, owner);
    r = enter(cache);
    if (r != WC_OK)
        return r;
    size = entry_size(cache, owner != NULL);
    if (cache->max_weight != 0 && weight > cache->max_weight) {
        leave(cache);
        return WC_ETOOBIG;
    }
    e = wc__malloc(cache, size);
    if (e == NULL) {
        leave(cache);
        return WC_ENOMEM;
    }

    if (hint != NULL && !hint->wc__found && hint->wc__version == cache->version)
        r = 0;   /* nothing was added or removed since the miss (rule 3) */
    else
        r = lookup(cache, owner, hashv, key, &old);   /* the last callback (rule 4) */
    if (r < 0)
        goto fail;
    if (cache->closing) {   /* a callback freed the cache (rule 6) */
        r = WC_EBUSY;
        goto fail;
    }
    if (cache->max_weight != 0 && weight > cache->max_weight) {
        r = WC_ETOOBIG;   /* `equal` lowered the limit meanwhile */
        goto fail;
    }
    if (owner != NULL) {
        g = group_get(owner, cache);
        if (g == NULL) {
            r = WC_ENOMEM;
            goto fail;
        }
    }
    /* Room and width for e, after the lookup, whose callbacks may resize
     * the index; nothing calls back from here until e is linked. */
    r = index_make_room(cache, e, old != NULL);
    if (r != WC_OK) {
        if (g != NULL && g->entries.next == &g->entries)
            group_release(cache, g);   /* the group was new and is empty */
        goto fail;
    }
    e->key = key;
    e->value = value;
    e->owner = owner;
    e->hhi = (uint32_t)(hashv >> 32);
    e->bits = weight;
    index_insert(cache, e);
    order_append(cache, e);
    if (g != NULL) {
        e->olink.next = &g->entries;
        e->olink.prev = g->entries.prev;
        g->entries.prev->next = &e->olink;
        g->entries.prev = &e->olink;
        cache->owned++;
    }
    cache->size++;
    cache->weight += weight;
    cache->inserts++;
    cache->rebuilt_puts++;
    cache->version++;
    if (cache->flags & WC__F_TTL) {
        uint64_t d;
        now = cache_now(cache);
        d = now + cache->ttl;
        deadline_set(e, d < now ? UINT64_MAX : d);
    }
    if (old != NULL) {   /* the lookup found it (r was 1) */
        if (old->key == key)
            kept |= GRAVE_KEEP_KEY;
        if (old->value == value)
            kept |= GRAVE_KEEP_VALUE;
        entry_unlink(cache, old, WC_EVICT_REPLACED, kept);
    }
    if ((cache->flags & (WC__F_SIEVE | WC__F_TTL)) == (WC__F_SIEVE | WC__F_TTL))
        expire_oldest(cache, now);
    evict_to_limits(cache, e, now);
    if (leave_ex(cache, e))
        return WC_EBUSY;   /* the cache was freed; e was dropped unseen */
    return (kept & GRAVE_KEEP_KEY ? WC_KEPT_KEY : 0) |
           (kept & GRAVE_KEEP_VALUE ? WC_KEPT_VALUE : 0);

fail:
    wc__free(cache, e, size);
    leave(cache);
    return r;
}

int wc_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *key,
           void *value, uint32_t weight)
{
    if (cache == NULL || (cache->flags & WC__F_BYTES))
        return WC_EINVAL;
    return wc__put(cache, NULL, owner, hash, key, value, weight);
}

int wc_put_hint(wc_cache *cache, const wc_hint *hint, void *key, void *value,
                uint32_t weight)
{
    if (cache == NULL || hint == NULL || hint->wc__cache != cache ||
        (cache->flags & WC__F_BYTES))
        return WC_EINVAL;
    return wc__put(cache, hint, NULL, 0, key, value, weight);
}

int wc__remove(wc_cache *cache, wc_owner *owner, uint64_t hash,
               const void *key, void **key_out, void **value_out)
{
    wc__entry *e = NULL;
    int take = key_out != NULL || value_out != NULL;
    int r = enter(cache);
    if (r != WC_OK)
        return r;
    if (take && WC__DEPTH_CALLS(cache) > 1) {   /* from a callback: see wc_take */
        leave(cache);
        return WC_EBUSY;
    }
    r = lookup(cache, owner, mix_hash(hash, owner), key, &e);
    if (r == 1) {
        if (key_out != NULL)
            *key_out = e->key;
        if (value_out != NULL)
            *value_out = e->value;
        entry_unlink(cache, e, WC_EVICT_REMOVED,
                     take ? GRAVE_KEEP_KEY | GRAVE_KEEP_VALUE : 0);
        r = WC_OK;
    } else if (r == 0) {
        r = WC_NOTFOUND;
    }
    leave(cache);
    return r;
}

int wc_remove(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key)
{
    if (cache == NULL || (cache->flags & WC__F_BYTES))
        return WC_EINVAL;
    return wc__remove(cache, owner, hash, key, NULL, NULL);
}

int wc_take(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key,
            void **key_out, void **value_out)
{
    void *k = NULL, *v = NULL;
    int r;
    if (key_out != NULL)
        *key_out = NULL;
    if (value_out != NULL)
        *value_out = NULL;
    if (cache == NULL || (cache->flags & WC__F_BYTES))
        return WC_EINVAL;
    r = wc__remove(cache, owner, hash, key, &k, &v);
    if (r == WC_OK) {
        if (key_out != NULL)
            *key_out = k;
        if (value_out != NULL)
            *value_out = v;
    }
    return r;
}

int wc_clear(wc_cache *cache)
{
    int r;
    if (cache == NULL)
        return WC_EINVAL;
    r = enter(cache);
    if (r != WC_OK)
        return r;
    unlink_all(cache, WC_EVICT_CLEARED);
    leave(cache);
    return WC_OK;
}

/* Unlink all entries of group g (g->cache must be `cache`). */
static void unlink_group(wc_cache *cache, wc__group *g, wc_evict_cause cause)
{
    for (;;) {
        struct wc__link *l = g->entries.next;
        int last = l->next == &g->entries;
        entry_unlink(cache, container_of(l, wc__entry, olink), cause, 0);
        if (last)
            return;   /* g was released with its last entry */
    }
}

int wc_cache_clear_owner(wc_cache *cache, wc_owner *owner)
{
    int r;
    if (cache == NULL)
        return WC_EINVAL;
    r = enter(cache);
    if (r != WC_OK)
        return r;
    if (owner != NULL) {
        wc__group *g;
        owner_lock(owner);
        g = group_find(owner, cache);
        owner_unlock(owner);   /* we hold the cache: g stays */
        if (g != NULL)
            unlink_group(cache, g, WC_EVICT_CLEARED);
    } else {
        wc__entry *e = cache->sentinel.next;
        while (e != NULL) {
            wc__entry *next = e->next;
            if (e->owner == NULL)
                entry_unlink(cache, e, WC_EVICT_CLEARED, 0);
            e = next;
        }
    }
    leave(cache);
    return WC_OK;
}

int wc_cache_set_limits(wc_cache *cache, size_t max_entries, uint64_t max_weight)
{
    wc__entry *e;
    int r;
    if (cache == NULL)
        return WC_EINVAL;
    r = enter(cache);
    if (r != WC_OK)
        return r;
    cache->max_entries = max_entries;
    cache->max_weight = max_weight;
    set_limited(cache);
    /* Entries that can never fit go first, whatever their age. */
    if (max_weight != 0) {
        e = cache->sentinel.next;
        while (e != NULL) {
            wc__entry *next = e->next;
            if (WEIGHT(e) > max_weight)
                entry_unlink(cache, e, WC_EVICT_WEIGHT, 0);
            e = next;
        }
    }
    evict_to_limits(cache, NULL,
                    (cache->flags & WC__F_TTL) ? cache_now(cache) : 0);
    leave(cache);
    return WC_OK;
}

int wc_cache_expire(wc_cache *cache, size_t *dropped)
{
    size_t before;
    int r;
    if (dropped != NULL)
        *dropped = 0;
    if (cache == NULL)
        return WC_EINVAL;
    r = enter(cache);
    if (r != WC_OK)
        return r;
    before = cache->size;
    if (cache->flags & WC__F_TTL) {
        uint64_t now = cache_now(cache);
        if (cache->flags & WC__F_SIEVE) {
            expire_oldest(cache, now);
        } else {
            wc__entry *e = cache->sentinel.next;
            while (e != NULL) {
                wc__entry *next = e->next;
                if (expired(e, now))
                    entry_unlink(cache, e, WC_EVICT_EXPIRED, 0);
                e = next;
            }
        }
    }
    if (dropped != NULL)
        *dropped = before - cache->size;
    leave(cache);
    return WC_OK;
}

/* ------------------------------------------------------------------ */
/* Owners                                                              */
/* ------------------------------------------------------------------ */

/* Under the owner's lock, pick a group with a cache and take that cache's
 * lock (a try: see THREADS). Returns the group, with the cache locked and
 * the owner unlocked; NULL (owner unlocked) if the owner has no groups. */
static wc__group *owner_pick(const wc_owner *owner)
{
    for (;;) {
        const wc__group *g;
        owner_lock(owner);
        for (g = &owner->wc__first; g != NULL && g->cache == NULL; g = g->next)
            ;
        if (g == NULL) {
            owner_unlock(owner);
            return NULL;
        }
        if (cache_trylock(g->cache)) {
            owner_unlock(owner);
            return (wc__group *)(uintptr_t)g;
        }
        owner_unlock(owner);
        yield_cpu();
    }
}

int wc_owner_release(wc_owner *owner)
{
    release_rec rec;
    if (owner == NULL)
        return WC_EINVAL;
    rec.owner = owner;
    rec.has_groups = 1;
    rec.up = tls_releases;
    tls_releases = &rec;
    for (;;) {
        wc__group *g = owner_pick(owner);
        wc_cache *cache;
        if (g == NULL)
            break;
        cache = g->cache;
        cache->depth++;   /* entered: the lock is held (owner_pick) */
        unlink_group(cache, g, WC_EVICT_OWNER);
        leave(cache);   /* callbacks: may change the owner, or free it */
        if (!rec.has_groups)
            break;      /* empty: the storage may be gone (rule 8) */
    }
    tls_releases = rec.up;
    return WC_OK;
}

static size_t group_count(const wc__group *g)
{
    const struct wc__link *l;
    size_t n = 0;
    for (l = g->entries.next; l != &g->entries; l = l->next)
        n++;
    return n;
}

size_t wc_owner_count(const wc_owner *owner, const wc_cache *cache_in)
{
    wc_cache *cache = (wc_cache *)(uintptr_t)cache_in;
    size_t n = 0;
    if (owner == NULL)
        return 0;
    if (cache != NULL) {
        const wc__group *g;
        cache_lock(cache);
        if (!cache->closing) {
            owner_lock(owner);
            g = group_find((wc_owner *)(uintptr_t)owner, cache);
            owner_unlock(owner);   /* we hold the cache: g stays */
            if (g != NULL)
                n = group_count(g);
        }
        cache_unlock(cache);
        return n;
    }
    for (;;) {   /* every cache: each group counted under its cache's lock */
        const wc__group *g;
        int busy = 0;
        n = 0;
        owner_lock(owner);
        for (g = &owner->wc__first; g != NULL; g = g->next) {
            if (g->cache == NULL)
                continue;
            if (!cache_trylock(g->cache)) {
                busy = 1;
                break;
            }
            n += group_count(g);
            cache_unlock(g->cache);
        }
        owner_unlock(owner);
        if (!busy)
            return n;
        yield_cpu();
    }
}

/* ------------------------------------------------------------------ */
/* Stats and iteration                                                 */
/* ------------------------------------------------------------------ */

int wc_cache_stats_size(const wc_cache *cache_in, wc_stats *out, size_t size)
{
    wc_cache *cache = (wc_cache *)(uintptr_t)cache_in;
    wc_stats st;
    if (cache == NULL || out == NULL)
        return WC_EINVAL;
    memset(&st, 0, sizeof st);
    cache_lock(cache);
    st.hits = cache->hits;
    st.misses = cache->misses;
    st.inserts = cache->inserts;
    memcpy(st.evictions, cache->evictions, sizeof cache->evictions);
    st.size = cache->size;
    st.weight = cache->weight;
    st.max_entries = cache->max_entries;
    st.max_weight = cache->max_weight;
    st.longest_probe = cache->longest_probe;
    cache_unlock(cache);
    if (size > sizeof st) {
        memset((char *)out + sizeof st, 0, size - sizeof st);
        size = sizeof st;
    }
    memcpy(out, &st, size);
    return WC_OK;
}

void wc__debug_table(const wc_cache *cache_in, wc__table_info *out)
{
    wc_cache *cache = (wc_cache *)(uintptr_t)cache_in;
    size_t i, n;
    memset(out, 0, sizeof *out);
    cache_lock(cache);
    n = cache->mask + 1;
    out->slots = n;
    out->tag_mask = (unsigned)cache->tag_mask;
    out->slot_bytes = slot_bytes(index_wide(cache));
    out->owned = cache->owned;
    for (i = 0; i < n; i++) {
        const wc__entry *e = slot_entry(cache, slot_get(cache, i));
        size_t probe;
        if (e == NULL)
            continue;
        out->items++;
        if (e->owner != NULL)
            out->owned_items++;
        probe = ((i - entry_home(cache, e)) & cache->mask) + 1;
        out->probe_total += probe;
        if (probe > out->max_probe)
            out->max_probe = probe;
    }
    cache_unlock(cache);
}

uint64_t wc__debug_hash(uint64_t hash, const wc_owner *owner)
{
    return mix_hash(hash, owner);
}

size_t wc_cache_size(const wc_cache *cache_in)
{
    wc_cache *cache = (wc_cache *)(uintptr_t)cache_in;
    size_t n;
    if (cache == NULL)
        return 0;
    cache_lock(cache);
    n = cache->size;
    cache_unlock(cache);
    return n;
}

void wc_iter_init(wc_iter *it, wc_cache *cache)
{
    if (it == NULL)
        return;
    memset(it, 0, sizeof *it);
    it->wc__cache = cache;
    if (cache != NULL) {
        wc__entry *tail;
        cache_lock(cache);
        tail = cache->tail;
        it->wc__next = tail != &cache->sentinel ? tail : NULL;
        it->wc__version = cache->version + cache->moves;
        cache_unlock(cache);
    }
}

int wc_iter_next(wc_iter *it, wc_item *out)
{
    wc_cache *cache;
    wc__entry *e;
    int r = 1;
    if (it == NULL || out == NULL || it->wc__cache == NULL)
        return WC_EINVAL;
    cache = it->wc__cache;
    cache_lock(cache);
    if (it->wc__version != cache->version + cache->moves) {
        r = WC_ECHANGED;
    } else if ((e = it->wc__next) == NULL) {
        it->wc__cur = NULL;
        r = 0;
    } else {
        out->key = e->key;
        out->value = e->value;
        out->owner = e->owner;
        out->weight = WEIGHT(e);
        it->wc__cur = e;
        it->wc__next = e->prev != &cache->sentinel ? e->prev : NULL;
    }
    cache_unlock(cache);
    return r;
}

int wc_iter_remove(wc_iter *it)
{
    wc_cache *cache;
    int r;
    if (it == NULL || it->wc__cache == NULL)
        return WC_EINVAL;
    cache = it->wc__cache;
    r = enter(cache);
    if (r != WC_OK)
        return r;
    if (it->wc__version != cache->version + cache->moves) {
        r = WC_ECHANGED;
    } else if (it->wc__cur == NULL) {
        r = WC_EINVAL;
    } else {
        entry_unlink(cache, it->wc__cur, WC_EVICT_REMOVED, 0);
        it->wc__cur = NULL;
        /* our own change; what the release's callbacks do still counts */
        it->wc__version = cache->version + cache->moves;
    }
    leave(cache);
    return r;
}
