/*
 * trace_sim.c - replay a key trace through a weakcache cache and print the
 * miss ratio: the C half of bench/sieve_miss_ratio.py.
 *
 *   wc_trace_sim lru|sieve CAPACITY < trace.bin
 *
 * The trace is a sequence of native-endian uint64 keys. Each request is
 * wc_get; on a miss wc_put (the memoization pattern: compute, then store).
 * Keys are stored in the key pointer (key + 1) and hashed raw (hash = key),
 * the unmixed small-int case. Prints "requests misses miss_ratio longest_probe".
 */
#include <weakcache.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    wc_config cfg;
    wc_cache *c;
    wc_stats st;
    uint64_t buf[4096];
    size_t n;
    unsigned long long requests = 0, misses = 0;

    if (argc != 3 || (strcmp(argv[1], "lru") != 0 && strcmp(argv[1], "sieve") != 0)) {
        fprintf(stderr, "usage: %s lru|sieve CAPACITY < trace.bin\n", argv[0]);
        return 2;
    }
    wc_config_init(&cfg);
    cfg.max_entries = (size_t)strtoull(argv[2], NULL, 10);
    cfg.policy = strcmp(argv[1], "sieve") == 0 ? WC_POLICY_SIEVE : WC_POLICY_LRU;
    if (wc_cache_new(&cfg, &c) != WC_OK)
        return 1;
    while ((n = fread(buf, sizeof buf[0], sizeof buf / sizeof buf[0], stdin)) > 0) {
        size_t i;
        for (i = 0; i < n; i++) {
            void *key = (void *)(uintptr_t)(buf[i] + 1), *v;
            requests++;
            if (wc_get(c, NULL, buf[i], key, &v) == WC_NOTFOUND) {
                misses++;
                if (wc_put(c, NULL, buf[i], key, key, 1) < 0)
                    return 1;
            }
        }
    }
    wc_cache_stats(c, &st);
    printf("%llu %llu %.6f %llu\n", requests, misses,
           requests ? (double)misses / (double)requests : 0.0,
           (unsigned long long)st.longest_probe);
    wc_cache_free(c);
    return 0;
}
