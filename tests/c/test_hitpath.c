/*
 * test_hitpath.c - the fast hit path of wc_get/wc_lookup/wc_peek (HIT PATH
 * in src/cache.c) against the general one.
 *
 * The fast path answers when the key pointer is identical to the stored one
 * (or the cache has no `equal`), the cache has no ttl and no call in
 * progress; it skips enter()/leave(). The differential test runs the same
 * random operations on two caches that differ only in how their lookups
 * are answered: cache A has no `equal` and is probed with the stored key
 * pointers (every lookup takes the fast path), cache B has an `equal` and
 * is probed with copies of the keys (every hit takes the general path).
 * Return codes, values, stats, iteration order and the eviction log must
 * agree after every step, for LRU and SIEVE, with and without
 * WC_THREAD_SAFE, with a good hash and with one that builds long chains.
 * The other tests cover the fast path's hand-overs: retain_value that
 * clears or frees the cache (the call is entered just before the callback),
 * and lookups made from callbacks (depth > 0: the general path).
 */
#include "testutil.h"

#define NKEYS 40
#define NOWN 3            /* owners; index NOWN is "no owner" */
#define NVALS 4096
#define MAXLOG 256        /* evictions of one step, at the most */

typedef struct evlog {
    const void *key[MAXLOG];
    const void *value[MAXLOG];
    int cause[MAXLOG];
    size_t n;
} evlog;

static int keys[NKEYS];    /* the stored keys: one fixed pointer per key */
static int vals[NVALS];    /* values, never freed: shared by both caches */

static int int_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    return *(const int *)stored == *(const int *)probe;
}

static void log_evict(void *ctx, const void *key, void *value, uint32_t weight,
                      wc_evict_cause cause)
{
    evlog *l = (evlog *)ctx;
    (void)weight;
    TU_REQUIRE(l->n < MAXLOG, "eviction log full");
    l->key[l->n] = key;
    l->value[l->n] = value;
    l->cause[l->n] = (int)cause;
    l->n++;
}

static wc_cache *diff_cache(const wc_ops *ops, evlog *log, wc_policy policy,
                            unsigned flags, size_t max_entries)
{
    wc_config cfg;
    wc_cache *c = NULL;
    wc_config_init(&cfg);
    cfg.ops = ops;
    cfg.ops_ctx = log;
    cfg.policy = policy;
    cfg.flags = flags;
    cfg.max_entries = max_entries;
    TU_REQUIRE_EQ(wc_cache_new(&cfg, &c), WC_OK);
    return c;
}

/* Both caches hold the same entries in the same order. */
static void same_contents(wc_cache *a, wc_cache *b, const char *where, long step)
{
    wc_iter ia, ib;
    wc_item xa, xb;
    int ra, rb;
    wc_stats sa, sb;
    wc_iter_init(&ia, a);
    wc_iter_init(&ib, b);
    for (;;) {
        ra = wc_iter_next(&ia, &xa);
        rb = wc_iter_next(&ib, &xb);
        TU_REQUIRE(ra == rb, "%s step %ld: iteration lengths differ", where, step);
        TU_REQUIRE(ra == 0 || ra == 1, "%s step %ld: wc_iter_next %d", where, step, ra);
        if (ra == 0)
            break;
        TU_REQUIRE(xa.key == xb.key && xa.value == xb.value && xa.owner == xb.owner,
                   "%s step %ld: order differs (key %d vs %d)", where, step,
                   *(const int *)xa.key, *(const int *)xb.key);
    }
    wc_cache_stats(a, &sa);
    wc_cache_stats(b, &sb);
    TU_REQUIRE(sa.hits == sb.hits && sa.misses == sb.misses &&
               sa.inserts == sb.inserts && sa.size == sb.size,
               "%s step %ld: stats differ (hits %llu/%llu misses %llu/%llu)", where,
               step, (unsigned long long)sa.hits, (unsigned long long)sb.hits,
               (unsigned long long)sa.misses, (unsigned long long)sb.misses);
    TU_REQUIRE(memcmp(sa.evictions, sb.evictions, sizeof sa.evictions) == 0,
               "%s step %ld: eviction counters differ", where, step);
}

/* The same evictions, in the same order, since the last step; the logs
 * restart when they fill up. */
static void same_log(evlog *a, evlog *b, const char *where, long step)
{
    size_t i;
    TU_REQUIRE(a->n == b->n, "%s step %ld: %zu vs %zu evictions", where, step,
               a->n, b->n);
    for (i = 0; i < a->n; i++)
        TU_REQUIRE(a->key[i] == b->key[i] && a->value[i] == b->value[i] &&
                   a->cause[i] == b->cause[i],
                   "%s step %ld: eviction %zu differs", where, step, i);
    a->n = b->n = 0;
}

static void run_differential(wc_policy policy, unsigned flags, int bad_hash,
                             uint64_t seed)
{
    static const wc_ops ops_a = {NULL, NULL, NULL, NULL, log_evict};
    static const wc_ops ops_b = {int_equal, NULL, NULL, NULL, log_evict};
    static evlog log_a, log_b;
    char where[96];
    wc_owner owners[NOWN];
    wc_cache *a, *b;
    tu_rng rng = {seed};
    long steps = tu_scale(20000, 4000), step;
    int nextval = 0, o;

    snprintf(where, sizeof where, "%s%s%s", policy == WC_POLICY_SIEVE ? "sieve" : "lru",
             flags & WC_THREAD_SAFE ? "+ts" : "", bad_hash ? "+badhash" : "");
    memset(&log_a, 0, sizeof log_a);
    memset(&log_b, 0, sizeof log_b);
    for (o = 0; o < NOWN; o++)
        wc_owner_init(&owners[o]);
    a = diff_cache(&ops_a, &log_a, policy, flags, 24);
    b = diff_cache(&ops_b, &log_b, policy, flags, 24);

    for (step = 0; step < steps; step++) {
        int k = (int)tu_rng_below(&rng, NKEYS);
        int oi = (int)tu_rng_below(&rng, NOWN + 1);
        wc_owner *owner = oi < NOWN ? &owners[oi] : NULL;
        uint64_t h = bad_hash ? (uint64_t)(k % 4) : tu_hash_int(k);
        int copy = keys[k];   /* B's probe: equal, never identical */
        unsigned op = tu_rng_below(&rng, 16);
        void *va = (void *)&vals[0], *vb = (void *)&vals[1];
        int ra, rb;

        if (op < 5) {   /* put */
            void *v = &vals[nextval++ % NVALS];
            ra = wc_put(a, owner, h, &keys[k], v, 1);
            rb = wc_put(b, owner, h, &keys[k], v, 1);
            va = vb = NULL;
        } else if (op < 11) {   /* get */
            ra = wc_get(a, owner, h, &keys[k], &va);
            rb = wc_get(b, owner, h, &copy, &vb);
        } else if (op < 13) {   /* peek */
            ra = wc_peek(a, owner, h, &keys[k], &va);
            rb = wc_peek(b, owner, h, &copy, &vb);
        } else if (op < 15) {   /* lookup, put_hint on a miss */
            wc_hint hint_a, hint_b;
            ra = wc_lookup(a, owner, h, &keys[k], &va, &hint_a);
            rb = wc_lookup(b, owner, h, &copy, &vb, &hint_b);
            if (ra == WC_NOTFOUND && rb == WC_NOTFOUND) {
                void *v = &vals[nextval++ % NVALS];
                ra = wc_put_hint(a, &hint_a, &keys[k], v, 1);
                rb = wc_put_hint(b, &hint_b, &keys[k], v, 1);
                va = vb = NULL;
            }
        } else {   /* remove */
            ra = wc_remove(a, owner, h, &keys[k]);
            rb = wc_remove(b, owner, h, &copy);
            va = vb = NULL;
        }
        TU_REQUIRE(ra == rb, "%s step %ld: op %u key %d: %s vs %s", where, step, op,
                   k, wc_strerror(ra), wc_strerror(rb));
        TU_REQUIRE(va == vb, "%s step %ld: op %u key %d: values differ", where, step,
                   op, k);
        if (ra == WC_NOTFOUND)
            TU_REQUIRE(va == NULL, "%s step %ld: a miss left *value_out set", where,
                       step);
        same_contents(a, b, where, step);
        same_log(&log_a, &log_b, where, step);
        if (step % 997 == 996) {   /* an owner leaves */
            o = (int)tu_rng_below(&rng, NOWN);
            TU_REQUIRE_EQ(wc_owner_release(&owners[o]), WC_OK);
            same_contents(a, b, where, step);
        }
    }
    TU_REQUIRE_EQ(wc_cache_free(a), WC_OK);
    TU_REQUIRE_EQ(wc_cache_free(b), WC_OK);
}

START_TEST(test_fast_equals_general)
{
    static const wc_policy policies[2] = {WC_POLICY_LRU, WC_POLICY_SIEVE};
    uint64_t seed = tu_base_seed();
    int p, ts, bad, k;
    for (k = 0; k < NKEYS; k++)
        keys[k] = k;
    for (p = 0; p < 2; p++)
        for (ts = 0; ts < 2; ts++)
            for (bad = 0; bad < 2; bad++)
                run_differential(policies[p], ts ? WC_THREAD_SAFE : 0u, bad,
                                 seed + (uint64_t)(p * 4 + ts * 2 + bad));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hand-overs: retain_value on a fast hit, lookups from callbacks       */
/* ------------------------------------------------------------------ */

typedef struct rctx {
    wc_cache *c;
    int mode;            /* what retain_value does: 0 nothing, 1 clear, 2 free */
    long retained, freed, evicted;
    int value_alive;     /* the retained value had not been freed yet */
    int target;          /* the value the retain saw */
    int nested_rc;       /* wc_get made from on_evict */
    int nested_key;      /* ... of this key, -1: none */
} rctx;

static int r_vals[8];
static int r_freed[8];

static void r_retain(void *ctx, void *value)
{
    rctx *r = (rctx *)ctx;
    int i = (int)((int *)value - r_vals);
    r->retained++;
    r->target = i;
    r->value_alive = !r_freed[i];
    if (r->mode == 1)
        TU_REQUIRE_EQ(wc_clear(r->c), WC_OK);
    else if (r->mode == 2)
        TU_REQUIRE_EQ(wc_cache_free(r->c), WC_OK);
    /* the value must survive everything the callback did */
    TU_REQUIRE(!r_freed[i], "value freed inside retain_value");
}

static void r_free_value(void *ctx, void *value)
{
    rctx *r = (rctx *)ctx;
    r_freed[(int *)value - r_vals]++;
    r->freed++;
}

static void r_evict(void *ctx, const void *key, void *value, uint32_t weight,
                    wc_evict_cause cause)
{
    rctx *r = (rctx *)ctx;
    (void)key;
    (void)value;
    (void)weight;
    (void)cause;
    r->evicted++;
    if (r->nested_key >= 0) {
        void *v = NULL;
        r->nested_rc = wc_get(r->c, NULL, (uint64_t)r->nested_key,
                              &keys[r->nested_key], &v);
        if (r->nested_rc == WC_OK)
            TU_REQUIRE(v == &r_vals[r->nested_key], "nested get: wrong value");
        r->nested_key = -1;
    }
}

static wc_cache *r_cache(rctx *r, unsigned flags, wc_policy policy, size_t max)
{
    static const wc_ops ops = {NULL, NULL, r_free_value, r_retain, r_evict};
    wc_config cfg;
    int i;
    memset(r, 0, sizeof *r);
    memset(r_freed, 0, sizeof r_freed);
    r->nested_key = -1;
    wc_config_init(&cfg);
    cfg.ops = &ops;
    cfg.ops_ctx = r;
    cfg.flags = flags;
    cfg.policy = policy;
    cfg.max_entries = max;
    TU_REQUIRE_EQ(wc_cache_new(&cfg, &r->c), WC_OK);
    for (i = 0; i < 4; i++) {
        keys[i] = i;
        TU_REQUIRE_EQ(wc_put(r->c, NULL, (uint64_t)i, &keys[i], &r_vals[i], 1), WC_OK);
    }
    return r->c;
}

/* Each hand-over test runs on a plain and on a WC_THREAD_SAFE cache (the
 * locked fast path, with the recursive lock taken again by the callbacks). */
static void in_both_modes(void (*body)(unsigned flags))
{
    body(0u);
    body(WC_THREAD_SAFE);
}

static void retain_clears(unsigned flags)
{
    rctx r;
    wc_cache *c = r_cache(&r, flags, WC_POLICY_SIEVE, 0);
    void *v = NULL;
    wc_stats st;
    r.mode = 1;
    ck_assert_int_eq(wc_get(c, NULL, 2, &keys[2], &v), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[2]);
    ck_assert_int_eq(r.retained, 1);
    ck_assert_int_eq(r.target, 2);
    ck_assert_int_eq(r.value_alive, 1);
    /* the clear's releases ran after the callback, when the get left */
    ck_assert_int_eq(r.freed, 4);
    ck_assert_uint_eq(wc_cache_size(c), 0);
    wc_cache_stats(c, &st);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_uint_eq(st.evictions[WC_EVICT_CLEARED], 4);
    /* the cache is usable again: a fast miss, then a fast hit */
    r.mode = 0;
    ck_assert_int_eq(wc_get(c, NULL, 2, &keys[2], &v), WC_NOTFOUND);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(wc_put(c, NULL, 2, &keys[2], &r_vals[5], 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, 2, &keys[2], &v), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[5]);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_int_eq(r.freed, 5);
}

START_TEST(test_fast_retain_clears)
{
    in_both_modes(retain_clears);
}
END_TEST

static void retain_frees_cache(unsigned flags)
{
    rctx r;
    wc_cache *c = r_cache(&r, flags, WC_POLICY_LRU, 0);
    void *v = NULL;
    wc_hint hint;
    r.mode = 2;
    /* wc_lookup: the hint is filled before the cache goes */
    ck_assert_int_eq(wc_lookup(c, NULL, 1, &keys[1], &v, &hint), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[1]);
    ck_assert_int_eq(r.retained, 1);
    ck_assert_int_eq(r.value_alive, 1);
    /* every entry was released when the lookup left; the cache is gone
     * (the sanitizers and valgrind check that nothing leaked) */
    ck_assert_int_eq(r.freed, 4);
    ck_assert_int_eq(r.evicted, 4);
}

START_TEST(test_fast_retain_frees_cache)
{
    in_both_modes(retain_frees_cache);
}
END_TEST

static void get_from_callback(unsigned flags)
{
    rctx r;
    wc_cache *c = r_cache(&r, flags, WC_POLICY_LRU, 4);
    void *v = NULL;
    char order[64];
    size_t len = 0;
    wc_iter it;
    wc_item item;
    /* the put evicts key 0 (LRU); its on_evict looks up key 2 (depth
     * 1: the general path), a hit that moves 2 to the front */
    r.nested_key = 2;
    keys[4] = 4;
    ck_assert_int_eq(wc_put(c, NULL, 4, &keys[4], &r_vals[4], 1), WC_OK);
    ck_assert_int_eq(r.evicted, 1);
    ck_assert_int_eq(r.nested_rc, WC_OK);
    ck_assert_int_eq(r_freed[0], 1);
    ck_assert_int_eq(r.retained, 1);
    order[0] = '\0';
    wc_iter_init(&it, c);
    while (wc_iter_next(&it, &item) == 1)
        len += (size_t)snprintf(order + len, sizeof order - len, "%d",
                                *(const int *)item.key);
    ck_assert_str_eq(order, "2431");
    /* a fast hit at depth 0 afterwards */
    ck_assert_int_eq(wc_get(c, NULL, 3, &keys[3], &v), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[3]);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_int_eq(r.freed, 5);
}

START_TEST(test_fast_get_from_callback)
{
    in_both_modes(get_from_callback);
}
END_TEST

/* The bytes layer's `equal` is called by the fast path itself. */
START_TEST(test_fast_bytes_hits)
{
    wc_cache *c = NULL;
    void *v = NULL;
    int i, one = 1, two = 2;
    char key[16];
    wc_stats st;
    ck_assert_int_eq(wc_bytes_cache_new(0, NULL, NULL, &c), WC_OK);
    for (i = 0; i < 200; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(wc_bytes_put(c, NULL, key, (size_t)n, i % 2 ? &one : &two),
                         WC_OK);
    }
    for (i = 0; i < 200; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(wc_bytes_get(c, NULL, key, (size_t)n, &v), WC_OK);
        ck_assert_ptr_eq(v, i % 2 ? &one : &two);
        /* the key without its last byte: "k1" for "k15", no key for "k5" */
        ck_assert_int_eq(wc_bytes_get(c, NULL, key, (size_t)n - 1, &v),
                         i >= 10 ? WC_OK : WC_NOTFOUND);
    }
    wc_cache_stats(c, &st);
    ck_assert_uint_eq(st.hits, 390);
    ck_assert_uint_eq(st.misses, 10);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* WC_RETAIN_SIMPLE: retain_value is called once per hit, from the fast path
 * (no enter/leave: a callback that re-entered would see depth 0), and still
 * on the general path (an `equal` callback that changes the cache makes the
 * lookup start over; the hit it then finds is retained before the get's
 * deferred releases run). */
static int s_equal_removes;
static wc_cache *s_cache;

static int s_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    if (*(const int *)stored != *(const int *)probe)
        return 0;
    if (s_equal_removes) {   /* remove another entry: key 3 */
        s_equal_removes = 0;
        TU_REQUIRE_EQ(wc_remove(s_cache, NULL, 3, &keys[3]), WC_OK);
    }
    return 1;
}

static void s_retain(void *ctx, void *value)
{
    rctx *r = (rctx *)ctx;
    int i = (int)((int *)value - r_vals);
    r->retained++;
    r->value_alive = !r_freed[i];
    /* the fast path does not enter the cache for this callback */
    TU_REQUIRE(r->c == NULL || wc_cache_size(r->c) <= 4, "cache unreadable");
}

static void retain_simple(unsigned flags)
{
    static const wc_ops ops = {s_equal, NULL, r_free_value, s_retain, NULL};
    rctx r;
    wc_config cfg;
    wc_stats st;
    void *v = NULL;
    int probe, i;
    memset(&r, 0, sizeof r);
    memset(r_freed, 0, sizeof r_freed);
    wc_config_init(&cfg);
    cfg.ops = &ops;
    cfg.ops_ctx = &r;
    cfg.flags = flags | WC_RETAIN_SIMPLE;
    ck_assert_int_eq(wc_cache_new(&cfg, &r.c), WC_OK);
    s_cache = r.c;
    for (i = 0; i < 4; i++) {
        keys[i] = i;
        ck_assert_int_eq(wc_put(r.c, NULL, (uint64_t)i, &keys[i], &r_vals[i], 1), WC_OK);
    }
    /* fast hits (identical key): one retain each, get and peek */
    ck_assert_int_eq(wc_get(r.c, NULL, 1, &keys[1], &v), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[1]);
    ck_assert_int_eq(wc_peek(r.c, NULL, 1, &keys[1], &v), WC_OK);
    ck_assert_int_eq(r.retained, 2);
    /* a miss retains nothing */
    probe = 7;
    ck_assert_int_eq(wc_get(r.c, NULL, 7, &probe, &v), WC_NOTFOUND);
    ck_assert_int_eq(r.retained, 2);
    /* general path: an equal (not identical) key whose `equal` removes
     * another entry: the lookup starts over, hits, retains once */
    probe = 2;
    s_equal_removes = 1;
    ck_assert_int_eq(wc_get(r.c, NULL, 2, &probe, &v), WC_OK);
    ck_assert_ptr_eq(v, &r_vals[2]);
    ck_assert_int_eq(r.retained, 3);
    ck_assert_int_eq(r.value_alive, 1);
    ck_assert_int_eq(r_freed[2], 0);
    ck_assert_int_eq(r_freed[3], 1);   /* released when the get left */
    ck_assert_uint_eq(wc_cache_size(r.c), 3);
    wc_cache_stats(r.c, &st);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_int_eq(wc_cache_free(r.c), WC_OK);
    s_cache = NULL;
}

START_TEST(test_retain_simple)
{
    wc_config cfg;
    wc_cache *c = NULL;
    in_both_modes(retain_simple);
    /* unknown flags are refused */
    wc_config_init(&cfg);
    cfg.flags = 4u;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    ck_assert_ptr_null(c);
}
END_TEST

static Suite *hitpath_suite(void)
{
    Suite *s = suite_create("hitpath");
    TCase *tc = tcase_create("differential");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fast_equals_general);
    suite_add_tcase(s, tc);
    tc = tcase_create("handover");
    tcase_add_test(tc, test_fast_retain_clears);
    tcase_add_test(tc, test_fast_retain_frees_cache);
    tcase_add_test(tc, test_fast_get_from_callback);
    tcase_add_test(tc, test_fast_bytes_hits);
    tcase_add_test(tc, test_retain_simple);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(hitpath_suite)
