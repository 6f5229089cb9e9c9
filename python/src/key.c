/*
 * key.c - the keys of weakcache.lru_cache entries (see lru.c for how entries
 * are laid out: (owner, key) -> value), and the key equality of its caches.
 *
 * THE RULE: EQUAL WHERE FUNCTOOLS' KEYS ARE EQUAL
 * ===============================================
 * functools (Lib/functools.py _make_key, Modules/_functoolsmodule.c
 * lru_cache_make_key) keys a call on the tuple
 *     args + (kwd_mark, k1, v1, k2, v2, ...) + (type(a) for a in args)
 *                                            + (type(v) for v in values)
 * (the keyword part only with keywords, in call order; the types only with
 * typed=True), except that a lone positional argument of exact type int or
 * str, untyped and without keywords, is the key itself. Two calls share an
 * entry exactly when those keys compare equal (and hash equal).
 *
 * Functions and fallback owners (unowned entries, the owner inside args):
 * the same keys as functools, built here the same way. So f(1) and f(1.0)
 * are two entries, as there (1 == (1.0,) is false).
 *
 * Methods (owned entries): functools' key is (self, x, ...). The owner is
 * matched by identity by the core, so the key is the same tuple without
 * self, and with typed=True without type(self) at the front but with it at
 * the end. The tuple for one positional argument x, (x,), is stored as x
 * itself when x is not a tuple (no allocation on the common hit path); a
 * tuple argument stays wrapped, (x,) (stored as a tagged pointer to x, not
 * as a tuple: "Stored keys" below), so that m((1, 2)) and m(1, 2) keep
 * apart. Equality then has to treat "a bare key" vs "an exact tuple key" as
 * unequal (key_equal below): a bare key is never a tuple of any kind, a
 * built key is always an exact tuple, so the only calls this separates that
 * functools would share are those where a non-tuple argument claims to
 * equal a tuple argument and hashes like the 1-tuple holding it (none in
 * practice). Between two bare keys, x == y is exactly what functools'
 * (self, x) == (self, y) computes (identity first, then __eq__); between two
 * tuples, tuple equality, as there. So obj.m(1), obj.m(1.0), obj.m(True),
 * obj.m(IntEnum member), obj.m(Decimal(1)), obj.m(Fraction(1)) and int/str
 * subclasses share one entry, as in functools.
 */
#include "lru.h"

/* A bare key for a function (functools' own short path): exact int or str. */
static int function_bare(PyObject *arg)
{
    return PyLong_CheckExact(arg) || PyUnicode_CheckExact(arg);
}

/* Tagged probes: the lookup key of a lone argument x whose key is the
 * 1-tuple (x,) (a tuple argument of a method; anything but an exact int or
 * str for a function) is x's address with the low bit set, so that a hit
 * allocates nothing; key_equal compares it as (x,). Its hash is hash(x),
 * and so is the hash of the (x,) stored on a miss (every hash is computed
 * here, once per call, and passed to the core). */
#define TAG ((uintptr_t)1)
#define IS_TAGGED(p) (((uintptr_t)(p) & TAG) != 0)
#define UNTAG(p) ((PyObject *)((uintptr_t)(p) & ~TAG))

static PyObject *build_key(LruState *st, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames, int typed, PyObject *owner)
{
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    Py_ssize_t size, i, pos = 0;
    PyObject *key;

    size = nargs + (nkw ? 1 + 2 * nkw : 0) + (typed ? nargs + nkw + (owner != NULL) : 0);
    if (size == 1) {
        /* only a typed method called without arguments: (type(self),). A
         * built key never has one item (a 1-tuple key is a wrapped lone
         * argument, see "Stored keys"), so this one is (kwd_mark,
         * type(self)), which no other call builds. */
        return PyTuple_Pack(2, st->kwd_mark, (PyObject *)Py_TYPE(owner));
    }
    key = PyTuple_New(size);
    if (key == NULL)
        return NULL;
    for (i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(key, pos++, Py_NewRef(args[i]));
    if (nkw) {
        PyTuple_SET_ITEM(key, pos++, Py_NewRef(st->kwd_mark));
        for (i = 0; i < nkw; i++) {
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(PyTuple_GET_ITEM(kwnames, i)));
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(args[nargs + i]));
        }
    }
    if (typed) {
        for (i = 0; i < nargs + nkw; i++)
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(Py_TYPE(args[i])));
        /* functools' (type(self), ...): an object whose __class__ was
         * assigned since does not hit its old entries. */
        if (owner != NULL)
            PyTuple_SET_ITEM(key, pos++, Py_NewRef(Py_TYPE(owner)));
    }
    return key;
}

int wcpy_lru_probe(LruState *st, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   int typed, PyObject *owner, void **probe, Py_hash_t *hash)
{
    PyObject *key;
    if (!typed && nargs == 1 && (kwnames == NULL || PyTuple_GET_SIZE(kwnames) == 0)) {
        PyObject *x = args[0];
        int bare = owner != NULL ? !PyTuple_Check(x) : function_bare(x);
        *hash = PyObject_Hash(x);
        if (*hash == -1)
            return -1;
        *probe = bare ? (void *)Py_NewRef(x) : (void *)((uintptr_t)x | TAG);
        return 0;
    }
    key = build_key(st, args, nargs, kwnames, typed, owner);
    if (key == NULL)
        return -1;
    *hash = PyObject_Hash(key);
    if (*hash == -1) {
        Py_DECREF(key);
        return -1;
    }
    *probe = key;
    return 0;
}

void *wcpy_lru_probe_single(PyObject *x)
{
    return function_bare(x) ? (void *)x : (void *)((uintptr_t)x | TAG);
}

void *wcpy_lru_probe_own(void *probe)
{
    if (!IS_TAGGED(probe))
        Py_INCREF((PyObject *)probe);
    return probe;
}

PyObject *wcpy_lru_probe_key(void *probe)
{
    if (IS_TAGGED(probe))
        return PyTuple_Pack(1, UNTAG(probe));
    return Py_NewRef((PyObject *)probe);
}

void wcpy_lru_probe_release(void *probe)
{
    if (!IS_TAGGED(probe))
        Py_DECREF((PyObject *)probe);
}

/* ------------------------------------------------------------------ */
/* The ops of an lru_cache's wc_cache                                  */
/* ------------------------------------------------------------------ */

/* Stored keys. A wrapped lone argument, functools' (x,), is stored as its
 * probe: x's address with TAG set, holding a strong reference to x, not as
 * a 1-tuple. A hit then matches it by identity (the core compares key
 * pointers before calling key_equal), reading no key object, and the entry
 * owns no tuple (48 bytes less per entry). Every other key is stored as the
 * object. An exact 1-tuple key object is always such a wrapped argument:
 * bare keys are never tuples, built keys have no items or at least two
 * (build_key). Key objects reach the store as 1-tuples from the async path
 * (wcpy_lru_probe_key), and are stored in the probe form. */
void *wcpy_lru_key_probe_form(PyObject *key)
{
    if (PyTuple_CheckExact(key) && PyTuple_GET_SIZE(key) == 1)
        return (void *)((uintptr_t)PyTuple_GET_ITEM(key, 0) | TAG);
    return key;
}

void *wcpy_lru_stored_form(void *probe)
{
    return IS_TAGGED(probe) ? probe : wcpy_lru_key_probe_form((PyObject *)probe);
}

int wcpy_lru_put(wc_cache *cache, wc_owner *owner, uint64_t hash, void *probe,
                 PyObject *value, uint32_t weight)
{
    /* the reference is to the key object, or to the wrapped argument */
    return wcpy_put_as(cache, owner, hash, probe, UNTAG(probe), value, weight);
}

int wcpy_lru_key_starts_with(const void *stored, PyObject *obj)
{
    PyObject *k = UNTAG(stored);
    if (IS_TAGGED(stored))
        return k == obj;   /* (obj,) */
    return PyTuple_CheckExact(k) && PyTuple_GET_SIZE(k) > 0 && PyTuple_GET_ITEM(k, 0) == obj;
}

static void lru_free_key(void *ctx, void *key)
{
    (void)ctx;
    Py_DECREF(UNTAG(key));
}

static int key_equal(void *ctx, const void *stored, const void *probe)
{
    PyObject *a = (PyObject *)stored, *b = (PyObject *)probe;
    (void)ctx;
    /* a wrapped argument never equals a bare or built key (top comment) */
    if (IS_TAGGED(stored) != IS_TAGGED(probe))
        return 0;
    if (IS_TAGGED(stored)) {   /* (y,) == (x,): y is x, or y == x */
        PyObject *x = UNTAG(probe), *y = UNTAG(stored);
        return y == x ? 1 : PyObject_RichCompareBool(y, x, Py_EQ);
    }
    if (a == b)
        return 1;
    /* A bare key against a built one: never equal (see the top comment),
     * and no __eq__ runs. */
    if (PyTuple_CheckExact(a) != PyTuple_CheckExact(b))
        return 0;
    return PyObject_RichCompareBool(a, b, Py_EQ);
}

const wc_ops wcpy_lru_ops = {key_equal, lru_free_key, wcpy_obj_decref, wcpy_obj_incref, NULL};

int wcpy_lru_keys_equal(const void *stored, const void *probe)
{
    return key_equal(NULL, stored, probe);   /* identity included */
}
