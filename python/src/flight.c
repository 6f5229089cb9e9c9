/*
 * flight.c - thread single flight for lru_cache(lock=True).
 *
 * DATA STRUCTURE
 * ==============
 * A wrapper with lock=True has a dict of the flights in progress: flight
 * key (flight.h) -> a capsule holding a Flight. The first caller of a key
 * that misses (the leader) records a Flight whose PyThread lock it holds,
 * runs the miss path (the user's function, then the put), stores the
 * result or the exception in the Flight, unlinks it from the dict and
 * releases the lock. A later caller of the same key that misses finds the
 * Flight and waits on the lock, with the GIL released, then takes the
 * result. Callers of other keys never see that Flight, so different keys
 * never wait for each other. Hits never look at the dict.
 *
 * RULES
 * =====
 *  - Waiting is done in Py_BEGIN_ALLOW_THREADS, on a lock that only the
 *    leader holds, so other threads (the leader included) run meanwhile.
 *    A signal interrupts the wait in the main thread: its handler runs,
 *    and if it raises (KeyboardInterrupt) the waiter stops waiting and
 *    raises; the leader is unaffected.
 *  - A call that would wait for itself computes instead, as without lock:
 *    the same key called again from the leader's own thread (recursion),
 *    or a chain of waits that comes back to this thread (thread A leads
 *    x and waits for y, thread B leads y and calls x). Every thread notes
 *    the flight it waits for (a thread-local pointer the Flight of the
 *    leader points at), and a caller follows leader -> the flight that
 *    leader waits for -> ... before waiting. All of it under the GIL.
 *  - If the leader raises an Exception, every waiter raises that same
 *    exception object, and nothing is stored, so the next call computes
 *    again. If it raises a BaseException that is not an Exception
 *    (KeyboardInterrupt, SystemExit: about the leader's thread, not the
 *    key), each waiter computes the value itself instead.
 *  - Waiters hold a reference to the capsule, so the Flight outlives its
 *    removal from the dict; the result they return is the leader's, even
 *    when it was not stored (heavier than maxweight, owner gone).
 *  - fork(): a flight recorded in the parent has no leader in the child
 *    (the leader's thread was not copied). The Flight records the process
 *    id; a caller in another process drops such a flight and leads anew.
 *  - The flight key holds the owner's address, not the owner: the calls
 *    that use it hold the owner themselves (their args), so an owner can
 *    die only once no call of it is in flight; its entries then leave as
 *    usual.
 */
#include "flight.h"

#include <string.h>
#ifdef HAVE_FORK
#include <unistd.h>
#define current_pid() ((long)getpid())
#else
#define current_pid() 0L
#endif

#define FLIGHT_NAME "weakcache._flight"

typedef struct Flight {
    PyThread_type_lock lock;      /* held by the leader until done */
    unsigned long leader;         /* the leader's thread ident */
    struct Flight **leader_waits; /* the leader's `waiting_on`; NULL once done */
    PyObject *result;             /* the leader's result, or */
    PyObject *exc;                /* the exception it raised */
    long pid;                     /* the process that recorded it (fork) */
    int done;
    int nwaiters;                 /* callers in wait_for() (under the GIL) */
} Flight;

/* The flight this thread is waiting for (NULL: none). Read by other threads
 * through Flight.leader_waits, always under the GIL. */
static _Thread_local Flight *waiting_on;

static void flight_destroy(PyObject *capsule)
{
    Flight *f = PyCapsule_GetPointer(capsule, FLIGHT_NAME);
    if (f == NULL) {
        PyErr_WriteUnraisable(capsule);
        return;
    }
    PyThread_free_lock(f->lock);
    Py_XDECREF(f->result);
    Py_XDECREF(f->exc);
    PyMem_Free(f);
}

PyObject *wcpy_flight_key(PyObject *mark, PyObject *owner, PyObject *key)
{
    PyObject *addr, *fkey;
    if (owner == NULL)
        return Py_NewRef(key);
    addr = PyLong_FromVoidPtr(owner);
    if (addr == NULL)
        return NULL;
    fkey = PyTuple_Pack(3, mark, addr, key);
    Py_DECREF(addr);
    return fkey;
}

/* Would waiting for f wait for this thread, directly or through a chain? */
static int waits_for_me(Flight *f, unsigned long me)
{
    int hops;
    for (hops = 0; f != NULL && !f->done && hops < 100000; hops++) {
        if (f->leader == me)
            return 1;
        f = f->leader_waits != NULL ? *f->leader_waits : NULL;
    }
    return 0;
}

/* Once the flight is done and no caller waits for it any more, nobody
 * reads its outcome again: drop it, so that a Flight that could not be
 * unlinked (see lead()) keeps no result alive. The caller holds its own
 * reference to the outcome, so nothing is freed here. */
static void release_outcome(Flight *f)
{
    if (f->done && f->nwaiters == 0) {
        Py_CLEAR(f->result);
        Py_CLEAR(f->exc);
    }
}

static PyObject *wait_for(PyObject *capsule, Flight *f, wcpy_compute_fn compute, void *ctx)
{
    Flight *prev = waiting_on;   /* a signal handler may wait inside a wait */
    PyObject *r;

    Py_INCREF(capsule);
    waiting_on = f;
    f->nwaiters++;
    for (;;) {
        PyLockStatus st;
        Py_BEGIN_ALLOW_THREADS
        st = PyThread_acquire_lock_timed(f->lock, -1, 1);
        if (st == PY_LOCK_ACQUIRED)
            PyThread_release_lock(f->lock);   /* let the next waiter through */
        Py_END_ALLOW_THREADS
        if (st == PY_LOCK_ACQUIRED)
            break;
        if (PyErr_CheckSignals() < 0) {      /* interrupted, and a handler raised */
            waiting_on = prev;
            f->nwaiters--;
            release_outcome(f);
            Py_DECREF(capsule);
            return NULL;
        }
    }
    waiting_on = prev;
    f->nwaiters--;
    if (f->result != NULL) {
        r = Py_NewRef(f->result);
        release_outcome(f);
    } else if (f->exc != NULL && PyErr_GivenExceptionMatches(f->exc, PyExc_Exception)) {
        wc_error_raise(f->exc);   /* the raised exception holds it from here */
        release_outcome(f);
        r = NULL;
    } else {
        release_outcome(f);
        r = compute(ctx);   /* the leader was interrupted, not the key's computation */
    }
    Py_DECREF(capsule);
    return r;
}

/* Record a new flight for fkey, led by this thread: the capsule (new
 * reference) whose Flight's lock is held. If another thread recorded one
 * meanwhile (creating ours may run the collector, hence other threads),
 * *existing receives that one instead (new reference) and NULL is
 * returned; NULL with *existing NULL is an error. */
static PyObject *record_flight(PyObject *flights, PyObject *fkey, unsigned long me,
                               PyObject **existing)
{
    Flight *f = PyMem_Calloc(1, sizeof *f);
    PyObject *capsule, *cur;

    *existing = NULL;
    if (f == NULL)
        return PyErr_NoMemory();
    f->lock = PyThread_allocate_lock();
    if (f->lock == NULL) {
        PyMem_Free(f);
        return PyErr_NoMemory();
    }
    PyThread_acquire_lock(f->lock, NOWAIT_LOCK);   /* new: always free */
    f->leader = me;
    f->leader_waits = &waiting_on;
    f->pid = current_pid();
    capsule = PyCapsule_New(f, FLIGHT_NAME, flight_destroy);
    if (capsule == NULL) {
        PyThread_release_lock(f->lock);
        PyThread_free_lock(f->lock);
        PyMem_Free(f);
        return NULL;
    }
    /* From here the capsule frees f (its lock released first). */
    cur = PyDict_SetDefault(flights, fkey, capsule);   /* borrowed */
    if (cur == capsule)
        return capsule;
    Py_XINCREF(cur);
    *existing = cur;
    f->done = 1;
    f->leader_waits = NULL;
    PyThread_release_lock(f->lock);
    Py_DECREF(capsule);
    return NULL;
}

/* Run the flight this thread leads, then hand its outcome over. */
static PyObject *lead(PyObject *flights, PyObject *fkey, PyObject *capsule,
                      wcpy_compute_fn compute, void *ctx)
{
    Flight *f = PyCapsule_GetPointer(capsule, FLIGHT_NAME);
    PyObject *result = compute(ctx), *cur;

    if (result != NULL) {
        f->result = Py_NewRef(result);
    } else {
        f->exc = wc_error_take();
        if (f->exc == NULL) {
            PyErr_SetString(PyExc_SystemError, "weakcache: a miss failed without an exception");
            f->exc = wc_error_take();
        }
    }
    /* Unlink before waking the waiters. No exception is set here (ours is
     * in f->exc). The lookup may run the __eq__ of another key with the
     * same hash, which may call the cache and wait: the flight is not
     * marked done until after it, so that the wait-cycle check of such a
     * call still sees this thread as the leader (else: a deadlock). If the
     * unlink fails, the done flight stays in the dict; the next caller of
     * its key removes it (wcpy_flight_call) and it holds no outcome once
     * its waiters have taken it (release_outcome). */
    cur = PyDict_GetItemWithError(flights, fkey);
    if (cur == capsule) {
        if (PyDict_DelItem(flights, fkey) < 0)
            PyErr_WriteUnraisable(fkey);
    } else if (cur == NULL && PyErr_Occurred()) {
        PyErr_WriteUnraisable(fkey);
    }
    f->done = 1;
    f->leader_waits = NULL;
    PyThread_release_lock(f->lock);
    if (result == NULL && f->exc != NULL) {
        wc_error_raise(f->exc);   /* the raised exception holds it from here */
    }
    release_outcome(f);
    return result;
}

/* Is the flight in `capsule` one to join? No if it was recorded by the
 * parent of a fork (its leader does not exist here), or if it is done: a
 * flight is unlinked before it is marked done, unless the unlink failed. */
static int joinable(PyObject *capsule)
{
    Flight *f = PyCapsule_GetPointer(capsule, FLIGHT_NAME);
    return f == NULL || (f->pid == current_pid() && !f->done);   /* a bad capsule fails in join() */
}

/* Wait for the flight in `capsule` (borrowed), or compute if that would
 * wait for this very thread. */
static PyObject *join(PyObject *capsule, unsigned long me, wcpy_compute_fn compute, void *ctx)
{
    Flight *f = PyCapsule_GetPointer(capsule, FLIGHT_NAME);
    if (f == NULL)
        return NULL;
    if (f->done || waits_for_me(f, me))
        return compute(ctx);   /* recursion, or a cycle of waits: compute, as without lock */
    return wait_for(capsule, f, compute, ctx);
}

PyObject *wcpy_flight_call(PyObject *flights, PyObject *fkey, wcpy_compute_fn compute,
                           void *ctx)
{
    unsigned long me = PyThread_get_thread_ident();
    PyObject *capsule, *existing, *r;

    Py_INCREF(flights);   /* a tp_clear of the wrapper may drop its reference */
    capsule = PyDict_GetItemWithError(flights, fkey);
    if (capsule != NULL && !joinable(capsule)) {
        /* Left by the parent of a fork, or a done flight whose unlink failed. */
        if (PyDict_DelItem(flights, fkey) < 0) {
            Py_DECREF(flights);
            return NULL;
        }
        capsule = NULL;
    }
    if (capsule != NULL) {
        r = join(capsule, me, compute, ctx);
    } else if (PyErr_Occurred()) {
        r = NULL;
    } else if ((capsule = record_flight(flights, fkey, me, &existing)) != NULL) {
        r = lead(flights, fkey, capsule, compute, ctx);
        Py_DECREF(capsule);
    } else if (existing != NULL) {
        r = join(existing, me, compute, ctx);
        Py_DECREF(existing);
    } else {
        r = NULL;
    }
    Py_DECREF(flights);
    return r;
}
