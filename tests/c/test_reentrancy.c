/*
 * test_reentrancy.c - callbacks that call back into the cache.
 *
 * The header's rules: any callback may call any API function on the same
 * cache, wc_cache_free included (deferred); entries removed during an operation
 * are unlinked at once but released only when the outermost call returns
 * (so a key handed to `equal` stays valid); a lookup whose `equal` changed
 * the cache starts again, up to WC_MAX_RESTARTS times (then WC_ECHANGED);
 * retain_value runs before any other callback; wc_owner_release called from
 * a callback of a busy cache defers that cache's eviction callbacks.
 *
 * Every scenario ends by checking the cache is consistent and that, after
 * wc_cache_free, every key and value was released exactly once and the
 * counting allocator got everything back. The boxes are only marked
 * released (their memory lives until the end of the test), so a use after
 * release is reported as a contract violation instead of corrupting memory.
 */
#include "testutil.h"

typedef struct world {
    tu_env env;
    tu_alloc alloc;
    wc_cache *c;
} world;

static void w_init(world *w, size_t max_entries)
{
    tu_env_init(&w->env);
    w->env.check_hash = 1; /* few keys: no 32-bit hash collisions */
    tu_alloc_init(&w->alloc);
    w->c = tu_cache_new(&w->env, max_entries, 0, &w->alloc);
}

/* Puts keys 1..n (unowned) with value = 100 + key. */
static void w_fill(world *w, int n)
{
    int i;
    for (i = 1; i <= n; i++)
        ck_assert_int_eq(tu_put(&w->env, w->c, NULL, i, 100 + i, 1), WC_OK);
}

static void w_finish(world *w)
{
    tu_check_consistent(&w->env, w->c);
    ck_assert_int_eq(wc_cache_free(w->c), WC_OK);
    tu_assert_all_released(&w->env);
    tu_assert_alloc_clean(&w->alloc);
    tu_env_destroy(&w->env);
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

/* get of key iarg (unowned); a hit reorders the LRU list */
static void hk_get(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    int v;
    (void)a;
    (void)b;
    tu_hook_rc(h, tu_get(env, env->cache, NULL, h->iarg, &v));
}

/* put of a fresh key: iarg, iarg + 1, ... (one per run) */
static void hk_put_new(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    int key = h->iarg + h->runs - 1;
    (void)a;
    (void)b;
    tu_hook_rc(h, tu_put(env, env->cache, NULL, key, 1000 + key, 1));
}

/* put of key iarg again (a replacement), value 5000 + run */
static void hk_put_same(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, tu_put(env, env->cache, (wc_owner *)h->arg, h->iarg,
                         5000 + h->runs, 1));
}

/* remove key iarg, or the entry whose key is `a` when iarg < 0 */
static void hk_remove(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    int key = h->iarg >= 0 ? h->iarg : a->payload;
    long live = env->live_keys;
    (void)b;
    tu_hook_rc(h, tu_remove(env, env->cache, (wc_owner *)h->arg, key));
    /* released only when the outermost call returns */
    if (env->live_keys != live)
        tu_error(env, "a nested remove released its key before the "
                 "outermost call returned");
    if (a != NULL && a->freed)
        tu_error(env, "the key being compared was released inside equal");
}

static void hk_clear(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    long live = env->live_keys;
    (void)b;
    tu_hook_rc(h, wc_clear(env->cache));
    if (wc_cache_size(env->cache) != 0)
        tu_error(env, "nested clear left entries linked");
    if (env->live_keys != live)
        tu_error(env, "a nested clear released keys before the outermost "
                 "call returned");
    if (a != NULL && a->freed)
        tu_error(env, "the key being compared was released inside equal");
}

static void hk_clear_owner(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_clear_owner(env->cache, (wc_owner *)h->arg));
    if (wc_owner_count((wc_owner *)h->arg, env->cache) != 0 ||
        (h->arg == NULL && tu_iter_count_owner(env->cache, NULL) != 0))
        tu_error(env, "nested clear_owner left entries of the owner");
}

static void hk_set_limits(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_set_limits(env->cache, (size_t)h->iarg, 0));
}

static void hk_cache_free(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_free(env->cache));
}

/* Releasing an owner from a callback. */
typedef struct release_arg {
    wc_owner *owner;
    tu_env *other;            /* the env of another cache the owner uses */
    int free_owner;           /* free the owner's storage right after */
    long own_evicts_before, own_evicts_after;
    long other_evicts_before, other_evicts_after;
    long other_live_after;
    size_t count_after;
    size_t own_size_after;
} release_arg;

static void hk_release(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    release_arg *r = (release_arg *)h->arg;
    (void)a;
    (void)b;
    r->own_evicts_before = env->n_evict;
    r->other_evicts_before = r->other ? r->other->n_evict : 0;
    tu_hook_rc(h, wc_owner_release(r->owner));
    r->own_evicts_after = env->n_evict;
    r->other_evicts_after = r->other ? r->other->n_evict : 0;
    r->other_live_after = r->other ? r->other->live_keys : 0;
    r->count_after = wc_owner_count(r->owner, NULL);
    r->own_size_after = wc_cache_size(env->cache);
    if (r->free_owner) {
        memset(r->owner, 0xDD, sizeof *r->owner);
        free(r->owner);
        r->owner = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* equal re-enters                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_equal_calls_get)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 5);
    /* a get of the very key being looked up (nested equal included) */
    tu_hook_set(&w.env.h_equal, hk_get, 1);
    w.env.h_equal.iarg = 3;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 3, &v), WC_OK);
    ck_assert_int_eq(v, 103);
    ck_assert_int_eq(w.env.h_equal.runs, 1);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "3,5,4,2,1");
    /* a get of another key */
    tu_hook_set(&w.env.h_equal, hk_get, 1);
    w.env.h_equal.iarg = 1;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_OK);
    ck_assert_int_eq(v, 102);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "2,1,3,5,4");
    ck_assert_uint_eq(tu_stats(w.c).hits, 4);
    /* from remove and put too */
    tu_hook_set(&w.env.h_equal, hk_get, 1);
    w.env.h_equal.iarg = 4;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 5), WC_OK);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_hook_set(&w.env.h_equal, hk_get, 1);
    w.env.h_equal.iarg = 1;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 3, 333, 1), WC_OK);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "3,1,4,2");
    tu_assert_log(&w.env, 0, "5:R,3:P");
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_calls_put)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_equal, hk_put_new, 1);
    w.env.h_equal.iarg = 50;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_OK);
    ck_assert_int_eq(v, 102);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "2,50,3,1");

    /* a nested put that replaces the entry the outer put is comparing:
     * the outer put then replaces the nested one */
    tu_hook_set(&w.env.h_equal, hk_put_same, 1);
    w.env.h_equal.iarg = 3;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 3, 303, 1), WC_OK);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 3, &v), WC_OK);
    ck_assert_int_eq(v, 303);
    tu_assert_log(&w.env, 0, "3:P,3:P");
    ck_assert_int_eq(w.env.log[0].value, 103);
    ck_assert_int_eq(w.env.log[1].value, 5001);
    ck_assert_uint_eq(wc_cache_size(w.c), 4);
    ck_assert_uint_eq(tu_stats(w.c).inserts, 3 + 1 + 2);

    /* a nested put into a bounded cache that evicts the entry compared */
    ck_assert_int_eq(wc_cache_set_limits(w.c, 4, 0), WC_OK);
    tu_hook_set(&w.env.h_equal, hk_put_new, 1);
    w.env.h_equal.iarg = 60;
    tu_assert_order(w.c, "3,2,50,1");
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 1, &v), WC_NOTFOUND);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "60,3,2,50");
    tu_assert_log(&w.env, 2, "1:C");
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_removes_compared_entry)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 5);
    /* get */
    tu_hook_set(&w.env.h_equal, hk_remove, 1);
    w.env.h_equal.iarg = -1;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 3, &v), WC_NOTFOUND);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "3:R");
    ck_assert_int_eq(w.env.live_keys, 4); /* released after the call */
    tu_assert_order(w.c, "5,4,2,1");
    /* put: the old entry is removed, not replaced */
    tu_hook_set(&w.env.h_equal, hk_remove, 1);
    w.env.h_equal.iarg = -1;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 2, 202, 1), WC_OK);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "3:R,2:R");
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_OK);
    ck_assert_int_eq(v, 202);
    tu_assert_order(w.c, "2,5,4,1");
    /* remove: the nested remove wins, the outer one finds nothing */
    tu_hook_set(&w.env.h_equal, hk_remove, 1);
    w.env.h_equal.iarg = -1;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 4), WC_NOTFOUND);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "3:R,2:R,4:R");
    /* removing another entry */
    tu_hook_set(&w.env.h_equal, hk_remove, 1);
    w.env.h_equal.iarg = 5;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(v, 101);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    tu_assert_order(w.c, "1,2");
    ck_assert_uint_eq(tu_stats(w.c).evictions[WC_EVICT_REMOVED], 4);
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_clears_cache)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 6);
    tu_hook_set(&w.env.h_equal, hk_clear, 1);
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 4, &v), WC_NOTFOUND);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_CLEARED], 6);
    ck_assert_int_eq(w.env.live_keys, 0);
    ck_assert_int_eq(w.env.live_values, 0);
    tu_check_consistent(&w.env, w.c);

    /* a put whose equal clears: the new entry goes into the empty cache */
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_equal, hk_clear, 1);
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 2, 222, 1), WC_OK);
    tu_assert_order(w.c, "2");
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_OK);
    ck_assert_int_eq(v, 222);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_CLEARED], 9);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_REPLACED], 0);

    /* a remove whose equal clears */
    tu_hook_set(&w.env.h_equal, hk_clear, 1);
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_NOTFOUND);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_clears_owner)
{
    world w;
    wc_owner o;
    int i, v;

    w_init(&w, 0);
    wc_owner_init(&o);
    for (i = 1; i <= 4; i++) {
        ck_assert_int_eq(tu_put(&w.env, w.c, &o, i, 100 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&w.env, w.c, NULL, i, 200 + i, 1), WC_OK);
    }
    /* looking up (o, 2) while its owner's entries are cleared */
    tu_hook_set(&w.env.h_equal, hk_clear_owner, 1);
    w.env.h_equal.arg = &o;
    ck_assert_int_eq(tu_get(&w.env, w.c, &o, 2, &v), WC_NOTFOUND);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_CLEARED], 4);
    ck_assert_int_eq(w.env.live_keys, 4);
    /* looking up an unowned key while the unowned entries are cleared */
    tu_hook_set(&w.env.h_equal, hk_clear_owner, 1);
    w.env.h_equal.arg = NULL;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 3, &v), WC_NOTFOUND);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    /* and the owner still works */
    ck_assert_int_eq(tu_put(&w.env, w.c, &o, 9, 9, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, w.c), 1);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_releases_owner)
{
    /* release from a callback of cache A: A's eviction callbacks run when
     * the outer operation finishes, cache B's before release returns. */
    world a, b;
    wc_owner o;
    release_arg r;
    int v;

    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(&o);
    ck_assert_int_eq(tu_put(&a.env, a.c, &o, 1, 101, 1), WC_OK);
    ck_assert_int_eq(tu_put(&a.env, a.c, &o, 2, 102, 1), WC_OK);
    ck_assert_int_eq(tu_put(&a.env, a.c, NULL, 3, 103, 1), WC_OK);
    ck_assert_int_eq(tu_put(&b.env, b.c, &o, 1, 201, 1), WC_OK);
    ck_assert_int_eq(tu_put(&b.env, b.c, &o, 4, 204, 1), WC_OK);
    ck_assert_int_eq(tu_put(&b.env, b.c, NULL, 5, 205, 1), WC_OK);

    memset(&r, 0, sizeof r);
    r.owner = &o;
    r.other = &b.env;
    tu_hook_set(&a.env.h_equal, hk_release, 1);
    a.env.h_equal.arg = &r;
    /* the outer lookup is for the released owner's own key */
    ck_assert_int_eq(tu_get(&a.env, a.c, &o, 2, &v), WC_NOTFOUND);
    ck_assert_int_eq(a.env.h_equal.runs, 1);
    ck_assert_int_eq(a.env.h_equal.rc[0], WC_OK);
    ck_assert_int_eq(r.own_evicts_after, r.own_evicts_before); /* deferred */
    ck_assert_int_eq(r.other_evicts_after - r.other_evicts_before, 2);
    ck_assert_int_eq(r.other_live_after, 1);  /* B released at once */
    ck_assert_uint_eq(r.count_after, 0);
    ck_assert_uint_eq(r.own_size_after, 1);   /* unlinked at once */
    /* after the outer call: A's callbacks ran */
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 2);
    ck_assert_int_eq(a.env.live_keys, 1);
    ck_assert_int_eq(tu_get(&a.env, a.c, NULL, 3, &v), WC_OK);
    ck_assert_int_eq(v, 103);
    ck_assert_int_eq(tu_get(&b.env, b.c, NULL, 5, &v), WC_OK);
    ck_assert_uint_eq(wc_cache_size(b.c), 1);
    tu_check_consistent(&b.env, b.c);
    w_finish(&a);
    w_finish(&b);
}
END_TEST

START_TEST(test_equal_releases_and_frees_owner)
{
    /* The owner's storage is freed right after the release, inside the
     * callback, while A's evictions of that owner are still pending. */
    world a, b;
    wc_owner *o = (wc_owner *)malloc(sizeof *o);
    release_arg r;
    int i, v;

    ck_assert_ptr_nonnull(o);
    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(o);
    for (i = 1; i <= 5; i++) {
        ck_assert_int_eq(tu_put(&a.env, a.c, o, i, 100 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&b.env, b.c, o, i, 200 + i, 1), WC_OK);
    }
    ck_assert_int_eq(tu_put(&a.env, a.c, NULL, 1, 111, 1), WC_OK);
    memset(&r, 0, sizeof r);
    r.owner = o;
    r.other = &b.env;
    r.free_owner = 1;
    tu_hook_set(&a.env.h_equal, hk_release, 1);
    a.env.h_equal.arg = &r;
    ck_assert_int_eq(tu_get(&a.env, a.c, NULL, 1, &v), WC_OK);
    ck_assert_int_eq(v, 111);
    ck_assert_ptr_null(r.owner); /* it was freed */
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 5);
    ck_assert_int_eq(b.env.n_evict_cause[WC_EVICT_OWNER], 5);
    ck_assert_uint_eq(wc_cache_size(a.c), 1);
    ck_assert_uint_eq(wc_cache_size(b.c), 0);
    w_finish(&a);
    w_finish(&b);
}
END_TEST

START_TEST(test_equal_set_limits)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 6);
    tu_hook_set(&w.env.h_equal, hk_set_limits, 1);
    w.env.h_equal.iarg = 1;
    /* 2 is evicted while it is being compared; 6 is kept */
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_NOTFOUND);
    tu_assert_log(&w.env, 0, "1:C,2:C,3:C,4:C,5:C");
    tu_assert_order(w.c, "6");
    w_finish(&w);
}
END_TEST

static void hk_set_weight_limit(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_set_limits(env->cache, 0, (uint64_t)h->iarg));
}

START_TEST(test_equal_lowers_limits_during_put)
{
    /* The bounds shrink while a put is comparing keys. Whatever the put
     * returns, the bounds hold afterwards: either the put is refused
     * (WC_ETOOBIG, the caller keeps key and value) or the new entry fits. */
    world w;
    int rc;

    w_init(&w, 0);
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 1, 101, 1), WC_OK);
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 2, 102, 1), WC_OK);
    tu_hook_set(&w.env.h_equal, hk_set_weight_limit, 1);
    w.env.h_equal.iarg = 3;
    /* replaces key 2 with weight 5 while max_weight drops to 3 */
    rc = tu_put(&w.env, w.c, NULL, 2, 202, 5);
    ck_assert_int_eq(w.env.h_equal.rc[0], WC_OK);
    ck_assert_msg(rc == WC_OK || rc == WC_ETOOBIG, "put returned %d", rc);
    ck_assert_uint_eq(tu_stats(w.c).max_weight, 3);
    ck_assert_msg(tu_stats(w.c).weight <= 3, "after put (%d) the cache "
                  "weighs %llu, over its max_weight 3", rc,
                  (unsigned long long)tu_stats(w.c).weight);
    tu_check_consistent(&w.env, w.c);
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_always_changes_gives_echanged)
{
    world w;
    wc_stats before, after;
    tu_box *k, *v;
    int out;

    w_init(&w, 0);
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_equal, hk_put_new, -1); /* every call */
    w.env.h_equal.iarg = 1000;
    before = tu_stats(w.c);
    w.env.n_equal = 0;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &out), WC_ECHANGED);
    ck_assert_int_eq(w.env.n_equal, WC_MAX_RESTARTS + 1);
    after = tu_stats(w.c);
    ck_assert_uint_eq(after.hits, before.hits);      /* not counted */
    ck_assert_uint_eq(after.misses, before.misses);

    /* put: key and value stay the caller's, the entry is not replaced */
    w.env.n_equal = 0;
    k = tu_key(&w.env, 2);
    v = tu_val(&w.env, 999);
    ck_assert_int_eq(wc_put(w.c, NULL, tu_hash_int(2), k, v, 1), WC_ECHANGED);
    ck_assert_int_eq(k->freed, 0);
    ck_assert_int_eq(v->freed, 0);
    tu_release(k);
    tu_release(v);
    ck_assert_int_eq(w.env.n_equal, WC_MAX_RESTARTS + 1);
    ck_assert_uint_eq(tu_stats(w.c).inserts, after.inserts + WC_MAX_RESTARTS + 1);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_REPLACED], 0);

    /* remove */
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_ECHANGED);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_REMOVED], 0);

    /* every nested put succeeded */
    ck_assert_int_eq(w.env.h_equal.nrc, 3 * (WC_MAX_RESTARTS + 1));
    {
        int i;
        for (i = 0; i < 16; i++)
            ck_assert_int_eq(w.env.h_equal.rc[i], WC_OK);
    }
    ck_assert_uint_eq(wc_cache_size(w.c), 3 + 3 * (WC_MAX_RESTARTS + 1));

    /* a callback that gives up after a few changes lets the lookup end */
    tu_hook_set(&w.env.h_equal, hk_put_new, 10);
    w.env.h_equal.iarg = 5000;
    w.env.n_equal = 0;
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &out), WC_OK);
    ck_assert_int_eq(out, 102);
    ck_assert_int_eq(w.env.n_equal, 11);
    tu_hook_set(&w.env.h_equal, NULL, 0);
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_OK);
    w_finish(&w);
}
END_TEST

START_TEST(test_equal_error_after_change)
{
    /* equal changes the cache and then reports an error: WC_ECALLBACK,
     * the cache consistent */
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_equal, hk_remove, 1);
    w.env.h_equal.iarg = -1;
    w.env.equal_fail_in = 2; /* the nested remove's equal is call 1 */
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 2, &v), WC_ECALLBACK);
    tu_assert_log(&w.env, 0, "2:R");
    tu_hook_set(&w.env.h_equal, hk_clear, 1);
    w.env.equal_fail_in = 1;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 3, 333, 1), WC_ECALLBACK);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    w_finish(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* free_key / free_value / on_evict re-enter                           */
/* ------------------------------------------------------------------ */

START_TEST(test_free_value_puts_and_gets)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 4);
    tu_hook_set(&w.env.h_free_value, hk_put_new, 1);
    w.env.h_free_value.iarg = 50;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_OK);
    ck_assert_int_eq(w.env.h_free_value.rc[0], WC_OK);
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 50, &v), WC_OK);
    ck_assert_int_eq(v, 1050);
    tu_assert_order(w.c, "50,4,3,1");

    tu_hook_set(&w.env.h_free_value, hk_get, 1);
    w.env.h_free_value.iarg = 1;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 3), WC_OK);
    ck_assert_int_eq(w.env.h_free_value.rc[0], WC_OK);
    tu_assert_order(w.c, "1,50,4");

    /* during clear: the put lands after (or is cleared too), but the
     * cache is consistent either way */
    tu_hook_set(&w.env.h_free_value, hk_put_new, 1);
    w.env.h_free_value.iarg = 60;
    ck_assert_int_eq(wc_clear(w.c), WC_OK);
    ck_assert_int_eq(w.env.h_free_value.rc[0], WC_OK);
    ck_assert_uint_le(wc_cache_size(w.c), 1);
    w_finish(&w);
}
END_TEST

START_TEST(test_free_key_removes_and_clears)
{
    world w;
    int v;

    w_init(&w, 0);
    w_fill(&w, 6);
    tu_hook_set(&w.env.h_free_key, hk_remove, 1);
    w.env.h_free_key.iarg = 5;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 1), WC_OK);
    ck_assert_int_eq(w.env.h_free_key.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "1:R,5:R");
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 5, &v), WC_NOTFOUND);
    tu_assert_order(w.c, "6,4,3,2");
    ck_assert_int_eq(w.env.live_keys, 4);

    tu_hook_set(&w.env.h_free_key, hk_clear, 1);
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_OK);
    ck_assert_int_eq(w.env.h_free_key.rc[0], WC_OK);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    ck_assert_int_eq(w.env.live_keys, 0);
    ck_assert_int_eq(w.env.n_evict_cause[WC_EVICT_CLEARED], 3);

    /* clear from free_key during a clear */
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_free_key, hk_clear, 1);
    ck_assert_int_eq(wc_clear(w.c), WC_OK);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    ck_assert_int_eq(w.env.live_keys, 0);
    w_finish(&w);
}
END_TEST

START_TEST(test_on_evict_puts_during_eviction)
{
    world w;
    int v;

    w_init(&w, 3);
    w_fill(&w, 3);
    /* put 4 evicts 1, whose listener puts 50, which evicts 2 */
    tu_hook_set(&w.env.h_evict, hk_put_new, 1);
    w.env.h_evict.iarg = 50;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 4, 104, 1), WC_OK);
    ck_assert_int_eq(w.env.h_evict.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "1:C,2:C");
    tu_assert_order(w.c, "50,4,3");
    ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 4, &v), WC_OK);
    ck_assert_int_eq(v, 104);
    /* a listener that keeps putting: bounded by the cache's size; each put
     * evicts one more entry whose listener puts again, 5 times */
    tu_hook_set(&w.env.h_evict, hk_put_new, 5);
    w.env.h_evict.iarg = 70;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 5, 105, 1), WC_OK);
    ck_assert_int_eq(w.env.h_evict.runs, 5);
    ck_assert_uint_eq(wc_cache_size(w.c), 3);
    tu_assert_order(w.c, "74,73,72");
    ck_assert_uint_eq(tu_stats(w.c).evictions[WC_EVICT_CAPACITY], 2 + 6);
    w_finish(&w);
}
END_TEST

START_TEST(test_on_evict_removes_other_entries)
{
    world w;

    w_init(&w, 3);
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_evict, hk_remove, 1);
    w.env.h_evict.iarg = 3;
    ck_assert_int_eq(tu_put(&w.env, w.c, NULL, 4, 104, 1), WC_OK);
    ck_assert_int_eq(w.env.h_evict.rc[0], WC_OK);
    tu_assert_log(&w.env, 0, "1:C,3:R");
    tu_assert_order(w.c, "4,2");
    /* a listener that clears while set_limits evicts */
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_evict, hk_clear, 1);
    ck_assert_int_eq(wc_cache_set_limits(w.c, 1, 0), WC_OK);
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    /* a listener that shrinks the cache while remove runs */
    ck_assert_int_eq(wc_cache_set_limits(w.c, 3, 0), WC_OK);
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_evict, hk_set_limits, 1);
    w.env.h_evict.iarg = 1;
    ck_assert_int_eq(tu_remove(&w.env, w.c, NULL, 2), WC_OK);
    tu_assert_order(w.c, "3");
    ck_assert_uint_eq(tu_stats(w.c).max_entries, 1);
    w_finish(&w);
}
END_TEST

START_TEST(test_callbacks_release_owners)
{
    world a, b;
    wc_owner o;
    release_arg r;
    int i;

    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(&o);
    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, 100 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&b.env, b.c, &o, i, 200 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&a.env, a.c, NULL, i, 300 + i, 1), WC_OK);
    }
    /* on_evict of an unowned entry releases the owner */
    memset(&r, 0, sizeof r);
    r.owner = &o;
    r.other = &b.env;
    tu_hook_set(&a.env.h_evict, hk_release, 1);
    a.env.h_evict.arg = &r;
    ck_assert_int_eq(tu_remove(&a.env, a.c, NULL, 2), WC_OK);
    ck_assert_int_eq(a.env.h_evict.rc[0], WC_OK);
    ck_assert_uint_eq(r.count_after, 0);
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 3);
    ck_assert_int_eq(b.env.n_evict_cause[WC_EVICT_OWNER], 3);
    ck_assert_uint_eq(wc_cache_size(a.c), 2);
    ck_assert_uint_eq(wc_cache_size(b.c), 0);
    tu_check_consistent(&a.env, a.c);

    /* free_key of an owned entry releases its own owner, which has more
     * entries in both caches */
    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, 100 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&b.env, b.c, &o, i, 200 + i, 1), WC_OK);
    }
    tu_hook_set(&b.env.h_free_key, hk_release, 1);
    memset(&r, 0, sizeof r);
    r.owner = &o;
    r.other = &a.env;
    b.env.h_free_key.arg = &r;
    ck_assert_int_eq(tu_remove(&b.env, b.c, &o, 1), WC_OK);
    ck_assert_int_eq(b.env.h_free_key.rc[0], WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_uint_eq(wc_cache_size(b.c), 0);
    ck_assert_uint_eq(wc_cache_size(a.c), 2);
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 6);
    ck_assert_int_eq(b.env.n_evict_cause[WC_EVICT_OWNER], 3 + 2);

    /* free_value during an owner release releases the owner again */
    for (i = 1; i <= 3; i++)
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, 100 + i, 1), WC_OK);
    tu_hook_set(&a.env.h_free_value, hk_release, 1);
    memset(&r, 0, sizeof r);
    r.owner = &o;
    a.env.h_free_value.arg = &r;
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(a.env.h_free_value.rc[0], WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 9);

    /* on_evict that puts into the owner being released: the new entry
     * belongs to the owner too; whether the release takes it is up to the
     * implementation, but the owner's count must agree with the cache */
    for (i = 1; i <= 2; i++)
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, 100 + i, 1), WC_OK);
    tu_hook_set(&a.env.h_evict, hk_put_same, 1);
    a.env.h_evict.arg = &o;
    a.env.h_evict.iarg = 77;
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(a.env.h_evict.rc[0], WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, a.c), tu_iter_count_owner(a.c, &o));
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    w_finish(&a);
    w_finish(&b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* retain_value re-enters                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_retain_value_clears)
{
    world w;
    tu_box probe = tu_probe(2, 0);
    void *out = NULL;
    tu_box *v;

    w_init(&w, 0);
    w.env.retain_refs = 1;
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_retain, hk_clear, 1);
    ck_assert_int_eq(wc_get(w.c, NULL, tu_hash_int(2), &probe, &out), WC_OK);
    v = (tu_box *)out;
    ck_assert_int_eq(w.env.h_retain.rc[0], WC_OK);
    /* the entry is gone, the retained value survives */
    ck_assert_uint_eq(wc_cache_size(w.c), 0);
    ck_assert_int_eq(v->freed, 0);
    ck_assert_int_eq(v->payload, 102);
    ck_assert_int_eq(v->refs, 1);
    ck_assert_int_eq(w.env.live_keys, 0);
    ck_assert_int_eq(w.env.live_values, 1);
    ck_assert_uint_eq(tu_stats(w.c).hits, 1);
    tu_release(v);

    /* retain that replaces the very entry being returned */
    w_fill(&w, 3);
    tu_hook_set(&w.env.h_retain, hk_put_same, 1);
    w.env.h_retain.iarg = 3;
    probe.payload = 3;
    ck_assert_int_eq(wc_get(w.c, NULL, tu_hash_int(3), &probe, &out), WC_OK);
    v = (tu_box *)out;
    ck_assert_int_eq(v->payload, 103);
    ck_assert_int_eq(v->freed, 0);
    tu_release(v);
    ck_assert_int_eq(v->freed, 1);
    /* the new one is there (not retained yet) */
    w.env.retain_refs = 0;
    {
        int val;
        ck_assert_int_eq(tu_get(&w.env, w.c, NULL, 3, &val), WC_OK);
        ck_assert_int_eq(val, 5001);
    }
    w_finish(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* wc_cache_free from callbacks                                        */
/* ------------------------------------------------------------------ */

/* wc_cache_free from inside each kind of callback: the cache closes at once
 * and the call that ran the callback frees it just before returning. Every
 * key and value is released exactly once and every byte is returned.
 * (retain_value is left out: freeing the cache there also releases the value
 * wc_get is about to return, which the header documents as borrowed.) */
START_TEST(test_cache_free_from_callbacks_is_deferred)
{
    int kind;
    for (kind = 0; kind < 5; kind++) {
        if (kind == 1)
            continue;
        world w;
        tu_hook *hook;
        int v, rc;

        w_init(&w, 0);
        w_fill(&w, 3);
        hook = kind == 0 ? &w.env.h_equal
             : kind == 1 ? &w.env.h_retain
             : kind == 2 ? &w.env.h_evict
             : kind == 3 ? &w.env.h_free_key
             : &w.env.h_free_value;
        tu_hook_set(hook, hk_cache_free, 1);
        if (kind <= 1) {
            rc = tu_get(&w.env, w.c, NULL, 2, &v);      /* equal, then retain on the hit */
            ck_assert_msg(rc == WC_OK || rc == WC_NOTFOUND, "kind %d: get returned %d", kind, rc);
        } else {
            rc = tu_remove(&w.env, w.c, NULL, 2);        /* listener, free_key, free_value */
            ck_assert_msg(rc == WC_OK, "kind %d: remove returned %d", kind, rc);
        }
        ck_assert_msg(hook->runs == 1, "kind %d: hook ran %d times", kind, hook->runs);
        ck_assert_msg(hook->nrc >= 1 && hook->rc[0] == WC_OK,
                      "kind %d: wc_cache_free from the callback returned %d", kind, hook->rc[0]);
        /* the cache is gone: only our own bookkeeping is left to check */
        tu_assert_all_released(&w.env);
        tu_assert_alloc_clean(&w.alloc);
        tu_env_destroy(&w.env);
    }
}
END_TEST

static void hk_free_other(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    wc_cache **other = (wc_cache **)h->arg;
    (void)env;
    (void)a;
    (void)b;
    tu_hook_rc(h, wc_cache_free(*other));
    *other = NULL;
}

START_TEST(test_free_other_cache_from_callback)
{
    world a, b;
    wc_owner o;

    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(&o);
    ck_assert_int_eq(tu_put(&a.env, a.c, &o, 1, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(&b.env, b.c, &o, 1, 1, 1), WC_OK);
    tu_hook_set(&a.env.h_evict, hk_free_other, 1);
    a.env.h_evict.arg = &b.c;
    ck_assert_int_eq(tu_remove(&a.env, a.c, &o, 1), WC_OK);
    ck_assert_int_eq(a.env.h_evict.rc[0], WC_OK);
    ck_assert_ptr_null(b.c);
    tu_assert_all_released(&b.env);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    tu_assert_alloc_clean(&b.alloc);
    tu_env_destroy(&b.env);
    w_finish(&a);
}
END_TEST

START_TEST(test_free_other_cache_during_release)
{
    /* Releasing an owner: the listener of the first cache frees the second
     * cache, which holds entries of the same owner. */
    world a, b;
    wc_owner o;
    int i;

    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(&o);
    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&b.env, b.c, &o, i, i, 1), WC_OK);
    }
    tu_hook_set(&a.env.h_evict, hk_free_other, 1);
    a.env.h_evict.arg = &b.c;
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(a.env.h_evict.rc[0], WC_OK);
    ck_assert_ptr_null(b.c);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(a.env.n_evict_cause[WC_EVICT_OWNER], 3);
    /* B's entries went with B (cleared), not with the release */
    ck_assert_int_eq(b.env.n_evict_cause[WC_EVICT_CLEARED] +
                     b.env.n_evict_cause[WC_EVICT_OWNER], 3);
    tu_assert_all_released(&b.env);
    tu_assert_alloc_clean(&b.alloc);
    tu_env_destroy(&b.env);
    /* the owner is reusable */
    ck_assert_int_eq(tu_put(&a.env, a.c, &o, 9, 9, 1), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    w_finish(&a);
}
END_TEST

/* Callbacks that run during wc_cache_free call into the cache being freed.
 * The header allows calls on the same cache from callbacks (only
 * wc_cache_free itself is refused) but does not say what they return while
 * the cache is being freed; whatever they return, nothing may leak or be
 * released twice. */
static void hk_during_free(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    int v;
    int rc;
    (void)a;
    (void)b;
    rc = tu_put(env, env->cache, NULL, 900 + h->runs, 900, 1);
    tu_hook_rc(h, rc);
    rc = tu_get(env, env->cache, NULL, 1, &v);
    tu_hook_rc(h, rc);
    rc = tu_remove(env, env->cache, NULL, 2);
    tu_hook_rc(h, rc);
    rc = wc_clear(env->cache);
    tu_hook_rc(h, rc);
    tu_hook_rc(h, wc_cache_free(env->cache));
    wc_cache_stats(env->cache, NULL);
    (void)wc_cache_size(env->cache);
}

START_TEST(test_calls_during_cache_free)
{
    world w;
    wc_owner o;
    int i;

    w_init(&w, 0);
    wc_owner_init(&o);
    for (i = 1; i <= 4; i++)
        ck_assert_int_eq(tu_put(&w.env, w.c, (i % 2) ? &o : NULL, i, i, 1), WC_OK);
    tu_hook_set(&w.env.h_evict, hk_during_free, 2);
    ck_assert_int_eq(wc_cache_free(w.c), WC_OK);
    ck_assert_int_eq(w.env.h_evict.runs, 2);
    for (i = 0; i < w.env.h_evict.nrc; i++)
        ck_assert_msg(w.env.h_evict.rc[i] == WC_OK || w.env.h_evict.rc[i] == WC_NOTFOUND ||
                      w.env.h_evict.rc[i] < 0, "rc %d", w.env.h_evict.rc[i]);
    ck_assert_int_eq(w.env.h_evict.rc[4], WC_EBUSY); /* wc_cache_free */
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    tu_assert_all_released(&w.env);
    tu_assert_alloc_clean(&w.alloc);
    tu_env_destroy(&w.env);
}
END_TEST

START_TEST(test_release_during_cache_free)
{
    /* An owner with entries in A and B is released from A's listener while
     * A is being freed. */
    world a, b;
    wc_owner o;
    release_arg r;
    int i;

    w_init(&a, 0);
    w_init(&b, 0);
    wc_owner_init(&o);
    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(tu_put(&a.env, a.c, NULL, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&a.env, a.c, &o, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&b.env, b.c, &o, i, i, 1), WC_OK);
    }
    memset(&r, 0, sizeof r);
    r.owner = &o;
    r.other = &b.env;
    tu_hook_set(&a.env.h_evict, hk_release, 1);
    a.env.h_evict.arg = &r;
    ck_assert_int_eq(wc_cache_free(a.c), WC_OK);
    ck_assert_int_eq(a.env.h_evict.rc[0], WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(b.env.n_evict_cause[WC_EVICT_OWNER], 3);
    tu_assert_all_released(&a.env);
    tu_assert_alloc_clean(&a.alloc);
    tu_env_destroy(&a.env);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    w_finish(&b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A random mix of re-entrant callbacks                                */
/* ------------------------------------------------------------------ */

typedef struct chaos {
    tu_rng rng;
    wc_owner *owners;  /* 2 owners */
    int next_key;
} chaos;

static void hk_chaos(tu_env *env, tu_hook *h, const tu_box *a, const tu_box *b)
{
    chaos *ch = (chaos *)h->arg;
    wc_cache *c = env->cache;
    wc_owner *o = (tu_rng_below(&ch->rng, 3) == 0) ? NULL
                  : &ch->owners[tu_rng_below(&ch->rng, 2)];
    int key = (int)tu_rng_below(&ch->rng, 12);
    int v, rc = 0;
    (void)b;
    switch (tu_rng_below(&ch->rng, 9)) {
    case 0: rc = tu_get(env, c, o, key, &v); break;
    case 1: rc = tu_put(env, c, o, key, ch->next_key++, 1 + tu_rng_below(&ch->rng, 3)); break;
    case 2: rc = tu_remove(env, c, o, key); break;
    case 3: rc = tu_remove(env, c, o, a->payload); break;
    case 4: rc = wc_owner_release(&ch->owners[tu_rng_below(&ch->rng, 2)]); break;
    case 5: rc = wc_cache_clear_owner(c, o); break;
    case 6: rc = tu_rng_below(&ch->rng, 4) == 0 ? wc_clear(c) : WC_OK; break;
    case 7: rc = wc_cache_set_limits(c, 3 + tu_rng_below(&ch->rng, 8), tu_rng_below(&ch->rng, 2) ? 0 : 20); break;
    default: rc = tu_get(env, c, o, a->payload, &v); break;   /* freeing the cache: own test */
    }
    if (rc == -100 || rc == WC_EINVAL || rc == WC_ENOMEM || rc == WC_ETOOBIG)
        tu_error(env, "chaos: unexpected status %d", rc);
}

START_TEST(test_random_reentrant_callbacks)
{
    world w;
    wc_owner owners[2];
    chaos ch;
    tu_hook *hooks[5];
    int i, round;
    const int rounds = (int)tu_scale(60, 15);
    int total_runs[5] = {0, 0, 0, 0, 0};

    for (round = 0; round < rounds; round++) {
        w_init(&w, 8);
        /* callbacks may remove the entry a get is returning: the value
         * survives through the reference retain_value takes */
        w.env.retain_refs = 1;
        wc_owner_init(&owners[0]);
        wc_owner_init(&owners[1]);
        ch.rng.state = tu_base_seed() * 31 + (uint64_t)round;
        ch.owners = owners;
        ch.next_key = 10000;
        hooks[0] = &w.env.h_equal;
        hooks[1] = &w.env.h_free_key;
        hooks[2] = &w.env.h_free_value;
        hooks[3] = &w.env.h_evict;
        hooks[4] = &w.env.h_retain;
        for (i = 0; i < 5; i++) {
            tu_hook_set(hooks[i], hk_chaos, 40);
            hooks[i]->arg = &ch;
        }
        for (i = 0; i < 300; i++) {
            wc_owner *o = (i % 3 == 0) ? NULL : &owners[i % 2];
            int key = (int)tu_rng_below(&ch.rng, 12);
            int v, rc;
            switch (tu_rng_below(&ch.rng, 4)) {
            case 0:
                rc = tu_put(&w.env, w.c, o, key, i, 1 + tu_rng_below(&ch.rng, 3));
                break;
            case 1:
                rc = tu_get(&w.env, w.c, o, key, &v);
                break;
            case 2:
                rc = tu_remove(&w.env, w.c, o, key);
                break;
            default:
                rc = wc_owner_release(&owners[i % 2]);
                break;
            }
            ck_assert_msg(rc == WC_OK || rc == WC_NOTFOUND || rc == WC_ECHANGED ||
                          rc == WC_ETOOBIG,
                          "seed %llu round %d op %d: status %d",
                          (unsigned long long)tu_base_seed(), round, i, rc);
            tu_check_consistent(&w.env, w.c);
            ck_assert_uint_eq(wc_owner_count(&owners[0], w.c),
                              tu_iter_count_owner(w.c, &owners[0]));
            ck_assert_uint_eq(wc_owner_count(&owners[1], w.c),
                              tu_iter_count_owner(w.c, &owners[1]));
        }
        for (i = 0; i < 5; i++) {
            total_runs[i] += hooks[i]->runs;
            tu_hook_set(hooks[i], NULL, 0);
        }
        ck_assert_int_eq(wc_owner_release(&owners[0]), WC_OK);
        w_finish(&w);
        ck_assert_uint_eq(wc_owner_count(&owners[1], NULL), 0);
    }
    /* every kind of callback did re-enter */
    for (i = 0; i < 5; i++)
        ck_assert_msg(total_runs[i] >= rounds, "hook %d ran %d times", i,
                      total_runs[i]);
}
END_TEST

static Suite *reentrancy_suite(void)
{
    Suite *s = suite_create("reentrancy");
    TCase *tc;

    tc = tcase_create("equal");
    tcase_add_test(tc, test_equal_calls_get);
    tcase_add_test(tc, test_equal_calls_put);
    tcase_add_test(tc, test_equal_removes_compared_entry);
    tcase_add_test(tc, test_equal_clears_cache);
    tcase_add_test(tc, test_equal_clears_owner);
    tcase_add_test(tc, test_equal_releases_owner);
    tcase_add_test(tc, test_equal_releases_and_frees_owner);
    tcase_add_test(tc, test_equal_set_limits);
    tcase_add_test(tc, test_equal_lowers_limits_during_put);
    tcase_add_test(tc, test_equal_always_changes_gives_echanged);
    tcase_add_test(tc, test_equal_error_after_change);
    suite_add_tcase(s, tc);

    tc = tcase_create("release_callbacks");
    tcase_add_test(tc, test_free_value_puts_and_gets);
    tcase_add_test(tc, test_free_key_removes_and_clears);
    tcase_add_test(tc, test_on_evict_puts_during_eviction);
    tcase_add_test(tc, test_on_evict_removes_other_entries);
    tcase_add_test(tc, test_callbacks_release_owners);
    suite_add_tcase(s, tc);

    tc = tcase_create("retain");
    tcase_add_test(tc, test_retain_value_clears);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache_free");
    tcase_add_test(tc, test_cache_free_from_callbacks_is_deferred);
    tcase_add_test(tc, test_free_other_cache_from_callback);
    tcase_add_test(tc, test_free_other_cache_during_release);
    tcase_add_test(tc, test_calls_during_cache_free);
    tcase_add_test(tc, test_release_during_cache_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_random_reentrant_callbacks);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(reentrancy_suite)
