"""weakcache.lru_cache / weakcache.cache on plain functions: a drop-in for
functools.lru_cache (results, statistics, parameters, wrapper attributes,
pickling, copying, descriptors, weak references)."""
import copy
import functools
import gc
import pickle
import random
import sys
import weakref

import pytest

import weakcache
from weakcache import CacheInfo, cache, lru_cache


def test_installed_package_is_under_test():
    # The tests must exercise the built extension, not the source tree.
    assert "site-packages" in weakcache.__file__
    assert weakcache._weakcache.__file__.endswith((".so", ".pyd"))


# ---------------------------------------------------------------- CacheInfo


def test_cache_info_is_a_named_tuple_like_functools():
    @lru_cache(maxsize=7)
    def f(x):
        return x

    f(1)
    f(1)
    info = f.cache_info()
    assert isinstance(info, CacheInfo)
    assert isinstance(info, tuple)
    assert CacheInfo._fields == functools._CacheInfo._fields
    assert info == (1, 1, 7, 1)
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (1, 1, 7, 1)
    assert info == functools._CacheInfo(1, 1, 7, 1)
    assert repr(info) == "CacheInfo(hits=1, misses=1, maxsize=7, currsize=1)"


def test_cache_info_pickles():
    info = pickle.loads(pickle.dumps(CacheInfo(1, 2, 3, 4)))
    assert info == CacheInfo(1, 2, 3, 4)
    assert type(info) is CacheInfo


# ------------------------------------------------- parity with functools


ARGS = [0, 1, 2, 1.0, 2.0, True, False, "a", "b", b"a", None, (1,), (1, 2), (), frozenset({1})]


def _random_calls(rng, n):
    calls = []
    for _ in range(n):
        kind = rng.randrange(5)
        if kind == 0:
            calls.append(((), {}))
        elif kind == 1:
            calls.append(((rng.choice(ARGS),), {}))
        elif kind == 2:
            calls.append(((rng.choice(ARGS), rng.choice(ARGS)), {}))
        elif kind == 3:
            calls.append(((rng.choice(ARGS),), {"k": rng.choice(ARGS)}))
        else:
            calls.append(((), {"k": rng.choice(ARGS), "j": rng.choice(ARGS)}))
    return calls


@pytest.mark.parametrize("typed", [False, True])
@pytest.mark.parametrize("maxsize", [None, 0, 1, 2, 5, 32, -3])
def test_same_results_and_statistics_as_functools(maxsize, typed):
    """Every call returns what functools returns (including the *cached*
    object, e.g. 1 for a later call with 1.0 when typed=False), the user
    function runs exactly when functools runs it, and cache_info() agrees
    after every call."""
    rng = random.Random(f"{maxsize}-{typed}")
    ours_log, theirs_log = [], []

    def make(log):
        def func(*args, **kwargs):
            log.append((args, kwargs))
            return [args, sorted(kwargs.items())]

        return func

    ours = lru_cache(maxsize=maxsize, typed=typed)(make(ours_log))
    theirs = functools.lru_cache(maxsize=maxsize, typed=typed)(make(theirs_log))
    for args, kwargs in _random_calls(rng, 600):
        r1, r2 = ours(*args, **kwargs), theirs(*args, **kwargs)
        assert r1 == r2
        assert [type(a) for a in r1[0]] == [type(a) for a in r2[0]]
        assert len(ours_log) == len(theirs_log)
        assert ours.cache_info() == theirs.cache_info()
    assert ours.cache_parameters() == theirs.cache_parameters()
    ours.cache_clear()
    theirs.cache_clear()
    assert ours.cache_info() == theirs.cache_info()


def test_typed_separates_types():
    calls = []

    @lru_cache(typed=True)
    def f(x):
        calls.append(x)
        return type(x).__name__

    assert [f(3), f(3.0), f(True), f(3), f(3.0)] == ["int", "float", "bool", "int", "float"]
    assert len(calls) == 3
    assert f.cache_info().currsize == 3


def test_untyped_keys_of_a_lone_argument_match_functools():
    # functools keys a lone int or str argument as itself and every other
    # call as a tuple: f(1) and f(1.0) are two entries (1 != (1.0,)), while
    # f(1.0) and f(True) share one ((1.0,) == (True,)).
    @lru_cache
    def f(x):
        return type(x).__name__

    results = [f(1), f(1.0), f(True), f(None), f(1.0), f("a"), f(b"a")]
    assert results == ["int", "float", "float", "NoneType", "float", "str", "bytes"]
    assert f.cache_info() == CacheInfo(hits=2, misses=5, maxsize=128, currsize=5)


# ---------------------------------------------------------------- maxsize


def test_maxsize_zero_never_caches():
    calls = []

    @lru_cache(maxsize=0)
    def f(x):
        calls.append(x)
        return x * 2

    assert [f(1), f(1), f(1)] == [2, 2, 2]
    assert calls == [1, 1, 1]
    assert f.cache_info() == CacheInfo(0, 3, 0, 0)


@pytest.mark.parametrize("negative", [-1, -10, -(2**70)])
def test_negative_maxsize_means_zero(negative):
    @lru_cache(maxsize=negative)
    def f(x):
        return x

    f(1)
    f(1)
    assert f.cache_info() == CacheInfo(0, 2, 0, 0)
    assert f.cache_parameters() == {"maxsize": 0, "typed": False}
    assert f.cache_parameters() == functools.lru_cache(maxsize=negative)(f.__wrapped__).cache_parameters()


def test_maxsize_none_is_unbounded():
    @lru_cache(maxsize=None)
    def f(x):
        return x

    for i in range(5000):
        f(i)
    assert f.cache_info() == CacheInfo(0, 5000, None, 5000)
    for i in range(5000):
        f(i)
    assert f.cache_info() == CacheInfo(5000, 5000, None, 5000)


def test_maxsize_bounds_and_evicts_least_recently_used():
    calls = []

    @lru_cache(maxsize=3)
    def f(x):
        calls.append(x)
        return x

    for x in 1, 2, 3:
        f(x)
    f(1)          # 1 is now the most recently used; 2 is the oldest
    f(4)          # evicts 2
    assert f.cache_info().currsize == 3
    calls.clear()
    f(1), f(3), f(4)
    assert calls == []
    f(2)
    assert calls == [2]


def test_cache_is_unbounded_lru_cache():
    @cache
    def f(x):
        return -x

    assert f(3) == -3
    assert f.cache_info() == CacheInfo(0, 1, None, 1)
    assert f.cache_parameters() == {"maxsize": None, "typed": False}


@pytest.mark.parametrize("bad", ["128", 1.5, [], object()])
def test_bad_maxsize_is_a_type_error_like_functools(bad):
    with pytest.raises(TypeError) as ours:
        lru_cache(bad)
    with pytest.raises(TypeError) as theirs:
        functools.lru_cache(bad)
    assert str(ours.value) == str(theirs.value)


def test_bare_decorator_and_called_decorator():
    @lru_cache
    def a(x):
        return x

    @lru_cache()
    def b(x):
        return x

    assert a.cache_parameters() == b.cache_parameters() == {"maxsize": 128, "typed": False}
    assert a(1) == b(1) == 1


def test_bare_decorator_with_typed_keyword():
    f = lru_cache(lambda x: x, typed=True)
    f(1)
    f(1.0)
    assert f.cache_info().currsize == 2
    assert f.cache_parameters() == {"maxsize": 128, "typed": True}


def test_cache_parameters_returns_a_fresh_dict():
    @lru_cache(maxsize=5, typed=True)
    def f():
        return 1

    p = f.cache_parameters()
    assert p == {"maxsize": 5, "typed": True}
    p["maxsize"] = 99
    assert f.cache_parameters() == {"maxsize": 5, "typed": True}


# ------------------------------------------------------------ cache_clear


def test_cache_clear_empties_and_resets_statistics():
    calls = []

    @lru_cache
    def f(x):
        calls.append(x)
        return x

    f(1), f(1), f(2)
    f.cache_clear()
    assert f.cache_info() == CacheInfo(0, 0, 128, 0)
    f(1)
    assert calls == [1, 2, 1]
    assert f.cache_info() == CacheInfo(0, 1, 128, 1)


def test_cache_clear_releases_arguments_and_results():
    class Obj:
        pass

    @lru_cache
    def f(x):
        return Obj()

    arg = Obj()
    result = f(arg)
    r_arg, r_res = weakref.ref(arg), weakref.ref(result)
    del arg, result
    # On functions, entries hold arguments and results, as in functools.
    assert r_arg() is not None and r_res() is not None
    f.cache_clear()
    assert r_arg() is None and r_res() is None


def test_lru_eviction_releases_arguments():
    class Obj:
        pass

    @lru_cache(maxsize=1)
    def f(x):
        return 0

    arg = Obj()
    f(arg)
    r = weakref.ref(arg)
    del arg
    assert r() is not None
    f(1)
    assert r() is None


# ---------------------------------------------------- wrapper attributes


def test_update_wrapper_attributes():
    def orig(a: int, b: "str" = "x") -> float:
        """orig's doc"""
        return 1.0

    orig.custom = "kept"
    f = lru_cache(orig)
    assert f.__wrapped__ is orig
    for attr in functools.WRAPPER_ASSIGNMENTS:
        if hasattr(orig, attr):
            assert getattr(f, attr) == getattr(orig, attr), attr
    assert f.__name__ == "orig"
    assert f.__qualname__.endswith("test_update_wrapper_attributes.<locals>.orig")
    assert f.__doc__ == "orig's doc"
    assert f.__module__ == __name__
    assert f.custom == "kept"
    import inspect

    assert str(inspect.signature(f)) == str(inspect.signature(orig))


def test_wrapped_bypasses_the_cache():
    @lru_cache
    def f(x):
        return [x]

    r = f(1)
    assert f.__wrapped__(1) == r and f.__wrapped__(1) is not r
    assert f.cache_info() == CacheInfo(0, 1, 128, 1)


def test_wrapper_accepts_new_attributes():
    @lru_cache
    def f():
        return 1

    f.extra = 5
    assert f.extra == 5
    assert f.__dict__["extra"] == 5


# ------------------------------------------------------------- exceptions


@pytest.mark.parametrize("maxsize", [None, 0, 2, 128])
def test_exceptions_propagate_and_are_not_cached(maxsize):
    calls = []

    @lru_cache(maxsize=maxsize)
    def f(x):
        calls.append(x)
        if x < 0:
            raise ValueError(x)
        return x

    for _ in range(3):
        with pytest.raises(ValueError) as info:
            f(-1)
        assert info.value.args == (-1,)
        assert info.value.__context__ is None
    assert calls == [-1, -1, -1]
    assert f.cache_info().currsize == 0
    assert f(1) == 1


def test_keyboard_interrupt_propagates_and_nothing_is_cached():
    state = {"interrupt": True, "calls": 0}

    @lru_cache
    def f(x):
        state["calls"] += 1
        if state["interrupt"]:
            raise KeyboardInterrupt
        return x + 1

    with pytest.raises(KeyboardInterrupt):
        f(1)
    assert f.cache_info().currsize == 0
    state["interrupt"] = False
    assert f(1) == 2
    assert state["calls"] == 2
    assert f(1) == 2
    assert state["calls"] == 2


# ----------------------------------------------------- argument handling


def test_unhashable_arguments_raise_functools_type_error():
    @lru_cache
    def f(*args, **kwargs):
        return 1

    g = functools.lru_cache(f.__wrapped__)
    for args, kwargs in [(([],), {}), (({},), {}), ((1, []), {}), ((), {"k": {}}), ((set(),), {})]:
        with pytest.raises(TypeError) as ours:
            f(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            g(*args, **kwargs)
        assert str(ours.value) == str(theirs.value)
        assert str(ours.value).startswith("unhashable type: ")
    assert f.cache_info() == CacheInfo(0, 0, 128, 0)


def test_hash_error_propagates_and_cache_is_intact():
    class BadHash:
        def __hash__(self):
            raise ZeroDivisionError("no hash")

    calls = []

    @lru_cache
    def f(x):
        calls.append(x)
        return x

    f(1)
    with pytest.raises(ZeroDivisionError, match="no hash"):
        f(BadHash())
    with pytest.raises(ZeroDivisionError):
        f(1, BadHash())
    assert calls == [1]
    assert f.cache_info() == CacheInfo(0, 1, 128, 1)
    assert f(1) == 1
    assert f.cache_info() == CacheInfo(1, 1, 128, 1)


def test_keyword_and_positional_calls_are_distinct_like_functools():
    @lru_cache
    def f(x, y=0):
        return x + y

    f(1)
    f(x=1)
    f(1, 0)
    f(1, y=0)
    f(y=0, x=1)
    assert f.cache_info() == functools._CacheInfo(0, 5, 128, 5)
    f(1), f(x=1), f(1, 0), f(1, y=0), f(y=0, x=1)
    assert f.cache_info().hits == 5


def test_empty_kwargs_is_the_same_call():
    @lru_cache
    def f(x):
        return x

    f(0)
    f(0, **{})
    assert f.cache_info().hits == 1


def test_single_argument_never_collides_with_tuple_keys():
    # functools' fast path stores a lone int/str as itself; a tuple argument
    # or a multi-argument call must never match it.
    @lru_cache
    def f(*args, **kwargs):
        return (args, kwargs)

    assert f(1) == ((1,), {})
    assert f((1,)) == (((1,),), {})
    assert f(1, 2) == ((1, 2), {})
    assert f((1, 2)) == (((1, 2),), {})
    assert f(None) == ((None,), {})
    assert f(a=1) == ((), {"a": 1})
    assert f.cache_info().currsize == 6


def test_equal_objects_share_entries_like_functools():
    class Key:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return isinstance(other, Key) and self.v == other.v

        def __hash__(self):
            return hash(self.v)

    calls = []

    @lru_cache
    def f(k):
        calls.append(k.v)
        return k.v

    assert f(Key(1)) == 1
    assert f(Key(1)) == 1
    assert calls == [1]


def test_huge_arguments():
    calls = []

    @lru_cache
    def f(x):
        calls.append(1)
        return len(x)

    big = bytes(10 * 1024 * 1024)
    assert f(big) == 10 * 1024 * 1024
    assert f(bytes(bytearray(big))) == 10 * 1024 * 1024   # equal, new object: a hit
    t = tuple(range(100_000))
    assert f(t) == 100_000
    assert f(tuple(list(t))) == 100_000
    assert len(calls) == 2
    assert f.cache_info() == CacheInfo(2, 2, 128, 2)
    f.cache_clear()


def test_recursive_function():
    @lru_cache(maxsize=2)
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert [fib(n) for n in range(40)][-1] == 63245986
    assert fib.cache_info().currsize == 2


# ---------------------------------------------------------- pickle, copy


@lru_cache
def module_level(x):
    return x * 3


class Holder:
    @lru_cache
    def method(self, x):
        return x

    @staticmethod
    @lru_cache
    def static(x):
        return x

    @lru_cache
    def _unused(self):  # pragma: no cover - only referenced by name
        return 0


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickled_by_qualified_name(proto):
    for f in (module_level, Holder.method, Holder.static):
        assert pickle.loads(pickle.dumps(f, proto)) is f
    module_level(2)
    assert pickle.loads(pickle.dumps(module_level, proto)).cache_info() == module_level.cache_info()


def test_pickling_a_local_function_fails_like_functools():
    @lru_cache
    def local():
        return 1

    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(local)


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy])
def test_copy_and_deepcopy_return_the_same_object(copier):
    @lru_cache
    def f(x):
        return [x]

    f(1)
    for obj in (f, module_level, Holder.method, Holder.static, lru_cache(functools.partial(max, 1))):
        assert copier(obj) is obj
    assert copier({"f": f})["f"] is f
    assert f.cache_info().currsize == 1


# ------------------------------------------------------------ descriptors


def test_stacks_under_staticmethod():
    calls = []

    class A:
        @staticmethod
        @lru_cache
        def s(x):
            calls.append(x)
            return x * 2

    assert A.s(2) == 4
    assert A().s(2) == 4
    assert calls == [2]
    assert A.s.cache_info() == CacheInfo(1, 1, 128, 1)
    A.s.cache_clear()
    assert A.s.cache_info() == CacheInfo(0, 0, 128, 0)


def test_stacks_under_classmethod():
    calls = []

    class A:
        @classmethod
        @lru_cache
        def c(cls, x):
            calls.append((cls.__name__, x))
            return (cls.__name__, x)

    class B(A):
        pass

    assert A.c(1) == ("A", 1)
    assert A().c(1) == ("A", 1)
    assert B.c(1) == ("B", 1)
    assert B().c(1) == ("B", 1)
    assert calls == [("A", 1), ("B", 1)]
    assert A.c.cache_info() == CacheInfo(2, 2, 128, 2)
    A.c.cache_clear()
    assert A.c.cache_info().currsize == 0


def test_wrapper_assigned_to_a_class_later_binds_like_functools():
    # functools' wrapper is a descriptor: stored on a class after the class
    # body ran, obj.f is still a method bound to obj.
    def f(self, x):
        return (type(self).__name__, x)

    class A:
        pass

    A.ours = lru_cache(f)
    A.theirs = functools.lru_cache(f)
    a = A()
    assert a.theirs(1) == ("A", 1)
    assert a.ours(1) == ("A", 1)
    bound = a.ours
    assert bound(2) == ("A", 2)
    assert A.ours(a, 2) == ("A", 2)


def test_function_wrapper_from_class_and_instance_is_the_wrapper():
    @lru_cache
    def f(x):
        return x

    class A:
        g = staticmethod(f)

    assert A.g is f
    assert A().g is f


# ------------------------------------------------------------ weak refs


def test_weak_referenceable_and_freed_without_gc():
    @lru_cache
    def f(x):
        return x

    f(1)
    r = weakref.ref(f)
    assert r() is f
    del f
    assert r() is None


def test_bound_method_and_class_level_wrappers_are_weak_referenceable():
    class A:
        @lru_cache
        def m(self):
            return 1

    a = A()
    refs = [weakref.ref(A.m)]
    assert refs[0]() is A.m
    del A, a
    gc.collect()   # a class is always part of a reference cycle
    assert refs[0]() is None


def test_gc_tracked():
    @lru_cache
    def f(x):
        return x

    assert gc.is_tracked(f)
