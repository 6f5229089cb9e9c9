"""No leaks of weakcache's own: cache objects take part in cyclic GC, repr is
informative, and repeating the core scenarios does not grow memory."""
import array
import gc
import sys
import warnings
import weakref

import pytest

import weakcache
from weakcache import NotWeakrefableWarning, cache, lru_cache

owner_count = weakcache._weakcache._owner_count


# --------------------------------------------------------------- GC support


def test_every_cache_object_is_gc_tracked():
    @lru_cache
    def f(x):
        return x

    class A:
        @cache
        def m(self):
            return 1

    a = A()
    assert gc.is_tracked(f)
    assert gc.is_tracked(A.__dict__["m"])
    assert gc.is_tracked(a.m)


def test_cycle_wrapper_function_closure_wrapper_is_collected():
    def make():
        @lru_cache
        def f(n):
            return 0 if n == 0 else f(n - 1) + 1   # f's closure holds the wrapper

        f(10)
        return f

    f = make()
    r, rf = weakref.ref(f), weakref.ref(f.__wrapped__)
    del f
    assert r() is not None      # a reference cycle: needs the collector
    gc.collect()
    assert r() is None and rf() is None


def test_cycle_through_a_cached_value_is_collected():
    class Box:
        pass

    def make():
        @lru_cache
        def f(x):
            b = Box()
            b.f = f         # the cached value references the wrapper
            return b

        f(1)
        return f

    f = make()
    box = weakref.ref(f(1))
    r = weakref.ref(f)
    del f
    gc.collect()
    assert r() is None and box() is None


def test_cycle_through_cached_argument_is_collected():
    class Arg:
        pass

    @lru_cache
    def f(x):
        return 0

    arg = Arg()
    arg.f = f           # wrapper -> entry key -> arg -> wrapper
    f(arg)
    r, ra = weakref.ref(f), weakref.ref(arg)
    del f, arg
    gc.collect()
    assert r() is None and ra() is None


def test_class_instance_and_self_returning_entry_are_collected():
    """method returns self: instance -> class -> wrapper -> entry -> instance.
    Unreachable as a whole, the collector frees it without cache_clear()."""

    def make():
        class A:
            @cache
            def me(self):
                return self

        a = A()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", weakcache.OwnerCycleWarning)
            a.me()
        return weakref.ref(A), weakref.ref(a)

    before = owner_count()
    rc, ra = make()
    gc.collect()
    assert rc() is None and ra() is None
    assert owner_count() == before


def test_class_with_cached_method_dies_with_its_instances():
    before = owner_count()

    def make():
        class A:
            @lru_cache(maxsize=8)
            def m(self, x):
                return [x]

        objs = [A() for _ in range(5)]
        for o in objs:
            o.m(1)
        return weakref.ref(A), objs

    rc, objs = make()
    assert owner_count() == before + 5
    del objs
    assert owner_count() == before
    gc.collect()
    assert rc() is None


def test_bound_method_in_a_cycle_is_collected():
    class A:
        @cache
        def m(self):
            return 1

    a = A()
    a.keep = a.m        # a -> bound -> a
    a.m()
    r = weakref.ref(a)
    del a
    gc.collect()
    assert r() is None
    assert A.m.cache_info().currsize == 0


def test_not_weakrefable_owner_in_key_is_collected_with_the_cache():
    def make():
        class S:
            __slots__ = ()

            @cache
            def m(self):
                return 1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotWeakrefableWarning)
            S().m()
        return weakref.ref(S)

    r = make()
    gc.collect()
    assert r() is None


# -------------------------------------------------------------------- repr


def test_repr_of_a_function_cache():
    @lru_cache(maxsize=3)
    def some_function(x):
        return x

    some_function(1)
    text = repr(some_function)
    assert "test_repr_of_a_function_cache.<locals>.some_function" in text
    assert "maxsize=3" in text
    assert "entries=1" in text


def test_repr_of_a_method_cache_counts_owners_and_entries():
    class Widget:
        @cache
        def render(self, x):
            return x

    assert "owners=0" in repr(Widget.render) and "entries=0" in repr(Widget.render)
    a, b = Widget(), Widget()
    a.render(1), a.render(2), b.render(1)
    text = repr(Widget.render)
    assert "Widget.render" in text
    assert "owners=2" in text and "entries=3" in text and "maxsize=None" in text
    del a
    assert "owners=1" in repr(Widget.render) and "entries=1" in repr(Widget.render)
    bound = repr(b.render)
    assert "Widget.render" in bound and repr(b) in bound


# ------------------------------------------------------------ memory flat


class Plain:
    def __init__(self, v):
        self.v = v

    @lru_cache(maxsize=64)
    def bounded(self, x, *, y=0):
        return (self.v, x, y)

    @cache
    def unbounded(self, x):
        if x < 0:
            raise ValueError(x)
        return [self.v, x]


class NoWeak:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    @lru_cache(maxsize=16)
    def m(self, x):
        return self.v + x


@lru_cache(maxsize=32)
def module_function(x, y=None):
    if x == "raise":
        raise KeyError(x)
    return (x, y)


def _round(n):
    # functions: hits, misses, evictions, keywords, exceptions, clear
    for i in range(n):
        module_function(i % 50, y=i % 3)
        module_function(str(i % 40))
        try:
            module_function("raise")
        except KeyError:
            pass
        try:
            module_function([])
        except TypeError:
            pass
    module_function.cache_clear()
    # a fresh function cache created and dropped
    f = lru_cache(maxsize=8)(lambda x: x * 2)
    for i in range(100):
        f(i % 12)
    del f
    # methods: owners living, dying, evicted, cleared per instance and globally
    keep = []
    for i in range(n):
        p = Plain(i)
        p.bounded(i % 7, y=1)
        p.unbounded(i % 5)
        p.unbounded(i % 5)
        try:
            p.unbounded(-1)
        except ValueError:
            pass
        if i % 10 == 0:
            keep.append(p)
        if i % 25 == 0:
            p.unbounded.cache_clear()
        m = p.bounded
        m(1)
        del m, p
    for p in keep:
        p.bounded(3)
    del keep
    Plain.bounded.cache_clear()
    Plain.unbounded.cache_clear()
    # not weakrefable owners (bounded: no warning)
    for i in range(n // 4):
        NoWeak(i).m(1)
    NoWeak.m.cache_clear()


def test_memory_stays_flat_over_repeated_rounds():
    before = owner_count()
    for _ in range(3):            # warm up: free lists, caches, interned strings
        _round(2000)
    gc.collect()
    # An array, not a list: storing an int object would itself be a block.
    sizes = array.array("q", bytes(8 * 8))
    for i in range(8):
        _round(2000)
        gc.collect()
        sizes[i] = sys.getallocatedblocks()
    sizes = list(sizes)
    growth = sizes[-1] - sizes[0]
    # A leak of one block per call would be ~10,000 blocks per round.
    assert growth < 300, sizes
    assert not all(b > a for a, b in zip(sizes, sizes[1:])), sizes
    assert owner_count() == before
    assert Plain.bounded.cache_info().currsize == 0
