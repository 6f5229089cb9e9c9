/*
 * test_cache.c - the core cache API: lifecycle, get/put/remove/clear,
 * replacement, LRU order, limits, stats, iteration, status strings,
 * versions and NULL arguments.
 */
#include "testutil.h"

/* Frees the cache, then checks that every key and value was released
 * exactly once and (if given) that the allocator got all memory back. */
static void finish(tu_env *env, wc_cache *c, tu_alloc *a)
{
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(env);
    if (a != NULL)
        tu_assert_alloc_clean(a);
    tu_env_destroy(env);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_new_null_config)
{
    /* NULL config: unbounded, pointer keys, no callbacks, malloc/free. */
    wc_cache *c = NULL;
    static char many[1000];
    int k1 = 1, k1_copy = 1, k2 = 2, v1 = 10, v2 = 20, v3 = 30;
    void *out = NULL;
    wc_stats s;
    int i;

    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(wc_cache_size(c), 0);
    s = tu_stats(c);
    ck_assert_uint_eq(s.max_entries, 0);
    ck_assert_uint_eq(s.max_weight, 0);
    ck_assert_uint_eq(s.hits + s.misses + s.inserts, 0);

    ck_assert_int_eq(wc_put(c, NULL, 7, &k1, &v1, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 7, &k2, &v2, 1), WC_OK);
    /* pointer equality: same hash, equal contents, different pointer */
    ck_assert_int_eq(wc_get(c, NULL, 7, &k1_copy, &out), WC_NOTFOUND);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(wc_get(c, NULL, 7, &k1, &out), WC_OK);
    ck_assert_ptr_eq(out, &v1);
    ck_assert_int_eq(wc_get(c, NULL, 7, &k2, &out), WC_OK);
    ck_assert_ptr_eq(out, &v2);
    /* replace with pointer keys, no callbacks */
    ck_assert_int_eq(wc_put(c, NULL, 7, &k1, &v3, 1), WC_KEPT_KEY); /* same key pointer */
    ck_assert_int_eq(wc_get(c, NULL, 7, &k1, &out), WC_OK);
    ck_assert_ptr_eq(out, &v3);
    ck_assert_uint_eq(wc_cache_size(c), 2);
    /* unbounded: many entries stay */
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(wc_put(c, NULL, (uint64_t)i, &many[i], &v1, 1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 1002);
    s = tu_stats(c);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CAPACITY] + s.evictions[WC_EVICT_WEIGHT], 0);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

START_TEST(test_new_errors)
{
    tu_alloc a;
    wc_allocator bad;
    wc_config cfg;
    wc_cache *c = NULL;

    tu_alloc_init(&a);
    wc_config_init(&cfg);
    ck_assert_int_eq(wc_cache_new(NULL, NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_new(&cfg, NULL), WC_EINVAL);

    bad = a.hooks;
    bad.malloc = NULL;
    cfg.allocator = &bad;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    bad = a.hooks;
    bad.free = NULL;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    bad.malloc = NULL;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    ck_assert_uint_eq(a.n_malloc, 0);

    /* and a good allocator works, everything returned at the end */
    cfg.allocator = &a.hooks;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_uint_gt(a.live_blocks, 0);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
}
END_TEST

START_TEST(test_config_is_copied)
{
    /* ops and allocator are copied at creation: the caller's structs may
     * change or go away afterwards. */
    tu_env env;
    tu_alloc a;
    wc_allocator al;
    wc_ops ops;
    wc_config cfg;
    wc_cache *c = NULL;
    int v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    al = a.hooks;
    ops = env.ops;
    wc_config_init(&cfg);
    cfg.max_entries = 2;
    cfg.ops = &ops;
    cfg.ops_ctx = &env;
    cfg.allocator = &al;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    memset(&ops, 0, sizeof ops);
    memset(&al, 0, sizeof al);
    memset(&cfg, 0, sizeof cfg);

    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 300, 1), WC_OK); /* evicts 1 */
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);     /* equal used */
    ck_assert_int_eq(v, 200);
    ck_assert_int_eq(env.n_retain, 1);
    ck_assert_int_eq(env.n_evict, 1);
    ck_assert_int_eq(env.n_free_key, 1);
    ck_assert_uint_eq(tu_stats(c).max_entries, 2);
    ck_assert_uint_gt(a.n_malloc, 0);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_free_null_and_free_releases_everything)
{
    tu_env env;
    tu_alloc a;
    wc_owner o;
    wc_cache *c;
    int i;

    ck_assert_int_eq(wc_cache_free(NULL), WC_OK);

    tu_env_init(&env);
    tu_alloc_init(&a);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 0, 0, &a);
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(tu_put(&env, c, (i % 2) ? &o : NULL, i, 1000 + i,
                                (uint32_t)i), WC_OK);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_int_eq(env.n_evict, 50);
    ck_assert_int_eq(env.n_evict_cause[WC_EVICT_CLEARED], 50);
    ck_assert_int_eq(env.n_free_key, 50);
    ck_assert_int_eq(env.n_free_value, 50);
    tu_assert_all_released(&env);
    tu_assert_alloc_clean(&a);
    /* the owner was detached: it holds nothing and releasing is a no-op */
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(env.n_evict, 50);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_versions)
{
    const char *u = wc_uthash_version();

    ck_assert_ptr_nonnull(wc_version());
    ck_assert_str_eq(wc_version(), WC_VERSION_STRING);
    ck_assert_uint_eq(wc_version_number(), WC_VERSION_NUMBER);
    ck_assert_uint_eq(WC_VERSION_NUMBER, WC_VERSION_MAJOR * 10000u +
                      WC_VERSION_MINOR * 100u + WC_VERSION_PATCH);
    {
        char buf[32];
        snprintf(buf, sizeof buf, "%d.%d.%d", WC_VERSION_MAJOR,
                 WC_VERSION_MINOR, WC_VERSION_PATCH);
        ck_assert_str_eq(buf, WC_VERSION_STRING);
    }
    /* deprecated: the core has its own index, no uthash */
    ck_assert_str_eq(u, "none");
}
END_TEST

START_TEST(test_strerror)
{
    static const int codes[] = {WC_OK, WC_NOTFOUND, WC_KEPT_KEY, WC_KEPT_VALUE,
                                WC_KEPT_BOTH, WC_ENOMEM, WC_EINVAL,
                                WC_ECALLBACK, WC_ETOOBIG, WC_ECHANGED,
                                WC_EBUSY};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = wc_strerror(12345);
    size_t i, j;

    ck_assert_ptr_nonnull(unknown);
    ck_assert_str_eq(unknown, "unknown status");
    ck_assert_str_eq(wc_strerror(-12345), "unknown status");
    ck_assert_str_eq(wc_strerror(3), "unknown status");
    ck_assert_str_eq(wc_strerror(5), "unknown status");
    ck_assert_str_eq(wc_strerror(-7), "unknown status");
    ck_assert_str_eq(wc_strerror(INT_MIN), "unknown status");
    ck_assert_str_eq(wc_strerror(INT_MAX), "unknown status");
    for (i = 0; i < n; i++) {
        const char *s = wc_strerror(codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_gt(strlen(s), 0);
        ck_assert_str_ne(s, "unknown status");
        ck_assert_ptr_eq(s, wc_strerror(codes[i])); /* static */
        for (j = 0; j < i; j++)
            ck_assert_str_ne(s, wc_strerror(codes[j]));
    }
    /* the codes themselves are part of the ABI */
    ck_assert_int_eq(WC_OK, 0);
    ck_assert_int_gt(WC_NOTFOUND, 0);
    ck_assert_int_lt(WC_ENOMEM, 0);
    ck_assert_int_lt(WC_EBUSY, 0);
}
END_TEST

START_TEST(test_evict_cause_name)
{
    int i, j;
    ck_assert_str_eq(wc_evict_cause_name(WC_EVICT_CAPACITY), "capacity");
    ck_assert_str_eq(wc_evict_cause_name(WC_EVICT_WEIGHT), "weight");
    for (i = 0; i < WC_EVICT__COUNT; i++) {
        const char *s = wc_evict_cause_name((wc_evict_cause)i);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_gt(strlen(s), 0);
        ck_assert_str_ne(s, "unknown");
        for (j = 0; j < i; j++)
            ck_assert_str_ne(s, wc_evict_cause_name((wc_evict_cause)j));
    }
    ck_assert_str_eq(wc_evict_cause_name(WC_EVICT__COUNT), "unknown");
    ck_assert_str_eq(wc_evict_cause_name((wc_evict_cause)99), "unknown");
    ck_assert_str_eq(wc_evict_cause_name((wc_evict_cause)-1), "unknown");
}
END_TEST

/* ------------------------------------------------------------------ */
/* get / put / remove / clear                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_get_put_remove)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    wc_stats s;
    int v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 0, &a);

    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_NOTFOUND);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 3), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 4), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 2);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);
    ck_assert_int_eq(v, 200);
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &v), WC_NOTFOUND);
    ck_assert_int_eq(env.n_evict, 0);
    ck_assert_int_eq(env.n_free_key + env.n_free_value, 0);

    ck_assert_int_eq(tu_remove(&env, c, NULL, 1), WC_OK);
    tu_assert_log(&env, 0, "1:R");
    ck_assert_uint_eq(env.log[0].value, 100);
    ck_assert_uint_eq(env.log[0].weight, 3);
    ck_assert_int_eq(env.n_free_key, 1);
    ck_assert_int_eq(env.n_free_value, 1);
    ck_assert_int_eq(env.live_keys, 1);
    ck_assert_int_eq(env.live_values, 1);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 1), WC_NOTFOUND);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 99), WC_NOTFOUND);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 1);

    s = tu_stats(c);
    ck_assert_uint_eq(s.hits, 3);
    ck_assert_uint_eq(s.misses, 3);
    ck_assert_uint_eq(s.inserts, 2);
    ck_assert_uint_eq(s.evictions[WC_EVICT_REMOVED], 1);
    ck_assert_uint_eq(s.size, 1);
    ck_assert_uint_eq(s.weight, 4);
    tu_check_consistent(&env, c);
    finish(&env, c, &a);
}
END_TEST

static uint64_t hash_const42(int payload)
{
    (void)payload;
    return 42;
}

START_TEST(test_equal_callback_and_collisions)
{
    /* Every key hashes the same: the entries must still be told apart by
     * equal, and a probe that is a different object with an equal payload
     * finds the entry. */
    tu_env env;
    wc_cache *c;
    int i;

    tu_env_init(&env);
    env.hash = hash_const42;
    c = tu_cache_new(&env, 0, 0, NULL);
    for (i = 0; i < 40; i++)
        ck_assert_int_eq(wc_put(c, NULL, 42, tu_key(&env, i), tu_val(&env, 1000 + i), 1), WC_OK);
    for (i = 0; i < 40; i++) {
        tu_box probe = tu_probe(i, 0);
        void *out = NULL;
        ck_assert_int_eq(wc_get(c, NULL, 42, &probe, &out), WC_OK);
        ck_assert_int_eq(((tu_box *)out)->payload, 1000 + i);
    }
    {
        tu_box probe = tu_probe(40, 0);
        void *out = &probe;
        ck_assert_int_eq(wc_get(c, NULL, 42, &probe, &out), WC_NOTFOUND);
        ck_assert_ptr_null(out);
        /* the same payload under another hash is another key (equal is
         * not even asked) */
        probe.payload = 5;
        env.hash = NULL;
        ck_assert_int_eq(wc_get(c, NULL, tu_hash_int(5), &probe, &out), WC_NOTFOUND);
        env.hash = hash_const42;
        ck_assert_int_eq(wc_remove(c, NULL, 42, &probe), WC_OK);
        ck_assert_int_eq(wc_get(c, NULL, 42, &probe, &out), WC_NOTFOUND);
    }
    ck_assert_int_gt(env.n_equal, 40);
    ck_assert_uint_eq(tu_check_consistent(NULL, c), 39);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_replace)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    tu_box *k1, *v1, *k2, *v2;
    wc_stats s;
    int v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 0, &a);
    k1 = tu_key(&env, 1);
    v1 = tu_val(&env, 100);
    k2 = tu_key(&env, 1);
    v2 = tu_val(&env, 101);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k1, v1, 5), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k2, v2, 7), WC_OK);

    /* the old key and value were released exactly once, after the listener
     * saw them with cause "replaced" */
    ck_assert_int_eq(k1->freed, 1);
    ck_assert_int_eq(v1->freed, 1);
    ck_assert_int_eq(k2->freed, 0);
    ck_assert_int_eq(v2->freed, 0);
    ck_assert_uint_eq(env.nlog, 1);
    tu_assert_log(&env, 0, "1:P");
    ck_assert_int_eq(env.log[0].value, 100);
    ck_assert_uint_eq(env.log[0].weight, 5);

    ck_assert_uint_eq(wc_cache_size(c), 2);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(v, 101);
    s = tu_stats(c);
    ck_assert_uint_eq(s.inserts, 3);
    ck_assert_uint_eq(s.evictions[WC_EVICT_REPLACED], 1);
    ck_assert_uint_eq(s.weight, 8);
    ck_assert_uint_eq(s.size, 2);
    tu_check_consistent(&env, c);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_replace_same_pointers)
{
    /* Putting the very same key and value objects again (a refresh): the
     * cache holds each once, under the new entry, and releases neither; the
     * put says so (WC_KEPT_BOTH), so a reference-counting caller that
     * handed over extra references drops them itself. */
    tu_env env;
    wc_cache *c;
    tu_box *k, *v;
    int out;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    k = tu_key(&env, 1);
    v = tu_val(&env, 100);
    k->refs = 2;
    v->refs = 2;
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, 1), WC_KEPT_BOTH);
    ck_assert_int_eq(k->refs, 2);
    ck_assert_int_eq(v->refs, 2);
    ck_assert_int_eq(k->freed + v->freed, 0);
    tu_assert_log(&env, 0, "1:P");
    tu_release(k);   /* the extra references the second put did not take */
    tu_release(v);
    ck_assert_int_eq(k->refs, 1);
    ck_assert_int_eq(v->refs, 1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &out), WC_OK);
    ck_assert_int_eq(out, 100);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_clear)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    wc_stats s;
    int i, v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 0, &a);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, 100 + i, 2), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &v), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 33, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_clear(c), WC_OK);
    ck_assert_int_eq(env.n_evict_cause[WC_EVICT_CLEARED], 10);
    ck_assert_int_eq(env.n_evict, 10);
    ck_assert_int_eq(env.live_keys, 0);
    ck_assert_int_eq(env.live_values, 0);
    ck_assert_uint_eq(wc_cache_size(c), 0);
    s = tu_stats(c);
    /* counters are kept */
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.inserts, 10);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CLEARED], 10);
    ck_assert_uint_eq(s.size, 0);
    ck_assert_uint_eq(s.weight, 0);
    ck_assert_uint_eq(tu_check_consistent(&env, c), 0);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_cleared_cache_is_usable)
{
    tu_env env;
    tu_alloc a;
    wc_owner o;
    wc_cache *c;
    int i, v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 4, 0, &a);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(tu_put(&env, c, (i & 1) ? &o : NULL, i, i, 1), WC_OK);
    ck_assert_int_eq(wc_clear(c), WC_OK);

    ck_assert_int_eq(wc_clear(c), WC_OK); /* again: nothing to do */
    ck_assert_int_eq(env.n_evict, 4);
    ck_assert_int_eq(tu_get(&env, c, NULL, 0, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_get(&env, c, &o, 1, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 0), WC_NOTFOUND);
    ck_assert_int_eq(tu_remove(&env, c, &o, 1), WC_NOTFOUND);
    ck_assert_uint_eq(wc_owner_count(&o, c), 0);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(wc_cache_clear_owner(c, &o), WC_OK);
    ck_assert_int_eq(wc_cache_clear_owner(c, NULL), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(wc_cache_set_limits(c, 2, 0), WC_OK);
    ck_assert_int_eq(env.n_evict, 4);
    ck_assert_uint_eq(tu_check_consistent(&env, c), 0);

    /* and it works as before, limits included */
    for (i = 10; i < 13; i++)
        ck_assert_int_eq(tu_put(&env, c, &o, i, i, 1), WC_OK);
    tu_assert_order(c, "12,11");
    tu_assert_log(&env, 4, "10:C");
    ck_assert_uint_eq(wc_owner_count(&o, c), 2);
    ck_assert_int_eq(tu_get(&env, c, &o, 11, &v), WC_OK);
    ck_assert_int_eq(v, 11);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_retain_value_on_hit)
{
    tu_env env;
    wc_cache *c;
    tu_box *v;
    void *out = NULL;
    tu_box probe = tu_probe(1, 0);

    tu_env_init(&env);
    env.retain_refs = 1;
    c = tu_cache_new(&env, 0, 0, NULL);
    v = tu_val(&env, 100);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), tu_key(&env, 1), v, 1), WC_OK);
    ck_assert_int_eq(env.n_retain, 0);
    probe.payload = 2;
    ck_assert_int_eq(wc_get(c, NULL, tu_hash_int(2), &probe, &out), WC_NOTFOUND);
    ck_assert_int_eq(env.n_retain, 0); /* not on a miss */
    probe.payload = 1;
    ck_assert_int_eq(wc_get(c, NULL, tu_hash_int(1), &probe, &out), WC_OK);
    ck_assert_ptr_eq(out, v);
    ck_assert_int_eq(env.n_retain, 1);
    ck_assert_int_eq(v->refs, 2);
    /* the reference outlives the entry */
    ck_assert_int_eq(wc_remove(c, NULL, tu_hash_int(1), &probe), WC_OK);
    ck_assert_int_eq(v->freed, 0);
    ck_assert_int_eq(v->payload, 100);
    tu_release(v);
    ck_assert_int_eq(v->freed, 1);
    /* no retain on remove, put or iteration */
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 300, 1), WC_OK);
    tu_check_consistent(&env, c);
    ck_assert_int_eq(env.n_retain, 1);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_all_null_ops)
{
    /* An ops struct whose members are all NULL behaves like no ops. */
    wc_ops ops;
    wc_config cfg;
    wc_cache *c = NULL;
    int k1 = 1, k2 = 2, v = 0;
    void *out = NULL;

    memset(&ops, 0, sizeof ops);
    wc_config_init(&cfg);
    cfg.ops = &ops;
    cfg.max_entries = 1;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 1, &k1, &v, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 1, &k1, &v, 1), WC_KEPT_BOTH); /* replace */
    ck_assert_int_eq(wc_put(c, NULL, 1, &k2, &v, 1), WC_OK); /* evict */
    ck_assert_int_eq(wc_get(c, NULL, 1, &k2, &out), WC_OK);
    ck_assert_ptr_eq(out, &v);
    ck_assert_int_eq(wc_get(c, NULL, 1, &k1, &out), WC_NOTFOUND);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_CAPACITY], 1);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_REPLACED], 1);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

START_TEST(test_equal_error)
{
    /* equal < 0: WC_ECALLBACK, the cache unchanged, no hit/miss counted,
     * a failed put's key and value stay the caller's. */
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    wc_stats before, after;
    tu_box *k, *v;
    int out;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 0, &a);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 1), WC_OK);
    before = tu_stats(c);

    env.equal_fail_all = 1;
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &out), WC_ECALLBACK);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 1), WC_ECALLBACK);
    k = tu_key(&env, 1);
    v = tu_val(&env, 101);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, 1), WC_ECALLBACK);
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    tu_release(k);
    tu_release(v);
    /* a key nobody compares to does not call equal and works */
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &out), WC_NOTFOUND);
    env.equal_fail_all = 0;

    after = tu_stats(c);
    ck_assert_uint_eq(after.hits, before.hits);
    ck_assert_uint_eq(after.misses, before.misses + 1);
    ck_assert_uint_eq(after.inserts, before.inserts);
    ck_assert_uint_eq(after.size, 2);
    ck_assert_int_eq(env.n_evict, 0);
    tu_assert_order(c, "2,1");
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &out), WC_OK);
    ck_assert_int_eq(out, 100);
    tu_check_consistent(&env, c);

    /* a one-shot failure: only that call fails */
    env.equal_fail_in = 1;
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &out), WC_ECALLBACK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &out), WC_OK);
    ck_assert_int_eq(out, 200);
    finish(&env, c, &a);
}
END_TEST

/* ------------------------------------------------------------------ */
/* LRU order                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_lru_order_iteration)
{
    tu_env env;
    wc_cache *c;
    wc_stats s1, s2;
    int i, v;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    for (i = 1; i <= 5; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i * 10, 1), WC_OK);
    tu_assert_order(c, "5,4,3,2,1");
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_OK);
    tu_assert_order(c, "2,5,4,3,1");
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    tu_assert_order(c, "1,2,5,4,3");
    ck_assert_int_eq(tu_get(&env, c, NULL, 9, &v), WC_NOTFOUND); /* miss */
    tu_assert_order(c, "1,2,5,4,3");
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 41, 1), WC_OK); /* replace */
    tu_assert_order(c, "4,1,2,5,3");
    ck_assert_int_eq(tu_remove(&env, c, NULL, 2), WC_OK);
    tu_assert_order(c, "4,1,5,3");
    /* iterating does not change the order or the stats */
    s1 = tu_stats(c);
    tu_assert_order(c, "4,1,5,3");
    s2 = tu_stats(c);
    ck_assert_mem_eq(&s1, &s2, sizeof s1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &v), WC_OK);
    tu_assert_order(c, "3,4,1,5");
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_lru_eviction_order)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    int v;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 3, 0, &a);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 10, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 20, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 30, 1), WC_OK);
    ck_assert_int_eq(env.n_evict, 0);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 40, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C");
    ck_assert_int_eq(env.log[0].value, 20);
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 50, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C,3:C");
    tu_assert_order(c, "5,4,1");
    /* replacing in a full cache evicts nothing else */
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 11, 1), WC_OK);
    tu_assert_log(&env, 0, "2:C,3:C,1:P");
    tu_assert_order(c, "1,5,4");
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_CAPACITY], 2);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_REPLACED], 1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 2, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_get(&env, c, NULL, 3, &v), WC_NOTFOUND);
    ck_assert_int_eq(env.live_keys, 3);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_max_entries_one)
{
    tu_env env;
    wc_cache *c;
    int i, v;

    tu_env_init(&env);
    c = tu_cache_new(&env, 1, 0, NULL);
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);
        ck_assert_uint_eq(wc_cache_size(c), 1);
        ck_assert_int_eq(tu_get(&env, c, NULL, i, &v), WC_OK);
    }
    tu_assert_log(&env, 0, "0:C,1:C,2:C,3:C");
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_iter_items)
{
    tu_env env;
    wc_owner o;
    wc_cache *c;
    wc_iter it;
    wc_item item;

    tu_env_init(&env);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 0, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, &o, 1, 100, 7), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 9), WC_OK);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    ck_assert_int_eq(((const tu_box *)item.key)->payload, 2);
    ck_assert_int_eq(((tu_box *)item.value)->payload, 200);
    ck_assert_ptr_null(item.owner);
    ck_assert_uint_eq(item.weight, 9);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    ck_assert_int_eq(((const tu_box *)item.key)->payload, 1);
    ck_assert_int_eq(((tu_box *)item.value)->payload, 100);
    ck_assert_ptr_eq(item.owner, &o);
    ck_assert_uint_eq(item.weight, 7);
    ck_assert_int_eq(wc_iter_next(&it, &item), 0);
    ck_assert_int_eq(wc_iter_next(&it, &item), 0); /* stays at the end */
    ck_assert_int_eq(env.n_retain, 0);
    finish(&env, c, NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_max_weight_eviction)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    wc_stats s;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 10, &a);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 10, 4), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 20, 4), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 30, 2), WC_OK); /* exactly 10 */
    ck_assert_int_eq(env.n_evict, 0);
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 40, 1), WC_OK);
    tu_assert_log(&env, 0, "1:W");
    ck_assert_uint_eq(env.log[0].weight, 4);
    ck_assert_uint_eq(tu_stats(c).weight, 7);
    /* weight == max_weight is allowed and evicts everything else, LRU
     * first; the new entry itself is never evicted by its own put */
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 50, 10), WC_OK);
    tu_assert_log(&env, 0, "1:W,2:W,3:W,4:W");
    tu_assert_order(c, "5");
    /* weight 0 entries cost nothing */
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 60, 0), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 7, 70, 0), WC_OK);
    tu_assert_order(c, "7,6,5");
    /* replacing with a heavier weight evicts others by weight */
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 61, 3), WC_OK);
    tu_assert_log(&env, 0, "1:W,2:W,3:W,4:W,6:P,5:W");
    tu_assert_order(c, "6,7");
    s = tu_stats(c);
    ck_assert_uint_eq(s.evictions[WC_EVICT_WEIGHT], 5);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CAPACITY], 0);
    ck_assert_uint_eq(s.evictions[WC_EVICT_REPLACED], 1);
    ck_assert_uint_eq(s.weight, 3);
    ck_assert_uint_eq(s.max_weight, 10);
    tu_check_consistent(&env, c);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_too_big)
{
    tu_env env;
    tu_alloc a;
    wc_cache *c;
    wc_stats before, after;
    tu_box *k, *v;
    int out;

    tu_env_init(&env);
    tu_alloc_init(&a);
    c = tu_cache_new(&env, 0, 10, &a);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 5), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 5), WC_OK);
    before = tu_stats(c);

    k = tu_key(&env, 3);
    v = tu_val(&env, 300);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(3), k, v, 11), WC_ETOOBIG);
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    tu_release(k);
    tu_release(v);
    /* an existing entry under the key is left in place, LRU order too */
    k = tu_key(&env, 1);
    v = tu_val(&env, 101);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, WC_WEIGHT_MAX), WC_ETOOBIG);
    /* above WC_WEIGHT_MAX is out of range for any cache */
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, WC_WEIGHT_MAX + 1u), WC_EINVAL);
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    tu_release(k);
    tu_release(v);

    after = tu_stats(c);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_int_eq(env.n_evict, 0);
    tu_assert_order(c, "2,1");
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &out), WC_OK);
    ck_assert_int_eq(out, 100);

    /* without a weight bound any weight is accepted and recorded */
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 0), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 300, WC_WEIGHT_MAX), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 400, WC_WEIGHT_MAX), WC_OK);
    ck_assert_uint_eq(tu_stats(c).weight, 10 + 2 * (uint64_t)WC_WEIGHT_MAX);
    tu_check_consistent(&env, c);
    finish(&env, c, &a);
}
END_TEST

START_TEST(test_set_limits_entries)
{
    tu_env env;
    wc_cache *c;
    wc_stats s;
    int i;

    tu_env_init(&env);
    c = tu_cache_new(&env, 10, 0, NULL);
    for (i = 1; i <= 6; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);
    ck_assert_int_eq(wc_cache_set_limits(c, 2, 0), WC_OK);
    tu_assert_log(&env, 0, "1:C,2:C,3:C,4:C");
    tu_assert_order(c, "6,5");
    s = tu_stats(c);
    ck_assert_uint_eq(s.max_entries, 2);
    ck_assert_uint_eq(s.max_weight, 0);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CAPACITY], 4);
    ck_assert_int_eq(env.live_keys, 2);
    /* the new bound applies to later puts */
    ck_assert_int_eq(tu_put(&env, c, NULL, 7, 7, 1), WC_OK);
    tu_assert_log(&env, 0, "1:C,2:C,3:C,4:C,5:C");
    /* growing evicts nothing; 0 means unbounded */
    ck_assert_int_eq(wc_cache_set_limits(c, 100, 0), WC_OK);
    ck_assert_int_eq(env.n_evict, 5);
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 0), WC_OK);
    for (i = 100; i < 300; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);
    ck_assert_int_eq(env.n_evict, 5);
    ck_assert_uint_eq(wc_cache_size(c), 202);
    /* same size: nothing */
    ck_assert_int_eq(wc_cache_set_limits(c, 202, 0), WC_OK);
    ck_assert_int_eq(env.n_evict, 5);
    ck_assert_int_eq(wc_cache_set_limits(c, 201, 0), WC_OK);
    tu_assert_log(&env, 5, "6:C");
    ck_assert_int_eq(wc_cache_set_limits(NULL, 1, 1), WC_EINVAL);
    tu_check_consistent(&env, c);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_set_limits_weight)
{
    tu_env env;
    wc_cache *c;
    wc_stats s;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 20), WC_OK); /* heavy, LRU */
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 3), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 3, 3), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 4, 3), WC_OK);
    /* the entry heavier than the new bound goes; the rest fits */
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 10), WC_OK);
    tu_assert_log(&env, 0, "1:W");
    tu_assert_order(c, "4,3,2");
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 6), WC_OK);
    tu_assert_log(&env, 0, "1:W,2:W");
    s = tu_stats(c);
    ck_assert_uint_eq(s.weight, 6);
    ck_assert_uint_eq(s.max_weight, 6);
    ck_assert_uint_eq(s.evictions[WC_EVICT_WEIGHT], 2);
    /* a put heavier than the new bound is refused */
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 7), WC_ETOOBIG);
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 0), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 7), WC_OK);
    ck_assert_uint_eq(tu_stats(c).weight, 13);
    /* both bounds at once */
    ck_assert_int_eq(wc_cache_set_limits(c, 1, 100), WC_OK);
    tu_assert_log(&env, 0, "1:W,2:W,3:C,4:C");
    tu_assert_order(c, "5");
    tu_check_consistent(&env, c);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_both_limits)
{
    tu_env env;
    wc_cache *c;

    tu_env_init(&env);
    c = tu_cache_new(&env, 3, 10, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 2, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 3, 3, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 4, 4, 1), WC_OK); /* count */
    tu_assert_log(&env, 0, "1:C");
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 5, 7), WC_OK); /* count; 10 */
    tu_assert_log(&env, 0, "1:C,2:C");
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 6, 2), WC_OK);
    /* count 4 > 3 and weight 11 > 10: evicting 3 satisfies both bounds;
     * the cause is one of the two */
    ck_assert_uint_eq(env.nlog, 3);
    ck_assert_int_eq(env.log[2].key, 3);
    ck_assert(env.log[2].cause == WC_EVICT_CAPACITY ||
              env.log[2].cause == WC_EVICT_WEIGHT);
    /* 4 goes for either reason, then 5 for weight alone (13 > 10) */
    ck_assert_int_eq(tu_put(&env, c, NULL, 7, 7, 4), WC_OK);
    tu_assert_order(c, "7,6");
    ck_assert_uint_eq(env.nlog, 5);
    ck_assert_int_eq(env.log[3].key, 4);
    ck_assert(env.log[3].cause == WC_EVICT_CAPACITY ||
              env.log[3].cause == WC_EVICT_WEIGHT);
    ck_assert_int_eq(env.log[4].key, 5);
    ck_assert_int_eq(env.log[4].cause, WC_EVICT_WEIGHT);
    ck_assert_uint_eq(tu_stats(c).weight, 6);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_CAPACITY] +
                      tu_stats(c).evictions[WC_EVICT_WEIGHT], 5);
    tu_check_consistent(&env, c);
    finish(&env, c, NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Stats                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_stats_counters)
{
    tu_env env;
    wc_owner o;
    wc_cache *c;
    wc_stats s;
    int i, v;

    tu_env_init(&env);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 4, 100, NULL);
    s = tu_stats(c);
    ck_assert_uint_eq(s.max_entries, 4);
    ck_assert_uint_eq(s.max_weight, 100);
    ck_assert_uint_eq(s.size, 0);
    for (i = 0; i < WC_EVICT__COUNT; i++)
        ck_assert_uint_eq(s.evictions[i], 0);

    for (i = 0; i < 6; i++)                       /* 2 capacity evictions */
        ck_assert_int_eq(tu_put(&env, c, (i < 3) ? &o : NULL, i, i, 10), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 5, 55, 90), WC_OK); /* replace +
                                                     weight evictions */
    ck_assert_int_eq(tu_put(&env, c, NULL, 6, 6, 10), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, &o, 7, 7, 101), WC_ETOOBIG);
    ck_assert_int_eq(tu_get(&env, c, NULL, 5, &v), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 6, &v), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 0, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 6), WC_OK);
    ck_assert_int_eq(tu_remove(&env, c, NULL, 6), WC_NOTFOUND);
    ck_assert_int_eq(tu_put(&env, c, &o, 8, 8, 1), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 9, 9, 1), WC_OK);
    ck_assert_int_eq(wc_cache_set_limits(c, 1, 100), WC_OK);

    s = tu_stats(c);
    ck_assert_uint_eq(s.hits, 2);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.inserts, 10);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CAPACITY], 2 + 1);
    ck_assert_uint_eq(s.evictions[WC_EVICT_WEIGHT], 3);
    ck_assert_uint_eq(s.evictions[WC_EVICT_OWNER], 1);
    ck_assert_uint_eq(s.evictions[WC_EVICT_REMOVED], 1);
    ck_assert_uint_eq(s.evictions[WC_EVICT_REPLACED], 1);
    ck_assert_uint_eq(s.evictions[WC_EVICT_CLEARED], 0);
    ck_assert_uint_eq(s.size, 1);
    ck_assert_uint_eq(s.weight, 1);
    ck_assert_uint_eq(s.max_entries, 1);
    ck_assert_uint_eq(s.max_weight, 100);
    for (i = 0; i < WC_EVICT__COUNT; i++)
        ck_assert_int_eq((long)s.evictions[i], env.n_evict_cause[i]);
    tu_assert_order(c, "9");
    tu_check_consistent(&env, c);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_stats_null_args)
{
    wc_stats s, pattern;
    wc_cache *c = NULL;

    memset(&s, 0xA5, sizeof s);
    memset(&pattern, 0xA5, sizeof pattern);
    ck_assert_int_eq(wc_cache_stats(NULL, &s), WC_EINVAL);
    ck_assert_mem_eq(&s, &pattern, sizeof s);
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    ck_assert_int_eq(wc_cache_stats(c, NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_stats(NULL, NULL), WC_EINVAL);
    ck_assert_uint_eq(wc_cache_size(NULL), 0);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Iterators                                                           */
/* ------------------------------------------------------------------ */

/* Starts an iteration, reads one item, applies `mutate`, expects
 * WC_ECHANGED from then on. */
static void expect_changed(tu_env *env, wc_cache *c, int (*mutate)(tu_env *, wc_cache *))
{
    wc_iter it;
    wc_item item;
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    ck_assert_int_eq(mutate(env, c), WC_OK);
    ck_assert_int_eq(wc_iter_next(&it, &item), WC_ECHANGED);
    ck_assert_int_eq(wc_iter_next(&it, &item), WC_ECHANGED);
    /* a fresh iterator works */
    tu_check_consistent(env, c);
}

static int mut_put(tu_env *env, wc_cache *c) { return tu_put(env, c, NULL, 50, 50, 1); }
static int mut_put_replace(tu_env *env, wc_cache *c) { return tu_put(env, c, NULL, 50, 51, 1); }
static int mut_get_hit(tu_env *env, wc_cache *c) { int v; return tu_get(env, c, NULL, 2, &v); }
static int mut_remove(tu_env *env, wc_cache *c) { return tu_remove(env, c, NULL, 2); }
static int mut_limits(tu_env *env, wc_cache *c) { (void)env; return wc_cache_set_limits(c, wc_cache_size(c) - 1, 0); }
static int mut_clear_owner(tu_env *env, wc_cache *c) { (void)env; return wc_cache_clear_owner(c, NULL); }
static int mut_clear(tu_env *env, wc_cache *c) { (void)env; return wc_clear(c); }

START_TEST(test_iter_changed)
{
    tu_env env;
    wc_cache *c;
    int i;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(tu_put(&env, c, NULL, i, i, 1), WC_OK);
    expect_changed(&env, c, mut_put);
    expect_changed(&env, c, mut_put_replace);
    expect_changed(&env, c, mut_get_hit);
    expect_changed(&env, c, mut_remove);
    expect_changed(&env, c, mut_limits);
    expect_changed(&env, c, mut_clear_owner);
    ck_assert_int_eq(tu_put(&env, c, NULL, 60, 60, 1), WC_OK);
    expect_changed(&env, c, mut_clear);
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_iter_unaffected_by_reads)
{
    tu_env env;
    wc_owner o;
    wc_cache *c;
    wc_iter it;
    wc_item item;
    wc_stats s;
    int i, n = 0, rc;

    tu_env_init(&env);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 0, 0, NULL);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(tu_put(&env, c, &o, i, i, 1), WC_OK);
    wc_iter_init(&it, c);
    while ((rc = wc_iter_next(&it, &item)) == 1) {
        n++;
        wc_cache_stats(c, &s);
        ck_assert_uint_eq(wc_cache_size(c), 5);
        ck_assert_uint_eq(wc_owner_count(&o, c), 5);
        ck_assert_uint_eq(wc_owner_count(&o, NULL), 5);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(n, 5);
    /* two iterators at once */
    {
        wc_iter a, b;
        wc_iter_init(&a, c);
        wc_iter_init(&b, c);
        ck_assert_int_eq(wc_iter_next(&a, &item), 1);
        ck_assert_int_eq(wc_iter_next(&a, &item), 1);
        ck_assert_int_eq(wc_iter_next(&b, &item), 1);
        ck_assert_int_eq(((const tu_box *)item.key)->payload, 4);
        ck_assert_int_eq(wc_iter_next(&a, &item), 1);
        ck_assert_int_eq(((const tu_box *)item.key)->payload, 2);
    }
    finish(&env, c, NULL);
}
END_TEST

START_TEST(test_iter_empty_and_null)
{
    wc_cache *c = NULL;
    wc_iter it;
    wc_item item;
    int rc;

    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 0);
    ck_assert_int_eq(wc_iter_next(NULL, &item), WC_EINVAL);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, NULL), WC_EINVAL);
    /* not documented: an iterator over a NULL cache. It must not crash and
     * must not produce items. */
    wc_iter_init(&it, NULL);
    rc = wc_iter_next(&it, &item);
    ck_assert_msg(rc == 0 || rc == WC_EINVAL, "rc %d", rc);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* NULL arguments                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_null_arguments)
{
    tu_env env;
    wc_cache *c;
    wc_owner o;
    tu_box *k, *v;
    tu_box probe = tu_probe(1, 0);
    void *out = &probe;

    tu_env_init(&env);
    wc_owner_init(&o);
    c = tu_cache_new(&env, 0, 0, NULL);
    k = tu_key(&env, 1);
    v = tu_val(&env, 1);

    ck_assert_int_eq(wc_get(NULL, NULL, 1, &probe, &out), WC_EINVAL);
    ck_assert_int_eq(wc_get(c, NULL, 1, &probe, NULL), WC_EINVAL);
    ck_assert_int_eq(wc_put(NULL, NULL, 1, k, v, 1), WC_EINVAL);
    ck_assert_int_eq(wc_put(NULL, &o, 1, k, v, 1), WC_EINVAL);
    ck_assert_int_eq(wc_remove(NULL, NULL, 1, &probe), WC_EINVAL);
    ck_assert_int_eq(wc_clear(NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_clear_owner(NULL, NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_clear_owner(NULL, &o), WC_EINVAL);
    ck_assert_int_eq(wc_cache_set_limits(NULL, 0, 0), WC_EINVAL);
    ck_assert_int_eq(wc_owner_release(NULL), WC_EINVAL);
    ck_assert_uint_eq(wc_owner_count(NULL, c), 0);
    ck_assert_uint_eq(wc_owner_count(NULL, NULL), 0);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_uint_eq(wc_owner_count(&o, c), 0);
    ck_assert_uint_eq(wc_cache_size(NULL), 0);
    ck_assert_int_eq(wc_cache_free(NULL), WC_OK);
    ck_assert_ptr_nonnull(wc_strerror(WC_EINVAL));
    /* nothing was taken, nothing happened */
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    ck_assert_uint_eq(wc_cache_size(c), 0);
    ck_assert_uint_eq(tu_stats(c).hits + tu_stats(c).misses, 0);
    /* the unowned group is an ordinary owner argument */
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k, v, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, tu_hash_int(1), &probe, &out), WC_OK);
    ck_assert_ptr_eq(out, v);
    ck_assert_int_eq(wc_remove(c, NULL, tu_hash_int(1), &probe), WC_OK);
    finish(&env, c, NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ABI: sized structs                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_config_size_versioning)
{
    /* A config not made by wc_config_init (size 0) is refused; an older,
     * smaller struct is accepted (missing fields are zero); a newer, larger
     * one is accepted only when the fields this library does not know are
     * zero. */
    struct {
        wc_config cfg;
        unsigned char newer[16];
    } big;
    wc_config cfg;
    wc_cache *c = NULL;

    memset(&cfg, 0, sizeof cfg);
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(wc_config_init(NULL), WC_EINVAL);
    ck_assert_int_eq(wc_config_init_size(&cfg, 8), WC_EINVAL);
    ck_assert_int_eq(wc_config_init(&cfg), WC_OK);
    ck_assert_uint_eq(cfg.size, sizeof cfg);
    cfg.max_entries = 3;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_uint_eq(tu_stats(c).max_entries, 3);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);

    /* the 0.2.0 struct, up to and including `clock_ctx`, is the smallest
     * accepted (what later versions will get from 0.2.0 callers) */
    ck_assert_int_eq(wc_config_init_size(&cfg, offsetof(wc_config, allocator) +
                                               sizeof(void *)), WC_EINVAL);
    ck_assert_int_eq(wc_config_init_size(&cfg, offsetof(wc_config, clock_ctx) +
                                               sizeof(void *)), WC_OK);
    cfg.max_entries = 4;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_uint_eq(tu_stats(c).max_entries, 4);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);

    memset(&big, 0x77, sizeof big);
    ck_assert_int_eq(wc_config_init_size(&big.cfg, sizeof big), WC_OK);
    ck_assert_uint_eq(big.newer[15], 0);
    big.cfg.max_entries = 5;
    ck_assert_int_eq(wc_cache_new(&big.cfg, &c), WC_OK);
    ck_assert_uint_eq(tu_stats(c).max_entries, 5);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    big.newer[3] = 1;   /* a field this library does not know about */
    c = NULL;
    ck_assert_int_eq(wc_cache_new(&big.cfg, &c), WC_EINVAL);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_stats_sized)
{
    /* A caller compiled with a smaller wc_stats gets only its prefix; a
     * larger one gets the rest zeroed. */
    tu_env env;
    wc_cache *c;
    wc_stats s;
    struct {
        wc_stats s;
        unsigned char newer[24];
    } big;
    int v;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 1, 2), WC_OK);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &v), WC_OK);
    memset(&s, 0xA5, sizeof s);
    ck_assert_int_eq(wc_cache_stats_size(c, &s, offsetof(wc_stats, misses)), WC_OK);
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.misses, 0xA5A5A5A5A5A5A5A5ull);   /* not written */
    memset(&big, 0xA5, sizeof big);
    ck_assert_int_eq(wc_cache_stats_size(c, &big.s, sizeof big), WC_OK);
    ck_assert_uint_eq(big.s.hits, 1);
    ck_assert_uint_eq(big.s.weight, 2);
    ck_assert_uint_eq(big.newer[0], 0);
    ck_assert_uint_eq(big.newer[23], 0);
    ck_assert_uint_ge(WC_EVICT_SLOTS, WC_EVICT__COUNT);
    finish(&env, c, NULL);
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc;

    tc = tcase_create("lifecycle");
    tcase_add_test(tc, test_new_null_config);
    tcase_add_test(tc, test_new_errors);
    tcase_add_test(tc, test_config_is_copied);
    tcase_add_test(tc, test_free_null_and_free_releases_everything);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_evict_cause_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("basic");
    tcase_add_test(tc, test_get_put_remove);
    tcase_add_test(tc, test_equal_callback_and_collisions);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_replace_same_pointers);
    tcase_add_test(tc, test_clear);
    tcase_add_test(tc, test_cleared_cache_is_usable);
    tcase_add_test(tc, test_retain_value_on_hit);
    tcase_add_test(tc, test_all_null_ops);
    tcase_add_test(tc, test_equal_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("lru");
    tcase_add_test(tc, test_lru_order_iteration);
    tcase_add_test(tc, test_lru_eviction_order);
    tcase_add_test(tc, test_max_entries_one);
    tcase_add_test(tc, test_iter_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, test_max_weight_eviction);
    tcase_add_test(tc, test_too_big);
    tcase_add_test(tc, test_set_limits_entries);
    tcase_add_test(tc, test_set_limits_weight);
    tcase_add_test(tc, test_both_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_test(tc, test_stats_counters);
    tcase_add_test(tc, test_stats_null_args);
    tcase_add_test(tc, test_stats_sized);
    tcase_add_test(tc, test_config_size_versioning);
    suite_add_tcase(s, tc);

    tc = tcase_create("iter");
    tcase_add_test(tc, test_iter_changed);
    tcase_add_test(tc, test_iter_unaffected_by_reads);
    tcase_add_test(tc, test_iter_empty_and_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("null_args");
    tcase_add_test(tc, test_null_arguments);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(cache_suite)
