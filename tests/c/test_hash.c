/*
 * test_hash.c - the hash index stays a hash table at scale: the (owner, key)
 * combination spreads raw small-int hashes (Python's hash(i) == i), integral
 * floats (hash(2.0) == 2), address-hashed keys and many owners, so that
 * probe runs of the open-addressing index stay short.
 * Regression tests for issue 9, defect 1: mix_hash used to XOR the key hash
 * with the group address before mixing, so distinct (owner, key) pairs had
 * equal hashes (uthash, the index then, froze its table; with open
 * addressing they form long probe runs: test_many_owners_spaced_ints sees
 * runs of 1,546 slots with that mix, 20-odd with this one).
 * Also: backward-shift deletion keeps every entry findable, against a model,
 * and the index shrinks once most entries are gone.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_NORESERVE (far_alloc) */
#include "testutil.h"

#include "debug.h"

#include <sys/mman.h>

/* Linear probing at a load of at most 3/4: with hashes that behave like
 * random ones, the mean run is about 2.5 slots and the longest a few dozen
 * at 200,000 entries (it grows like log n). Colliding hashes would make
 * runs of thousands. */
#define MAX_PROBE 128
#define MAX_MEAN_PROBE 3.0

typedef struct scale {
    size_t owners;          /* 0: unowned entries */
    size_t keys_per_owner;
    uint64_t (*hash)(size_t key);
} scale;

static uint64_t raw_int(size_t k) { return (uint64_t)k; }
/* Small ints spaced like addresses (sizes, offsets): with a mix that XORs
 * the key hash with the owner's address first, owners whose addresses XOR
 * to k1 ^ k2 collide exactly, many of them when both are multiples of 16. */
static uint64_t raw_int16(size_t k) { return (uint64_t)k * 16u; }
/* CPython: hash(-1) is -2, other small ints hash to themselves; integral
 * floats hash like the int. Negative small ints, as 64-bit patterns. */
static uint64_t raw_negative(size_t k) { return (uint64_t)-(int64_t)(k + 2); }
/* CPython's default object hash: the address rotated right by 4. */
static uint64_t addr_hash(size_t k)
{
    uint64_t a = 0x7f3a12400000ull + (uint64_t)k * 48u;
    return (a >> 4) | (a << 60);
}

static void check_scale(const scale *sc, const char *what)
{
    wc_owner *owners = NULL;
    wc_cache *c = NULL;
    wc__table_info ti;
    wc_stats st;
    size_t o, k, n = 0;

    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    if (sc->owners > 0) {
        owners = (wc_owner *)calloc(sc->owners, sizeof *owners);
        ck_assert_ptr_nonnull(owners);
        for (o = 0; o < sc->owners; o++)
            wc_owner_init(&owners[o]);
    }
    for (o = 0; o < (sc->owners ? sc->owners : 1); o++)
        for (k = 0; k < sc->keys_per_owner; k++) {
            /* pointer keys: the key's identity is (o, k) */
            void *key = (void *)(uintptr_t)(1 + o * sc->keys_per_owner + k);
            TU_REQUIRE_EQ(wc_put(c, owners ? &owners[o] : NULL, sc->hash(k),
                                 key, key, 1), WC_OK);
            n++;
        }
    ck_assert_uint_eq(wc_cache_size(c), n);
    wc__debug_table(c, &ti);
    wc_cache_stats(c, &st);
    ck_assert_uint_eq(ti.items, n);
    ck_assert_msg(ti.max_probe <= MAX_PROBE,
                  "%s: longest probe run %zu (slots %zu, entries %zu)", what,
                  ti.max_probe, ti.slots, n);
    ck_assert_msg((double)ti.probe_total / (double)n <= MAX_MEAN_PROBE,
                  "%s: mean probe run %.2f (slots %zu, entries %zu)", what,
                  (double)ti.probe_total / (double)n, ti.slots, n);
    /* the load never passes 3/4; the stats' high-water mark covers every
     * run now in the index (deletions only shorten runs) */
    ck_assert_uint_le(n, ti.slots - ti.slots / 4);
    ck_assert_uint_ge(st.longest_probe, ti.max_probe);
    ck_assert_uint_eq(st.noexpand, 0);
    /* and every entry is found */
    for (o = 0; o < (sc->owners ? sc->owners : 1); o += 7)
        for (k = 0; k < sc->keys_per_owner; k += 3) {
            void *key = (void *)(uintptr_t)(1 + o * sc->keys_per_owner + k);
            void *v = NULL;
            TU_REQUIRE_EQ(wc_get(c, owners ? &owners[o] : NULL, sc->hash(k),
                                 key, &v), WC_OK);
            TU_REQUIRE(v == key, "%s: wrong value", what);
        }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    free(owners);
}

START_TEST(test_many_owners_small_ints)
{
    scale sc = {(size_t)tu_scale(2000, 500), 100, raw_int};
    check_scale(&sc, "2000 owners x 100 small ints");
    sc.hash = raw_negative;
    check_scale(&sc, "2000 owners x 100 negative small ints");
}
END_TEST

START_TEST(test_many_owners_spaced_ints)
{
    scale sc = {(size_t)tu_scale(500, 250), 400, raw_int16};
    check_scale(&sc, "500 owners x 400 ints spaced by 16");
}
END_TEST

START_TEST(test_one_owner_many_ints)
{
    scale sc = {1, (size_t)tu_scale(200000, 50000), raw_int};
    check_scale(&sc, "1 owner x 200000 small ints");
    sc.hash = addr_hash;
    check_scale(&sc, "1 owner x 200000 address-hashed keys");
}
END_TEST

START_TEST(test_unowned_many_ints)
{
    scale sc = {0, (size_t)tu_scale(200000, 50000), raw_int};
    check_scale(&sc, "unowned x 200000 small ints");
}
END_TEST

static uint64_t const_hash(size_t k) { (void)k; return 1; }

START_TEST(test_many_owners_one_key)
{
    /* the same key (hash 1) under 200,000 owners: only the owner differs */
    scale sc = {(size_t)tu_scale(200000, 50000), 1, const_hash};
    check_scale(&sc, "200000 owners x 1 key");
    sc.hash = raw_int;
    sc.keys_per_owner = 2;
    check_scale(&sc, "200000 owners x keys 0, 1");
}
END_TEST

START_TEST(test_real_collisions_are_counted)
{
    /* Keys whose caller hashes are all equal cannot be split by any table:
     * they form one probe run, and the stats say so. (The cache still
     * works, by walking the run with the equal callback / identity.) */
    wc_cache *c = NULL;
    wc_stats st;
    uintptr_t k;
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (k = 1; k <= 2000; k++)
        ck_assert_int_eq(wc_put(c, NULL, 7, (void *)k, (void *)k, 1), WC_OK);
    wc_cache_stats(c, &st);
    ck_assert_uint_ge(st.longest_probe, 2000);
    for (k = 1; k <= 2000; k += 97) {
        void *v;
        ck_assert_int_eq(wc_get(c, NULL, 7, (void *)k, &v), WC_OK);
        ck_assert_ptr_eq(v, (void *)k);
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* A small xorshift generator: the same sequence on every run. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Random puts and removes of keys 1..NKEYS with a few hashes shared by many
 * keys (so that runs are long and backward shifts move entries across
 * other keys' homes, and across the end of the slot array), checked
 * against a model after every step: each key is found iff the model has
 * it, with its value. */
#define NKEYS 300
START_TEST(test_remove_keeps_runs_findable)
{
    static const uint64_t hashes[] = {1, 2, 3, 0xffffffffffffffffull, 42};
    void *model[NKEYS + 1] = {0};
    wc_cache *c = NULL;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int step;
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (step = 0; step < (int)tu_scale(20000, 5000); step++) {
        uintptr_t k = 1 + (uintptr_t)(rng_next(&rng) % NKEYS);
        uint64_t h = hashes[k % 5] + (k % 7 == 0 ? k : 0);
        uintptr_t j;
        if (rng_next(&rng) % 3 != 0) {
            void *v = (void *)(uintptr_t)(step + 1);
            int r = wc_put(c, NULL, h, (void *)k, v, 1);
            TU_REQUIRE(r >= 0, "put: %s", wc_strerror(r));
            model[k] = v;
        } else {
            int r = wc_remove(c, NULL, h, (void *)k);
            TU_REQUIRE_EQ(r, model[k] != NULL ? WC_OK : WC_NOTFOUND);
            model[k] = NULL;
        }
        if (step % 37 != 0)
            continue;
        for (j = 1; j <= NKEYS; j++) {
            uint64_t hj = hashes[j % 5] + (j % 7 == 0 ? j : 0);
            void *v = NULL;
            int r = wc_peek(c, NULL, hj, (void *)j, &v);
            TU_REQUIRE_EQ(r, model[j] != NULL ? WC_OK : WC_NOTFOUND);
            TU_REQUIRE(v == model[j], "key %zu: wrong value", (size_t)j);
        }
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

START_TEST(test_index_shrinks)
{
    wc_cache *c = NULL;
    wc__table_info ti;
    uintptr_t k, n = (uintptr_t)tu_scale(100000, 20000);
    size_t big;
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (k = 1; k <= n; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, k, (void *)k, (void *)k, 1), WC_OK);
    wc__debug_table(c, &ti);
    big = ti.slots;
    ck_assert_uint_ge(big, n + n / 3);
    /* remove all but 10: the index comes down to its smallest sizes */
    for (k = 11; k <= n; k++)
        TU_REQUIRE_EQ(wc_remove(c, NULL, k, (void *)k), WC_OK);
    wc__debug_table(c, &ti);
    ck_assert_uint_le(ti.slots, 128);
    ck_assert_uint_eq(ti.items, 10);
    for (k = 1; k <= 10; k++) {
        void *v = NULL;
        TU_REQUIRE_EQ(wc_get(c, NULL, k, (void *)k, &v), WC_OK);
        TU_REQUIRE(v == (void *)k, "wrong value");
    }
    ck_assert_int_eq(wc_clear(c), WC_OK);
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.slots, 8);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* Caller hashes chosen by inverting mix_hash, so that mixed hashes land
 * on chosen home slots, most of them in the last slots (runs wrap around
 * the end of the array), while the index grows and shrinks (from the
 * review of the index). */
static uint64_t inv_odd(uint64_t a)
{
    uint64_t x = a;   /* Newton: x = x * (2 - a*x) */
    int i;
    for (i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* The caller hash h with mix_hash(h, NULL) == y. */
static uint64_t unmix(uint64_t y)
{
    uint64_t x = y * inv_odd(0x9E3779B97F4A7C15ull);
    x ^= x >> 32;
    return x * inv_odd(0x94D049BB133111EBull);
}


#define NK 2000
START_TEST(test_crafted_homes_wrap)
{
    static void *model[NK + 1];
    static uint64_t hk[NK + 1];
    wc_cache *c = NULL;
    uint64_t s = 88172645463325252ull;
    uintptr_t k;
    int step;

    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (k = 1; k <= NK; k++) {
        /* top bits all ones for 3/4 of the keys (home = last slots at any
         * k), random low bits; the full hash differs per key */
        uint64_t y = rng_next(&s);
        if (k % 4 != 0)
            y |= 0xfff0000000000000ull;
        hk[k] = unmix(y);
        ck_assert(wc__debug_hash(hk[k], NULL) == y);
    }
    for (step = 0; step < 200000; step++) {
        uintptr_t j, lim = (step / 20000) % 2 ? 40 : NK;   /* grow and shrink */
        k = 1 + (uintptr_t)(rng_next(&s) % lim);
        if (rng_next(&s) % 2) {
            void *v = (void *)(uintptr_t)(step + 1);
            TU_REQUIRE(wc_put(c, NULL, hk[k], (void *)k, v, 1) >= 0, "put");
            model[k] = v;
        } else {
            int r = wc_remove(c, NULL, hk[k], (void *)k);
            TU_REQUIRE_EQ(r, model[k] != NULL ? WC_OK : WC_NOTFOUND);
            model[k] = NULL;
        }
        if (step % 101 != 0)
            continue;
        for (j = 1; j <= NK; j++) {
            void *v = NULL;
            int r = wc_peek(c, NULL, hk[j], (void *)j, &v);
            TU_REQUIRE_EQ(r, model[j] != NULL ? WC_OK : WC_NOTFOUND);
            TU_REQUIRE(v == model[j], "value");
        }
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST


/* A put that replaces an entry (size unchanged) at the 3/4 boundary: the
 * index has 2 free slots of 8 and the insert-then-unlink needs only one; it
 * must not double the index first (and fail under memory pressure, as it
 * did before the review). */
START_TEST(test_replace_at_boundary_needs_no_growth)
{
    tu_alloc a;
    wc_config cfg;
    wc_cache *c = NULL;
    wc__table_info ti;
    uintptr_t k;
    void *v = NULL;
    tu_alloc_init(&a);
    wc_config_init(&cfg);
    cfg.allocator = &a.hooks;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    for (k = 1; k <= 6; k++)   /* 6 of 8 slots: the 3/4 limit */
        ck_assert_int_eq(wc_put(c, NULL, k, (void *)k, (void *)k, 1), WC_OK);
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.slots, 8);
    tu_alloc_fail_in(&a, 2);   /* the entry succeeds, a second block fails */
    ck_assert_int_eq(wc_put(c, NULL, 1, (void *)1, (void *)100, 1), WC_KEPT_KEY);
    ck_assert_int_eq(wc_get(c, NULL, 1, (void *)1, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)100);
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.slots, 8);   /* no growth for a replace */
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
}
END_TEST

/* A shrink whose allocation fails leaves the index as it is (every entry
 * still found), and is not tried again on every later call while the
 * allocator keeps failing; once the index changes size again, shrinking
 * works again. */
START_TEST(test_failed_shrink_is_not_retried_on_every_call)
{
    tu_alloc a;
    wc_config cfg;
    wc_cache *c = NULL;
    wc__table_info ti;
    uintptr_t k;
    size_t big;
    long failed;
    tu_alloc_init(&a);
    wc_config_init(&cfg);
    cfg.allocator = &a.hooks;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    for (k = 1; k <= 1000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, k, (void *)k, (void *)k, 1), WC_OK);
    wc__debug_table(c, &ti);
    big = ti.slots;
    a.fail_all = 1;
    for (k = 11; k <= 1000; k++)   /* removals allocate nothing themselves */
        TU_REQUIRE_EQ(wc_remove(c, NULL, k, (void *)k), WC_OK);
    failed = (long)a.n_failed;
    ck_assert_int_eq(failed, 1);   /* one shrink tried, not one per remove */
    for (k = 1; k <= 10; k++) {
        void *v = NULL;
        TU_REQUIRE_EQ(wc_peek(c, NULL, k, (void *)k, &v), WC_OK);
        TU_REQUIRE(v == (void *)k, "wrong value");
    }
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.slots, big);
    a.fail_all = 0;
    /* grow (a resize), then empty it: the shrink is tried and works */
    for (k = 11; k <= 2000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, k, (void *)k, (void *)k, 1), WC_OK);
    ck_assert_int_eq(wc_clear(c), WC_OK);
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.slots, 8);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
}
END_TEST

/* Slots keep tag bits in the low bits of entry addresses. An allocator
 * whose blocks are 8-aligned but not 16-aligned (a pool allocator may do
 * that) makes the index use fewer tag bits: every entry, those stored
 * before and after, is still found. A block not even aligned for an entry
 * is refused with WC_EINVAL, and nothing leaks. */
typedef struct offset_alloc {
    size_t shift;        /* bytes added to a 16-aligned malloc block */
    size_t live;
    long after;          /* the first `after` blocks come unshifted */
} offset_alloc;

/* A malloc block (16-aligned) plus 16 plus the shift: `shift` past a
 * multiple of 16; the free takes the shift back from the address. */
static void *off_malloc(void *ctx, size_t size)
{
    offset_alloc *a = (offset_alloc *)ctx;
    size_t shift = a->after > 0 ? 0 : a->shift;
    char *p = (char *)malloc(size + 32);
    if (p == NULL)
        return NULL;
    if (a->after > 0)
        a->after--;
    a->live++;
    return p + 16 + shift;
}

static void off_free(void *ctx, void *ptr, size_t size)
{
    offset_alloc *a = (offset_alloc *)ctx;
    uintptr_t u = (uintptr_t)ptr;
    (void)size;
    a->live--;
    free((char *)ptr - 16 - (u & 15));
}

START_TEST(test_less_aligned_allocator)
{
    offset_alloc oa = {8, 0, 40};
    wc_allocator hooks = {off_malloc, off_free, &oa};
    wc__table_info ti;
    wc_config cfg;
    wc_cache *c = NULL;
    uintptr_t k;
    if (sizeof(void *) < 8)
        return;   /* 32-bit: 8-aligned is all an entry needs, nothing to test */
    wc_config_init(&cfg);
    cfg.allocator = &hooks;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    /* the first blocks (cache, index, first entries) are 16-aligned, then
     * every block is 8 past a multiple of 16 */
    for (k = 1; k <= 3000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, k * 0x9E3779B97F4A7C15ull, (void *)k,
                             (void *)k, 1), WC_OK);
    for (k = 1; k <= 3000; k++) {
        void *v = NULL;
        TU_REQUIRE_EQ(wc_get(c, NULL, k * 0x9E3779B97F4A7C15ull, (void *)k, &v),
                      WC_OK);
        TU_REQUIRE(v == (void *)k, "wrong value");
    }
    for (k = 1; k <= 3000; k += 2)
        TU_REQUIRE_EQ(wc_remove(c, NULL, k * 0x9E3779B97F4A7C15ull, (void *)k), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 1500);
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.tag_mask, 7);   /* from 4 tag bits down to 3 */
    ck_assert_uint_eq(ti.items, 1500);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_uint_eq(oa.live, 0);

    /* blocks 4 past a multiple of 16: not aligned for an entry */
    oa.shift = 4;
    oa.after = 2;   /* the cache and its index */
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 1, (void *)1, (void *)1, 1), WC_EINVAL);
    ck_assert_uint_eq(wc_cache_size(c), 0);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_uint_eq(oa.live, 0);
}
END_TEST

/* A nested put (from `equal`) that lowers tag_mask: the outer lookup must
 * start over, not go on with the tag it computed under the old mask
 * (`s ^ tag` would then flip bit 3 of the address: a false miss or a read
 * off the entry). From the second review of the index. The put retags
 * after its own lookup, just before it links the entry. */
typedef struct stale_ctx {
    wc_cache *c;
    offset_alloc *oa;
    uint64_t hash;
    int done, nested, nested_r;
} stale_ctx;

static int stale_equal(void *ctx, const void *stored, const void *probe)
{
    stale_ctx *s = (stale_ctx *)ctx;
    (void)stored;
    (void)probe;
    if (s->nested)
        return 0;    /* the nested put's lookup: distinct keys */
    if (!s->done) {
        s->done = 1;
        s->nested = 1;
        s->oa->after = 0;   /* the nested put's entry block: 8 past 16 */
        s->nested_r = wc_put(s->c, NULL, s->hash, (void *)0x300, (void *)3, 1);
        s->nested = 0;
    }
    return 0;   /* distinct pointers: distinct keys */
}

START_TEST(test_retag_during_equal_keeps_lookup_right)
{
    offset_alloc oa = {8, 0, 1000000};
    wc_allocator hooks = {off_malloc, off_free, &oa};
    stale_ctx sc = {NULL, &oa, 0, 1, 0, 0};   /* armed below */
    wc_ops ops = {0};
    wc_config cfg;
    void *v = NULL;
    uint64_t h = 1;
    if (sizeof(void *) < 8)
        return;
    while (!((wc__debug_hash(h, NULL) >> 35) & 1u))   /* tag bit 3 set: hhi & 8 */
        h++;
    sc.hash = h;
    ops.equal = stale_equal;
    wc_config_init(&cfg);
    cfg.allocator = &hooks;
    cfg.ops = &ops;
    cfg.ops_ctx = &sc;
    ck_assert_int_eq(wc_cache_new(&cfg, &sc.c), WC_OK);
    ck_assert_int_eq(wc_put(sc.c, NULL, h, (void *)0x100, (void *)1, 1), WC_OK);
    ck_assert_int_eq(wc_put(sc.c, NULL, h, (void *)0x200, (void *)2, 1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(sc.c), 2);
    /* 0x200 sits after 0x100 in the run: equal(0x100, 0x200) runs first */
    sc.done = 0;
    ck_assert_int_eq(wc_get(sc.c, NULL, h, (void *)0x200, &v), WC_OK);
    ck_assert_int_eq(sc.nested_r, WC_OK);
    ck_assert_ptr_eq(v, (void *)2);
    {
        wc__table_info ti;
        wc__debug_table(sc.c, &ti);
        ck_assert_uint_eq(ti.tag_mask, 7);   /* the nested put retagged */
        ck_assert_uint_eq(ti.items, 3);
    }
    ck_assert_int_eq(wc_cache_free(sc.c), WC_OK);
    ck_assert_uint_eq(oa.live, 0);
}
END_TEST

START_TEST(test_unowned_probe_never_takes_an_owned_entry)
{
    /* A lookup without an owner skips the entry's owner field while the
     * cache holds no owned entry (wc_cache.owned == 0). Here an owned entry
     * and the unowned probe share the home slot and the tag, with the same
     * key pointer and hash: the probe must still miss it, and must find the
     * unowned entry once there is one, and after the owned one is gone. */
    wc_cache *c = NULL;
    wc_owner o;
    void *v = NULL, *key = (void *)0x100;
    uint64_t h = 0, a, n;
    for (;; h++) {   /* 8 slots: home = top 3 bits; tag = bits 32-35 */
        a = wc__debug_hash(h, &o);
        n = wc__debug_hash(h, NULL);
        if (a >> 61 == n >> 61 && ((a >> 32) & 15u) == ((n >> 32) & 15u))
            break;
    }
    wc_owner_init(&o);
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    ck_assert_int_eq(wc_put(c, &o, h, key, (void *)1, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, h, key, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_peek(c, NULL, h, key, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_put(c, NULL, h, key, (void *)2, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, h, key, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)2);
    ck_assert_int_eq(wc_get(c, &o, h, key, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)1);
    /* the owned entry goes: unowned lookups still find theirs, owned miss */
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, h, key, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)2);
    ck_assert_int_eq(wc_get(c, &o, h, key, &v), WC_NOTFOUND);
    /* and back: an owned entry again, alone with an unowned probe */
    ck_assert_int_eq(wc_remove(c, NULL, h, key), WC_OK);
    ck_assert_int_eq(wc_put(c, &o, h, key, (void *)3, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, h, key, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* The index stores 4-byte slots (offsets from a base) while every entry
 * lies within 4 GiB of the base, else 8-byte ones. far_alloc hands out
 * blocks from two regions 6 GiB apart, reserved with one mmap (PROT_NONE
 * in between: no memory is used there), so a test can place entries out of
 * the narrow window at will. A bump allocator: free only counts. */
#define FAR_GAP ((size_t)6 << 30)
#define FAR_REGION ((size_t)64 << 20)

typedef struct far_alloc {
    char *base;
    size_t used[2];   /* bump offsets in region 0 and region 1 */
    int region;       /* where the blocks come from */
    int next_far;     /* the next block only: from region 1 */
    size_t next_shift;   /* the next block only: this many bytes past 16 */
    size_t live;
    long fail_in;     /* > 0: the fail_in-th block from now is refused */
} far_alloc;

static void *far_malloc(void *ctx, size_t size)
{
    far_alloc *a = (far_alloc *)ctx;
    int region = a->next_far ? 1 : a->region;
    size_t shift = a->next_shift;
    char *p;
    a->next_far = 0;
    a->next_shift = 0;
    if (a->fail_in > 0 && --a->fail_in == 0)
        return NULL;
    size = (size + shift + 15) & ~(size_t)15;
    if (a->used[region] + size > FAR_REGION)
        return NULL;
    p = a->base + (region ? FAR_GAP : 0) + a->used[region];
    a->used[region] += size;
    a->live++;
    return p + shift;
}

static void far_free(void *ctx, void *ptr, size_t size)
{
    far_alloc *a = (far_alloc *)ctx;
    (void)ptr;
    (void)size;
    a->live--;
}

static void far_init(far_alloc *a)
{
    void *m;
    memset(a, 0, sizeof *a);
    m = mmap(NULL, FAR_GAP + FAR_REGION, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert_msg(m != MAP_FAILED, "cannot reserve %zu bytes of address space",
                  FAR_GAP + FAR_REGION);
    a->base = (char *)m;
    ck_assert_int_eq(mprotect(a->base, FAR_REGION, PROT_READ | PROT_WRITE), 0);
    ck_assert_int_eq(mprotect(a->base + FAR_GAP, FAR_REGION, PROT_READ | PROT_WRITE), 0);
}

static void far_destroy(far_alloc *a)
{
    ck_assert_uint_eq(a->live, 0);
    munmap(a->base, FAR_GAP + FAR_REGION);
}

/* A cache whose blocks come from fa, set up here (the cache keeps copies
 * of the hooks, the ops and the config). */
static wc_cache *far_cache(far_alloc *fa, const wc_ops *ops, void *ops_ctx,
                           size_t max_entries)
{
    wc_allocator hooks = {far_malloc, far_free, NULL};
    wc_config cfg;
    wc_cache *c = NULL;
    far_init(fa);
    hooks.ctx = fa;
    wc_config_init(&cfg);
    cfg.allocator = &hooks;
    cfg.ops = ops;
    cfg.ops_ctx = ops_ctx;
    cfg.max_entries = max_entries;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    return c;
}

static uint64_t far_hash(uintptr_t k) { return k * 0x9E3779B97F4A7C15ull; }

static void far_require(wc_cache *c, uintptr_t from, uintptr_t to)
{
    uintptr_t k;
    for (k = from; k <= to; k++) {
        void *v = NULL;
        TU_REQUIRE_EQ(wc_get(c, NULL, far_hash(k), (void *)k, &v), WC_OK);
        TU_REQUIRE(v == (void *)k, "key %lu: wrong value", (unsigned long)k);
        TU_REQUIRE_EQ(wc_peek(c, NULL, far_hash(k), (void *)k, &v), WC_OK);
    }
}

static size_t far_slot_bytes(wc_cache *c)
{
    wc__table_info ti;
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.items, wc_cache_size(c));
    return ti.slot_bytes;
}

START_TEST(test_index_widens_and_narrows)
{
    far_alloc fa;
    wc_cache *c;
    uintptr_t k;
    if (sizeof(void *) < 8)
        return;   /* 32-bit: every address fits a narrow slot */
    c = far_cache(&fa, NULL, NULL, 0);
    for (k = 1; k <= 2000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    /* entries 6 GiB away: the index turns wide, every entry is found */
    fa.region = 1;
    for (k = 2001; k <= 4000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    far_require(c, 1, 4000);
    /* the near entries go, and most far ones: the index shrinks, and its
     * entries now fit one window: narrow again, centred on them */
    for (k = 1; k <= 3800; k++)
        TU_REQUIRE_EQ(wc_remove(c, NULL, far_hash(k), (void *)k), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 200);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 3801, 4000);
    /* emptied, then filled from the other region: the window moves with
     * the first entry, no widening */
    ck_assert_int_eq(wc_clear(c), WC_OK);
    fa.region = 0;
    ck_assert_int_eq(wc_put(c, NULL, far_hash(1), (void *)1, (void *)1, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 1, 1);
    /* widening needs a new array: if that allocation fails, so does the
     * put, and the cache is as it was */
    fa.region = 1;
    fa.fail_in = 2;   /* the entry's block, then the wide array: refused */
    ck_assert_int_eq(wc_put(c, NULL, far_hash(2), (void *)2, (void *)2, 1), WC_ENOMEM);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 1, 1);
    ck_assert_int_eq(wc_put(c, NULL, far_hash(2), (void *)2, (void *)2, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    far_require(c, 1, 2);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    far_destroy(&fa);
}
END_TEST

/* A put from `equal` that fails once the index is being made ready for
 * its entry: a misaligned block (WC_EINVAL), or a block out of the narrow
 * window when the index must grow with it and the wide array cannot be
 * allocated (WC_ENOMEM); or that first retags (a block 8 past 16) and then
 * fails to widen; or that succeeds, growing and widening the index. The
 * outer lookup, a get or a replacing put, must still see every entry: the
 * index is unchanged, or its version moved. From the third review of the
 * index (a growth without a version bump, then a failure, left the outer
 * lookup on a rebuilt array). */
typedef struct fail_ctx {
    wc_cache *c;
    far_alloc *fa;
    uint64_t hash;
    int mode;      /* 0: misaligned; 1: far, wide array refused; 2: retag
                      too; 3: far, and the put succeeds */
    int armed, nested_r;
} fail_ctx;

static int fail_equal(void *ctx, const void *stored, const void *probe)
{
    fail_ctx *f = (fail_ctx *)ctx;
    (void)stored;
    (void)probe;
    if (!f->armed)
        return 0;
    f->armed = 0;
    if (f->mode == 0) {
        f->fa->next_shift = 4;
    } else {
        f->fa->next_far = 1;
        f->fa->next_shift = f->mode == 2 ? 8 : 0;
        if (f->mode != 3)
            f->fa->fail_in = 2;   /* the entry's block, then the wide array */
    }
    f->nested_r = wc_put(f->c, NULL, f->hash, (void *)0x7000, (void *)7, 1);
    return 0;   /* distinct pointers: distinct keys */
}

START_TEST(test_failed_nested_put_keeps_outer_lookup_right)
{
    int mode, outer_put;
    if (sizeof(void *) < 8)
        return;
    for (mode = 0; mode <= 3; mode++)
        for (outer_put = 0; outer_put <= 1; outer_put++) {
            far_alloc fa;
            fail_ctx fc;
            wc_ops ops = {0};
            wc__table_info ti;
            void *v = NULL;
            uintptr_t k;
            memset(&fc, 0, sizeof fc);
            fc.fa = &fa;
            fc.mode = mode;
            /* one hash for every key, home slot 3 of 8, tag bit 3 set (a
             * stale 4-bit tag then flips an address bit under 3 bits) */
            while (wc__debug_hash(fc.hash, NULL) >> 61 != 3 ||
                   !((wc__debug_hash(fc.hash, NULL) >> 35) & 1u))
                fc.hash++;
            ops.equal = fail_equal;
            fc.c = far_cache(&fa, &ops, &fc, 0);
            /* 6 of 8 slots: the nested put must grow the index */
            for (k = 1; k <= 6; k++)
                ck_assert_int_eq(wc_put(fc.c, NULL, fc.hash, (void *)(k << 8),
                                        (void *)k, 1), WC_OK);
            fc.armed = 1;
            if (!outer_put) {
                ck_assert_int_eq(wc_get(fc.c, NULL, fc.hash, (void *)0x600, &v), WC_OK);
                ck_assert_ptr_eq(v, (void *)6);
            } else {
                ck_assert_int_ge(wc_put(fc.c, NULL, fc.hash, (void *)0x600,
                                        (void *)66, 1), 0);
                ck_assert_int_eq(wc_get(fc.c, NULL, fc.hash, (void *)0x600, &v), WC_OK);
                ck_assert_ptr_eq(v, (void *)66);
            }
            ck_assert_int_eq(fc.nested_r, mode == 0   ? WC_EINVAL
                                          : mode == 3 ? WC_OK
                                                      : WC_ENOMEM);
            ck_assert_uint_eq(wc_cache_size(fc.c), mode == 3 ? 7 : 6);
            wc__debug_table(fc.c, &ti);
            ck_assert_uint_eq(ti.items, mode == 3 ? 7 : 6);
            ck_assert_uint_eq(ti.slot_bytes, mode == 3 ? 8 : 4);
            ck_assert_uint_eq(ti.tag_mask, mode == 2 ? 7 : 15);
            fc.armed = 0;
            for (k = 1; k <= 6; k++)
                ck_assert_int_eq(wc_peek(fc.c, NULL, fc.hash, (void *)(k << 8), &v), WC_OK);
            if (mode == 3)
                ck_assert_int_eq(wc_peek(fc.c, NULL, fc.hash, (void *)0x7000, &v), WC_OK);
            ck_assert_int_eq(wc_cache_free(fc.c), WC_OK);
            far_destroy(&fa);
        }
}
END_TEST

/* A wide index answers hits and misses, owned and unowned; a bounded
 * cache, which never resizes once full, narrows again once its far entry
 * is gone (and enough puts have passed that rebuilds stay O(1) a put),
 * and when a put finds it empty. */
START_TEST(test_wide_index_small_and_bounded)
{
    far_alloc fa;
    wc_cache *c;
    wc_owner o;
    void *v;
    uintptr_t k;
    if (sizeof(void *) < 8)
        return;
    wc_owner_init(&o);
    c = far_cache(&fa, NULL, NULL, 4);
    ck_assert_int_eq(wc_put(c, NULL, far_hash(1), (void *)1, (void *)1, 1), WC_OK);
    fa.next_far = 1;
    ck_assert_int_eq(wc_put(c, &o, far_hash(2), (void *)2, (void *)2, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    ck_assert_int_eq(wc_get(c, NULL, far_hash(1), (void *)1, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)1);
    ck_assert_int_eq(wc_get(c, &o, far_hash(2), (void *)2, &v), WC_OK);
    ck_assert_ptr_eq(v, (void *)2);
    ck_assert_int_eq(wc_get(c, NULL, far_hash(2), (void *)2, &v), WC_NOTFOUND);
    ck_assert_uint_eq(tu_stats(c).hits, 2);
    /* near puts: the 8 slots never resize; the far entry stays while it
     * is hit, then is removed */
    ck_assert_int_eq(wc_put(c, NULL, far_hash(3), (void *)3, (void *)3, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, far_hash(4), (void *)4, (void *)4, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    ck_assert_int_eq(wc_put(c, NULL, far_hash(5), (void *)5, (void *)5, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, &o, far_hash(2), (void *)2, &v), WC_OK);   /* kept: hit */
    ck_assert_int_eq(wc_put(c, NULL, far_hash(6), (void *)6, (void *)6, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);   /* 2 is still there */
    /* nothing out of the window now, but 5 puts since the index was
     * rebuilt (2's, then 3-6): it narrows only after as many puts as it
     * has slots (8) */
    ck_assert_int_eq(wc_remove(c, &o, far_hash(2), (void *)2), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    for (k = 7; k <= 8; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    ck_assert_int_eq(wc_put(c, NULL, far_hash(9), (void *)9, (void *)9, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    for (k = 10; k <= 40; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 4);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 37, 40);
    /* a far entry again, then emptied while wide: the next put narrows the
     * empty index, around its own entry, far as it is */
    fa.next_far = 1;
    ck_assert_int_eq(wc_put(c, NULL, far_hash(41), (void *)41, (void *)41, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    ck_assert_int_eq(wc_clear(c), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    fa.next_far = 1;
    ck_assert_int_eq(wc_put(c, NULL, far_hash(1), (void *)1, (void *)1, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 1, 1);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    far_destroy(&fa);
}
END_TEST

/* A full bounded cache whose near entries all give way to far ones (the
 * window kept by the widening is then the wrong one: every entry is out of
 * it) narrows around the new ones; and a wide index that shrinks while its
 * entries still span two regions keeps its window (from the second review:
 * the shrink passed an unset base). */
START_TEST(test_wide_index_follows_its_entries)
{
    far_alloc fa;
    wc_cache *c;
    uintptr_t k;
    if (sizeof(void *) < 8)
        return;
    c = far_cache(&fa, NULL, NULL, 16);
    for (k = 1; k <= 16; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    fa.region = 1;
    ck_assert_int_eq(wc_put(c, NULL, far_hash(17), (void *)17, (void *)17, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    for (k = 18; k <= 200; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 16);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 185, 200);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    far_destroy(&fa);

    /* unbounded: 100 near, 100 far, then all but one of each go */
    c = far_cache(&fa, NULL, NULL, 0);
    for (k = 1; k <= 200; k++) {
        fa.region = k > 100;
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    }
    ck_assert_uint_eq(far_slot_bytes(c), 8);
    for (k = 2; k <= 199; k++)
        TU_REQUIRE_EQ(wc_remove(c, NULL, far_hash(k), (void *)k), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 8);   /* shrunk, still two regions */
    far_require(c, 1, 1);
    far_require(c, 200, 200);
    /* the far one goes; near puts: narrow again, at the old window */
    ck_assert_int_eq(wc_remove(c, NULL, far_hash(200), (void *)200), WC_OK);
    fa.region = 0;
    for (k = 300; k <= 340; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    far_require(c, 1, 1);
    far_require(c, 300, 340);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    far_destroy(&fa);
}
END_TEST

/* cache->owned, which lets an unowned lookup skip the entry's owner, is
 * the exact count of owned entries after every way of adding and removing
 * them. */
static void require_owned(wc_cache *c, size_t n)
{
    wc__table_info ti;
    wc__debug_table(c, &ti);
    ck_assert_uint_eq(ti.owned_items, n);
    ck_assert_uint_eq(ti.owned, n);
}

START_TEST(test_owned_count_is_exact)
{
    wc_cache *c = NULL;
    wc_owner a, b;
    void *kout, *vout;
    wc_config cfg;
    uintptr_t k;
    wc_owner_init(&a);
    wc_owner_init(&b);
    wc_config_init(&cfg);
    cfg.max_entries = 50;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    for (k = 1; k <= 20; k++) {
        ck_assert_int_eq(wc_put(c, &a, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
        ck_assert_int_eq(wc_put(c, &b, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
        ck_assert_int_eq(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    }
    /* 60 puts, the 10 oldest evicted: a1 b1 n1 a2 b2 n2 a3 b3 n3 a4 */
    require_owned(c, 33);
    ck_assert_int_eq(wc_put(c, &a, far_hash(20), (void *)20, (void *)21, 1), WC_KEPT_KEY);
    require_owned(c, 33);   /* replaced */
    ck_assert_int_eq(wc_remove(c, &a, far_hash(19), (void *)19), WC_OK);
    ck_assert_int_eq(wc_take(c, &b, far_hash(19), (void *)19, &kout, &vout), WC_OK);
    require_owned(c, 31);
    ck_assert_int_eq(wc_cache_clear_owner(c, &a), WC_OK);   /* a5-a18, a20 */
    require_owned(c, 16);
    ck_assert_int_eq(wc_owner_release(&b), WC_OK);   /* b4-b18, b20 */
    require_owned(c, 0);
    ck_assert_uint_eq(wc_cache_size(c), 17);   /* n4-n20 */
    ck_assert_int_eq(wc_put(c, &a, far_hash(1), (void *)1, (void *)1, 1), WC_OK);
    require_owned(c, 1);
    ck_assert_int_eq(wc_clear(c), WC_OK);
    require_owned(c, 0);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

START_TEST(test_index_is_narrow_at_scale)
{
    /* the default allocator at 200,000 entries: 4-byte slots */
    wc_cache *c = NULL;
    uintptr_t k;
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (k = 1; k <= 200000; k++)
        TU_REQUIRE_EQ(wc_put(c, NULL, far_hash(k), (void *)k, (void *)k, 1), WC_OK);
    ck_assert_uint_eq(far_slot_bytes(c), 4);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

static Suite *hash_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("spread");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_many_owners_small_ints);
    tcase_add_test(tc, test_many_owners_spaced_ints);
    tcase_add_test(tc, test_one_owner_many_ints);
    tcase_add_test(tc, test_unowned_many_ints);
    tcase_add_test(tc, test_many_owners_one_key);
    tcase_add_test(tc, test_real_collisions_are_counted);
    tcase_add_test(tc, test_remove_keeps_runs_findable);
    tcase_add_test(tc, test_index_shrinks);
    tcase_add_test(tc, test_crafted_homes_wrap);
    tcase_add_test(tc, test_replace_at_boundary_needs_no_growth);
    tcase_add_test(tc, test_failed_shrink_is_not_retried_on_every_call);
    tcase_add_test(tc, test_less_aligned_allocator);
    tcase_add_test(tc, test_retag_during_equal_keeps_lookup_right);
    tcase_add_test(tc, test_unowned_probe_never_takes_an_owned_entry);
    tcase_add_test(tc, test_index_widens_and_narrows);
    tcase_add_test(tc, test_index_is_narrow_at_scale);
    tcase_add_test(tc, test_failed_nested_put_keeps_outer_lookup_right);
    tcase_add_test(tc, test_wide_index_small_and_bounded);
    tcase_add_test(tc, test_wide_index_follows_its_entries);
    tcase_add_test(tc, test_owned_count_is_exact);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(hash_suite)
