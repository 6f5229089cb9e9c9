/*
 * bench.c - wc_bench: micro-benchmarks of the weakcache C core against a bare
 * uthash table (the data structure the library is built on).
 *
 *   wc_bench [--quick | --callgrind[=N]]
 *
 * a) get-hit time at 1k, 64k and 1M entries, independent lookups: wc_get()
 *    (LRU, SIEVE, each also WC_THREAD_SAFE) with a precomputed 64-bit hash
 *    and integer keys (stored in the key pointer, or boxed in a malloc'ed
 *    uint64_t) vs HASH_FIND_BYHASHVALUE on a uthash table holding the same
 *    keys under the high half of the cache's own hashes (wc__debug_hash,
 *    same chains), plus uthash's delete+add move-to-front for reference.
 *    Random access order, interleaved rounds, medians.
 * a2) the same lookups made dependent (each probe waits for the previous
 *    hit's value): the latency of one hit.
 * e) hits with owners: three owner layouts x raw/mixed key hashes, with
 *    the index's longest probe run reported for every cell.
 * b) miss + insert + evict throughput on a full cache of 64k entries vs uthash
 *    doing HASH_FIND + HASH_ADD + HASH_DELETE of the oldest entry (the LRU
 *    pattern from the uthash user guide).
 * c) wc_owner_release() of an owner holding 1000 entries, in a cache with 1M
 *    other entries vs one with 1k other entries.
 * d) bookkeeping bytes per owned entry at 1M entries, from a counting
 *    wc_allocator (requested bytes and glibc chunk bytes); caller's key
 *    payloads are allocated with plain malloc and not counted.
 *
 * --callgrind=N runs only a) at N entries, one round, for
 * bench/c/callgrind.sh (instructions per hit). Build it with the release
 * preset for meaningful numbers:
 *   cmake --preset release && cmake --build --preset release --target wc_bench
 *   ./build/release/bench/c/wc_bench
 */
#define _POSIX_C_SOURCE 200809L

#include <weakcache.h>

#include "debug.h" /* wc__debug_hash, wc__debug_table (static library) */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GLIBC__)
#include <malloc.h>
#define HAVE_USABLE_SIZE 1
#else
#define HAVE_USABLE_SIZE 0
#endif

/* ------------------------------------------------------------------ */
/* Memory accounting shared by the counting wc_allocator and uthash's   */
/* own table allocations (uthash_malloc / uthash_free).                 */
/* ------------------------------------------------------------------ */

typedef struct counter {
    size_t live_req;   /* sum of requested sizes of live blocks */
    size_t live_chunk; /* sum of glibc chunk sizes of live blocks */
    size_t blocks;     /* live blocks */
    size_t size_mismatch; /* frees whose size differs from the request */
} counter;

static size_t chunk_size(void *p)
{
#if HAVE_USABLE_SIZE
    /* glibc: chunk = usable size + one 8-byte size header. */
    return malloc_usable_size(p) + sizeof(size_t);
#else
    (void)p;
    return 0;
#endif
}

static void *counted_malloc(counter *c, size_t size)
{
    void *p = malloc(size);
    if (p != NULL) {
        c->live_req += size;
        c->live_chunk += chunk_size(p);
        c->blocks++;
    }
    return p;
}

static void counted_free(counter *c, void *p, size_t size)
{
    if (p == NULL)
        return;
#if HAVE_USABLE_SIZE
    if (size > malloc_usable_size(p))
        c->size_mismatch++;
#endif
    c->live_req -= size;
    c->live_chunk -= chunk_size(p);
    c->blocks--;
    free(p);
}

static counter g_ut_counter; /* uthash's bucket arrays and table header */

#define uthash_malloc(sz) counted_malloc(&g_ut_counter, (sz))
#define uthash_free(ptr, sz) counted_free(&g_ut_counter, (ptr), (sz))
#include <uthash.h>

/* wc_allocator hooks */
static void *hook_malloc(void *ctx, size_t size)
{
    return counted_malloc(ctx, size);
}

static void hook_free(void *ctx, void *ptr, size_t size)
{
    counted_free(ctx, ptr, size);
}

/* ------------------------------------------------------------------ */
/* Utilities                                                          */
/* ------------------------------------------------------------------ */

static volatile uintptr_t g_sink; /* defeats dead-code elimination */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t mix64(uint64_t x) /* splitmix64 finaliser */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t g_rng = 0x2545f4914f6cdd1dULL;
static uint64_t rng_next(void)
{
    g_rng += 0x9e3779b97f4a7c15ULL;
    return mix64(g_rng);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "wc_bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void die_rc(const char *what, int rc)
{
    fprintf(stderr, "wc_bench: %s failed: %s (%d)\n", what, wc_strerror(rc), rc);
    exit(1);
}

static int int_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    return *(const uint64_t *)stored == *(const uint64_t *)probe;
}

static void free_boxed(void *ctx, void *key)
{
    (void)ctx;
    free(key);
}

static const wc_ops g_int_ops = {.equal = int_equal};
static const wc_ops g_boxed_ops = {.equal = int_equal, .free_key = free_boxed};

static wc_cache *new_cache_ex(size_t max_entries, const wc_ops *ops,
                              const wc_allocator *alloc, wc_policy policy,
                              unsigned flags)
{
    wc_config cfg;
    wc_config_init(&cfg);
    cfg.policy = policy;
    cfg.flags = flags;
    cfg.max_entries = max_entries;
    cfg.ops = ops;
    cfg.allocator = alloc;
    wc_cache *c;
    int rc = wc_cache_new(&cfg, &c);
    if (rc != WC_OK)
        die_rc("wc_cache_new", rc);
    return c;
}

static wc_cache *new_int_cache(size_t max_entries, const wc_ops *ops,
                               const wc_allocator *alloc)
{
    return new_cache_ex(max_entries, ops, alloc, WC_POLICY_LRU, 0);
}

typedef struct ut_node {
    uint64_t key;
    void *value;
    UT_hash_handle hh;
} ut_node;

static void ut_free_all(ut_node **head)
{
    ut_node *n, *tmp;
    HASH_ITER(hh, *head, n, tmp) {
        HASH_DELETE(hh, *head, n);
        free(n);
    }
}

static void print_cpu(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p != NULL)
                printf("cpu: %s", p + 2);
            break;
        }
    }
    fclose(f);
}

typedef struct params {
    int quick;
    int rounds;          /* interleaved rounds for a), b) */
    size_t lookups;      /* lookups per round in a) */
    size_t churn_ops;    /* operations per round in b) */
    int release_reps;    /* releases per cache in c) */
    size_t mem_entries;  /* entries in d) */
    int callgrind;       /* --callgrind[=N]: only a), N entries, one round */
    size_t callgrind_n;  /* N: 1000, 65536 (default) or 1000000 */
} params;

/* ------------------------------------------------------------------ */
/* a) get-hit latency                                                 */
/* ------------------------------------------------------------------ */

/* Four ways to answer the same stream of hits:
 *   UT_FIND    HASH_FIND_BYHASHVALUE only (the baseline: no LRU update);
 *   UT_LRU     HASH_FIND + HASH_DELETE + HASH_ADD, the move-to-front of the
 *              uthash user guide's LRU cache (reference only);
 *   WC_INTKEY  wc_get, integer keys stored in the key pointer itself
 *              ((void *)(uintptr_t)k), ops->equal compares the integers;
 *   WC_BOXED   wc_get, integer keys boxed in a malloc'ed uint64_t each,
 *              ops->equal dereferences both (one more memory access per hit).
 * The goal (<= 1.3x) is stated for WC_INTKEY / UT_FIND. */
enum { UT_FIND, UT_LRU, WC_INTKEY, WC_BOXED, WC_SIEVE, WC_LOCKED,
       WC_SIEVE_LOCKED, THROUGHPUT_VARIANTS,
       UT_FIND_LAT = THROUGHPUT_VARIANTS, WC_LRU_LAT, WC_SIEVE_LAT,
       WC_LRU_TS_LAT, WC_SIEVE_TS_LAT, HIT_VARIANTS };
static const char *const hit_names[HIT_VARIANTS] = {
    "uthash find", "uthash LRU", "wc LRU int", "wc LRU boxed", "wc SIEVE int",
    "wc LRU int+ts", "wc SIEVE int+ts",
    "uthash find", "wc LRU int", "wc SIEVE int", "wc LRU int+ts",
    "wc SIEVE int+ts"};
/* WC_SIEVE: WC_INTKEY on a WC_POLICY_SIEVE cache (the <= 1.3x goal);
 * WC_LOCKED / WC_SIEVE_LOCKED: the same caches created WC_THREAD_SAFE,
 * single-threaded: the cost of the lock on a hit. */

typedef struct hit_result {
    size_t n;
    double ns[HIT_VARIANTS];
    size_t buckets, ut_buckets;   /* the SIEVE cache's index slots, the baseline's buckets */
    size_t slot_bytes;            /* the SIEVE cache's slot width: 4 or 8 */
} hit_result;

typedef struct hit_setup {
    size_t n;
    const uint64_t *probe;   /* probe keys 1..n, contiguous */
    const uint64_t *hashes;  /* precomputed 64-bit hashes */
    const uint64_t *ut_hashes; /* high half of the cache's hash of each (wc__debug_hash) */
    const uint32_t *seq;     /* random access order */
    ut_node *find_head;      /* table for UT_FIND */
    ut_node *lru_head;       /* table for UT_LRU (reordered by the test) */
    wc_cache *intkey;
    wc_cache *boxed;
    wc_cache *wc[HIT_VARIANTS];   /* the int-key caches, by variant */
} hit_setup;

static int intkey_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    return (uintptr_t)stored == (uintptr_t)probe;
}

static const wc_ops g_intkey_ops = {.equal = intkey_equal};

/* One loop per kind of lookup, not inlined, so that callgrind counts each
 * one's instructions (bench/c/callgrind.sh). Every loop, the baseline's
 * included, does the same bench-side work per hit: read seq[j], then
 * hashes[i] and probe[i] (the baseline reads probe[i] through the key
 * compare), add the value to a sum.
 *
 * `dep` (the latency loops, a2): the index of each probe also depends on
 * the value the previous hit returned (AND-ed with a zero the compiler
 * cannot see), so a lookup cannot start before the previous one has
 * finished: time per hit is then the latency of one hit, where the
 * independent loops (a) measure how many hits overlap in the CPU. */
static volatile uintptr_t g_zero; /* always 0; the compiler cannot know */

static inline __attribute__((always_inline)) uintptr_t hits_wc_loop(
    wc_cache *c, const uint64_t *probe, const uint64_t *hashes,
    const uint32_t *seq, size_t m, size_t *missing, int dep)
{
    uintptr_t sum = 0, prev = 0, zero = dep ? g_zero : 0;
    for (size_t j = 0; j < m; j++) {
        uint32_t i = seq[j] + (uint32_t)(prev & zero);
        void *v;
        if (wc_get(c, NULL, hashes[i], (const void *)(uintptr_t)probe[i], &v) == WC_OK)
            sum += (uintptr_t)v;
        else
            (*missing)++;
        prev = (uintptr_t)v;
    }
    return sum;
}

static inline __attribute__((always_inline)) uintptr_t hits_ut_loop(
    ut_node *head, const uint64_t *probe, const uint64_t *hashes,
    const uint32_t *seq, size_t m, size_t *missing, int dep)
{
    uintptr_t sum = 0, prev = 0, zero = dep ? g_zero : 0;
    for (size_t j = 0; j < m; j++) {
        uint32_t i = seq[j] + (uint32_t)(prev & zero);
        ut_node *n;
        void *v = NULL;
        HASH_FIND_BYHASHVALUE(hh, head, &probe[i], sizeof(uint64_t),
                              (unsigned)hashes[i], n);
        if (n != NULL) {
            v = n->value;
            sum += (uintptr_t)v;
        } else {
            (*missing)++;
        }
        prev = (uintptr_t)v;
    }
    return sum;
}

#define HITS_WC_VARIANT(name, dep)                                            \
    __attribute__((noinline)) static uintptr_t name(wc_cache *c,              \
        const uint64_t *probe, const uint64_t *hashes, const uint32_t *seq,   \
        size_t m, size_t *missing)                                            \
    {                                                                         \
        return hits_wc_loop(c, probe, hashes, seq, m, missing, dep);          \
    }
HITS_WC_VARIANT(hits_wc_lru, 0)
HITS_WC_VARIANT(hits_wc_sieve, 0)
HITS_WC_VARIANT(hits_wc_lru_ts, 0)
HITS_WC_VARIANT(hits_wc_sieve_ts, 0)
HITS_WC_VARIANT(lat_wc_lru, 1)
HITS_WC_VARIANT(lat_wc_sieve, 1)
HITS_WC_VARIANT(lat_wc_lru_ts, 1)
HITS_WC_VARIANT(lat_wc_sieve_ts, 1)

__attribute__((noinline)) static uintptr_t hits_ut_find(ut_node *head,
    const uint64_t *probe, const uint64_t *hashes, const uint32_t *seq,
    size_t m, size_t *missing)
{
    return hits_ut_loop(head, probe, hashes, seq, m, missing, 0);
}

__attribute__((noinline)) static uintptr_t lat_ut_find(ut_node *head,
    const uint64_t *probe, const uint64_t *hashes, const uint32_t *seq,
    size_t m, size_t *missing)
{
    return hits_ut_loop(head, probe, hashes, seq, m, missing, 1);
}

__attribute__((noinline)) static uintptr_t hits_wc_boxed(wc_cache *c,
    const uint64_t *probe, const uint64_t *hashes, const uint32_t *seq,
    size_t m, size_t *missing)
{
    uintptr_t sum = 0;
    for (size_t j = 0; j < m; j++) {
        uint32_t i = seq[j];
        void *v;
        if (wc_get(c, NULL, hashes[i], &probe[i], &v) == WC_OK)
            sum += (uintptr_t)v;
        else
            (*missing)++;
    }
    return sum;
}

/* The int-key variants: the loop and the cache (s->wc[]) each one runs. */
typedef uintptr_t (*wc_loop_fn)(wc_cache *, const uint64_t *, const uint64_t *,
                                const uint32_t *, size_t, size_t *);
static const struct {
    wc_loop_fn loop;
    int cache;
} wc_loops[HIT_VARIANTS] = {
    [WC_INTKEY] = {hits_wc_lru, WC_INTKEY},
    [WC_SIEVE] = {hits_wc_sieve, WC_SIEVE},
    [WC_LOCKED] = {hits_wc_lru_ts, WC_LOCKED},
    [WC_SIEVE_LOCKED] = {hits_wc_sieve_ts, WC_SIEVE_LOCKED},
    [WC_LRU_LAT] = {lat_wc_lru, WC_INTKEY},
    [WC_SIEVE_LAT] = {lat_wc_sieve, WC_SIEVE},
    [WC_LRU_TS_LAT] = {lat_wc_lru_ts, WC_LOCKED},
    [WC_SIEVE_TS_LAT] = {lat_wc_sieve_ts, WC_SIEVE_LOCKED},
};

static double time_hits(hit_setup *s, int variant, size_t m)
{
    const uint64_t *probe = s->probe, *hashes = s->hashes;
    const uint32_t *seq = s->seq;
    uintptr_t sum = 0;
    size_t missing = 0;
    double t0 = now_ns();
    switch (variant) {
    case UT_FIND:
        sum = hits_ut_find(s->find_head, probe, s->ut_hashes, seq, m, &missing);
        break;
    case UT_LRU:
        for (size_t j = 0; j < m; j++) {
            uint32_t i = seq[j];
            ut_node *n;
            HASH_FIND_BYHASHVALUE(hh, s->lru_head, &probe[i], sizeof(uint64_t),
                                  (unsigned)s->ut_hashes[i], n);
            if (n != NULL) {
                HASH_DELETE(hh, s->lru_head, n);
                HASH_ADD_BYHASHVALUE(hh, s->lru_head, key, sizeof(uint64_t),
                                     (unsigned)s->ut_hashes[i], n);
                sum += (uintptr_t)n->value;
            } else {
                missing++;
            }
        }
        break;
    case UT_FIND_LAT:
        sum = lat_ut_find(s->find_head, probe, s->ut_hashes, seq, m, &missing);
        break;
    case WC_BOXED:
        sum = hits_wc_boxed(s->boxed, probe, hashes, seq, m, &missing);
        break;
    default:   /* the int-key caches */
        sum = wc_loops[variant].loop(s->wc[wc_loops[variant].cache], probe, hashes,
                                     seq, m, &missing);
        break;
    }
    double t = now_ns() - t0;
    if (missing) {
        fprintf(stderr, "wc_bench: %s lost %zu keys\n", hit_names[variant],
                missing);
        exit(1);
    }
    g_sink += sum;
    return t / (double)m;
}

static hit_result bench_get_hit(size_t n, const params *p)
{
    hit_result r;
    memset(&r, 0, sizeof r);
    r.n = n;
    uint64_t *probe = xmalloc(n * sizeof *probe);
    uint64_t *hashes = xmalloc(n * sizeof *hashes);
    uint64_t *ut_hashes = xmalloc(n * sizeof *ut_hashes);
    uint32_t *seq = xmalloc(p->lookups * sizeof *seq);
    for (size_t i = 0; i < n; i++) {
        probe[i] = i + 1; /* keys 1..n: never a NULL key pointer */
        hashes[i] = mix64(i + 1);
        /* The baseline tables get the high half of the hash the cache
         * computes for the same key (as spread as the cache's), so that
         * the comparison measures what wc_get does beyond HASH_FIND (the
         * hash mix included), not a better or worse spread. */
        ut_hashes[i] = wc__debug_hash(hashes[i], NULL) >> 32;
    }
    for (size_t j = 0; j < p->lookups; j++)
        seq[j] = (uint32_t)(rng_next() % n);

    hit_setup s;
    memset(&s, 0, sizeof s);
    s.n = n;
    s.probe = probe;
    s.hashes = hashes;
    s.ut_hashes = ut_hashes;
    s.seq = seq;
    s.intkey = new_int_cache(n, &g_intkey_ops, NULL);
    s.boxed = new_int_cache(n, &g_boxed_ops, NULL);
    s.wc[WC_INTKEY] = s.intkey;
    s.wc[WC_SIEVE] = new_cache_ex(n, &g_intkey_ops, NULL, WC_POLICY_SIEVE, 0);
    s.wc[WC_LOCKED] = new_cache_ex(n, &g_intkey_ops, NULL, WC_POLICY_LRU, WC_THREAD_SAFE);
    s.wc[WC_SIEVE_LOCKED] = new_cache_ex(n, &g_intkey_ops, NULL, WC_POLICY_SIEVE,
                                         WC_THREAD_SAFE);
    for (size_t i = 0; i < n; i++) {
        void *k = (void *)(uintptr_t)probe[i];
        int rc = WC_OK;
        for (int v = WC_INTKEY; v < HIT_VARIANTS && rc == WC_OK; v++)
            if (s.wc[v] != NULL)
                rc = wc_put(s.wc[v], NULL, hashes[i], k, k, 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
        uint64_t *box = xmalloc(sizeof *box); /* a caller's boxed key */
        *box = probe[i];
        rc = wc_put(s.boxed, NULL, hashes[i], box, box, 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
        for (int t = 0; t < 2; t++) {
            ut_node *node = xmalloc(sizeof *node);
            node->key = probe[i];
            node->value = node;
            if (t == 0)
                HASH_ADD_BYHASHVALUE(hh, s.find_head, key, sizeof(uint64_t),
                                     (unsigned)ut_hashes[i], node);
            else
                HASH_ADD_BYHASHVALUE(hh, s.lru_head, key, sizeof(uint64_t),
                                     (unsigned)ut_hashes[i], node);
        }
    }

    wc__table_info ti;
    wc__debug_table(s.wc[WC_SIEVE], &ti);
    r.buckets = ti.slots;
    r.slot_bytes = ti.slot_bytes;
    r.ut_buckets = s.find_head->hh.tbl->num_buckets;

    double *t[HIT_VARIANTS];
    for (int v = 0; v < HIT_VARIANTS; v++) {
        t[v] = xmalloc((size_t)p->rounds * sizeof *t[v]);
        if (!p->callgrind)
            time_hits(&s, v, p->lookups / 4 + 1); /* warm-up */
    }
    /* interleaved rounds; the order of the variants rotates every round */
    for (int k = 0; k < p->rounds; k++)
        for (int j = 0; j < HIT_VARIANTS; j++) {
            int v = (j + k) % HIT_VARIANTS;
            t[v][k] = time_hits(&s, v, p->lookups);
        }
    for (int v = 0; v < HIT_VARIANTS; v++) {
        r.ns[v] = median(t[v], p->rounds);
        free(t[v]);
    }

    ut_free_all(&s.find_head);
    ut_free_all(&s.lru_head);
    for (int v = WC_INTKEY; v < HIT_VARIANTS; v++)
        if (s.wc[v] != NULL)
            wc_cache_free(s.wc[v]);
    wc_cache_free(s.boxed);
    free(seq);
    free(hashes);
    free(ut_hashes);
    free(probe);
    return r;
}

/* ------------------------------------------------------------------ */
/* b) miss + insert + evict on a full cache                           */
/* ------------------------------------------------------------------ */

#define CHURN_CAPACITY 65536u
#define CHURN_POOL (4u * CHURN_CAPACITY) /* key slots, reused round-robin */

static double churn_ut(ut_node **head, uint64_t *next_id, size_t ops)
{
    size_t hits = 0;
    double t0 = now_ns();
    for (size_t j = 0; j < ops; j++) {
        uint64_t id = (*next_id)++;
        unsigned hv = (unsigned)mix64(id);
        ut_node *n;
        HASH_FIND_BYHASHVALUE(hh, *head, &id, sizeof id, hv, n);
        if (n != NULL) {
            hits++;
            continue;
        }
        n = xmalloc(sizeof *n);
        n->key = id;
        n->value = n;
        HASH_ADD_BYHASHVALUE(hh, *head, key, sizeof(uint64_t), hv, n);
        if (HASH_COUNT(*head) > CHURN_CAPACITY) {
            /* uthash user guide, "LRU cache": delete the oldest entry,
             * which is the first one in insertion order. */
            ut_node *e, *tmp;
            HASH_ITER(hh, *head, e, tmp) {
                HASH_DELETE(hh, *head, e);
                free(e);
                break;
            }
        }
    }
    double t = now_ns() - t0;
    g_sink += hits;
    return (double)ops / (t / 1e9);
}

static double churn_wc(wc_cache *cache, uint64_t *pool, uint64_t *next_id,
                       size_t ops)
{
    size_t hits = 0;
    double t0 = now_ns();
    for (size_t j = 0; j < ops; j++) {
        uint64_t id = (*next_id)++;
        uint64_t *slot = &pool[id % CHURN_POOL]; /* its old key was evicted */
        uint64_t h = mix64(id);
        void *v;
        *slot = id;
        if (wc_get(cache, NULL, h, slot, &v) == WC_OK) {
            hits++;
            continue;
        }
        int rc = wc_put(cache, NULL, h, slot, slot, 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
    }
    double t = now_ns() - t0;
    g_sink += hits;
    return (double)ops / (t / 1e9);
}

typedef struct churn_result {
    double ut_ops, wc_ops;
    uint64_t evictions;
} churn_result;

static churn_result bench_churn(const params *p)
{
    churn_result r = {0, 0, 0};
    uint64_t *pool = xmalloc(CHURN_POOL * sizeof *pool);
    wc_cache *cache = new_int_cache(CHURN_CAPACITY, &g_int_ops, NULL);
    ut_node *head = NULL;
    uint64_t wc_id = 0, ut_id = 0;

    /* fill both to capacity */
    churn_wc(cache, pool, &wc_id, CHURN_CAPACITY);
    churn_ut(&head, &ut_id, CHURN_CAPACITY);
    if (wc_cache_size(cache) != CHURN_CAPACITY ||
        HASH_COUNT(head) != CHURN_CAPACITY) {
        fprintf(stderr, "wc_bench: churn fill failed\n");
        exit(1);
    }
    /* warm-up */
    churn_wc(cache, pool, &wc_id, p->churn_ops / 4 + 1);
    churn_ut(&head, &ut_id, p->churn_ops / 4 + 1);

    double *ut = xmalloc((size_t)p->rounds * sizeof *ut);
    double *wc = xmalloc((size_t)p->rounds * sizeof *wc);
    for (int k = 0; k < p->rounds; k++) {
        if (k % 2 == 0) {
            ut[k] = churn_ut(&head, &ut_id, p->churn_ops);
            wc[k] = churn_wc(cache, pool, &wc_id, p->churn_ops);
        } else {
            wc[k] = churn_wc(cache, pool, &wc_id, p->churn_ops);
            ut[k] = churn_ut(&head, &ut_id, p->churn_ops);
        }
    }
    r.ut_ops = median(ut, p->rounds);
    r.wc_ops = median(wc, p->rounds);

    wc_stats st;
    wc_cache_stats(cache, &st);
    r.evictions = st.evictions[WC_EVICT_CAPACITY];
    if (st.size != CHURN_CAPACITY || st.hits != 0 ||
        r.evictions != wc_id - CHURN_CAPACITY) {
        fprintf(stderr, "wc_bench: churn: unexpected stats (size %zu, hits %"
                PRIu64 ", evictions %" PRIu64 ")\n", st.size, st.hits,
                r.evictions);
        exit(1);
    }

    free(ut);
    free(wc);
    ut_free_all(&head);
    wc_cache_free(cache);
    free(pool);
    return r;
}

/* ------------------------------------------------------------------ */
/* c) owner release                                                   */
/* ------------------------------------------------------------------ */

#define RELEASE_K 1000u

typedef struct release_setup {
    wc_cache *cache;
    uint64_t *keys;   /* others, then the owner's RELEASE_K keys */
    size_t others;
    wc_owner owner;
} release_setup;

static void release_init(release_setup *s, size_t others)
{
    s->others = others;
    s->cache = new_int_cache(0, &g_int_ops, NULL);
    s->keys = xmalloc((others + RELEASE_K) * sizeof *s->keys);
    for (size_t i = 0; i < others + RELEASE_K; i++)
        s->keys[i] = i;
    for (size_t i = 0; i < others; i++) {
        int rc = wc_put(s->cache, NULL, mix64(i), &s->keys[i], &s->keys[i], 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
    }
    wc_owner_init(&s->owner);
}

/* Fill the owner with RELEASE_K entries, then time its release (ns). */
static double release_once(release_setup *s)
{
    for (size_t j = 0; j < RELEASE_K; j++) {
        size_t i = s->others + j;
        int rc = wc_put(s->cache, &s->owner, mix64(i), &s->keys[i],
                        &s->keys[i], 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
    }
    double t0 = now_ns();
    int rc = wc_owner_release(&s->owner);
    double t = now_ns() - t0;
    if (rc != WC_OK)
        die_rc("wc_owner_release", rc);
    if (wc_cache_size(s->cache) != s->others) {
        fprintf(stderr, "wc_bench: release left %zu entries, expected %zu\n",
                wc_cache_size(s->cache), s->others);
        exit(1);
    }
    return t;
}

typedef struct release_result {
    double big_ns, small_ns; /* median time per release */
    size_t big, small;
} release_result;

static release_result bench_release(const params *p)
{
    release_result r = {0, 0, 1000000, 1000};
    release_setup big, small;
    release_init(&big, r.big);
    release_init(&small, r.small);
    double *tb = xmalloc((size_t)p->release_reps * sizeof *tb);
    double *ts = xmalloc((size_t)p->release_reps * sizeof *ts);
    release_once(&big); /* warm-up */
    release_once(&small);
    for (int k = 0; k < p->release_reps; k++) {
        if (k % 2 == 0) {
            tb[k] = release_once(&big);
            ts[k] = release_once(&small);
        } else {
            ts[k] = release_once(&small);
            tb[k] = release_once(&big);
        }
    }
    r.big_ns = median(tb, p->release_reps);
    r.small_ns = median(ts, p->release_reps);
    free(tb);
    free(ts);
    wc_cache_free(big.cache);
    wc_cache_free(small.cache);
    free(big.keys);
    free(small.keys);
    return r;
}

/* ------------------------------------------------------------------ */
/* d) memory per entry                                                */
/* ------------------------------------------------------------------ */

typedef struct mem_result {
    size_t n, owners;
    double wc_req, wc_chunk, wc_blocks; /* per entry */
    double ut_req, ut_chunk;            /* per entry, uthash reference */
    double key_req, key_chunk;          /* caller payload per entry (excluded) */
    int leak_free;
} mem_result;

static mem_result bench_memory(const params *p)
{
    mem_result r;
    memset(&r, 0, sizeof r);
    r.n = p->mem_entries;
    r.owners = r.n / 1000 ? r.n / 1000 : 1;
    size_t per_owner = r.n / r.owners;

    counter cnt = {0, 0, 0, 0};
    wc_allocator alloc = {hook_malloc, hook_free, &cnt};
    wc_owner *owners = xmalloc(r.owners * sizeof *owners); /* caller storage */
    uint64_t **boxes = xmalloc(r.n * sizeof *boxes);
    for (size_t o = 0; o < r.owners; o++)
        wc_owner_init(&owners[o]);

    wc_cache *cache = new_int_cache(0, &g_boxed_ops, &alloc);
    size_t base_req = cnt.live_req, base_chunk = cnt.live_chunk;
    size_t base_blocks = cnt.blocks;
    size_t key_req = 0, key_chunk = 0;
    for (size_t i = 0; i < r.n; i++) {
        uint64_t *box = xmalloc(sizeof *box); /* payload: plain malloc */
        *box = i;
        boxes[i] = box;
        key_req += sizeof *box;
        key_chunk += chunk_size(box);
        int rc = wc_put(cache, &owners[(i / per_owner) % r.owners], mix64(i),
                        box, box, 1);
        if (rc != WC_OK)
            die_rc("wc_put", rc);
    }
    r.wc_req = (double)(cnt.live_req - base_req) / (double)r.n;
    r.wc_chunk = (double)(cnt.live_chunk - base_chunk) / (double)r.n;
    r.wc_blocks = (double)(cnt.blocks - base_blocks) / (double)r.n;
    r.key_req = (double)key_req / (double)r.n;
    r.key_chunk = (double)key_chunk / (double)r.n;

    for (size_t o = 0; o < r.owners; o++)
        wc_owner_release(&owners[o]); /* frees the boxed keys via free_key */
    wc_cache_free(cache);
    r.leak_free = cnt.live_req == 0 && cnt.blocks == 0 && cnt.size_mismatch == 0;
    free(owners);
    free(boxes);

    /* uthash reference: the same keys in a bare table (node = key + value +
     * UT_hash_handle, plus its bucket array); no LRU order, no owners. */
    counter nodes = {0, 0, 0, 0};
    g_ut_counter = nodes;
    ut_node *head = NULL;
    for (size_t i = 0; i < r.n; i++) {
        ut_node *n = counted_malloc(&nodes, sizeof *n);
        if (n == NULL) {
            fprintf(stderr, "wc_bench: out of memory\n");
            exit(1);
        }
        n->key = i;
        n->value = NULL;
        HASH_ADD_BYHASHVALUE(hh, head, key, sizeof(uint64_t),
                             (unsigned)mix64(i), n);
    }
    r.ut_req = (double)(nodes.live_req + g_ut_counter.live_req) / (double)r.n;
    r.ut_chunk = (double)(nodes.live_chunk + g_ut_counter.live_chunk) / (double)r.n;
    ut_node *n, *tmp;
    HASH_ITER(hh, head, n, tmp) {
        HASH_DELETE(hh, head, n);
        counted_free(&nodes, n, sizeof *n);
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* e) hits at scale: owner layouts x raw / mixed hashes                */
/* ------------------------------------------------------------------ */

/* Caches of N entries made as 1 owner x N keys, N/100 owners x 100 keys,
 * N owners x 1 key; keys are small ints 0..keys-1 per owner with the raw
 * hash (h = key, as Python's hash(int)) or a premixed one. Hits in random
 * order; SIEVE and LRU caches vs a bare uthash table of the same N nodes
 * keyed the same way (its hashv: the raw or mixed key hash of the node's
 * global index, so it is always a well-spread table: the baseline). The
 * longest probe run of every cache is reported. */
typedef struct scale_cell {
    double ut, lru, sieve;
    uint64_t longest_probe;
    size_t slot_bytes;   /* the wider of the two indexes' slots: 4 or 8 */
} scale_cell;

/* Per hit: seq[j], then two loads indexed by it (the entry's owner and
 * caller hash), as the baseline loop reads its hashv and key. */
__attribute__((noinline)) static uintptr_t hits_owned(wc_cache *c,
    wc_owner *const *owner_of, const uint64_t *hash_of, const uint32_t *seq,
    size_t m, size_t *missing)
{
    uintptr_t sum = 0;
    for (size_t j = 0; j < m; j++) {
        uint32_t i = seq[j];
        void *v;
        if (wc_get(c, owner_of[i], hash_of[i], (const void *)(uintptr_t)(i + 1),
                   &v) == WC_OK)
            sum += (uintptr_t)v;
        else
            (*missing)++;
    }
    return sum;
}

/* A probe run longer than this means colliding hashes (with a good spread
 * the longest run at 1M entries is a few dozen slots). */
#define MAX_SANE_PROBE 128

static scale_cell bench_scale_cell(size_t n, size_t per, int raw, const params *p)
{
    scale_cell r = {0, 0, 0, 0, 0};
    size_t nowners = (n + per - 1) / per, m = p->lookups / 2;
    wc_owner *owners = xmalloc(nowners * sizeof *owners);
    uint32_t *seq = xmalloc(m * sizeof *seq);
    uint64_t *keys = xmalloc(n * sizeof *keys), *hv = xmalloc(n * sizeof *hv);
    wc_owner **owner_of = xmalloc(n * sizeof *owner_of);
    uint64_t *hash_of = xmalloc(n * sizeof *hash_of);
    wc_cache *lru = new_cache_ex(0, &g_intkey_ops, NULL, WC_POLICY_LRU, 0);
    wc_cache *sieve = new_cache_ex(0, &g_intkey_ops, NULL, WC_POLICY_SIEVE, 0);
    ut_node *head = NULL;
    for (size_t o = 0; o < nowners; o++)
        wc_owner_init(&owners[o]);
    for (size_t i = 0; i < n; i++) {
        size_t o = i / per, k = i % per;
        uint64_t h = raw ? (uint64_t)k : mix64(k);
        void *key = (void *)(uintptr_t)(i + 1);
        if (wc_put(lru, &owners[o], h, key, key, 1) != WC_OK ||
            wc_put(sieve, &owners[o], h, key, key, 1) != WC_OK)
            die_rc("wc_put", WC_ENOMEM);
        keys[i] = i + 1;
        hv[i] = raw ? (uint64_t)i : mix64(i);
        owner_of[i] = &owners[o];
        hash_of[i] = h;
        ut_node *node = xmalloc(sizeof *node);
        node->key = i + 1;
        node->value = node;
        HASH_ADD_BYHASHVALUE(hh, head, key, sizeof(uint64_t), (unsigned)hv[i], node);
    }
    for (size_t j = 0; j < m; j++)
        seq[j] = (uint32_t)(rng_next() % n);
    double t[3][3];
    for (int round = 0; round < 3; round++) {
        size_t missing = 0;
        double t0 = now_ns();
        g_sink += hits_ut_find(head, keys, hv, seq, m, &missing);
        double t1 = now_ns();
        g_sink += hits_owned(lru, owner_of, hash_of, seq, m, &missing);
        double t2 = now_ns();
        g_sink += hits_owned(sieve, owner_of, hash_of, seq, m, &missing);
        double t3 = now_ns();
        if (missing) {
            fprintf(stderr, "wc_bench: scale cell lost %zu keys\n", missing);
            exit(1);
        }
        t[0][round] = (t1 - t0) / (double)m;
        t[1][round] = (t2 - t1) / (double)m;
        t[2][round] = (t3 - t2) / (double)m;
    }
    r.ut = median(t[0], 3);
    r.lru = median(t[1], 3);
    r.sieve = median(t[2], 3);
    wc_stats a, b;
    wc_cache_stats(lru, &a);
    wc_cache_stats(sieve, &b);
    r.longest_probe = a.longest_probe > b.longest_probe ? a.longest_probe : b.longest_probe;
    wc__table_info ta, tb;
    wc__debug_table(lru, &ta);
    wc__debug_table(sieve, &tb);
    r.slot_bytes = ta.slot_bytes > tb.slot_bytes ? ta.slot_bytes : tb.slot_bytes;
    wc_cache_free(lru);
    wc_cache_free(sieve);
    ut_free_all(&head);
    free(owners);
    free(seq);
    free(keys);
    free(hv);
    free(owner_of);
    free(hash_of);
    return r;
}

/* ------------------------------------------------------------------ */

static const char *verdict(double ratio, double goal)
{
    return ratio <= goal ? "ok" : "HIGH";
}

int main(int argc, char **argv)
{
    params p;
    memset(&p, 0, sizeof p);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            p.quick = 1;
        } else if (strcmp(argv[i], "--callgrind") == 0) {
            p.callgrind = 1;
            p.callgrind_n = 65536;
        } else if (strncmp(argv[i], "--callgrind=", 12) == 0) {
            p.callgrind = 1;
            p.callgrind_n = strtoul(argv[i] + 12, NULL, 10);
            if (p.callgrind_n != 1000 && p.callgrind_n != 65536 &&
                p.callgrind_n != 1000000) {
                fprintf(stderr, "%s: --callgrind=N: N is 1000, 65536 or 1000000\n",
                        argv[0]);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--quick | --callgrind[=N]]\n", argv[0]);
            return 2;
        }
    }
    if (p.callgrind) {
        /* run under valgrind --tool=callgrind by bench/c/callgrind.sh: one
         * round of each hit loop, no warm-up, nothing else */
        p.rounds = 1;
        p.lookups = 100000;
    } else if (p.quick) {
        p.rounds = 3;
        p.lookups = 200000;
        p.churn_ops = 200000;
        p.release_reps = 21;
        p.mem_entries = 1000000;
    } else {
        p.rounds = 9;
        p.lookups = 1000000;
        p.churn_ops = 1000000;
        p.release_reps = 201;
        p.mem_entries = 1000000;
    }

    printf("wc_bench: weakcache %s (uthash %s)%s\n", wc_version(),
           wc_uthash_version(), p.quick ? ", --quick" : "");
    print_cpu();
#ifdef NDEBUG
    printf("bench compiled with NDEBUG\n");
#else
    printf("bench compiled without NDEBUG (use the release preset for real numbers)\n");
#endif

    /* a) */
    printf("\na) get-hit time, independent lookups (random order, %zu lookups x %d "
           "interleaved rounds, median; the baseline table has the cache's hash "
           "values)\n", p.lookups, p.rounds);
    printf("   %-8s", "entries");
    for (int v = 0; v < THROUGHPUT_VARIANTS; v++)
        printf(" %13s", hit_names[v]);
    printf("   %-9s %-9s %-9s %-9s %s\n", "LRU/find", "SIEVE/find", "boxed/find",
           "LRU ts/LRU", "SIEVE ts/SIEVE");
    static const size_t sizes[] = {1000, 65536, 1000000};
    enum { NSIZES = sizeof sizes / sizeof sizes[0] };
    hit_result results[NSIZES];
    int have[NSIZES] = {0};
    double worst_hit = 0, worst_sieve = 0, worst_lock = 0, worst_lock_sieve = 0;
    double worst_sieve_lat = 0;
    for (size_t sz = 0; sz < NSIZES; sz++) {
        if (p.callgrind && sizes[sz] != p.callgrind_n)
            continue;
        hit_result r = bench_get_hit(sizes[sz], &p);
        results[sz] = r;
        have[sz] = 1;
        double ratio = r.ns[WC_INTKEY] / r.ns[UT_FIND];
        double sratio = r.ns[WC_SIEVE] / r.ns[UT_FIND];
        double lock = r.ns[WC_LOCKED] / r.ns[WC_INTKEY];
        double lock_s = r.ns[WC_SIEVE_LOCKED] / r.ns[WC_SIEVE];
        if (ratio > worst_hit)
            worst_hit = ratio;
        if (sratio > worst_sieve)
            worst_sieve = sratio;
        if (lock > worst_lock)
            worst_lock = lock;
        if (lock_s > worst_lock_sieve)
            worst_lock_sieve = lock_s;
        printf("   %-8zu", r.n);
        for (int v = 0; v < THROUGHPUT_VARIANTS; v++)
            printf(" %10.1f ns", r.ns[v]);
        printf("   %5.2fx    %5.2fx %-4s %5.2fx     %5.2fx      %5.2fx\n", ratio,
               sratio, verdict(sratio, 1.3), r.ns[WC_BOXED] / r.ns[UT_FIND],
               lock, lock_s);
        printf("   %-8s index slots: %zu of %zu bytes (uthash baseline: %zu buckets)\n",
               "", r.buckets, r.slot_bytes, r.ut_buckets);
        fflush(stdout);
    }
    if (p.callgrind)
        return 0;
    printf("\na2) get-hit latency, dependent lookups (each probe waits for the "
           "previous hit's value; same tables, rounds and order)\n");
    printf("   %-8s %13s %13s %13s %15s %15s   %-9s %-10s %-10s %s\n", "entries",
           hit_names[UT_FIND_LAT], hit_names[WC_LRU_LAT], hit_names[WC_SIEVE_LAT],
           hit_names[WC_LRU_TS_LAT], hit_names[WC_SIEVE_TS_LAT], "LRU/find",
           "SIEVE/find", "LRU ts/LRU", "SIEVE ts/SIEVE");
    for (size_t sz = 0; sz < NSIZES; sz++) {
        const hit_result *r = &results[sz];
        if (!have[sz])
            continue;
        double lr = r->ns[WC_LRU_LAT] / r->ns[UT_FIND_LAT];
        double sr = r->ns[WC_SIEVE_LAT] / r->ns[UT_FIND_LAT];
        if (sr > worst_sieve_lat)
            worst_sieve_lat = sr;
        printf("   %-8zu %10.1f ns %10.1f ns %10.1f ns %12.1f ns %12.1f ns   %5.2fx    "
               "%5.2fx %-4s %5.2fx      %5.2fx\n", r->n, r->ns[UT_FIND_LAT],
               r->ns[WC_LRU_LAT], r->ns[WC_SIEVE_LAT], r->ns[WC_LRU_TS_LAT],
               r->ns[WC_SIEVE_TS_LAT], lr, sr, verdict(sr, 1.3),
               r->ns[WC_LRU_TS_LAT] / r->ns[WC_LRU_LAT],
               r->ns[WC_SIEVE_TS_LAT] / r->ns[WC_SIEVE_LAT]);
    }
    printf("   thread-safe option (WC_THREAD_SAFE, uncontended lock): hit time x%.2f "
           "(LRU), x%.2f (SIEVE), worst over the sizes\n", worst_lock, worst_lock_sieve);

    /* e) */
    printf("\ne) hits at scale, wc_get with owners (%zu lookups x 3 rounds, median ns; "
           "raw = hash(k) == k)\n", p.lookups / 2);
    printf("   %-8s %-22s %-6s %10s %10s %10s %9s %9s  %s\n", "entries", "layout", "hash",
           "uthash", "wc LRU", "wc SIEVE", "LRU/ut", "SIEVE/ut", "probe, slot bytes");
    uint64_t longest = 0;
    static char longest_buf[96];
    for (size_t sz = 0; sz < sizeof sizes / sizeof sizes[0]; sz++) {
        size_t n = sizes[sz];
        size_t pers[3] = {n, 100, 1};
        const char *names[3] = {"1 owner x N keys", "N/100 owners x 100", "N owners x 1 key"};
        for (int l = 0; l < 3; l++) {
            for (int raw = 1; raw >= 0; raw--) {
                scale_cell c = bench_scale_cell(n, pers[l], raw, &p);
                printf("   %-8zu %-22s %-6s %7.1f ns %7.1f ns %7.1f ns %8.2fx %8.2fx  %llu, %zu\n",
                       n, names[l], raw ? "raw" : "mixed", c.ut, c.lru, c.sieve,
                       c.lru / c.ut, c.sieve / c.ut, (unsigned long long)c.longest_probe,
                       c.slot_bytes);
                if (c.longest_probe > longest) {
                    longest = c.longest_probe;
                    snprintf(longest_buf, sizeof longest_buf, "%zu, %s, %s", n,
                             names[l], raw ? "raw" : "mixed");
                }
                fflush(stdout);
            }
        }
    }
    printf("   longest probe run (slots, high-water mark of wc_stats): %llu, in %s%s\n",
           (unsigned long long)longest, longest_buf,
           longest > MAX_SANE_PROBE ? " - TOO LONG: the hashes collide" : "");

    /* b) */
    printf("\nb) miss + insert + evict, full cache of %u entries (%zu ops x %d "
           "rounds, median)\n", CHURN_CAPACITY, p.churn_ops, p.rounds);
    churn_result cr = bench_churn(&p);
    printf("   uthash find+add+delete-oldest: %8.2f Mops/s (%6.1f ns/op)\n",
           cr.ut_ops / 1e6, 1e9 / cr.ut_ops);
    printf("   weakcache get-miss+put+evict:  %8.2f Mops/s (%6.1f ns/op)\n",
           cr.wc_ops / 1e6, 1e9 / cr.wc_ops);
    printf("   ratio (time per op): %.2fx; %" PRIu64 " capacity evictions\n",
           cr.ut_ops / cr.wc_ops, cr.evictions);
    fflush(stdout);

    /* c) */
    printf("\nc) wc_owner_release of an owner holding %u entries (%d reps, "
           "median)\n", RELEASE_K, p.release_reps);
    release_result rr = bench_release(&p);
    double rel_ratio = rr.big_ns / rr.small_ns;
    printf("   among %7zu other entries: %9.1f us/release (%5.1f ns/entry)\n",
           rr.small, rr.small_ns / 1e3, rr.small_ns / RELEASE_K);
    printf("   among %7zu other entries: %9.1f us/release (%5.1f ns/entry)\n",
           rr.big, rr.big_ns / 1e3, rr.big_ns / RELEASE_K);
    printf("   ratio 1M/1k: %.2fx  %s\n", rel_ratio, verdict(rel_ratio, 1.3));
    fflush(stdout);

    /* d) */
    printf("\nd) bookkeeping memory per entry with an owner (%zu entries)\n",
           p.mem_entries);
    mem_result mr = bench_memory(&p);
    printf("   %zu owners x %zu entries; sizeof(wc_owner) = %zu B of caller "
           "storage per owner (not counted)\n", mr.owners, mr.n / mr.owners,
           sizeof(wc_owner));
    printf("   weakcache, requested bytes:        %6.1f B/entry (%.2f blocks/entry)\n",
           mr.wc_req, mr.wc_blocks);
#if HAVE_USABLE_SIZE
    printf("   weakcache, glibc chunk bytes:      %6.1f B/entry\n", mr.wc_chunk);
#endif
    printf("   uthash reference, requested bytes: %6.1f B/entry (node %zu B + buckets; no LRU, no owners)\n",
           mr.ut_req, sizeof(ut_node));
#if HAVE_USABLE_SIZE
    printf("   uthash reference, chunk bytes:     %6.1f B/entry\n", mr.ut_chunk);
#endif
    printf("   caller key payload (excluded):     %6.1f B/entry requested, "
           "%.1f B/entry chunk\n", mr.key_req, mr.key_chunk);
    printf("   allocator hooks balanced after free: %s\n",
           mr.leak_free ? "yes" : "NO");

    printf("\nsummary: LRU get-hit worst ratio %.2fx, release ratio "
           "%.2fx (goal <= 1.3x), %.1f B/entry bookkeeping, longest probe run %llu%s\n",
           worst_hit, rel_ratio, mr.wc_req, (unsigned long long)longest,
           longest > MAX_SANE_PROBE ? " (TOO LONG)" : "");
    printf("sieve get-hit worst ratio %.2fx (independent lookups), %.2fx "
           "(dependent lookups)\n", worst_sieve, worst_sieve_lat);
    return mr.leak_free ? 0 : 1;
}
