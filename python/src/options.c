/*
 * options.c - lru_cache's keyword options: validation, the clock, weights,
 * cache_stats() and cache_expire(). See options.h for the call order.
 *
 * TIME
 * ====
 * The core counts ticks; here a tick is a nanosecond of the user's timer,
 * biased by 2**63 so that a timer starting at 0 or going negative (a fake
 * clock in a test) still maps to increasing unsigned ticks. The timer is
 * called by wcpy_options_tick() before each core call that reads the clock,
 * never from inside the core: the `now` hook only returns opts->now. The
 * default timer, time.monotonic, is read in C (CLOCK_MONOTONIC, the clock
 * time.monotonic itself reads), which costs no Python call. A timer that
 * goes backwards is harmless: the core uses the highest reading so far.
 *
 * WEIGHTS
 * =======
 * The weigher runs after the user's function and before the put, with no
 * core operation in progress. Its result must be an int in [0, WC_WEIGHT_MAX].
 * A value heavier than maxweight is returned to the caller and not stored;
 * the core's own check (WC_ETOOBIG) is the backstop. maxweight=0 is allowed:
 * only entries of weight 0 are stored (the core's max_weight 0 means
 * "unbounded", so that bound is enforced here only).
 */
#include "options.h"

#include <math.h>
#include <string.h>
#include <time.h>

Py_ssize_t wcpy_options_offset;

#define TICK_BIAS (UINT64_C(1) << 63)
#define TTL_MAX_NS (UINT64_C(1) << 62)   /* about 146 years */
#define SWEEP_MIN 256                      /* puts between sweeps, at least */

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static int is_real_number(PyObject *o)
{
    return (PyFloat_Check(o) || PyLong_Check(o)) && !PyBool_Check(o);
}

static int parse_ttl(PyObject *ttl, uint64_t *out)
{
    double d, ns;
    if (!is_real_number(ttl)) {
        PyErr_Format(PyExc_TypeError, "ttl must be a number of seconds or None, not %.100s",
                     Py_TYPE(ttl)->tp_name);
        return -1;
    }
    d = PyFloat_AsDouble(ttl);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "ttl is too large to be a number of seconds");
        return -1;
    }
    if (isnan(d) || d <= 0) {
        PyErr_Format(PyExc_ValueError, "ttl must be a number of seconds > 0, not %R", ttl);
        return -1;
    }
    if (isinf(d)) {
        PyErr_SetString(PyExc_ValueError,
                        "ttl must be finite (use ttl=None for entries that never expire)");
        return -1;
    }
    ns = ceil(d * 1e9);
    *out = ns >= (double)TTL_MAX_NS ? TTL_MAX_NS : ns < 1 ? 1 : (uint64_t)ns;
    return 0;
}

static int parse_maxweight(PyObject *mw, uint64_t *out)
{
    int overflow = 0;
    long long v;
    if (!PyLong_Check(mw) || PyBool_Check(mw)) {
        PyErr_Format(PyExc_TypeError, "maxweight must be an int or None, not %.100s",
                     Py_TYPE(mw)->tp_name);
        return -1;
    }
    v = PyLong_AsLongLongAndOverflow(mw, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && v < 0)) {
        PyErr_Format(PyExc_ValueError, "maxweight must be >= 0, not %R", mw);
        return -1;
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(mw);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "maxweight must be < 2**64, not %R", mw);
            return -1;
        }
        *out = (uint64_t)u;
        return 0;
    }
    *out = (uint64_t)v;
    return 0;
}

int wcpy_options_new(OptState *st, PyObject *lock, PyObject *ttl, PyObject *timer,
                     PyObject *maxweight, PyObject *weigher, WcOptions **out)
{
    WcOptions o;
    int use_lock = 0;
    memset(&o, 0, sizeof o);
    *out = NULL;
    if (lock != NULL && (use_lock = PyObject_IsTrue(lock)) < 0)
        return -1;
    if (timer == Py_None)
        timer = NULL;
    if (timer != NULL && !PyCallable_Check(timer)) {
        PyErr_Format(PyExc_TypeError, "timer must be callable (e.g. time.monotonic), not %.100s",
                     Py_TYPE(timer)->tp_name);
        return -1;
    }
    if (ttl != NULL && ttl != Py_None && parse_ttl(ttl, &o.ttl) < 0)
        return -1;
    if (weigher == Py_None)
        weigher = NULL;
    if (weigher != NULL && !PyCallable_Check(weigher)) {
        PyErr_Format(PyExc_TypeError, "weigher must be callable (e.g. sys.getsizeof), not %.100s",
                     Py_TYPE(weigher)->tp_name);
        return -1;
    }
    if (maxweight != NULL && maxweight != Py_None) {
        if (parse_maxweight(maxweight, &o.maxweight) < 0)
            return -1;
        if (weigher == NULL) {
            PyErr_SetString(PyExc_TypeError,
                            "maxweight= needs weigher= (a function giving each value's weight, "
                            "e.g. weigher=sys.getsizeof)");
            return -1;
        }
        o.has_maxweight = 1;
    }
    if (!use_lock && o.ttl == 0 && weigher == NULL)
        return 0;   /* all defaults: no options record */
    if (o.ttl != 0) {
        if (timer == NULL || timer == st->monotonic) {
            o.fast_clock = 1;
            o.monotonic = Py_NewRef(st->monotonic);   /* fallback without CLOCK_MONOTONIC */
        } else {
            o.timer = Py_NewRef(timer);
        }
    }
    o.weigher = Py_XNewRef(weigher);
    o.sweep_after = SWEEP_MIN;
    if (use_lock && (o.flights = PyDict_New()) == NULL)
        goto error;
    *out = PyMem_Malloc(sizeof **out);
    if (*out == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    **out = o;
    return 0;
error:
    Py_XDECREF(o.timer);
    Py_XDECREF(o.monotonic);
    Py_XDECREF(o.weigher);
    Py_XDECREF(o.flights);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The clock                                                           */
/* ------------------------------------------------------------------ */

static uint64_t options_now(void *ctx)
{
    return ((const WcOptions *)ctx)->now;
}

void wcpy_options_config(WcOptions *opts, wc_config *cfg)
{
    if (opts == NULL)
        return;
    if (opts->ttl != 0) {
        cfg->ttl = opts->ttl;
        cfg->now = options_now;
        cfg->clock_ctx = opts;
    }
    /* maxweight 0 is enforced by wcpy_options_weigh alone (core: unbounded). */
    if (opts->has_maxweight)
        cfg->max_weight = opts->maxweight;
}

static uint64_t seconds_to_ticks(double t)
{
    double ns = t * 1e9;
    const double lim = (double)(UINT64_C(1) << 62);
    if (ns > lim)
        ns = lim;
    else if (ns < -lim)
        ns = -lim;
    return (uint64_t)(int64_t)ns + TICK_BIAS;
}

int wcpy_options_tick_slow(WcOptions *opts)
{
    PyObject *r;
    double t;
    if (opts->timer == NULL && opts->fast_clock) {
#ifdef CLOCK_MONOTONIC
        struct timespec ts;
        if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
            opts->now = (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec +
                        TICK_BIAS;
            return 0;
        }
#endif
        opts->fast_clock = 0;
        opts->timer = Py_XNewRef(opts->monotonic);
    }
    if (opts->timer == NULL)
        return 0;   /* tp_clear of a garbage wrapper dropped it: keep the last reading */
    r = PyObject_CallNoArgs(opts->timer);
    if (r == NULL)
        return -1;
    if (!is_real_number(r)) {
        PyErr_Format(PyExc_TypeError, "timer() must return a number of seconds, not %.100s",
                     Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        return -1;
    }
    t = PyFloat_AsDouble(r);
    if (t == -1.0 && PyErr_Occurred()) {
        Py_DECREF(r);
        return -1;
    }
    if (!isfinite(t)) {
        PyErr_Format(PyExc_ValueError, "timer() must return a finite number, not %R", r);
        Py_DECREF(r);
        return -1;
    }
    Py_DECREF(r);
    opts->now = seconds_to_ticks(t);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Weights and sweeping                                                */
/* ------------------------------------------------------------------ */

int wcpy_options_weigh(Wrapper *w, PyObject *value, uint32_t *weight)
{
    WcOptions *opts = w->opts;
    PyObject *r, *idx;
    long long v;
    int overflow = 0;

    *weight = 1;
    if (opts == NULL || opts->weigher == NULL)
        return 0;
    r = PyObject_CallOneArg(opts->weigher, value);
    if (r == NULL)
        return -1;
    if (!PyIndex_Check(r) || PyFloat_Check(r)) {
        PyErr_Format(PyExc_TypeError, "weigher must return an int, not %.100s",
                     Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        return -1;
    }
    idx = PyNumber_Index(r);
    if (idx == NULL) {
        Py_DECREF(r);
        return -1;
    }
    v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred()) {
        Py_DECREF(r);
        return -1;
    }
    if (overflow != 0 || v < 0 || (unsigned long long)v > WC_WEIGHT_MAX) {
        PyErr_Format(PyExc_ValueError, "weigher returned %R; a weight must be an int "
                     "between 0 and %lu", r, (unsigned long)WC_WEIGHT_MAX);
        Py_DECREF(r);
        return -1;
    }
    Py_DECREF(r);
    *weight = (uint32_t)v;
    if (opts->has_maxweight && (uint64_t)v > opts->maxweight)
        return 1;
    return 0;
}

void wcpy_options_after_put(Wrapper *w)
{
    WcOptions *opts = w->opts;
    size_t size;
    if (opts == NULL || opts->ttl == 0 || ++opts->puts_since_sweep < opts->sweep_after)
        return;
    /* The clock was read just before the put. Releasing the dropped values
     * may run Python code; no core call is in progress here. A sweep of n
     * entries comes after at least n/2 puts: O(1) amortised per put. */
    opts->puts_since_sweep = 0;
    wc_cache_expire(w->cache, NULL);
    size = wc_cache_size(w->cache);
    opts->sweep_after = size > SWEEP_MIN ? size : SWEEP_MIN;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

void wcpy_options_free(WcOptions *opts)
{
    if (opts == NULL)
        return;
    wcpy_options_clear_one(opts);
    PyMem_Free(opts);
}

int wcpy_options_traverse_one(WcOptions *opts, visitproc visit, void *arg)
{
    if (opts == NULL)
        return 0;
    Py_VISIT(opts->timer);
    Py_VISIT(opts->monotonic);
    Py_VISIT(opts->weigher);
    Py_VISIT(opts->flights);
    return 0;
}

void wcpy_options_clear_one(WcOptions *opts)
{
    if (opts == NULL)
        return;
    Py_CLEAR(opts->timer);
    Py_CLEAR(opts->monotonic);
    Py_CLEAR(opts->weigher);   /* weight 1 from now on (a garbage wrapper) */
    Py_CLEAR(opts->flights);
}

/* ------------------------------------------------------------------ */
/* cache_stats(), cache_expire()                                       */
/* ------------------------------------------------------------------ */

PyObject *wcpy_options_cache_stats(Wrapper *w, size_t currsize, uint64_t weight)
{
    OptState *st = wcpy_type_part_state(Py_TYPE(w), wcpy_options_offset);
    wc_stats stats;
    PyObject *evictions;
    int i;
    if (st == NULL || st->cache_stats_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "weakcache: the module is being torn down");
        return NULL;
    }
    wcpy_wrapper_stats(w, &stats);
    evictions = PyDict_New();
    if (evictions == NULL)
        return NULL;
    for (i = 0; i < WC_EVICT__COUNT; i++) {
        PyObject *n = PyLong_FromUnsignedLongLong((unsigned long long)stats.evictions[i]);
        if (n == NULL ||
            PyDict_SetItemString(evictions, wc_evict_cause_name((wc_evict_cause)i), n) < 0) {
            Py_XDECREF(n);
            Py_DECREF(evictions);
            return NULL;
        }
        Py_DECREF(n);
    }
    return PyObject_CallFunction(
        st->cache_stats_type, "KKnKN", (unsigned long long)(stats.hits - w->hits_base),
        (unsigned long long)(stats.misses + w->uncached_misses - w->misses_base),
        (Py_ssize_t)currsize, (unsigned long long)weight, evictions);
}

PyObject *wcpy_wrapper_cache_stats(PyObject *op, PyObject *unused)
{
    Wrapper *w = (Wrapper *)op;
    wc_stats stats;
    (void)unused;
    wcpy_wrapper_stats(w, &stats);
    return wcpy_options_cache_stats(w, stats.size, stats.weight);
}

PyObject *wcpy_wrapper_cache_expire(PyObject *op, PyObject *unused)
{
    Wrapper *w = (Wrapper *)op;
    size_t dropped = 0;
    int r;
    (void)unused;
    if (w->opts == NULL || w->opts->ttl == 0)
        return PyLong_FromLong(0);
    if (wcpy_options_tick(w->opts) < 0)
        return NULL;
    r = wc_cache_expire(w->cache, &dropped);
    if (r != WC_OK)
        return wcpy_core_error(r);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSize_t(dropped);
}

/* ------------------------------------------------------------------ */
/* Module part                                                         */
/* ------------------------------------------------------------------ */

/* _check_options(lock, ttl, timer, maxweight, weigher): the validation of
 * lru_cache(...)'s keywords, run when the decorator is made so that a bad
 * keyword fails at once rather than when a function is decorated. */
static PyObject *check_options(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    OptState *st = wcpy_part_state(module, wcpy_options_offset);
    WcOptions *opts;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "_check_options() takes 5 arguments");
        return NULL;
    }
    if (wcpy_options_new(st, args[0], args[1], args[2], args[3], args[4], &opts) < 0)
        return NULL;
    wcpy_options_free(opts);
    Py_RETURN_NONE;
}

static PyMethodDef check_options_def = {
    "_check_options", (PyCFunction)(void (*)(void))check_options, METH_FASTCALL,
    "Validate lru_cache's keyword options (internal)."};

int wcpy_options_init(PyObject *module, OptState *st)
{
    PyObject *time_mod, *fn;
    wcpy_options_offset = wcpy_part_offset(module, st);
    st->cache_stats_type = wcpy_namedtuple("CacheStats", "hits misses currsize weight evictions");
    if (st->cache_stats_type == NULL ||
        PyModule_AddObjectRef(module, "CacheStats", st->cache_stats_type) < 0)
        return -1;
    time_mod = PyImport_ImportModule("time");
    if (time_mod == NULL)
        return -1;
    st->monotonic = PyObject_GetAttrString(time_mod, "monotonic");
    Py_DECREF(time_mod);
    if (st->monotonic == NULL)
        return -1;
    st->flight_mark = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (st->flight_mark == NULL)
        return -1;
    fn = PyCFunction_NewEx(&check_options_def, module, NULL);
    if (fn == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "_check_options", fn) < 0) {
        Py_DECREF(fn);
        return -1;
    }
    Py_DECREF(fn);
    return 0;
}

int wcpy_options_traverse(OptState *st, visitproc visit, void *arg)
{
    Py_VISIT(st->cache_stats_type);
    Py_VISIT(st->monotonic);
    Py_VISIT(st->flight_mark);
    return 0;
}

void wcpy_options_clear(OptState *st)
{
    Py_CLEAR(st->cache_stats_type);
    Py_CLEAR(st->monotonic);
    Py_CLEAR(st->flight_mark);
}
