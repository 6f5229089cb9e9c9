/*
 * module.c - weakcache._weakcache: module init and the module state.
 *
 * LAYOUT OF THE EXTENSION (one job per file, arrows in one direction)
 * ===================================================================
 *
 *     module.c            this file: ModState, init, traverse, clear
 *       |       \
 *     lru.c     property.c + property_class.c     the two features; they
 *     bound.c     (cached_property)               never include each other
 *     options.c   lru_cache's ttl/weight options and cache_stats
 *     flight.c    lock=True: thread single flight (compat.h only)
 *     async.c     async def: hits, and the miss path of weakcache/_async.py
 *       |       /
 *     owners.c / owners.h   owner records and registry, the weakref callback,
 *       |                   allocator and ops callbacks, ref helpers
 *     include/weakcache.h   the C core's public API (nothing from src/)
 *
 * compat.h holds every CPython version difference.
 *
 * MODULE STATE
 * ============
 * One ModState per module object (multi-phase init, so one per interpreter
 * that imports the module), made of one sub-struct per part. Each part sets
 * up, traverses and clears its own sub-struct; a part finds its sub-struct
 * from its types through the offset it recorded at init (owners.h), so no
 * part needs to know this struct. Nothing lives in C globals except those
 * offsets and the module definition, which are the same in every instance.
 *
 * Teardown order: the owners go first (releasing them empties every cache
 * of owned entries, which runs Python decrefs while the features' types
 * still exist), then the features.
 */
#include "async.h"
#include "lru.h"
#include "options.h"
#include "owners.h"
#include "property.h"

typedef struct {
    OwnersState owners;
    LruState lru;
    OptState options;
    AsyncState async;
    PropState property;
    PyObject *warning;   /* WeakcacheWarning, the base of the features' warnings */
} ModState;

#ifndef WC_PY_VERSION
#define WC_PY_VERSION "0.0.0"
#endif
#ifndef WC_BUILD_FLAGS
#define WC_BUILD_FLAGS ""
#endif

static ModState *state_of_module(PyObject *module)
{
    return (ModState *)PyModule_GetState(module);
}

static PyObject *mod_build_info(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return Py_BuildValue("{s:s,s:s,s:s}", "package", WC_PY_VERSION, "core",
                         wc_version(), "build_flags", WC_BUILD_FLAGS);
}

static PyObject *mod_owner_count(PyObject *module, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(wcpy_owner_records(&state_of_module(module)->owners));
}

static PyObject *mod_owner_registry_lookups(PyObject *module, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(state_of_module(module)->owners.registry_lookups);
}

static PyObject *mod_owner_hint(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(WC_HAVE_WEAKLIST_HEAD);
}

static PyMethodDef module_methods[] = {
    {"_build_info", mod_build_info, METH_NOARGS,
     "Versions of the package and the C core, and the build flags."},
    {"_owner_count", mod_owner_count, METH_NOARGS,
     "Number of live owner records (objects with entries in some cache)."},
    {"_owner_registry_lookups", mod_owner_registry_lookups, METH_NOARGS,
     "Owner lookups that went to the registry (tests: the others took the hint)."},
    {"_owner_hint", mod_owner_hint, METH_NOARGS,
     "Whether this build finds owner records from an object's weak references."},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *module)
{
    ModState *st = state_of_module(module);

    if (PyModule_AddStringConstant(module, "__version__", WC_VERSION_STRING) < 0)
        return -1;
    st->warning = PyErr_NewExceptionWithDoc("weakcache.WeakcacheWarning",
                                            "Base class of weakcache's warnings.",
                                            PyExc_UserWarning, NULL);
    if (st->warning == NULL ||
        PyModule_AddObjectRef(module, "WeakcacheWarning", st->warning) < 0)
        return -1;
    if (wcpy_owners_init(module, &st->owners) < 0)
        return -1;
    if (wcpy_lru_init(module, &st->lru, &st->owners, st->warning) < 0 ||
        wcpy_options_init(module, &st->options) < 0 ||
        wcpy_async_init(module, &st->async) < 0)
        return -1;
    st->lru.async = &st->async;
    return wcpy_property_init(module, &st->property, &st->owners);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModState *st = state_of_module(module);
    int r;
    Py_VISIT(st->warning);
    if ((r = wcpy_owners_traverse(&st->owners, visit, arg)) != 0 ||
        (r = wcpy_lru_traverse(&st->lru, visit, arg)) != 0 ||
        (r = wcpy_options_traverse(&st->options, visit, arg)) != 0 ||
        (r = wcpy_async_traverse(&st->async, visit, arg)) != 0)
        return r;
    return wcpy_property_traverse(&st->property, visit, arg);
}

static int module_clear(PyObject *module)
{
    ModState *st = state_of_module(module);
    wcpy_owners_clear(&st->owners);
    wcpy_lru_clear(&st->lru);
    wcpy_options_clear(&st->options);
    wcpy_async_clear(&st->async);
    wcpy_property_clear(&st->property);
    Py_CLEAR(st->warning);
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, WC_SLOT_FN(module_exec)},
    WC_MOD_MULTIPLE_INTERPRETERS_SLOT
    WC_MOD_GIL_SLOT
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "weakcache._weakcache",
    "C implementation of weakcache: owner-keyed LRU caches for functions and methods.",
    sizeof(ModState),
    module_methods,
    module_slots,
    module_traverse,
    module_clear,
    module_free,
};

PyMODINIT_FUNC PyInit__weakcache(void)
{
    return PyModuleDef_Init(&module_def);
}
