/*
 * test_oom.c - allocation failures.
 *
 * Each scenario is run again and again with the counting allocator told to
 * refuse the 1st, 2nd, 3rd, ... allocation after it is armed, until a run
 * completes without reaching the armed allocation. A call during which the
 * allocation was refused must return WC_ENOMEM (or WC_OK when it could do
 * its whole job anyway) and leave the cache unchanged: same entries, no
 * evictions, no memory kept, the taken key and value still the caller's.
 * The cache must stay usable: the same call succeeds once allocation works
 * again. At the end every key and value was released exactly once and the
 * allocator has no live block.
 */
#include "testutil.h"

#define MAX_RUNS 100000

/* Bookkeeping of one call made while a failure may be injected. */
typedef struct oom_call {
    size_t failed_before;
    size_t blocks_before;
    size_t size_before;
    long evict_before;
} oom_call;

static void call_begin(oom_call *cl, tu_alloc *a, tu_env *env, wc_cache *c)
{
    cl->failed_before = a->n_failed;
    cl->blocks_before = a->live_blocks;
    cl->size_before = c != NULL ? wc_cache_size(c) : 0;
    cl->evict_before = env != NULL ? env->n_evict : 0;
}

/* Returns 1 if the injected failure hit this call (then checks the status
 * and that nothing changed), 0 otherwise (then the call must succeed). */
static int call_end(oom_call *cl, tu_alloc *a, tu_env *env, wc_cache *c,
                    int rc, const char *what, long run)
{
    if (a->n_failed == cl->failed_before) {
        TU_REQUIRE(rc == WC_OK, "run %ld: %s returned %d (%s) without an "
                   "allocation failure", run, what, rc, wc_strerror(rc));
        return 0;
    }
    TU_REQUIRE(rc == WC_ENOMEM || rc == WC_OK,
               "run %ld: %s returned %d (%s) after an allocation failure",
               run, what, rc, wc_strerror(rc));
    if (rc == WC_ENOMEM) {
        TU_REQUIRE(a->live_blocks == cl->blocks_before,
                   "run %ld: failed %s kept %ld block(s)", run, what,
                   (long)a->live_blocks - (long)cl->blocks_before);
        if (c != NULL) {
            TU_REQUIRE_EQ(wc_cache_size(c), cl->size_before);
            tu_check_consistent(env, c);
        }
        if (env != NULL)
            TU_REQUIRE(env->n_evict == cl->evict_before,
                       "run %ld: failed %s evicted entries", run, what);
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* wc_cache_new                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_oom_cache_new)
{
    long run;
    int saw_enomem = 0;

    for (run = 1; run < MAX_RUNS; run++) {
        tu_env env;
        tu_alloc a;
        wc_config cfg;
        wc_cache *c = NULL;
        int rc, v;

        tu_env_init(&env);
        tu_alloc_init(&a);
        cfg = tu_config(&env, 10, 0, &a);
        tu_alloc_fail_in(&a, run);
        rc = wc_cache_new(&cfg, &c);
        if (a.n_failed > 0) {
            TU_REQUIRE_EQ(rc, WC_ENOMEM);
            tu_assert_alloc_clean(&a);
            saw_enomem = 1;
            tu_env_destroy(&env);
            continue;
        }
        TU_REQUIRE_EQ(rc, WC_OK);
        tu_alloc_fail_in(&a, 0);
        TU_REQUIRE_EQ(tu_put(&env, c, NULL, 1, 1, 1), WC_OK);
        TU_REQUIRE_EQ(tu_get(&env, c, NULL, 1, &v), WC_OK);
        TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
        tu_assert_all_released(&env);
        tu_assert_alloc_clean(&a);
        tu_env_destroy(&env);
        break;
    }
    TU_REQUIRE(saw_enomem, "wc_cache_new never allocated");
    ck_assert_int_lt(run, MAX_RUNS);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Many puts with owners: the table grows, groups are allocated        */
/* ------------------------------------------------------------------ */

#define NOWNERS 3

/* One run: n puts into a cache (and a second cache sharing the owners),
 * the armed failure somewhere among them. Returns 1 when the failure was
 * never reached. */
static int put_many_run(long run, int nputs, size_t max_entries, int *enomem_seen)
{
    tu_env env, env2;
    tu_alloc a;
    wc_cache *c, *c2;
    wc_owner owners[NOWNERS];
    wc_owner *op[NOWNERS + 1];
    int *expect;    /* [owner slot][key] -> value, -1 absent */
    int i, done;

    tu_env_init(&env);
    tu_env_init(&env2);
    tu_alloc_init(&a);
    for (i = 0; i < NOWNERS; i++) {
        wc_owner_init(&owners[i]);
        op[i] = &owners[i];
    }
    op[NOWNERS] = NULL;
    expect = (int *)malloc(sizeof(int) * (NOWNERS + 1) * (size_t)nputs);
    ck_assert_ptr_nonnull(expect);
    for (i = 0; i < (NOWNERS + 1) * nputs; i++)
        expect[i] = -1;
    c = tu_cache_new(&env, max_entries, 0, &a);
    c2 = tu_cache_new(&env2, 0, 0, &a);

    tu_alloc_fail_in(&a, run);
    for (i = 0; i < nputs; i++) {
        int slot = i % (NOWNERS + 1);
        int key = (i % 5 == 4) ? i - 4 : i;      /* every 5th replaces */
        int rc;
        oom_call cl;
        /* every 7th put goes to the second cache: a group allocation the
         * first time an owner is used there */
        int second = (i % 7 == 3);
        tu_env *e = second ? &env2 : &env;
        wc_cache *cc = second ? c2 : c;

        size_t owned_before = wc_owner_count(op[slot], NULL);

        call_begin(&cl, &a, e, cc);
        rc = tu_put(e, cc, op[slot], key, 10 * i, 1 + (uint32_t)(i % 3));
        if (call_end(&cl, &a, e, cc, rc, "wc_put", run) && rc == WC_ENOMEM) {
            *enomem_seen = 1;
            tu_assert_env_ok(e);  /* the key and value were not released */
            TU_REQUIRE_EQ(wc_owner_count(op[slot], NULL), owned_before);
            /* works when memory is available again */
            rc = tu_put(e, cc, op[slot], key, 10 * i, 1 + (uint32_t)(i % 3));
            TU_REQUIRE(rc == WC_OK, "run %ld: retried put returned %d",
                       run, rc);
        }
        if (!second)
            expect[slot * nputs + key] = 10 * i;
    }
    done = a.n_failed == 0;
    tu_alloc_fail_in(&a, 0);

    tu_check_consistent(&env, c);
    tu_check_consistent(&env2, c2);
    for (i = 0; i < NOWNERS; i++) {
        TU_REQUIRE_EQ(wc_owner_count(&owners[i], c), tu_iter_count_owner(c, &owners[i]));
        TU_REQUIRE_EQ(wc_owner_count(&owners[i], c2), tu_iter_count_owner(c2, &owners[i]));
    }
    if (max_entries == 0) {
        /* unbounded: exactly the expected contents */
        size_t n = 0;
        int s, k;
        for (s = 0; s <= NOWNERS; s++) {
            for (k = 0; k < nputs; k++) {
                int want = expect[s * nputs + k], got;
                if (want < 0)
                    continue;
                n++;
                TU_REQUIRE_EQ(tu_get(&env, c, op[s], k, &got), WC_OK);
                TU_REQUIRE(got == want, "run %ld: owner %d key %d: value "
                           "%d, expected %d", run, s, k, got, want);
            }
        }
        TU_REQUIRE_EQ(wc_cache_size(c), n);
        TU_REQUIRE_EQ(env.n_evict, env.n_evict_cause[WC_EVICT_REPLACED]);
    } else {
        TU_REQUIRE_EQ(wc_cache_size(c), max_entries);
    }
    /* still fully usable */
    TU_REQUIRE_EQ(tu_put(&env, c, op[0], -1, -1, 1), WC_OK);
    TU_REQUIRE_EQ(wc_owner_release(&owners[1]), WC_OK);
    TU_REQUIRE_EQ(wc_owner_count(&owners[1], NULL), 0);

    TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
    TU_REQUIRE_EQ(wc_owner_release(&owners[0]), WC_OK);
    TU_REQUIRE_EQ(wc_cache_free(c2), WC_OK);
    TU_REQUIRE_EQ(wc_owner_release(&owners[2]), WC_OK);
    tu_assert_all_released(&env);
    tu_assert_all_released(&env2);
    tu_assert_alloc_clean(&a);
    tu_env_destroy(&env);
    tu_env_destroy(&env2);
    free(expect);
    return done;
}

START_TEST(test_oom_put_many_unbounded)
{
    const int nputs = (int)tu_scale(900, 250); /* 3 table expansions; 1 quick */
    int enomem_seen = 0;
    long run;
    for (run = 1; run < MAX_RUNS; run++)
        if (put_many_run(run, nputs, 0, &enomem_seen))
            break;
    ck_assert_int_lt(run, MAX_RUNS);
    ck_assert_int_gt(run, nputs); /* at least one allocation per entry */
    ck_assert(enomem_seen);
}
END_TEST

START_TEST(test_oom_put_many_bounded)
{
    const int nputs = (int)tu_scale(400, 120);
    int enomem_seen = 0;
    long run;
    for (run = 1; run < MAX_RUNS; run++)
        if (put_many_run(run, nputs, 40, &enomem_seen))
            break;
    ck_assert_int_lt(run, MAX_RUNS);
    ck_assert(enomem_seen);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The same owner in more caches: group allocation                     */
/* ------------------------------------------------------------------ */

#define NCACHE 4

START_TEST(test_oom_owner_groups)
{
    long run;
    int saw_enomem = 0;

    for (run = 1; run < MAX_RUNS; run++) {
        tu_env env[NCACHE];
        wc_cache *c[NCACHE];
        tu_alloc a;
        wc_owner o[3];
        int i, j, k, done;

        tu_alloc_init(&a);
        for (i = 0; i < NCACHE; i++) {
            tu_env_init(&env[i]);
            c[i] = tu_cache_new(&env[i], 0, 0, &a);
            /* the tables exist already: the failures hit entries and groups */
            TU_REQUIRE_EQ(tu_put(&env[i], c[i], NULL, 999, 999, 1), WC_OK);
        }
        for (j = 0; j < 3; j++) {
            wc_owner_init(&o[j]);
            /* first use: cache j % NCACHE, the inline group */
            TU_REQUIRE_EQ(tu_put(&env[j % NCACHE], c[j % NCACHE], &o[j], 0, 0, 1), WC_OK);
        }
        tu_alloc_fail_in(&a, run);
        for (k = 1; k <= 2; k++) {
            for (j = 0; j < 3; j++) {
                for (i = 0; i < NCACHE; i++) {
                    oom_call cl;
                    size_t count_here = wc_owner_count(&o[j], c[i]);
                    size_t count_all = wc_owner_count(&o[j], NULL);
                    int rc;
                    call_begin(&cl, &a, &env[i], c[i]);
                    rc = tu_put(&env[i], c[i], &o[j], k, k * 100 + i, 1);
                    if (call_end(&cl, &a, &env[i], c[i], rc, "wc_put", run) &&
                        rc == WC_ENOMEM) {
                        saw_enomem = 1;
                        TU_REQUIRE_EQ(wc_owner_count(&o[j], c[i]), count_here);
                        TU_REQUIRE_EQ(wc_owner_count(&o[j], NULL), count_all);
                        TU_REQUIRE_EQ(tu_iter_count_owner(c[i], &o[j]), count_here);
                        TU_REQUIRE_EQ(tu_put(&env[i], c[i], &o[j], k, k * 100 + i, 1), WC_OK);
                    }
                }
            }
        }
        done = a.n_failed == 0;
        tu_alloc_fail_in(&a, 0);
        for (j = 0; j < 3; j++) {
            TU_REQUIRE_EQ(wc_owner_count(&o[j], NULL), 2 * NCACHE + 1);
            for (i = 0; i < NCACHE; i++) {
                int v;
                TU_REQUIRE_EQ(tu_get(&env[i], c[i], &o[j], 2, &v), WC_OK);
                TU_REQUIRE_EQ(v, 200 + i);
                TU_REQUIRE_EQ(wc_owner_count(&o[j], c[i]), tu_iter_count_owner(c[i], &o[j]));
            }
        }
        /* release one owner, free one cache, release the rest */
        TU_REQUIRE_EQ(wc_owner_release(&o[0]), WC_OK);
        TU_REQUIRE_EQ(wc_cache_free(c[1]), WC_OK);
        c[1] = NULL;
        TU_REQUIRE_EQ(wc_owner_release(&o[1]), WC_OK);
        TU_REQUIRE_EQ(wc_owner_release(&o[2]), WC_OK);
        for (i = 0; i < NCACHE; i++) {
            if (c[i] != NULL) {
                TU_REQUIRE_EQ(tu_check_consistent(&env[i], c[i]), 1);
                TU_REQUIRE_EQ(wc_cache_free(c[i]), WC_OK);
            }
            tu_assert_all_released(&env[i]);
            tu_env_destroy(&env[i]);
        }
        tu_assert_alloc_clean(&a);
        if (done)
            break;
    }
    ck_assert_int_lt(run, MAX_RUNS);
    ck_assert(saw_enomem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bytes caches                                                        */
/* ------------------------------------------------------------------ */

static long g_values_live;
static long g_values_freed;

static void *bytes_value(void)
{
    int *p = (int *)malloc(sizeof *p);
    TU_REQUIRE(p != NULL, "out of memory in the test");
    *p = 0x5A5A;
    g_values_live++;
    return p;
}

static void bytes_free_value(void *value)
{
    int *p = (int *)value;
    if (p != NULL && *p == 0x5A5A) {
        *p = 0;
        g_values_live--;
        g_values_freed++;
    }
    free(p);
}

START_TEST(test_oom_bytes_cache_new)
{
    long run;
    int saw_enomem = 0;
    for (run = 1; run < MAX_RUNS; run++) {
        tu_alloc a;
        wc_cache *c = NULL;
        int rc;
        tu_alloc_init(&a);
        tu_alloc_fail_in(&a, run);
        rc = wc_bytes_cache_new(4, bytes_free_value, &a.hooks, &c);
        if (a.n_failed > 0) {
            TU_REQUIRE_EQ(rc, WC_ENOMEM);
            tu_assert_alloc_clean(&a);
            saw_enomem = 1;
            continue;
        }
        TU_REQUIRE_EQ(rc, WC_OK);
        TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
        tu_assert_alloc_clean(&a);
        break;
    }
    ck_assert(saw_enomem);
}
END_TEST

START_TEST(test_oom_bytes_put)
{
    static const size_t lens[] = {0, 1, 3, 16, 100, 5000};
    const int nputs = (int)tu_scale(300, 90);
    unsigned char *buf = (unsigned char *)malloc(5000 + 16);
    long run;
    int saw_enomem = 0;

    ck_assert_ptr_nonnull(buf);
    g_values_live = 0;
    for (run = 1; run < MAX_RUNS; run++) {
        tu_alloc a;
        wc_cache *c = NULL;
        wc_owner o;
        int i, done;

        tu_alloc_init(&a);
        wc_owner_init(&o);
        TU_REQUIRE_EQ(wc_bytes_cache_new(0, bytes_free_value, &a.hooks, &c), WC_OK);
        tu_alloc_fail_in(&a, run);
        for (i = 0; i < nputs; i++) {
            size_t len = lens[i % 6];
            wc_owner *owner = (i % 3 == 0) ? &o : NULL;
            void *v = bytes_value();
            oom_call cl;
            long freed = g_values_freed;
            int rc;
            memset(buf, 0, len + 8);
            if (len > 0)
                memcpy(buf, &i, len < sizeof i ? len : sizeof i);
            call_begin(&cl, &a, NULL, c);
            rc = wc_bytes_put(c, owner, buf, len, v);
            if (call_end(&cl, &a, NULL, c, rc, "wc_bytes_put", run) && rc == WC_ENOMEM) {
                saw_enomem = 1;
                TU_REQUIRE_EQ(g_values_freed, freed); /* still ours */
                TU_REQUIRE_EQ(wc_cache_size(c), cl.size_before);
                tu_check_consistent(NULL, c);
                TU_REQUIRE_EQ(wc_bytes_put(c, owner, buf, len, v), WC_OK);
            }
            {
                void *out = NULL;
                TU_REQUIRE_EQ(wc_bytes_get(c, owner, buf, len, &out), WC_OK);
                TU_REQUIRE(out == v, "wc_bytes_get returned another value");
            }
        }
        done = a.n_failed == 0;
        tu_alloc_fail_in(&a, 0);
        tu_check_consistent(NULL, c);
        TU_REQUIRE_EQ(wc_owner_count(&o, c), tu_iter_count_owner(c, &o));
        TU_REQUIRE_EQ(wc_owner_release(&o), WC_OK);
        TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
        TU_REQUIRE_EQ(g_values_live, 0);
        tu_assert_alloc_clean(&a);
        if (done)
            break;
    }
    free(buf);
    ck_assert_int_lt(run, MAX_RUNS);
    ck_assert(saw_enomem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Operations that cannot fail with WC_ENOMEM                          */
/* ------------------------------------------------------------------ */

START_TEST(test_no_alloc_operations)
{
    /* With every allocation refused: get, remove, clear_owner, release,
     * set_limits, iteration, stats, clear and wc_cache_free still do their
     * job (none of them documents WC_ENOMEM). */
    tu_env env, env2;
    tu_alloc a;
    wc_cache *c, *c2;
    wc_owner o, p;
    wc_iter it;
    wc_item item;
    int i, v, n = 0, rc;

    tu_env_init(&env);
    tu_env_init(&env2);
    tu_alloc_init(&a);
    wc_owner_init(&o);
    wc_owner_init(&p);
    c = tu_cache_new(&env, 0, 0, &a);
    c2 = tu_cache_new(&env2, 0, 0, &a);
    for (i = 0; i < 30; i++) {
        TU_REQUIRE_EQ(tu_put(&env, c, (i % 3 == 0) ? &o : (i % 3 == 1) ? &p : NULL, i, i, 1), WC_OK);
        TU_REQUIRE_EQ(tu_put(&env2, c2, (i % 2) ? &o : &p, i, i, 1), WC_OK);
    }
    a.fail_all = 1;
    TU_REQUIRE_EQ(tu_get(&env, c, &o, 3, &v), WC_OK);
    TU_REQUIRE_EQ(v, 3);
    TU_REQUIRE_EQ(tu_get(&env, c, &o, 4, &v), WC_NOTFOUND);
    TU_REQUIRE_EQ(tu_remove(&env, c, &p, 4), WC_OK);
    TU_REQUIRE_EQ(tu_remove(&env, c, NULL, 5), WC_OK);
    wc_iter_init(&it, c);
    while ((rc = wc_iter_next(&it, &item)) == 1)
        n++;
    TU_REQUIRE_EQ(rc, 0);
    TU_REQUIRE_EQ(n, 28);
    TU_REQUIRE_EQ(wc_cache_set_limits(c, 20, 0), WC_OK);
    TU_REQUIRE_EQ(wc_cache_size(c), 20);
    TU_REQUIRE_EQ(wc_cache_clear_owner(c, NULL), WC_OK);
    TU_REQUIRE_EQ(wc_cache_clear_owner(c2, &p), WC_OK);
    TU_REQUIRE_EQ(wc_owner_count(&p, NULL), wc_owner_count(&p, c));
    TU_REQUIRE_EQ(wc_owner_release(&o), WC_OK);
    TU_REQUIRE_EQ(wc_owner_count(&o, NULL), 0);
    TU_REQUIRE_EQ(wc_cache_size(c2), 0);
    tu_check_consistent(&env, c);
    TU_REQUIRE_EQ(wc_clear(c), WC_OK);
    TU_REQUIRE_EQ(wc_cache_size(c), 0);
    TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
    TU_REQUIRE_EQ(wc_cache_free(c2), WC_OK);
    a.fail_all = 0;
    tu_assert_all_released(&env);
    tu_assert_all_released(&env2);
    tu_assert_alloc_clean(&a);
    tu_env_destroy(&env);
    tu_env_destroy(&env2);
}
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc;

    tc = tcase_create("create");
    tcase_add_test(tc, test_oom_cache_new);
    tcase_add_test(tc, test_oom_bytes_cache_new);
    suite_add_tcase(s, tc);

    tc = tcase_create("put");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_oom_put_many_unbounded);
    tcase_add_test(tc, test_oom_put_many_bounded);
    tcase_add_test(tc, test_oom_owner_groups);
    suite_add_tcase(s, tc);

    tc = tcase_create("bytes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_oom_bytes_put);
    suite_add_tcase(s, tc);

    tc = tcase_create("no_alloc");
    tcase_add_test(tc, test_no_alloc_operations);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(oom_suite)
