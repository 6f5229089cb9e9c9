/*
 * async.h - the async part of lru_cache (async.c): the "ready" awaitable a
 * hit of a cached coroutine function returns, and its module state.
 *
 * Depends on compat.h only. lru.h includes it for AsyncState; the functions
 * that take a Wrapper are declared in lru.h (async.c section).
 */
#ifndef WC_PY_ASYNC_H
#define WC_PY_ASYNC_H

#include "compat.h"

/* The async part of the module state. */
typedef struct {
    PyTypeObject *ready_type;   /* weakcache._ready: not instantiable from Python */
} AsyncState;

/* Create the type and add it to the module. 0, or -1 with an exception. */
int wcpy_async_init(PyObject *module, AsyncState *st);
int wcpy_async_traverse(AsyncState *st, visitproc visit, void *arg);
void wcpy_async_clear(AsyncState *st);

/* An awaitable whose await returns `value` at once: no coroutine, Task or
 * Future. Steals the reference to value (released on failure too). */
PyObject *wcpy_async_ready(AsyncState *st, PyObject *value);

#endif /* WC_PY_ASYNC_H */
