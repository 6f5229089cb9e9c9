/*
 * flight.h - thread single flight for lru_cache(lock=True): concurrent
 * callers of one key wait for the first caller's result instead of
 * computing it again. See flight.c for the rules.
 *
 * Depends on compat.h only; lru.c hooks it into the miss path.
 */
#ifndef WC_PY_FLIGHT_H
#define WC_PY_FLIGHT_H

#include "compat.h"

/* The miss path to run once per key: call the user's function and store
 * the result. A new reference, or NULL with an exception set. */
typedef PyObject *(*wcpy_compute_fn)(void *ctx);

/* The flight key of an entry (new reference): `key` itself for unowned
 * entries (owner NULL), else (mark, id(owner), key). The caller's frame
 * holds the owner for the whole call, so its address cannot be reused
 * while the flight is recorded, and owners that compare equal (__eq__)
 * still fly apart, as their entries are apart. */
PyObject *wcpy_flight_key(PyObject *mark, PyObject *owner, PyObject *key);

/* Run compute(ctx) as the flight of `fkey` in `flights` (a dict of the
 * flights in progress, one per wrapper), or wait for the flight already
 * running and return its result (or raise its exception). */
PyObject *wcpy_flight_call(PyObject *flights, PyObject *fkey, wcpy_compute_fn compute,
                           void *ctx);

#endif /* WC_PY_FLIGHT_H */
