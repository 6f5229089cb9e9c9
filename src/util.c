/*
 * util.c - status strings, versions and the default allocator.
 * Nothing here has state; every function is safe to call from any thread.
 */
#include "internal.h"

#include <stdlib.h>

const char *wc_version(void) { return WC_VERSION_STRING; }

unsigned wc_version_number(void) { return (unsigned)WC_VERSION_NUMBER; }

const char *wc_uthash_version(void) { return "none"; }

const char *wc_strerror(int status)
{
    switch (status) {
    case WC_OK: return "success";
    case WC_NOTFOUND: return "no entry for this owner and key";
    case WC_KEPT_KEY: return "stored; the replaced entry had the same key pointer, which the cache kept";
    case WC_KEPT_VALUE: return "stored; the replaced entry had the same value pointer, which the cache kept";
    case WC_KEPT_BOTH: return "stored; the replaced entry had the same key and value pointers, which the cache kept";
    case WC_ENOMEM: return "out of memory (an allocator hook returned NULL)";
    case WC_EINVAL: return "invalid argument (NULL pointer or value out of range)";
    case WC_ECALLBACK: return "the key equality callback reported an error";
    case WC_ETOOBIG: return "entry weight exceeds the cache's maximum weight";
    case WC_ECHANGED: return "the cache changed during the operation (by a callback, or under an iterator)";
    case WC_EBUSY: return "the cache is being freed (wc_cache_free was called, possibly from its own callback), or the call is not allowed from a callback";
    default: return "unknown status";
    }
}

const char *wc_evict_cause_name(wc_evict_cause cause)
{
    switch (cause) {
    case WC_EVICT_CAPACITY: return "capacity";
    case WC_EVICT_WEIGHT: return "weight";
    case WC_EVICT_OWNER: return "owner";
    case WC_EVICT_REMOVED: return "removed";
    case WC_EVICT_REPLACED: return "replaced";
    case WC_EVICT_CLEARED: return "cleared";
    case WC_EVICT_EXPIRED: return "expired";
    case WC_EVICT__COUNT: break;
    }
    return "unknown";
}

static void *default_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

const wc_allocator wc__default_allocator = {default_malloc, default_free, NULL};

void *wc__malloc(wc_cache *cache, size_t size)
{
    return cache->alloc.malloc(cache->alloc.ctx, size);
}

void wc__free(wc_cache *cache, void *ptr, size_t size)
{
    if (ptr != NULL)
        cache->alloc.free(cache->alloc.ctx, ptr, size);
}
