"""The flat table of an unbounded function cache (python/src/flat.c).

weakcache.cache and lru_cache(maxsize=None) on a plain function keep their
entries in a table of {key, value, hash} slots rather than in the C core,
so that a hit at scale reads one slot. These tests hold it to functools'
answers in the cases a table gets wrong: __eq__ that stores into, clears or
raises from the same cache, finalizers that run during a clear or a
replacement, colliding hashes, growth, the collector, and the move into the
core when the wrapper turns out to be a method or async.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import itertools
import weakref
from typing import Any, Callable, Iterator

import pytest
from integration_helpers import bytes_per_entry

import weakcache

BOTH = [functools.cache, weakcache.cache]


def flat_slots(entries: int) -> int:
    """The flat table's capacity for this many entries: 8 slots, then half
    as many more at each growth, at most 3/4 full (flat.c)."""
    cap = 8
    while entries * 4 > cap * 3:
        cap += cap // 2
    return cap


class Collide:
    """Keys that all hash alike, so lookups call __eq__, which first runs
    `hook` (set per test)."""

    hook: Callable[[], Any] = staticmethod(lambda: None)

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        type(self).hook()
        return isinstance(other, Collide) and self.v == other.v

    def __repr__(self) -> str:
        return f"Collide({self.v})"


@contextlib.contextmanager
def hooked(hook: Callable[[], Any]) -> Iterator[None]:
    """Collide.__eq__ runs `hook` first, inside the block."""
    Collide.hook = staticmethod(hook)
    try:
        yield
    finally:
        Collide.hook = staticmethod(lambda: None)


def at_most(times: int, action: Callable[[], Any]) -> Callable[[], None]:
    """A hook that runs `action` the first `times` times it is called."""
    left = [times]

    def hook() -> None:
        if left[0] > 0:
            left[0] -= 1
            action()

    return hook


def value_of(k: Any) -> tuple[str, Any]:
    return ("v", getattr(k, "v", k))


def run_both(scenario: Callable[[Callable[..., Any]], Any]) -> None:
    """The scenario's outcome with functools.cache and with weakcache.cache."""
    out = [scenario(deco) for deco in BOTH]
    assert out[0] == out[1]


def test_identical_and_equal_keys_hit_and_count_like_functools() -> None:
    def scenario(deco):
        calls = []

        @deco
        def f(*args, **kw):
            calls.append((args, kw))
            return (args, sorted(kw.items()))

        out = [f(1), f(1), f(1.0), f(True), f("a"), f("a"), f((1,)), f(1, 2), f(x=1),
               f(x=1), f(1, x=2), f(None), f(None), f(b"b"), f(b"b")]
        return out, len(calls), tuple(f.cache_info())

    run_both(scenario)


def test_eq_that_stores_into_the_same_cache_mid_lookup() -> None:
    # Every compare adds an entry: the table grows under the lookup, which
    # must start over from the new array and still find its key.
    def scenario(deco):
        f = deco(value_of)
        new_keys = itertools.count(1001)   # each a store, some a growth
        with hooked(at_most(200, lambda: f(next(new_keys)))):
            return [f(Collide(1)), f(Collide(2)), f(Collide(1)), f(Collide(2))]

    run_both(scenario)


def test_eq_that_clears_the_cache_mid_lookup() -> None:
    def scenario(deco):
        f = deco(value_of)
        f(Collide(1))
        for i in range(50):
            f(i)
        with hooked(at_most(3, f.cache_clear)):
            out = [f(Collide(1)), f(Collide(1)), f(Collide(2)), f(3)]
        return out, f.cache_info().currsize

    run_both(scenario)


def test_eq_that_raises_leaves_the_cache_working() -> None:
    class Boom(Exception):
        pass

    def scenario(deco):
        f = deco(value_of)

        f(Collide(1))

        def boom():
            raise Boom

        with hooked(at_most(1, boom)):
            with pytest.raises(Boom):
                f(Collide(2))
            out = [f(Collide(2)), f(Collide(1)), f(Collide(2))]
        return out, tuple(f.cache_info())

    run_both(scenario)


def test_a_stored_key_dropped_during_its_own_compare() -> None:
    # __eq__ clears the cache: the stored key being compared loses the
    # table's reference while it runs, and must stay alive until it returns.
    @weakcache.cache
    def f(k):
        return getattr(k, "v", k)

    class K(Collide):
        __hash__ = Collide.__hash__

        def __eq__(self, other: object) -> bool:
            f.cache_clear()
            gc.collect()
            return isinstance(other, K) and self.v == other.v

    f(K(1))
    f(K(2))
    assert f(K(1)) == 1     # compares against a key that the clear dropped
    assert f.cache_info().currsize >= 1


def test_a_stored_tuple_key_dropped_while_its_items_compare() -> None:
    # A built key (a tuple) compares item by item in C; an item's __eq__
    # that clears the cache drops the table's reference to the tuple while
    # tuple comparison is still reading it.
    # 80 items: a tuple too big for the tuple free list and for pymalloc, so
    # that under ASan a read of the freed tuple is caught.
    @weakcache.cache
    def f(a, *rest):
        return (getattr(a, "v", a), len(rest))

    class K(Collide):
        __hash__ = Collide.__hash__

        def __eq__(self, other: object) -> bool:
            f.cache_clear()
            return isinstance(other, K) and self.v == other.v

    rest = tuple(range(79))
    f(K(1), *rest)
    assert f(K(1), *rest) == (1, 79)
    assert f(K(1), *rest) == (1, 79)


def test_finalizers_that_use_the_cache_during_clear() -> None:
    seen: list[Any] = []
    active = [True]

    @weakcache.cache
    def f(k):
        return Value(k)

    class Value:
        def __init__(self, k):
            self.k = k

        def __del__(self):
            # runs inside cache_clear: the table is already empty
            if active[0]:
                seen.append((self.k, f.cache_info().currsize, f(("inner", self.k)).k))

    for i in range(20):
        f(i)
    f.cache_clear()
    assert len(seen) == 20
    assert all(size <= 20 for _, size, _ in seen)
    assert all(inner == ("inner", k) for k, _, inner in seen)
    assert f.cache_info().currsize == 20       # the values stored by the finalizers
    active[0] = False
    f.cache_clear()
    assert f.cache_info().currsize == 0


def test_a_replaced_value_whose_finalizer_uses_the_cache() -> None:
    # A call that calls itself with the same argument stores twice: the
    # outer store replaces the inner one's value, whose finalizer then sees
    # the cache with the new value in place.
    def scenario(deco):
        seen = []

        class V:
            def __init__(self, tag):
                self.tag = tag

            def __del__(self):
                if self.tag == "inner":
                    seen.append((g.cache_info().currsize, g("r").tag, g("other").tag))

        depth = [0]

        @deco
        def g(k):
            if k == "r" and depth[0] == 0:
                depth[0] += 1
                g("r")
                return V("outer")
            return V("inner" if k == "r" else k)

        first = g("r").tag
        out = (first, seen[:], g("r").tag, tuple(g.cache_info()))
        seen.clear()
        return out

    run_both(scenario)


def test_many_keys_that_share_a_hash() -> None:
    def scenario(deco):
        @deco
        def f(k):
            return ("v", k.v)

        keys = [Collide(i) for i in range(300)]
        first = [f(k) for k in keys]
        again = [f(Collide(i)) for i in range(300)]   # equal, not identical
        return first, again, tuple(f.cache_info())

    run_both(scenario)


def test_growth_keeps_every_entry_and_probes_stay_short() -> None:
    @weakcache.cache
    def f(x):
        return x * 2

    n = 100_000
    for i in range(n):
        f(i)
    for i in range(0, n, 7):
        assert f(i) == 2 * i
    for s in (f"s{i}" for i in range(0, 20_000)):
        f(s)
    info = f.cache_info()
    assert info.currsize == n + 20_000
    assert info.hits == len(range(0, n, 7))
    assert f._debug_stats()["longest_probe"] < 64


def test_the_longest_probe_stays_short_at_the_highest_load() -> None:
    # 65,536 entries fill 88,258 slots to 0.74, just below a growth. Placed
    # in the first free slot, random (str) hashes leave some entries 100-200
    # slots from home; Robin Hood placement keeps every one within a few
    # dozen.
    assert 65_536 * 4 / flat_slots(65_536) > 2.9

    @weakcache.cache
    def f(x):
        return x

    for j in range(65_536):
        f(f"key-{j}")
    assert f.cache_info().currsize == 65_536
    assert f._debug_stats()["longest_probe"] <= 40
    assert all(f(f"key-{j}") == f"key-{j}" for j in range(0, 65_536, 97))


def test_the_collector_sees_values_and_keys() -> None:
    @weakcache.cache
    def f(k):
        return Holder()

    class Holder:
        pass

    h = f(1)
    h.back = f                      # value -> wrapper -> table -> value
    r = weakref.ref(h)
    del h
    g = weakcache.cache(lambda k: None)
    key = Holder()
    key.back = g                    # key -> wrapper -> table -> key
    g(key)
    rk = weakref.ref(key)
    del key
    del f, g
    gc.collect()
    assert r() is None and rk() is None


def test_memory_per_entry() -> None:
    keys = list(range(10**6, 10**6 + 100_000))

    def per_entry(deco):
        return bytes_per_entry(deco, keys, -1)

    # Nothing is allocated per entry: the table's 24-byte slots, 1/2 to 3/4
    # full, 32-48 B an entry (here 47.7 B, the table having just grown).
    # functools' dict here: 4-byte index slots and 24-byte entries, 52.4 B.
    ours = per_entry(weakcache.cache)
    assert ours == pytest.approx(24 * flat_slots(100_001) / 100_000, abs=0.5), ours
    assert 32 <= ours <= 48 + 0.5
    assert ours < per_entry(functools.cache)


def test_a_function_wrapper_that_becomes_a_method_keeps_its_entries(owners: int) -> None:
    calls = []

    def m(*args):
        calls.append(args[-1])
        return (len(args), args[-1])   # nothing that holds the owner

    w = weakcache.cache(m)
    for i in range(30):
        w(i)
    assert w.cache_info().currsize == 30

    class C:
        __slots__ = ("__weakref__",)
        meth = w                    # __set_name__: the entries move to the core

    assert w.cache_info()[:] == (0, 30, None, 30)
    with pytest.warns(weakcache.NotWeakrefableWarning):
        assert C.meth(5) == (1, 5)  # 5 is the "owner": unowned, the moved entry hits
    assert w.cache_info()[:2] == (1, 30)
    c = C()
    assert c.meth(5) == (2, 5)      # an owned entry of c
    assert c.meth(5) == (2, 5)
    info = w.cache_info()
    assert info[:2] == (2, 31) and info.currsize == 31 and len(calls) == 31
    r = weakref.ref(c)
    del c
    assert r() is None
    assert w.cache_info().currsize == 30


def test_an_async_function_keeps_its_awaited_results() -> None:
    calls = []

    @weakcache.cache
    async def f(x):
        calls.append(x)
        await asyncio.sleep(0)
        return x * 2

    async def main():
        return [await f(1), await f(1), await f(2)]

    assert asyncio.run(main()) == [2, 2, 4]
    assert calls == [1, 2]
    assert f.cache_info()[:2] == (1, 2)


def test_cache_stats_counts_the_table() -> None:
    @weakcache.cache
    def f(k):
        return k

    f(1), f(1), f(2)
    s = f.cache_stats()
    assert (s.hits, s.misses, s.currsize, s.weight) == (1, 2, 2, 2)
    f.cache_clear()
    s = f.cache_stats()
    assert (s.hits, s.misses, s.currsize) == (0, 0, 0)
    assert s.evictions["cleared"] == 2
    assert "entries=0" in repr(f)


def test_a_store_whose_eq_makes_the_wrapper_a_method_stores_in_the_core() -> None:
    # __eq__ during the store moves the entries into the core (the wrapper
    # is put in a class body): the store must follow them there, not land
    # in the table nothing reads any more.
    calls = []
    moved = [False]

    class K:
        __slots__ = ("v",)          # not weakly referenceable: stays unowned

        def __init__(self, v: str) -> None:
            self.v = v

        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            if lookups[0] == 2 and not moved[0]:
                moved[0] = True

                class C:
                    m = w
            lookups[0] += 1
            return isinstance(other, K) and self.v == other.v

    lookups = [0]

    def f(k: K) -> str:
        calls.append(k.v)
        return k.v

    w = weakcache.cache(f)
    a, b = K("a"), K("b")
    w(a)
    lookups[0] = 1
    assert w(b) == "b"             # lookup compares once, the store moves
    assert moved[0]
    assert w.cache_info().currsize == 2
    with pytest.warns(weakcache.NotWeakrefableWarning):
        assert w(b) == "b"         # now a method: b is an owner it cannot weakly reference
    assert calls == ["a", "b"]     # the stored entry was found
    assert w.cache_info()[:2] == (1, 2)


def test_cache_clear_during_the_move_clears() -> None:
    f = weakcache.cache(value_of)
    for i in range(4):
        f(Collide(i))
    cleared = []
    with hooked(at_most(1, lambda: cleared.append(f.cache_clear()))):
        class C:
            m = f                  # the move's second store compares, and clears

    assert cleared
    info = f.cache_info()
    # the store under way when the clear ran completes; nothing moved after it
    assert (info.hits, info.misses, info.currsize) == (0, 0, 1)
    # and the other three count as cleared: one moved before, two never moved
    assert f.cache_stats().evictions["cleared"] == 3


def test_a_lookup_whose_eq_moves_the_entries_finds_its_key_there() -> None:
    # __eq__ during a lookup puts the wrapper in a class body: the entries
    # move into the core, and the lookup under way must find its key there
    # (a hit, as functools counts it), not give up and call the function.
    class K:
        __slots__ = ("v",)

        def __init__(self, v: str) -> None:
            self.v = v

        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            Collide.hook()
            return isinstance(other, K) and self.v == other.v

    def scenario(deco):
        calls = []

        def f(k):
            calls.append(k.v)
            return k.v

        w = deco(f)
        w(K("a"))

        def make_method():
            class C:
                m = w

        with hooked(at_most(1, make_method)):
            out = w(K("a"))
        return out, calls, w.cache_info()[:2]

    run_both(scenario)


def test_async_enable_from_code_the_move_runs() -> None:
    import sys

    from weakcache import CacheInfo, _lru_cache_wrapper

    def inner(*a):
        pass

    def outer(*a):
        pass

    w = _lru_cache_wrapper(value_of, None, False, CacheInfo)
    for i in range(3):
        w(Collide(i))
    before = sys.getrefcount(inner), sys.getrefcount(outer)
    with hooked(at_most(1, lambda: w._async_enable(inner))):
        with pytest.raises(TypeError, match="already caches awaited results"):
            w._async_enable(outer)
    # the nested call's callable is the one kept; the outer one took nothing
    assert (sys.getrefcount(inner), sys.getrefcount(outer)) == (before[0] + 1, before[1])
