/*
 * options.h - the keyword options of lru_cache / cache: ttl= + timer=,
 * maxweight= + weigher=, lock= (the single flight itself is flight.c), and
 * cache_stats().
 *
 * A wrapper created without any option has no WcOptions (Wrapper.opts is
 * NULL) and pays one pointer test per call. With options, the call path
 * calls, in this order and never while a core operation is in progress:
 *
 *     wcpy_options_tick()      before wc_get: reads the timer (ttl only)
 *     ... miss: the user's function ...
 *     wcpy_options_weigh()     the weigher (weigher only)
 *     wcpy_options_tick()      before wc_put (ttl only)
 *     wcpy_options_after_put() amortised sweep of expired entries
 *
 * The core's `now` hook (options_now) only reads the value the last tick
 * stored: no Python code ever runs inside a core callback for the clock.
 * The async path calls the same functions around its own get and put.
 */
#ifndef WC_PY_OPTIONS_H
#define WC_PY_OPTIONS_H

#include "lru.h"

typedef struct WcOptions {
    uint64_t now;          /* the clock's last reading in ticks (read by the core) */
    uint64_t ttl;          /* ticks (ns); 0: entries never expire */
    PyObject *timer;       /* ttl with a user timer (NULL with fast_clock) */
    PyObject *monotonic;   /* time.monotonic, if CLOCK_MONOTONIC cannot be read */
    char fast_clock;       /* the timer is time.monotonic: read CLOCK_MONOTONIC in C */
    PyObject *weigher;     /* NULL: every entry weighs 1 */
    uint64_t maxweight;    /* with has_maxweight: the bound (0 allowed) */
    char has_maxweight;
    size_t puts_since_sweep, sweep_after;
    PyObject *flights;     /* lock=True: dict flight key -> in-flight record */
} WcOptions;

/* The options part of the module state. */
typedef struct {
    PyObject *cache_stats_type;   /* weakcache.CacheStats */
    PyObject *monotonic;          /* time.monotonic, recognised as the default timer */
    PyObject *flight_mark;        /* first item of the flight keys of owned entries */
} OptState;

extern Py_ssize_t wcpy_options_offset;

/* Module part: CacheStats, _check_options. 0, or -1 with an exception. */
int wcpy_options_init(PyObject *module, OptState *st);
int wcpy_options_traverse(OptState *st, visitproc visit, void *arg);
void wcpy_options_clear(OptState *st);

/* Validate lock/ttl/timer/maxweight/weigher (each may be NULL for "not
 * given"; None means the default) and build the options: *out NULL when
 * all are defaults. 0, or -1 with TypeError/ValueError naming the
 * parameter. */
int wcpy_options_new(OptState *st, PyObject *lock, PyObject *ttl, PyObject *timer,
                     PyObject *maxweight, PyObject *weigher, WcOptions **out);
/* Fill the expiry and weight fields of a config (opts may be NULL). The
 * config keeps a pointer to opts (clock_ctx): free opts after the cache. */
void wcpy_options_config(WcOptions *opts, wc_config *cfg);
void wcpy_options_free(WcOptions *opts);
int wcpy_options_traverse_one(WcOptions *opts, visitproc visit, void *arg);
void wcpy_options_clear_one(WcOptions *opts);

/* Read the clock before a core call that needs the time. 0, or -1 with an
 * exception (the timer raised or returned something that is not a finite
 * number). No-op without ttl. */
int wcpy_options_tick_slow(WcOptions *opts);
static inline int wcpy_options_tick(WcOptions *opts)
{
    return opts != NULL && opts->ttl != 0 ? wcpy_options_tick_slow(opts) : 0;
}

/* The weight of a value about to be stored: 0 and *weight set (store it),
 * 1 (heavier than maxweight: return it without storing), -1 with an
 * exception (the weigher raised or returned a bad weight). */
int wcpy_options_weigh(Wrapper *w, PyObject *value, uint32_t *weight);

/* After a successful put: once the puts since the last sweep of a ttl
 * cache reach the size it had after that sweep (at least 256), drop the
 * expired entries (amortised O(1) per put), so an unbounded cache(ttl=...)
 * does not keep entries that are never asked for again. */
void wcpy_options_after_put(Wrapper *w);

/* CacheStats(hits, misses, currsize, weight, evictions) for the wrapper;
 * currsize and weight are the caller's (the whole cache, or one owner). */
PyObject *wcpy_options_cache_stats(Wrapper *w, size_t currsize, uint64_t weight);
/* Wrapper methods: cache_stats(), cache_expire(). */
PyObject *wcpy_wrapper_cache_stats(PyObject *op, PyObject *unused);
PyObject *wcpy_wrapper_cache_expire(PyObject *op, PyObject *unused);

#endif /* WC_PY_OPTIONS_H */
