"""lru_cache / cache on ``async def`` functions and methods: awaited results
cached under the sync key rules, single flight per event loop, cancellation,
loops, owners held weakly, hits without Tasks or Futures."""
from __future__ import annotations

import asyncio
import gc
import inspect
import sys
import threading
import warnings
import weakref
from typing import Any

import pytest

import weakcache

from weakcache import _async

# asyncio.iscoroutinefunction is deprecated from 3.14 (removal in 3.16) and
# warns on every call: checked where it is not deprecated.
ASYNCIO_CHECK = sys.version_info < (3, 14)


@pytest.fixture(params=["ready", "coroutine"])
def hit_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """What a hit returns is chosen per Python version (weakcache/_async.py:
    HIT_IS_COROUTINE); both kinds are tested on every version."""
    monkeypatch.setattr(_async, "HIT_IS_COROUTINE", request.param == "coroutine")
    return str(request.param)


def run(coro: Any, timeout: float = 10.0) -> Any:
    """asyncio.run with a guard: a hang fails the test instead of the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Gate:
    """A computation that waits until the test opens the gate, and counts."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = 0
        self.cancelled = 0
        self.event: asyncio.Event | None = None

    async def enter(self) -> None:
        self.calls += 1
        self.started += 1
        if self.event is None:
            self.event = asyncio.Event()
        try:
            await self.event.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def open(self) -> None:
        assert self.event is not None
        self.event.set()


def gated(gate: Gate) -> Any:
    """A cached function that computes "done" once the gate opens."""

    @weakcache.cache
    async def f(x: int) -> str:
        await gate.enter()
        return "done"

    return f


async def until(predicate: Any) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


# ---------------------------------------------------------------------------
# Results, not coroutines
# ---------------------------------------------------------------------------

def test_the_awaited_result_is_cached_not_the_coroutine(hit_kind: str) -> None:
    calls = []

    class Repo:
        @weakcache.lru_cache(maxsize=16)
        async def lookup(self, key: int) -> list[int]:
            calls.append(key)
            await asyncio.sleep(0)
            return [key]

    async def main() -> None:
        repo = Repo()
        first = await repo.lookup(1)
        second = await repo.lookup(1)   # functools: "cannot reuse already awaited coroutine"
        assert first == [1] and second is first
        hit = repo.lookup(1)
        if hit_kind == "ready":   # no coroutine: awaitable again, like a done Future
            assert type(hit) is weakcache._weakcache._ready
            assert await hit is first and await hit is first
        else:   # a coroutine that returns the value at once, named like the method
            assert inspect.iscoroutine(hit) and hit.__qualname__.endswith("Repo.lookup")
            assert await hit is first
        assert calls == [1]

    run(main())
    assert Repo.lookup.cache_info() == weakcache.CacheInfo(2, 1, 16, 0)


def test_a_function_and_every_kind_of_value(hit_kind: str) -> None:
    calls = []
    error = ValueError("a value, not raised")

    @weakcache.cache
    async def value(kind: str) -> Any:
        calls.append(kind)
        return {"tuple": (1, 2), "none": None, "exception": error, "empty": ()}[kind]

    async def main() -> None:
        for _ in range(2):   # a miss, then a hit through StopIteration / am_send
            assert await value("tuple") == (1, 2)
            assert await value("none") is None
            assert await value("exception") is error
            assert await value("empty") == ()

    run(main())
    assert calls == ["tuple", "none", "exception", "empty"]


def test_a_hit_is_a_coroutine_for_asyncio(hit_kind: str) -> None:
    @weakcache.cache
    async def f(x: int) -> int:
        return x + 1

    async def main() -> None:
        assert await f(1) == 2
        hit = f(1)
        assert asyncio.iscoroutine(hit) and inspect.isawaitable(hit)
        assert await asyncio.create_task(hit) == 2
        assert await asyncio.gather(f(1), f(1)) == [2, 2]
        with pytest.raises(StopIteration) as info:
            f(1).send(None)
        assert info.value.value == 2
        with pytest.raises(KeyError):
            f(1).throw(KeyError("thrown"))
        with pytest.raises(KeyError):
            f(1).throw(KeyError)
        unsent = f(1)
        with pytest.raises(TypeError, match="non-None"):
            unsent.send(1)
        assert unsent.close() is None and f(1).close() is None
        # cancelled before its first step: the Task throws CancelledError in
        task = asyncio.create_task(f(1))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


def test_the_ready_type_is_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_async, "HIT_IS_COROUTINE", False)

    @weakcache.cache
    async def f() -> int:
        return 1

    run(f())
    ready_type = type(f())
    assert ready_type is weakcache._weakcache._ready
    with pytest.raises(TypeError):
        ready_type()
    with pytest.raises(TypeError):
        ready_type.value = 1  # type: ignore[attr-defined]


def test_calls_made_before_the_first_result_are_served_it() -> None:
    calls = []

    @weakcache.cache
    async def f(x: int) -> int:
        calls.append(x)
        return x

    async def main() -> None:
        early = [f(1) for _ in range(3)]   # all miss: nothing is stored yet
        assert [await c for c in early] == [1, 1, 1]

    run(main())
    assert calls == [1]


def test_a_call_outside_a_running_loop() -> None:
    @weakcache.cache
    async def f(x: int) -> int:
        return x * 3

    coro = f(2)   # no loop yet: the coroutine finds its loop when awaited
    assert asyncio.run(coro) == 6
    assert asyncio.run(f(2)) == 6   # served on a new loop
    assert f.cache_info().hits == 1


def test_maxsize_zero_caches_nothing() -> None:
    calls = []

    @weakcache.lru_cache(maxsize=0)
    async def f(x: int) -> int:
        calls.append(x)
        return x

    async def main() -> None:
        c = f(1)
        assert inspect.iscoroutine(c)   # the function's own coroutine, as functools
        assert await c == 1 and await f(1) == 1

    run(main())
    assert calls == [1, 1] and f.cache_info() == weakcache.CacheInfo(0, 2, 0, 0)


# ---------------------------------------------------------------------------
# Single flight, exceptions
# ---------------------------------------------------------------------------

def test_concurrent_awaits_of_one_key_run_the_function_once() -> None:
    gate = Gate()

    class Repo:
        @weakcache.lru_cache(maxsize=8)
        async def lookup(self, key: int) -> object:
            await gate.enter()
            return object()

    async def main() -> None:
        repo, other = Repo(), Repo()
        tasks = [asyncio.create_task(repo.lookup(1)) for _ in range(10)]
        tasks.append(asyncio.create_task(other.lookup(1)))   # another owner: its own
        await until(lambda: gate.started == 2)
        gate.open()
        results = await asyncio.gather(*tasks)
        assert len({id(r) for r in results[:10]}) == 1 and results[10] is not results[0]
        assert await repo.lookup(1) is results[0]
        # every call that found nothing stored is a miss, including those
        # that joined the computation in flight (docs/async.md)
        assert Repo.lookup.cache_info() == weakcache.CacheInfo(1, 11, 8, 2)

    run(main())
    assert gate.calls == 2


def test_an_exception_reaches_every_waiter_and_is_not_cached() -> None:
    gate = Gate()

    @weakcache.cache
    async def fail(x: int) -> int:
        await gate.enter()
        raise KeyError(x)

    async def main() -> None:
        tasks = [asyncio.create_task(fail(1)) for _ in range(4)]
        await until(lambda: gate.started == 1)
        gate.open()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, KeyError) and r.args == (1,) for r in results)
        with pytest.raises(KeyError):   # the next call runs again
            await fail(1)

    run(main())
    assert gate.calls == 2 and fail.cache_info().currsize == 0


def test_an_error_of_the_call_itself_goes_to_the_caller() -> None:
    @weakcache.cache
    async def f(x: int) -> int:
        return x

    async def main() -> None:
        with pytest.raises(TypeError):
            await f(1, 2)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="unhashable"):
            f([1])  # type: ignore[arg-type]   # the key is built at call time
        assert await f(1) == 1

    run(main())


def test_recursion_through_the_cache() -> None:
    @weakcache.cache
    async def fib(n: int) -> int:
        return n if n < 2 else await fib(n - 1) + await fib(n - 2)

    assert run(fib(60)) == 1548008755920
    assert fib.cache_info().currsize == 61


def test_a_computation_awaiting_its_own_key_does_not_hang() -> None:
    depth = []

    @weakcache.cache
    async def f(x: int) -> int:
        depth.append(x)
        if len(depth) < 3:
            return await f(x)   # the same key, from inside its own computation
        return len(depth)

    assert run(f(1), timeout=5) == 3   # computes, as without single flight
    assert depth == [1, 1, 1] and run(f(1)) == 3


# ---------------------------------------------------------------------------
# Cancellation
# ---------------------------------------------------------------------------

def test_cancelling_one_waiter_leaves_the_computation_to_the_others() -> None:
    gate = Gate()
    f = gated(gate)

    async def main() -> None:
        first = asyncio.create_task(f(1))
        second = asyncio.create_task(f(1))
        await until(lambda: gate.started == 1)
        first.cancel()   # the caller that started the computation
        with pytest.raises(asyncio.CancelledError):
            await first
        gate.open()
        assert await second == "done"
        assert await f(1) == "done"

    run(main())
    assert gate.calls == 1 and gate.cancelled == 0 and f.cache_info().currsize == 1


def test_cancelling_every_waiter_cancels_the_computation_and_stores_nothing() -> None:
    gate = Gate()
    f = gated(gate)

    async def main() -> None:
        tasks = [asyncio.create_task(f(1)) for _ in range(3)]
        await until(lambda: gate.started == 1)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await until(lambda: gate.cancelled == 1)
        gate.event = None
        # a new call starts a computation of its own
        again = asyncio.create_task(f(1))
        await until(lambda: gate.started == 2)
        gate.open()
        assert await again == "done"

    run(main())
    assert gate.calls == 2 and f.cache_info().currsize == 1


def test_a_computation_that_ignores_cancellation_stores_nothing() -> None:
    calls = []
    release = []

    @weakcache.cache
    async def stubborn(x: int) -> str:
        calls.append(x)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        release.append(x)
        return "late"

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(stubborn(1), 0.01)   # the only waiter gives up
        await until(lambda: release)
        assert stubborn.cache_info().currsize == 0

    run(main())
    assert calls == [1]


# ---------------------------------------------------------------------------
# Event loops
# ---------------------------------------------------------------------------

def test_a_result_is_served_to_other_loops() -> None:
    calls = []

    class Repo:
        @weakcache.lru_cache(maxsize=8)
        async def lookup(self, key: int) -> int:
            calls.append(key)
            return key

    repo = Repo()
    assert run(repo.lookup(1)) == 1
    assert run(repo.lookup(1)) == 1   # a second asyncio.run: another loop
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(run(repo.lookup(1))))
    t.start()
    t.join(10)
    assert out == [1] and calls == [1]


def test_an_inflight_computation_is_never_awaited_from_another_loop() -> None:
    # Both threads' computations must run at the same time to pass the
    # barrier: if one loop waited for the other's, the barrier would break.
    barrier = threading.Barrier(2, timeout=5)
    calls = []

    class Repo:
        @weakcache.lru_cache(maxsize=8)
        async def lookup(self, key: int) -> int:
            calls.append(threading.get_ident())
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            return key

    repo = Repo()
    results: list[Any] = []

    def worker() -> None:
        try:
            results.append(run(repo.lookup(1)))
        except BaseException as e:   # reported below
            results.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [1, 1] and len(set(calls)) == 2
    assert Repo.lookup.cache_info().currsize == 1


def test_finished_computations_keep_no_loop_alive() -> None:
    @weakcache.cache
    async def f(x: int) -> int:
        await asyncio.sleep(0)
        return x

    loops = []

    async def main(x: int) -> int:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await f(x)

    assert [asyncio.run(main(x)) for x in range(3)] == [0, 1, 2]
    gc.collect()
    assert [r() for r in loops] == [None, None, None]


def test_a_loop_closed_with_a_computation_in_flight_hangs_nothing() -> None:
    gate = Gate()

    @weakcache.cache
    async def f(x: int) -> str:
        if gate.calls == 0:
            await gate.enter()   # never opened: its loop is closed under it
        else:
            gate.calls += 1
        return "second loop"

    loop = asyncio.new_event_loop()
    task = loop.create_task(f(1))
    loop.run_until_complete(until(lambda: gate.started == 1))
    loop.close()   # the computation is left pending, never to finish
    loop_ref = weakref.ref(loop)
    del loop, task
    gate.event = None   # bound to the closed loop
    done: list[str] = []
    t = threading.Thread(target=lambda: done.append(run(f(1), timeout=5)))
    t.start()
    t.join(10)
    assert done == ["second loop"] and gate.calls == 2
    # the closed loop's flight was dropped: nothing keeps that loop alive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "Task was destroyed but it is pending"
        gc.collect()
    assert loop_ref() is None


# ---------------------------------------------------------------------------
# Owners
# ---------------------------------------------------------------------------

def test_an_owner_is_freed_at_refcount_zero_after_awaiting(hit_kind: str) -> None:
    class Owner:
        @weakcache.lru_cache(maxsize=32)
        async def m(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    gc.collect()
    gc.disable()
    try:
        o = Owner()
        freed = []
        ref = weakref.ref(o, lambda _: freed.append(True))
        assert run(o.m(1)) == 2 and run(o.m(1)) == 2
        assert o.m.cache_info().currsize == 1
        del o
        assert freed == [True] and ref() is None
        assert Owner.m.cache_info().currsize == 0
    finally:
        gc.enable()


def test_an_owner_stays_weakly_held_while_its_computation_is_in_flight() -> None:
    gate = Gate()
    freed = []

    class Holder:
        @weakcache.lru_cache(maxsize=8)
        async def m(self, x: int) -> int:
            del self   # from now on only the caller may keep the instance alive
            await gate.enter()
            return x

    async def main() -> None:
        h = Holder()
        weakref.finalize(h, freed.append, True)
        task = asyncio.create_task(h.m(5))
        await until(lambda: gate.started == 1)
        del h   # nothing of the cache's holds it
        assert freed == [True]
        gate.open()
        assert await task == 5   # the waiter still gets the result

    gc.disable()
    try:
        run(main())
    finally:
        gc.enable()
    assert Holder.m.cache_info().currsize == 0   # a dead owner's result is not stored


def test_no_owner_cycle_warning_for_ordinary_results() -> None:
    class Node:
        @weakcache.cache
        async def label(self) -> str:
            await asyncio.sleep(0)
            return "label"

        @weakcache.cache
        async def me(self) -> Node:
            return self

    async def main() -> None:
        n = Node()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert await n.label() == "label"
            assert await n.label() == "label"
        with pytest.warns(weakcache.OwnerCycleWarning):
            assert await n.me() is n   # a real cycle is still reported

    run(main())


def test_maxsize_bounds_entries_across_owners() -> None:
    calls = []

    class Repo:
        @weakcache.lru_cache(maxsize=2)
        async def get(self, key: int) -> int:
            calls.append((id(self), key))
            return key

    repos = [Repo() for _ in range(3)]

    async def main() -> None:
        for r in repos:
            await r.get(1)
        assert Repo.get.cache_info().currsize == 2
        assert repos[0].get.cache_info().currsize == 0   # the least recently used went
        await repos[2].get(1)
        await repos[0].get(1)

    run(main())
    assert len(calls) == 4 and calls[-1] == (id(repos[0]), 1)


def test_an_owner_that_cannot_be_weakly_referenced() -> None:
    gate = Gate()

    class Slotted:
        __slots__ = ()

        @weakcache.lru_cache(maxsize=4)
        async def m(self, x: int) -> int:
            await gate.enter()
            return x

    async def main() -> None:
        s = Slotted()
        tasks = [asyncio.create_task(s.m(3)) for _ in range(3)]
        await until(lambda: gate.started == 1)
        gate.open()
        assert await asyncio.gather(*tasks) == [3, 3, 3]
        assert await s.m(3) == 3 and s.m.cache_info().currsize == 1

    run(main())
    assert gate.calls == 1


def test_cache_clear_per_instance_and_for_all() -> None:
    calls = []

    class Repo:
        @weakcache.cache
        async def get(self, key: int) -> int:
            calls.append(key)
            return key

    a, b = Repo(), Repo()

    async def main() -> None:
        await a.get(1)
        await b.get(1)
        a.get.cache_clear()
        assert a.get.cache_info().currsize == 0 and b.get.cache_info().currsize == 1
        await a.get(1)
        await b.get(1)   # still cached
        Repo.get.cache_clear()
        assert Repo.get.cache_info() == weakcache.CacheInfo(0, 0, None, 0)
        await b.get(1)

    run(main())
    assert calls == [1, 1, 1, 1]


# ---------------------------------------------------------------------------
# Key rules
# ---------------------------------------------------------------------------

def test_typed_and_keyword_arguments() -> None:
    calls = []

    @weakcache.lru_cache(maxsize=None, typed=True)
    async def f(x: Any, y: int = 0, *, z: int = 0) -> tuple[Any, int, int]:
        calls.append((x, y, z))
        return (x, y, z)

    async def main() -> None:
        assert await f(1) == (1, 0, 0)
        assert await f(1.0) == (1.0, 0, 0)   # typed: another entry
        await f(1, y=2, z=3)
        await f(1, z=3, y=2)   # keyword order matters, as in functools
        await f(1, 2, z=3)
        await f(1, y=2, z=3)   # hit

    run(main())
    assert len(calls) == 5 and f.cache_info().hits == 1


def test_keys_stored_by_the_miss_path_are_found_by_later_calls() -> None:
    # A lone float (function) or tuple (method) argument is keyed as (x,)
    # under hash(x) (key.c): the miss path must store it that way too.
    calls = []

    @weakcache.cache
    async def f(x: Any) -> Any:
        calls.append(x)
        return x

    class Repo:
        @weakcache.cache
        async def get(self, x: Any) -> Any:
            calls.append(x)
            return x

    async def main() -> None:
        r = Repo()
        for _ in range(2):
            await f(1.5)
            await f((1, 2))
            await r.get((1, 2))
            await r.get(2.5)
            await r.get(1)

    run(main())
    assert calls == [1.5, (1, 2), (1, 2), 2.5, 1]
    assert f.cache_info().hits == 2 and Repo.get.cache_info().hits == 3


# ---------------------------------------------------------------------------
# Options: ttl, maxweight; lock is for threads
# ---------------------------------------------------------------------------

def test_ttl_applies_to_awaited_results() -> None:
    now = [0.0]
    calls = []

    class Repo:
        @weakcache.lru_cache(maxsize=8, ttl=10.0, timer=lambda: now[0])
        async def get(self, key: int) -> int:
            calls.append(key)
            return key

    async def main() -> None:
        r = Repo()
        await r.get(1)
        now[0] = 5.0
        await r.get(1)            # fresh: a hit
        early = r.get(1)          # a hit made now holds its value
        first, second = r.get(2), r.get(2)   # two misses
        await first               # stores 2 at t=5
        now[0] = 20.0
        assert await early == 1
        await second              # looks again at t=20: expired, runs again
        await r.get(1)            # expired: runs again
        assert calls == [1, 2, 2, 1]
        assert Repo.get.cache_info().hits == 2

    run(main())


def test_maxweight_applies_to_awaited_results() -> None:
    calls = []

    @weakcache.lru_cache(maxsize=None, maxweight=10, weigher=len)
    async def items(n: int) -> list[int]:
        calls.append(n)
        return list(range(n))

    async def main() -> None:
        assert await items(20) == list(range(20))   # heavier than maxweight: not stored
        assert await items(20) == list(range(20))
        await items(4)
        await items(4)
        stats = items.cache_stats()
        assert stats.currsize == 1 and stats.weight == 4

    run(main())
    assert calls == [20, 20, 4]


def test_a_weigher_error_reaches_every_waiter_and_stores_nothing() -> None:
    def weigher(value: Any) -> int:
        raise OverflowError("cannot weigh")

    gate = Gate()

    @weakcache.lru_cache(maxsize=None, maxweight=10, weigher=weigher)
    async def f(x: int) -> int:
        await gate.enter()
        return x

    async def main() -> None:
        tasks = [asyncio.create_task(f(1)) for _ in range(2)]
        await until(lambda: gate.started == 1)
        gate.open()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, OverflowError) for r in results)
        assert f.cache_info().currsize == 0

    run(main())


def test_lock_is_refused_on_a_coroutine_function() -> None:
    async def f() -> int:
        return 1

    with pytest.raises(TypeError, match="lock=True is for threads"):
        weakcache.lru_cache(maxsize=8, lock=True)(f)
    weakcache.lru_cache(maxsize=8, lock=True)(lambda: 1)   # sync: fine


# ---------------------------------------------------------------------------
# Recognised as coroutine functions; refused async generators
# ---------------------------------------------------------------------------

def test_inspect_and_asyncio_see_coroutine_functions() -> None:
    class Repo:
        @weakcache.lru_cache(maxsize=8)
        async def get(self, key: int) -> int:
            return key

        @weakcache.cache
        def sync(self) -> int:
            return 1

    @weakcache.cache
    async def f() -> int:
        return 1

    repo = Repo()
    for obj in (f, Repo.get, repo.get):
        assert inspect.iscoroutinefunction(obj), obj
        if ASYNCIO_CHECK:
            assert asyncio.iscoroutinefunction(obj), obj
    for obj in (Repo.sync, repo.sync):
        assert not inspect.iscoroutinefunction(obj), obj
        if ASYNCIO_CHECK:
            assert not asyncio.iscoroutinefunction(obj), obj
    assert inspect.signature(repo.get) == inspect.signature(Repo.get.__wrapped__.__get__(repo))


def test_a_function_marked_as_coroutine_function() -> None:
    calls = []

    def fetch(x: int) -> Any:   # not async def, returns an awaitable
        calls.append(x)

        async def later() -> int:
            return x * 10

        return later()

    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is None:   # 3.10, 3.11: no such marker, an ordinary function as in functools
        cached = weakcache.cache(fetch)
        assert not inspect.iscoroutinefunction(cached)
        coro = cached(1)
        assert asyncio.run(coro) == 10 and cached(1) is coro
        return
    cached = weakcache.cache(mark(fetch))
    assert inspect.iscoroutinefunction(cached)

    async def main() -> None:
        assert await cached(1) == 10 and await cached(1) == 10

    run(main())
    assert calls == [1]


def test_an_async_generator_function_is_refused() -> None:
    async def stream(n: int) -> Any:
        yield n

    with pytest.raises(TypeError, match=r"async generator function .*stream.* consumed only once"):
        weakcache.cache(stream)
    with pytest.raises(TypeError, match="async generator"):
        class Repo:
            @weakcache.lru_cache(maxsize=4)
            async def items(self) -> Any:
                yield 1


# ---------------------------------------------------------------------------
# Hits create no Task and no Future
# ---------------------------------------------------------------------------

class CountingLoop(asyncio.SelectorEventLoop):
    futures = 0
    tasks = 0

    def create_future(self) -> asyncio.Future[Any]:
        CountingLoop.futures += 1
        return super().create_future()

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        CountingLoop.tasks += 1
        return super().create_task(coro, **kwargs)


def test_a_hit_creates_no_task_and_no_future(hit_kind: str) -> None:
    class Owner:
        @weakcache.lru_cache(maxsize=32)
        async def m(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    o = Owner()

    @weakcache.cache
    async def f(x: int) -> int:
        return x

    async def main() -> tuple[int, int, int]:
        await o.m(1)
        await f(1)
        before = (CountingLoop.futures, CountingLoop.tasks, len(asyncio.all_tasks()))
        for _ in range(100):
            assert await o.m(1) == 2 and await f(1) == 1
        after = (CountingLoop.futures, CountingLoop.tasks, len(asyncio.all_tasks()))
        assert after == before
        return before

    loop = CountingLoop()
    try:
        futures, tasks, _ = loop.run_until_complete(main())
    finally:
        loop.close()
    assert futures >= 2 and tasks >= 2   # the misses did go through the loop


def test_eager_task_factory() -> None:
    # 3.12+: a computation may finish inside create_task; older Pythons run
    # the same checks with ordinary tasks.
    factory = getattr(asyncio, "eager_task_factory", None)
    gate = Gate()

    @weakcache.cache
    async def f(x: int) -> int:
        if x:
            await gate.enter()
        return x

    async def main() -> None:
        if factory is not None:
            asyncio.get_running_loop().set_task_factory(factory)
        assert await f(0) == 0 and await f(0) == 0   # finished inside create_task
        tasks = [asyncio.create_task(f(1)) for _ in range(3)]
        await until(lambda: gate.started == 1)
        gate.open()
        assert await asyncio.gather(*tasks) == [1, 1, 1]

    run(main())
    assert gate.calls == 1


def test_asyncio_is_imported_by_the_first_async_wrapper_only() -> None:
    # `import weakcache` runs in every pytest session through the plugin:
    # asyncio's import (~20 ms) is paid only by programs that cache async.
    import subprocess

    code = (
        "import sys, weakcache\n"
        "@weakcache.cache\n"
        "def f(x): return x\n"
        "f(1)\n"
        "assert 'asyncio' not in sys.modules, 'imported by weakcache'\n"
        "@weakcache.cache\n"
        "async def g(x): return x\n"
        "assert 'asyncio' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
