/*
 * bytes.c - byte-string keys on top of the generic cache.
 *
 * A stored key is one block from the cache's allocator: a wc_bytes_key
 * header followed by a copy of the bytes, with `data` pointing just past the
 * header. Probes are wc_bytes_key values on the caller's stack pointing at
 * the caller's bytes, so a lookup allocates nothing. The cache's ops_ctx is
 * the cache itself: free_key needs its allocator, free_value its callback.
 * Nothing here calls back into the cache, so these functions add no
 * re-entrancy of their own; the user's free_value runs from the cache's
 * deferred-release path like any other callback.
 */
#include "internal.h"

#include <string.h>

static uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* MurmurHash64A (Austin Appleby, public domain), reading whole words with
 * memcpy so that unaligned keys are fine. Native byte order. */
uint64_t wc_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const unsigned r = 47;
    const unsigned char *p = data;
    uint64_t h = seed ^ ((uint64_t)len * m);

    while (len >= 8) {
        uint64_t k = read64(p);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        p += 8;
        len -= 8;
    }
    switch (len) {
    case 7: h ^= (uint64_t)p[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)p[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)p[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)p[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)p[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)p[1] << 8;  /* fall through */
    case 1: h ^= (uint64_t)p[0];
        h *= m;
        break;
    default: break;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

static int bytes_equal(void *ctx, const void *stored, const void *probe)
{
    const wc_bytes_key *a = stored, *b = probe;
    (void)ctx;
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void bytes_free_key(void *ctx, void *key)
{
    wc_bytes_key *k = key;
    wc__free(ctx, k, sizeof *k + k->len);
}

static void bytes_free_value(void *ctx, void *value)
{
    wc_cache *cache = ctx;
    cache->bytes_free_value(value);
}

int wc_bytes_cache_new(size_t max_entries, void (*free_value)(void *value),
                       const wc_allocator *allocator, wc_cache **out)
{
    static const wc_ops ops_with_free = {bytes_equal, bytes_free_key, bytes_free_value, NULL, NULL};
    static const wc_ops ops_no_free = {bytes_equal, bytes_free_key, NULL, NULL, NULL};
    wc_config config;
    int r;

    wc_config_init(&config);
    config.max_entries = max_entries;
    config.ops = free_value != NULL ? &ops_with_free : &ops_no_free;
    config.allocator = allocator;
    r = wc_cache_new(&config, out);
    if (r != WC_OK)
        return r;
    (*out)->ctx = *out;
    (*out)->is_bytes = 1;
    (*out)->bytes_free_value = free_value;
    return WC_OK;
}

static int probe_init(wc_bytes_key *probe, const wc_cache *cache, const void *key, size_t len)
{
    if (cache == NULL || !cache->is_bytes || (key == NULL && len != 0))
        return WC_EINVAL;
    probe->len = len;
    probe->data = key;
    return WC_OK;
}

int wc_bytes_get(wc_cache *cache, wc_owner *owner, const void *key, size_t len,
                 void **value_out)
{
    wc_bytes_key probe;
    int r = probe_init(&probe, cache, key, len);
    if (r != WC_OK) {
        if (value_out != NULL)
            *value_out = NULL;
        return r;
    }
    return wc_get(cache, owner, wc_hash_bytes(key, len, 0), &probe, value_out);
}

int wc_bytes_put(wc_cache *cache, wc_owner *owner, const void *key, size_t len,
                 void *value)
{
    wc_bytes_key probe, *stored;
    unsigned char *copy;
    int r = probe_init(&probe, cache, key, len);
    if (r != WC_OK)
        return r;
    if (len > SIZE_MAX - sizeof *stored)
        return WC_EINVAL;
    stored = wc__malloc(cache, sizeof *stored + len);
    if (stored == NULL)
        return WC_ENOMEM;
    copy = (unsigned char *)(stored + 1);
    if (len != 0)
        memcpy(copy, key, len);
    stored->len = len;
    stored->data = copy;
    r = wc_put(cache, owner, wc_hash_bytes(key, len, 0), stored, value, 1);
    if (r != WC_OK)
        wc__free(cache, stored, sizeof *stored + len);
    return r;
}

int wc_bytes_remove(wc_cache *cache, wc_owner *owner, const void *key, size_t len)
{
    wc_bytes_key probe;
    int r = probe_init(&probe, cache, key, len);
    if (r != WC_OK)
        return r;
    return wc_remove(cache, owner, wc_hash_bytes(key, len, 0), &probe);
}
