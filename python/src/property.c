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
 *         layout is the same in CPython 3.10 - 3.13), so a hit is a type check
 *         and one load. The slot is part of the instance's state: copy and
 *         pickle carry the cached value along, as they do for __dict__.
 *   dict  The owner's instances have a __dict__: the value is stored there
 *         under the property's name, exactly as functools does, and a hit is
 *         a plain instance attribute read that never reaches this file.
 *   weak  The owner has '__weakref__' in __slots__ but no reserved slot: the
 *         value goes to a wc_cache shared by all weak-mode properties (the
 *         Store below), which holds one entry per instance, keyed by the
 *         instance's owner record: a Values object, the instance's
 *         (property, value) pairs. The owner record (owners.c) evicts the
 *         entry the moment the instance dies. Nothing is copied or pickled:
 *         a copy recomputes.
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
 * One exception to "the stored value wins", for dict mode and for a shared
 * slot: when a subclass overrides the property and its function reads
 * super().attr, both use the same __dict__ key (or the base's reserved slot,
 * which an override without a slot of its own shares, see choose_storage);
 * the base property sees that it is not the attribute type(obj) resolves to
 * and computes without touching the storage, so the override's own result is
 * the one cached (functools' result too).
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
 * It has one entry per instance: (owner record of the instance, None) ->
 * Values, the instance's (property, value) pairs in a small array (strong
 * references to both, so a property outlives its values and its address is
 * never reused while they exist). A hit is the owner record, one wc_get and
 * a scan of a few adjacent pairs. One entry per instance rather than one per
 * (instance, property) keeps the table ten times smaller for ten properties,
 * which matters at scale: a lookup walks a bucket chain, one cache miss per
 * link, and a table of 500 000 entries no longer fits the CPU caches; it
 * also saves an 80-byte entry per value. The whole array is scanned, so the
 * cost of a hit grows with the number of weak-mode properties used on one
 * instance (a few nanoseconds for ten). */
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

/* len(store): the number of values (not of entries). Iterating runs no
 * Python code. */
static Py_ssize_t store_length(PyObject *op)
{
    wc_cache *cache = ((Store *)op)->cache;
    wc_iter it;
    wc_item item;
    Py_ssize_t n = 0;
    if (cache == NULL)
        return 0;
    wc_iter_init(&it, cache);
    while (wc_iter_next(&it, &item) == 1)
        n += ((Values *)item.value)->len;
    return n;
}

static PyObject *store_repr(PyObject *op)
{
    return PyUnicode_FromFormat("<weakcache cached_property store, instances=%zu, values=%zd>",
                                wc_cache_size(((Store *)op)->cache), store_length(op));
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

/* Values: one instance's weak-mode values. */
static int values_traverse(PyObject *op, visitproc visit, void *arg)
{
    Values *self = (Values *)op;
    Py_ssize_t i;
    Py_VISIT(Py_TYPE(op));
    for (i = 0; i < self->len; i++) {
        Py_VISIT(self->pairs[i].prop);
        Py_VISIT(self->pairs[i].value);
    }
    return 0;
}

/* Detach the pairs first, so that the decrefs (which may run any code,
 * including code that stores values here again) see an empty object. */
static int values_clear(PyObject *op)
{
    Values *self = (Values *)op;
    ValuePair *pairs = self->pairs;
    Py_ssize_t i, n = self->len;
    self->pairs = NULL;
    self->len = self->cap = 0;
    for (i = 0; i < n; i++) {
        Py_DECREF(pairs[i].value);
        Py_DECREF(pairs[i].prop);
    }
    PyMem_Free(pairs);
    return 0;
}

static void values_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    values_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* How many pairs a new Values gets: the weak-mode properties along the
 * instance's MRO (borrowed lookups in type dicts only: no Python code). */
static Py_ssize_t values_capacity_hint(PropState *st, PyTypeObject *tp)
{
    PyObject *mro = tp->tp_mro, *key, *v;
    Py_ssize_t i, n = mro != NULL ? PyTuple_GET_SIZE(mro) : 0, count = 0;
    for (i = 0; i < n && count < 64; i++) {
        PyObject *d = wc_type_dict((PyTypeObject *)PyTuple_GET_ITEM(mro, i));
        Py_ssize_t pos = 0;
        if (d == NULL)
            continue;
        while (PyDict_Next(d, &pos, &key, &v))
            if (st->cached_property_type != NULL &&
                PyObject_TypeCheck(v, st->cached_property_type) &&
                ((CachedProperty *)v)->mode == MODE_WEAK)
                count++;
    }
    return count > 0 ? count : 1;
}

/* A new, empty Values with room for `cap` pairs (may run the collector). */
static Values *values_new(PropState *st, Py_ssize_t cap)
{
    Values *self;
    if (st->values_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "weakcache: the cached_property store is gone");
        return NULL;
    }
    self = (Values *)st->values_type->tp_alloc(st->values_type, 0);
    if (self == NULL)
        return NULL;
    self->pairs = PyMem_New(ValuePair, (size_t)cap);
    if (self->pairs == NULL) {
        Py_DECREF(self);
        PyErr_NoMemory();
        return NULL;
    }
    self->cap = cap;
    return self;
}

static Py_ssize_t values_index(const Values *self, const PyObject *prop)
{
    Py_ssize_t i;
    for (i = 0; i < self->len; i++)
        if (self->pairs[i].prop == prop)
            return i;
    return -1;
}

/* Append (prop, value), taking references. 0, or -1 with MemoryError.
 * Runs no Python code (PyMem never runs the collector). */
static int values_append(Values *self, PyObject *prop, PyObject *value)
{
    if (self->len == self->cap) {
        Py_ssize_t cap = self->cap < 2 ? 4 : self->cap * 2;
        ValuePair *pairs = PyMem_Resize(self->pairs, ValuePair, (size_t)cap);
        if (pairs == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->pairs = pairs;
        self->cap = cap;
    }
    self->pairs[self->len].prop = Py_NewRef(prop);
    self->pairs[self->len].value = Py_NewRef(value);
    self->len++;
    return 0;
}

/* The Values of the instance whose record is rec, as a new reference in
 * *out: 1 if found (or created, with create), 0 if there is none, -1 on
 * error. Creating one may run the collector, and so any code: the store is
 * looked up again afterwards, and a Values stored meanwhile wins. */
static int store_values(CachedProperty *self, PyObject *obj, OwnerRef *rec, int create,
                        Values **out)
{
    wc_cache *cache = store_cache(self);
    Values *fresh;
    void *v;
    int r, pass;

    *out = NULL;
    for (pass = 0; pass < 2; pass++) {
        if (cache == NULL)
            return -1;
        r = wc_get(cache, &rec->owner, store_key_hash(), Py_None, &v);
        if (r == WC_OK) {
            *out = (Values *)v;   /* retain_value gave us a reference */
            return 1;
        }
        if (r != WC_NOTFOUND) {
            wcpy_core_error(r);
            return -1;
        }
        if (!create)
            return 0;
        if (pass == 0) {
            fresh = values_new(self->state, values_capacity_hint(self->state, Py_TYPE(obj)));
            if (fresh == NULL)
                return -1;
            cache = store_cache(self);
            if (cache == NULL) {
                Py_DECREF(fresh);
                return -1;
            }
        }
    }
    r = wcpy_put(cache, &rec->owner, store_key_hash(), Py_None, (PyObject *)fresh, 1);
    if (r != WC_OK) {
        Py_DECREF(fresh);
        wcpy_core_error(r);
        return -1;
    }
    *out = fresh;
    return 1;
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

/* Dict and slot modes: is type(obj)'s attribute another of our properties
 * under the same name and in the same storage (the same __dict__ key, or a
 * base's reserved slot that the override shares): an override calling
 * super()? Then that one owns the storage. 1, 0, or -1 with an exception.
 * Borrowed lookups in type dicts only (their keys are str): runs no Python
 * code. */
static int shadowed_by_override(CachedProperty *self, PyObject *obj)
{
    PyTypeObject *cp_type = self->state->cached_property_type;
    PyObject *eff = wc_type_lookup(Py_TYPE(obj), self->name);
    CachedProperty *other;
    if (eff == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (eff == (PyObject *)self || cp_type == NULL || !PyObject_TypeCheck(eff, cp_type))
        return 0;
    other = (CachedProperty *)eff;
    if (other->mode != self->mode)
        return 0;
    return self->mode == MODE_DICT || (self->mode == MODE_SLOT && other->offset == self->offset);
}

/* Weak mode: the value stored for obj, as storage_lookup. The hit path of
 * weak mode: the owner record (an identity-keyed probe of the registry,
 * checked against the record's weak reference), one wc_get keyed by the
 * record with a constant hash, and a scan of the instance's pairs. No
 * Python code runs on a hit. */
static int weak_lookup(CachedProperty *self, PyObject *obj, PyObject **out)
{
    OwnerRef *rec;
    Values *vals;
    Py_ssize_t i;
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
    r = store_values(self, obj, rec, 0, &vals);
    if (r <= 0)
        return r;
    i = values_index(vals, (PyObject *)self);
    if (i >= 0)
        *out = Py_NewRef(vals->pairs[i].value);
    Py_DECREF(vals);   /* the store holds it: never the last reference */
    return i >= 0;
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
    Values *vals;
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
        if (rec == NULL || store_values(self, obj, rec, 1, &vals) < 0)
            return NULL;
        r = (int)values_index(vals, (PyObject *)self);
        if (r >= 0)
            v = Py_NewRef(vals->pairs[r].value);
        else
            v = values_append(vals, (PyObject *)self, value) == 0 ? Py_NewRef(value) : NULL;
        Py_DECREF(vals);
        return v;
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
    if (self->mode == MODE_DICT || self->mode == MODE_SLOT) {
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

/* Weak mode's obj.attr = value (value NULL: del obj.attr). The pairs are
 * consistent before the old value's decref, which comes last (it may run
 * any code); we hold a reference to the Values throughout. */
static int weak_set(CachedProperty *self, PyObject *obj, PyObject *value)
{
    OwnerRef *rec;
    Values *vals;
    PyObject *old_value, *old_prop;
    Py_ssize_t i;
    int r;

    if (Py_TYPE(obj)->tp_weaklistoffset == 0) {
        raise_not_weakrefable(self, obj);
        return -1;
    }
    /* The record first (creating it may run the collector, discarding a
     * dead object's record runs decrefs), then the store. */
    rec = value != NULL ? wcpy_owner_get_or_create(self->state->owners, obj)
                        : wcpy_owner_lookup(self->state->owners, obj);
    if (rec == NULL) {
        if (PyErr_Occurred())
            return -1;
        raise_no_value(self, obj);
        return -1;
    }
    r = store_values(self, obj, rec, value != NULL, &vals);
    if (r < 0)
        return -1;
    if (r == 0) {
        raise_no_value(self, obj);
        return -1;
    }
    i = values_index(vals, (PyObject *)self);
    if (value != NULL) {
        if (i < 0) {
            r = values_append(vals, (PyObject *)self, value);
            Py_DECREF(vals);
            return r;
        }
        old_value = vals->pairs[i].value;
        vals->pairs[i].value = Py_NewRef(value);
        Py_DECREF(old_value);
        Py_DECREF(vals);
        return 0;
    }
    if (i < 0) {
        Py_DECREF(vals);
        raise_no_value(self, obj);
        return -1;
    }
    old_value = vals->pairs[i].value;
    old_prop = vals->pairs[i].prop;
    vals->pairs[i] = vals->pairs[--vals->len];
    if (vals->len == 0) {
        /* The last value: the entry goes (its decref of vals is not the last,
         * we hold one). Nothing to report if it fails: the value is gone. */
        wc_cache *cache = store_cache(self);
        if (cache == NULL ||
            wc_remove(cache, &rec->owner, store_key_hash(), Py_None) < 0)
            PyErr_Clear();
    }
    Py_DECREF(old_value);
    Py_DECREF(old_prop);
    Py_DECREF(vals);
    return 0;
}

/* tp_descr_set of the data twin: obj.attr = value, del obj.attr. */
int wcpy_cp_descr_set(PyObject *op, PyObject *obj, PyObject *value)
{
    CachedProperty *self = (CachedProperty *)op;
    PyObject **slot, *old, *d;
    OwnerRef *rec;
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
        return weak_set(self, obj, value);
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

static PyType_Slot values_slots[] = {
    {Py_tp_dealloc, WC_SLOT_FN(values_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(values_traverse)},
    {Py_tp_clear, WC_SLOT_FN(values_clear)},
    {Py_tp_doc, (void *)"One instance's weak-mode cached_property values (internal)."},
    {0, NULL},
};

PyType_Spec wcpy_values_spec = {
    "weakcache._CachedValues", sizeof(Values), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    values_slots,
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
    /* Unbounded, so the eviction order never matters: SIEVE's hit only sets
     * a bit in the entry, where LRU's would relink it and write to its two
     * neighbours, cache misses of their own at scale. */
    config.policy = WC_POLICY_SIEVE;
    r = wc_cache_new(&config, &self->cache);
    if (r != WC_OK) {
        Py_DECREF(self);
        return wcpy_core_error(r);
    }
    return (PyObject *)self;
}

