/*
 * cache.c - the LRU cache with owner groups.
 *
 * DATA STRUCTURE
 * ==============
 * A cache is one uthash table of entries. Each entry is identified by
 * (owner group, key):
 *
 *     wc_cache                       wc_owner (caller's storage)
 *     +-----------+                  +------------------------+
 *     | head -----+--> sentinel      | wc__first: group ------+--> entries of this
 *     | sentinel  |    (in table,    |   cache, owner, list   |    owner in cache A
 *     | counters  |     never found) |   next ----------------+--> overflow group:
 *     +-----------+                  +------------------------+    cache B, list, ...
 *
 *   uthash table: buckets -> chains of entries (hh.hh_next / hh.hh_prev)
 *   LRU list:     uthash's own application-order list (hh.prev / hh.next):
 *                 sentinel <-> oldest <-> ... <-> newest (= tbl->tail)
 *   owner list:   each group has a circular list of its entries (olink); the
 *                 group's own `entries` node is the list's sentinel.
 *
 * An entry is one allocation of 80 bytes (64 when unowned, no olink): the
 * 56-byte UT_hash_handle, the value pointer and the owner-list link. Nothing
 * else, because three fields of the handle are put to work:
 *
 *  - hh.prev/hh.next, uthash's insertion-order list, is the LRU list. A hit
 *    moves the entry to the tail by relinking it (lru_touch), not by
 *    delete + re-add as uthash's LRU example does; new entries are appended
 *    at the tail by HASH_ADD itself, so the oldest entry is sentinel.next.
 *  - hh.tbl is read by uthash only through the head element (and through the
 *    element being added, inside HASH_ADD). The head is always the sentinel,
 *    which lives inside the cache and is never deleted, so in every other
 *    entry hh.tbl is free once HASH_ADD returns: it holds the entry's group
 *    (NULL for unowned entries). The sentinel's hh.tbl is the real table,
 *    which can never equal a group pointer, so the sentinel never matches a
 *    lookup. uthash 2.3.0 is checked at compile time below.
 *  - hh.keylen is unused with caller-supplied hashes and holds the weight.
 *
 * Owners are embedded by the caller (no allocation); the first group is
 * inside wc_owner, further groups (the same owner in more caches) are
 * allocated from the cache's allocator and freed as soon as they are empty.
 * Hashes: the caller's 64-bit hash is mixed with the group address, so the
 * entries of many owners under the same key spread over the buckets; uthash
 * keeps the low 32 bits.
 *
 * Costs: get/put/remove are one bucket walk; owner release and
 * wc_cache_clear_owner walk only that owner's list; eviction takes
 * sentinel.next.
 *
 * RE-ENTRANCY
 * ===========
 * Callbacks (ops->equal, free_key, free_value, retain_value, on_evict) may
 * call any API function on the same cache, except wc_cache_free. Rules:
 *
 * 1. The structure is consistent before every callback. Lookups call `equal`
 *    only between chain steps, with nothing half-linked.
 * 2. Releases are deferred. Removing an entry (entry_unlink) takes it out of
 *    the table, the LRU list and its group at once, updates the counters, and
 *    appends it to the cache's graveyard (linked through hh.next; hh.hashv
 *    records cause and size). Keys, values and entry memory are released only
 *    by the outermost API call on this cache, in leave(), after its own work
 *    is done; nested calls (made from callbacks) only append. So a key that
 *    `equal` is looking at stays valid even if the callback removes its
 *    entry, and free_* callbacks always see a consistent cache.
 * 3. Adding or removing an entry bumps cache->version. A lookup compares the
 *    version before and after each `equal` call; if it moved, the chain it was
 *    walking may be gone, so it starts again (re-resolving the owner's group,
 *    which the callback may have freed). After WC_MAX_RESTARTS it reports
 *    WC_ECHANGED. A hit only relinks the LRU list, which lookups never walk,
 *    so it bumps cache->moves instead: a callback may hit the cache without
 *    making the lookup that called it start over. Iterators walk the LRU
 *    list and check both counters.
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
 *    Once closed, calls on the cache from callbacks get WC_EBUSY, and a
 *    wc_put whose lookup saw the cache close fails with WC_EBUSY.
 * 7. wc_owner_release works one group at a time: it takes the group's entries
 *    out of its cache, then lets that cache drain (callbacks may add or
 *    remove groups of the same owner) and starts over from the owner.
 */
#include "internal.h"
#include "debug.h"

#include <stddef.h>
#include <string.h>

#if !defined(UTHASH_VERSION)
#error "uthash.h did not define UTHASH_VERSION"
#endif
/* The hh.tbl reuse above is verified against uthash 2.3.x, the version that
 * introduced HASH_NONFATAL_OOM's rollback. */
#define WC__UTHASH_STR2(x) #x
#define WC__UTHASH_STR(x) WC__UTHASH_STR2(x)
_Static_assert(sizeof(WC__UTHASH_STR(UTHASH_VERSION)) == sizeof("2.3.0"),
               "weakcache is verified against uthash 2.3.x only");
_Static_assert(offsetof(wc__entry, hh) == 0, "hh must be the first member");

#define GRAVE_OWNED 0x100u  /* hh.hashv flag of a graveyard entry: 80-byte block */

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static wc__group *entry_group(const wc__entry *e)
{
    return (wc__group *)(void *)e->hh.tbl;
}

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/* The 32-bit hashv of (owner, key). Each input is mixed on its own before
 * they are combined, so that the combination cannot cancel: XOR-ing raw
 * inputs first (h ^ addr) makes distinct pairs collide exactly whenever
 * h1 ^ h2 == a1 ^ a2, which small ints and aligned addresses do all the
 * time, and keys whose full 32-bit hashv collide are never split by uthash's
 * doublings (it then stops expanding for good, see uthash_noexpand_fyi).
 *  - the key hash: h ^ h >> 31, then a multiply by an odd constant, is a
 *    bijection on 64 bits (distinct caller hashes stay distinct) that moves
 *    small ints' entropy into the high bits;
 *  - the owner address: the same kind of bijection with another constant
 *    (0 for unowned entries);
 *  - the two are XOR-ed (a collision now needs two unrelated 64-bit mixes
 *    to differ by exactly the XOR of the other two: chance 2^-64 per pair)
 *    and the result goes through a last multiply; uthash gets the high 32
 *    bits, which depend on every input bit, and takes bucket indexes from
 *    their low bits.
 * Three multiplies, two of them independent: a few cycles on a hit. */
static inline uint32_t mix_hash(uint64_t h, const void *owner)
{
    uint64_t o = (uint64_t)(uintptr_t)owner;
    o = (o ^ (o >> 29)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 31)) * 0x94D049BB133111EBull;
    h ^= o ^ (o >> 32);
    h = (h ^ (h >> 29)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
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

static wc__group *group_find(wc_owner *owner, const wc_cache *cache)
{
    wc__group *g;
    for (g = &owner->wc__first; g != NULL; g = g->next)
        if (g->cache == cache)
            return g;
    return NULL;
}

/* A group for (owner, cache); the caller checked there is none. NULL on OOM. */
static wc__group *group_new(wc_owner *owner, wc_cache *cache)
{
    wc__group *g = &owner->wc__first;
    if (g->cache != NULL) {
        g = wc__malloc(cache, sizeof *g);
        if (g == NULL)
            return NULL;
        g->owner = owner;
        g->next = owner->wc__first.next;
        owner->wc__first.next = g;
    }
    g->cache = cache;
    link_init(&g->entries);
    return g;
}

/* Called when a group's list has become empty. */
static void group_release(wc__group *g)
{
    wc_cache *cache = g->cache;
    wc__group *prev = &g->owner->wc__first;
    if (g == prev) {
        g->cache = NULL;
        return;
    }
    while (prev->next != g)
        prev = prev->next;
    prev->next = g->next;
    wc__free(cache, g, sizeof *g);
}

/* ------------------------------------------------------------------ */
/* Entering, leaving, deferred release                                 */
/* ------------------------------------------------------------------ */

static void enter(wc_cache *cache) { cache->depth++; }

static void cache_destroy(wc_cache *cache);

/* Take an entry out of every structure; release it later (rule 2). */
static void entry_unlink(wc_cache *cache, wc__entry *e, wc_evict_cause cause)
{
    wc__entry *head = cache->head;
    wc__group *g = entry_group(e);
    unsigned owned = 0;

    HASH_DELETE(hh, head, e);   /* never the head: the sentinel stays */
    if (g != NULL) {
        owned = GRAVE_OWNED;
        e->olink.prev->next = e->olink.next;
        e->olink.next->prev = e->olink.prev;
        if (g->entries.next == &g->entries)
            group_release(g);
    }
    cache->size--;
    cache->weight -= e->hh.keylen;
    cache->evictions[cause]++;
    cache->version++;

    e->hh.tbl = NULL;
    e->hh.hashv = (unsigned)cause | owned;
    e->hh.next = NULL;
    if (cache->grave_tail != NULL)
        ((wc__entry *)cache->grave_tail)->hh.next = e;
    else
        cache->grave_head = e;
    cache->grave_tail = e;
}

/* Release one graveyard entry: listener, then key, value, memory. */
static void entry_release(wc_cache *cache, wc__entry *e)
{
    wc_evict_cause cause = (wc_evict_cause)(e->hh.hashv & 0xffu);
    size_t size = (e->hh.hashv & GRAVE_OWNED) ? WC__OWNED_SIZE : WC__UNOWNED_SIZE;
    void *key = (void *)(uintptr_t)e->hh.key;
    void *value = e->value;
    uint32_t weight = e->hh.keylen;

    wc__free(cache, e, size);
    if (cache->ops.on_evict != NULL)
        cache->ops.on_evict(cache->ctx, key, value, weight, cause);
    if (cache->ops.free_key != NULL)
        cache->ops.free_key(cache->ctx, key);
    if (cache->ops.free_value != NULL)
        cache->ops.free_value(cache->ctx, value);
}

/* Leave an API call. The outermost one drains the graveyard; depth stays
 * at 1 meanwhile so that calls made by the callbacks only append to it. */
static void leave(wc_cache *cache)
{
    if (cache->depth > 1) {
        cache->depth--;
        return;
    }
    while (cache->grave_head != NULL) {
        wc__entry *e = cache->grave_head;
        cache->grave_head = e->hh.next;
        if (cache->grave_head == NULL)
            cache->grave_tail = NULL;
        entry_release(cache, e);
    }
    cache->depth = 0;
    if (cache->free_pending)
        cache_destroy(cache);   /* wc_cache_free from a callback (rule 6) */
}

/* ------------------------------------------------------------------ */
/* Lookup and LRU                                                      */
/* ------------------------------------------------------------------ */

/* Find (owner, key). Returns 1 with *found set, 0 if absent, or an error.
 * May call ops->equal; see rule 3. */
static int lookup(wc_cache *cache, wc_owner *owner, uint64_t hash,
                  const void *key, wc__entry **found)
{
    unsigned restarts;
    for (restarts = 0; restarts <= WC_MAX_RESTARTS; restarts++) {
        const wc__group *g = NULL;
        UT_hash_table *tbl = cache->head->hh.tbl;
        UT_hash_handle *hh;
        uint32_t hashv;
        int changed = 0;

        if (owner != NULL) {
            g = group_find(owner, cache);
            if (g == NULL)
                return 0;   /* the owner has nothing in this cache */
        }
        hashv = mix_hash(hash, g);
        hh = tbl->buckets[hashv & (tbl->num_buckets - 1u)].hh_head;
        for (; hh != NULL; hh = hh->hh_next) {
            uint64_t version;
            int eq;
            if (hh->hashv != hashv || (const void *)hh->tbl != (const void *)g)
                continue;
            if (hh->key == key) {
                *found = (wc__entry *)(void *)hh;
                return 1;
            }
            if (cache->ops.equal == NULL)
                continue;   /* no callback: keys are equal only if identical */
            version = cache->version;
            eq = cache->ops.equal(cache->ctx, hh->key, key);
            if (eq < 0)
                return WC_ECALLBACK;
            if (cache->version != version) {
                changed = 1;
                break;
            }
            if (eq > 0) {
                *found = (wc__entry *)(void *)hh;
                return 1;
            }
        }
        if (!changed)
            return 0;
    }
    return WC_ECHANGED;
}

/* Make e the most recently used entry. */
static void lru_touch(wc_cache *cache, wc__entry *e)
{
    UT_hash_table *tbl = cache->head->hh.tbl;
    wc__entry *prev, *next;
    if (tbl->tail == &e->hh)
        return;
    prev = e->hh.prev;   /* never NULL: the sentinel is first */
    next = e->hh.next;   /* never NULL: e is not the tail */
    prev->hh.next = next;
    next->hh.prev = prev;
    e->hh.prev = ELMT_FROM_HH(tbl, tbl->tail);
    e->hh.next = NULL;
    tbl->tail->next = e;
    tbl->tail = &e->hh;
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

/* Evict least recently used entries until the limits hold, sparing `keep`. */
static void evict_to_limits(wc_cache *cache, const wc__entry *keep)
{
    wc_evict_cause cause;
    while (over_limits(cache, &cause)) {
        wc__entry *victim = cache->sentinel.hh.next;
        if (victim == keep)
            victim = victim->hh.next;
        if (victim == NULL)
            break;
        entry_unlink(cache, victim, cause);
    }
}

/* ------------------------------------------------------------------ */
/* Cache lifetime                                                      */
/* ------------------------------------------------------------------ */

/* The smallest config a caller can have: the 0.2.0 struct. */
#define CONFIG_MIN_SIZE (offsetof(wc_config, allocator) + sizeof(void *))

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
static int config_read(const wc_config *in, wc_config *cfg)
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
    return WC_OK;
}

int wc_cache_new(const wc_config *config_in, wc_cache **out)
{
    wc_config cfgbuf, *config = &cfgbuf;
    const wc_allocator *alloc;
    wc_cache *cache;
    wc__entry *head = NULL;

    if (out == NULL)
        return WC_EINVAL;
    *out = NULL;
    if (config_read(config_in, config) != WC_OK)
        return WC_EINVAL;
    alloc = config->allocator != NULL ? config->allocator : &wc__default_allocator;
    if (alloc->malloc == NULL || alloc->free == NULL)
        return WC_EINVAL;

    cache = alloc->malloc(alloc->ctx, sizeof *cache);
    if (cache == NULL)
        return WC_ENOMEM;
    memset(cache, 0, sizeof *cache);
    cache->alloc = *alloc;
    cache->max_entries = config->max_entries;
    cache->max_weight = config->max_weight;
    if (config->ops != NULL)
        cache->ops = *config->ops;
    cache->ctx = config->ops_ctx;

    /* Adding the sentinel creates the table; it stays the head for good. */
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, head, NULL, 0, 0, &cache->sentinel);
    if (head == NULL || cache->sentinel.hh.tbl == NULL) {
        alloc->free(alloc->ctx, cache, sizeof *cache);
        return WC_ENOMEM;
    }
    cache->head = head;
    *out = cache;
    return WC_OK;
}

/* Unlink every entry, oldest first. */
static void unlink_all(wc_cache *cache, wc_evict_cause cause)
{
    wc__entry *e;
    while ((e = cache->sentinel.hh.next) != NULL)
        entry_unlink(cache, e, cause);
}

/* Free the table and the cache itself; every entry is gone already. */
static void cache_destroy(wc_cache *cache)
{
    wc__entry *head = cache->head;
    wc_allocator alloc = cache->alloc;
    HASH_DELETE(hh, head, &cache->sentinel);   /* frees buckets and table */
    alloc.free(alloc.ctx, cache, sizeof *cache);
}

int wc_cache_free(wc_cache *cache)
{
    if (cache == NULL)
        return WC_OK;
    if (cache->closing)
        return WC_EBUSY;
    cache->closing = 1;
    if (cache->depth != 0) {   /* from a callback: rule 6 */
        cache->free_pending = 1;
        unlink_all(cache, WC_EVICT_CLEARED);
        return WC_OK;
    }
    enter(cache);
    unlink_all(cache, WC_EVICT_CLEARED);
    cache->free_pending = 1;
    leave(cache);   /* releases the entries, then the cache */
    return WC_OK;
}

/* ------------------------------------------------------------------ */
/* Get, put, remove, clear                                             */
/* ------------------------------------------------------------------ */

int wc_get(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key,
           void **value_out)
{
    wc__entry *e = NULL;
    int r;
    if (value_out != NULL)
        *value_out = NULL;
    if (cache == NULL || value_out == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    enter(cache);
    r = lookup(cache, owner, hash, key, &e);
    if (r == 1) {
        lru_touch(cache, e);
        cache->hits++;
        cache->moves++;
        *value_out = e->value;
        if (cache->ops.retain_value != NULL)
            cache->ops.retain_value(cache->ctx, e->value);
        r = WC_OK;
    } else if (r == 0) {
        cache->misses++;
        r = WC_NOTFOUND;
    }
    leave(cache);
    return r;
}

int wc_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *key,
           void *value, uint32_t weight)
{
    wc__entry *head, *e, *old = NULL;
    wc__group *g = NULL;
    int created = 0;
    size_t size = owner != NULL ? WC__OWNED_SIZE : WC__UNOWNED_SIZE;
    int r;

    if (cache == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    if (cache->max_weight != 0 && weight > cache->max_weight)
        return WC_ETOOBIG;
    e = wc__malloc(cache, size);
    if (e == NULL)
        return WC_ENOMEM;

    enter(cache);
    r = lookup(cache, owner, hash, key, &old);   /* the last callback (rule 4) */
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
        g = group_find(owner, cache);
        if (g == NULL) {
            g = group_new(owner, cache);
            if (g == NULL) {
                r = WC_ENOMEM;
                goto fail;
            }
            created = 1;
        }
    }
    e->value = value;
    head = cache->head;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, head, key, weight, mix_hash(hash, g), e);
    if (e->hh.tbl == NULL) {   /* bucket expansion failed; uthash rolled back */
        if (created)
            group_release(g);
        r = WC_ENOMEM;
        goto fail;
    }
    e->hh.tbl = (UT_hash_table *)(void *)g;
    if (g != NULL) {
        e->olink.next = &g->entries;
        e->olink.prev = g->entries.prev;
        g->entries.prev->next = &e->olink;
        g->entries.prev = &e->olink;
    }
    cache->size++;
    cache->weight += weight;
    cache->inserts++;
    cache->version++;
    if (r == 1)
        entry_unlink(cache, old, WC_EVICT_REPLACED);
    evict_to_limits(cache, e);
    leave(cache);
    return WC_OK;

fail:
    wc__free(cache, e, size);
    leave(cache);
    return r;
}

int wc_remove(wc_cache *cache, wc_owner *owner, uint64_t hash, const void *key)
{
    wc__entry *e = NULL;
    int r;
    if (cache == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    enter(cache);
    r = lookup(cache, owner, hash, key, &e);
    if (r == 1) {
        entry_unlink(cache, e, WC_EVICT_REMOVED);
        r = WC_OK;
    } else if (r == 0) {
        r = WC_NOTFOUND;
    }
    leave(cache);
    return r;
}

int wc_clear(wc_cache *cache)
{
    if (cache == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    enter(cache);
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
        entry_unlink(cache, container_of(l, wc__entry, olink), cause);
        if (last)
            return;   /* g was released with its last entry */
    }
}

int wc_cache_clear_owner(wc_cache *cache, wc_owner *owner)
{
    if (cache == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    enter(cache);
    if (owner != NULL) {
        wc__group *g = group_find(owner, cache);
        if (g != NULL)
            unlink_group(cache, g, WC_EVICT_CLEARED);
    } else {
        wc__entry *e = cache->sentinel.hh.next;
        while (e != NULL) {
            wc__entry *next = e->hh.next;
            if (entry_group(e) == NULL)
                entry_unlink(cache, e, WC_EVICT_CLEARED);
            e = next;
        }
    }
    leave(cache);
    return WC_OK;
}

int wc_cache_set_limits(wc_cache *cache, size_t max_entries, uint64_t max_weight)
{
    wc__entry *e;
    if (cache == NULL)
        return WC_EINVAL;
    if (cache->closing)
        return WC_EBUSY;
    enter(cache);
    cache->max_entries = max_entries;
    cache->max_weight = max_weight;
    /* Entries that can never fit go first, whatever their age. */
    if (max_weight != 0) {
        e = cache->sentinel.hh.next;
        while (e != NULL) {
            wc__entry *next = e->hh.next;
            if (e->hh.keylen > max_weight)
                entry_unlink(cache, e, WC_EVICT_WEIGHT);
            e = next;
        }
    }
    evict_to_limits(cache, NULL);
    leave(cache);
    return WC_OK;
}

/* ------------------------------------------------------------------ */
/* Owners                                                              */
/* ------------------------------------------------------------------ */

int wc_owner_release(wc_owner *owner)
{
    if (owner == NULL)
        return WC_EINVAL;
    for (;;) {
        wc__group *g;
        wc_cache *cache;
        for (g = &owner->wc__first; g != NULL && g->cache == NULL; g = g->next)
            ;
        if (g == NULL)
            return WC_OK;
        cache = g->cache;
        enter(cache);
        unlink_group(cache, g, WC_EVICT_OWNER);
        leave(cache);   /* callbacks may change the owner: start over */
    }
}

size_t wc_owner_count(const wc_owner *owner, const wc_cache *cache)
{
    const wc__group *g;
    size_t n = 0;
    if (owner == NULL)
        return 0;
    for (g = &owner->wc__first; g != NULL; g = g->next) {
        const struct wc__link *l;
        if (g->cache == NULL || (cache != NULL && g->cache != cache))
            continue;
        for (l = g->entries.next; l != &g->entries; l = l->next)
            n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Stats and iteration                                                 */
/* ------------------------------------------------------------------ */

int wc_cache_stats_size(const wc_cache *cache, wc_stats *out, size_t size)
{
    wc_stats st;
    if (cache == NULL || out == NULL)
        return WC_EINVAL;
    memset(&st, 0, sizeof st);
    st.hits = cache->hits;
    st.misses = cache->misses;
    st.inserts = cache->inserts;
    memcpy(st.evictions, cache->evictions, sizeof cache->evictions);
    st.size = cache->size;
    st.weight = cache->weight;
    st.max_entries = cache->max_entries;
    st.max_weight = cache->max_weight;
    st.noexpand = cache->noexpand;
    if (size > sizeof st) {
        memset((char *)out + sizeof st, 0, size - sizeof st);
        size = sizeof st;
    }
    memcpy(out, &st, size);
    return WC_OK;
}

void wc__debug_table(const wc_cache *cache, wc__table_info *out)
{
    const UT_hash_table *tbl = cache->head->hh.tbl;
    unsigned i;
    memset(out, 0, sizeof *out);
    out->buckets = tbl->num_buckets;
    out->items = tbl->num_items - 1u;
    out->noexpand = tbl->noexpand;
    for (i = 0; i < tbl->num_buckets; i++)
        if (tbl->buckets[i].count > out->max_chain)
            out->max_chain = tbl->buckets[i].count;
}

size_t wc_cache_size(const wc_cache *cache)
{
    return cache != NULL ? cache->size : 0;
}

void wc_iter_init(wc_iter *it, wc_cache *cache)
{
    if (it == NULL)
        return;
    memset(it, 0, sizeof *it);
    it->wc__cache = cache;
    if (cache != NULL) {
        wc__entry *tail = ELMT_FROM_HH(cache->head->hh.tbl, cache->head->hh.tbl->tail);
        it->wc__next = tail != &cache->sentinel ? tail : NULL;
        it->wc__version = cache->version + cache->moves;
    }
}

int wc_iter_next(wc_iter *it, wc_item *out)
{
    wc__entry *e;
    wc__group *g;
    if (it == NULL || out == NULL || it->wc__cache == NULL)
        return WC_EINVAL;
    if (it->wc__version != it->wc__cache->version + it->wc__cache->moves)
        return WC_ECHANGED;
    e = it->wc__next;
    if (e == NULL)
        return 0;
    g = entry_group(e);
    out->key = e->hh.key;
    out->value = e->value;
    out->owner = g != NULL ? g->owner : NULL;
    out->weight = e->hh.keylen;
    it->wc__next = e->hh.prev != &it->wc__cache->sentinel ? e->hh.prev : NULL;
    return 1;
}
