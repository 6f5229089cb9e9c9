/*
 * test_hash.c - the hash index stays a hash table at scale: the (owner, key)
 * combination spreads raw small-int hashes (Python's hash(i) == i), integral
 * floats (hash(2.0) == 2), address-hashed keys and many owners, so uthash
 * never stops doubling its buckets (noexpand) and chains stay short.
 * Regression tests for issue 9, defect 1: mix_hash used to XOR the key hash
 * with the group address before mixing, so distinct (owner, key) pairs had
 * equal 32-bit hashes and uthash froze the table.
 */
#include "testutil.h"

#include "debug.h"

/* uthash doubles the buckets when a chain reaches 10 (HASH_BKT_CAPACITY_
 * THRESH); with a good hash the longest chain stays near that. */
#define MAX_CHAIN 16

typedef struct scale {
    size_t owners;          /* 0: unowned entries */
    size_t keys_per_owner;
    uint64_t (*hash)(size_t key);
} scale;

static uint64_t raw_int(size_t k) { return (uint64_t)k; }
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
    ck_assert_msg(ti.noexpand == 0 && st.noexpand == 0,
                  "%s: uthash stopped expanding at %zu buckets (%zu entries)",
                  what, ti.buckets, n);
    ck_assert_msg(ti.max_chain <= MAX_CHAIN,
                  "%s: longest chain %zu (buckets %zu, entries %zu)", what,
                  ti.max_chain, ti.buckets, n);
    ck_assert_uint_eq(ti.items, n);
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
     * uthash gives up expanding, and the stats say so. (The cache still
     * works, by chain walks and the equal callback / identity.) */
    wc_cache *c = NULL;
    wc_stats st;
    uintptr_t k;
    ck_assert_int_eq(wc_cache_new(NULL, &c), WC_OK);
    for (k = 1; k <= 2000; k++)
        ck_assert_int_eq(wc_put(c, NULL, 7, (void *)k, (void *)k, 1), WC_OK);
    wc_cache_stats(c, &st);
    ck_assert_uint_ge(st.noexpand, 1);
    for (k = 1; k <= 2000; k += 97) {
        void *v;
        ck_assert_int_eq(wc_get(c, NULL, 7, (void *)k, &v), WC_OK);
        ck_assert_ptr_eq(v, (void *)k);
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
}
END_TEST

static Suite *hash_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("spread");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_many_owners_small_ints);
    tcase_add_test(tc, test_one_owner_many_ints);
    tcase_add_test(tc, test_unowned_many_ints);
    tcase_add_test(tc, test_many_owners_one_key);
    tcase_add_test(tc, test_real_collisions_are_counted);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(hash_suite)
