/*
 * sessions.c - per-session derived data, dropped when the session ends.
 *
 * A server keeps one cache of derived data (rendered profile, cart summary,
 * recommendations) for all its sessions. Each session embeds a wc_owner, and
 * every entry it caches is put under that owner, so:
 *   - the same key ("cart") under two sessions is two distinct entries;
 *   - when a session ends, wc_owner_release() drops exactly its entries, in
 *     time proportional to their number, wherever they are in the LRU order;
 *   - the cache stays an ordinary LRU bounded by max_entries meanwhile.
 * An eviction listener prints every entry that leaves, with its cause.
 *
 * This example uses the core API (wc_cache_new with wc_ops): keys are
 * malloc'ed C strings hashed with wc_hash_bytes() and compared with strcmp().
 */
#include <weakcache.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_ENTRIES 10

typedef struct session {
    char name[16];
    wc_owner owner; /* embedded: no allocation per session */
} session;

typedef struct derived {     /* a cached value */
    char session[16];        /* whose it is, for printing */
    char text[48];
} derived;

typedef struct listener {
    unsigned long count[WC_EVICT__COUNT];
} listener;

/* ---- wc_ops callbacks -------------------------------------------------- */

static int key_equal(void *ctx, const void *stored, const void *probe)
{
    (void)ctx;
    return strcmp((const char *)stored, (const char *)probe) == 0;
}

static void key_free(void *ctx, void *key)
{
    (void)ctx;
    free(key);
}

static void value_free(void *ctx, void *value)
{
    (void)ctx;
    free(value);
}

static void on_evict(void *ctx, const void *key, void *value, uint32_t weight,
                     wc_evict_cause cause)
{
    listener *l = ctx;
    const derived *d = value;
    (void)weight;
    l->count[cause]++;
    printf("    evicted [%-8s] %s/%s = \"%s\"\n", wc_evict_cause_name(cause),
           d->session, (const char *)key, d->text);
}

/* ---- helpers ----------------------------------------------------------- */

static uint64_t key_hash(const char *key)
{
    return wc_hash_bytes(key, strlen(key), 0);
}

static void session_open(session *s, const char *name)
{
    snprintf(s->name, sizeof s->name, "%s", name);
    wc_owner_init(&s->owner);
}

/* Cache `text` as `key` for session s (s == NULL: shared, unowned entry). */
static int remember(wc_cache *c, session *s, const char *key, const char *text)
{
    char *k = malloc(strlen(key) + 1);
    derived *v = malloc(sizeof *v);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return WC_ENOMEM;
    }
    strcpy(k, key);
    snprintf(v->session, sizeof v->session, "%s", s ? s->name : "(shared)");
    snprintf(v->text, sizeof v->text, "%s", text);
    int rc = wc_put(c, s ? &s->owner : NULL, key_hash(k), k, v, 1);
    if (rc != WC_OK) { /* key and value stay ours on failure */
        free(k);
        free(v);
    }
    return rc;
}

/* Look `key` up for session s; returns the cached text or NULL. */
static const char *recall(wc_cache *c, session *s, const char *key)
{
    void *v;
    int rc = wc_get(c, s ? &s->owner : NULL, key_hash(key), key, &v);
    return rc == WC_OK ? ((const derived *)v)->text : NULL;
}

static void print_counts(wc_cache *c, session *const *all, int n)
{
    printf("  cache size %zu; entries per owner:", wc_cache_size(c));
    for (int i = 0; i < n; i++)
        printf(" %s=%zu", all[i]->name, wc_owner_count(&all[i]->owner, c));
    printf("\n");
}

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("sessions: FAILED: %s (line %d)\n", #cond, __LINE__);    \
            return 1;                                                       \
        }                                                                   \
    } while (0)

int main(void)
{
    listener lis = {{0}};
    const wc_ops ops = {
        .equal = key_equal,
        .free_key = key_free,
        .free_value = value_free,
        .on_evict = on_evict,
    };
    wc_config cfg;
    wc_config_init(&cfg); /* zeroes it and records its size (ABI) */
    cfg.max_entries = CACHE_ENTRIES;
    cfg.ops = &ops;
    cfg.ops_ctx = &lis;
    wc_cache *c;
    int rc = wc_cache_new(&cfg, &c);
    if (rc != WC_OK) {
        fprintf(stderr, "wc_cache_new: %s\n", wc_strerror(rc));
        return 1;
    }

    session alice, bob, carol, dave;
    session *const all[] = {&alice, &bob, &carol, &dave};
    session_open(&alice, "alice");
    session_open(&bob, "bob");
    session_open(&carol, "carol");
    session_open(&dave, "dave");

    printf("sessions: one cache of %d entries shared by all sessions\n",
           CACHE_ENTRIES);

    /* 1. Three sessions cache the same three keys, plus one shared entry. */
    printf("1. alice, bob and carol each cache profile, cart, recs\n");
    session *const first[] = {&alice, &bob, &carol};
    for (int i = 0; i < 3; i++) {
        char buf[48];
        session *s = first[i];
        snprintf(buf, sizeof buf, "<profile of %s>", s->name);
        CHECK(remember(c, s, "profile", buf) == WC_OK);
        snprintf(buf, sizeof buf, "%d items", 2 + i);
        CHECK(remember(c, s, "cart", buf) == WC_OK);
        snprintf(buf, sizeof buf, "books for %s", s->name);
        CHECK(remember(c, s, "recs", buf) == WC_OK);
    }
    CHECK(remember(c, NULL, "config", "theme=dark") == WC_OK);
    print_counts(c, all, 4);

    /* 2. Same key, different owners: distinct entries. */
    const char *a_cart = recall(c, &alice, "cart");
    const char *c_cart = recall(c, &carol, "cart");
    const char *d_cart = recall(c, &dave, "cart");
    printf("2. lookups: alice/cart=\"%s\" carol/cart=\"%s\" dave/cart=%s\n",
           a_cart ? a_cart : "(miss)", c_cart ? c_cart : "(miss)",
           d_cart ? d_cart : "(miss)");
    CHECK(a_cart != NULL && strcmp(a_cart, "2 items") == 0);
    CHECK(c_cart != NULL && strcmp(c_cart, "4 items") == 0);
    CHECK(d_cart == NULL);

    /* 3. bob logs out: exactly his entries go. */
    printf("3. bob logs out: wc_owner_release(&bob.owner)\n");
    CHECK(wc_owner_release(&bob.owner) == WC_OK);
    print_counts(c, all, 4);
    CHECK(lis.count[WC_EVICT_OWNER] == 3);
    CHECK(wc_owner_count(&bob.owner, NULL) == 0);
    CHECK(wc_owner_count(&alice.owner, c) == 3);
    CHECK(wc_owner_count(&carol.owner, c) == 3);
    CHECK(recall(c, NULL, "config") != NULL);

    /* 4. dave logs in and caches 4 entries: the cache is full, so the least
     * recently used entry (alice's profile) makes room. */
    printf("4. dave logs in and caches 4 entries (cache limit %d)\n",
           CACHE_ENTRIES);
    CHECK(remember(c, &dave, "profile", "<profile of dave>") == WC_OK);
    CHECK(remember(c, &dave, "cart", "7 items") == WC_OK);
    CHECK(remember(c, &dave, "recs", "tools for dave") == WC_OK);
    CHECK(remember(c, &dave, "history", "3 orders") == WC_OK);
    print_counts(c, all, 4);
    CHECK(wc_cache_size(c) == CACHE_ENTRIES);
    CHECK(lis.count[WC_EVICT_CAPACITY] == 1);
    CHECK(recall(c, &alice, "profile") == NULL);

    /* 5. Everyone logs out, then the cache is freed (the shared entry goes
     * with cause "cleared"). */
    printf("5. alice, carol and dave log out\n");
    CHECK(wc_owner_release(&alice.owner) == WC_OK);
    CHECK(wc_owner_release(&carol.owner) == WC_OK);
    CHECK(wc_owner_release(&dave.owner) == WC_OK);
    CHECK(wc_owner_release(&bob.owner) == WC_OK); /* again: a no-op */
    print_counts(c, all, 4);

    wc_stats st;
    wc_cache_stats(c, &st);
    printf("  stats: hits=%llu misses=%llu inserts=%llu size=%zu\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.inserts, st.size);
    printf("  evictions:");
    for (int cause = 0; cause < WC_EVICT__COUNT; cause++)
        printf(" %s=%llu", wc_evict_cause_name((wc_evict_cause)cause),
               (unsigned long long)st.evictions[cause]);
    printf("\n");
    CHECK(st.size == 1);
    CHECK(st.inserts == 14);
    CHECK(st.evictions[WC_EVICT_OWNER] == 3 + 2 + 3 + 4);
    CHECK(st.evictions[WC_EVICT_CAPACITY] == 1);
    for (int cause = 0; cause < WC_EVICT__COUNT; cause++)
        CHECK(st.evictions[cause] == lis.count[cause]);

    printf("6. wc_cache_free()\n");
    CHECK(wc_cache_free(c) == WC_OK);
    CHECK(lis.count[WC_EVICT_CLEARED] == 1);

    printf("sessions: OK\n");
    return 0;
}
