/*
 * cycle.c - does a cached value keep its owner alive? (OwnerCycleWarning)
 */
#include "lru.h"

/* ------------------------------------------------------------------ */
/* Detecting a value that keeps its owner alive                        */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject *target;
    int depth;
    int budget;
    int found;
} CycleSearch;

static int cycle_visit(PyObject *obj, void *arg)
{
    CycleSearch *s = arg;
    if (obj == s->target) {
        s->found = 1;
        return 1;
    }
    if (s->depth > 0 && s->budget > 0 && PyObject_IS_GC(obj) &&
        Py_TYPE(obj)->tp_traverse != NULL) {
        s->budget--;
        s->depth--;
        Py_TYPE(obj)->tp_traverse(obj, cycle_visit, s);
        s->depth++;
    }
    return s->found;
}

/* Does value reach owner within a few references (value -> x -> y -> owner)?
 * Bounded: at most 64 containers looked into, on the miss path only. */
int wcpy_references_owner(PyObject *value, PyObject *owner)
{
    CycleSearch s = {owner, 2, 64, 0};
    if (value == owner)
        return 1;
    if (!PyObject_IS_GC(value) || Py_TYPE(value)->tp_traverse == NULL)
        return 0;
    Py_TYPE(value)->tp_traverse(value, cycle_visit, &s);
    return s.found;
}

