/*
 * property.c - weakcache.cached_property at run time: __get__, __set__,
 * __delete__ and the three storages. A drop-in for functools.cached_property
 * that also works on __slots__ classes. How a property is bound to a class
 * and its types are made: property_class.c.
 *
 * STORAGE MODES
 * =============
 * Where a property keeps its values is decided once, by __set_name__, from
 * the class it is assigned to (the owner), in this order:
 *
 *   slot  The owner itself declares the reserved slot "_wc_cached_<name>"
 *         (weakcache.cached_slots("name") returns that name). The value lives
 *         in that slot: 8 bytes per instance, no __dict__. The offset is read
 *         once from the slot's member descriptor (PyMemberDescrObject, whose
 *         layout is the same in CPython 3.9 - 3.13), so a hit is a type check
 *         and one load. The slot is part of the instance's state: copy and
 *         pickle carry the cached value along, as they do for __dict__.
 *   dict  The owner's instances have a __dict__: the value is stored there
 *         under the property's name, exactly as functools does, and a hit is
 *         a plain instance attribute read that never reaches this file.
 *   weak  The owner has '__weakref__' in __slots__ but no reserved slot: the
 *         value goes to a wc_cache shared by all weak-mode properties (the
 *         Store below), keyed by (owner record of the instance, the
 *         property). The instance's owner record (owners.c) evicts it the
 *         moment the instance dies. Nothing is copied or pickled: a copy
 *         recomputes.
 *   Anything else (a __slots__ class with neither) is a TypeError naming the
 *   class, the property and both fixes.
 *
 * DATA OR NON-DATA
 * ================
 * In dict mode the property must be a non-data descriptor (no __set__), or
 * the instance __dict__ could not shadow it and every hit would be a call.
 * In slot and weak modes it must be a data descriptor, or `del obj.attr` and
 * `obj.attr = v` could not reach the slot or the store. Data-ness belongs to
 * the type, so there are two types with one layout: cached_property (non-
 * data) and a subclass that adds tp_descr_set (the "data twin", reachable as
 * cached_property._wc_data_type). __set_name__ moves the object between the
 * two (as `obj.__class__ = twin` would) and calls PyType_Modified(owner) so
 * that no attribute cache keeps the old kind. A Python subclass U of
 * cached_property gets its own twin, (U, data twin), built by
 * __init_subclass__. The object keeps its identity; isinstance(p,
 * cached_property) holds in every mode.
 *
 * SAFETY
 * ======
 * A descriptor can be called with any object (Foo.__dict__['x'].__get__(o)),
 * so a slot is read only after checking that the object is an instance of
 * the class that declared it. If the same property is bound to several
 * classes (dataclass(slots=True) re-creates its class), the last
 * __set_name__ decides; the other classes' instances then get a TypeError
 * where the storage does not fit them, never a wild read.
 *
 * RE-ENTRANCY AND THREADS
 * =======================
 * The user's function runs with nothing half-done: no pointer into a slot,
 * a dict or the store is held across it, and the storage is looked up again
 * when it returns. If a value was stored meanwhile, by a re-entrant access
 * or by another thread, that value wins: ours is dropped and every reader
 * sees the one stored value. So under concurrency the function may run more
 * than once per instance; cached_property(lock=True) serialises first
 * computations of that property under an RLock (functools <= 3.11) so that
 * it runs exactly once. The check-and-store runs no Python code in slot and
 * weak modes (in dict mode, only what a dict store may run: __eq__ of a
 * colliding key), so it is atomic under the GIL.
 *
 * One exception to "the stored value wins", for dict mode: when a subclass
 * overrides the property and its function reads super().attr, both use the
 * same __dict__ key; the base property sees that it is not the attribute
 * type(obj) resolves to and computes without touching the storage, so the
 * override's own result is the one cached (functools' result too).
 */
#include "property.h"

#include <string.h>

const char *const wcpy_property_mode_names[] = {NULL, "dict", "slot", "weak"};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void raise_unbound(void)
{
    PyErr_SetString(PyExc_TypeError,
                    "Cannot use cached_property instance without calling __set_name__ on it.");
}

static void raise_cleared(CachedProperty *self)
{
    PyErr_Format(PyExc_ReferenceError, "cached_property %R has been cleared",
                 self->name != NULL ? self->name : Py_None);
}

static void raise_not_instance(CachedProperty *self, PyObject *obj)
{
    if (self->owner == NULL) {
        raise_cleared(self);
        return;
    }
    PyErr_Format(PyExc_TypeError,
                 "cached_property %R stores its value in a slot of %s, which does not "
                 "apply to a '%.100s' object",
                 self->name, self->owner->tp_name, Py_TYPE(obj)->tp_name);
}

static void raise_not_weakrefable(CachedProperty *self, PyObject *obj)
{
    PyErr_Format(PyExc_TypeError,
                 "cached_property %R keeps its values in a weak-keyed store, but '%.100s' "
                 "objects cannot be weakly referenced",
                 self->name, Py_TYPE(obj)->tp_name);
}

static void raise_no_value(CachedProperty *self, PyObject *obj)
{
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%U'",
                 Py_TYPE(obj)->tp_name, self->name);
}

static PyObject *type_name_of(PyObject *obj)
{
    return PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
}

/* ------------------------------------------------------------------ */
/* Storage                                                             */
/* ------------------------------------------------------------------ */

/* Weak mode's store: one wc_cache per interpreter, shared by every
 * weak-mode property, held by a Store object (cached_property._wc_store).
 * Entries are (owner record of the instance, property) -> value; the key is
 * a strong reference to the property, compared by identity, so a property
 * outlives its entries. Sharing one cache gives each instance a single owner
 * group however many weak-mode properties it has: ten per-property caches
 * would cost every instance nine more group allocations (48 bytes each). */
static int store_traverse(PyObject *op, visitproc visit, void *arg)
{
    Store *self = (Store *)op;
    Py_VISIT(Py_TYPE(op));
    return wcpy_cache_traverse(self->cache, visit, arg);
}

static int store_clear(PyObject *op)
{
    Store *self = (Store *)op;
    if (self->cache != NULL)
        wc_clear(self->cache);
    return 0;
}

static void store_dealloc(PyObject *op)
{
    Store *self = (Store *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->cache != NULL) {
        wc_cache *cache = self->cache;
        self->cache = NULL;
        wc_cache_free(cache);
    }
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *store_repr(PyObject *op)
{
    return PyUnicode_FromFormat("<weakcache cached_property store, entries=%zu>",
                                wc_cache_size(((Store *)op)->cache));
}

static Py_ssize_t store_length(PyObject *op)
{
    return (Py_ssize_t)wc_cache_size(((Store *)op)->cache);
}

/* The store's cache, or NULL with ReferenceError (cleared by the GC). */
static wc_cache *store_cache(CachedProperty *self)
{
    if (self->store == NULL || ((Store *)self->store)->cache == NULL) {
        raise_cleared(self);
        return NULL;
    }
    return ((Store *)self->store)->cache;
}

/* wc_put (owner, self) -> value, taking new references for the cache. */
static int store_put(CachedProperty *self, wc_cache *cache, OwnerRef *rec, PyObject *value)
{
    int r = wcpy_put(cache, &rec->owner, self->key_hash, (PyObject *)self, value, 1);
    if (r != WC_OK) {
        wcpy_core_error(r);
        return -1;
    }
    return 0;
}

static int is_owner_instance(CachedProperty *self, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    return tp == self->owner || (self->owner != NULL && PyType_IsSubtype(tp, self->owner));
}

static PyObject **slot_of(CachedProperty *self, PyObject *obj)
{
    return (PyObject **)(void *)((char *)obj + self->offset);
}

/* obj.__dict__, as functools fetches it (new reference). */
static PyObject *instance_dict(CachedProperty *self, PyObject *obj)
{
    PyObject *d = PyObject_GetAttr(obj, self->state->str_dict), *tname;
    if (d != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return d;
    PyErr_Clear();
    tname = type_name_of(obj);
    if (tname == NULL)
        return NULL;
    PyErr_Format(PyExc_TypeError, "No '__dict__' attribute on %R instance to cache %R property.",
                 tname, self->name);
    Py_DECREF(tname);
    return NULL;
}

/* Dict mode: is type(obj)'s attribute another of our dict-mode properties
 * under the same name (an override calling super())? Then that one owns the
 * __dict__ key. 1, 0, or -1 with an exception. Borrowed lookups in type
 * dicts only (their keys are str): runs no Python code. */
static int shadowed_by_override(CachedProperty *self, PyObject *obj)
{
    PyTypeObject *cp_type = self->state->cached_property_type;
    PyObject *eff = wc_type_lookup(Py_TYPE(obj), self->name);
    if (eff == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (eff == (PyObject *)self || cp_type == NULL)
        return 0;
    return PyObject_TypeCheck(eff, cp_type) && ((CachedProperty *)eff)->mode == MODE_DICT;
}

/* Weak mode: the value stored for obj, as storage_lookup. The hit path of
 * weak mode: the owner record (an identity-keyed probe of the registry,
 * checked against the record's weak reference), then one wc_get keyed by
 * (record, property) with the property's precomputed hash. No Python code
 * runs on a hit. */
static int weak_lookup(CachedProperty *self, PyObject *obj, PyObject **out)
{
    OwnerRef *rec;
    wc_cache *cache;
    void *v;
    int r;

    *out = NULL;
    if (Py_TYPE(obj)->tp_weaklistoffset == 0) {
        raise_not_weakrefable(self, obj);
        return -1;
    }
    /* The record first: discarding a dead object's record runs decrefs. */
    rec = wcpy_owner_lookup(self->state->owners, obj);
    if (rec == NULL)
        return PyErr_Occurred() ? -1 : 0;
    cache = store_cache(self);
    if (cache == NULL)
        return -1;
    r = wc_get(cache, &rec->owner, self->key_hash, self, &v);
    if (r == WC_OK) {
        *out = (PyObject *)v;   /* retain_value gave us a reference */
        return 1;
    }
    if (r != WC_NOTFOUND) {
        wcpy_core_error(r);
        return -1;
    }
    return 0;
}

/* The stored value of obj: 1 and a new reference in *out, 0 if none, -1 on
 * error. */
static int storage_lookup(CachedProperty *self, PyObject *obj, PyObject **out)
{
    PyObject *d, *v;

    *out = NULL;
    switch (self->mode) {
    case MODE_SLOT:
        if (!is_owner_instance(self, obj)) {
            raise_not_instance(self, obj);
            return -1;
        }
        v = *slot_of(self, obj);
        if (v == NULL)
            return 0;
        *out = Py_NewRef(v);
        return 1;
    case MODE_DICT:
        d = instance_dict(self, obj);
        if (d == NULL)
            return -1;
        if (PyDict_Check(d)) {
            v = PyDict_GetItemWithError(d, self->name);
            Py_XINCREF(v);
        } else {
            v = PyObject_GetItem(d, self->name);
            if (v == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
                PyErr_Clear();
        }
        Py_DECREF(d);
        if (v == NULL)
            return PyErr_Occurred() ? -1 : 0;
        *out = v;
        return 1;
    case MODE_WEAK:
        return weak_lookup(self, obj, out);
    default:
        raise_unbound();
        return -1;
    }
}

/* Store `value` (borrowed) unless a value is stored already; return the
 * value that is stored afterwards (new reference), or NULL on error. */
static PyObject *storage_store_first(CachedProperty *self, PyObject *obj, PyObject *value)
{
    PyObject **slot, *d, *v, *tname;
    OwnerRef *rec;
    wc_cache *cache;
    int r;

    switch (self->mode) {
    case MODE_SLOT:
        if (!is_owner_instance(self, obj))   /* __class__ changed meanwhile */
            return Py_NewRef(value);
        slot = slot_of(self, obj);
        if (*slot == NULL)
            *slot = Py_NewRef(value);
        return Py_NewRef(*slot);
    case MODE_DICT:
        d = instance_dict(self, obj);
        if (d == NULL)
            return NULL;
        if (PyDict_Check(d)) {
            v = PyDict_SetDefault(d, self->name, value);
            Py_XINCREF(v);
            Py_DECREF(d);
            return v;
        }
        v = PyObject_GetItem(d, self->name);
        if (v != NULL || !PyErr_ExceptionMatches(PyExc_KeyError)) {
            Py_DECREF(d);
            return v;
        }
        PyErr_Clear();
        r = PyObject_SetItem(d, self->name, value);
        Py_DECREF(d);
        if (r == 0)
            return Py_NewRef(value);
        if (!PyErr_ExceptionMatches(PyExc_TypeError))
            return NULL;
        PyErr_Clear();
        tname = type_name_of(obj);
        if (tname == NULL)
            return NULL;
        PyErr_Format(PyExc_TypeError,
                     "The '__dict__' attribute on %R instance does not support item "
                     "assignment for caching %R property.",
                     tname, self->name);
        Py_DECREF(tname);
        return NULL;
    case MODE_WEAK:
        if (Py_TYPE(obj)->tp_weaklistoffset == 0) {
            raise_not_weakrefable(self, obj);
            return NULL;
        }
        /* The record first: creating it may run the collector. */
        rec = wcpy_owner_get_or_create(self->state->owners, obj);
        if (rec == NULL)
            return NULL;
        cache = store_cache(self);
        if (cache == NULL)
            return NULL;
        r = wc_get(cache, &rec->owner, self->key_hash, self, (void **)&v);
        if (r == WC_OK)
            return v;
        if (r != WC_NOTFOUND)
            return wcpy_core_error(r);
        if (store_put(self, cache, rec, value) < 0)
            return NULL;
        return Py_NewRef(value);
    default:
        return Py_NewRef(value);   /* unbound meanwhile: hand the value back */
    }
}

/* ------------------------------------------------------------------ */
/* __get__, __set__, __delete__                                        */
/* ------------------------------------------------------------------ */

static PyObject *call_func(CachedProperty *self, PyObject *obj)
{
    PyObject *func = self->func, *r;
    if (func == NULL) {
        raise_cleared(self);
        return NULL;
    }
    Py_INCREF(func);   /* the call may rebind or clear the property */
    r = PyObject_CallOneArg(func, obj);
    Py_DECREF(func);
    return r;
}

static int lock_acquire(PyObject *lock)
{
    PyObject *r = PyObject_CallMethod(lock, "acquire", NULL);
    Py_XDECREF(r);
    return r != NULL ? 0 : -1;
}

static void lock_release(PyObject *lock)
{
    wc_saved_error saved;
    PyObject *r;
    wc_error_save(&saved);
    r = PyObject_CallMethod(lock, "release", NULL);
    if (r == NULL)
        PyErr_WriteUnraisable(lock);
    Py_XDECREF(r);
    wc_error_restore(&saved);
}

/* The miss path: compute, then store unless someone stored first. */
static PyObject *compute_and_store(CachedProperty *self, PyObject *obj)
{
    PyObject *lock = self->lock, *value, *winner = NULL;
    int r;

    if (lock != NULL) {
        Py_INCREF(lock);
        if (lock_acquire(lock) < 0) {
            Py_DECREF(lock);
            return NULL;
        }
        r = storage_lookup(self, obj, &winner);   /* filled while we waited? */
        if (r != 0)
            goto done;
    }
    value = call_func(self, obj);
    if (value != NULL) {
        winner = storage_store_first(self, obj, value);
        Py_DECREF(value);
    }
done:
    if (lock != NULL) {
        lock_release(lock);
        Py_DECREF(lock);
    }
    return winner;
}

static PyObject *cp_get_slow(CachedProperty *self, PyObject *obj)
{
    PyObject *value;
    int r;

    if (self->mode == MODE_UNBOUND) {
        raise_unbound();
        return NULL;
    }
    if (self->func == NULL) {
        raise_cleared(self);
        return NULL;
    }
    if (self->mode == MODE_DICT) {
        r = shadowed_by_override(self, obj);
        if (r != 0)
            return r > 0 ? call_func(self, obj) : NULL;
    }
    r = storage_lookup(self, obj, &value);
    if (r != 0)
        return r > 0 ? value : NULL;
    return compute_and_store(self, obj);
}

PyObject *wcpy_cp_descr_get(PyObject *op, PyObject *obj, PyObject *type)
{
    CachedProperty *self = (CachedProperty *)op;
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(op);
    if (self->mode == MODE_SLOT) {   /* the hit path: a type check and a load */
        PyTypeObject *tp = Py_TYPE(obj);
        if (tp == self->owner || (self->owner != NULL && PyType_IsSubtype(tp, self->owner))) {
            PyObject *v = *slot_of(self, obj);
            if (v != NULL)
                return Py_NewRef(v);
        }
    } else if (self->mode == MODE_WEAK) {   /* the hit path: see weak_lookup */
        PyObject *v;
        int r = weak_lookup(self, obj, &v);
        if (r != 0)
            return v;   /* NULL on error */
    }
    return cp_get_slow(self, obj);
}

/* tp_descr_set of the data twin: obj.attr = value, del obj.attr. */
int wcpy_cp_descr_set(PyObject *op, PyObject *obj, PyObject *value)
{
    CachedProperty *self = (CachedProperty *)op;
    PyObject **slot, *old, *d;
    OwnerRef *rec;
    wc_cache *cache;
    int r;

    switch (self->mode) {
    case MODE_SLOT:
        if (self->owner == NULL) {
            raise_cleared(self);
            return -1;
        }
        if (!is_owner_instance(self, obj)) {
            raise_not_instance(self, obj);
            return -1;
        }
        slot = slot_of(self, obj);
        old = *slot;
        if (value == NULL && old == NULL) {
            raise_no_value(self, obj);
            return -1;
        }
        *slot = Py_XNewRef(value);
        Py_XDECREF(old);   /* last: may run arbitrary code */
        return 0;
    case MODE_WEAK:
        if (Py_TYPE(obj)->tp_weaklistoffset == 0) {
            raise_not_weakrefable(self, obj);
            return -1;
        }
        /* The record first (creating it may run the collector, discarding a
         * dead object's record runs decrefs), then the store. */
        rec = value != NULL ? wcpy_owner_get_or_create(self->state->owners, obj)
                            : wcpy_owner_lookup(self->state->owners, obj);
        if (rec == NULL && PyErr_Occurred())
            return -1;
        cache = store_cache(self);
        if (cache == NULL)
            return -1;
        if (value != NULL)
            return store_put(self, cache, rec, value) < 0 || PyErr_Occurred() ? -1 : 0;
        r = rec != NULL ? wc_remove(cache, &rec->owner, self->key_hash, self) : WC_NOTFOUND;
        if (PyErr_Occurred())
            return -1;
        if (r == WC_NOTFOUND) {
            raise_no_value(self, obj);
            return -1;
        }
        if (r != WC_OK) {
            wcpy_core_error(r);
            return -1;
        }
        return 0;
    case MODE_DICT:   /* only if the twin could not be left; behave like dict mode */
        d = instance_dict(self, obj);
        if (d == NULL)
            return -1;
        r = value != NULL ? PyObject_SetItem(d, self->name, value)
                          : PyObject_DelItem(d, self->name);
        Py_DECREF(d);
        if (r < 0 && value == NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            raise_no_value(self, obj);
        }
        return r;
    default:
        raise_unbound();
        return -1;
    }
}

/* Python-level __get__: the slot wrapper would reject __get__(None), which
 * functools.cached_property accepts (it returns the descriptor). */
PyObject *wcpy_cp_get_method(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "__get__ expected 1 or 2 arguments, got %zd", nargs);
        return NULL;
    }
    return wcpy_cp_descr_get(op, args[0] == Py_None ? NULL : args[0], nargs > 1 ? args[1] : NULL);
}

static PyType_Slot store_slots[] = {
    {Py_tp_dealloc, WC_SLOT_FN(store_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(store_traverse)},
    {Py_tp_clear, WC_SLOT_FN(store_clear)},
    {Py_tp_repr, WC_SLOT_FN(store_repr)},
    {Py_mp_length, WC_SLOT_FN(store_length)},
    {Py_tp_doc, (void *)"Where weak-mode cached_property values live (internal)."},
    {0, NULL},
};

PyType_Spec wcpy_store_spec = {
    "weakcache._CachedPropertyStore", sizeof(Store), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    store_slots,
};

PyObject *wcpy_store_new(PropState *st)
{
    PyTypeObject *tp = st->store_type;
    Store *self;
    wc_config config;
    int r;

    self = (Store *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        return NULL;
    wcpy_config_init(&config, &wcpy_identity_ops);
    r = wc_cache_new(&config, &self->cache);
    if (r != WC_OK) {
        Py_DECREF(self);
        return wcpy_core_error(r);
    }
    return (PyObject *)self;
}

