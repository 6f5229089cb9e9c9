"""The hit path of a plain function called with one positional argument.

That call (not a method, not typed, no options, not async) has its own
path in the extension (lru.c, wrapper_vectorcall): the probe borrows the
argument and a miss goes on in the general path with the hash already
computed. What a user could notice is checked against functools itself:
how often __hash__ and __eq__ run, the errors, the counts.
"""
from __future__ import annotations

import functools
import warnings

import pytest

import weakcache


class Counted:
    """Hashes like its value; counts its __hash__ and __eq__ calls."""

    hashes = 0
    eqs = 0

    def __init__(self, v):
        self.v = v

    def __hash__(self):
        type(self).hashes += 1
        return hash(self.v)

    def __eq__(self, other):
        type(self).eqs += 1
        return isinstance(other, Counted) and self.v == other.v


def run_counted(deco):
    Counted.hashes = Counted.eqs = 0

    @deco
    def f(x):
        return x.v * 2

    out = [f(Counted(v)) for v in (1, 2, 1, 1, 3, 2)]
    return out, Counted.hashes, Counted.eqs, f.cache_info()


@pytest.mark.parametrize("maxsize", [None, 128, 2])
def test_hash_and_eq_run_as_often_as_in_functools(maxsize):
    ours = run_counted(weakcache.lru_cache(maxsize=maxsize))
    theirs = run_counted(functools.lru_cache(maxsize=maxsize))
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1] == 6          # once per call, hit or miss
    assert ours[2] == theirs[2]
    assert tuple(ours[3]) == tuple(theirs[3])


@pytest.mark.parametrize("arg", [[1], {1: 2}, {1}])
def test_unhashable_argument_same_error_as_functools(arg):
    def f(x):
        return 1

    w = weakcache.cache(f)
    g = functools.cache(f)
    with pytest.raises(TypeError) as ours:
        w(arg)
    with pytest.raises(TypeError) as theirs:
        g(arg)
    assert str(ours.value) == str(theirs.value)
    assert tuple(w.cache_info()) == tuple(g.cache_info())


class BadHash:
    def __hash__(self):
        raise ValueError("no hash today")


def test_hash_error_propagates_and_counts_nothing():
    calls = []

    @weakcache.cache
    def f(x):
        calls.append(x)
        return 1

    with pytest.raises(ValueError, match="no hash today"):
        f(BadHash())
    assert calls == []
    assert f.cache_info() == f.cache_info()._replace(hits=0, misses=0, currsize=0)


class Reentrant:
    """__eq__ calls the cached function on another value: the lookup that
    called it sees the cache change and starts over (C core, rule 3)."""

    def __init__(self, v, fn_box):
        self.v = v
        self.fn_box = fn_box

    def __hash__(self):
        return 7

    def __eq__(self, other):
        if self.fn_box:
            self.fn_box[0](("side", self.v))
        return isinstance(other, Reentrant) and self.v == other.v


@pytest.mark.parametrize("maxsize", [None, 4])
def test_reentrant_eq_same_results_as_functools(maxsize):
    def run(deco):
        box = []

        @deco
        def f(x):
            return ("value", x if isinstance(x, tuple) else x.v)

        box.append(f)
        out = [f(Reentrant(v, box)) for v in (1, 2, 1, 2, 3, 1)]
        return out, f.cache_info()

    ours, theirs = run(weakcache.lru_cache(maxsize=maxsize)), run(functools.lru_cache(maxsize=maxsize))
    assert ours[0] == theirs[0]
    assert ours[1].currsize == theirs[1].currsize


def test_int_and_str_keys_share_entries_like_functools():
    # a bare int probe meets the int, the equal float and True as functools does
    def run(deco):
        @deco
        def f(x):
            return type(x).__name__

        return [f(1), f(1.0), f(True), f("a"), f(2), f(2.0)], tuple(f.cache_info())

    assert run(weakcache.cache) == run(functools.cache)
    assert run(weakcache.lru_cache(typed=True)) == run(functools.lru_cache(typed=True))


def test_wrapper_turned_method_leaves_the_function_path():
    w = weakcache.cache(lambda self, x: (type(self).__name__, x))
    assert w(object(), 1)[1] == 1       # two arguments: the general path

    class A:
        m = w                           # __set_name__: from now on a method

    a = A()
    assert a.m(5) == ("A", 5)
    assert a.m(5) == ("A", 5)
    assert A.m.cache_info().hits >= 1


# A wrapped lone argument (functools' key (x,) for anything but an exact
# int or str, and a method's lone tuple argument) is stored as a tagged
# pointer to x, not as a 1-tuple (key.c, "Stored keys").

def test_wrapped_argument_costs_no_tuple():
    from integration_helpers import bytes_per_entry

    keys = [float(i) + 0.5 for i in range(20_000)]
    ours, theirs = (bytes_per_entry(d, keys, -1.5) for d in (weakcache.cache, functools.cache))
    # ours: a plain function's unbounded cache keeps its entries in 24-byte
    # slots (python/src/flat.c), 1/2 to 3/4 full: at most 48 B an entry, and
    # no 1-tuple (which would add 56 B); functools: the call's args tuple
    # and a dict entry
    assert ours < 48 + 1, (ours, theirs)
    assert ours < theirs, (ours, theirs)


def test_wrapped_and_built_keys_keep_apart_like_functools():
    def run(deco):
        @deco
        def f(*args):
            return args

        class A:
            @deco
            def m(self, *args):
                return args

        a = A()
        out = [f((1, 2)), f(1, 2), f((1, 2)), f(1.0), f(1), a.m((1, 2)), a.m(1, 2), a.m((1, 2))]
        return out, tuple(f.cache_info()), tuple(A.m.cache_info())

    assert run(weakcache.cache) == run(functools.cache)
    assert run(weakcache.lru_cache(typed=True)) == run(functools.lru_cache(typed=True))


def test_cycle_through_a_wrapped_key_is_collected():
    import gc
    import weakref

    class K:
        pass

    @weakcache.cache
    def f(x):
        return 1

    k = K()
    k.f = f                 # k -> f -> (its cache) -> k, the key
    f(k)
    r = weakref.ref(k)
    del k, f
    gc.collect()
    assert r() is None


def test_typed_method_without_arguments_hits():
    class A:
        @weakcache.lru_cache(maxsize=1, typed=True)
        def m(self):
            return object()

    a = A()
    assert a.m() is a.m()
    assert A.m(a) is a.m()
    assert A.m.cache_info().hits == 3


# From the second review: scans of a non-weakrefable instance's entries
# (the owner inside the key) must skip other owners' entries, and a tagged
# key holds exactly one reference.

def test_fallback_owner_scan_ignores_other_owners_entries():
    class A:
        __slots__ = ()

        @weakcache.lru_cache(maxsize=None)
        def m(self, *args):
            return args

    class W(A):   # no __slots__: weakly referenceable, owned entries
        pass

    nw, w = A(), W()
    w.m(nw, 1)   # w's entry; its key (without self) is (nw, 1)
    assert w.m.cache_info().currsize == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nw.m.cache_info().currsize == 0
        assert nw.m.cache_stats().currsize == 0
        nw.m.cache_clear()   # must not remove w's entry
    assert w.m.cache_info().currsize == 1


def test_tagged_keys_gc_and_refcounts():
    import sys

    @weakcache.lru_cache(maxsize=None)
    def f(x):
        return 1

    class K:
        pass

    k = K()
    before = sys.getrefcount(k)
    f(k)
    f(k)
    assert sys.getrefcount(k) == before + 1
    f.cache_clear()
    assert sys.getrefcount(k) == before
