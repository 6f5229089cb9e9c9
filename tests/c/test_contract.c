/*
 * test_contract.c - the header's promises at their edges (issue 12,
 * holes 2-5): an owner whose storage is freed by its own release's last
 * free_value; a put whose replaced entry frees the cache; re-putting the
 * same key or value pointer; the generic API on a bytes cache; the code an
 * `equal` callback failed with.
 */
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* A reference-counted session whose cached values point at it         */
/* ------------------------------------------------------------------ */

typedef struct session {
    wc_owner owner;
    int refs;         /* one per cached value, one for the server */
    long *freed;      /* incremented when the session is freed */
} session;

static session *session_new(long *freed)
{
    session *s = (session *)malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    wc_owner_init(&s->owner);
    s->refs = 1;
    s->freed = freed;
    return s;
}

static void session_unref(session *s)
{
    if (--s->refs == 0) {
        long *freed = s->freed;
        /* poison, so that any later read of the owner fails loudly even
         * without a memory checker */
        memset(s, 0xA5, sizeof *s);
        free(s);
        (*freed)++;
    }
}

/* Values are the sessions themselves (each entry holds one reference). */
static void sess_free_value(void *ctx, void *value)
{
    (void)ctx;
    session_unref((session *)value);
}

static wc_cache *session_cache(void)
{
    static const wc_ops ops = {NULL, NULL, sess_free_value, NULL, NULL};
    wc_config cfg;
    wc_cache *c = NULL;
    wc_config_init(&cfg);
    cfg.ops = &ops;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    return c;
}

static void session_cache_value(wc_cache *c, session *s, uintptr_t key)
{
    s->refs++;
    ck_assert_int_eq(wc_put(c, &s->owner, key, (void *)key, s, 1), WC_OK);
}

START_TEST(test_release_frees_owner_in_last_callback)
{
    /* The server drops its reference, then releases the session: the last
     * free_value of the release frees the session (the owner's storage).
     * The release must not touch the owner after that. */
    long freed = 0;
    wc_cache *c1 = session_cache(), *c2 = session_cache();
    session *s = session_new(&freed);
    uintptr_t k;

    for (k = 1; k <= 5; k++)
        session_cache_value(c1, s, k);
    for (k = 1; k <= 3; k++)
        session_cache_value(c2, s, k);
    session_unref(s);   /* the server's reference */
    ck_assert_int_eq(freed, 0);
    ck_assert_int_eq(wc_owner_release(&s->owner), WC_OK);
    ck_assert_int_eq(freed, 1);
    ck_assert_uint_eq(wc_cache_size(c1), 0);
    ck_assert_uint_eq(wc_cache_size(c2), 0);

    /* one cache only */
    s = session_new(&freed);
    session_cache_value(c2, s, 9);
    session_unref(s);
    ck_assert_int_eq(wc_owner_release(&s->owner), WC_OK);
    ck_assert_int_eq(freed, 2);
    ck_assert_int_eq(wc_cache_free(c1), WC_OK);
    ck_assert_int_eq(wc_cache_free(c2), WC_OK);
}
END_TEST


START_TEST(test_release_frees_owner_one_entry_per_cache)
{
    /* One entry in each of two caches: the session dies in the second
     * cache's callbacks. */
    long freed = 0;
    wc_cache *c1 = session_cache(), *c2 = session_cache();
    session *s = session_new(&freed);
    session_cache_value(c1, s, 1);
    session_cache_value(c2, s, 2);
    session_unref(s);
    ck_assert_int_eq(wc_owner_release(&s->owner), WC_OK);
    ck_assert_int_eq(freed, 1);
    ck_assert_int_eq(wc_cache_free(c1), WC_OK);
    ck_assert_int_eq(wc_cache_free(c2), WC_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* wc_put and a callback that frees the cache                          */
/* ------------------------------------------------------------------ */

static void hk_free_cache(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_free(env->cache));
}

START_TEST(test_put_cache_freed_by_replaced_entry)
{
    /* The replaced entry's free_value frees the cache: the put must report
     * WC_EBUSY, and the key and value it was given stay the caller's (not
     * released by the cache). */
    tu_env env;
    wc_cache *c;
    tu_box *k, *v;
    int rc;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env, c, NULL, 2, 200, 1), WC_OK);
    tu_hook_set(&env.h_free_value, hk_free_cache, 1);
    tu_hook_match(&env.h_free_value, 100);
    k = tu_key(&env, 1);
    v = tu_val(&env, 101);
    rc = wc_put(c, NULL, tu_hash_int(1), k, v, 1);
    ck_assert_int_eq(env.h_free_value.runs, 1);
    ck_assert_int_eq(env.h_free_value.rc[0], WC_OK);
    ck_assert_int_eq(rc, WC_EBUSY);
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    ck_assert_int_eq(v->evicted, 0);
    tu_release(k);
    tu_release(v);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

START_TEST(test_put_cache_freed_by_evicted_entry)
{
    /* The same through a capacity eviction the put causes. */
    tu_env env;
    wc_cache *c;
    tu_box *k, *v;

    tu_env_init(&env);
    c = tu_cache_new(&env, 1, 0, NULL);
    ck_assert_int_eq(tu_put(&env, c, NULL, 1, 100, 1), WC_OK);
    tu_hook_set(&env.h_evict, hk_free_cache, 1);
    k = tu_key(&env, 2);
    v = tu_val(&env, 200);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(2), k, v, 1), WC_EBUSY);
    ck_assert_int_eq(k->freed + v->freed, 0);
    tu_release(k);
    tu_release(v);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Re-putting the same pointers                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_reput_same_value_pointer)
{
    /* A "refresh": put (k2, v) over (k1, v) with k2 equal to k1. The cache
     * keeps v (it holds it once, under the new entry) and must not release
     * it; the put says so with WC_KEPT_VALUE. */
    tu_env env;
    wc_cache *c;
    tu_box *k1, *k2, *v;
    int out;

    tu_env_init(&env);
    c = tu_cache_new(&env, 0, 0, NULL);
    k1 = tu_key(&env, 1);
    k2 = tu_key(&env, 1);
    v = tu_val(&env, 100);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k1, v, 1), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, tu_hash_int(1), k2, v, 1), WC_KEPT_VALUE);
    ck_assert_int_eq(v->freed, 0);
    ck_assert_int_eq(k1->freed, 1);
    ck_assert_int_eq(tu_get(&env, c, NULL, 1, &out), WC_OK);
    ck_assert_int_eq(out, 100);
    tu_assert_log(&env, 0, "1:P");
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The generic API on a bytes cache                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_generic_api_on_bytes_cache)
{
    wc_cache *c = NULL;
    wc_bytes_key probe = {3, (const unsigned char *)"key"};
    void *out = &probe;
    int value = 1;

    ck_assert_int_eq(wc_bytes_cache_new(0, NULL, NULL, &c), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "key", 3, &value), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, wc_hash_bytes("key", 3, 0), &probe, &out),
                     WC_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(wc_put(c, NULL, 1, &probe, &value, 1), WC_EINVAL);
    ck_assert_int_eq(wc_remove(c, NULL, wc_hash_bytes("key", 3, 0), &probe),
                     WC_EINVAL);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_uint_eq(tu_stats(c).hits + tu_stats(c).misses, 0);
    ck_assert_int_eq(wc_bytes_get(c, NULL, "key", 3, &out), WC_OK);
    ck_assert_ptr_eq(out, &value);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* WC_ECALLBACK keeps the callback's own code                          */
/* ------------------------------------------------------------------ */

static int eq_fail_42(void *ctx, const void *a, const void *b)
{
    (void)ctx;
    (void)a;
    (void)b;
    return -42;
}

START_TEST(test_callback_error_code)
{
    static const wc_ops ops = {eq_fail_42, NULL, NULL, NULL, NULL};
    wc_config cfg;
    wc_cache *c = NULL;
    int k1 = 1, k2 = 1, v = 0;
    void *out;

    wc_config_init(&cfg);
    cfg.ops = &ops;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 5, &k1, &v, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, 5, &k2, &out), WC_ECALLBACK);
    ck_assert_int_eq(wc_callback_error(), -42);
    ck_assert_int_eq(wc_put(c, NULL, 5, &k2, &v, 1), WC_ECALLBACK);
    ck_assert_int_eq(wc_remove(c, NULL, 5, &k2), WC_ECALLBACK);
    ck_assert_int_eq(wc_callback_error(), -42);
    /* identical pointers never ask the callback */
    ck_assert_int_eq(wc_get(c, NULL, 5, &k1, &out), WC_OK);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

static Suite *contract_suite(void)
{
    Suite *s = suite_create("contract");
    TCase *tc = tcase_create("owner_storage");
    tcase_add_test(tc, test_release_frees_owner_in_last_callback);
    tcase_add_test(tc, test_release_frees_owner_one_entry_per_cache);
    suite_add_tcase(s, tc);
    tc = tcase_create("put_busy");
    tcase_add_test(tc, test_put_cache_freed_by_replaced_entry);
    tcase_add_test(tc, test_put_cache_freed_by_evicted_entry);
    suite_add_tcase(s, tc);
    tc = tcase_create("same_pointers");
    tcase_add_test(tc, test_reput_same_value_pointer);
    suite_add_tcase(s, tc);
    tc = tcase_create("callback_error");
    tcase_add_test(tc, test_callback_error_code);
    suite_add_tcase(s, tc);
    tc = tcase_create("bytes");
    tcase_add_test(tc, test_generic_api_on_bytes_cache);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(contract_suite)
