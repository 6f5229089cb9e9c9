/*
 * testutil.h - helpers shared by the C test suites (static inline only).
 *
 *  - tu_alloc: a counting wc_allocator. It tracks live blocks and bytes,
 *    checks that `free` gets the size that was requested, and can refuse the
 *    Nth allocation from now (one shot) or every allocation.
 *  - tu_box: "boxed" keys and values, small heap objects with an int payload.
 *    The cache releases them through the ops callbacks of a tu_env; a box is
 *    only marked freed there (its memory lives until tu_env_destroy), so the
 *    tests can prove that every key and value the cache took was released
 *    exactly once and never used after release, without touching freed
 *    memory.
 *  - tu_env: the ops_ctx of a cache. It implements every wc_ops callback,
 *    counts calls, records evictions, can make `equal` fail, and can run a
 *    test-supplied re-entrant action (a hook) from any callback.
 */
#ifndef WC_TESTUTIL_H
#define WC_TESTUTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <check.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weakcache.h"

/* An assertion for hot loops. check's ck_assert_* record the location of
 * every passing assertion (a write to the runner's pipe or file), which
 * makes assertion-heavy loops very slow; this only reports failures. */
#define TU_REQUIRE(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond))                                                          \
            ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)

/* Integer equality for hot loops (see TU_REQUIRE). */
#define TU_REQUIRE_EQ(a, b)                                                   \
    do {                                                                      \
        long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);             \
        if (tu_a_ != tu_b_)                                                   \
            ck_abort_msg("Assertion '%s == %s' failed: %lld != %lld", #a, #b, \
                         tu_a_, tu_b_);                                       \
    } while (0)

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

/* Quick mode: fewer randomized iterations. On when WC_TEST_QUICK is set to
 * anything but "0" (run_valgrind.sh sets it), or when check runs without
 * fork (CK_FORK=no, the way valgrind runs use). */
static inline int tu_quick(void)
{
    const char *q = getenv("WC_TEST_QUICK");
    const char *f = getenv("CK_FORK");
    if (q != NULL && q[0] != '\0' && strcmp(q, "0") != 0)
        return 1;
    if (f != NULL && strcmp(f, "no") == 0)
        return 1;
    return 0;
}

static inline long tu_scale(long normal, long quick)
{
    return tu_quick() ? quick : normal;
}

/* Monotonic time in seconds. */
static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: PRNG step and a good integer hash. */
static inline uint64_t tu_mix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

typedef struct tu_rng {
    uint64_t state;
} tu_rng;

static inline uint64_t tu_rng_next(tu_rng *r)
{
    r->state += UINT64_C(0x9E3779B97F4A7C15);
    return tu_mix64(r->state);
}

/* Uniform-ish integer in [0, n). n > 0. */
static inline uint32_t tu_rng_below(tu_rng *r, uint32_t n)
{
    return (uint32_t)(tu_rng_next(r) % n);
}

/* Base seed: WC_TEST_SEED if set, else a fixed default (reproducible). */
static inline uint64_t tu_base_seed(void)
{
    const char *s = getenv("WC_TEST_SEED");
    if (s != NULL && s[0] != '\0')
        return (uint64_t)strtoull(s, NULL, 0);
    return UINT64_C(20240601);
}

/* ------------------------------------------------------------------ */
/* Counting allocator                                                  */
/* ------------------------------------------------------------------ */

#define TU_ALLOC_MAGIC 0x5EEDC0DEu
#define TU_ALLOC_DEAD 0xDEADBEEFu

typedef union tu_alloc_hdr {
    struct {
        size_t size;
        unsigned magic;
    } h;
    max_align_t align; /* keeps the user block maximally aligned */
} tu_alloc_hdr;

typedef struct tu_alloc {
    wc_allocator hooks;  /* pass &a->hooks as the config's allocator */
    size_t live_blocks;
    size_t live_bytes;
    size_t n_malloc;     /* successful allocations */
    size_t n_free;
    long fail_at;        /* > 0: the fail_at-th allocation from now fails */
    int fail_all;        /* every allocation fails while set */
    size_t n_failed;     /* allocations refused */
    size_t bad_frees;    /* NULL, wrong size, or not ours / already freed */
} tu_alloc;

static inline void *tu_alloc_malloc(void *ctx, size_t size)
{
    tu_alloc *a = (tu_alloc *)ctx;
    tu_alloc_hdr *hdr;
    if (a->fail_all) {
        a->n_failed++;
        return NULL;
    }
    if (a->fail_at > 0) {
        if (--a->fail_at == 0) {
            a->n_failed++;
            return NULL;
        }
    }
    hdr = (tu_alloc_hdr *)malloc(sizeof(tu_alloc_hdr) + size);
    if (hdr == NULL)
        return NULL;
    hdr->h.size = size;
    hdr->h.magic = TU_ALLOC_MAGIC;
    a->live_blocks++;
    a->live_bytes += size;
    a->n_malloc++;
    return hdr + 1;
}

static inline void tu_alloc_free(void *ctx, void *ptr, size_t size)
{
    tu_alloc *a = (tu_alloc *)ctx;
    tu_alloc_hdr *hdr;
    if (ptr == NULL) {
        a->bad_frees++;
        return;
    }
    hdr = (tu_alloc_hdr *)ptr - 1;
    if (hdr->h.magic != TU_ALLOC_MAGIC) {
        a->bad_frees++;
        return; /* not ours or a double free: do not touch it further */
    }
    if (hdr->h.size != size)
        a->bad_frees++;
    a->live_blocks--;
    a->live_bytes -= hdr->h.size;
    a->n_free++;
    hdr->h.magic = TU_ALLOC_DEAD;
    free(hdr);
}

static inline void tu_alloc_init(tu_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->hooks.malloc = tu_alloc_malloc;
    a->hooks.free = tu_alloc_free;
    a->hooks.ctx = a;
}

/* Make the n-th allocation from now fail (n >= 1); 0 disarms. */
static inline void tu_alloc_fail_in(tu_alloc *a, long n)
{
    a->fail_at = n;
}

#define tu_assert_alloc_clean(a)                                              \
    do {                                                                      \
        TU_REQUIRE((a)->live_blocks == 0 && (a)->live_bytes == 0,             \
                   "allocator: %zu blocks / %zu bytes still live",            \
                   (a)->live_blocks, (a)->live_bytes);                        \
        TU_REQUIRE((a)->bad_frees == 0,                                       \
                   "allocator: %zu bad frees (NULL, wrong size, double)",     \
                   (a)->bad_frees);                                           \
    } while (0)

/* ------------------------------------------------------------------ */
/* Boxed keys and values, and the ops environment                      */
/* ------------------------------------------------------------------ */

enum { TU_KEY = 0x4B, TU_VALUE = 0x56 };

struct tu_env;

typedef struct tu_box {
    int payload;
    int kind;      /* TU_KEY or TU_VALUE */
    int tag;       /* keys: owner tag, checked by equal when env->check_tags */
    int refs;      /* 1 while the single owner holds it; retain_value adds */
    int freed;     /* set once the last reference is released */
    int is_probe;  /* a stack probe key: the cache must never free it */
    int evicted;   /* on_evict has seen it */
    struct tu_env *env;
    struct tu_box *next_all;
} tu_box;

typedef struct tu_evrec {
    int key;                /* key payload */
    int value;              /* value payload */
    int key_tag;
    uint32_t weight;
    wc_evict_cause cause;
} tu_evrec;

struct tu_hook;
typedef void (*tu_hook_fn)(struct tu_env *env, struct tu_hook *h,
                           const tu_box *a, const tu_box *b);

/* A re-entrant action run from a callback. For equal a = stored key and
 * b = probe key; for on_evict a = key, b = value; for free_key a = key; for
 * free_value and retain_value a = value (b is NULL when not applicable). */
typedef struct tu_hook {
    tu_hook_fn fn;
    int remaining;      /* runs left; -1 = unlimited; 0 = disarmed */
    int match_on;       /* run only when a->payload == match */
    int match;
    int busy;           /* the hook is running (no nested runs of itself) */
    int runs;           /* how many times fn ran */
    void *arg;          /* test data */
    int iarg;
    int rc[16];         /* results the hook wants to report */
    int nrc;
} tu_hook;

static inline void tu_hook_set(tu_hook *h, tu_hook_fn fn, int times)
{
    memset(h, 0, sizeof *h);
    h->fn = fn;
    h->remaining = times;
}

static inline void tu_hook_match(tu_hook *h, int payload)
{
    h->match_on = 1;
    h->match = payload;
}

static inline void tu_hook_rc(tu_hook *h, int rc)
{
    if (h->nrc < (int)(sizeof h->rc / sizeof h->rc[0]))
        h->rc[h->nrc] = rc;
    h->nrc++;
}

typedef struct tu_env {
    tu_box *all;               /* every heap box, for tu_env_destroy */
    long live_keys;            /* heap keys not yet released */
    long live_values;
    long errors;               /* contract violations seen in callbacks */
    char first_error[256];

    wc_cache *cache;           /* the cache using this env (for hooks) */
    uint64_t (*hash)(int payload);  /* key hash (NULL: tu_hash_int) */
    int check_hash;            /* equal: the keys' hashes must be equal. Only
                                  for small key sets: the cache keeps 32-bit
                                  mixed hashes, which may collide */
    int check_tags;            /* equal: stored and probe tags must match */
    int retain_refs;           /* retain_value takes a reference */
    int equal_fail_in;         /* > 0: the n-th equal call from now fails */
    int equal_fail_all;        /* every equal call fails */

    long n_equal, n_free_key, n_free_value, n_retain, n_evict;
    long n_evict_cause[WC_EVICT__COUNT];

    tu_evrec *log;             /* every on_evict, in call order */
    size_t nlog, caplog;

    tu_hook h_equal, h_free_key, h_free_value, h_retain, h_evict;
    wc_ops ops;                /* all five callbacks, pointing at tu_cb_* */
} tu_env;

static inline void tu_error(tu_env *env, const char *fmt, ...)
{
    if (env->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(env->first_error, sizeof env->first_error, fmt, ap);
        va_end(ap);
    }
}

#define tu_assert_env_ok(env)                                                 \
    TU_REQUIRE((env)->errors == 0, "%ld callback contract violation(s), "     \
               "first: %s", (env)->errors, (env)->first_error)

/* Every key and value the env created has been released exactly once. */
#define tu_assert_all_released(env)                                           \
    do {                                                                      \
        tu_assert_env_ok(env);                                                \
        TU_REQUIRE((env)->live_keys == 0 && (env)->live_values == 0,          \
                   "%ld keys / %ld values not released",                      \
                   (env)->live_keys, (env)->live_values);                     \
    } while (0)

static inline uint64_t tu_hash_int(int payload)
{
    return tu_mix64((uint64_t)(int64_t)payload);
}

static inline uint64_t tu_env_hash(const tu_env *env, int payload)
{
    return env->hash != NULL ? env->hash(payload) : tu_hash_int(payload);
}

static inline tu_box *tu_box_new(tu_env *env, int kind, int payload, int tag)
{
    tu_box *b = (tu_box *)calloc(1, sizeof *b);
    TU_REQUIRE(b != NULL, "out of memory in the test");
    b->payload = payload;
    b->kind = kind;
    b->tag = tag;
    b->refs = 1;
    b->env = env;
    b->next_all = env->all;
    env->all = b;
    if (kind == TU_KEY)
        env->live_keys++;
    else
        env->live_values++;
    return b;
}

static inline tu_box *tu_key(tu_env *env, int payload)
{
    return tu_box_new(env, TU_KEY, payload, 0);
}

static inline tu_box *tu_key_tag(tu_env *env, int payload, int tag)
{
    return tu_box_new(env, TU_KEY, payload, tag);
}

static inline tu_box *tu_val(tu_env *env, int payload)
{
    return tu_box_new(env, TU_VALUE, payload, 0);
}

/* A borrowed probe key on the stack (get/remove). */
static inline tu_box tu_probe(int payload, int tag)
{
    tu_box b;
    memset(&b, 0, sizeof b);
    b.payload = payload;
    b.kind = TU_KEY;
    b.tag = tag;
    b.refs = 1;
    b.is_probe = 1;
    return b;
}

/* Drop one reference; the last one marks the box released. `who` names the
 * releaser for error messages. */
static inline void tu_box_unref(tu_env *env, tu_box *b, int kind,
                                const char *who)
{
    if (b == NULL) {
        tu_error(env, "%s: NULL box", who);
        return;
    }
    if (b->is_probe) {
        tu_error(env, "%s: released a borrowed probe key (payload %d)", who,
                 b->payload);
        return;
    }
    if (b->kind != kind) {
        tu_error(env, "%s: box of the wrong kind (payload %d)", who,
                 b->payload);
        return;
    }
    if (b->freed || b->refs <= 0) {
        tu_error(env, "%s: double release of payload %d", who, b->payload);
        return;
    }
    if (--b->refs == 0) {
        b->freed = 1;
        if (kind == TU_KEY)
            b->env->live_keys--;
        else
            b->env->live_values--;
    }
}

/* The caller releases a box it still owns (e.g. after a failed put). */
static inline void tu_release(tu_box *b)
{
    tu_box_unref(b->env, b, b->kind, "test");
}

static inline int tu_box_ok(tu_env *env, const tu_box *b, int kind,
                            const char *who)
{
    if (b == NULL) {
        tu_error(env, "%s: NULL box", who);
        return 0;
    }
    if (b->kind != kind) {
        tu_error(env, "%s: box of the wrong kind", who);
        return 0;
    }
    if (b->freed) {
        tu_error(env, "%s: use of released %s (payload %d)", who,
                 kind == TU_KEY ? "key" : "value", b->payload);
        return 0;
    }
    return 1;
}

static inline void tu_run_hook(tu_env *env, tu_hook *h, const tu_box *a,
                               const tu_box *b)
{
    if (h->fn == NULL || h->remaining == 0 || h->busy)
        return;
    if (h->match_on && (a == NULL || a->payload != h->match))
        return;
    if (h->remaining > 0)
        h->remaining--;
    h->busy = 1;
    h->runs++;
    h->fn(env, h, a, b);
    h->busy = 0;
}

static inline void tu_cb_evict(void *ctx, const void *key, void *value,
                               uint32_t weight, wc_evict_cause cause);

static inline int tu_cb_equal(void *ctx, const void *stored_key,
                              const void *probe_key)
{
    tu_env *env = (tu_env *)ctx;
    const tu_box *s = (const tu_box *)stored_key;
    const tu_box *p = (const tu_box *)probe_key;
    env->n_equal++;
    if (!tu_box_ok(env, s, TU_KEY, "equal(stored)") ||
        !tu_box_ok(env, p, TU_KEY, "equal(probe)"))
        return 0;
    if (env->check_tags && s->tag != p->tag)
        tu_error(env, "equal called across owners (tags %d, %d)", s->tag,
                 p->tag);
    if (env->check_hash &&
        tu_env_hash(env, s->payload) != tu_env_hash(env, p->payload))
        tu_error(env, "equal called for keys with different hashes (%d, %d)",
                 s->payload, p->payload);
    tu_run_hook(env, &env->h_equal, s, p);
    /* The keys must stay valid for the whole call, whatever the hook did. */
    if (!tu_box_ok(env, s, TU_KEY, "equal(stored) after hook"))
        return 0;
    if (env->equal_fail_all)
        return -1;
    if (env->equal_fail_in > 0 && --env->equal_fail_in == 0)
        return -1;
    return s->payload == p->payload;
}

static inline void tu_cb_free_key(void *ctx, void *key)
{
    tu_env *env = (tu_env *)ctx;
    tu_box *k = (tu_box *)key;
    env->n_free_key++;
    if (!tu_box_ok(env, k, TU_KEY, "free_key"))
        return;
    /* the listener sees every entry that leaves, before its release */
    if (env->ops.on_evict == tu_cb_evict && !k->evicted)
        tu_error(env, "free_key before on_evict saw key %d", k->payload);
    tu_run_hook(env, &env->h_free_key, k, NULL);
    tu_box_unref(env, k, TU_KEY, "free_key");
}

static inline void tu_cb_free_value(void *ctx, void *value)
{
    tu_env *env = (tu_env *)ctx;
    tu_box *v = (tu_box *)value;
    env->n_free_value++;
    if (!tu_box_ok(env, v, TU_VALUE, "free_value"))
        return;
    if (env->ops.on_evict == tu_cb_evict && !v->evicted)
        tu_error(env, "free_value before on_evict saw value %d", v->payload);
    tu_run_hook(env, &env->h_free_value, v, NULL);
    tu_box_unref(env, v, TU_VALUE, "free_value");
}

static inline void tu_cb_retain(void *ctx, void *value)
{
    tu_env *env = (tu_env *)ctx;
    tu_box *v = (tu_box *)value;
    env->n_retain++;
    if (!tu_box_ok(env, v, TU_VALUE, "retain_value"))
        return;
    if (env->retain_refs)
        v->refs++;
    tu_run_hook(env, &env->h_retain, v, NULL);
}

static inline void tu_cb_evict(void *ctx, const void *key, void *value,
                               uint32_t weight, wc_evict_cause cause)
{
    tu_env *env = (tu_env *)ctx;
    const tu_box *k = (const tu_box *)key;
    const tu_box *v = (const tu_box *)value;
    tu_evrec rec;
    env->n_evict++;
    if ((int)cause < 0 || (int)cause >= WC_EVICT__COUNT) {
        tu_error(env, "on_evict: bad cause %d", (int)cause);
        return;
    }
    env->n_evict_cause[cause]++;
    if (!tu_box_ok(env, k, TU_KEY, "on_evict(key)") ||
        !tu_box_ok(env, v, TU_VALUE, "on_evict(value)"))
        return;
    ((tu_box *)(void *)k)->evicted = 1; /* our own (non-const) objects */
    ((tu_box *)(void *)v)->evicted = 1;
    rec.key = k->payload;
    rec.value = v->payload;
    rec.key_tag = k->tag;
    rec.weight = weight;
    rec.cause = cause;
    if (env->nlog == env->caplog) {
        size_t cap = env->caplog ? env->caplog * 2 : 64;
        tu_evrec *nl = (tu_evrec *)realloc(env->log, cap * sizeof *nl);
        if (nl == NULL) {
            tu_error(env, "out of memory in the test");
            return;
        }
        env->log = nl;
        env->caplog = cap;
    }
    env->log[env->nlog++] = rec;
    tu_run_hook(env, &env->h_evict, k, v);
}

static inline void tu_env_init(tu_env *env)
{
    memset(env, 0, sizeof *env);
    env->ops.equal = tu_cb_equal;
    env->ops.free_key = tu_cb_free_key;
    env->ops.free_value = tu_cb_free_value;
    env->ops.retain_value = tu_cb_retain;
    env->ops.on_evict = tu_cb_evict;
}

/* Frees the memory of every box (whether or not it was released). */
static inline void tu_env_destroy(tu_env *env)
{
    tu_box *b = env->all;
    while (b != NULL) {
        tu_box *next = b->next_all;
        free(b);
        b = next;
    }
    env->all = NULL;
    free(env->log);
    env->log = NULL;
    env->nlog = env->caplog = 0;
}

/* A config using env's ops (and optionally a counting allocator). */
static inline wc_config tu_config(tu_env *env, size_t max_entries,
                                  uint64_t max_weight, tu_alloc *alloc)
{
    wc_config cfg;
    wc_config_init(&cfg);
    cfg.max_entries = max_entries;
    cfg.max_weight = max_weight;
    cfg.ops = env != NULL ? &env->ops : NULL;
    cfg.ops_ctx = env;
    cfg.allocator = alloc != NULL ? &alloc->hooks : NULL;
    return cfg;
}

/* Create a cache on env (sets env->cache), asserting success. */
static inline wc_cache *tu_cache_new(tu_env *env, size_t max_entries,
                                     uint64_t max_weight, tu_alloc *alloc)
{
    wc_config cfg = tu_config(env, max_entries, max_weight, alloc);
    wc_cache *c = NULL;
    int rc = wc_cache_new(&cfg, &c);
    TU_REQUIRE(rc == WC_OK && c != NULL, "wc_cache_new failed: %s",
               wc_strerror(rc));
    if (env != NULL && env->cache == NULL)
        env->cache = c;
    return c;
}

/* ------------------------------------------------------------------ */
/* Operations on boxed keys                                            */
/* ------------------------------------------------------------------ */

/* Put (owner, key payload) -> value payload. On failure checks that the
 * cache did not release the key or value (they stay the caller's) and
 * releases them. Returns the status. */
static inline int tu_put_tag(tu_env *env, wc_cache *c, wc_owner *owner,
                             int key, int tag, int value, uint32_t weight)
{
    tu_box *k = tu_key_tag(env, key, tag);
    tu_box *v = tu_val(env, value);
    int rc = wc_put(c, owner, tu_env_hash(env, key), k, v, weight);
    if (rc != WC_OK) {
        if (k->freed || v->freed)
            tu_error(env, "failed put (%d) released the caller's key/value",
                     rc);
        else {
            tu_release(k);
            tu_release(v);
        }
    }
    return rc;
}

static inline int tu_put(tu_env *env, wc_cache *c, wc_owner *owner, int key,
                         int value, uint32_t weight)
{
    return tu_put_tag(env, c, owner, key, 0, value, weight);
}

/* Get (owner, key payload). *value_out receives the value payload, or -1 on
 * a miss/error (may be NULL). Checks the documented *value_out contract.
 * With env->retain_refs the reference retain_value took is dropped after
 * the payload was read. */
static inline int tu_get_tag(tu_env *env, wc_cache *c, wc_owner *owner,
                             int key, int tag, int *value_out)
{
    tu_box probe = tu_probe(key, tag);
    void *v = (void *)&probe; /* garbage the call must overwrite */
    int rc = wc_get(c, owner, tu_env_hash(env, key), &probe, &v);
    if (value_out != NULL)
        *value_out = -1;
    if (rc == WC_OK) {
        const tu_box *vb = (const tu_box *)v;
        if (vb == NULL || vb == (void *)&probe)
            tu_error(env, "get hit returned no value");
        else if (tu_box_ok(env, vb, TU_VALUE, "value returned by get")) {
            if (value_out != NULL)
                *value_out = vb->payload;
            /* drop the reference retain_value took for us */
            if (env->retain_refs)
                tu_box_unref(env, (tu_box *)v, TU_VALUE, "tu_get");
        }
    } else if (rc == WC_NOTFOUND) {
        if (v != NULL)
            tu_error(env, "get miss did not set *value_out to NULL");
    }
    return rc;
}

static inline int tu_get(tu_env *env, wc_cache *c, wc_owner *owner, int key,
                         int *value_out)
{
    return tu_get_tag(env, c, owner, key, 0, value_out);
}

/* wc_peek of an unowned key payload: 1 and *value_out = payload if found,
 * 0 if not (any other status is a failure). Drops the retain reference like
 * tu_get. */
static inline int tu_peek_ok(tu_env *env, wc_cache *c, int key, int *value_out)
{
    tu_box probe = tu_probe(key, 0);
    void *v = NULL;
    int rc = wc_peek(c, NULL, tu_env_hash(env, key), &probe, &v);
    TU_REQUIRE(rc == WC_OK || rc == WC_NOTFOUND, "wc_peek: %s", wc_strerror(rc));
    *value_out = -1;
    if (rc != WC_OK)
        return 0;
    *value_out = ((const tu_box *)v)->payload;
    if (env->retain_refs)
        tu_box_unref(env, (tu_box *)v, TU_VALUE, "tu_peek_ok");
    return 1;
}

static inline int tu_remove_tag(tu_env *env, wc_cache *c, wc_owner *owner,
                                int key, int tag)
{
    tu_box probe = tu_probe(key, tag);
    return wc_remove(c, owner, tu_env_hash(env, key), &probe);
}

static inline int tu_remove(tu_env *env, wc_cache *c, wc_owner *owner, int key)
{
    return tu_remove_tag(env, c, owner, key, 0);
}

/* ------------------------------------------------------------------ */
/* Inspection                                                          */
/* ------------------------------------------------------------------ */

static inline wc_stats tu_stats(const wc_cache *c)
{
    wc_stats s;
    memset(&s, 0, sizeof s);
    wc_cache_stats(c, &s);
    return s;
}

/* Iterate the whole cache (boxed keys) checking that it is consistent:
 * the iteration completes, its length equals wc_cache_size() and the stats'
 * size, the weights add up to the stats' weight, the limits hold, and every
 * key and value is a live box. Returns the number of entries. */
static inline size_t tu_check_consistent(tu_env *env, wc_cache *c)
{
    wc_iter it;
    wc_item item;
    size_t n = 0;
    uint64_t w = 0;
    int rc;
    wc_stats s = tu_stats(c);
    wc_iter_init(&it, c);
    while ((rc = wc_iter_next(&it, &item)) == 1) {
        n++;
        w += item.weight;
        if (env != NULL) {
            tu_box_ok(env, (const tu_box *)item.key, TU_KEY, "iterated key");
            tu_box_ok(env, (const tu_box *)item.value, TU_VALUE,
                      "iterated value");
        }
        TU_REQUIRE(n <= s.size + 1, "iteration longer than the cache");
    }
    TU_REQUIRE(rc == 0, "wc_iter_next ended with %d (%s)", rc,
               wc_strerror(rc));
    TU_REQUIRE(n == s.size, "iterated %zu entries, stats size %zu", n,
               s.size);
    TU_REQUIRE(n == wc_cache_size(c), "iterated %zu entries, size %zu", n,
               wc_cache_size(c));
    TU_REQUIRE(w == s.weight, "iterated weight %llu, stats weight %llu",
               (unsigned long long)w, (unsigned long long)s.weight);
    if (s.max_entries != 0)
        TU_REQUIRE(n <= s.max_entries, "%zu entries > max_entries %zu", n,
                   s.max_entries);
    if (s.max_weight != 0)
        TU_REQUIRE(w <= s.max_weight, "weight %llu > max_weight %llu",
                   (unsigned long long)w, (unsigned long long)s.max_weight);
    if (env != NULL)
        TU_REQUIRE(env->errors == 0, "%ld callback contract violation(s), "
                   "first: %s", env->errors, env->first_error);
    return n;
}

/* Number of iterated entries whose owner is `owner` (NULL: unowned). */
static inline size_t tu_iter_count_owner(wc_cache *c, const wc_owner *owner)
{
    wc_iter it;
    wc_item item;
    size_t n = 0;
    int rc;
    wc_iter_init(&it, c);
    while ((rc = wc_iter_next(&it, &item)) == 1)
        if (item.owner == owner)
            n++;
    TU_REQUIRE(rc == 0, "wc_iter_next ended with %d", rc);
    return n;
}

/* The key payloads in iteration order (MRU first) as "a,b,c". */
static inline const char *tu_order(wc_cache *c, char *buf, size_t cap)
{
    wc_iter it;
    wc_item item;
    size_t len = 0;
    int rc;
    buf[0] = '\0';
    wc_iter_init(&it, c);
    while ((rc = wc_iter_next(&it, &item)) == 1) {
        int n = snprintf(buf + len, cap - len, "%s%d", len ? "," : "",
                         ((const tu_box *)item.key)->payload);
        TU_REQUIRE(n > 0 && (size_t)n < cap - len, "order buffer full");
        len += (size_t)n;
    }
    TU_REQUIRE(rc == 0, "wc_iter_next ended with %d", rc);
    return buf;
}

#define tu_assert_order(c, expected)                                          \
    do {                                                                      \
        char tu_order_buf_[1024];                                             \
        ck_assert_str_eq(tu_order((c), tu_order_buf_, sizeof tu_order_buf_),  \
                         (expected));                                         \
    } while (0)

/* The eviction log as "key:cause,..." using cause names' first letters:
 * C(apacity) W(eight) O(wner) R(emoved) P (replaced) X (cleared) E(xpired). */
static inline char tu_cause_letter(wc_evict_cause cause)
{
    static const char letters[] = "CWORPXE";
    if ((int)cause < 0 || (int)cause >= WC_EVICT__COUNT)
        return '?';
    return letters[cause];
}

static inline const char *tu_log_str(const tu_env *env, size_t from,
                                     char *buf, size_t cap)
{
    size_t len = 0, i;
    buf[0] = '\0';
    for (i = from; i < env->nlog; i++) {
        int n = snprintf(buf + len, cap - len, "%s%d:%c", len ? "," : "",
                         env->log[i].key, tu_cause_letter(env->log[i].cause));
        TU_REQUIRE(n > 0 && (size_t)n < cap - len, "log buffer full");
        len += (size_t)n;
    }
    return buf;
}

/* Assert the evictions logged since index `from`, e.g. "1:C,2:C". */
#define tu_assert_log(env, from, expected)                                    \
    do {                                                                      \
        char tu_log_buf_[2048];                                               \
        ck_assert_str_eq(tu_log_str((env), (from), tu_log_buf_,               \
                                    sizeof tu_log_buf_),                      \
                         (expected));                                         \
    } while (0)

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

#define TU_MAIN(make_suite)                                                   \
    int main(void)                                                            \
    {                                                                         \
        SRunner *sr = srunner_create(make_suite());                           \
        int failed;                                                           \
        srunner_run_all(sr, CK_ENV);                                          \
        failed = srunner_ntests_failed(sr);                                   \
        srunner_free(sr);                                                     \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                     \
    }

#endif /* WC_TESTUTIL_H */
