/*
 * test_model.c - randomized model test.
 *
 * Random operation sequences run against two caches sharing up to three
 * owners, and against a reference model: per cache, a plain array in MRU
 * order of (owner, key, value, weight). After every step the test compares
 * contents and LRU order (via wc_iter), owner membership (wc_owner_count),
 * every stats counter, the listener's record of evictions (which entries,
 * with which cause) and the release of keys and values.
 *
 * The key space is small so hits, replacements and collisions are common;
 * some sequences use a deliberately bad hash (key % 4) to build long chains.
 *
 * Reproduce a failure with the printed seed: WC_TEST_SEED=<seed> and
 * WC_MODEL_SEQ=<sequence> run that one sequence.
 */
#include "testutil.h"

#define NC 2           /* caches */
#define MAXOWN 3       /* owners; slot MAXOWN is "unowned" */
#define MAXKEYS 24
#define MAXN ((MAXOWN + 1) * MAXKEYS)
#define MAXEXP (2 * MAXN + 8)

typedef struct m_ent {
    int slot;          /* owner slot, MAXOWN = unowned */
    int key;
    int value;         /* unique per put */
    uint32_t weight;
} m_ent;

typedef struct m_cache {
    m_ent e[MAXN + 1]; /* [0] = most recently used */
    int n;
    size_t max_entries;
    uint64_t max_weight;
    uint64_t weight;
    uint64_t hits, misses, inserts;
    uint64_t ev[WC_EVICT__COUNT];
} m_cache;

typedef struct m_exp {    /* an expected eviction */
    int value;
    int key;
    int slot;
    uint32_t weight;
    wc_evict_cause cause;
    wc_evict_cause alt;   /* == cause unless both bounds were exceeded */
    int matched;
} m_exp;

typedef struct m_run {
    /* real */
    tu_env env[NC];
    tu_alloc alloc;
    wc_cache *c[NC];
    wc_owner owners[MAXOWN];
    /* model */
    m_cache m[NC];
    m_exp exp[NC][MAXEXP];
    int nexp[NC];
    /* parameters */
    int nkeys;
    int nowners;
    uint32_t max_w;      /* weights drawn from [0, max_w] */
    int next_value;
    /* reporting */
    char ctx[1024];
} m_run;

static uint64_t bad_hash(int payload)
{
    return (uint64_t)(payload % 4);
}

static wc_owner *owner_of(m_run *r, int slot)
{
    return slot == MAXOWN ? NULL : &r->owners[slot];
}

/* Appends an operation's description to the failure context. */
static void ctx_add(m_run *r, const char *fmt, ...)
{
    size_t len = strlen(r->ctx);
    va_list ap;
    if (len + 1 >= sizeof r->ctx)
        return;
    va_start(ap, fmt);
    vsnprintf(r->ctx + len, sizeof r->ctx - len, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Model                                                               */
/* ------------------------------------------------------------------ */

static int m_find(const m_cache *m, int slot, int key)
{
    int i;
    for (i = 0; i < m->n; i++)
        if (m->e[i].slot == slot && m->e[i].key == key)
            return i;
    return -1;
}

static void m_expect(m_run *r, int ci, const m_ent *e, wc_evict_cause cause,
                     wc_evict_cause alt)
{
    m_exp *x;
    TU_REQUIRE(r->nexp[ci] < MAXEXP, "%s: too many evictions", r->ctx);
    x = &r->exp[ci][r->nexp[ci]++];
    x->value = e->value;
    x->key = e->key;
    x->slot = e->slot;
    x->weight = e->weight;
    x->cause = cause;
    x->alt = alt;
    x->matched = 0;
}

/* Remove entry i, expecting an eviction with `cause` (and `alt`). */
static void m_evict_at(m_run *r, int ci, int i, wc_evict_cause cause,
                       wc_evict_cause alt)
{
    m_cache *m = &r->m[ci];
    m_ent e = m->e[i];
    m_expect(r, ci, &e, cause, alt);
    m->weight -= e.weight;
    memmove(&m->e[i], &m->e[i + 1], sizeof(m_ent) * (size_t)(m->n - i - 1));
    m->n--;
}

/* Evict least recently used entries until the limits hold; `keep` entries
 * at the MRU end are never evicted (1 for the entry a put just added). */
static void m_enforce(m_run *r, int ci, int keep)
{
    m_cache *m = &r->m[ci];
    for (;;) {
        int over_n = m->max_entries != 0 && (size_t)m->n > m->max_entries;
        int over_w = m->max_weight != 0 && m->weight > m->max_weight;
        if (!over_n && !over_w)
            break;
        TU_REQUIRE(m->n > keep, "%s: model cannot meet its limits", r->ctx);
        if (over_n && over_w)
            m_evict_at(r, ci, m->n - 1, WC_EVICT_CAPACITY, WC_EVICT_WEIGHT);
        else if (over_n)
            m_evict_at(r, ci, m->n - 1, WC_EVICT_CAPACITY, WC_EVICT_CAPACITY);
        else
            m_evict_at(r, ci, m->n - 1, WC_EVICT_WEIGHT, WC_EVICT_WEIGHT);
    }
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */
/* ------------------------------------------------------------------ */

static void compare_cache(m_run *r, int ci)
{
    m_cache *m = &r->m[ci];
    tu_env *env = &r->env[ci];
    wc_cache *c = r->c[ci];
    wc_iter it;
    wc_item item;
    wc_stats s;
    int i, rc, slot;
    size_t li;

    /* contents and LRU order */
    wc_iter_init(&it, c);
    for (i = 0; (rc = wc_iter_next(&it, &item)) == 1; i++) {
        const tu_box *k = (const tu_box *)item.key;
        const tu_box *v = (const tu_box *)item.value;
        TU_REQUIRE(i < m->n, "%s: cache %d has more than the model's %d "
                   "entries", r->ctx, ci, m->n);
        TU_REQUIRE(k->payload == m->e[i].key && v->payload == m->e[i].value &&
                   item.owner == owner_of(r, m->e[i].slot) &&
                   item.weight == m->e[i].weight && k->tag == m->e[i].slot,
                   "%s: cache %d position %d: (owner %d, key %d, value %d, "
                   "weight %u), model (owner %d, key %d, value %d, weight "
                   "%u)", r->ctx, ci, i, k->tag, k->payload, v->payload,
                   (unsigned)item.weight, m->e[i].slot, m->e[i].key,
                   m->e[i].value, (unsigned)m->e[i].weight);
        TU_REQUIRE(!k->freed && !v->freed, "%s: released key/value still "
                   "in cache %d", r->ctx, ci);
    }
    TU_REQUIRE(rc == 0, "%s: cache %d iteration returned %d", r->ctx, ci, rc);
    TU_REQUIRE(i == m->n, "%s: cache %d has %d entries, model %d", r->ctx,
               ci, i, m->n);

    /* owners */
    for (slot = 0; slot < r->nowners; slot++) {
        size_t want = 0;
        for (i = 0; i < m->n; i++)
            want += m->e[i].slot == slot;
        TU_REQUIRE(wc_owner_count(&r->owners[slot], c) == want,
                   "%s: cache %d owner %d count %zu, model %zu", r->ctx, ci,
                   slot, wc_owner_count(&r->owners[slot], c), want);
    }

    /* evictions seen by the listener, matched by their unique value */
    for (li = 0; li < env->nlog; li++) {
        const tu_evrec *ev = &env->log[li];
        m_exp *x = NULL;
        for (i = 0; i < r->nexp[ci]; i++) {
            if (!r->exp[ci][i].matched && r->exp[ci][i].value == ev->value) {
                x = &r->exp[ci][i];
                break;
            }
        }
        TU_REQUIRE(x != NULL, "%s: cache %d evicted (owner %d, key %d, "
                   "value %d) with cause %s; the model did not", r->ctx, ci,
                   ev->key_tag, ev->key, ev->value,
                   wc_evict_cause_name(ev->cause));
        TU_REQUIRE(ev->key == x->key && ev->key_tag == x->slot &&
                   ev->weight == x->weight &&
                   (ev->cause == x->cause || ev->cause == x->alt),
                   "%s: cache %d evicted (owner %d, key %d, weight %u) "
                   "with cause %s; model: (owner %d, key %d, weight %u) "
                   "cause %s", r->ctx, ci, ev->key_tag, ev->key,
                   (unsigned)ev->weight, wc_evict_cause_name(ev->cause),
                   x->slot, x->key, (unsigned)x->weight,
                   wc_evict_cause_name(x->cause));
        x->matched = 1;
        m->ev[ev->cause]++;
    }
    for (i = 0; i < r->nexp[ci]; i++)
        TU_REQUIRE(r->exp[ci][i].matched, "%s: cache %d did not evict "
                   "(owner %d, key %d, value %d), cause %s", r->ctx, ci,
                   r->exp[ci][i].slot, r->exp[ci][i].key,
                   r->exp[ci][i].value,
                   wc_evict_cause_name(r->exp[ci][i].cause));
    env->nlog = 0;
    r->nexp[ci] = 0;

    /* stats */
    s = tu_stats(c);
    TU_REQUIRE(s.hits == m->hits && s.misses == m->misses &&
               s.inserts == m->inserts,
               "%s: cache %d hits/misses/inserts %llu/%llu/%llu, model "
               "%llu/%llu/%llu", r->ctx, ci, (unsigned long long)s.hits,
               (unsigned long long)s.misses, (unsigned long long)s.inserts,
               (unsigned long long)m->hits, (unsigned long long)m->misses,
               (unsigned long long)m->inserts);
    for (i = 0; i < WC_EVICT__COUNT; i++)
        TU_REQUIRE(s.evictions[i] == m->ev[i], "%s: cache %d evictions[%s]"
                   " %llu, model %llu", r->ctx, ci,
                   wc_evict_cause_name((wc_evict_cause)i),
                   (unsigned long long)s.evictions[i],
                   (unsigned long long)m->ev[i]);
    TU_REQUIRE(s.size == (size_t)m->n && s.weight == m->weight &&
               wc_cache_size(c) == (size_t)m->n,
               "%s: cache %d size/weight %zu/%llu, model %d/%llu", r->ctx,
               ci, s.size, (unsigned long long)s.weight, m->n,
               (unsigned long long)m->weight);
    TU_REQUIRE(s.max_entries == m->max_entries &&
               s.max_weight == m->max_weight,
               "%s: cache %d limits %zu/%llu, model %zu/%llu", r->ctx, ci,
               s.max_entries, (unsigned long long)s.max_weight,
               m->max_entries, (unsigned long long)m->max_weight);

    /* everything that left was released, right away, exactly once */
    TU_REQUIRE(env->errors == 0, "%s: cache %d: %s", r->ctx, ci,
               env->first_error);
    TU_REQUIRE(env->live_keys == m->n && env->live_values == m->n,
               "%s: cache %d: %ld keys / %ld values alive, %d entries",
               r->ctx, ci, env->live_keys, env->live_values, m->n);
}

static void compare_all(m_run *r)
{
    int ci, slot;
    for (ci = 0; ci < NC; ci++)
        compare_cache(r, ci);
    for (slot = 0; slot < r->nowners; slot++) {
        size_t want = 0;
        int i;
        for (ci = 0; ci < NC; ci++)
            for (i = 0; i < r->m[ci].n; i++)
                want += r->m[ci].e[i].slot == slot;
        TU_REQUIRE(wc_owner_count(&r->owners[slot], NULL) == want,
                   "%s: owner %d total count %zu, model %zu", r->ctx, slot,
                   wc_owner_count(&r->owners[slot], NULL), want);
    }
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static int rand_slot(m_run *r, tu_rng *rng)
{
    uint32_t x = tu_rng_below(rng, (uint32_t)r->nowners + 1);
    return (int)x == r->nowners ? MAXOWN : (int)x;
}

static uint32_t rand_weight(m_run *r, tu_rng *rng)
{
    if (tu_rng_below(rng, 10) == 0)
        return tu_rng_below(rng, 3 * r->max_w + 1);  /* sometimes too big */
    return tu_rng_below(rng, r->max_w + 1);
}

static void op_put(m_run *r, tu_rng *rng, int ci)
{
    m_cache *m = &r->m[ci];
    int slot = rand_slot(r, rng);
    int key = (int)tu_rng_below(rng, (uint32_t)r->nkeys);
    uint32_t w = rand_weight(r, rng);
    int value = r->next_value++;
    int want, rc, i;

    ctx_add(r, " put(c%d, o%d, k%d, v%d, w%u)", ci,
             slot, key, value, (unsigned)w);
    if (m->max_weight != 0 && w > m->max_weight) {
        want = WC_ETOOBIG;
    } else {
        want = WC_OK;
        i = m_find(m, slot, key);
        if (i >= 0)
            m_evict_at(r, ci, i, WC_EVICT_REPLACED, WC_EVICT_REPLACED);
        memmove(&m->e[1], &m->e[0], sizeof(m_ent) * (size_t)m->n);
        m->e[0].slot = slot;
        m->e[0].key = key;
        m->e[0].value = value;
        m->e[0].weight = w;
        m->n++;
        m->weight += w;
        m->inserts++;
        m_enforce(r, ci, 1);
    }
    rc = tu_put_tag(&r->env[ci], r->c[ci], owner_of(r, slot), key, slot,
                    value, w);
    TU_REQUIRE(rc == want, "%s: returned %d (%s), model %d", r->ctx, rc,
               wc_strerror(rc), want);
}

static void op_get(m_run *r, tu_rng *rng, int ci)
{
    m_cache *m = &r->m[ci];
    int slot = rand_slot(r, rng);
    int key = (int)tu_rng_below(rng, (uint32_t)r->nkeys);
    int i = m_find(m, slot, key);
    int rc, got, want = -1;

    ctx_add(r, " get(c%d, o%d, k%d)", ci, slot, key);
    if (i >= 0) {
        m_ent e = m->e[i];
        want = e.value;
        memmove(&m->e[1], &m->e[0], sizeof(m_ent) * (size_t)i);
        m->e[0] = e;
        m->hits++;
    } else {
        m->misses++;
    }
    rc = tu_get_tag(&r->env[ci], r->c[ci], owner_of(r, slot), key, slot, &got);
    TU_REQUIRE(rc == (i >= 0 ? WC_OK : WC_NOTFOUND) && got == want,
               "%s: returned %d with value %d, model %s with %d", r->ctx,
               rc, got, i >= 0 ? "hit" : "miss", want);
}

static void op_remove(m_run *r, tu_rng *rng, int ci)
{
    m_cache *m = &r->m[ci];
    int slot = rand_slot(r, rng);
    int key = (int)tu_rng_below(rng, (uint32_t)r->nkeys);
    int i = m_find(m, slot, key);
    int rc;

    ctx_add(r, " remove(c%d, o%d, k%d)", ci, slot,
             key);
    if (i >= 0)
        m_evict_at(r, ci, i, WC_EVICT_REMOVED, WC_EVICT_REMOVED);
    rc = tu_remove_tag(&r->env[ci], r->c[ci], owner_of(r, slot), key, slot);
    TU_REQUIRE(rc == (i >= 0 ? WC_OK : WC_NOTFOUND), "%s: returned %d",
               r->ctx, rc);
}

/* Evict every entry of `slot` in cache ci with `cause`. */
static void m_drop_slot(m_run *r, int ci, int slot, wc_evict_cause cause)
{
    int i;
    for (i = r->m[ci].n - 1; i >= 0; i--)
        if (r->m[ci].e[i].slot == slot)
            m_evict_at(r, ci, i, cause, cause);
}

static void op_release(m_run *r, tu_rng *rng)
{
    int slot, ci;
    if (r->nowners == 0)
        return;
    slot = (int)tu_rng_below(rng, (uint32_t)r->nowners);
    ctx_add(r, " release(o%d)", slot);
    for (ci = 0; ci < NC; ci++)
        m_drop_slot(r, ci, slot, WC_EVICT_OWNER);
    TU_REQUIRE(wc_owner_release(&r->owners[slot]) == WC_OK, "%s: failed", r->ctx);
}

static void op_clear_owner(m_run *r, tu_rng *rng, int ci)
{
    int slot = rand_slot(r, rng);
    ctx_add(r, " clear_owner(c%d, o%d)", ci, slot);
    m_drop_slot(r, ci, slot, WC_EVICT_CLEARED);
    TU_REQUIRE(wc_cache_clear_owner(r->c[ci], owner_of(r, slot)) == WC_OK, "%s: failed", r->ctx);
}

static void op_clear(m_run *r, int ci)
{
    ctx_add(r, " clear(c%d)", ci);
    while (r->m[ci].n > 0)
        m_evict_at(r, ci, r->m[ci].n - 1, WC_EVICT_CLEARED, WC_EVICT_CLEARED);
    TU_REQUIRE(wc_clear(r->c[ci]) == WC_OK, "%s: failed", r->ctx);
}

static size_t rand_max_entries(tu_rng *rng)
{
    return tu_rng_below(rng, 3) == 0 ? 0 : 1 + tu_rng_below(rng, 12);
}

static uint64_t rand_max_weight(m_run *r, tu_rng *rng)
{
    return tu_rng_below(rng, 2) == 0 ? 0 : 1 + tu_rng_below(rng, 4 * r->max_w + 4);
}

static void op_set_limits(m_run *r, tu_rng *rng, int ci)
{
    size_t me = rand_max_entries(rng);
    uint64_t mw = rand_max_weight(r, rng);
    ctx_add(r, " set_limits(c%d, %zu, %llu)", ci,
             me, (unsigned long long)mw);
    r->m[ci].max_entries = me;
    r->m[ci].max_weight = mw;
    /* "Entries heavier than the new max_weight are evicted": first,
     * whatever their age; then least recently used ones as usual. */
    if (mw != 0) {
        int i;
        for (i = r->m[ci].n - 1; i >= 0; i--)
            if (r->m[ci].e[i].weight > mw)
                m_evict_at(r, ci, i, WC_EVICT_WEIGHT, WC_EVICT_WEIGHT);
    }
    m_enforce(r, ci, 0);
    TU_REQUIRE(wc_cache_set_limits(r->c[ci], me, mw) == WC_OK, "%s: failed", r->ctx);
}

/* ------------------------------------------------------------------ */
/* Sequences                                                           */
/* ------------------------------------------------------------------ */

enum { MODE_GOOD_HASH, MODE_BAD_HASH, MODE_TIGHT };

static void run_sequence(uint64_t seed, int seq, int mode, int nops)
{
    m_run *r = (m_run *)calloc(1, sizeof *r);
    tu_rng rng;
    int ci, step, i;

    ck_assert_ptr_nonnull(r);
    rng.state = seed;
    r->nkeys = 2 + (int)tu_rng_below(&rng, MAXKEYS - 1);
    r->nowners = (int)tu_rng_below(&rng, MAXOWN + 1);
    r->max_w = mode == MODE_TIGHT ? 2 + tu_rng_below(&rng, 20) : tu_rng_below(&rng, 6);
    tu_alloc_init(&r->alloc);
    for (i = 0; i < MAXOWN; i++)
        wc_owner_init(&r->owners[i]);
    for (ci = 0; ci < NC; ci++) {
        size_t me;
        uint64_t mw;
        if (mode == MODE_TIGHT) {
            me = 1 + tu_rng_below(&rng, 4);
            mw = 1 + tu_rng_below(&rng, 2 * r->max_w);
        } else {
            me = rand_max_entries(&rng);
            mw = rand_max_weight(r, &rng);
        }
        tu_env_init(&r->env[ci]);
        r->env[ci].check_tags = 1;
        if (mode == MODE_BAD_HASH) {
            r->env[ci].hash = bad_hash;
            r->env[ci].check_hash = 1;
        }
        r->c[ci] = tu_cache_new(&r->env[ci], me, mw, &r->alloc);
        r->m[ci].max_entries = me;
        r->m[ci].max_weight = mw;
    }
    snprintf(r->ctx, sizeof r->ctx, "seed %llu (WC_MODEL_SEQ=%d) setup",
             (unsigned long long)seed, seq);
    compare_all(r);

    for (step = 0; step < nops; step++) {
        uint32_t dice = tu_rng_below(&rng, 100);
        ci = (int)tu_rng_below(&rng, NC);
        snprintf(r->ctx, sizeof r->ctx, "seed %llu (WC_MODEL_SEQ=%d) step %d:",
                 (unsigned long long)seed, seq, step);
        if (dice < 40)
            op_put(r, &rng, ci);
        else if (dice < 66)
            op_get(r, &rng, ci);
        else if (dice < 78)
            op_remove(r, &rng, ci);
        else if (dice < 83)
            op_release(r, &rng);
        else if (dice < 88)
            op_clear_owner(r, &rng, ci);
        else if (dice < 90)
            op_clear(r, ci);
        else if (dice < 95)
            op_set_limits(r, &rng, ci);
        else {
            /* a burst of puts to fill the cache */
            int k;
            for (k = 0; k < 6; k++)
                op_put(r, &rng, ci);
        }
        compare_all(r);
    }

    for (ci = 0; ci < NC; ci++) {
        TU_REQUIRE(wc_cache_free(r->c[ci]) == WC_OK, "%s: failed", r->ctx);
        TU_REQUIRE(r->env[ci].live_keys == 0 && r->env[ci].live_values == 0
                   && r->env[ci].errors == 0,
                   "seed %llu: cache %d: not every key/value released "
                   "once after wc_cache_free (%s)", (unsigned long long)seed,
                   ci, r->env[ci].first_error);
        ck_assert_int_eq(r->env[ci].n_evict_cause[WC_EVICT_CLEARED],
                         (long)(r->m[ci].ev[WC_EVICT_CLEARED] + (uint64_t)r->m[ci].n));
    }
    for (i = 0; i < MAXOWN; i++)
        ck_assert_uint_eq(wc_owner_count(&r->owners[i], NULL), 0);
    TU_REQUIRE(r->alloc.live_blocks == 0 && r->alloc.bad_frees == 0,
               "seed %llu: %zu blocks leaked, %zu bad frees",
               (unsigned long long)seed, r->alloc.live_blocks,
               r->alloc.bad_frees);
    for (ci = 0; ci < NC; ci++)
        tu_env_destroy(&r->env[ci]);
    free(r);
}

static void run_mode(int mode, long nseq, long nseq_quick, int nops)
{
    const char *only = getenv("WC_MODEL_SEQ");
    uint64_t base = tu_base_seed() ^ ((uint64_t)(mode + 1) << 40);
    long n = tu_scale(nseq, nseq_quick);
    long seq;
    if (only != NULL && only[0] != '\0') {
        seq = strtol(only, NULL, 10);
        run_sequence(base + (uint64_t)seq, (int)seq, mode, nops);
        return;
    }
    for (seq = 0; seq < n; seq++)
        run_sequence(base + (uint64_t)seq, (int)seq, mode, nops);
}

START_TEST(test_model_good_hash)
{
    run_mode(MODE_GOOD_HASH, 1000, 60, 200);
}
END_TEST

START_TEST(test_model_bad_hash)
{
    run_mode(MODE_BAD_HASH, 600, 40, 200);
}
END_TEST

START_TEST(test_model_tight_limits)
{
    run_mode(MODE_TIGHT, 400, 30, 200);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc;

    tc = tcase_create("good_hash");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_model_good_hash);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_hash");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_model_bad_hash);
    suite_add_tcase(s, tc);

    tc = tcase_create("tight_limits");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_model_tight_limits);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(model_suite)
