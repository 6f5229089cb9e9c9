/*
 * test_owner.c - owners: (owner, key) identity, wc_owner_release across
 * caches, wc_owner_count, wc_cache_clear_owner, owners outliving caches,
 * and the cost of a release.
 */
#include "testutil.h"

#define NCACHES 3

typedef struct fixture {
    tu_env env[NCACHES];
    wc_cache *c[NCACHES];
    tu_alloc alloc;
} fixture;

static void fx_init(fixture *f, size_t max_entries)
{
    int i;
    tu_alloc_init(&f->alloc);
    for (i = 0; i < NCACHES; i++) {
        tu_env_init(&f->env[i]);
        f->c[i] = tu_cache_new(&f->env[i], max_entries, 0, &f->alloc);
    }
}

/* Frees every cache still open, checks all keys/values were released once
 * and all memory returned. */
static void fx_finish(fixture *f)
{
    int i;
    for (i = 0; i < NCACHES; i++) {
        if (f->c[i] != NULL)
            ck_assert_int_eq(wc_cache_free(f->c[i]), WC_OK);
        f->c[i] = NULL;
        tu_assert_all_released(&f->env[i]);
    }
    tu_assert_alloc_clean(&f->alloc);
    for (i = 0; i < NCACHES; i++)
        tu_env_destroy(&f->env[i]);
}

/* The owner counts agree with what iteration shows. */
static void check_owner(wc_cache *c, wc_owner *o)
{
    TU_REQUIRE_EQ(wc_owner_count(o, c), tu_iter_count_owner(c, o));
}

START_TEST(test_owner_key_identity)
{
    fixture f;
    wc_owner o1, o2;
    wc_cache *c;
    tu_env *e;
    int v;

    fx_init(&f, 0);
    c = f.c[0];
    e = &f.env[0];
    wc_owner_init(&o1);
    wc_owner_init(&o2);
    ck_assert_int_eq(tu_put(e, c, &o1, 7, 1, 1), WC_OK);
    ck_assert_int_eq(tu_put(e, c, &o2, 7, 2, 1), WC_OK);
    ck_assert_int_eq(tu_put(e, c, NULL, 7, 3, 1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 3);
    ck_assert_int_eq(e->n_evict, 0);
    ck_assert_int_eq(tu_get(e, c, &o1, 7, &v), WC_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(tu_get(e, c, &o2, 7, &v), WC_OK);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(tu_get(e, c, NULL, 7, &v), WC_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(tu_get(e, c, &o1, 8, &v), WC_NOTFOUND);

    /* replace under one owner only */
    ck_assert_int_eq(tu_put(e, c, &o2, 7, 22, 1), WC_OK);
    tu_assert_log(e, 0, "7:P");
    ck_assert_int_eq(e->log[0].value, 2);
    ck_assert_int_eq(tu_get(e, c, &o1, 7, &v), WC_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(tu_get(e, c, &o2, 7, &v), WC_OK);
    ck_assert_int_eq(v, 22);

    /* remove under one owner only */
    ck_assert_int_eq(tu_remove(e, c, &o1, 7), WC_OK);
    ck_assert_int_eq(tu_remove(e, c, &o1, 7), WC_NOTFOUND);
    ck_assert_int_eq(tu_get(e, c, &o2, 7, &v), WC_OK);
    ck_assert_int_eq(tu_get(e, c, NULL, 7, &v), WC_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(tu_remove(e, c, NULL, 7), WC_OK);
    ck_assert_int_eq(tu_get(e, c, &o2, 7, &v), WC_OK);
    ck_assert_int_eq(v, 22);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_uint_eq(wc_owner_count(&o1, c), 0);
    ck_assert_uint_eq(wc_owner_count(&o2, c), 1);

    /* a different key of the same owner in another cache is independent */
    ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o2, 7, 99, 1), WC_OK);
    ck_assert_int_eq(tu_get(e, c, &o2, 7, &v), WC_OK);
    ck_assert_int_eq(v, 22);
    ck_assert_int_eq(tu_get(&f.env[1], f.c[1], &o2, 7, &v), WC_OK);
    ck_assert_int_eq(v, 99);
    ck_assert_int_eq(tu_get(&f.env[1], f.c[1], NULL, 7, &v), WC_NOTFOUND);
    ck_assert_int_eq(wc_owner_release(&o1), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o2), WC_OK);
    fx_finish(&f);
}
END_TEST

START_TEST(test_release_in_all_caches)
{
    fixture f;
    wc_owner o, p;
    int i, j, v;

    fx_init(&f, 0);
    wc_owner_init(&o);
    wc_owner_init(&p);
    for (i = 0; i < NCACHES; i++) {
        for (j = 0; j < 5; j++) {
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], &o, j, 100 + j, 1), WC_OK);
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], &p, j, 200 + j, 1), WC_OK);
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], NULL, j, 300 + j, 1), WC_OK);
        }
    }
    for (i = 0; i < NCACHES; i++)
        ck_assert_uint_eq(wc_owner_count(&o, f.c[i]), 5);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 5 * NCACHES);
    ck_assert_uint_eq(wc_owner_count(&p, NULL), 5 * NCACHES);

    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    for (i = 0; i < NCACHES; i++) {
        tu_env *e = &f.env[i];
        /* evicted before release returned, with cause "owner", only o's */
        ck_assert_int_eq(e->n_evict, 5);
        ck_assert_int_eq(e->n_evict_cause[WC_EVICT_OWNER], 5);
        ck_assert_int_eq(e->n_free_key, 5);
        ck_assert_int_eq(e->n_free_value, 5);
        for (j = 0; j < 5; j++)
            ck_assert_int_eq(e->log[j].value / 100, 1);
        ck_assert_uint_eq(tu_stats(f.c[i]).evictions[WC_EVICT_OWNER], 5);
        ck_assert_uint_eq(wc_cache_size(f.c[i]), 10);
        ck_assert_uint_eq(wc_owner_count(&o, f.c[i]), 0);
        ck_assert_uint_eq(wc_owner_count(&p, f.c[i]), 5);
        for (j = 0; j < 5; j++) {
            ck_assert_int_eq(tu_get(e, f.c[i], &o, j, &v), WC_NOTFOUND);
            ck_assert_int_eq(tu_get(e, f.c[i], &p, j, &v), WC_OK);
            ck_assert_int_eq(v, 200 + j);
            ck_assert_int_eq(tu_get(e, f.c[i], NULL, j, &v), WC_OK);
            ck_assert_int_eq(v, 300 + j);
        }
        tu_check_consistent(e, f.c[i]);
        check_owner(f.c[i], &p);
    }
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_uint_eq(wc_owner_count(&p, NULL), 5 * NCACHES);
    ck_assert_int_eq(wc_owner_release(&p), WC_OK);
    for (i = 0; i < NCACHES; i++)
        ck_assert_uint_eq(wc_cache_size(f.c[i]), 5);
    fx_finish(&f);
}
END_TEST

START_TEST(test_release_twice_and_unused)
{
    fixture f;
    wc_owner o, never;
    int i;

    fx_init(&f, 0);
    wc_owner_init(&o);
    wc_owner_init(&never);
    ck_assert_int_eq(wc_owner_release(&never), WC_OK);
    ck_assert_int_eq(wc_owner_release(&never), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&never, NULL), 0);
    for (i = 0; i < NCACHES; i++)
        ck_assert_int_eq(tu_put(&f.env[i], f.c[i], &o, 1, 1, 1), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    for (i = 0; i < NCACHES; i++) {
        ck_assert_int_eq(f.env[i].n_evict, 1);
        ck_assert_int_eq(f.env[i].n_free_key, 1);
        ck_assert_uint_eq(wc_cache_size(f.c[i]), 0);
    }
    /* the never-used owner as an argument elsewhere */
    ck_assert_uint_eq(wc_owner_count(&never, f.c[0]), 0);
    ck_assert_int_eq(wc_cache_clear_owner(f.c[0], &never), WC_OK);
    ck_assert_int_eq(tu_remove(&f.env[0], f.c[0], &never, 1), WC_NOTFOUND);
    {
        int v;
        ck_assert_int_eq(tu_get(&f.env[0], f.c[0], &never, 1, &v), WC_NOTFOUND);
    }
    fx_finish(&f);
}
END_TEST

START_TEST(test_owner_reuse_after_release)
{
    fixture f;
    wc_owner o;
    int round, i, v;

    fx_init(&f, 0);
    wc_owner_init(&o);
    for (round = 0; round < 4; round++) {
        /* rounds 0-2 reuse without re-init (allowed); round 3 re-inits */
        if (round == 3)
            wc_owner_init(&o);
        /* a different first cache each round */
        for (i = 0; i < NCACHES; i++) {
            int ci = (i + round) % NCACHES;
            ck_assert_int_eq(tu_put(&f.env[ci], f.c[ci], &o, round, round * 10 + ci, 1), WC_OK);
            ck_assert_int_eq(tu_put(&f.env[ci], f.c[ci], NULL, round, round, 1), WC_OK);
        }
        ck_assert_uint_eq(wc_owner_count(&o, NULL), NCACHES);
        for (i = 0; i < NCACHES; i++) {
            ck_assert_int_eq(tu_get(&f.env[i], f.c[i], &o, round, &v), WC_OK);
            ck_assert_int_eq(v, round * 10 + i);
            /* previous rounds' entries are gone */
            if (round > 0)
                ck_assert_int_eq(tu_get(&f.env[i], f.c[i], &o, round - 1, &v), WC_NOTFOUND);
            ck_assert_uint_eq(wc_owner_count(&o, f.c[i]), 1);
            check_owner(f.c[i], &o);
        }
        ck_assert_int_eq(wc_owner_release(&o), WC_OK);
        ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
        for (i = 0; i < NCACHES; i++) {
            ck_assert_int_eq(f.env[i].n_evict_cause[WC_EVICT_OWNER], round + 1);
            ck_assert_uint_eq(wc_cache_size(f.c[i]), (size_t)round + 1);
        }
    }
    fx_finish(&f);
}
END_TEST

START_TEST(test_owner_count)
{
    fixture f;
    wc_owner o;
    int i;

    fx_init(&f, 0);
    wc_owner_init(&o);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[0]), 0);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o, i, i, 1), WC_OK);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o, i, i, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[0]), 10);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[1]), 4);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[2]), 0);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 14);
    /* replace: unchanged; remove: one less */
    ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o, 3, 33, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[0]), 10);
    ck_assert_int_eq(tu_remove(&f.env[0], f.c[0], &o, 3), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[0]), 9);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 13);
    /* unowned entries do not count */
    ck_assert_int_eq(tu_put(&f.env[0], f.c[0], NULL, 3, 3, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 13);
    /* emptying the second cache's group by removal */
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(tu_remove(&f.env[1], f.c[1], &o, i), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[1]), 0);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 9);
    /* and using it again */
    ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o, 1, 1, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 10);
    check_owner(f.c[0], &o);
    check_owner(f.c[1], &o);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    fx_finish(&f);
}
END_TEST

START_TEST(test_clear_owner)
{
    fixture f;
    wc_owner o, p;
    int i, v;

    fx_init(&f, 0);
    wc_owner_init(&o);
    wc_owner_init(&p);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o, i, 100 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &p, i, 200 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], NULL, i, 300 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o, i, 400 + i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[1], f.c[1], NULL, i, 500 + i, 1), WC_OK);
    }
    ck_assert_int_eq(wc_cache_clear_owner(f.c[0], &o), WC_OK);
    ck_assert_int_eq(f.env[0].n_evict, 4);
    ck_assert_int_eq(f.env[0].n_evict_cause[WC_EVICT_CLEARED], 4);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(f.env[0].log[i].value / 100, 1);
    ck_assert_int_eq(f.env[1].n_evict, 0);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[0]), 0);
    ck_assert_uint_eq(wc_owner_count(&o, f.c[1]), 4);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 4);
    ck_assert_uint_eq(wc_cache_size(f.c[0]), 8);

    /* NULL: the unowned entries of that cache only */
    ck_assert_int_eq(wc_cache_clear_owner(f.c[0], NULL), WC_OK);
    ck_assert_int_eq(f.env[0].n_evict, 8);
    for (i = 4; i < 8; i++)
        ck_assert_int_eq(f.env[0].log[i].value / 100, 3);
    ck_assert_uint_eq(wc_cache_size(f.c[0]), 4);
    ck_assert_uint_eq(wc_owner_count(&p, f.c[0]), 4);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(tu_get(&f.env[0], f.c[0], &p, i, &v), WC_OK);
        ck_assert_int_eq(tu_get(&f.env[0], f.c[0], NULL, i, &v), WC_NOTFOUND);
        ck_assert_int_eq(tu_get(&f.env[1], f.c[1], NULL, i, &v), WC_OK);
        ck_assert_int_eq(tu_get(&f.env[1], f.c[1], &o, i, &v), WC_OK);
        ck_assert_int_eq(v, 400 + i);
    }
    /* an owner with nothing in the cache, twice */
    ck_assert_int_eq(wc_cache_clear_owner(f.c[2], &o), WC_OK);
    ck_assert_int_eq(wc_cache_clear_owner(f.c[0], &o), WC_OK);
    ck_assert_int_eq(wc_cache_clear_owner(f.c[0], NULL), WC_OK);
    ck_assert_int_eq(f.env[0].n_evict, 8);
    ck_assert_uint_eq(tu_stats(f.c[0]).evictions[WC_EVICT_CLEARED], 8);
    /* the owner can be used again in that cache */
    ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o, 9, 9, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 5);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_uint_eq(wc_cache_size(f.c[1]), 4);
    ck_assert_int_eq(f.env[1].n_evict_cause[WC_EVICT_OWNER], 4);
    tu_check_consistent(&f.env[0], f.c[0]);
    tu_check_consistent(&f.env[1], f.c[1]);
    ck_assert_int_eq(wc_owner_release(&p), WC_OK);
    fx_finish(&f);
}
END_TEST

START_TEST(test_capacity_eviction_keeps_owner_lists)
{
    fixture f;
    wc_owner o[3];
    wc_owner *owners[4];
    int i, j, v;
    tu_rng rng = {7};

    fx_init(&f, 5);
    for (i = 0; i < 3; i++) {
        wc_owner_init(&o[i]);
        owners[i] = &o[i];
    }
    owners[3] = NULL;
    for (i = 0; i < 300; i++) {
        int oi = (int)tu_rng_below(&rng, 4);
        int ci = (int)tu_rng_below(&rng, 2);
        size_t total = 0;
        TU_REQUIRE_EQ(tu_put(&f.env[ci], f.c[ci], owners[oi], i % 17, i, 1), WC_OK);
        if (i % 7 == 0)
            TU_REQUIRE_EQ(wc_cache_set_limits(f.c[ci], 1 + (size_t)tu_rng_below(&rng, 6), 0), WC_OK);
        if (i % 5 == 0)
            tu_get(&f.env[ci], f.c[ci], owners[tu_rng_below(&rng, 4)], (int)tu_rng_below(&rng, 17), &v);
        for (j = 0; j < 3; j++) {
            check_owner(f.c[0], &o[j]);
            check_owner(f.c[1], &o[j]);
            TU_REQUIRE_EQ(wc_owner_count(&o[j], NULL),
                          wc_owner_count(&o[j], f.c[0]) + wc_owner_count(&o[j], f.c[1]));
            total += wc_owner_count(&o[j], f.c[0]);
        }
        TU_REQUIRE_EQ(total + tu_iter_count_owner(f.c[0], NULL), wc_cache_size(f.c[0]));
    }
    ck_assert_int_gt(f.env[0].n_evict_cause[WC_EVICT_CAPACITY], 50);
    for (j = 0; j < 3; j++) {
        size_t in0 = wc_owner_count(&o[j], f.c[0]);
        size_t in1 = wc_owner_count(&o[j], f.c[1]);
        long before0 = f.env[0].n_evict_cause[WC_EVICT_OWNER];
        long before1 = f.env[1].n_evict_cause[WC_EVICT_OWNER];
        size_t s0 = wc_cache_size(f.c[0]);
        TU_REQUIRE_EQ(wc_owner_release(&o[j]), WC_OK);
        TU_REQUIRE_EQ(f.env[0].n_evict_cause[WC_EVICT_OWNER] - before0, (long)in0);
        TU_REQUIRE_EQ(f.env[1].n_evict_cause[WC_EVICT_OWNER] - before1, (long)in1);
        TU_REQUIRE_EQ(wc_cache_size(f.c[0]), s0 - in0);
        TU_REQUIRE_EQ(tu_iter_count_owner(f.c[0], &o[j]), 0);
        tu_check_consistent(&f.env[0], f.c[0]);
        tu_check_consistent(&f.env[1], f.c[1]);
    }
    fx_finish(&f);
}
END_TEST

START_TEST(test_free_cache_with_owned_entries)
{
    fixture f;
    wc_owner o1, o2;
    tu_env env_d;
    wc_cache *d;
    int i, v;

    fx_init(&f, 0);
    wc_owner_init(&o1);
    wc_owner_init(&o2);
    /* o1 is first used with cache 0 (its inline group), o2 with cache 1 */
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o1, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o2, i, i, 1), WC_OK);
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(tu_put(&f.env[1], f.c[1], &o1, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[2], f.c[2], &o1, i, i, 1), WC_OK);
        ck_assert_int_eq(tu_put(&f.env[0], f.c[0], &o2, i, i, 1), WC_OK);
    }
    ck_assert_uint_eq(wc_owner_count(&o1, NULL), 9);
    ck_assert_uint_eq(wc_owner_count(&o2, NULL), 6);

    ck_assert_int_eq(wc_cache_free(f.c[0]), WC_OK);
    f.c[0] = NULL;
    ck_assert_int_eq(f.env[0].n_evict_cause[WC_EVICT_CLEARED], 6);
    tu_assert_all_released(&f.env[0]);
    ck_assert_uint_eq(wc_owner_count(&o1, NULL), 6);
    ck_assert_uint_eq(wc_owner_count(&o2, NULL), 3);
    ck_assert_uint_eq(wc_owner_count(&o1, f.c[1]), 3);

    /* a new cache, possibly at the freed cache's address */
    tu_env_init(&env_d);
    d = tu_cache_new(&env_d, 0, 0, &f.alloc);
    ck_assert_uint_eq(wc_owner_count(&o1, d), 0);
    ck_assert_int_eq(tu_get(&env_d, d, &o1, 0, &v), WC_NOTFOUND);
    ck_assert_int_eq(tu_put(&env_d, d, &o1, 0, 77, 1), WC_OK);
    ck_assert_int_eq(tu_put(&env_d, d, &o2, 0, 78, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o1, NULL), 7);

    ck_assert_int_eq(wc_owner_release(&o1), WC_OK);
    ck_assert_int_eq(f.env[1].n_evict_cause[WC_EVICT_OWNER], 3);
    ck_assert_int_eq(f.env[2].n_evict_cause[WC_EVICT_OWNER], 3);
    ck_assert_int_eq(env_d.n_evict_cause[WC_EVICT_OWNER], 1);
    ck_assert_uint_eq(wc_cache_size(f.c[1]), 3);
    ck_assert_uint_eq(wc_cache_size(f.c[2]), 0);
    ck_assert_uint_eq(wc_cache_size(d), 1);

    /* free every cache, then release o2: nothing left to do */
    ck_assert_int_eq(wc_cache_free(d), WC_OK);
    ck_assert_int_eq(wc_cache_free(f.c[1]), WC_OK);
    f.c[1] = NULL;
    ck_assert_uint_eq(wc_owner_count(&o2, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o2), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o1), WC_OK);
    tu_assert_all_released(&env_d);
    tu_env_destroy(&env_d);
    fx_finish(&f);
}
END_TEST

START_TEST(test_owner_many_caches)
{
    enum { N = 6 };
    tu_env env[N];
    wc_cache *c[N];
    tu_alloc a;
    wc_owner o;
    size_t baseline;
    int i, j;

    tu_alloc_init(&a);
    wc_owner_init(&o);
    for (i = 0; i < N; i++) {
        tu_env_init(&env[i]);
        c[i] = tu_cache_new(&env[i], 0, 0, &a);
        ck_assert_int_eq(tu_put(&env[i], c[i], NULL, 1000, 1000, 1), WC_OK);
    }
    baseline = a.live_blocks;
    for (j = 0; j < 4; j++)
        for (i = 0; i < N; i++)
            ck_assert_int_eq(tu_put(&env[i], c[i], &o, j, i * 10 + j, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 4 * N);
    /* free two caches in the middle of the owner's group list */
    ck_assert_int_eq(wc_cache_free(c[2]), WC_OK);
    ck_assert_int_eq(wc_cache_free(c[4]), WC_OK);
    tu_assert_all_released(&env[2]);
    tu_assert_all_released(&env[4]);
    c[2] = c[4] = NULL;
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 4 * (N - 2));
    /* drain one cache's group by removals */
    for (j = 0; j < 4; j++)
        ck_assert_int_eq(tu_remove(&env[3], c[3], &o, j), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 4 * (N - 3));
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    for (i = 0; i < N; i++) {
        if (c[i] == NULL)
            continue;
        ck_assert_uint_eq(wc_cache_size(c[i]), 1);
        ck_assert_int_eq(env[i].n_evict_cause[WC_EVICT_OWNER], i == 3 ? 0 : 4);
    }
    /* the owner holds no memory: what is left is the 4 open caches with
     * one unowned entry each, as before the owner was used */
    ck_assert_uint_eq(a.live_blocks, baseline * (N - 2) / N);
    for (i = 0; i < N; i++) {
        if (c[i] != NULL)
            ck_assert_int_eq(wc_cache_free(c[i]), WC_OK);
        tu_assert_all_released(&env[i]);
        tu_env_destroy(&env[i]);
    }
    tu_assert_alloc_clean(&a);
}
END_TEST

START_TEST(test_release_frees_owner_memory)
{
    /* After a release the owner holds no memory: the allocator is back to
     * what the caches alone hold. */
    fixture f;
    wc_owner o;
    size_t baseline;
    int i, j;

    fx_init(&f, 0);
    wc_owner_init(&o);
    for (i = 0; i < NCACHES; i++)
        ck_assert_int_eq(tu_put(&f.env[i], f.c[i], NULL, 1000, 1000, 1), WC_OK);
    baseline = f.alloc.live_blocks;
    for (j = 0; j < 3; j++)
        for (i = 0; i < NCACHES; i++)
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], &o, j, j, 1), WC_OK);
    ck_assert_uint_gt(f.alloc.live_blocks, baseline);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_uint_eq(f.alloc.live_blocks, baseline);
    /* same after emptying the groups by removal and clear_owner */
    for (i = 0; i < NCACHES; i++)
        ck_assert_int_eq(tu_put(&f.env[i], f.c[i], &o, 5, 5, 1), WC_OK);
    ck_assert_int_eq(tu_remove(&f.env[0], f.c[0], &o, 5), WC_OK);
    ck_assert_int_eq(wc_cache_clear_owner(f.c[1], &o), WC_OK);
    ck_assert_int_eq(wc_clear(f.c[2]), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    for (i = 0; i < 2; i++)
        ck_assert_uint_eq(wc_cache_size(f.c[i]), 1);
    fx_finish(&f);
}
END_TEST

START_TEST(test_heap_owner_freed_after_release)
{
    /* The owner's storage may be freed right after release. */
    fixture f;
    wc_owner *o = (wc_owner *)malloc(sizeof *o);
    int i, j, v;

    ck_assert_ptr_nonnull(o);
    fx_init(&f, 4);
    wc_owner_init(o);
    for (j = 0; j < 6; j++)
        for (i = 0; i < NCACHES; i++)
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], (j % 2) ? o : NULL, j, j, 1), WC_OK);
    ck_assert_int_eq(wc_owner_release(o), WC_OK);
    memset(o, 0xDD, sizeof *o);
    free(o);
    for (i = 0; i < NCACHES; i++) {
        for (j = 10; j < 20; j++)
            ck_assert_int_eq(tu_put(&f.env[i], f.c[i], NULL, j, j, 1), WC_OK);
        ck_assert_int_eq(tu_get(&f.env[i], f.c[i], NULL, 19, &v), WC_OK);
        ck_assert_int_eq(wc_cache_set_limits(f.c[i], 1, 0), WC_OK);
        ck_assert_int_eq(wc_cache_clear_owner(f.c[i], NULL), WC_OK);
        tu_check_consistent(&f.env[i], f.c[i]);
    }
    fx_finish(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cost of a release                                                   */
/* ------------------------------------------------------------------ */

static int ptr_equal(void *ctx, const void *a, const void *b)
{
    (void)ctx;
    return a == b;
}

#define KEYPTR(i) ((void *)(uintptr_t)(((uintptr_t)(i) + 1) * 16))

/* Best-of-reps time to release (or clear_owner) an owner holding k entries
 * in a cache that holds `others` unowned entries. */
static double time_release(size_t others, size_t k, int reps, int use_clear)
{
    wc_ops ops;
    wc_config cfg;
    wc_cache *c = NULL;
    wc_owner o;
    double best = 1e9;
    size_t i;
    int r;

    memset(&ops, 0, sizeof ops);
    ops.equal = ptr_equal;
    wc_config_init(&cfg);
    cfg.ops = &ops;
    TU_REQUIRE_EQ(wc_cache_new(&cfg, &c), WC_OK);
    wc_owner_init(&o);
    for (i = 0; i < others; i++)
        TU_REQUIRE_EQ(wc_put(c, NULL, tu_mix64(i), KEYPTR(i), NULL, 1), WC_OK);
    for (r = 0; r < reps; r++) {
        double t0, t1;
        for (i = others; i < others + k; i++)
            TU_REQUIRE_EQ(wc_put(c, &o, tu_mix64(i), KEYPTR(i), NULL, 1), WC_OK);
        TU_REQUIRE_EQ(wc_owner_count(&o, c), k);
        t0 = tu_now();
        if (use_clear)
            TU_REQUIRE_EQ(wc_cache_clear_owner(c, &o), WC_OK);
        else
            TU_REQUIRE_EQ(wc_owner_release(&o), WC_OK);
        t1 = tu_now();
        if (t1 - t0 < best)
            best = t1 - t0;
        TU_REQUIRE_EQ(wc_cache_size(c), others);
    }
    TU_REQUIRE_EQ(wc_owner_release(&o), WC_OK);
    TU_REQUIRE_EQ(wc_cache_free(c), WC_OK);
    return best;
}

START_TEST(test_release_cost_independent_of_cache_size)
{
    const size_t k = 1000;
    const size_t big = (size_t)tu_scale(300000, 100000);
    int use_clear;

    for (use_clear = 0; use_clear <= 1; use_clear++) {
        double small = time_release(1000, k, 9, use_clear);
        double large = time_release(big, k, 9, use_clear);
        double ratio = large / (small > 1e-7 ? small : 1e-7);
        if (getenv("WC_TEST_VERBOSE") != NULL)
            fprintf(stderr, "%s: %.1f us (1000 others), %.1f us (%zu), "
                    "ratio %.2f\n", use_clear ? "clear_owner" : "release",
                    small * 1e6, large * 1e6, big, ratio);
        ck_assert_msg(ratio < 5.0,
                      "%s of %zu entries: %.1f us with 1000 other entries, "
                      "%.1f us with %zu (ratio %.1f): looks like a scan",
                      use_clear ? "wc_cache_clear_owner" : "wc_owner_release",
                      k, small * 1e6, large * 1e6, big, ratio);
    }
}
END_TEST

static Suite *owner_suite(void)
{
    Suite *s = suite_create("owner");
    TCase *tc;

    tc = tcase_create("identity");
    tcase_add_test(tc, test_owner_key_identity);
    tcase_add_test(tc, test_owner_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("release");
    tcase_add_test(tc, test_release_in_all_caches);
    tcase_add_test(tc, test_release_twice_and_unused);
    tcase_add_test(tc, test_owner_reuse_after_release);
    tcase_add_test(tc, test_release_frees_owner_memory);
    tcase_add_test(tc, test_heap_owner_freed_after_release);
    suite_add_tcase(s, tc);

    tc = tcase_create("clear_owner");
    tcase_add_test(tc, test_clear_owner);
    suite_add_tcase(s, tc);

    tc = tcase_create("consistency");
    tcase_add_test(tc, test_capacity_eviction_keeps_owner_lists);
    tcase_add_test(tc, test_free_cache_with_owned_entries);
    tcase_add_test(tc, test_owner_many_caches);
    suite_add_tcase(s, tc);

    tc = tcase_create("complexity");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_release_cost_independent_of_cache_size);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(owner_suite)
