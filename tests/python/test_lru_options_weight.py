"""lru_cache / cache keyword options, part 2: maxweight= + weigher=,
cache_stats(), and bad input for every option. Decisions: docs/options.md."""
from __future__ import annotations

import gc
import math
import sys

import pytest

import weakcache


def weighed(maxweight=None, maxsize=None, weigher=len):
    calls = []

    @weakcache.lru_cache(maxsize=maxsize, maxweight=maxweight, weigher=weigher)
    def f(n, ch="x"):
        calls.append(n)
        return ch * n

    return f, calls


# ---------------------------------------------------------------------------
# maxweight= and weigher=
# ---------------------------------------------------------------------------


def test_maxweight_evicts_least_recently_used_by_weight():
    f, calls = weighed(maxweight=10)
    f(4), f(5)
    assert f.cache_stats().weight == 9
    f(3)  # 12 > 10: the least recently used (4) goes
    stats = f.cache_stats()
    assert stats.weight == 8 and stats.currsize == 2
    assert stats.evictions["weight"] == 1 and stats.evictions["capacity"] == 0
    calls.clear()
    f(5), f(3)
    assert calls == []
    f(4)
    assert calls == [4]


def test_maxweight_evicts_as_many_as_needed():
    f, calls = weighed(maxweight=10)
    for n in (2, 2, 2, 2):
        f(n, ch=str(len(calls)))
    assert f.cache_stats().weight == 8
    f(9)
    stats = f.cache_stats()
    assert stats.weight == 9 and stats.currsize == 1 and stats.evictions["weight"] == 4


def test_too_heavy_value_is_returned_but_not_stored():
    f, calls = weighed(maxweight=10)
    f(3)
    big = f(11)
    assert big == "x" * 11
    assert f.cache_info().currsize == 1 and f.cache_stats().weight == 3
    f(11)
    assert calls == [3, 11, 11]  # computed again: it never was in the cache
    assert f.cache_info().misses == 3
    f(3)
    assert calls == [3, 11, 11]  # the small entry was not pushed out


def test_value_of_exactly_maxweight_is_stored_alone():
    f, calls = weighed(maxweight=10)
    f(4)
    f(10)
    assert f.cache_stats().currsize == 1 and f.cache_stats().weight == 10


def test_maxweight_zero_stores_only_weightless_values():
    f, calls = weighed(maxweight=0)
    assert f(0) == "" and f(1) == "x"
    f(0), f(1)
    assert calls == [0, 1, 1]
    assert f.cache_stats().currsize == 1 and f.cache_stats().weight == 0


def test_weigher_raising_propagates_and_leaves_the_cache_unchanged():
    def weigher(v):
        if v == "boom":
            raise ArithmeticError("cannot weigh")
        return 1

    calls = []

    @weakcache.lru_cache(maxweight=10, weigher=weigher)
    def f(x):
        calls.append(x)
        return x

    f("a")
    before = f.cache_stats()
    with pytest.raises(ArithmeticError, match="cannot weigh"):
        f("boom")
    after = f.cache_stats()
    assert (after.currsize, after.weight, after.evictions) == (
        before.currsize, before.weight, before.evictions)
    with pytest.raises(ArithmeticError):
        f("boom")
    assert calls == ["a", "boom", "boom"]  # not stored, so computed again


@pytest.mark.parametrize(
    "result, exc",
    [(-1, ValueError), (2**31, ValueError), (2**64, ValueError), ("3", TypeError),
     (2.0, TypeError), (None, TypeError)],
)
def test_weigher_returning_a_bad_weight_raises_naming_weigher(result, exc):
    @weakcache.lru_cache(maxweight=10, weigher=lambda v: result)
    def f(x):
        return x

    with pytest.raises(exc, match="weigher"):
        f(1)
    assert f.cache_info().currsize == 0


def test_weigher_may_return_any_index_type():
    class Weight:
        def __index__(self):
            return 4

    @weakcache.lru_cache(maxweight=10, weigher=lambda v: Weight())
    def f(x):
        return x

    f(1), f(2)
    assert f.cache_stats().weight == 8
    f(3)
    assert f.cache_stats().weight == 8 and f.cache_stats().evictions["weight"] == 1


def test_largest_weight_is_accepted():
    @weakcache.cache(weigher=lambda v: 2**31 - 1)
    def f(x):
        return x

    f(1)
    assert f.cache_stats().weight == 2**31 - 1


def test_weigher_without_maxweight_records_weights_without_bound():
    f, calls = weighed()
    for n in range(1, 101):
        f(n)
    stats = f.cache_stats()
    assert stats.currsize == 100 and stats.weight == sum(range(1, 101))
    assert stats.evictions["weight"] == 0


def test_maxweight_and_maxsize_together():
    f, calls = weighed(maxweight=100, maxsize=2)
    f(1), f(2), f(3)
    stats = f.cache_stats()
    assert stats.currsize == 2 and stats.weight == 5
    assert stats.evictions["capacity"] == 1
    f(99)
    stats = f.cache_stats()
    assert stats.weight == 99 and stats.evictions["weight"] == 1


def test_weigher_sys_getsizeof_example_from_the_issue():
    @weakcache.lru_cache(maxsize=None, maxweight=10_000, weigher=sys.getsizeof)
    def blob(n):
        return b"x" * n

    for i in range(100):
        blob(1000 + i)
    stats = blob.cache_stats()
    assert stats.weight <= 10_000
    assert 5 <= stats.currsize <= 10
    assert stats.weight == sum(sys.getsizeof(b"x" * (1000 + i)) for i in range(100 - stats.currsize, 100))


def test_weights_on_methods_per_instance_stats_and_owner_death():
    class A:
        def __init__(self, n):
            self.n = n

        @weakcache.lru_cache(maxweight=100, weigher=len)
        def m(self, k):
            return "y" * (self.n * k)

    a, b = A(1), A(10)
    a.m(1), a.m(2), b.m(1), b.m(2)
    assert a.m.cache_stats().weight == 3 and a.m.cache_stats().currsize == 2
    assert b.m.cache_stats().weight == 30
    assert A.m.cache_stats().weight == 33
    b.m(7)  # 70: 103 > 100, then 102 > 100: a.m(1) and a.m(2) go (least recently used)
    stats = A.m.cache_stats()
    assert (stats.currsize, stats.weight, stats.evictions["weight"]) == (3, 100, 2)
    assert a.m.cache_stats()[2:4] == (0, 0)
    a.m(3)
    del b
    gc.collect()
    stats = A.m.cache_stats()
    assert (stats.currsize, stats.weight) == (1, 3) == a.m.cache_stats()[2:4]
    assert (stats.evictions["owner"], stats.evictions["weight"]) == (2, 3)  # b.m(1) went for a.m(3)


def test_weight_of_a_non_weakrefable_owner_in_bound_stats():
    class P:
        __slots__ = ("n",)

        def __init__(self, n):
            self.n = n

        @weakcache.lru_cache(maxsize=10, weigher=len)
        def m(self, k):
            return "z" * k

    p, q = P(1), P(2)
    p.m(3), p.m(4), q.m(5)
    assert p.m.cache_stats()[2:4] == (2, 7)
    assert q.m.cache_stats()[2:4] == (1, 5)


# ---------------------------------------------------------------------------
# cache_stats()
# ---------------------------------------------------------------------------


def test_cache_stats_fields():
    @weakcache.lru_cache(maxsize=2)
    def f(x):
        return x

    f(1), f(1), f(2), f(3)
    stats = f.cache_stats()
    assert isinstance(stats, weakcache.CacheStats)
    assert stats._fields == ("hits", "misses", "currsize", "weight", "evictions")
    assert (stats.hits, stats.misses, stats.currsize, stats.weight) == (1, 3, 2, 2)
    assert stats.evictions == {"capacity": 1, "weight": 0, "owner": 0, "removed": 0,
                               "replaced": 0, "cleared": 0, "expired": 0}
    assert type(stats).__module__ == "weakcache"
    assert f.cache_info() == (1, 3, 2, 2)  # cache_info keeps functools' four fields


def test_cache_stats_after_cache_clear():
    @weakcache.lru_cache
    def f(x):
        return x

    f(1), f(2), f(1)
    f.cache_clear()
    stats = f.cache_stats()
    # hits and misses restart, as in cache_info; evictions are counted over
    # the cache's life (the clear itself shows as "cleared").
    assert (stats.hits, stats.misses, stats.currsize, stats.weight) == (0, 0, 0, 0)
    assert stats.evictions["cleared"] == 2


def test_cache_stats_uncached_maxsize_zero():
    @weakcache.lru_cache(maxsize=0)
    def f(x):
        return x

    f(1), f(1)
    assert f.cache_stats()[:4] == (0, 2, 0, 0)


def test_cache_stats_on_bound_method_without_entries():
    class A:
        @weakcache.lru_cache
        def m(self):
            return 1

    a, b = A(), A()
    a.m()
    assert b.m.cache_stats()[:4] == (0, 1, 0, 0)
    assert a.m.cache_stats()[:4] == (0, 1, 1, 1)


def test_cache_parameters_list_the_options_given():
    @weakcache.lru_cache(maxsize=5, maxweight=7, weigher=len)
    def f(x):
        return x

    assert f.cache_parameters() == {"maxsize": 5, "typed": False, "maxweight": 7, "weigher": len}

    @weakcache.cache
    def g(x):
        return x

    assert g.cache_parameters() == {"maxsize": None, "typed": False}


def test_cache_decorator_forms():
    @weakcache.cache(maxweight=3, weigher=len)
    def f(s):
        return s

    f("ab"), f("c"), f("de")
    assert f.cache_stats().weight <= 3
    assert f.cache_info().maxsize is None

    def plain(x):
        return x

    assert weakcache.cache(plain)(1) == 1
    assert weakcache.cache()(plain)(2) == 2


# ---------------------------------------------------------------------------
# Bad input: at decoration time, naming the parameter
# ---------------------------------------------------------------------------

BAD = [
    (dict(ttl=0), ValueError, "ttl"),
    (dict(ttl=-1.5), ValueError, "ttl"),
    (dict(ttl=math.nan), ValueError, "ttl"),
    (dict(ttl=math.inf), ValueError, "ttl"),
    (dict(ttl=10**400), ValueError, "ttl"),
    (dict(ttl="60"), TypeError, "ttl"),
    (dict(ttl=True), TypeError, "ttl"),
    (dict(ttl=[1]), TypeError, "ttl"),
    (dict(ttl=1, timer=0), TypeError, "timer"),
    (dict(timer="monotonic"), TypeError, "timer"),
    (dict(maxweight=-1, weigher=len), ValueError, "maxweight"),
    (dict(maxweight=2**64, weigher=len), ValueError, "maxweight"),
    (dict(maxweight=1.0, weigher=len), TypeError, "maxweight"),
    (dict(maxweight="10", weigher=len), TypeError, "maxweight"),
    (dict(maxweight=True, weigher=len), TypeError, "maxweight"),
    (dict(maxweight=10), TypeError, "maxweight= needs weigher="),
    (dict(weigher=5), TypeError, "weigher"),
    (dict(maxweight=10, weigher="len"), TypeError, "weigher"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_options_raise_when_the_decorator_is_made(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        weakcache.lru_cache(**kwargs)
    with pytest.raises(exc, match=match):
        weakcache.cache(**kwargs)
    with pytest.raises(exc, match=match):
        weakcache.lru_cache(lambda: 1, **kwargs)  # the direct form checks too


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_options_raise_from_the_wrapper_type_too(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        weakcache._lru_cache_wrapper(lambda: 1, 128, False, weakcache.CacheInfo, **kwargs)


def test_good_edge_values_are_accepted():
    weakcache.lru_cache(ttl=1e-12)(lambda: 1)  # rounds up to one nanosecond
    weakcache.lru_cache(ttl=1e30)(lambda: 1)   # clamped to about 146 years
    weakcache.lru_cache(ttl=1, timer=None)(lambda: 1)  # None: time.monotonic
    weakcache.lru_cache(maxweight=0, weigher=len)(lambda: "")
    weakcache.lru_cache(maxweight=2**64 - 1, weigher=len)(lambda: "")
    weakcache.lru_cache(ttl=None, maxweight=None, weigher=None, lock=False)(lambda: 1)


def test_tiny_ttl_expires_at_once_with_a_real_clock():
    calls = []

    @weakcache.lru_cache(ttl=1e-9)
    def f():
        calls.append(1)
        return 1

    f(), f(), f()
    assert len(calls) >= 2  # a nanosecond later it is gone
