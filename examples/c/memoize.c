/*
 * memoize.c - memoize an expensive function of a string with the bytes API.
 *
 * slow_fingerprint() stands for any costly pure computation (parsing, a
 * database query, a rendering step) keyed by a string. The same stream of
 * requests is answered twice: once calling the function every time, once
 * through a small weakcache bytes cache. The program prints how many times
 * the function ran, the cache's hit/miss counters and both timings, and
 * checks that the cached answers are identical.
 *
 * Build: see examples/c/CMakeLists.txt, or
 *   cc -std=c11 memoize.c $(pkg-config --cflags --libs weakcache) -o memoize
 */
#include <weakcache.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_REQUESTS 60
#define CACHE_ENTRIES 8

static unsigned long g_calls; /* how many times the expensive function ran */

/* The expensive function: a deliberately slow, deterministic digest. */
static uint64_t slow_fingerprint(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    g_calls++;
    for (uint64_t round = 0; round < 60000; round++) {
        for (size_t i = 0; i < len; i++) {
            h ^= (unsigned char)s[i];
            h *= 1099511628211ULL;
        }
        h ^= h >> 29;
        h += round;
    }
    return h;
}

/* The memoized version: look up, compute on a miss, remember the result.
 * Returns WC_OK or a negative wc status. */
static int cached_fingerprint(wc_cache *cache, const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    void *value;
    int rc = wc_bytes_get(cache, NULL, s, len, &value);
    if (rc == WC_OK) {
        *out = *(const uint64_t *)value;
        return WC_OK;
    }
    if (rc != WC_NOTFOUND)
        return rc;

    uint64_t *box = malloc(sizeof *box);
    if (box == NULL)
        return WC_ENOMEM;
    *box = slow_fingerprint(s, len);
    *out = *box;
    rc = wc_bytes_put(cache, NULL, s, len, box); /* the cache takes `box` */
    if (rc != WC_OK)
        free(box); /* on failure the value stays ours */
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(void)
{
    static const char *const words[] = {
        "alpha", "bravo", "charlie", "delta", "echo",
        "foxtrot", "golf", "hotel", "india", "juliett",
    };
    enum { N_WORDS = sizeof words / sizeof words[0] };

    /* A skewed, deterministic request stream: low-numbered words are hot. */
    const char *requests[N_REQUESTS];
    uint32_t rng = 12345;
    for (int i = 0; i < N_REQUESTS; i++) {
        rng = rng * 1103515245u + 12345u;
        unsigned r = (rng >> 16) % 100;
        unsigned w = r < 50 ? r % 3 : r < 80 ? 3 + r % 3 : 6 + r % 4;
        requests[i] = words[w];
    }

    printf("memoize: %d requests over %d distinct keys, cache of %d entries\n",
           N_REQUESTS, (int)N_WORDS, CACHE_ENTRIES);

    /* 1. No cache. */
    uint64_t plain[N_REQUESTS];
    g_calls = 0;
    double t0 = now_ms();
    for (int i = 0; i < N_REQUESTS; i++)
        plain[i] = slow_fingerprint(requests[i], strlen(requests[i]));
    double t_plain = now_ms() - t0;
    unsigned long calls_plain = g_calls;

    /* 2. Through the cache. Values are malloc'ed uint64_t, released by free. */
    wc_cache *cache;
    int rc = wc_bytes_cache_new(CACHE_ENTRIES, free, NULL, &cache);
    if (rc != WC_OK) {
        fprintf(stderr, "wc_bytes_cache_new: %s\n", wc_strerror(rc));
        return 1;
    }
    g_calls = 0;
    int mismatches = 0;
    t0 = now_ms();
    for (int i = 0; i < N_REQUESTS; i++) {
        uint64_t v;
        rc = cached_fingerprint(cache, requests[i], &v);
        if (rc != WC_OK) {
            fprintf(stderr, "cached_fingerprint(%s): %s\n", requests[i],
                    wc_strerror(rc));
            wc_cache_free(cache);
            return 1;
        }
        if (v != plain[i])
            mismatches++;
    }
    double t_cached = now_ms() - t0;
    unsigned long calls_cached = g_calls;

    wc_stats st;
    wc_cache_stats(cache, &st);

    printf("  uncached: %3lu calls of slow_fingerprint, %8.2f ms\n",
           calls_plain, t_plain);
    printf("  cached:   %3lu calls of slow_fingerprint, %8.2f ms (%.1fx faster)\n",
           calls_cached, t_cached, t_cached > 0 ? t_plain / t_cached : 0.0);
    printf("  stats: hits=%llu misses=%llu inserts=%llu evictions(%s)=%llu "
           "size=%zu/%zu\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.inserts,
           wc_evict_cause_name(WC_EVICT_CAPACITY),
           (unsigned long long)st.evictions[WC_EVICT_CAPACITY], st.size,
           st.max_entries);
    printf("  hit rate: %.1f%%\n",
           100.0 * (double)st.hits / (double)(st.hits + st.misses));

    int ok = mismatches == 0
          && st.hits + st.misses == N_REQUESTS
          && st.misses == calls_cached
          && st.inserts == calls_cached
          && st.size <= CACHE_ENTRIES
          && calls_cached < calls_plain;
    wc_cache_free(cache);

    if (!ok) {
        printf("memoize: FAILED (mismatches=%d)\n", mismatches);
        return 1;
    }
    printf("memoize: OK\n");
    return 0;
}
