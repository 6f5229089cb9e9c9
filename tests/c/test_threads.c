/*
 * test_threads.c - threads (issue 12, part 1). Run under ThreadSanitizer by
 * the `tsan` preset (scripts/test.sh), plain, under ASan and valgrind too.
 *
 *  - Two threads, each with its own (not thread-safe) cache, one shared
 *    owner: the owner's group list is edited by both (regression: a data
 *    race and heap-use-after-free between group_find and group_release).
 *  - 2..8 threads sharing thread-safe caches (built-in mutex and user lock
 *    hooks) and a pool of owners: puts, gets, peeks, removes, takes,
 *    releases, clear_owner, counts and stats from any thread, with
 *    callbacks that call back into the cache. Values are reference counted
 *    (retain_value takes a reference for the getter); at the end every key
 *    and value must have been released exactly once.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------ */
/* Reference-counted values, boxed keys                                */
/* ------------------------------------------------------------------ */

typedef struct tval {
    atomic_int refs;
    int payload;
} tval;

typedef struct tkey {
    int k;
} tkey;

static atomic_long g_live_values, g_live_keys, g_reentries;

static tval *tval_new(int payload)
{
    tval *v = (tval *)malloc(sizeof *v);
    TU_REQUIRE(v != NULL, "oom");
    atomic_init(&v->refs, 1);
    v->payload = payload;
    atomic_fetch_add(&g_live_values, 1);
    return v;
}

static void tval_unref(tval *v)
{
    int before = atomic_fetch_sub(&v->refs, 1);
    TU_REQUIRE(before >= 1, "value released too often");
    if (before == 1) {
        atomic_fetch_sub(&g_live_values, 1);
        free(v);
    }
}

static tkey *tkey_new(int k)
{
    tkey *key = (tkey *)malloc(sizeof *key);
    TU_REQUIRE(key != NULL, "oom");
    key->k = k;
    atomic_fetch_add(&g_live_keys, 1);
    return key;
}

static uint64_t khash(int k) { return tu_mix64((uint64_t)k) & 0xffff; /* some collisions */ }

typedef struct shared shared;

static int t_equal(void *ctx, const void *a, const void *b)
{
    (void)ctx;
    return ((const tkey *)a)->k == ((const tkey *)b)->k;
}

static void t_free_key(void *ctx, void *key)
{
    (void)ctx;
    atomic_fetch_sub(&g_live_keys, 1);
    free(key);
}

static void t_retain(void *ctx, void *value)
{
    (void)ctx;
    atomic_fetch_add(&((tval *)value)->refs, 1);
}

/* Re-entrant callbacks: some releases look the key up again in the same
 * cache (the lock is recursive), or count the cache's entries. */
static wc_cache *g_reenter_cache[2];

static void t_free_value(void *ctx, void *value)
{
    tval *v = (tval *)value;
    intptr_t which = (intptr_t)ctx;
    if ((v->payload & 7) == 0) {
        tkey probe = {v->payload >> 3};
        void *out;
        if (wc_peek(g_reenter_cache[which], NULL, khash(probe.k), &probe, &out) == WC_OK)
            tval_unref((tval *)out);
        (void)wc_cache_size(g_reenter_cache[which]);
        atomic_fetch_add(&g_reentries, 1);
    }
    tval_unref(v);
}

static void t_on_evict(void *ctx, const void *key, void *value, uint32_t weight,
                       wc_evict_cause cause)
{
    (void)ctx;
    (void)weight;
    TU_REQUIRE((int)cause >= 0 && cause < WC_EVICT__COUNT, "bad cause");
    TU_REQUIRE(((const tkey *)key)->k >= 0 && ((const tval *)value)->payload >= 0,
               "listener sees a dead entry");
}

static const wc_ops g_tops = {t_equal, t_free_key, t_free_value, t_retain, t_on_evict};

/* ------------------------------------------------------------------ */
/* User lock hooks: a recursive pthread mutex, counted                  */
/* ------------------------------------------------------------------ */

typedef struct user_lock {
    pthread_mutex_t m;
    atomic_long locks, tries;
} user_lock;

static int ul_lock(void *ctx, int wait)
{
    user_lock *l = (user_lock *)ctx;
    if (wait) {
        atomic_fetch_add(&l->locks, 1);
        return pthread_mutex_lock(&l->m) == 0;
    }
    atomic_fetch_add(&l->tries, 1);
    return pthread_mutex_trylock(&l->m) == 0;
}

static void ul_unlock(void *ctx)
{
    pthread_mutex_unlock(&((user_lock *)ctx)->m);
}

static void ul_init(user_lock *l)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&l->m, &a);
    pthread_mutexattr_destroy(&a);
    atomic_init(&l->locks, 0);
    atomic_init(&l->tries, 0);
}

/* ------------------------------------------------------------------ */
/* 1. The shared-owner race                                            */
/* ------------------------------------------------------------------ */

typedef struct own_cache_arg {
    wc_owner *owner;
    int id;
    long ops;
} own_cache_arg;

static void *own_cache_worker(void *p)
{
    own_cache_arg *a = (own_cache_arg *)p;
    wc_cache *c = NULL;
    long i;
    TU_REQUIRE(wc_cache_new(NULL, &c) == WC_OK, "new");
    for (i = 0; i < a->ops; i++) {
        uintptr_t k = (uintptr_t)(i % 3) + 1;
        void *out;
        /* each put creates the (owner, c) group when it is empty, each
         * remove of the last entry frees it: the owner's list is edited
         * all the time by both threads */
        TU_REQUIRE(wc_put(c, a->owner, k, (void *)k, (void *)k, 1) >= 0, "put");
        TU_REQUIRE(wc_get(c, a->owner, k, (void *)k, &out) == WC_OK, "get");
        if (i % 2 == 0)
            TU_REQUIRE(wc_remove(c, a->owner, k, (void *)k) == WC_OK, "remove");
        if (i % 5 == 0)
            TU_REQUIRE(wc_cache_clear_owner(c, a->owner) == WC_OK, "clear");
    }
    TU_REQUIRE(wc_owner_count(a->owner, c) <= 3, "count");
    TU_REQUIRE(wc_cache_free(c) == WC_OK, "free");
    return NULL;
}

START_TEST(test_shared_owner_own_caches)
{
    wc_owner owner;
    pthread_t t[2];
    own_cache_arg a[2];
    int i;
    wc_owner_init(&owner);
    for (i = 0; i < 2; i++) {
        a[i].owner = &owner;
        a[i].id = i;
        a[i].ops = tu_scale(200000, 20000);
        ck_assert_int_eq(pthread_create(&t[i], NULL, own_cache_worker, &a[i]), 0);
    }
    for (i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(wc_owner_count(&owner, NULL), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. Shared caches and owners                                         */
/* ------------------------------------------------------------------ */

#define NOWNERS 16
#define NKEYS 64

struct shared {
    wc_cache *c[2];
    wc_owner owners[NOWNERS];
    atomic_long hits, puts;
    long ops;
};

typedef struct worker_arg {
    shared *s;
    uint64_t seed;
} worker_arg;

static wc_owner *pick_owner(shared *s, tu_rng *r)
{
    uint32_t i = tu_rng_below(r, NOWNERS + 1);
    return i == NOWNERS ? NULL : &s->owners[i];
}

static void *shared_worker(void *p)
{
    worker_arg *a = (worker_arg *)p;
    shared *s = a->s;
    tu_rng r;
    long i;
    r.state = a->seed;
    for (i = 0; i < s->ops; i++) {
        int which = (int)tu_rng_below(&r, 2);
        wc_cache *c = s->c[which];
        wc_owner *o = pick_owner(s, &r);
        int k = (int)tu_rng_below(&r, NKEYS);
        tkey probe = {k};
        uint32_t dice = tu_rng_below(&r, 100);
        void *out, *kout;
        int rc;
        if (dice < 40) {
            tkey *key = tkey_new(k);
            tval *v = tval_new(k * 8 + (int)tu_rng_below(&r, 8));
            rc = wc_put(c, o, khash(k), key, v, 1 + tu_rng_below(&r, 3));
            if (rc < 0) {
                TU_REQUIRE(rc == WC_ETOOBIG, "put: %s", wc_strerror(rc));
                atomic_fetch_sub(&g_live_keys, 1);
                free(key);
                tval_unref(v);
            }
            atomic_fetch_add(&s->puts, 1);
        } else if (dice < 70) {
            rc = wc_get(c, o, khash(k), &probe, &out);
            TU_REQUIRE(rc == WC_OK || rc == WC_NOTFOUND, "get: %s", wc_strerror(rc));
            if (rc == WC_OK) {
                TU_REQUIRE(((tval *)out)->payload >> 3 == k, "wrong value");
                tval_unref((tval *)out);   /* the reference retain_value took */
                atomic_fetch_add(&s->hits, 1);
            }
        } else if (dice < 75) {
            rc = wc_peek(c, o, khash(k), &probe, &out);
            if (rc == WC_OK)
                tval_unref((tval *)out);
        } else if (dice < 82) {
            rc = wc_remove(c, o, khash(k), &probe);
            TU_REQUIRE(rc == WC_OK || rc == WC_NOTFOUND, "remove: %s", wc_strerror(rc));
        } else if (dice < 86) {
            rc = wc_take(c, o, khash(k), &probe, &kout, &out);
            TU_REQUIRE(rc == WC_OK || rc == WC_NOTFOUND, "take: %s", wc_strerror(rc));
            if (rc == WC_OK) {
                t_free_key(NULL, kout);
                tval_unref((tval *)out);
            }
        } else if (dice < 91) {
            if (o != NULL)
                TU_REQUIRE(wc_owner_release(o) == WC_OK, "release");
        } else if (dice < 94) {
            TU_REQUIRE(wc_cache_clear_owner(c, o) == WC_OK, "clear_owner");
        } else if (dice < 97) {
            if (o != NULL)
                (void)wc_owner_count(o, tu_rng_below(&r, 2) ? NULL : c);
        } else {
            wc_stats st;
            TU_REQUIRE(wc_cache_stats(c, &st) == WC_OK, "stats");
            TU_REQUIRE(st.size <= 40, "size %zu over the bound", st.size);
            if (tu_rng_below(&r, 8) == 0)
                TU_REQUIRE(wc_cache_set_limits(c, 20 + tu_rng_below(&r, 21), 0) == WC_OK,
                           "limits");
        }
    }
    return NULL;
}

static void run_shared(int nthreads, int hooks, wc_policy policy)
{
    shared *s = (shared *)calloc(1, sizeof *s);
    pthread_t t[8];
    worker_arg a[8];
    user_lock ul[2];
    wc_lock lk[2];
    int i;

    ck_assert_ptr_nonnull(s);
    atomic_init(&g_live_values, 0);
    atomic_init(&g_live_keys, 0);
    for (i = 0; i < NOWNERS; i++)
        wc_owner_init(&s->owners[i]);
    for (i = 0; i < 2; i++) {
        wc_config cfg;
        wc_config_init(&cfg);
        cfg.max_entries = 40;
        cfg.ops = &g_tops;
        cfg.ops_ctx = (void *)(intptr_t)i;
        cfg.policy = policy;
        cfg.flags = WC_THREAD_SAFE;
        if (hooks) {
            ul_init(&ul[i]);
            lk[i].lock = ul_lock;
            lk[i].unlock = ul_unlock;
            lk[i].ctx = &ul[i];
            cfg.lock = &lk[i];
        }
        ck_assert_int_eq(wc_cache_new(&cfg, &s->c[i]), WC_OK);
        g_reenter_cache[i] = s->c[i];
    }
    s->ops = tu_scale(60000, 4000) * 4 / nthreads;
    for (i = 0; i < nthreads; i++) {
        a[i].s = s;
        a[i].seed = tu_base_seed() + (uint64_t)i * 7919u + (uint64_t)nthreads;
        ck_assert_int_eq(pthread_create(&t[i], NULL, shared_worker, &a[i]), 0);
    }
    for (i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_gt(atomic_load(&s->hits), 0);
    for (i = 0; i < NOWNERS; i++)
        ck_assert_int_eq(wc_owner_release(&s->owners[i]), WC_OK);
    for (i = 0; i < 2; i++) {
        ck_assert_uint_eq(tu_check_consistent(NULL, s->c[i]), wc_cache_size(s->c[i]));
        ck_assert_int_eq(wc_cache_free(s->c[i]), WC_OK);
    }
    for (i = 0; i < NOWNERS; i++)
        ck_assert_uint_eq(wc_owner_count(&s->owners[i], NULL), 0);
    ck_assert_int_eq(atomic_load(&g_live_keys), 0);
    ck_assert_int_eq(atomic_load(&g_live_values), 0);
    if (hooks) {
        for (i = 0; i < 2; i++) {
            ck_assert_int_gt(atomic_load(&ul[i].locks), 0);
            pthread_mutex_destroy(&ul[i].m);
        }
    }
    free(s);
}

START_TEST(test_shared_2_threads) { run_shared(2, 0, WC_POLICY_LRU); }
END_TEST
START_TEST(test_shared_4_threads_sieve) { run_shared(4, 0, WC_POLICY_SIEVE); }
END_TEST
START_TEST(test_shared_8_threads) { run_shared(8, 0, WC_POLICY_LRU); }
END_TEST
START_TEST(test_shared_4_threads_lock_hooks) { run_shared(4, 1, WC_POLICY_LRU); }
END_TEST

START_TEST(test_reentrant_callbacks_ran)
{
    atomic_init(&g_reentries, 0);
    run_shared(2, 0, WC_POLICY_LRU);
    ck_assert_int_gt(atomic_load(&g_reentries), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. Releases from many threads of owners with entries in many caches */
/* ------------------------------------------------------------------ */

typedef struct rel_arg {
    wc_cache **caches;
    int ncaches;
    wc_owner *owners;
    int nowners;
    long rounds;
    uint64_t seed;
} rel_arg;

static void *release_worker(void *p)
{
    rel_arg *a = (rel_arg *)p;
    tu_rng r;
    long i;
    r.state = a->seed;
    for (i = 0; i < a->rounds; i++) {
        wc_owner *o = &a->owners[tu_rng_below(&r, (uint32_t)a->nowners)];
        int j;
        for (j = 0; j < 3; j++) {
            wc_cache *c = a->caches[tu_rng_below(&r, (uint32_t)a->ncaches)];
            int k = (int)tu_rng_below(&r, 8);
            tkey *key = tkey_new(k);
            tval *v = tval_new(k * 8 + 1);
            TU_REQUIRE(wc_put(c, o, khash(k), key, v, 1) >= 0, "put");
        }
        if (tu_rng_below(&r, 2))
            TU_REQUIRE(wc_owner_release(o) == WC_OK, "release");
    }
    return NULL;
}

START_TEST(test_release_across_caches)
{
    enum { NC = 4, NO = 6, NT = 4 };
    wc_cache *caches[NC];
    wc_owner owners[NO];
    pthread_t t[NT];
    rel_arg a[NT];
    int i;
    atomic_init(&g_live_values, 0);
    atomic_init(&g_live_keys, 0);
    for (i = 0; i < NO; i++)
        wc_owner_init(&owners[i]);
    for (i = 0; i < NC; i++) {
        wc_config cfg;
        wc_config_init(&cfg);
        cfg.max_entries = 16;
        cfg.ops = &g_tops;
        cfg.ops_ctx = (void *)(intptr_t)(i & 1);
        cfg.flags = WC_THREAD_SAFE;
        ck_assert_int_eq(wc_cache_new(&cfg, &caches[i]), WC_OK);
        if (i < 2)
            g_reenter_cache[i] = caches[i];
    }
    for (i = 0; i < NT; i++) {
        a[i].caches = caches;
        a[i].ncaches = NC;
        a[i].owners = owners;
        a[i].nowners = NO;
        a[i].rounds = tu_scale(20000, 1500);
        a[i].seed = 99u + (uint64_t)i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, release_worker, &a[i]), 0);
    }
    for (i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < NO; i++)
        ck_assert_int_eq(wc_owner_release(&owners[i]), WC_OK);
    for (i = 0; i < NC; i++) {
        ck_assert_uint_eq(wc_cache_size(caches[i]), 0);
        ck_assert_int_eq(wc_cache_free(caches[i]), WC_OK);
    }
    ck_assert_int_eq(atomic_load(&g_live_keys), 0);
    ck_assert_int_eq(atomic_load(&g_live_values), 0);
}
END_TEST

START_TEST(test_cache_lock_api)
{
    /* wc_cache_lock makes a sequence of calls atomic w.r.t. other threads,
     * and is recursive with the calls' own locking */
    wc_config cfg;
    wc_cache *c = NULL, *plain = NULL;
    void *out;
    wc_config_init(&cfg);
    cfg.flags = WC_THREAD_SAFE;
    ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_OK);
    ck_assert_int_eq(wc_cache_lock(c), WC_OK);
    ck_assert_int_eq(wc_cache_lock(c), WC_OK);
    ck_assert_int_eq(wc_put(c, NULL, 1, (void *)1, (void *)2, 1), WC_OK);
    ck_assert_int_eq(wc_get(c, NULL, 1, (void *)1, &out), WC_OK);
    ck_assert_int_eq(wc_cache_unlock(c), WC_OK);
    ck_assert_int_eq(wc_cache_unlock(c), WC_OK);
    ck_assert_int_eq(wc_cache_lock(NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_unlock(NULL), WC_EINVAL);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    /* no-op on a cache that is not thread-safe */
    ck_assert_int_eq(wc_cache_new(NULL, &plain), WC_OK);
    ck_assert_int_eq(wc_cache_lock(plain), WC_OK);
    ck_assert_int_eq(wc_cache_unlock(plain), WC_OK);
    ck_assert_int_eq(wc_cache_free(plain), WC_OK);
    /* bad configs */
    {
        wc_lock bad = {NULL, ul_unlock, NULL};
        wc_config_init(&cfg);
        cfg.lock = &bad;
        ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
        cfg.lock = NULL;
        cfg.flags = 0x80;
        ck_assert_int_eq(wc_cache_new(&cfg, &c), WC_EINVAL);
    }
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("shared_owner");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_shared_owner_own_caches);
    suite_add_tcase(s, tc);
    tc = tcase_create("shared_caches");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_shared_2_threads);
    tcase_add_test(tc, test_shared_4_threads_sieve);
    tcase_add_test(tc, test_shared_8_threads);
    tcase_add_test(tc, test_shared_4_threads_lock_hooks);
    tcase_add_test(tc, test_reentrant_callbacks_ran);
    tcase_add_test(tc, test_release_across_caches);
    tcase_add_test(tc, test_cache_lock_api);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(threads_suite)
