"""obj.m can be weakly referenced, as functools' bound methods (issue 9, defect 9)."""
from __future__ import annotations

import functools
import gc
import weakref

import pytest

import weakcache


def make_class(decorator):
    class A:
        @decorator
        def m(self, x=1):
            return x * 2

    return A


DECORATORS = [weakcache.lru_cache(maxsize=8), functools.lru_cache(maxsize=8)]


@pytest.mark.parametrize("decorator", DECORATORS, ids=["weakcache", "functools"])
def test_weakref_to_bound_method_dies_with_it(decorator):
    a = make_class(decorator)()
    m = a.m
    calls = []
    r = weakref.ref(m, calls.append)
    assert r() is m
    assert r()(3) == 6
    del m
    assert r() is None and calls == [r]


@pytest.mark.parametrize("decorator", DECORATORS, ids=["weakcache", "functools"])
def test_weakset_and_weak_dict_of_bound_methods(decorator):
    a = make_class(decorator)()
    s = weakref.WeakSet()
    s.add(a.m)            # dies at once, as a bound method would
    assert len(s) == 0
    m = a.m
    s.add(m)
    assert len(s) == 1 and a.m in s   # equal by (function, self)
    d = weakref.WeakKeyDictionary({m: "v"})
    assert d[a.m] == "v"
    del m
    assert len(s) == 0 and len(d) == 0


def test_weakref_callback_on_bound_method_in_a_cycle():
    A = make_class(weakcache.lru_cache(maxsize=8))
    seen = []
    a = A()
    m = a.m
    a.keep = m            # a -> m -> a: only the collector frees them
    r = weakref.ref(m, lambda ref: seen.append(ref() is None))
    del a, m
    gc.collect()
    assert seen == [True]
    assert r() is None


def test_weakmethod_still_works():
    A = make_class(weakcache.lru_cache(maxsize=8))
    a = A()
    wm = weakref.WeakMethod(a.m)
    assert wm()(4) == 8
    del a
    assert wm() is None
