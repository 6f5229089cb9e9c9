/*
 * async.c - lru_cache / cache on `async def` functions and methods.
 *
 * An async wrapper (lru.c, with async_miss set by _async_enable) caches the
 * *awaited result* under the same (owner, key) rules as a sync one:
 *
 *   hit   the C call returns a _ready object: an awaitable whose first step
 *         returns the stored value (am_send, so no exception at all, on
 *         3.10/3.11; StopIteration from tp_iternext where the interpreter
 *         asks for that). No coroutine, no Task, no Future, no Python code.
 *         On 3.12+, whose await steps such objects through tp_iternext
 *         only, _async.py passes a `hit` coroutine function instead (a
 *         coroutine that returns the value is cheaper there than the
 *         StopIteration); wcpy_async_hit() calls it.
 *   miss  the C call returns async_miss(wrapper, owner, key, hash, *args,
 *         **kwargs), a coroutine of weakcache/_async.py that, once awaited,
 *         joins the computation of that key in flight on the running loop
 *         or starts one, and stores the result back with _async_store.
 *
 * _ready is also a collections.abc.Coroutine (it has send, throw and
 * close), so asyncio.create_task() and asyncio.iscoroutine() accept what a
 * cached coroutine function returns, hit or miss.
 *
 * LIFETIMES
 * =========
 * A _ready holds the value only. The miss coroutine holds its arguments (the
 * owner among them) as any coroutine does; the flight table of _async.py
 * holds the owner weakly. Nothing here keeps an owner alive.
 *
 * RE-ENTRANCY
 * ===========
 * The key's hash is computed once, by the call (key.c), and travels with
 * the key through _async.py. _async_peek reads the ttl clock (options.h)
 * before the cache is touched, then makes one core call, which
 * the core keeps consistent across __eq__ and decrefs (see lru.c);
 * _async_store goes through lru.c's store (weigher, clock, put), as a sync
 * miss does. The owner is a strong reference of the caller's, so its record
 * outlives the call.
 */
#include "lru.h"
#include "options.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* _ready: the awaitable of a hit                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *value;
} Ready;

PyObject *wcpy_async_ready(AsyncState *st, PyObject *value)
{
    Ready *r = PyObject_GC_New(Ready, st->ready_type);
    if (r == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    r->value = value;
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

/* Raise StopIteration(value), the way a finished coroutine returns. A tuple
 * or an exception passed as is would be taken for the exception's
 * arguments or the exception itself, so those are wrapped first. */
static PyObject *ready_next(PyObject *op)
{
    PyObject *value = ((Ready *)op)->value;
    if (PyTuple_Check(value) || PyExceptionInstance_Check(value)) {
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
        if (stop == NULL)
            return NULL;
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    } else {
        PyErr_SetObject(PyExc_StopIteration, value);
    }
    return NULL;
}

static int check_send_none(PyObject *arg)
{
    if (arg == Py_None)
        return 0;
    PyErr_SetString(PyExc_TypeError, "can't send non-None value to a just-started coroutine");
    return -1;
}

/* The interpreter's `await` (3.10/3.11) and PyIter_Send: no exception at all. */
static PySendResult ready_am_send(PyObject *op, PyObject *arg, PyObject **result)
{
    if (check_send_none(arg) < 0) {
        *result = NULL;
        return PYGEN_ERROR;
    }
    *result = Py_NewRef(((Ready *)op)->value);
    return PYGEN_RETURN;
}

static PyObject *ready_send(PyObject *op, PyObject *arg)
{
    if (check_send_none(arg) < 0)
        return NULL;
    return ready_next(op);
}

/* throw(exc) / throw(type[, value[, tb]]): raised where the coroutine would
 * have started, as for a coroutine that has not run yet. */
static PyObject *ready_throw(PyObject *op, PyObject *args)
{
    PyObject *typ, *val = Py_None, *tb = Py_None;
    (void)op;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &typ, &val, &tb))
        return NULL;
    if (PyExceptionInstance_Check(typ)) {
        if (val != Py_None) {
            PyErr_SetString(PyExc_TypeError, "instance exception may not have a separate value");
            return NULL;
        }
        if (tb != Py_None && PyException_SetTraceback(typ, tb) < 0)
            return NULL;
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    } else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, val);
    } else {
        PyErr_Format(PyExc_TypeError,
                     "exceptions must be classes or instances deriving from BaseException, not %s",
                     Py_TYPE(typ)->tp_name);
    }
    return NULL;
}

static PyObject *ready_close(PyObject *op, PyObject *unused)
{
    (void)op;
    (void)unused;
    Py_RETURN_NONE;
}

static PyObject *ready_await(PyObject *op)
{
    return Py_NewRef(op);
}

static int ready_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(((Ready *)op)->value);
    return 0;
}

static int ready_clear(PyObject *op)
{
    Py_CLEAR(((Ready *)op)->value);
    return 0;
}

static void ready_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    Py_XDECREF(((Ready *)op)->value);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef ready_methods[] = {
    {"send", ready_send, METH_O, "send(None): finish at once with the cached result."},
    {"throw", ready_throw, METH_VARARGS, "throw(exc): raise exc, as an unstarted coroutine would."},
    {"close", ready_close, METH_NOARGS, "Nothing to close: the result is already there."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ready_slots[] = {
    {Py_am_await, WC_SLOT_FN(ready_await)},
    {Py_am_send, WC_SLOT_FN(ready_am_send)},
    {Py_tp_iter, WC_SLOT_FN(PyObject_SelfIter)},
    {Py_tp_iternext, WC_SLOT_FN(ready_next)},
    {Py_tp_dealloc, WC_SLOT_FN(ready_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(ready_traverse)},
    {Py_tp_clear, WC_SLOT_FN(ready_clear)},
    {Py_tp_methods, ready_methods},
    {Py_tp_doc, (void *)"The awaitable a cache hit of an async cached function returns: "
                        "awaiting it returns the cached result at once (every time)."},
    {0, NULL},
};

static PyType_Spec ready_spec = {
    "weakcache._ready", sizeof(Ready), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    ready_slots,
};

/* ------------------------------------------------------------------ */
/* The miss path and the wrapper's private methods                     */
/* ------------------------------------------------------------------ */

PyObject *wcpy_async_miss(Wrapper *self, PyObject *owner_obj, void *probe, Py_hash_t hash,
                          PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[12], **buf = small, *coro = NULL, *key, *hash_obj;

    key = wcpy_lru_probe_key(probe);
    if (key == NULL)
        return NULL;
    hash_obj = PyLong_FromSsize_t(hash);
    if (hash_obj == NULL)
        goto done;
    if (total + 4 > (Py_ssize_t)(sizeof small / sizeof small[0])) {
        buf = PyMem_Malloc((size_t)(total + 4) * sizeof(PyObject *));
        if (buf == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    buf[0] = (PyObject *)self;
    buf[1] = owner_obj != NULL ? owner_obj : Py_None;
    buf[2] = key;
    buf[3] = hash_obj;
    if (total > 0)
        memcpy(buf + 4, args, (size_t)total * sizeof(PyObject *));
    coro = PyObject_Vectorcall(self->async_miss, buf, (size_t)(nargs + 4), kwnames);
    if (buf != small)
        PyMem_Free(buf);
done:
    Py_XDECREF(hash_obj);
    Py_DECREF(key);
    return coro;
}

/* The hash a call computed for its key, handed back by _async.py. */
static int hash_arg(PyObject *obj, Py_hash_t *hash)
{
    *hash = PyLong_AsSsize_t(obj);
    return *hash == -1 && PyErr_Occurred() ? -1 : 0;
}

static Wrapper *async_wrapper(PyObject *op)
{
    Wrapper *self = (Wrapper *)op;
    if (self->async_miss == NULL) {
        PyErr_SetString(PyExc_TypeError, "not the wrapper of a coroutine function");
        return NULL;
    }
    return self;
}

PyObject *wcpy_async_hit(Wrapper *self, PyObject *value)
{
    PyObject *r;
    if (self->async_hit == NULL)
        return wcpy_async_ready(self->state->async, value);
    r = PyObject_Vectorcall(self->async_hit, &value, 1, NULL);
    Py_DECREF(value);
    return r;
}

PyObject *wcpy_async_enable(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Wrapper *self = (Wrapper *)op;
    PyObject *hit = nargs > 1 && args[1] != Py_None ? args[1] : NULL;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "_async_enable(miss, hit=None) takes 1 or 2 arguments");
        return NULL;
    }
    if (self->async_miss != NULL) {
        PyErr_SetString(PyExc_TypeError, "this wrapper already caches awaited results");
        return NULL;
    }
    if (!PyCallable_Check(args[0]) || (hit != NULL && !PyCallable_Check(hit))) {
        PyErr_SetString(PyExc_TypeError, "_async_enable() expects callables");
        return NULL;
    }
    if (wcpy_wrapper_unflatten(self) < 0)   /* awaited results go through the core */
        return NULL;
    if (self->async_miss != NULL) {   /* enabled by code the move ran */
        PyErr_SetString(PyExc_TypeError, "this wrapper already caches awaited results");
        return NULL;
    }
    self->async_hit = Py_XNewRef(hit);
    self->async_miss = Py_NewRef(args[0]);
    Py_RETURN_NONE;
}

PyObject *wcpy_async_store(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Wrapper *self = async_wrapper(op);
    PyObject *owner;
    Py_hash_t hash;
    if (self == NULL)
        return NULL;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "_async_store(owner, key, hash, value) takes 4 arguments");
        return NULL;
    }
    if (self->maxsize == 0)   /* nothing is ever stored (the call path never gets here) */
        Py_RETURN_NONE;
    owner = args[0] != Py_None ? args[0] : NULL;
    /* The key object is a valid probe of itself (key.c), under the hash the
     * call computed for it (for a wrapped lone argument: hash(x)). */
    if (hash_arg(args[2], &hash) < 0 || wcpy_wrapper_store(self, owner, args[1], hash, args[3]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *wcpy_async_peek(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Wrapper *self = async_wrapper(op);
    PyObject *value = NULL;
    OwnerRef *rec = NULL;
    Py_hash_t hash;
    int r;
    if (self == NULL)
        return NULL;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "_async_peek(owner, key, hash, default) takes 4 arguments");
        return NULL;
    }
    if (hash_arg(args[2], &hash) < 0 || wcpy_options_tick(self->opts) < 0)   /* ttl: the clock */
        return NULL;
    if (args[0] != Py_None) {
        rec = wcpy_owner_lookup(self->state->owners, args[0]);
        if (rec == NULL)
            return Py_NewRef(args[3]);
    }
    r = wc_peek(self->cache, rec != NULL ? &rec->owner : NULL, (uint64_t)hash,
                wcpy_lru_key_probe_form(args[1]), (void **)&value);
    if (r == WC_OK)
        return value;   /* retain_value gave us our reference */
    if (r == WC_NOTFOUND)
        return Py_NewRef(args[3]);
    return wcpy_core_error(r);
}

/* ------------------------------------------------------------------ */
/* Setup and teardown                                                  */
/* ------------------------------------------------------------------ */

int wcpy_async_init(PyObject *module, AsyncState *st)
{
    st->ready_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &ready_spec, NULL);
    if (st->ready_type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "_ready", (PyObject *)st->ready_type);
}

int wcpy_async_traverse(AsyncState *st, visitproc visit, void *arg)
{
    Py_VISIT(st->ready_type);
    return 0;
}

void wcpy_async_clear(AsyncState *st)
{
    Py_CLEAR(st->ready_type);
}
