/*
 * test_bytes.c - wc_hash_bytes and the byte-string convenience layer
 * (wc_bytes_cache_new / wc_bytes_get / wc_bytes_put / wc_bytes_remove).
 */
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Values: a static pool, so free_value (which has no context) can be    */
/* checked for "exactly once" without touching freed memory.           */
/* ------------------------------------------------------------------ */

#define NVAL 4096

typedef struct bval {
    int id;
    int taken;    /* handed out by new_val */
    int freed;    /* free_value was called */
} bval;

static bval g_vals[NVAL];
static int g_nvals;
static long g_free_calls;
static long g_double_frees;

static void vals_reset(void)
{
    memset(g_vals, 0, sizeof g_vals);
    g_nvals = 0;
    g_free_calls = 0;
    g_double_frees = 0;
}

static bval *new_val(void)
{
    bval *v;
    TU_REQUIRE(g_nvals < NVAL, "value pool exhausted");
    v = &g_vals[g_nvals];
    v->id = g_nvals++;
    v->taken = 1;
    return v;
}

static void free_val(void *value)
{
    bval *v = (bval *)value;
    g_free_calls++;
    if (v == NULL || v < g_vals || v >= g_vals + NVAL || !v->taken || v->freed)
        g_double_frees++;
    else
        v->freed = 1;
}

static long vals_live(void)
{
    long n = 0;
    int i;
    for (i = 0; i < g_nvals; i++)
        n += g_vals[i].taken && !g_vals[i].freed;
    return n;
}

/* every value handed to the cache was freed exactly once */
#define assert_vals_all_freed()                                               \
    do {                                                                      \
        ck_assert_int_eq(g_double_frees, 0);                                  \
        ck_assert_int_eq(vals_live(), 0);                                     \
    } while (0)

static wc_cache *new_bytes_cache(size_t max_entries, tu_alloc *a)
{
    wc_cache *c = NULL;
    ck_assert_int_eq(wc_bytes_cache_new(max_entries, free_val,
                                        a != NULL ? &a->hooks : NULL, &c),
                     WC_OK);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void *get_or_null(wc_cache *c, wc_owner *o, const void *key, size_t len)
{
    void *v = (void *)&g_vals; /* must be overwritten */
    int rc = wc_bytes_get(c, o, key, len, &v);
    if (rc == WC_NOTFOUND) {
        ck_assert_ptr_null(v);
        return NULL;
    }
    ck_assert_int_eq(rc, WC_OK);
    return v;
}

/* ------------------------------------------------------------------ */
/* wc_hash_bytes                                                       */
/* ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and returns the number of duplicate values. */
static size_t count_dups(uint64_t *h, size_t n)
{
    size_t i, d = 0;
    qsort(h, n, sizeof *h, cmp_u64);
    for (i = 1; i < n; i++)
        d += h[i] == h[i - 1];
    return d;
}

START_TEST(test_hash_deterministic)
{
    static const char text[] = "the quick brown fox jumps over the lazy dog";
    unsigned char buf[128];
    uint64_t h = wc_hash_bytes(text, sizeof text - 1, 0);
    size_t off;

    ck_assert_uint_eq(wc_hash_bytes(text, sizeof text - 1, 0), h);
    /* the same bytes at any alignment */
    for (off = 0; off < 16; off++) {
        memset(buf, 0xEE, sizeof buf);
        memcpy(buf + off, text, sizeof text - 1);
        ck_assert_uint_eq(wc_hash_bytes(buf + off, sizeof text - 1, 0), h);
    }
    /* len 0: the pointer does not matter, NULL allowed */
    ck_assert_uint_eq(wc_hash_bytes(NULL, 0, 0), wc_hash_bytes(text, 0, 0));
    ck_assert_uint_eq(wc_hash_bytes(NULL, 0, 7), wc_hash_bytes(buf, 0, 7));
    /* bytes after len do not matter */
    memcpy(buf, text, 10);
    buf[10] = 'X';
    ck_assert_uint_eq(wc_hash_bytes(buf, 10, 3), wc_hash_bytes(text, 10, 3));
}
END_TEST

START_TEST(test_hash_seed_sensitive)
{
    static const char *inputs[] = {"", "a", "abc", "0123456789abcdef",
                                   "0123456789abcdef0123456789abcdef!"};
    uint64_t h[5 * 64];
    size_t i, n = 0;
    uint64_t seed;

    for (i = 0; i < 5; i++)
        for (seed = 0; seed < 64; seed++)
            h[n++] = wc_hash_bytes(inputs[i], strlen(inputs[i]),
                                   seed < 32 ? seed : UINT64_C(1) << (seed - 32 + 31));
    /* every (input, seed) pair hashes differently */
    ck_assert_uint_eq(count_dups(h, n), 0);
}
END_TEST

START_TEST(test_hash_lengths_and_bits)
{
    unsigned char buf[300];
    uint64_t h[600];
    size_t i, n = 0;

    /* all prefixes of a buffer, and zero-filled buffers of every length */
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    for (i = 0; i < sizeof buf; i++)
        h[n++] = wc_hash_bytes(buf, i, 0);
    memset(buf, 0, sizeof buf);
    for (i = 1; i < sizeof buf; i++) /* (length 0 is already in) */
        h[n++] = wc_hash_bytes(buf, i, 0);
    ck_assert_uint_eq(count_dups(h, n), 0);

    /* every single-bit flip of a 40-byte input changes the hash, and the
     * flipped inputs all differ from each other */
    {
        uint64_t flips[40 * 8 + 1];
        size_t bit, m = 0;
        for (i = 0; i < 40; i++)
            buf[i] = (unsigned char)(i + 100);
        flips[m++] = wc_hash_bytes(buf, 40, 0);
        for (bit = 0; bit < 40 * 8; bit++) {
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            flips[m++] = wc_hash_bytes(buf, 40, 0);
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        ck_assert_uint_eq(count_dups(flips, m), 0);
    }
}
END_TEST

START_TEST(test_hash_distribution)
{
    /* good for hash tables: no collisions among many small keys, and the
     * low bits (bucket index) spread evenly even for sequential keys */
    enum { N = 100000 };
    uint64_t *h = (uint64_t *)malloc(sizeof(uint64_t) * N);
    unsigned buckets[256];
    uint32_t i;
    unsigned mn = ~0u, mx = 0;

    ck_assert_ptr_nonnull(h);
    memset(buckets, 0, sizeof buckets);
    for (i = 0; i < N; i++) {
        h[i] = wc_hash_bytes(&i, sizeof i, 0);
        if (i < 256 * 64)
            buckets[h[i] & 255]++;
    }
    for (i = 0; i < 256; i++) {
        if (buckets[i] < mn)
            mn = buckets[i];
        if (buckets[i] > mx)
            mx = buckets[i];
    }
    ck_assert_msg(mn >= 24 && mx <= 112, "bucket loads %u..%u, expected "
                  "about 64", mn, mx);
    ck_assert_uint_eq(count_dups(h, N), 0);
    free(h);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The bytes cache                                                     */
/* ------------------------------------------------------------------ */

static int g_computed;

static void *compute(const char *key)
{
    bval *v = new_val();
    (void)key;
    g_computed++;
    return v;
}

START_TEST(test_bytes_three_calls)
{
    /* the usage from the header, with the allocator argument */
    wc_cache *c;
    void *v, *first = NULL;
    int i;

    vals_reset();
    g_computed = 0;
    ck_assert_int_eq(wc_bytes_cache_new(1024, free_val, NULL, &c), WC_OK);
    for (i = 0; i < 3; i++) {
        if (wc_bytes_get(c, NULL, "key", 3, &v) == WC_NOTFOUND) {
            v = compute("key");
            ck_assert_int_eq(wc_bytes_put(c, NULL, "key", 3, v), WC_OK);
        }
        if (first == NULL)
            first = v;
        ck_assert_ptr_eq(v, first);
    }
    ck_assert_int_eq(g_computed, 1);
    ck_assert_uint_eq(tu_stats(c).hits, 2);
    ck_assert_uint_eq(tu_stats(c).misses, 1);
    ck_assert_uint_eq(tu_stats(c).max_entries, 1024);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_key_is_copied)
{
    tu_alloc a;
    wc_cache *c;
    char *buf = (char *)malloc(16);
    bval *v;

    vals_reset();
    tu_alloc_init(&a);
    c = new_bytes_cache(0, &a);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "hello", 5);
    v = new_val();
    ck_assert_int_eq(wc_bytes_put(c, NULL, buf, 5, v), WC_OK);
    memcpy(buf, "jello", 5);
    ck_assert_ptr_null(get_or_null(c, NULL, buf, 5));
    ck_assert_ptr_eq(get_or_null(c, NULL, "hello", 5), v);
    free(buf); /* the cache does not keep the caller's buffer */
    ck_assert_ptr_eq(get_or_null(c, NULL, "hello", 5), v);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, "hello", 5), WC_OK);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, "hello", 5), WC_NOTFOUND);
    ck_assert_int_eq(g_vals[0].freed, 1);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_empty_keys)
{
    wc_cache *c;
    bval *v1, *v2, *v3;
    char nul = '\0';

    vals_reset();
    c = new_bytes_cache(0, NULL);
    v1 = new_val();
    v2 = new_val();
    v3 = new_val();
    ck_assert_int_eq(wc_bytes_put(c, NULL, "", 0, v1), WC_OK);
    ck_assert_ptr_eq(get_or_null(c, NULL, NULL, 0), v1);
    ck_assert_ptr_eq(get_or_null(c, NULL, "anything", 0), v1);
    /* NULL data with len 0 is the same (empty) key: a replacement */
    ck_assert_int_eq(wc_bytes_put(c, NULL, NULL, 0, v2), WC_OK);
    ck_assert_int_eq(v1->freed, 1);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_REPLACED], 1);
    /* one NUL byte is not the empty key */
    ck_assert_ptr_null(get_or_null(c, NULL, &nul, 1));
    ck_assert_int_eq(wc_bytes_put(c, NULL, &nul, 1, v3), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 2);
    ck_assert_ptr_eq(get_or_null(c, NULL, NULL, 0), v2);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, NULL, 0), WC_OK);
    ck_assert_ptr_null(get_or_null(c, NULL, "", 0));
    ck_assert_ptr_eq(get_or_null(c, NULL, "\0", 1), v3);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_invalid_arguments)
{
    wc_cache *c, *plain = NULL;
    tu_alloc a;
    wc_allocator bad;
    void *out = NULL;
    bval *v;

    vals_reset();
    tu_alloc_init(&a);
    c = new_bytes_cache(0, &a);
    v = new_val();
    /* NULL data with a length */
    ck_assert_int_eq(wc_bytes_put(c, NULL, NULL, 5, v), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_get(c, NULL, NULL, 5, &out), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, NULL, 5), WC_EINVAL);
    /* NULL cache / out */
    ck_assert_int_eq(wc_bytes_put(NULL, NULL, "k", 1, v), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_get(NULL, NULL, "k", 1, &out), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_get(c, NULL, "k", 1, NULL), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_remove(NULL, NULL, "k", 1), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_cache_new(0, free_val, NULL, NULL), WC_EINVAL);
    /* an allocator with a NULL hook is a NULL argument too */
    bad = a.hooks;
    bad.malloc = NULL;
    {
        wc_cache *x = NULL;
        ck_assert_int_eq(wc_bytes_cache_new(0, free_val, &bad, &x), WC_EINVAL);
        bad = a.hooks;
        bad.free = NULL;
        ck_assert_int_eq(wc_bytes_cache_new(0, free_val, &bad, &x), WC_EINVAL);
    }
    /* nothing was taken */
    ck_assert_int_eq(v->freed, 0);
    ck_assert_uint_eq(wc_cache_size(c), 0);

    /* the bytes functions on a cache that is not a bytes cache */
    ck_assert_int_eq(wc_cache_new(NULL, &plain), WC_OK);
    out = &out;
    ck_assert_int_eq(wc_bytes_get(plain, NULL, "k", 1, &out), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_put(plain, NULL, "k", 1, v), WC_EINVAL);
    ck_assert_int_eq(wc_bytes_remove(plain, NULL, "k", 1), WC_EINVAL);
    ck_assert_uint_eq(wc_cache_size(plain), 0);
    ck_assert_int_eq(wc_cache_free(plain), WC_OK);
    ck_assert_int_eq(v->freed, 0);

    ck_assert_int_eq(wc_bytes_put(c, NULL, "k", 1, v), WC_OK);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_binary_keys)
{
    wc_cache *c;
    bval *vab, *vac, *va, *va0;
    bval *single[256];
    int i;

    vals_reset();
    c = new_bytes_cache(0, NULL);
    vab = new_val();
    vac = new_val();
    va = new_val();
    va0 = new_val();
    ck_assert_int_eq(wc_bytes_put(c, NULL, "a\0b", 3, vab), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "a\0c", 3, vac), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "a", 1, va), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "a\0", 2, va0), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 4);
    ck_assert_ptr_eq(get_or_null(c, NULL, "a\0b", 3), vab);
    ck_assert_ptr_eq(get_or_null(c, NULL, "a\0c", 3), vac);
    ck_assert_ptr_eq(get_or_null(c, NULL, "a", 1), va);
    ck_assert_ptr_eq(get_or_null(c, NULL, "a\0", 2), va0);
    ck_assert_ptr_null(get_or_null(c, NULL, "a\0d", 3));
    ck_assert_ptr_null(get_or_null(c, NULL, "a\0\0", 3));
    /* every single byte is its own key */
    for (i = 0; i < 256; i++) {
        unsigned char b = (unsigned char)i;
        single[i] = new_val();
        ck_assert_int_eq(wc_bytes_put(c, NULL, &b, 1, single[i]), WC_OK);
    }
    /* "a" was replaced by the single byte 'a' */
    ck_assert_int_eq(va->freed, 1);
    ck_assert_uint_eq(wc_cache_size(c), 3 + 256);
    for (i = 0; i < 256; i++) {
        unsigned char b = (unsigned char)i;
        ck_assert_ptr_eq(get_or_null(c, NULL, &b, 1), single[i]);
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_owners)
{
    tu_alloc a;
    wc_cache *c, *c2;
    wc_owner o1, o2;
    bval *v1, *v2, *v0, *w1;
    tu_env env;

    vals_reset();
    tu_alloc_init(&a);
    tu_env_init(&env);
    wc_owner_init(&o1);
    wc_owner_init(&o2);
    c = new_bytes_cache(0, &a);
    v1 = new_val();
    v2 = new_val();
    v0 = new_val();
    w1 = new_val();
    ck_assert_int_eq(wc_bytes_put(c, &o1, "k", 1, v1), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, &o2, "k", 1, v2), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "k", 1, v0), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, &o1, "other", 5, w1), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 4);
    ck_assert_ptr_eq(get_or_null(c, &o1, "k", 1), v1);
    ck_assert_ptr_eq(get_or_null(c, &o2, "k", 1), v2);
    ck_assert_ptr_eq(get_or_null(c, NULL, "k", 1), v0);
    ck_assert_ptr_null(get_or_null(c, &o2, "other", 5));
    ck_assert_uint_eq(wc_owner_count(&o1, c), 2);
    ck_assert_uint_eq(tu_iter_count_owner(c, &o1), 2);

    /* the same owner in a regular cache too */
    c2 = tu_cache_new(&env, 0, 0, &a);
    ck_assert_int_eq(tu_put(&env, c2, &o1, 1, 1, 1), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o1, NULL), 3);

    ck_assert_int_eq(wc_owner_release(&o1), WC_OK);
    ck_assert_int_eq(v1->freed, 1);
    ck_assert_int_eq(w1->freed, 1);
    ck_assert_int_eq(v2->freed, 0);
    ck_assert_uint_eq(wc_cache_size(c), 2);
    ck_assert_uint_eq(wc_cache_size(c2), 0);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_OWNER], 2);
    ck_assert_ptr_null(get_or_null(c, &o1, "k", 1));
    ck_assert_ptr_eq(get_or_null(c, &o2, "k", 1), v2);

    ck_assert_int_eq(wc_cache_clear_owner(c, NULL), WC_OK);
    ck_assert_int_eq(v0->freed, 1);
    ck_assert_int_eq(wc_bytes_remove(c, &o2, "k", 1), WC_OK);
    ck_assert_int_eq(v2->freed, 1);
    /* a bytes cache freed while an owner still has entries in it */
    ck_assert_int_eq(wc_bytes_put(c, &o2, "z", 1, new_val()), WC_OK);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_uint_eq(wc_owner_count(&o2, NULL), 0);
    ck_assert_int_eq(wc_owner_release(&o2), WC_OK);
    ck_assert_int_eq(wc_cache_free(c2), WC_OK);
    tu_assert_all_released(&env);
    tu_env_destroy(&env);
    tu_assert_alloc_clean(&a);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_free_value_and_limits)
{
    wc_cache *c;
    wc_owner o;
    char key[8];
    int i;
    long calls;

    vals_reset();
    wc_owner_init(&o);
    c = new_bytes_cache(3, NULL);
    for (i = 0; i < 5; i++) {             /* evicts 0 and 1 */
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(wc_bytes_put(c, NULL, key, strlen(key), new_val()), WC_OK);
    }
    ck_assert_int_eq(g_free_calls, 2);
    ck_assert_int_eq(g_vals[0].freed + g_vals[1].freed, 2);
    ck_assert_uint_eq(tu_stats(c).evictions[WC_EVICT_CAPACITY], 2);
    ck_assert_uint_eq(tu_stats(c).weight, 3); /* weight 1 each */
    /* LRU: touching k2 makes k3 the next victim */
    ck_assert_ptr_eq(get_or_null(c, NULL, "k2", 2), &g_vals[2]);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "k5", 2, new_val()), WC_OK);
    ck_assert_int_eq(g_vals[3].freed, 1);
    ck_assert_int_eq(g_vals[2].freed, 0);
    /* replace frees the old value */
    ck_assert_int_eq(wc_bytes_put(c, NULL, "k5", 2, new_val()), WC_OK);
    ck_assert_int_eq(g_vals[5].freed, 1);
    /* set_limits, clear, owner release, cache free */
    ck_assert_int_eq(wc_cache_set_limits(c, 1, 0), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 1);
    ck_assert_int_eq(wc_cache_set_limits(c, 0, 0), WC_OK);
    calls = g_free_calls;
    ck_assert_int_eq(wc_clear(c), WC_OK);
    ck_assert_int_eq(g_free_calls, calls + 1);
    ck_assert_int_eq(wc_bytes_put(c, &o, "x", 1, new_val()), WC_OK);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(g_free_calls, calls + 2);
    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "z%d", i);
        ck_assert_int_eq(wc_bytes_put(c, NULL, key, strlen(key), new_val()), WC_OK);
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    ck_assert_int_eq(g_free_calls, g_nvals);
    assert_vals_all_freed();

    /* free_value NULL: values are simply dropped */
    {
        int x = 1, y = 2;
        ck_assert_int_eq(wc_bytes_cache_new(1, NULL, NULL, &c), WC_OK);
        ck_assert_int_eq(wc_bytes_put(c, NULL, "a", 1, &x), WC_OK);
        ck_assert_int_eq(wc_bytes_put(c, NULL, "b", 1, &y), WC_OK);
        ck_assert_ptr_eq(get_or_null(c, NULL, "b", 1), &y);
        ck_assert_ptr_null(get_or_null(c, NULL, "a", 1));
        ck_assert_int_eq(wc_cache_free(c), WC_OK);
    }
}
END_TEST

START_TEST(test_bytes_iteration)
{
    wc_cache *c;
    wc_owner o;
    wc_iter it;
    wc_item item;
    const wc_bytes_key *k;
    bval *v1, *v2;

    vals_reset();
    wc_owner_init(&o);
    c = new_bytes_cache(0, NULL);
    v1 = new_val();
    v2 = new_val();
    ck_assert_int_eq(wc_bytes_put(c, &o, "first\0key", 9, v1), WC_OK);
    ck_assert_int_eq(wc_bytes_put(c, NULL, "", 0, v2), WC_OK);
    wc_iter_init(&it, c);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    k = (const wc_bytes_key *)item.key;
    ck_assert_uint_eq(k->len, 0);
    ck_assert_ptr_eq(item.value, v2);
    ck_assert_ptr_null(item.owner);
    ck_assert_uint_eq(item.weight, 1);
    ck_assert_int_eq(wc_iter_next(&it, &item), 1);
    k = (const wc_bytes_key *)item.key;
    ck_assert_uint_eq(k->len, 9);
    ck_assert_ptr_nonnull(k->data);
    ck_assert_mem_eq(k->data, "first\0key", 9);
    ck_assert_ptr_eq(item.value, v1);
    ck_assert_ptr_eq(item.owner, &o);
    ck_assert_int_eq(wc_iter_next(&it, &item), 0);
    ck_assert_int_eq(wc_owner_release(&o), WC_OK);
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    assert_vals_all_freed();
}
END_TEST

START_TEST(test_bytes_large_keys)
{
    const size_t big = (size_t)1 << 20;
    unsigned char *key = (unsigned char *)malloc(big);
    unsigned char *probe = (unsigned char *)malloc(big);
    tu_alloc a;
    wc_cache *c;
    bval *v, *v2;
    size_t i, live;

    vals_reset();
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(probe);
    for (i = 0; i < big; i++)
        key[i] = (unsigned char)(i * 2654435761u >> 13);
    tu_alloc_init(&a);
    c = new_bytes_cache(0, &a);
    live = a.live_bytes;
    v = new_val();
    ck_assert_int_eq(wc_bytes_put(c, NULL, key, big, v), WC_OK);
    ck_assert_uint_ge(a.live_bytes - live, big); /* copied */
    memcpy(probe, key, big);
    ck_assert_ptr_eq(get_or_null(c, NULL, probe, big), v);
    probe[big - 1] ^= 1;
    ck_assert_ptr_null(get_or_null(c, NULL, probe, big));
    probe[big - 1] ^= 1;
    probe[0] ^= 0x80;
    ck_assert_ptr_null(get_or_null(c, NULL, probe, big));
    probe[0] ^= 0x80;
    ck_assert_ptr_null(get_or_null(c, NULL, probe, big - 1));
    /* a second large key differing only in the middle */
    probe[big / 2] ^= 0xFF;
    v2 = new_val();
    ck_assert_int_eq(wc_bytes_put(c, NULL, probe, big, v2), WC_OK);
    ck_assert_uint_eq(wc_cache_size(c), 2);
    ck_assert_ptr_eq(get_or_null(c, NULL, probe, big), v2);
    ck_assert_ptr_eq(get_or_null(c, NULL, key, big), v);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, key, big), WC_OK);
    ck_assert_int_eq(wc_bytes_remove(c, NULL, probe, big), WC_OK);
    ck_assert_uint_eq(a.live_bytes, live); /* the copies were freed */
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
    assert_vals_all_freed();
    free(key);
    free(probe);
}
END_TEST

START_TEST(test_bytes_many_keys)
{
    /* many keys of many lengths, with the counting allocator */
    tu_alloc a;
    wc_cache *c;
    char key[64];
    int i, n = 2000;

    vals_reset();
    tu_alloc_init(&a);
    c = new_bytes_cache(0, &a);
    for (i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "%d:%.*s", i, i % 40,
                           "........................................");
        TU_REQUIRE_EQ(wc_bytes_put(c, NULL, key, (size_t)len, new_val()), WC_OK);
    }
    TU_REQUIRE_EQ(wc_cache_size(c), n);
    for (i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "%d:%.*s", i, i % 40,
                           "........................................");
        void *out = NULL;
        TU_REQUIRE_EQ(wc_bytes_get(c, NULL, key, (size_t)len, &out), WC_OK);
        TU_REQUIRE(out == &g_vals[i], "key %d has the wrong value", i);
        /* one byte less is a key nobody put */
        TU_REQUIRE_EQ(wc_bytes_get(c, NULL, key, (size_t)len - 1, &out),
                      WC_NOTFOUND);
    }
    ck_assert_int_eq(wc_cache_free(c), WC_OK);
    tu_assert_alloc_clean(&a);
    assert_vals_all_freed();
}
END_TEST

static Suite *bytes_suite(void)
{
    Suite *s = suite_create("bytes");
    TCase *tc;

    tc = tcase_create("hash");
    tcase_add_test(tc, test_hash_deterministic);
    tcase_add_test(tc, test_hash_seed_sensitive);
    tcase_add_test(tc, test_hash_lengths_and_bits);
    tcase_add_test(tc, test_hash_distribution);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache");
    tcase_add_test(tc, test_bytes_three_calls);
    tcase_add_test(tc, test_bytes_key_is_copied);
    tcase_add_test(tc, test_bytes_empty_keys);
    tcase_add_test(tc, test_bytes_invalid_arguments);
    tcase_add_test(tc, test_bytes_binary_keys);
    tcase_add_test(tc, test_bytes_owners);
    tcase_add_test(tc, test_bytes_free_value_and_limits);
    tcase_add_test(tc, test_bytes_iteration);
    suite_add_tcase(s, tc);

    tc = tcase_create("large");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bytes_large_keys);
    tcase_add_test(tc, test_bytes_many_keys);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(bytes_suite)
