/*
 * property.c - weakcache.cached_property, a drop-in for functools.cached_property
 * that also works on __slots__ classes, and weakcache.cached_slots().
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
 *         property). The instance's _OwnerRef (see _weakcache.c) evicts it
 *         the moment the instance dies. Nothing is copied or pickled: a copy
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
#include "module.h"

#include <string.h>

enum { MODE_UNBOUND = 0, MODE_DICT = 1, MODE_SLOT = 2, MODE_WEAK = 3 };

static const char *const mode_names[] = {NULL, "dict", "slot", "weak"};

#define RESERVED_PREFIX "_wc_cached_"

typedef struct {
    PyObject_HEAD
    PyObject *func;
    PyObject *name;           /* attrname; NULL until __set_name__ */
    PyTypeObject *owner;      /* the class of the last __set_name__ */
    Py_ssize_t offset;        /* slot mode: the slot's offset in the instance */
    PyObject *store;          /* weak mode: the shared Store (strong) */
    PyObject *lock;           /* an RLock with lock=True, else NULL */
    ModState *state;
    int mode;
    PyObject *dict;
    PyObject *weakreflist;
} CachedProperty;

/* Interned once per process, like the package name in _weakcache.c. */
static PyObject *str_dict, *str_data_type, *str_store;

/* PyErr_Fetch/Restore are deprecated from 3.12 on. */
#if PY_VERSION_HEX >= 0x030C0000
typedef struct { PyObject *exc; } SavedError;
static void error_save(SavedError *s) { s->exc = PyErr_GetRaisedException(); }
static void error_restore(SavedError *s) { PyErr_SetRaisedException(s->exc); }
#else
typedef struct { PyObject *type, *value, *tb; } SavedError;
static void error_save(SavedError *s) { PyErr_Fetch(&s->type, &s->value, &s->tb); }
static void error_restore(SavedError *s) { PyErr_Restore(s->type, s->value, s->tb); }
#endif

static void cp_dealloc(PyObject *op);

/* The module state of one of our types or of a Python subclass of them. */
static ModState *state_from_type(PyTypeObject *tp)
{
    for (; tp != NULL; tp = tp->tp_base) {
        if ((tp->tp_flags & Py_TPFLAGS_HEAPTYPE) && tp->tp_dealloc == cp_dealloc &&
            ((PyHeapTypeObject *)tp)->ht_module != NULL)
            return PyModule_GetState(((PyHeapTypeObject *)tp)->ht_module);
    }
    PyErr_SetString(PyExc_TypeError, "not a weakcache.cached_property type");
    return NULL;
}

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
typedef struct {
    PyObject_HEAD
    wc_cache *cache;
} Store;

static void obj_decref(void *ctx, void *obj)
{
    (void)ctx;
    Py_DECREF((PyObject *)obj);
}

static void obj_incref(void *ctx, void *obj)
{
    (void)ctx;
    Py_INCREF((PyObject *)obj);
}

static const wc_ops store_ops = {NULL, obj_decref, obj_decref, obj_incref, NULL};

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
    int r;
    Py_INCREF(self);
    Py_INCREF(value);
    r = wc_put(cache, &rec->owner, (uint64_t)(uintptr_t)self, self, value, 1);
    if (r != WC_OK) {
        Py_DECREF(value);
        Py_DECREF(self);
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
    PyObject *d = PyObject_GetAttr(obj, str_dict), *tname;
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
 * __dict__ key. Borrowed lookups only; runs no Python code. */
static int shadowed_by_override(CachedProperty *self, PyObject *obj)
{
    PyTypeObject *cp_type = self->state->cached_property_type;
    PyObject *eff = _PyType_Lookup(Py_TYPE(obj), self->name);
    if (eff == NULL || eff == (PyObject *)self || cp_type == NULL)
        return 0;
    return PyObject_TypeCheck(eff, cp_type) && ((CachedProperty *)eff)->mode == MODE_DICT;
}

/* The stored value of obj: 1 and a new reference in *out, 0 if none, -1 on
 * error. */
static int storage_lookup(CachedProperty *self, PyObject *obj, PyObject **out)
{
    PyObject *d, *v;
    OwnerRef *rec;
    wc_cache *cache;
    int r;

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
        if (Py_TYPE(obj)->tp_weaklistoffset == 0) {
            raise_not_weakrefable(self, obj);
            return -1;
        }
        cache = store_cache(self);
        if (cache == NULL)
            return -1;
        rec = wcpy_owner_lookup(self->state, obj);
        if (rec == NULL)
            return PyErr_Occurred() ? -1 : 0;
        r = wc_get(cache, &rec->owner, (uint64_t)(uintptr_t)self, self, (void **)&v);
        if (r == WC_OK) {
            *out = v;   /* retain_value gave us a reference */
            return 1;
        }
        if (r != WC_NOTFOUND) {
            wcpy_core_error(r);
            return -1;
        }
        return 0;
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
        cache = store_cache(self);
        if (cache == NULL)
            return NULL;
        rec = wcpy_owner_get_or_create(self->state, obj);
        if (rec == NULL)
            return NULL;
        r = wc_get(cache, &rec->owner, (uint64_t)(uintptr_t)self, self, (void **)&v);
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
    SavedError saved;
    PyObject *r;
    error_save(&saved);
    r = PyObject_CallMethod(lock, "release", NULL);
    if (r == NULL)
        PyErr_WriteUnraisable(lock);
    Py_XDECREF(r);
    error_restore(&saved);
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
    if (self->mode == MODE_DICT && shadowed_by_override(self, obj))
        return call_func(self, obj);
    r = storage_lookup(self, obj, &value);
    if (r != 0)
        return r > 0 ? value : NULL;
    return compute_and_store(self, obj);
}

static PyObject *cp_descr_get(PyObject *op, PyObject *obj, PyObject *type)
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
    }
    return cp_get_slow(self, obj);
}

/* tp_descr_set of the data twin: obj.attr = value, del obj.attr. */
static int cp_descr_set(PyObject *op, PyObject *obj, PyObject *value)
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
        cache = store_cache(self);
        if (cache == NULL)
            return -1;
        if (value != NULL) {
            rec = wcpy_owner_get_or_create(self->state, obj);
            if (rec == NULL || store_put(self, cache, rec, value) < 0)
                return -1;
            return PyErr_Occurred() ? -1 : 0;
        }
        rec = wcpy_owner_lookup(self->state, obj);
        r = rec != NULL ? wc_remove(cache, &rec->owner, (uint64_t)(uintptr_t)self, self)
                        : WC_NOTFOUND;
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

/* ------------------------------------------------------------------ */
/* __set_name__: choosing the storage                                  */
/* ------------------------------------------------------------------ */

/* The owner's own reserved slot for the value: 1 (offset in *offset), 0 if
 * the owner has none, -1 with TypeError if the reserved name is taken by
 * something that is not such a slot. */
static int find_reserved_slot(PyTypeObject *owner, PyObject *slot_name, PyObject *prop_name,
                              Py_ssize_t *offset)
{
    /* An MRO walk rather than _PyType_Lookup, which would keep this
     * one-off name in the method cache. */
    PyObject *mro = owner->tp_mro, *attr = NULL;
    Py_ssize_t i;
    for (i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro) && attr == NULL; i++) {
        PyObject *d = ((PyTypeObject *)PyTuple_GET_ITEM(mro, i))->tp_dict;
        if (d != NULL && (attr = PyDict_GetItemWithError(d, slot_name)) == NULL &&
            PyErr_Occurred())
            return -1;
    }
    if (attr == NULL)
        return 0;
    if (PyObject_TypeCheck(attr, &PyMemberDescr_Type)) {
        PyMemberDescrObject *md = (PyMemberDescrObject *)attr;
        PyMemberDef *m = md->d_member;
        if (md->d_common.d_type != owner)
            return 0;   /* a base class's slot: not ours to share */
        if (m->type == T_OBJECT_EX && !(m->flags & READONLY) &&
#ifdef Py_RELATIVE_OFFSET
            !(m->flags & Py_RELATIVE_OFFSET) &&
#endif
            m->offset >= (Py_ssize_t)sizeof(PyObject) &&
            m->offset + (Py_ssize_t)sizeof(PyObject *) <= owner->tp_basicsize) {
            *offset = m->offset;
            return 1;
        }
    }
    PyErr_Format(PyExc_TypeError,
                 "%s.%U is reserved for the value of cached_property %R but is not a slot "
                 "declared by %s (it is a '%.100s'); names starting with '" RESERVED_PREFIX
                 "' are reserved for weakcache.cached_slots()",
                 owner->tp_name, slot_name, prop_name, owner->tp_name, Py_TYPE(attr)->tp_name);
    return -1;
}

/* "_Owner__x" -> "__x" when the property's name was mangled by the class
 * body, so that cached_slots("__x") finds its slot. New reference; NULL with
 * no exception if the name is not mangled, NULL with one on error. */
static PyObject *unmangled_name(PyTypeObject *owner, PyObject *name)
{
    PyObject *cls, *stripped, *prefix, *rest, *r = NULL;
    Py_ssize_t i = 0, n;

    cls = PyObject_GetAttrString((PyObject *)owner, "__name__");
    if (cls == NULL)
        return NULL;
    if (!PyUnicode_Check(cls)) {
        Py_DECREF(cls);
        return NULL;
    }
    n = PyUnicode_GET_LENGTH(cls);
    while (i < n && PyUnicode_READ_CHAR(cls, i) == '_')
        i++;
    stripped = i < n ? PyUnicode_Substring(cls, i, n) : NULL;
    Py_DECREF(cls);
    if (stripped == NULL)
        return NULL;   /* error, or a class name made of underscores: no mangling */
    prefix = PyUnicode_FromFormat("_%U__", stripped);
    Py_DECREF(stripped);
    if (prefix == NULL)
        return NULL;
    n = PyUnicode_GET_LENGTH(prefix);
    if (PyUnicode_GET_LENGTH(name) > n && PyUnicode_Tailmatch(name, prefix, 0, n, -1) == 1) {
        rest = PyUnicode_Substring(name, n, PyUnicode_GET_LENGTH(name));
        if (rest != NULL) {
            r = PyUnicode_FromFormat("__%U", rest);
            Py_DECREF(rest);
        }
    }
    Py_DECREF(prefix);
    return r;
}

static int has_instance_dict(PyTypeObject *tp)
{
#ifdef Py_TPFLAGS_MANAGED_DICT
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        return 1;
#endif
    return tp->tp_dictoffset != 0;
}

static int choose_storage(PyTypeObject *owner, PyObject *name, int *mode, Py_ssize_t *offset)
{
    PyObject *slot_name = PyUnicode_FromFormat(RESERVED_PREFIX "%U", name), *alt;
    int r;

    if (slot_name == NULL)
        return -1;
    r = find_reserved_slot(owner, slot_name, name, offset);
    if (r == 0) {
        alt = unmangled_name(owner, name);
        if (alt == NULL && PyErr_Occurred())
            r = -1;
        if (alt != NULL) {
            Py_SETREF(slot_name, PyUnicode_FromFormat(RESERVED_PREFIX "%U", alt));
            Py_DECREF(alt);
            r = slot_name != NULL ? find_reserved_slot(owner, slot_name, name, offset) : -1;
        }
    }
    Py_XDECREF(slot_name);
    if (r < 0)
        return -1;
    if (r == 1)
        *mode = MODE_SLOT;
    else if (has_instance_dict(owner))
        *mode = MODE_DICT;
    else if (owner->tp_weaklistoffset != 0)
        *mode = MODE_WEAK;
    else {
        PyErr_Format(PyExc_TypeError,
                     "cannot use cached_property %R in class %s: its instances have no "
                     "__dict__, no slot reserved for the value and no '__weakref__'. Add "
                     "the reserved slot, e.g. __slots__ = (...) + weakcache.cached_slots(%R) "
                     "(8 bytes per instance, the value is copied and pickled with the "
                     "instance), or add '__weakref__' to %s.__slots__ (the value is kept in "
                     "a weak-keyed store and freed with the instance)",
                     name, owner->tp_name, name, owner->tp_name);
        return -1;
    }
    return 0;
}

/* The data twin of a non-data type (borrowed), or NULL with no exception. */
static PyTypeObject *data_twin_of(PyTypeObject *tp)
{
    PyObject *t = _PyType_Lookup(tp, str_data_type);
    if (t != NULL && PyType_Check(t) && ((PyTypeObject *)t)->tp_base == tp)
        return (PyTypeObject *)t;
    return NULL;
}

/* Make self a data descriptor or not, by moving it to the twin type. */
static int set_data_kind(CachedProperty *self, int want_data)
{
    PyTypeObject *tp = Py_TYPE(self), *target;

    if (want_data) {
        if (tp->tp_descr_set != NULL)
            return 0;
        target = data_twin_of(tp);
        if (target == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s cannot serve a class without __dict__: a subclass of "
                         "weakcache.cached_property that overrides __init_subclass__ must "
                         "call super().__init_subclass__()",
                         tp->tp_name);
            return -1;
        }
    } else {
        if (tp->tp_base == NULL || data_twin_of(tp->tp_base) != tp)
            return 0;   /* not a twin: already non-data, or a user's own data type */
        target = tp->tp_base;
    }
    if (target->tp_basicsize != tp->tp_basicsize || target->tp_itemsize != tp->tp_itemsize) {
        PyErr_Format(PyExc_TypeError, "%s and %s have different layouts", tp->tp_name,
                     target->tp_name);
        return -1;
    }
    Py_INCREF(target);
    Py_SET_TYPE(self, target);
    Py_DECREF(tp);
    return 0;
}

static PyObject *cp_set_name(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    CachedProperty *self = (CachedProperty *)op;
    PyObject *name;
    PyTypeObject *owner, *old_owner;
    Py_ssize_t offset = 0;
    int mode, r;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "__set_name__ expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (!PyType_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "__set_name__: owner must be a class, not '%.100s'",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    if (!PyUnicode_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "__set_name__: name must be a str, not '%.100s'",
                     Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    owner = (PyTypeObject *)args[0];
    name = args[1];
    if (self->name != NULL) {
        r = PyObject_RichCompareBool(self->name, name, Py_NE);
        if (r < 0)
            return NULL;
        if (r) {
            PyErr_Format(PyExc_TypeError,
                         "Cannot assign the same cached_property to two different names "
                         "(%R and %R).",
                         self->name, name);
            return NULL;
        }
    }
    if (choose_storage(owner, name, &mode, &offset) < 0)
        return NULL;
    if (mode == MODE_WEAK && self->store == NULL) {
        PyObject *store = _PyType_Lookup(Py_TYPE(self), str_store);
        if (store == NULL || Py_TYPE(store)->tp_dealloc != store_dealloc) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "cached_property._wc_store is missing");
            return NULL;
        }
        self->store = Py_NewRef(store);
    }
    if (set_data_kind(self, mode != MODE_DICT) < 0)
        return NULL;
    /* Commit; nothing below fails. The old owner is released last. */
    old_owner = self->owner;
    self->owner = (PyTypeObject *)Py_NewRef(owner);
    Py_XSETREF(self->name, Py_NewRef(name));
    self->mode = mode;
    self->offset = offset;
    PyType_Modified(owner);   /* attribute caches may know the old descriptor kind */
    if (old_owner != NULL && old_owner != owner)
        PyType_Modified(old_owner);
    Py_XDECREF(old_owner);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Subclasses get a data twin                                          */
/* ------------------------------------------------------------------ */


/* ns[name] = cls.name when cls has that attribute. 0, or -1 with an error. */
static int copy_attr_if_present(PyObject *cls, PyObject *ns, const char *name)
{
    int r;
    PyObject *value = PyObject_GetAttrString(cls, name);
    if (value == NULL) {
        PyErr_Clear();
        return 0;
    }
    r = PyDict_SetItemString(ns, name, value);
    Py_DECREF(value);
    return r;
}
static PyObject *cp_init_subclass(PyObject *cls, PyObject *args, PyObject *kwds)
{
    PyTypeObject *tp = (PyTypeObject *)cls, *base_twin;
    ModState *st;
    PyObject *name = NULL, *qualname = NULL, *ns = NULL, *twin = NULL, *attr;
    int r = -1;

    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_Format(PyExc_TypeError, "%s.__init_subclass__() takes no keyword arguments",
                     tp->tp_name);
        return NULL;
    }
    if (tp->tp_descr_set != NULL)   /* a twin, or a class with its own __set__ */
        Py_RETURN_NONE;
    st = state_from_type(tp);
    if (st == NULL)
        return NULL;
    base_twin = st->cached_property_type != NULL ? data_twin_of(st->cached_property_type) : NULL;
    if (base_twin == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "weakcache.cached_property is not initialised");
        return NULL;
    }
    name = PyObject_GetAttrString(cls, "__name__");
    qualname = name != NULL ? PyObject_GetAttrString(cls, "__qualname__") : NULL;
    ns = qualname != NULL ? PyDict_New() : NULL;
    if (ns == NULL)
        goto done;
    if (PyDict_SetItemString(ns, "__qualname__", qualname) < 0)
        goto done;
    attr = PyTuple_New(0);
    if (attr == NULL || PyDict_SetItemString(ns, "__slots__", attr) < 0) {
        Py_XDECREF(attr);
        goto done;
    }
    Py_DECREF(attr);
    if (copy_attr_if_present(cls, ns, "__module__") < 0 ||
        copy_attr_if_present(cls, ns, "__doc__") < 0)
        goto done;
    twin = PyObject_CallFunction((PyObject *)Py_TYPE(cls), "O(OO)O", name, cls,
                                 (PyObject *)base_twin, ns);
    if (twin == NULL)
        goto done;
    if (!PyType_Check(twin) || ((PyTypeObject *)twin)->tp_base != tp) {
        PyErr_Format(PyExc_TypeError, "could not derive the data twin of %s", tp->tp_name);
        goto done;
    }
    r = PyObject_SetAttr(cls, str_data_type, twin);
done:
    Py_XDECREF(name);
    Py_XDECREF(qualname);
    Py_XDECREF(ns);
    Py_XDECREF(twin);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Object protocol                                                     */
/* ------------------------------------------------------------------ */

static PyObject *cp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    CachedProperty *self;
    ModState *st;

    /* cached_property(lock=True) with no function: a decorator. */
    if (PyTuple_GET_SIZE(args) == 0 && kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyObject *functools = PyImport_ImportModule("functools"), *partial, *pargs, *r;
        if (functools == NULL)
            return NULL;
        partial = PyObject_GetAttrString(functools, "partial");
        Py_DECREF(functools);
        if (partial == NULL)
            return NULL;
        pargs = PyTuple_Pack(1, (PyObject *)type);
        r = pargs != NULL ? PyObject_Call(partial, pargs, kwds) : NULL;
        Py_XDECREF(pargs);
        Py_DECREF(partial);
        return r;
    }
    st = state_from_type(type);
    if (st == NULL)
        return NULL;
    self = (CachedProperty *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->state = st;
    return (PyObject *)self;
}

static int set_from_func(PyObject *self, const char *attr, PyObject *func)
{
    PyObject *key, *v = PyObject_GetAttrString(func, attr);
    int r;
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        if (strcmp(attr, "__doc__") != 0)
            return 0;
        v = Py_NewRef(Py_None);
    }
    key = PyUnicode_InternFromString(attr);
    r = key != NULL ? PyObject_GenericSetAttr(self, key, v) : -1;
    Py_XDECREF(key);
    Py_DECREF(v);
    return r;
}

static int cp_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"func", "lock", NULL};
    CachedProperty *self = (CachedProperty *)op;
    PyObject *func, *lock = NULL;
    int use_lock = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$p:cached_property", kwlist, &func,
                                     &use_lock))
        return -1;
    if (use_lock) {
        PyObject *thread = PyImport_ImportModule("_thread");
        if (thread == NULL)
            return -1;
        lock = PyObject_CallMethod(thread, "RLock", NULL);
        Py_DECREF(thread);
        if (lock == NULL)
            return -1;
    }
    Py_XSETREF(self->lock, lock);
    Py_XSETREF(self->func, Py_NewRef(func));
    if (set_from_func(op, "__doc__", func) < 0 || set_from_func(op, "__module__", func) < 0)
        return -1;
    return 0;
}

static int cp_traverse(PyObject *op, visitproc visit, void *arg)
{
    CachedProperty *self = (CachedProperty *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->func);
    Py_VISIT(self->owner);
    Py_VISIT(self->lock);
    Py_VISIT(self->dict);
    Py_VISIT(self->store);
    return 0;
}

static int cp_clear(PyObject *op)
{
    CachedProperty *self = (CachedProperty *)op;
    Py_CLEAR(self->store);
    Py_CLEAR(self->func);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->lock);
    Py_CLEAR(self->dict);
    return 0;
}

static void cp_dealloc(PyObject *op)
{
    CachedProperty *self = (CachedProperty *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs(op);
    cp_clear(op);
    Py_CLEAR(self->name);   /* not a container reference, so not in cp_clear */
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *cp_repr(PyObject *op)
{
    CachedProperty *self = (CachedProperty *)op;
    if (self->mode == MODE_UNBOUND || self->name == NULL)
        return PyUnicode_FromFormat("<weakcache.cached_property of %R, unbound>",
                                    self->func != NULL ? self->func : Py_None);
    return PyUnicode_FromFormat("<weakcache.cached_property %s.%U, storage=%s>",
                                self->owner != NULL ? self->owner->tp_name : "?", self->name,
                                mode_names[self->mode]);
}

static PyObject *cp_get_isabstract(PyObject *op, void *closure)
{
    CachedProperty *self = (CachedProperty *)op;
    PyObject *v;
    int r;
    (void)closure;
    if (self->func == NULL)
        Py_RETURN_FALSE;
    v = PyObject_GetAttrString(self->func, "__isabstractmethod__");
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    r = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *cp_get_storage(PyObject *op, void *closure)
{
    CachedProperty *self = (CachedProperty *)op;
    (void)closure;
    if (self->mode == MODE_UNBOUND)
        Py_RETURN_NONE;
    return PyUnicode_FromString(mode_names[self->mode]);
}

/* Python-level __get__: the slot wrapper would reject __get__(None), which
 * functools.cached_property accepts (it returns the descriptor). */
static PyObject *cp_get_method(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "__get__ expected 1 or 2 arguments, got %zd", nargs);
        return NULL;
    }
    return cp_descr_get(op, args[0] == Py_None ? NULL : args[0], nargs > 1 ? args[1] : NULL);
}

static PyMethodDef cp_methods[] = {
    {"__get__", (PyCFunction)(void (*)(void))cp_get_method, METH_FASTCALL | METH_COEXIST,
     "__get__(instance, owner=None): the cached value; the descriptor itself if instance "
     "is None."},
    {"__set_name__", (PyCFunction)(void (*)(void))cp_set_name, METH_FASTCALL,
     "Bind to the class and attribute name; chooses where values are stored."},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS,
     "See PEP 585."},
    {"__init_subclass__", (PyCFunction)(void (*)(void))cp_init_subclass,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "Give the subclass a data twin, used for classes without __dict__."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef cp_members[] = {
    {"func", T_OBJECT, offsetof(CachedProperty, func), READONLY,
     "The decorated function."},
    {"__wrapped__", T_OBJECT, offsetof(CachedProperty, func), READONLY,
     "The decorated function."},
    {"attrname", T_OBJECT, offsetof(CachedProperty, name), READONLY,
     "The attribute name given by __set_name__, or None."},
    {"lock", T_OBJECT, offsetof(CachedProperty, lock), READONLY,
     "The RLock serialising first computations (lock=True), or None."},
    {"__dictoffset__", T_PYSSIZET, offsetof(CachedProperty, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CachedProperty, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef cp_getset[] = {
    {"__isabstractmethod__", cp_get_isabstract, NULL, NULL, NULL},
    {"storage", cp_get_storage, NULL,
     "Where values are kept: 'slot', 'dict', 'weak', or None before __set_name__.", NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(cp_doc,
"cached_property(func, *, lock=False)\n"
"\n"
"functools.cached_property that also works on __slots__ classes.\n"
"\n"
"The value is computed on first access, once per instance; `del obj.attr`\n"
"resets it; exceptions are not cached. Where the value lives is chosen per\n"
"class when the class is created:\n"
"\n"
"* a slot reserved for it (8 bytes per instance, no __dict__):\n"
"\n"
"      class Point:\n"
"          __slots__ = (\"x\", \"y\") + weakcache.cached_slots(\"norm\")\n"
"          ...\n"
"          @weakcache.cached_property\n"
"          def norm(self):\n"
"              return math.hypot(self.x, self.y)\n"
"\n"
"  The slot is part of the instance: copy and pickle carry the value.\n"
"* the instance __dict__, if there is one (as functools does);\n"
"* for __slots__ classes with '__weakref__' and no reserved slot, a\n"
"  weak-keyed store: the value is freed when the instance dies and is not\n"
"  copied or pickled.\n"
"\n"
"Otherwise creating the class raises TypeError. Under threads the function\n"
"may run more than once for one instance, but every reader gets the one\n"
"value that was stored first; lock=True runs it exactly once (first\n"
"computations of this property are serialised under an RLock).");

/* PyType_Slot.pfunc is a void *. ISO C has no conversion from a function
 * pointer to void *, but has one through an integer: -Wpedantic stays quiet. */
#define SLOT_FN(f) ((void *)(uintptr_t)(f))

static PyType_Slot cp_slots[] = {
    {Py_tp_new, SLOT_FN(cp_new)},
    {Py_tp_init, SLOT_FN(cp_init)},
    {Py_tp_dealloc, SLOT_FN(cp_dealloc)},
    {Py_tp_traverse, SLOT_FN(cp_traverse)},
    {Py_tp_clear, SLOT_FN(cp_clear)},
    {Py_tp_descr_get, SLOT_FN(cp_descr_get)},
    {Py_tp_repr, SLOT_FN(cp_repr)},
    {Py_tp_methods, cp_methods},
    {Py_tp_members, cp_members},
    {Py_tp_getset, cp_getset},
    {Py_tp_doc, SLOT_FN(cp_doc)},
    {0, NULL},
};

static PyType_Spec cp_spec = {
    "weakcache.cached_property", sizeof(CachedProperty), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE, cp_slots,
};

static PyMethodDef twin_methods[] = {   /* shadow the twin's own slot wrapper */
    {"__get__", (PyCFunction)(void (*)(void))cp_get_method, METH_FASTCALL | METH_COEXIST,
     "__get__(instance, owner=None): the cached value; the descriptor itself if instance "
     "is None."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot twin_slots[] = {
    {Py_tp_dealloc, SLOT_FN(cp_dealloc)},
    {Py_tp_traverse, SLOT_FN(cp_traverse)},
    {Py_tp_clear, SLOT_FN(cp_clear)},
    {Py_tp_descr_get, SLOT_FN(cp_descr_get)},
    {Py_tp_descr_set, SLOT_FN(cp_descr_set)},
    {Py_tp_methods, twin_methods},
    {Py_tp_doc, (void *)"A cached_property bound to a class without __dict__ (a data descriptor)."},
    {0, NULL},
};

/* Same qualified name: the twin is an implementation detail. */
static PyType_Spec twin_spec = {
    "weakcache.cached_property", 0, 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE, twin_slots,
};

static PyType_Slot store_slots[] = {
    {Py_tp_dealloc, SLOT_FN(store_dealloc)},
    {Py_tp_traverse, SLOT_FN(store_traverse)},
    {Py_tp_clear, SLOT_FN(store_clear)},
    {Py_tp_repr, SLOT_FN(store_repr)},
    {Py_mp_length, SLOT_FN(store_length)},
    {Py_tp_doc, (void *)"Where weak-mode cached_property values live (internal)."},
    {0, NULL},
};

static PyType_Spec store_spec = {
    "weakcache._CachedPropertyStore", sizeof(Store), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, store_slots,
};

/* The one Store of this module (new reference). */
static PyObject *store_new(PyObject *module)
{
    PyTypeObject *tp = (PyTypeObject *)PyType_FromModuleAndSpec(module, &store_spec, NULL);
    Store *self;
    wc_config config;
    int r;

    if (tp == NULL)
        return NULL;
    self = (Store *)tp->tp_alloc(tp, 0);
    Py_DECREF(tp);   /* the instance holds its type */
    if (self == NULL)
        return NULL;
    memset(&config, 0, sizeof config);
    config.ops = &store_ops;
    config.allocator = &wcpy_allocator;
    r = wc_cache_new(&config, &self->cache);
    if (r != WC_OK) {
        Py_DECREF(self);
        return wcpy_core_error(r);
    }
    return (PyObject *)self;
}

/* ------------------------------------------------------------------ */
/* cached_slots() and module setup                                     */
/* ------------------------------------------------------------------ */

static PyObject *cached_slots(PyObject *module, PyObject *args)
{
    Py_ssize_t i, n = PyTuple_GET_SIZE(args);
    PyObject *result = PyTuple_New(n);
    (void)module;
    if (result == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(args, i), *slot;
        if (!PyUnicode_Check(name)) {
            PyErr_Format(PyExc_TypeError, "cached_slots() arguments must be str, not '%.100s'",
                         Py_TYPE(name)->tp_name);
            goto error;
        }
        if (!PyUnicode_IsIdentifier(name)) {
            PyErr_Format(PyExc_ValueError, "cached_slots(): %R is not an identifier", name);
            goto error;
        }
        slot = PyUnicode_FromFormat(RESERVED_PREFIX "%U", name);
        if (slot == NULL)
            goto error;
        PyTuple_SET_ITEM(result, i, slot);
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
}

static PyMethodDef cached_slots_def = {
    "cached_slots", cached_slots, METH_VARARGS,
    "cached_slots(*names) -> tuple of str\n"
    "\n"
    "The __slots__ entries that reserve a slot for each named cached_property:\n"
    "    __slots__ = (\"x\", \"y\") + weakcache.cached_slots(\"norm\", \"angle\")\n"
    "Each is '" RESERVED_PREFIX "' + name; that prefix is reserved."};

int wcpy_property_exec(PyObject *module, ModState *st)
{
    PyTypeObject *twin;
    PyObject *func, *modname, *bases, *store;
    int r;

    if (str_dict == NULL && (str_dict = PyUnicode_InternFromString("__dict__")) == NULL)
        return -1;
    if (str_data_type == NULL &&
        (str_data_type = PyUnicode_InternFromString("_wc_data_type")) == NULL)
        return -1;
    if (str_store == NULL && (str_store = PyUnicode_InternFromString("_wc_store")) == NULL)
        return -1;
    st->cached_property_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &cp_spec, NULL);
    if (st->cached_property_type == NULL)
        return -1;
    bases = PyTuple_Pack(1, (PyObject *)st->cached_property_type);   /* 3.9 wants a tuple */
    if (bases == NULL)
        return -1;
    twin = (PyTypeObject *)PyType_FromModuleAndSpec(module, &twin_spec, bases);
    Py_DECREF(bases);
    if (twin == NULL)
        return -1;
    r = PyObject_SetAttr((PyObject *)st->cached_property_type, str_data_type, (PyObject *)twin);
    Py_DECREF(twin);
    if (r < 0)
        return -1;
    store = store_new(module);
    if (store == NULL)
        return -1;
    r = PyObject_SetAttr((PyObject *)st->cached_property_type, str_store, store);
    Py_DECREF(store);
    if (r < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "cached_property", (PyObject *)st->cached_property_type) < 0)
        return -1;
    modname = PyModule_GetNameObject(module);
    if (modname == NULL)
        return -1;
    func = PyCFunction_NewEx(&cached_slots_def, module, modname);
    Py_DECREF(modname);
    if (func == NULL)
        return -1;
    r = PyModule_AddObjectRef(module, "cached_slots", func);
    Py_DECREF(func);
    return r;
}
