/*
 * bytes.c - byte-string keys on top of the generic cache.
 *
 * A stored key is one block from the cache's allocator: a wc_bytes_key
 * header followed by a copy of the bytes, with `data` pointing just past the
 * header. Probes are wc_bytes_key values on the caller's stack pointing at
 * the caller's bytes, so a lookup allocates nothing. The cache is flagged
 * WC__F_BYTES: the core frees stored keys through the allocator itself
 * (there is no free_key callback) and refuses the generic key API. With
 * wc_bytes_cache_new_ex the user's free_value/retain_value/on_evict receive
 * the user's ops_ctx; with wc_bytes_cache_new (a free_value without context)
 * ops_ctx is the cache and bytes_free_value forwards. The miss path
 * (wc_bytes_lookup + wc_bytes_put_hint) hashes and looks the key up once and
 * copies it once. Nothing here calls back into the cache, so these
 * functions add no re-entrancy of their own; the user's callbacks run from
 * the cache's deferred-release path like any other callback.
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

/* wc_bytes_cache_new's free_value takes no context: the cache's ops_ctx is
 * then the cache itself, and this forwards to the stored callback. */
static void bytes_free_value(void *ctx, void *value)
{
    wc_cache *cache = ctx;
    cache->bytes_free_value(value);
}

/* Keys are freed by the core itself (WC__F_BYTES), through the allocator. */
static int bytes_new(wc_config *config, wc_cache **out)
{
    wc_ops ops;
    int r;
    if (config->ops != NULL) {
        if (config->ops->equal != NULL || config->ops->free_key != NULL)
            return WC_EINVAL;
        ops = *config->ops;
    } else {
        memset(&ops, 0, sizeof ops);
    }
    ops.equal = bytes_equal;
    config->ops = &ops;
    r = wc__cache_new(config, out);
    if (r == WC_OK)
        (*out)->flags |= WC__F_BYTES;
    return r;
}

int wc_bytes_cache_new_ex(const wc_config *config_in, wc_cache **out)
{
    wc_config config;
    if (out == NULL)
        return WC_EINVAL;
    *out = NULL;
    if (wc__config_read(config_in, &config) != WC_OK)
        return WC_EINVAL;
    return bytes_new(&config, out);
}

int wc_bytes_cache_new(size_t max_entries, void (*free_value)(void *value),
                       const wc_allocator *allocator, wc_cache **out)
{
    static const wc_ops ops_with_free = {NULL, NULL, bytes_free_value, NULL, NULL};
    wc_config config;
    int r;

    if (out == NULL)
        return WC_EINVAL;
    *out = NULL;
    wc_config_init(&config);
    config.max_entries = max_entries;
    config.ops = free_value != NULL ? &ops_with_free : NULL;
    config.allocator = allocator;
    r = bytes_new(&config, out);
    if (r != WC_OK)
        return r;
    (*out)->ctx = *out;
    (*out)->bytes_free_value = free_value;
    return WC_OK;
}

static int probe_init(wc_bytes_key *probe, const wc_cache *cache, const void *key, size_t len)
{
    if (cache == NULL || !(cache->flags & WC__F_BYTES) || (key == NULL && len != 0))
        return WC_EINVAL;
    probe->len = len;
    probe->data = key;
    return WC_OK;
}

int wc_bytes_lookup(wc_cache *cache, wc_owner *owner, const void *key,
                    size_t len, void **value_out, wc_hint *hint)
{
    wc_bytes_key probe;
    int r = probe_init(&probe, cache, key, len);
    if (value_out != NULL)
        *value_out = NULL;
    if (r != WC_OK || value_out == NULL)
        return WC_EINVAL;
    return wc__bytes_get(cache, owner, wc_hash_bytes(key, len, 0), &probe,
                         value_out, hint);
}

int wc_bytes_get(wc_cache *cache, wc_owner *owner, const void *key, size_t len,
                 void **value_out)
{
    return wc_bytes_lookup(cache, owner, key, len, value_out, NULL);
}

/* The one copy of the key the cache keeps. */
static wc_bytes_key *key_copy(wc_cache *cache, const void *key, size_t len)
{
    wc_bytes_key *stored;
    unsigned char *copy;
    if (len > SIZE_MAX - sizeof *stored)
        return NULL;
    stored = wc__malloc(cache, sizeof *stored + len);
    if (stored == NULL)
        return NULL;
    copy = (unsigned char *)(stored + 1);
    if (len != 0)
        memcpy(copy, key, len);
    stored->len = len;
    stored->data = copy;
    return stored;
}

static int bytes_put(wc_cache *cache, const wc_hint *hint, wc_owner *owner,
                     const void *key, size_t len, void *value, uint32_t weight)
{
    wc_bytes_key probe, *stored;
    uint64_t hash = 0;
    int r = probe_init(&probe, cache, key, len);
    if (r != WC_OK)
        return r;
    if (len > SIZE_MAX - sizeof *stored)
        return WC_EINVAL;
    if (hint != NULL && hint->wc__cache != cache)
        return WC_EINVAL;
    stored = key_copy(cache, key, len);
    if (stored == NULL)
        return WC_ENOMEM;
    if (hint == NULL)
        hash = wc_hash_bytes(key, len, 0);
    r = wc__put(cache, hint, owner, hash, stored, value, weight);
    if (r < 0)
        wc__free(cache, stored, sizeof *stored + len);
    return r;
}

int wc_bytes_put(wc_cache *cache, wc_owner *owner, const void *key, size_t len,
                 void *value)
{
    return bytes_put(cache, NULL, owner, key, len, value, 1);
}

int wc_bytes_put_hint(wc_cache *cache, const wc_hint *hint, const void *key,
                      size_t len, void *value, uint32_t weight)
{
    if (hint == NULL)
        return WC_EINVAL;
    return bytes_put(cache, hint, NULL, key, len, value, weight);
}

int wc_bytes_remove(wc_cache *cache, wc_owner *owner, const void *key, size_t len)
{
    wc_bytes_key probe;
    int r = probe_init(&probe, cache, key, len);
    if (r != WC_OK)
        return r;
    return wc__remove(cache, owner, wc_hash_bytes(key, len, 0), &probe, NULL, NULL);
}
