"""A lookup or store that cannot settle calls the function (issue 9, defect 4).

When an argument's __eq__ changes the same cache (it calls the cached method
on a short-lived instance) or releases the GIL while other threads insert,
the core restarts its lookup, and after 64 restarts gives up (WC_ECHANGED).
That used to surface as RuntimeError("the cache changed during the
operation"); functools returns the value. Now the call is a miss: the
function runs and its result is stored if the store settles.
"""
from __future__ import annotations

import functools
import sys
import threading
import time

import pytest

import weakcache

DECORATORS = [weakcache.lru_cache(maxsize=None), weakcache.lru_cache(maxsize=1000),
              functools.lru_cache(maxsize=None)]
IDS = ["weakcache-unbounded", "weakcache-bounded", "functools"]


def colliding_key(on_eq):
    """A key class whose instances all hash alike (lookups call __eq__) and
    whose __eq__ first calls on_eq()."""

    class K:
        def __init__(self, v):
            self.v = v

        def __hash__(self):
            return 1

        def __eq__(self, other):
            on_eq()
            return isinstance(other, K) and self.v == other.v

    return K


def make_classes(decorator, churn):
    class A:
        @decorator
        def m(self, k):
            return ("value", getattr(k, "v", k))

    return A, colliding_key(lambda: churn(A))


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
@pytest.mark.parametrize("function", [False, True], ids=["method", "function"])
def test_eq_that_uses_the_same_cache_on_a_short_lived_instance(decorator, function):
    A, K = make_classes(decorator, lambda A: A().m(object()))
    a = A()
    call = (lambda k: A.m(a, k)) if not function else None
    if function:
        f = decorator(lambda k: ("value", getattr(k, "v", k)))
        A, K = make_classes(decorator, lambda A: (f(object()), A().m(object())))
        call = f
    assert call(K(1)) == ("value", 1)
    assert call(K(2)) == ("value", 2)
    assert call(K(2)) == ("value", 2)
    assert call(K(1)) == ("value", 1)
    info = (f if function else A.m).cache_info()
    assert info.hits + info.misses >= 4


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
def test_eq_releasing_the_gil_while_threads_insert(decorator):
    A, K = make_classes(decorator, lambda A: time.sleep(0.0002))
    a = A()
    a.m(K(0))
    stop = threading.Event()
    errors = []

    def insert():
        i = 0
        try:
            while not stop.is_set():
                A().m(i)      # a short-lived owner: insert, then evict
                i += 1
        except BaseException as e:   # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=insert) for _ in range(3)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    for t in threads:
        t.start()
    try:
        results = [a.m(K(v)) for v in (1, 2, 1, 0, 2)]
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(interval)
    assert errors == []
    assert results == [("value", v) for v in (1, 2, 1, 0, 2)]


def test_instance_cache_clear_of_a_fallback_owner_with_a_churning_eq():
    """Sibling: obj.m.cache_clear() on an owner that cannot be weakly referenced
    used to look each key up again (running __hash__/__eq__); it now removes
    through an iterator and cannot fail to settle."""
    import collections

    class Temp:
        pass

    class P(collections.namedtuple("P", "x")):
        __slots__ = ()

        @weakcache.lru_cache(maxsize=100)
        def m(self, k):
            return getattr(k, "v", None)

    churn = []
    # when armed, each __eq__ uses the same cache on a short-lived owner
    K = colliding_key(lambda: churn and P.m(Temp(), object()))

    p, q = P(1), P(2)
    for v in range(5):
        p.m(K(v))
        q.m(K(v))
    assert p.m(K(0)) == 0   # the oldest entry becomes the most recently used
    assert p.m.cache_info().currsize == 5
    churn.append(True)
    p.m.cache_clear()
    assert p.m.cache_info().currsize == 0
    assert q.m.cache_info().currsize == 5
