/*
 * test_policy.c - SIEVE eviction, expiry (ttl), and the calls added in
 * 0.2.0: wc_peek, wc_lookup + wc_put_hint (one lookup on a miss), wc_take,
 * wc_iter_remove, the bytes layer's wc_bytes_cache_new_ex / lookup /
 * put_hint.
 *
 * SIEVE is checked against a reference model written from the paper's
 * pseudo-code (an array FIFO, a visited flag, a hand), the same algorithm
 * libCacheSim implements: after every operation both hold the same keys.
 */
#include "testutil.h"

static void finish_env(tu_env *env, wc_cache *c)
{
    tu_check_consistent(env, c);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(env);
    tu_env_destroy(env);
}

/* ------------------------------------------------------------------ */
/* SIEVE                                                               */
/* ------------------------------------------------------------------ */

#define MCAP 64

typedef struct sieve_model {
    int key[MCAP];      /* index 0 = oldest */
    int visited[MCAP];
    int n, cap, hand;   /* hand: index of the next candidate */
} sieve_model;

static int sm_find(const sieve_model *m, int k)
{
    int i;
    for (i = 0; i < m->n; i++)
        if (m->key[i] == k)
            return i;
    return -1;
}

static void sm_remove_at(sieve_model *m, int i)
{
    memmove(&m->key[i], &m->key[i + 1], sizeof(int) * (size_t)(m->n - i - 1));
    memmove(&m->visited[i], &m->visited[i + 1], sizeof(int) * (size_t)(m->n - i - 1));
    m->n--;
    if (m->hand > i)
        m->hand--;
    if (m->hand >= m->n)
        m->hand = 0;
}

/* returns the evicted key */
static int sm_evict(sieve_model *m)
{
    int k;
    for (;;) {
        if (m->hand >= m->n)
            m->hand = 0;
        if (m->visited[m->hand]) {
            m->visited[m->hand] = 0;
            m->hand++;
        } else {
            break;
        }
    }
    k = m->key[m->hand];
    sm_remove_at(m, m->hand);   /* the hand now points at the newer neighbour */
    return k;
}

static void sm_access(sieve_model *m, int k)
{
    int i = sm_find(m, k);
    if (i >= 0) {
        m->visited[i] = 1;
        return;
    }
    if (m->n == m->cap)
        (void)sm_evict(m);
    m->key[m->n] = k;
    m->visited[m->n] = 0;
    m->n++;
}

static wc_cache *sieve_cache(tu_env *env, size_t cap)
{
    wc_config cfg = tu_config(env, cap, 0, NULL);
    wc_cache *c = NULL;
    cfg.policy = WC_POLICY_SIEVE;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    env->cache = c;
    return c;
}

START_TEST(test_sieve_matches_model)
{
    long rounds = tu_scale(200, 20), r;
    tu_rng rng;
    rng.state = tu_base_seed() ^ 0x51E7Eull;
    for (r = 0; r < rounds; r++) {
        tu_env env;
        sieve_model m;
        wc_cache *c;
        int cap = 1 + (int)tu_rng_below(&rng, 16), nkeys = cap + 1 + (int)tu_rng_below(&rng, 40);
        int step;
        memset(&m, 0, sizeof m);
        m.cap = cap;
        tu_env_init(&env);
        c = sieve_cache(&env, (size_t)cap);
        for (step = 0; step < 300; step++) {
            /* skewed accesses: low keys are hot */
            int k = (int)tu_rng_below(&rng, (uint32_t)nkeys);
            int v, i;
            if (tu_rng_below(&rng, 2))
                k = k % (1 + nkeys / 4);
            sm_access(&m, k);
            if (tu_get(&env, c, NULL, k, &v) == WC_NOTFOUND)
                TU_REQUIRE_EQ(tu_put(&env, c, NULL, k, k, 1), WC_OK);
            TU_REQUIRE_EQ(wc_cache_size(c), m.n);
            for (i = 0; i < m.n; i++) {
                int out;
                TU_REQUIRE(tu_peek_ok(&env, c, m.key[i], &out),
                           "round %ld step %d: key %d in the model, not in the cache",
                           r, step, m.key[i]);
            }
        }
        ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_CAPACITY] +
                          (uint64_t)m.n, tu_stats(c).inserts);
        ck_assert_int_eq(wc_cache_free(c), WC_OK);
        tu_assert_all_released(&env);
        tu_env_destroy(&env);
    }
}
END_TEST

START_TEST(test_sieve_hit_keeps_order)
{
    /* a hit only sets the bit: iteration order (newest first) and
     * iterators are unaffected; the visited entry survives the next
     * eviction, the unvisited oldest goes */
    tu_env env;
    wc_cache *c;
    wc_iter it;
    wc_item item;
    int v;
    tu_env_init(&env);
    c = sieve_cache(&env, 3);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 3, 1), WC_OK);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);   /* still valid */
    tu_assert_order(c, "3,2,1");
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 4, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C");
    tu_assert_order(c, "4,3,1");
    /* the hand is now on 3 (1 lost its bit on the way): 3, then 4 go */
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C,3:C");
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 6, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C,3:C,4:C");
    /* weight evictions follow the same hand: on 5 */
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 2), WC_OK);
    tu_assert_log(&env, 0, "2:C,3:C,4:C,5:W");
    tu_check_consistent(&env, c);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_sieve_unbounded_records_no_visits)
{
    /* Without limits a SIEVE cache evicts nothing, and its hits record no
     * visit (they read only the entry's key and value). Limits set later
     * count visits from then on: the first eviction takes the oldest entry
     * even though it was hit before the limit; an entry hit after the limit
     * is spared as usual. */
    tu_env env;
    wc_cache *c;
    int v;
    tu_env_init(&env);
    c = sieve_cache(&env, 0);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 3, 1), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(tu_stats(c).hits, 1);
    ck_assert_int_eq(wc_cache_set_limits(c, 3, 0), WC_OK);
    tu_assert_log(&env, 0, "");
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);   /* visited now */
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 4, 1), WC_OK);
    tu_assert_log(&env, 0, "1:C");
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 1), WC_OK);
    tu_assert_log(&env, 0, "1:C,3:C");   /* 2 was spared once */
    /* unbounded again: nothing is evicted, hits count in the stats but
     * record no visit: with a limit again, the hand (on 4) takes 4 */
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 0), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 6, 1), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 6, &v), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 4, &v), WC_OK);
    ck_assert_int_eq(tu_stats(c).hits, 4);
    ck_assert_uint_eq(wc_cache_size(c), 4);
    tu_assert_log(&env, 0, "1:C,3:C");
    ck_assert_int_eq(wc_cache_set_limits(c, 3, 0), WC_OK);
    tu_assert_log(&env, 0, "1:C,3:C,4:C");
    tu_check_consistent(&env, c);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_sieve_remove_hand_and_bad_policy)
{
    tu_env env;
    wc_cache *c;
    wc_config cfg;
    int v, i;
    tu_env_init(&env);
    c = sieve_cache(&env, 4);
    for (i = 1; i <= 5; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);   /* 1 evicted, hand on 2 */
    ck_assert_int_eq(tu_remove(&env, c, NULL, 2), WC_OK);         /* the hand's entry */
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &v), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 6, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 7, 7, 1), WC_OK);      /* 3 visited: 4 goes */
    tu_assert_log(&env, 0, "1:C,2:R,4:C");
    tu_check_consistent(&env, c);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
    wc_config_init(&cfg);
    cfg.policy = (wc_policy)7;
    c = NULL;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Expiry                                                              */
/* ------------------------------------------------------------------ */

typedef struct tclock {
    uint64_t t;
    long calls;
} tclock;

static uint64_t clock_now(void *ctx)
{
    tclock *k = (tclock *)ctx;
    k->calls++;
    return k->t;
}

static wc_cache *ttl_cache(tu_env *env, tu_alloc *a, tclock *k, size_t cap,
                           wc_policy policy, uint64_t ttl)
{
    wc_config cfg = tu_config(env, cap, 0, a);
    wc_cache *c = NULL;
    cfg.policy = policy;
    cfg.ttl = ttl;
    cfg.now = clock_now;
    cfg.clock_ctx = k;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    env->cache = c;
    return c;
}

static void ttl_basic(wc_policy policy)
{
    tu_env env;
    tclock k = {1000, 0};
    wc_cache *c;
    int v;
    tu_env_init(&env);
    c = ttl_cache(&env, NULL, &k, 0, policy, 10);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);   /* deadline 1010 */
    k.t = 1009;
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    k.t = 1010;
    ck_assert_int_eq(tu_peek_ok(&env, c, 1, &v), 0);          /* not served ... */
    ck_assert_uint_eq(wc_cache_size(c), 1);                   /* ... nor dropped */
    k.t = 500;                                                /* backwards */
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_NOTFOUND);
    tu_assert_log(&env, 0, "1:E");
    ck_assert_uint_eq(tu_stats(c).misses, 1);
    ck_assert_uint_eq(tu_stats(c).hits, 1);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_EXPIRED], 1);
    /* an entry put while the tclock reads 500 still gets 1010 + 10: the
     * cache's time never goes back */
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 1), WC_OK);
    k.t = 1019;
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);
    k.t = 1020;
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}

START_TEST(test_ttl_lru) { ttl_basic(WC_POLICY_LRU); }
END_TEST
START_TEST(test_ttl_sieve) { ttl_basic(WC_POLICY_SIEVE); }
END_TEST

START_TEST(test_ttl_expired_before_live)
{
    tu_env env;
    tclock k = {0, 0};
    wc_cache *c;
    int v, i;
    size_t dropped;

    /* SIEVE: every expired entry goes at the next put, exactly, oldest first */
    tu_env_init(&env);
    c = ttl_cache(&env, NULL, &k, 4, WC_POLICY_SIEVE, 100);
    for (i = 1; i <= 4; i++) {
        k.t = (uint64_t)i * 10;
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);   /* deadlines 110..140 */
    }
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);          /* visited */
    k.t = 125;
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 1), WC_OK);
    tu_assert_log(&env, 0, "1:E,2:E");
    ck_assert_uint_eq(wc_cache_size(c), 3);
    k.t = 1000;
    ck_assert_int_eq(wc_cache_expire(c, &dropped), WC_OK);
    ck_assert_uint_eq(dropped, 3);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);

    /* LRU: within the WC_EXPIRY_SCAN least recently used, the expired one
     * goes instead of the least recently used live one */
    tu_env_init(&env);
    k.t = 0;
    c = ttl_cache(&env, NULL, &k, 3, WC_POLICY_LRU, 100);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);   /* deadline 100 */
    k.t = 50;
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 1), WC_OK);   /* 150 */
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 3, 1), WC_OK);   /* 150 */
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);     /* order 1,3,2 */
    k.t = 120;
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 4, 1), WC_OK);
    tu_assert_log(&env, 0, "1:E");
    tu_assert_order(c, "4,3,2");
    k.t = 500;
    ck_assert_int_eq(wc_cache_expire(c, &dropped), WC_OK);
    ck_assert_uint_eq(dropped, 3);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_ttl_costs)
{
    /* a cache without ttl never calls a tclock and has no deadline bytes;
     * one with ttl has 8 more bytes per entry and one tclock call per put
     * and per found get */
    tu_env env;
    tu_alloc a0, a1;
    tclock k = {1, 0};
    wc_cache *c0, *c1;
    wc_config cfg;
    size_t base0, base1;
    int v;

    tu_env_init(&env);
    tu_alloc_init(&a0);
    tu_alloc_init(&a1);
    c0 = tu_cache_new(&env, 0, 0, &a0);
    c1 = ttl_cache(&env, &a1, &k, 0, WC_POLICY_LRU, 5);
    base0 = a0.live_bytes;
    base1 = a1.live_bytes;
    ck_assert_int_eq(tu_put(&env, c0, NULL, 1, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c1, NULL, 1, 1, 1), WC_OK);
    ck_assert_uint_eq((a1.live_bytes - base1) - (a0.live_bytes - base0), 8);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(tu_get(&env, c1, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(tu_get(&env, c1, NULL, 2, &v), WC_NOTFOUND);
    ck_assert_int_eq(k.calls, 2);
    ck_assert_int_eq(wc_cache_free(c0), WC_OK);
    ck_assert_int_eq(wc_cache_free(c1), WC_OK);
    tu_assert_alloc_clean(&a0);
    tu_assert_alloc_clean(&a1);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
    wc_config_init(&cfg);
    cfg.ttl = 5;   /* no tclock */
    c0 = NULL;
    ck_assert_int_eq(wc_cache_new(&cfg, &c0), WC_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* peek, one-lookup miss path, take, iterator removal                  */
/* ------------------------------------------------------------------ */

START_TEST(test_peek)
{
    tu_env env;
    wc_cache *c;
    wc_stats before, after;
    int out;
    tu_env_init(&env);
    c = tu_cache_new(&env, 2, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 10, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 20, 1), WC_OK);
    before = tu_stats(c);
    ck_assert_int_eq(tu_peek_ok(&env, c, 1, &out), 1);
    ck_assert_int_eq(out, 10);
    ck_assert_int_eq(tu_peek_ok(&env, c, 9, &out), 0);
    after = tu_stats(c);
    ck_assert_mem_eq(&before, &after, sizeof before);
    tu_assert_order(c, "2,1");                      /* 1 not moved */
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 30, 1), WC_OK);
    tu_assert_log(&env, 0, "1:C");                  /* so 1 goes */
    ck_assert_int_eq(env.n_retain, 1);
    finish_env(&env, c);
}
END_TEST

START_TEST(test_lookup_put_hint_one_lookup)
{
    tu_env env;
    wc_cache *c;
    wc_hint hint;
    tu_box probe = tu_probe(5, 0);
    void *out;
    long eq;
    int i, v;

    tu_env_init(&env);
    env.hash = NULL;
    c = tu_cache_new(&env, 0, 0, NULL);
    /* colliding keys so that a lookup calls equal: all hash 42 */
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(wc_put(c, NULL, 42, tu_key(&env, i), tu_val(&env, i), 1), WC_OK);
    ck_assert_int_eq(wc_lookup(c, NULL, 42, &probe, &out, &hint), WC_NOTFOUND);
    eq = env.n_equal;
    ck_assert_int_ge(eq, 4);
    ck_assert_int_eq(wc_put_hint(c, &hint, tu_key(&env, 5), tu_val(&env, 50), 1), WC_OK);
    ck_assert_int_eq(env.n_equal, eq);              /* no second lookup */
    ck_assert_int_eq(wc_get(c, NULL, 42, &probe, &out), WC_OK);
    ck_assert_int_eq(((tu_box *)out)->payload, 50);
    /* a change in between: the put looks up again and replaces */
    probe.payload = 6;
    ck_assert_int_eq(wc_lookup(c, NULL, 42, &probe, &out, &hint), WC_NOTFOUND);
    ck_assert_int_eq(wc_put(c, NULL, 42, tu_key(&env, 6), tu_val(&env, 60), 1), WC_OK);
    eq = env.n_equal;
    ck_assert_int_eq(wc_put_hint(c, &hint, tu_key(&env, 6), tu_val(&env, 61), 1), WC_OK);
    ck_assert_int_gt(env.n_equal, eq);
    ck_assert_uint_eq(wc_cache_size(c), 6);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_REPLACED], 1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 6, &v), WC_NOTFOUND);  /* other hash */
    /* bad hints */
    ck_assert_int_eq(wc_put_hint(c, NULL, &probe, &probe, 1), WC_EINVAL);
    {
        wc_cache *other = tu_cache_new(NULL, 0, 0, NULL);
        ck_assert_int_eq(wc_put_hint(other, &hint, &probe, &probe, 1), WC_EINVAL);
        ck_assert_int_eq(wc_cache_free(other), WC_OK);
    }
    finish_env(&env, c);
}
END_TEST

static void hk_take(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    tu_box probe = tu_probe(1, 0);
    void *k, *v;
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_take(env->cache, NULL, tu_hash_int(1), &probe, &k, &v));
}

START_TEST(test_take)
{
    tu_env env;
    wc_cache *c;
    tu_box probe = tu_probe(1, 0);
    void *k, *v;
    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 10, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 20, 1), WC_OK);
    ck_assert_int_eq(wc_take(c, NULL, tu_hash_int(1), &probe, &k, &v), WC_OK);
    ck_assert_int_eq(((tu_box *)k)->payload, 1);
    ck_assert_int_eq(((tu_box *)v)->payload, 10);
    ck_assert_int_eq(((tu_box *)k)->freed + ((tu_box *)v)->freed, 0);
    tu_assert_log(&env, 0, "1:R");                  /* the listener saw it */
    tu_release((tu_box *)k);                        /* ours now */
    tu_release((tu_box *)v);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_int_eq(wc_take(c, NULL, tu_hash_int(1), &probe, &k, &v), WC_NOTFOUND);
    ck_assert_ptr_null(k);
    ck_assert_ptr_null(v);
    /* from a callback: refused */
    tu_hook_set(&env.h_equal, hk_take, 1);
    {
        tu_box p2 = tu_probe(2, 0);
        void *out;
        ck_assert_int_eq(tu_put(&env, c, NULL, 1, 11, 1), WC_OK);
        (void)wc_get(c, NULL, tu_hash_int(2), &p2, &out);
        ck_assert_int_eq(env.h_equal.runs, 1);
        ck_assert_int_eq(env.h_equal.rc[0], WC_EBUSY);
        ck_assert_uint_eq(wc_cache_size(c), 2);
    }
    ck_assert_int_eq(wc_take(NULL, NULL, 1, &probe, &k, &v), WC_EINVAL);
    finish_env(&env, c);
}
END_TEST

START_TEST(test_iter_remove)
{
    tu_env env;
    wc_cache *c;
    wc_iter it;
    wc_item item;
    int i, rc, seen = 0;
    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_remove(&it), WC_EINVAL);    /* nothing fetched */
    while ((rc = wc_iter_next(&it, &item)) == 1) {
        seen++;
        if (((const tu_box *)item.key)->payload % 2) {
            ck_assert_int_eq(wc_iter_remove(&it), WC_OK);
            ck_assert_int_eq(wc_iter_remove(&it), WC_EINVAL);   /* already */
        }
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(seen, 10);
    tu_assert_order(c, "8,6,4,2,0");
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_REMOVED], 5);
    /* a change by someone else: the current item may be gone */
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    ck_assert_int_eq(tu_put(&env, c, NULL, 50, 50, 1), WC_OK);
    ck_assert_int_eq(wc_iter_remove(&it), WC_ECHANGED);
    ck_assert_int_eq(wc_iter_remove(NULL), WC_EINVAL);
    finish_env(&env, c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The bytes layer                                                     */
/* ------------------------------------------------------------------ */

typedef struct bctx {
    long freed, retained, evicted;
    size_t last_len;
} bctx;

static void b_free(void *ctx, void *v) { (void)v; ((bctx *)ctx)->freed++; }
static void b_retain(void *ctx, void *v) { (void)v; ((bctx *)ctx)->retained++; }
static void b_evict(void *ctx, const void *key, void *v, uint32_t w, wc_evict_cause cause)
{
    (void)v;
    (void)w;
    (void)cause;
    ((bctx *)ctx)->evicted++;
    ((bctx *)ctx)->last_len = ((const wc_bytes_key *)key)->len;
}

START_TEST(test_bytes_ex_and_hint)
{
    static const wc_ops ops = {NULL, NULL, b_free, b_retain, b_evict};
    bctx bc = {0, 0, 0, 0};
    tu_alloc a;
    wc_config cfg;
    wc_cache *c = NULL;
    wc_hint hint;
    void *out;
    int v1, v2;
    size_t n_before;

    tu_alloc_init(&a);
    wc_config_init(&cfg);
    cfg.max_entries = 1;
    cfg.ops = &ops;
    cfg.ops_ctx = &bc;
    cfg.allocator = &a.hooks;
    cfg.policy = WC_POLICY_SIEVE;
    ck_assert_int_eq(wc_bytes_cache_new_ex(&cfg, &c), WC_OK);
    ck_assert_int_eq(wc_bytes_lookup(c, NULL, "alpha", 5, &out, &hint), WC_NOTFOUND);
    n_before = a.n_malloc;
    ck_assert_int_eq(wc_bytes_put_hint(c, &hint, "alpha", 5, &v1, 3), WC_OK);
    ck_assert_uint_eq(a.n_malloc - n_before, 2);   /* one key copy, one entry */
    ck_assert_int_eq(wc_bytes_get(c, NULL, "alpha", 5, &out), WC_OK);
    ck_assert_ptr_eq(out, &v1);
    ck_assert_int_eq(bc.retained, 1);
    ck_assert_uint_eq(tu_stats(c).weight, 3);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "be", 2, &v2), WC_OK);
    ck_assert_int_eq(bc.evicted, 1);
    ck_assert_uint_eq(bc.last_len, 5);
    ck_assert_int_eq(bc.freed, 1);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_int_eq(bc.freed, 2);
    tu_assert_alloc_clean(&a);
    /* equal / free_key are the layer's */
    {
        static const wc_ops bad = {NULL, b_free, NULL, NULL, NULL};
        cfg.ops = &bad;
        ck_assert_int_eq(wc_bytes_cache_new_ex(&cfg, &c), WC_EINVAL);
        ck_assert_int_eq(wc_bytes_cache_new_ex(&cfg, NULL), WC_EINVAL);
    }
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("sieve");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sieve_matches_model);
    tcase_add_test(tc, test_sieve_hit_keeps_order);
    tcase_add_test(tc, test_sieve_unbounded_records_no_visits);
    tcase_add_test(tc, test_sieve_remove_hand_and_bad_policy);
    suite_add_tcase(s, tc);
    tc = tcase_create("ttl");
    tcase_add_test(tc, test_ttl_lru);
    tcase_add_test(tc, test_ttl_sieve);
    tcase_add_test(tc, test_ttl_expired_before_live);
    tcase_add_test(tc, test_ttl_costs);
    suite_add_tcase(s, tc);
    tc = tcase_create("calls");
    tcase_add_test(tc, test_peek);
    tcase_add_test(tc, test_lookup_put_hint_one_lookup);
    tcase_add_test(tc, test_take);
    tcase_add_test(tc, test_iter_remove);
    tcase_add_test(tc, test_bytes_ex_and_hint);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(policy_suite)
