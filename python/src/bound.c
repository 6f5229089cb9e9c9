/*
 * bound.c - `obj.method` for a cached method, when it is not called at once.
 *
 * A small object holding the wrapper and a strong reference to obj, like a
 * bound method (it is one for every purpose users rely on: calling, equality
 * and hashing by (function, self), pickling and copying as getattr(obj,
 * name), inspect.signature without self, weakref.WeakMethod). Calls go
 * straight to the wrapper's call path with obj in front of the arguments;
 * cache_info() and cache_clear() concern obj's entries only.
 *
 * Re-entrancy: cache_clear() on an object that cannot be weakly referenced
 * removes its entries through an iterator (no lookups, so no __eq__), and
 * starts the iteration again when a removal's decrefs changed the cache.
 */
#include "lru.h"
#include "options.h"

#include <string.h>


static PyObject *bound_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    Bound *b = (Bound *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[8], **buf = small, *result;

    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        /* The caller lent us args[-1]: put self there, as bound methods do. */
        PyObject **a = (PyObject **)args - 1;
        PyObject *saved = a[0];
        a[0] = b->self;
        result = wcpy_wrapper_call(b->wrapper, a, (size_t)(nargs + 1), kwnames);
        a[0] = saved;
        return result;
    }
    if (total + 1 > (Py_ssize_t)(sizeof small / sizeof small[0])) {
        buf = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    buf[0] = b->self;
    if (total > 0)
        memcpy(buf + 1, args, (size_t)total * sizeof(PyObject *));
    result = wcpy_wrapper_call(b->wrapper, buf, (size_t)(nargs + 1), kwnames);
    if (buf != small)
        PyMem_Free(buf);
    return result;
}

PyObject *wcpy_bound_new(Wrapper *wrapper, PyObject *obj)
{
    Bound *b = PyObject_GC_New(Bound, wrapper->state->bound_type);
    if (b == NULL)
        return NULL;
    b->vectorcall = bound_vectorcall;
    b->wrapper = (Wrapper *)Py_NewRef(wrapper);
    b->self = Py_NewRef(obj);
    b->weakreflist = NULL;
    PyObject_GC_Track(b);
    return (PyObject *)b;
}

static int bound_traverse(PyObject *op, visitproc visit, void *arg)
{
    Bound *b = (Bound *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(b->wrapper);
    Py_VISIT(b->self);
    return 0;
}

static int bound_clear(PyObject *op)
{
    Bound *b = (Bound *)op;
    Py_CLEAR(b->wrapper);
    Py_CLEAR(b->self);
    return 0;
}

static void bound_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (((Bound *)op)->weakreflist != NULL)
        PyObject_ClearWeakRefs(op);   /* callbacks see a complete object */
    bound_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static int is_weakrefable(PyObject *obj)
{
    return Py_TYPE(obj)->tp_weaklistoffset != 0;
}

/* Fallback owners (not weakly referenceable) have unowned entries with the
 * owner first in the key. Is this entry one of obj's? Owned entries belong
 * to a weakrefable owner, even when obj is their key's first element. */
static int key_of_fallback_owner(const wc_item *item, PyObject *obj)
{
    return item->owner == NULL && wcpy_lru_key_starts_with(item->key, obj);
}

static PyObject *bound_cache_info(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    size_t n = 0;
    (void)unused;
    if (is_weakrefable(b->self)) {
        OwnerRef *rec = wcpy_owner_lookup(b->wrapper->state->owners, b->self);
        if (rec != NULL)
            n = wc_owner_count(&rec->owner, b->wrapper->cache);
    } else {
        wc_iter it;
        wc_item item;
        wc_iter_init(&it, b->wrapper->cache);
        while (wc_iter_next(&it, &item) == 1)
            n += (size_t)key_of_fallback_owner(&item, b->self);
    }
    return wcpy_wrapper_cache_info(b->wrapper, n);
}

/* cache_stats() of obj's entries: hits, misses and evictions of the whole
 * cache (as cache_info), currsize and weight of obj's entries (a scan). */
static PyObject *bound_cache_stats(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    OwnerRef *rec = NULL;
    size_t n = 0;
    uint64_t weight = 0;
    wc_iter it;
    wc_item item;
    (void)unused;
    if (is_weakrefable(b->self)) {
        rec = wcpy_owner_lookup(b->wrapper->state->owners, b->self);
        if (rec == NULL)
            return wcpy_options_cache_stats(b->wrapper, 0, 0);
    }
    wc_iter_init(&it, b->wrapper->cache);
    while (wc_iter_next(&it, &item) == 1) {   /* no callbacks run while iterating */
        if (rec != NULL ? item.owner == &rec->owner
                        : key_of_fallback_owner(&item, b->self)) {
            n++;
            weight += item.weight;
        }
    }
    return wcpy_options_cache_stats(b->wrapper, n, weight);
}

static PyObject *bound_cache_clear(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    (void)unused;
    if (is_weakrefable(b->self)) {
        OwnerRef *rec = wcpy_owner_lookup(b->wrapper->state->owners, b->self);
        if (rec != NULL) {
            Py_INCREF(rec);
            wc_cache_clear_owner(b->wrapper->cache, &rec->owner);
            Py_DECREF(rec);
        }
    } else {
        /* Remove through an iterator: no lookup, so no __hash__ or __eq__
         * runs and nothing can fail to settle. A removal's decrefs may change
         * the cache (the iterator then reports WC_ECHANGED): start again;
         * every pass that is cut short has removed an entry. */
        int r, removed;
        do {
            wc_iter it;
            wc_item item;
            removed = 0;
            wc_iter_init(&it, b->wrapper->cache);
            while ((r = wc_iter_next(&it, &item)) == 1) {
                if (!key_of_fallback_owner(&item, b->self))
                    continue;
                if (wc_iter_remove(&it) != WC_OK) {
                    r = WC_ECHANGED;
                    break;
                }
                removed = 1;
            }
        } while (r == WC_ECHANGED && removed);
    }
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* pickle / copy: like a bound method, rebuild as getattr(obj, name). */
static PyObject *bound_reduce(PyObject *op, PyObject *unused)
{
    Bound *b = (Bound *)op;
    PyObject *name, *builtins, *getattr_fn, *r;
    (void)unused;
    name = PyObject_GetAttrString((PyObject *)b->wrapper, "__name__");
    if (name == NULL)
        return NULL;
    builtins = PyEval_GetBuiltins();   /* borrowed */
    getattr_fn = builtins != NULL ? PyDict_GetItemString(builtins, "getattr") : NULL;
    if (getattr_fn == NULL) {
        Py_DECREF(name);
        PyErr_SetString(PyExc_RuntimeError, "builtins.getattr not found");
        return NULL;
    }
    r = Py_BuildValue("O(ON)", getattr_fn, b->self, name);
    return r;
}

/* inspect.signature(obj.m): the wrapper's signature without its first
 * parameter, as for a bound method. */
static PyObject *bound_signature(PyObject *op, void *closure)
{
    Bound *b = (Bound *)op;
    PyObject *inspect, *sig, *params = NULL, *values = NULL, *rest = NULL, *kw = NULL, *r = NULL;
    (void)closure;
    inspect = PyImport_ImportModule("inspect");
    if (inspect == NULL)
        return NULL;
    sig = PyObject_CallMethod(inspect, "signature", "O", (PyObject *)b->wrapper);
    Py_DECREF(inspect);
    if (sig == NULL)
        return NULL;
    params = PyObject_GetAttrString(sig, "parameters");
    if (params == NULL)
        goto done;
    values = PyObject_CallMethod(params, "values", NULL);
    if (values == NULL)
        goto done;
    rest = PySequence_List(values);
    if (rest == NULL)
        goto done;
    if (PyList_GET_SIZE(rest) > 0 && PySequence_DelItem(rest, 0) < 0)
        goto done;
    kw = Py_BuildValue("{s:O}", "parameters", rest);
    if (kw == NULL)
        goto done;
    {
        PyObject *replace = PyObject_GetAttrString(sig, "replace");
        if (replace == NULL)
            goto done;
        PyObject *empty = PyTuple_New(0);
        if (empty != NULL) {
            r = PyObject_Call(replace, empty, kw);
            Py_DECREF(empty);
        }
        Py_DECREF(replace);
    }
done:
    Py_XDECREF(kw);
    Py_XDECREF(rest);
    Py_XDECREF(values);
    Py_XDECREF(params);
    Py_DECREF(sig);
    return r;
}

/* Attributes that describe the function come from the wrapper, not from
 * this type (its __doc__ and __module__ would shadow them). */
static PyObject *bound_forward(PyObject *op, void *closure)
{
    return PyObject_GetAttrString((PyObject *)((Bound *)op)->wrapper, (const char *)closure);
}

/* _bound_method(func, obj): what weakref.WeakMethod uses to rebuild it. */
static PyObject *bound_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *func, *obj;
    LruState *st = wcpy_type_part_state(type, wcpy_lru_offset);
    if (kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "_bound_method() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "_bound_method", 2, 2, &func, &obj))
        return NULL;
    if (!PyObject_TypeCheck(func, st->wrapper_type)) {
        PyErr_SetString(PyExc_TypeError, "_bound_method() expects a weakcache lru_cache wrapper");
        return NULL;
    }
    return wcpy_bound_new((Wrapper *)func, obj);
}

/* Unknown attributes (cache_parameters, attributes set on the function) come
 * from the wrapper. Dunders do not: the wrapper's __copy__, __deepcopy__ or
 * __reduce_ex__ would make copy and pickle return the unbound wrapper. */
static PyObject *bound_getattro(PyObject *op, PyObject *name)
{
    PyObject *r = PyObject_GenericGetAttr(op, name);
    Py_ssize_t n;
    if (r != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    n = PyUnicode_GET_LENGTH(name);
    if (n > 4 && PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
        PyUnicode_READ_CHAR(name, n - 1) == '_' && PyUnicode_READ_CHAR(name, n - 2) == '_')
        return NULL;
    PyErr_Clear();
    return PyObject_GetAttr((PyObject *)((Bound *)op)->wrapper, name);
}

static PyObject *bound_repr(PyObject *op)
{
    Bound *b = (Bound *)op;
    PyObject *name = wcpy_wrapper_name(b->wrapper), *r;
    if (name == NULL)
        return NULL;
    r = PyUnicode_FromFormat("<weakcache bound method %U of %R>", name, b->self);
    Py_DECREF(name);
    return r;
}

static PyObject *bound_richcompare(PyObject *a, PyObject *b, int op)
{
    Bound *x, *y;
    int eq;
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    x = (Bound *)a;
    y = (Bound *)b;
    eq = x->wrapper == y->wrapper && x->self == y->self;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t bound_hash(PyObject *op)
{
    Bound *b = (Bound *)op;
    Py_hash_t h = (Py_hash_t)(((uintptr_t)b->wrapper >> 4) ^ ((uintptr_t)b->self * 31));
    return h == -1 ? -2 : h;
}

static PyMethodDef bound_methods[] = {
    {"cache_info", bound_cache_info, METH_NOARGS,
     "hits, misses and maxsize of the whole cache; currsize counts this instance's entries."},
    {"cache_clear", bound_cache_clear, METH_NOARGS, "Drop this instance's entries only."},
    {"cache_stats", bound_cache_stats, METH_NOARGS,
     "CacheStats of the whole cache; currsize and weight count this instance's entries."},
    {"__reduce__", bound_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef bound_members[] = {
    {"__self__", WC_T_OBJECT_EX, offsetof(Bound, self), WC_READONLY, NULL},
    {"__func__", WC_T_OBJECT_EX, offsetof(Bound, wrapper), WC_READONLY, NULL},
    {"__vectorcalloffset__", WC_T_PYSSIZET, offsetof(Bound, vectorcall), WC_READONLY, NULL},
    {"__weaklistoffset__", WC_T_PYSSIZET, offsetof(Bound, weakreflist), WC_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef bound_getset[] = {
    {"__signature__", bound_signature, NULL, NULL, NULL},
    {"__doc__", bound_forward, NULL, NULL, (void *)"__doc__"},
    {"__module__", bound_forward, NULL, NULL, (void *)"__module__"},
    {"__name__", bound_forward, NULL, NULL, (void *)"__name__"},
    {"__qualname__", bound_forward, NULL, NULL, (void *)"__qualname__"},
    {"__wrapped__", bound_forward, NULL, NULL, (void *)"__wrapped__"},
    /* Set on async wrappers for inspect.iscoroutinefunction (3.10/3.11). */
    {"__code__", bound_forward, NULL, NULL, (void *)"__code__"},
    {"__defaults__", bound_forward, NULL, NULL, (void *)"__defaults__"},
    {"__kwdefaults__", bound_forward, NULL, NULL, (void *)"__kwdefaults__"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot bound_slots[] = {
    {Py_tp_new, WC_SLOT_FN(bound_tp_new)},
    {Py_tp_getset, bound_getset},
    {Py_tp_dealloc, WC_SLOT_FN(bound_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(bound_traverse)},
    {Py_tp_clear, WC_SLOT_FN(bound_clear)},
    {Py_tp_call, WC_SLOT_FN(PyVectorcall_Call)},
    {Py_tp_getattro, WC_SLOT_FN(bound_getattro)},
    {Py_tp_repr, WC_SLOT_FN(bound_repr)},
    {Py_tp_richcompare, WC_SLOT_FN(bound_richcompare)},
    {Py_tp_hash, WC_SLOT_FN(bound_hash)},
    {Py_tp_methods, bound_methods},
    {Py_tp_members, bound_members},
    {0, NULL},
};

PyType_Spec wcpy_bound_spec = {
    "weakcache._bound_method", sizeof(Bound), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
        Py_TPFLAGS_IMMUTABLETYPE,
    bound_slots,
};

