/*
 * module.h - what the extension's C files share: the module state, owner
 * records and the owner registry's entry points. Internal to the extension.
 */
#ifndef WC_PY_MODULE_H
#define WC_PY_MODULE_H

#include "compat.h"
#include "weakcache.h"

#include <stdint.h>

typedef struct {
    PyWeakReference wr;   /* must come first: this is a weakref.ref */
    wc_owner owner;
    uintptr_t addr;       /* the referent's address, the registry key */
} OwnerRef;

typedef struct {
    OwnerRef **slots;     /* NULL, DUMMY or a record (a strong reference) */
    size_t mask;          /* capacity - 1, capacity a power of two */
    size_t used;          /* live records */
    size_t filled;        /* live records + DUMMY slots */
} Registry;

typedef struct {
    PyTypeObject *wrapper_type;
    PyTypeObject *bound_type;
    PyTypeObject *ownerref_type;
    PyObject *cache_info_type;
    PyObject *kwd_mark;
    PyObject *owner_died;          /* the weakref callback */
    PyObject *warning;             /* WeakcacheWarning */
    PyObject *not_weakrefable_warning;
    PyObject *owner_cycle_warning;
    Registry registry;
    wc_owner no_entries;           /* never holds entries: counts misses */
    PyTypeObject *cached_property_type;   /* property.c */
} ModState;

/* The live owner record of obj (borrowed), or NULL if it has none. A record
 * left by a dead object at the same address is discarded. No Python code runs
 * except the decrefs of a discarded record's entries. */
OwnerRef *wcpy_owner_lookup(ModState *st, PyObject *obj);

/* The record of obj, created if needed (borrowed: the registry holds it until
 * obj dies). NULL with an exception set (TypeError if obj cannot be weakly
 * referenced, MemoryError). */
OwnerRef *wcpy_owner_get_or_create(ModState *st, PyObject *obj);

/* Allocator and ops for caches whose keys and values are PyObject *. */
extern const wc_allocator wcpy_allocator;
extern const wc_ops wcpy_ops;

/* tp_traverse helper: visit every key and value of a cache of PyObject *
 * (NULL cache: nothing). Iterating runs no Python code and allocates nothing,
 * so it is safe inside the collector. */
int wcpy_cache_traverse(wc_cache *cache, visitproc visit, void *arg);

/* Raise the Python exception for a failed core call (unless one is set). */
PyObject *wcpy_core_error(int status);

/* property.c: create the cached_property type, store it in st and add it to
 * the module as "cached_property". 0 or -1 with an exception. */
int wcpy_property_exec(PyObject *module, ModState *st);

#endif /* WC_PY_MODULE_H */
