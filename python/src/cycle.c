/*
 * cycle.c - does a cached value keep its owner alive? (OwnerCycleWarning)
 *
 * A method's entry holds its value strongly and its owner weakly; a value
 * that references the owner keeps it alive until the entry is evicted. On
 * every miss of a method, before the value is stored, we look for the owner
 * among the objects the value references, breadth first, through the
 * collector's tp_traverse (which runs no Python code):
 *   - level 1: what the value references; level 2: what those reference;
 *     level 3: one more step (value -> list -> child -> owner, or on 3.10
 *     value -> child -> child.__dict__ -> owner);
 *   - at most WC_CYCLE_VISITS references looked at in total, and at most
 *     WC_CYCLE_QUEUE containers entered per level (the first ones met), so a
 *     miss returning 100 lists of 100,000 items costs a few hundred steps,
 *     not ten million;
 *   - the link from an object to its own class (every instance of a heap
 *     type references it) is not followed and does not count: an owner
 *     that is a class (lru_cache on __new__, as importlib.metadata's
 *     FastPath does) is not "referenced" by the instances it returns;
 *   - classes are not entered (their dicts and MROs are long-lived and big).
 * What it does not find: the owner further than three steps away or past
 * the budget, through objects that are not GC containers (they have no
 * tp_traverse), or held in C state a type does not traverse, or reached
 * only through a class. The warning is a hint, not a guarantee; see the
 * README ("OwnerCycleWarning: what is checked").
 */
#include "lru.h"

typedef struct {
    PyObject *target;
    PyObject *container;                 /* being traversed now */
    PyObject *next[WC_CYCLE_QUEUE];      /* borrowed: no Python code runs */
    size_t n_next;
    size_t visits;
    int found;
} CycleSearch;

static int cycle_visit(PyObject *obj, void *arg)
{
    CycleSearch *s = arg;
    if (obj == NULL)
        return 0;   /* a traverse that does not use Py_VISIT */
    if (s->visits >= WC_CYCLE_VISITS)
        return 1;   /* out of budget: stop every traversal */
    s->visits++;
    if (obj == (PyObject *)Py_TYPE(s->container))
        return 0;   /* the instance-of link */
    if (obj == s->target) {
        s->found = 1;
        return 1;
    }
    if (s->n_next < WC_CYCLE_QUEUE && PyObject_IS_GC(obj) && !PyType_Check(obj) &&
        Py_TYPE(obj)->tp_traverse != NULL)
        s->next[s->n_next++] = obj;
    return 0;
}

int wcpy_references_owner(PyObject *value, PyObject *owner, size_t *visits)
{
    CycleSearch s;
    PyObject *level[WC_CYCLE_QUEUE];
    size_t n_level = 0, i;
    int depth;

    *visits = 0;
    if (value == owner)
        return 1;
    s.target = owner;
    s.n_next = 0;
    s.visits = 0;
    s.found = 0;
    if (PyObject_IS_GC(value) && !PyType_Check(value) && Py_TYPE(value)->tp_traverse != NULL)
        level[n_level++] = value;
    for (depth = 0; depth < WC_CYCLE_DEPTH && n_level > 0; depth++) {
        s.n_next = 0;
        for (i = 0; i < n_level && !s.found && s.visits < WC_CYCLE_VISITS; i++) {
            s.container = level[i];
            Py_TYPE(level[i])->tp_traverse(level[i], cycle_visit, &s);
        }
        if (s.found || s.visits >= WC_CYCLE_VISITS)
            break;
        for (i = 0; i < s.n_next; i++)
            level[i] = s.next[i];
        n_level = s.n_next;
    }
    *visits = s.visits;
    return s.found;
}
