/*
 * server.c - worker threads sharing thread-safe caches, one owner per
 * connection, connections closing from any thread.
 *
 * A toy server: the main thread accepts connections and queues their
 * requests; WORKERS threads take requests from the queue in any order and
 * answer each from two caches that all of them share:
 *   - `pages`: rendered pages, private to a connection (its wc_owner). A
 *     bytes cache (keys are page names), LRU, bounded, WC_THREAD_SAFE. The
 *     miss path does one lookup: wc_bytes_lookup + wc_bytes_put_hint.
 *   - `users`: user profiles shared by every connection (no owner). A
 *     generic cache keyed by user id stored in the key pointer (no `equal`:
 *     identical pointers are equal keys), SIEVE, bounded, WC_THREAD_SAFE.
 * When a connection goes away its entries must go with it, and its storage
 * (which embeds the wc_owner) must not be freed while a worker may still
 * use the owner. The pattern: the connection is reference-counted, one
 * reference for being open and one per queued request. Whoever drops the
 * last reference - a worker finishing the last request, or the thread that
 * closes the connection - calls wc_owner_release() and frees it. Nothing
 * else can name the owner by then, so the release drops every entry.
 * Some connections are closed early by the main thread (a client that
 * disconnects); their queued requests are then skipped by the workers.
 *
 * The program checks the counters at the end (every value freed exactly
 * once, no entry left behind by a closed connection, hits + misses equal to
 * the lookups made) and prints "server: OK", or "server: FAILED ...".
 *
 * Build: see examples/c/CMakeLists.txt, or
 *   cc -std=c11 -pthread server.c $(pkg-config --cflags --libs weakcache) -o server
 */
#define _POSIX_C_SOURCE 200809L

#include <weakcache.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4
#define CONNECTIONS 64
#define REQUESTS_PER_CONN 40
#define PAGES 12            /* distinct page names */
#define USERS 50            /* distinct user ids */
#define EARLY_CLOSE_EVERY 5 /* every 5th connection disconnects early */

/* ---- values: counted, so that the end can prove each was freed once --- */

static atomic_long g_values_live;

static char *value_new(const char *fmt, const char *a, unsigned long b)
{
    char *v = malloc(64);
    if (v != NULL) {
        snprintf(v, 64, fmt, a, b);
        atomic_fetch_add(&g_values_live, 1);
    }
    return v;
}

/* free_value of both caches (the bytes cache calls it without context) */
static void value_free(void *value)
{
    free(value);
    atomic_fetch_sub(&g_values_live, 1);
}

static void value_free_ctx(void *ctx, void *value)
{
    (void)ctx;
    value_free(value);
}

/* ---- connections -------------------------------------------------------- */

typedef struct connection {
    wc_owner owner;          /* embedded: its entries in every cache */
    unsigned long id;
    unsigned long user;      /* the user logged in on this connection */
    atomic_int refs;         /* 1 while open + 1 per queued request */
    atomic_int closed;       /* the client disconnected */
} connection;

static wc_cache *g_pages, *g_users;
static atomic_long g_conns_freed, g_release_errors;

/* Drop a reference; the last one releases the owner's entries in every
 * cache and frees the connection. Called from any thread. */
static void conn_unref(connection *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (wc_owner_release(&c->owner) != WC_OK ||
        wc_owner_count(&c->owner, NULL) != 0)
        atomic_fetch_add(&g_release_errors, 1);
    free(c);
    atomic_fetch_add(&g_conns_freed, 1);
}

/* The client went away: drop the "open" reference (once). */
static void conn_close(connection *c)
{
    if (atomic_exchange(&c->closed, 1) == 0)
        conn_unref(c);
}

/* ---- the work queue ----------------------------------------------------- */

typedef struct request {
    connection *conn;
    unsigned page;
} request;

#define QUEUE_CAP 128

typedef struct queue {
    request items[QUEUE_CAP];
    size_t head, count;
    int done;                /* no more requests will come */
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
} queue;

static void queue_push(queue *q, request r)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == QUEUE_CAP)
        pthread_cond_wait(&q->nonfull, &q->mu);
    q->items[(q->head + q->count) % QUEUE_CAP] = r;
    q->count++;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->mu);
}

/* 1 and *r filled, or 0 when the queue is finished. */
static int queue_pop(queue *q, request *r)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->done)
        pthread_cond_wait(&q->nonempty, &q->mu);
    if (q->count == 0) {
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    *r = q->items[q->head];
    q->head = (q->head + 1) % QUEUE_CAP;
    q->count--;
    pthread_cond_signal(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
    return 1;
}

/* ---- the request handler ------------------------------------------------- */

typedef struct worker_stats {
    long handled, skipped, errors;
    long page_lookups, user_lookups;
} worker_stats;

/* Values handed out by a thread-safe cache are borrowed: another worker's
 * put may evict the entry and free the value right after the call. So the
 * handlers copy what they need while holding the cache's lock
 * (wc_cache_lock is recursive and the lookup takes it again inside), and
 * compute a missing value outside the lock. */

/* The user's profile: shared by all connections (owner NULL). */
static int user_profile(unsigned long user, char *out, size_t cap)
{
    void *key = (void *)(uintptr_t)(user + 1);   /* never a NULL key */
    uint64_t hash = user * 0x9E3779B97F4A7C15ull;
    void *v;
    wc_hint hint;
    int rc;

    wc_cache_lock(g_users);
    rc = wc_lookup(g_users, NULL, hash, key, &v, &hint);
    if (rc == WC_OK)
        snprintf(out, cap, "%s", (const char *)v);
    wc_cache_unlock(g_users);
    if (rc != WC_NOTFOUND)
        return rc;
    v = value_new("profile of %s%lu", "user", user);   /* the slow part */
    if (v == NULL)
        return WC_ENOMEM;
    snprintf(out, cap, "%s", (const char *)v);   /* before the cache owns it */
    rc = wc_put_hint(g_users, &hint, key, v, 1);   /* a full put if the */
    if (rc < 0) {                                  /* cache changed since */
        value_free(v);   /* not taken: still ours */
        return rc;
    }
    return WC_OK;
}

/* The page, rendered for this connection (its owner). */
static int render_page(connection *c, unsigned page, char *out, size_t cap)
{
    char name[16];
    int len = snprintf(name, sizeof name, "page%u", page);
    void *v;
    wc_hint hint;
    int rc;

    wc_cache_lock(g_pages);
    rc = wc_bytes_lookup(g_pages, &c->owner, name, (size_t)len, &v, &hint);
    if (rc == WC_OK)
        snprintf(out, cap, "%s", (const char *)v);
    wc_cache_unlock(g_pages);
    if (rc != WC_NOTFOUND)
        return rc;
    v = value_new("<%s for connection %lu>", name, c->id);
    if (v == NULL)
        return WC_ENOMEM;
    snprintf(out, cap, "%s", (const char *)v);
    rc = wc_bytes_put_hint(g_pages, &hint, name, (size_t)len, v, 1);
    if (rc < 0) {
        value_free(v);
        return rc;
    }
    return WC_OK;
}

/* What a connection must get: its own rendering of the page, its user's
 * profile. A mix-up between owners would show here. */
static int answer_ok(const connection *c, unsigned page, const char *html,
                     const char *profile)
{
    char want[64];
    snprintf(want, sizeof want, "<page%u for connection %lu>", page, c->id);
    if (strcmp(html, want) != 0)
        return 0;
    snprintf(want, sizeof want, "profile of user%lu", c->user);
    return strcmp(profile, want) == 0;
}

typedef struct worker {
    pthread_t thread;
    queue *q;
    worker_stats st;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    request r;
    while (queue_pop(w->q, &r)) {
        if (atomic_load(&r.conn->closed)) {
            w->st.skipped++;   /* the client is gone: nothing to answer */
        } else {
            char profile[64], html[64];
            if (user_profile(r.conn->user, profile, sizeof profile) != WC_OK ||
                render_page(r.conn, r.page, html, sizeof html) != WC_OK ||
                !answer_ok(r.conn, r.page, html, profile))
                w->st.errors++;
            w->st.user_lookups++;
            w->st.page_lookups++;
            w->st.handled++;
        }
        conn_unref(r.conn);   /* may be the last reference: closes it here */
    }
    return NULL;
}

/* ---- main --------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)   /* splitmix64 */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int fail(const char *what)
{
    printf("server: FAILED: %s\n", what);
    return 1;
}

int main(void)
{
    static const wc_ops value_ops = {NULL, NULL, value_free_ctx, NULL, NULL};
    static queue q;
    worker workers[WORKERS];
    connection *open_conns[CONNECTIONS];
    wc_config cfg;
    wc_stats pages, users;
    worker_stats total = {0, 0, 0, 0, 0};
    uint64_t rng = 12;
    int i, rc;

    /* Two thread-safe caches shared by every worker. */
    wc_config_init(&cfg);
    cfg.max_entries = 256;
    cfg.flags = WC_THREAD_SAFE;
    cfg.ops = &value_ops;   /* free_value releases what the caches took */
    rc = wc_bytes_cache_new_ex(&cfg, &g_pages);
    if (rc != WC_OK)
        return fail(wc_strerror(rc));
    cfg.max_entries = 32;   /* fewer than USERS: SIEVE evicts */
    cfg.policy = WC_POLICY_SIEVE;
    rc = wc_cache_new(&cfg, &g_users);
    if (rc != WC_OK)
        return fail(wc_strerror(rc));

    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.nonempty, NULL);
    pthread_cond_init(&q.nonfull, NULL);
    for (i = 0; i < WORKERS; i++) {
        memset(&workers[i].st, 0, sizeof workers[i].st);
        workers[i].q = &q;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
            return fail("pthread_create");
    }

    /* Accept the connections, then interleave their requests; every
     * EARLY_CLOSE_EVERY-th client disconnects halfway through. */
    for (i = 0; i < CONNECTIONS; i++) {
        connection *c = malloc(sizeof *c);
        if (c == NULL)
            return fail("out of memory");
        wc_owner_init(&c->owner);
        c->id = (unsigned long)i;
        c->user = (unsigned long)(rng_next(&rng) % USERS);
        atomic_init(&c->refs, 1);
        atomic_init(&c->closed, 0);
        open_conns[i] = c;
    }
    for (int round = 0; round < REQUESTS_PER_CONN; round++) {
        for (i = 0; i < CONNECTIONS; i++) {
            connection *c = open_conns[i];
            request r;
            if (c == NULL)
                continue;
            if (i % EARLY_CLOSE_EVERY == 0 && round == REQUESTS_PER_CONN / 2) {
                conn_close(c);          /* from the main thread */
                open_conns[i] = NULL;   /* our pointer may dangle from here */
                continue;
            }
            r.conn = c;
            r.page = (unsigned)(rng_next(&rng) % PAGES);
            atomic_fetch_add(&c->refs, 1);   /* the queued request's */
            queue_push(&q, r);
        }
    }
    /* The others close normally once everything is queued: the last
     * reference goes with their last request, on a worker thread or here. */
    for (i = 0; i < CONNECTIONS; i++)
        if (open_conns[i] != NULL)
            conn_close(open_conns[i]);

    pthread_mutex_lock(&q.mu);
    q.done = 1;
    pthread_cond_broadcast(&q.nonempty);
    pthread_mutex_unlock(&q.mu);
    for (i = 0; i < WORKERS; i++) {
        pthread_join(workers[i].thread, NULL);
        total.handled += workers[i].st.handled;
        total.skipped += workers[i].st.skipped;
        total.errors += workers[i].st.errors;
        total.page_lookups += workers[i].st.page_lookups;
        total.user_lookups += workers[i].st.user_lookups;
    }

    wc_cache_stats(g_pages, &pages);
    wc_cache_stats(g_users, &users);
    printf("server: %d workers, %d connections (%d closed early), %ld requests "
           "answered, %ld skipped\n", WORKERS, CONNECTIONS,
           (CONNECTIONS + EARLY_CLOSE_EVERY - 1) / EARLY_CLOSE_EVERY,
           total.handled, total.skipped);
    printf("  pages (per connection, LRU): hits %llu, misses %llu, released with "
           "their connection %llu, left %zu\n", (unsigned long long)pages.hits,
           (unsigned long long)pages.misses,
           (unsigned long long)pages.evictions[WC_EVICT_OWNER], pages.size);
    printf("  users (shared, SIEVE): hits %llu, misses %llu, evicted %llu, left %zu\n",
           (unsigned long long)users.hits, (unsigned long long)users.misses,
           (unsigned long long)users.evictions[WC_EVICT_CAPACITY], users.size);

    if (total.errors != 0)
        return fail("a cache call failed or served another connection's page");
    if (atomic_load(&g_conns_freed) != CONNECTIONS)
        return fail("a connection was not freed");
    if (atomic_load(&g_release_errors) != 0)
        return fail("a release left entries behind");
    if (total.handled + total.skipped !=
        (long)CONNECTIONS * REQUESTS_PER_CONN -
            (long)((CONNECTIONS + EARLY_CLOSE_EVERY - 1) / EARLY_CLOSE_EVERY) *
                (REQUESTS_PER_CONN - REQUESTS_PER_CONN / 2))
        return fail("requests lost");
    if (pages.hits + pages.misses != (uint64_t)total.page_lookups ||
        users.hits + users.misses != (uint64_t)total.user_lookups)
        return fail("hits + misses differ from the lookups made");
    if (pages.size != 0)   /* every page entry belonged to a connection */
        return fail("entries of closed connections are left");
    if (pages.evictions[WC_EVICT_OWNER] == 0 || users.hits == 0 || pages.hits == 0)
        return fail("the run did not exercise the caches");

    wc_cache_free(g_pages);
    wc_cache_free(g_users);
    if (atomic_load(&g_values_live) != 0)
        return fail("values were not freed exactly once");
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.nonempty);
    pthread_cond_destroy(&q.nonfull);
    printf("server: OK\n");
    return 0;
}
