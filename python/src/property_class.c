/*
 * property_class.c - binding a weakcache.cached_property to a class, and its
 * type objects.
 *
 * __set_name__ chooses the storage (slot, dict or weak; see property.c) from
 * the class the property is assigned to, and moves the property object to
 * the type of the right kind: in dict mode a non-data descriptor (so the
 * instance __dict__ shadows it and a hit is a plain attribute read), in slot
 * and weak modes a data descriptor (so `obj.attr = v` and `del obj.attr`
 * reach the slot or the store). Data-ness belongs to the type, so every
 * non-data type has a layout-identical data "twin":
 *   - weakcache.cached_property's twin is made at module init and kept in
 *     the module state (PropState.data_twin_type);
 *   - a Python subclass U of cached_property gets its twin, a class derived
 *     from (U, base twin), from __init_subclass__. U's own __dict__ keeps it
 *     alive (a reference from the module state would keep U alive for
 *     good). What is read back from there is trusted only after checking
 *     that it is a subclass of the base twin whose tp_base is U and whose
 *     layout is U's, so replacing it from Python can at worst raise.
 * The object keeps its identity; isinstance(p, cached_property) holds in
 * every mode. PyType_Modified(owner) afterwards makes sure no attribute
 * cache remembers the old kind.
 *
 * A descriptor can be called with any object (Foo.__dict__['x'].__get__(o)),
 * so property.c reads a slot only after checking that the object is an
 * instance of the class that declared it. If the same property is bound to
 * several classes (dataclass(slots=True) re-creates its class), the last
 * __set_name__ decides.
 */
#include "property.h"

#include <string.h>

/* Where PropState sits in the module state, and the module's definition:
 * cp_new and __init_subclass__ find the state from a Python subclass with
 * PyType_GetModuleByDef. The same for every instance of the module. */
static Py_ssize_t prop_offset;
static PyModuleDef *prop_module_def;

/* The PropState of one of our types or of a Python subclass of them. NULL
 * with TypeError if tp is neither. */
static PropState *state_from_type(PyTypeObject *tp)
{
    PyObject *module = wc_type_module_by_def(tp, prop_module_def);
    return module != NULL ? wcpy_part_state(module, prop_offset) : NULL;
}

/* ------------------------------------------------------------------ */
/* __set_name__: choosing the storage                                  */
/* ------------------------------------------------------------------ */

/* The reserved slot for the value: 1 if the owner declares it itself, 2 if
 * a base class of the owner does (an override sharing it, see
 * choose_storage), offset in *offset; 0 if there is none; -1 with TypeError
 * if the reserved name is taken by something that is not such a slot. */
static int find_reserved_slot(PyTypeObject *owner, PyObject *slot_name, PyObject *prop_name,
                              Py_ssize_t *offset)
{
    PyObject *attr = wc_type_lookup(owner, slot_name);
    if (attr == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (PyObject_TypeCheck(attr, &PyMemberDescr_Type)) {
        PyMemberDescrObject *md = (PyMemberDescrObject *)attr;
        PyMemberDef *m = md->d_member;
        PyTypeObject *declarer = md->d_common.d_type;
        if (declarer == NULL || !PyType_IsSubtype(owner, declarer))
            return 0;   /* copied from an unrelated class: not a slot of ours */
        if (m->type == WC_T_OBJECT_EX && !(m->flags & WC_READONLY) && !WC_MEMBER_IS_RELATIVE(m) &&
            m->offset >= (Py_ssize_t)sizeof(PyObject) &&
            m->offset + (Py_ssize_t)sizeof(PyObject *) <= declarer->tp_basicsize) {
            *offset = m->offset;
            return declarer == owner ? 1 : 2;
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

/* Is the class being built by dataclasses or attrs? Then the message names
 * weakcache's form that reserves the slots. A borrowed lookup in the class's
 * own dict: no Python code runs. NULL if neither. */
static const char *tool_advice(PyTypeObject *owner)
{
    PyObject *d = wc_type_dict(owner);
    if (d == NULL)
        return NULL;
    if (PyDict_GetItemString(d, "__dataclass_fields__") != NULL)
        return "dataclasses cannot reserve that slot: use @weakcache.dataclass(slots=True, ...) "
               "instead of @dataclasses.dataclass(slots=True, ...), which does";
    if (PyDict_GetItemString(d, "__attrs_attrs__") != NULL)
        return "attrs cannot reserve that slot: use @weakcache.attrs_define(...) instead of "
               "@attrs.define(...), which does";
    return NULL;
}

/* Where the values go (see property.c): the owner's own reserved slot;
 * the instance __dict__; a reserved slot declared by a base class (an
 * override without a slot of its own shares it, as functools' overrides
 * share the __dict__ key, see shadowed_by_override in property.c); the weak
 * store; else TypeError. */
static int choose_storage(PyTypeObject *owner, PyObject *name, int *mode, Py_ssize_t *offset)
{
    const char *advice;
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
    else if (wc_type_has_instance_dict(owner))
        *mode = MODE_DICT;
    else if (r == 2)
        *mode = MODE_SLOT;
    else if (owner->tp_weaklistoffset != 0)
        *mode = MODE_WEAK;
    else if ((advice = tool_advice(owner)) != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "cannot use cached_property %R in class %s: its instances have no "
                     "__dict__, no slot reserved for the value and no '__weakref__'; %s",
                     name, owner->tp_name, advice);
        return -1;
    } else {
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
static PyTypeObject *data_twin_of(PropState *st, PyTypeObject *tp)
{
    PyObject *d, *t;
    if (tp == st->cached_property_type)
        return st->data_twin_type;
    if (!PyType_IsSubtype(tp, st->cached_property_type) || tp->tp_descr_set != NULL)
        return NULL;
    d = wc_type_dict(tp);
    t = d != NULL ? PyDict_GetItemWithError(d, st->str_twin) : NULL;
    if (t == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (PyType_Check(t) && ((PyTypeObject *)t)->tp_base == tp &&
        PyType_IsSubtype((PyTypeObject *)t, st->data_twin_type) &&
        ((PyTypeObject *)t)->tp_basicsize == tp->tp_basicsize)
        return (PyTypeObject *)t;
    return NULL;
}

/* The type self must have to be a data descriptor (want_data) or not: its
 * twin, or its own type if that already fits (borrowed). NULL with TypeError.
 * Changes nothing: __set_name__ switches the type when it commits. */
static PyTypeObject *kind_target(CachedProperty *self, int want_data)
{
    PyTypeObject *tp = Py_TYPE(self), *target;

    if (want_data) {
        if (tp->tp_descr_set != NULL)
            return tp;
        target = data_twin_of(self->state, tp);
        if (target == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s cannot serve a class without __dict__: a subclass of "
                         "weakcache.cached_property that overrides __init_subclass__ must "
                         "call super().__init_subclass__()",
                         tp->tp_name);
            return NULL;
        }
    } else {
        if (tp->tp_base == NULL || data_twin_of(self->state, tp->tp_base) != tp)
            return tp;   /* not a twin: already non-data, or a user's own data type */
        target = tp->tp_base;
    }
    if (target->tp_basicsize != tp->tp_basicsize || target->tp_itemsize != tp->tp_itemsize) {
        PyErr_Format(PyExc_TypeError, "%s and %s have different layouts", tp->tp_name,
                     target->tp_name);
        return NULL;
    }
    return target;
}

/* WeakStoreWarning when a dataclass or attrs class sends the property to
 * the weak store although weakcache's form of the decorator would reserve a
 * slot; once per class (for its first weak-mode property). 0, or -1 if the
 * warning was turned into an exception. */
static int warn_weak_store(CachedProperty *self, PyTypeObject *owner, PyObject *name)
{
    PropState *st = self->state;
    const char *advice = tool_advice(owner), *text;
    PyObject *d, *key, *v, *msg;
    Py_ssize_t pos = 0;
    int r;

    if (advice == NULL || st->weak_store_warning == NULL)
        return 0;
    d = wc_type_dict(owner);
    while (d != NULL && PyDict_Next(d, &pos, &key, &v))
        if (v != (PyObject *)self && PyObject_TypeCheck(v, st->cached_property_type) &&
            ((CachedProperty *)v)->mode == MODE_WEAK && ((CachedProperty *)v)->owner == owner)
            return 0;   /* an earlier property of this class has warned */
    msg = PyUnicode_FromFormat(
        "cached_property %R of %s (and any other of the class) keeps its values in the "
        "weak-keyed store, about 300 bytes per instance plus 16 per value, where a slot "
        "reserved for the value costs 8 bytes per value; %s",
        name, owner->tp_name, advice);
    if (msg == NULL)
        return -1;
    text = PyUnicode_AsUTF8(msg);
    r = text != NULL ? PyErr_WarnEx(st->weak_store_warning, text, 1) : -1;
    Py_DECREF(msg);
    return r;
}

static PyObject *cp_set_name(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    CachedProperty *self = (CachedProperty *)op;
    PyObject *name, *old_name;
    PyTypeObject *owner, *old_owner, *old_type, *target;
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
    /* Before the commit: the warning may run any code, or raise. */
    if (mode == MODE_WEAK && warn_weak_store(self, owner, name) < 0)
        return NULL;
    if (mode == MODE_WEAK && self->store == NULL) {
        if (self->state->store == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "weakcache: the cached_property store is gone");
            return NULL;
        }
        self->store = Py_NewRef(self->state->store);
    }
    target = kind_target(self, mode != MODE_DICT);
    if (target == NULL)
        return NULL;
    /* Commit. Every field of the binding (type, owner, name, mode, offset)
     * is written before any reference is dropped: a decref can run Python
     * code (the old name may be a str subclass with __del__, a class may be
     * freed), and that code may use this very descriptor (issue 9, defect 3).
     * Nothing below fails. */
    old_type = Py_TYPE(self);
    if (target != old_type)
        Py_SET_TYPE(self, (PyTypeObject *)Py_NewRef(target));
    else
        old_type = NULL;
    old_owner = self->owner;
    self->owner = (PyTypeObject *)Py_NewRef(owner);
    old_name = self->name;
    self->name = Py_NewRef(name);
    self->mode = mode;
    self->offset = offset;
    PyType_Modified(owner);   /* attribute caches may know the old descriptor kind */
    if (old_owner != NULL && old_owner != owner)
        PyType_Modified(old_owner);
    Py_XDECREF(old_name);
    Py_XDECREF(old_owner);
    Py_XDECREF(old_type);
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
    PropState *st;
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
    base_twin = st->data_twin_type;
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
    r = PyObject_SetAttr(cls, st->str_twin, twin);
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
    PropState *st;

    /* cached_property(lock=...) and nothing else: a decorator factory. Any
     * other call (func positional or as a keyword, unknown keywords) makes a
     * property, and __init__ checks the arguments as functools' does, at
     * once (issue 9, defect 6). */
    if (PyTuple_GET_SIZE(args) == 0 && kwds != NULL && PyDict_GET_SIZE(kwds) == 1 &&
        PyDict_GetItemString(kwds, "lock") != NULL) {
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
    PyObject *func, *lock = NULL, *old_lock, *old_func;
    int use_lock = 0;

    /* Unknown keywords first, as functools reports them (before a missing
     * func). */
    if (kwds != NULL) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwds, &pos, &key, &value)) {
            if (!PyUnicode_Check(key) || (PyUnicode_CompareWithASCIIString(key, "func") != 0 &&
                                          PyUnicode_CompareWithASCIIString(key, "lock") != 0)) {
                PyErr_Format(PyExc_TypeError,
                             "cached_property() got an unexpected keyword argument %R", key);
                return -1;
            }
        }
    }
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
    /* Both fields first, then the old references (their decrefs may run
     * code that uses this property). */
    old_lock = self->lock;
    old_func = self->func;
    self->lock = lock;
    self->func = Py_NewRef(func);
    Py_XDECREF(old_lock);
    Py_XDECREF(old_func);
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
                                wcpy_property_mode_names[self->mode]);
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
    return PyUnicode_FromString(wcpy_property_mode_names[self->mode]);
}


static PyMethodDef cp_methods[] = {
    {"__get__", (PyCFunction)(void (*)(void))wcpy_cp_get_method, METH_FASTCALL | METH_COEXIST,
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
    {"func", WC_T_OBJECT_EX, offsetof(CachedProperty, func), WC_READONLY,
     "The decorated function."},
    {"__wrapped__", WC_T_OBJECT_EX, offsetof(CachedProperty, func), WC_READONLY,
     "The decorated function."},
    {"__dictoffset__", WC_T_PYSSIZET, offsetof(CachedProperty, dict), WC_READONLY, NULL},
    {"__weaklistoffset__", WC_T_PYSSIZET, offsetof(CachedProperty, weakreflist), WC_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Members that are None while unset (the public member types have no
 * "None for NULL" any more). */
static PyObject *cp_get_attrname(PyObject *op, void *closure)
{
    PyObject *v = ((CachedProperty *)op)->name;
    (void)closure;
    return Py_NewRef(v != NULL ? v : Py_None);
}

static PyObject *cp_get_lock(PyObject *op, void *closure)
{
    PyObject *v = ((CachedProperty *)op)->lock;
    (void)closure;
    return Py_NewRef(v != NULL ? v : Py_None);
}

static PyGetSetDef cp_getset[] = {
    {"attrname", cp_get_attrname, NULL,
     "The attribute name given by __set_name__, or None.", NULL},
    {"lock", cp_get_lock, NULL,
     "The RLock serialising first computations (lock=True), or None.", NULL},
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


static PyType_Slot cp_slots[] = {
    {Py_tp_new, WC_SLOT_FN(cp_new)},
    {Py_tp_init, WC_SLOT_FN(cp_init)},
    {Py_tp_dealloc, WC_SLOT_FN(cp_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(cp_traverse)},
    {Py_tp_clear, WC_SLOT_FN(cp_clear)},
    {Py_tp_descr_get, WC_SLOT_FN(wcpy_cp_descr_get)},
    {Py_tp_repr, WC_SLOT_FN(cp_repr)},
    {Py_tp_methods, cp_methods},
    {Py_tp_members, cp_members},
    {Py_tp_getset, cp_getset},
    {Py_tp_doc, WC_SLOT_FN(cp_doc)},
    {0, NULL},
};

static PyType_Spec cp_spec = {
    "weakcache.cached_property", sizeof(CachedProperty), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    cp_slots,
};

static PyMethodDef twin_methods[] = {   /* shadow the twin's own slot wrapper */
    {"__get__", (PyCFunction)(void (*)(void))wcpy_cp_get_method, METH_FASTCALL | METH_COEXIST,
     "__get__(instance, owner=None): the cached value; the descriptor itself if instance "
     "is None."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot twin_slots[] = {
    {Py_tp_dealloc, WC_SLOT_FN(cp_dealloc)},
    {Py_tp_traverse, WC_SLOT_FN(cp_traverse)},
    {Py_tp_clear, WC_SLOT_FN(cp_clear)},
    {Py_tp_descr_get, WC_SLOT_FN(wcpy_cp_descr_get)},
    {Py_tp_descr_set, WC_SLOT_FN(wcpy_cp_descr_set)},
    {Py_tp_methods, twin_methods},
    {Py_tp_doc, (void *)"A cached_property bound to a class without __dict__ (a data descriptor)."},
    {0, NULL},
};

/* Same qualified name: the twin is an implementation detail. */
static PyType_Spec twin_spec = {
    "weakcache.cached_property", 0, 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    twin_slots,
};

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

/* The store, readable as cached_property._wc_store for introspection and
 * tests (len() is its number of values). The C code never reads it back:
 * it uses PropState.store. The type is immutable, so it cannot be replaced;
 * the entry is written while the type is being set up, as CPython's own
 * types do with their dicts. */
static int expose_store(PropState *st)
{
    PyObject *d = wc_type_dict(st->cached_property_type);
    if (d == NULL || PyDict_SetItemString(d, "_wc_store", st->store) < 0)
        return -1;
    PyType_Modified(st->cached_property_type);
    return 0;
}

int wcpy_property_init(PyObject *module, PropState *st, OwnersState *owners)
{
    PyObject *func, *modname, *base;
    int r;

    prop_offset = wcpy_part_offset(module, st);
    prop_module_def = PyModule_GetDef(module);
    st->owners = owners;
    if ((st->str_dict = PyUnicode_InternFromString("__dict__")) == NULL ||
        (st->str_twin = PyUnicode_InternFromString("__wc_data_twin__")) == NULL)
        return -1;
    st->cached_property_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &cp_spec, NULL);
    if (st->cached_property_type == NULL)
        return -1;
    st->data_twin_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &twin_spec, (PyObject *)st->cached_property_type);
    if (st->data_twin_type == NULL)
        return -1;
    st->store_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &wcpy_store_spec, NULL);
    if (st->store_type == NULL)
        return -1;
    st->values_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &wcpy_values_spec, NULL);
    if (st->values_type == NULL)
        return -1;
    st->store = wcpy_store_new(st);
    if (st->store == NULL || expose_store(st) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "cached_property", (PyObject *)st->cached_property_type) < 0)
        return -1;
    base = PyObject_GetAttrString(module, "WeakcacheWarning");
    if (base == NULL)
        return -1;
    st->weak_store_warning = PyErr_NewExceptionWithDoc(
        "weakcache.WeakStoreWarning",
        "A cached_property keeps its values in the weak-keyed store (hundreds of bytes per\n"
        "instance) where a reserved slot (8 bytes per value) was within reach: a dataclass\n"
        "or attrs class made with the standard decorator instead of weakcache.dataclass\n"
        "or weakcache.attrs_define.",
        base, NULL);
    Py_DECREF(base);
    if (st->weak_store_warning == NULL ||
        PyModule_AddObjectRef(module, "WeakStoreWarning", st->weak_store_warning) < 0)
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

int wcpy_property_traverse(PropState *st, visitproc visit, void *arg)
{
    Py_VISIT(st->cached_property_type);
    Py_VISIT(st->data_twin_type);
    Py_VISIT(st->store_type);
    Py_VISIT(st->values_type);
    Py_VISIT(st->store);
    Py_VISIT(st->weak_store_warning);
    return 0;
}

void wcpy_property_clear(PropState *st)
{
    Py_CLEAR(st->store);
    Py_CLEAR(st->weak_store_warning);
    Py_CLEAR(st->store_type);
    Py_CLEAR(st->values_type);
    Py_CLEAR(st->data_twin_type);
    Py_CLEAR(st->cached_property_type);
    Py_CLEAR(st->str_dict);
    Py_CLEAR(st->str_twin);
}
