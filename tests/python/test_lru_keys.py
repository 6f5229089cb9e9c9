"""Equal arguments share an entry exactly as with functools (issue 9, defect 5).

functools keys a method call on (self, x, ...): obj.m(1), obj.m(1.0),
obj.m(True), an IntEnum member, Decimal(1), Fraction(1) and int/str
subclasses all hit one entry, while a plain function stores a lone exact int
or str bare and everything else in a tuple (f(1) and f(1.0) are two
entries). Each test runs the same calls through weakcache and functools and
compares which calls reached the function.
"""
from __future__ import annotations

import enum
import functools
from decimal import Decimal
from fractions import Fraction

import pytest

import weakcache


class Color(enum.IntEnum):
    RED = 1


class IntSub(int):
    pass


class StrSub(str):
    pass


class TupleSub(tuple):
    pass


ONE_LIKE = [1, 1.0, True, Color.RED, Decimal(1), Fraction(1), IntSub(1)]
CALLS = [
    *[((v,), {}) for v in ONE_LIKE],
    (("a",), {}), ((StrSub("a"),), {}),
    (((1, 2),), {}), ((1, 2), {}), ((TupleSub((1, 2)),), {}), (((1,),), {}), (((),), {}),
    ((), {}), ((None,), {}), ((b"x",), {}), ((0,), {}), ((False,), {}), ((0.0,), {}),
    ((), {"x": 1}), ((), {"x": 1.0}), ((), {"x": 1, "y": 2}), ((), {"y": 2, "x": 1}),
    ((1,), {"y": 2}), ((1.0,), {"y": 2.0}),
]


def run_function(decorator, calls):
    computed = []

    @decorator
    def f(*args, **kwargs):
        computed.append((args, kwargs))
        return len(computed)

    results = [f(*a, **k) for a, k in calls]
    info = f.cache_info()
    return computed, results, (info.hits, info.misses, info.currsize)


def run_method(decorator, calls, instances=2):
    computed = []

    class C:
        @decorator
        def m(self, *args, **kwargs):
            computed.append((self.index, args, kwargs))
            return len(computed)

    objs = [C() for _ in range(instances)]
    for i, o in enumerate(objs):
        o.index = i
    results = [o.m(*a, **k) for a, k in calls for o in objs]
    info = C.m.cache_info()
    return computed, results, (info.hits, info.misses, info.currsize)


@pytest.mark.parametrize("typed", [False, True])
@pytest.mark.parametrize("maxsize", [None, 3, 128])
@pytest.mark.parametrize("runner", [run_function, run_method])
def test_same_entries_as_functools(runner, maxsize, typed):
    ours = runner(weakcache.lru_cache(maxsize=maxsize, typed=typed), CALLS + CALLS[::-1])
    theirs = runner(functools.lru_cache(maxsize=maxsize, typed=typed), CALLS + CALLS[::-1])
    assert ours == theirs


@pytest.mark.parametrize("arg", ONE_LIKE[1:] + [StrSub("1")])
def test_method_lone_argument_equal_to_an_int_hits(arg):
    class C:
        @weakcache.lru_cache(maxsize=None)
        def m(self, x):
            return type(x)

    o = C()
    first = o.m(1 if not isinstance(arg, str) else "1")
    assert o.m(arg) is first
    assert C.m.cache_info().hits == 1


def test_method_tuple_argument_is_not_the_arguments():
    class C:
        @weakcache.lru_cache(maxsize=None)
        def m(self, *args):
            return args

    o = C()
    assert o.m((1, 2)) == ((1, 2),)
    assert o.m(1, 2) == (1, 2)
    assert o.m(TupleSub((1, 2))) == ((1, 2),)   # equal to the tuple argument: hit
    assert C.m.cache_info().hits == 1


def test_function_one_and_one_point_zero_are_two_entries():
    @weakcache.lru_cache(maxsize=None)
    def f(x):
        return type(x)

    assert f(1) is int and f(1.0) is float and f(True) is float
    # functools: f(1.0) and f(True) share the tuple key (1.0,) == (True,)
    assert f.cache_info().currsize == 2


def test_typed_method_separates_types_and_keyword_orders():
    class C:
        @weakcache.lru_cache(maxsize=None, typed=True)
        def m(self, *args, **kwargs):
            return (args, kwargs)

    o = C()
    o.m(1), o.m(1.0), o.m(True), o.m(x=1, y=2), o.m(y=2, x=1), o.m(1)
    assert C.m.cache_info()[:2] == (1, 5)


def test_typed_method_entries_follow_class_assignment():
    class A:
        @weakcache.lru_cache(maxsize=None, typed=True)
        def m(self, x):
            return type(self)

    class B(A):
        pass

    o = A()
    assert o.m(1) is A
    o.__class__ = B
    assert o.m(1) is B   # functools: type(self) is part of a typed key
