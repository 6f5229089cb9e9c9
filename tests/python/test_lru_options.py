"""lru_cache / cache keyword options, part 1: lock=True (thread single
flight) and ttl= with timer=. Weights, cache_stats() and bad input are in
test_lru_options_weight.py. Decisions: docs/options.md."""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import warnings
import weakref

import pytest

import weakcache

JOIN = 20.0  # seconds; a deadlock shows as a thread still alive after this


class FakeTimer:
    """A clock the test moves by hand; counts how often it is read."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.now


def run_threads(targets):
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    return threads


def join_all(threads):
    for t in threads:
        t.join(JOIN)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"


def wait_until(pred, timeout=JOIN):
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition never became true"
        time.sleep(0.002)


def release_the_leader(calls, release, threads):
    """Once the leader is inside the function and the others have had time
    to reach the cache (and wait), let the leader finish; join everyone."""
    wait_until(lambda: calls)
    time.sleep(0.2)
    release.set()
    join_all(threads)


# ---------------------------------------------------------------------------
# lock=True
# ---------------------------------------------------------------------------


def slow_function(lock: bool):
    """f(x): records the call, then blocks until `release` is set."""
    calls: list[int] = []
    release = threading.Event()

    @weakcache.lru_cache(maxsize=None, lock=lock)
    def f(x):
        calls.append(x)
        assert release.wait(JOIN)
        return [x]

    return f, calls, release


@pytest.mark.parametrize("lock", [True, False])
def test_concurrent_callers_of_one_key_run_it_once_with_lock(lock):
    f, calls, release = slow_function(lock)
    results = []
    release_the_leader(calls, release, run_threads([lambda: results.append(f(1))] * 6))
    assert len(results) == 6
    if lock:
        assert calls == [1]
        assert all(r is results[0] for r in results)  # the leader's very object
    else:  # functools' behaviour: everybody computes
        assert calls == [1] * 6
    assert f(1) == [1] and f.cache_info().currsize == 1


def test_lock_different_keys_never_wait_for_each_other():
    both_inside = threading.Barrier(2, timeout=JOIN)

    @weakcache.lru_cache(lock=True)
    def f(x):
        both_inside.wait()  # BrokenBarrierError if f(2) waited for f(1)
        return x

    results = []
    join_all(run_threads([lambda: results.append(f(1)), lambda: results.append(f(2))]))
    assert sorted(results) == [1, 2]


def test_lock_methods_of_two_instances_are_different_keys():
    both_inside = threading.Barrier(2, timeout=JOIN)

    class A:
        @weakcache.lru_cache(lock=True)
        def m(self, x):
            both_inside.wait()
            return (id(self), x)

    a, b = A(), A()
    results = []
    join_all(run_threads([lambda: results.append(a.m(1)), lambda: results.append(b.m(1))]))
    assert sorted(results) == sorted([(id(a), 1), (id(b), 1)])


def test_lock_recursive_call_of_the_same_key_computes_instead_of_deadlocking():
    calls = []

    @weakcache.lru_cache(lock=True)
    def f(x, inner=False):
        calls.append(inner)
        if not inner and len(calls) == 1:
            return f(x, inner=False) + 1  # the same key, from the leader's thread
        return 10

    out = []
    join_all(run_threads([lambda: out.append(f(1))]))
    assert out == [11]
    assert calls == [False, False]
    assert f(1) == 11  # the outer call's value was stored last


def test_lock_cycle_of_waits_across_threads_computes_instead_of_deadlocking():
    # Thread A leads g("x") and then calls g("y"); thread B leads g("y") and
    # then calls g("x"). Whichever asks second would wait for a thread that
    # waits for it: it computes instead.
    both_leading = threading.Barrier(2, timeout=JOIN)
    depth = threading.local()
    calls = []

    @weakcache.lru_cache(lock=True)
    def g(k):
        calls.append(k)
        if getattr(depth, "d", 0):
            return k
        depth.d = 1
        try:
            both_leading.wait()
            return k + g("y" if k == "x" else "x")
        finally:
            depth.d = 0

    results = {}
    join_all(run_threads([lambda: results.__setitem__("A", g("x")),
                          lambda: results.__setitem__("B", g("y"))]))
    assert results in ({"A": "xyx", "B": "yx"}, {"A": "xy", "B": "yxy"})
    assert len(calls) == 3  # two leaders and one inner computation; the other waited


def test_lock_waiting_releases_the_gil():
    f, calls, release = slow_function(True)
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    leader = run_threads([lambda: f(1)])
    wait_until(lambda: calls)
    waiters = run_threads([lambda: f(1)] * 3)
    spinner = run_threads([spin])
    time.sleep(0.2)  # the waiters are blocked on the leader's flight now
    before = counter[0]
    time.sleep(0.3)
    progressed = counter[0] - before
    release.set()
    join_all(leader + waiters)
    stop.set()
    join_all(spinner)
    assert calls == [1]
    assert progressed > 1000  # pure Python ran while three threads waited


def test_lock_waiters_get_the_leaders_exception_and_nothing_is_stored():
    release = threading.Event()
    calls = []

    @weakcache.lru_cache(lock=True)
    def f(x):
        calls.append(x)
        if len(calls) == 1:
            assert release.wait(JOIN)
            raise ValueError("boom")
        return x

    errors = []

    def call():
        try:
            f(1)
        except ValueError as e:
            errors.append(e)

    release_the_leader(calls, release, run_threads([call] * 4))
    assert calls == [1]
    assert len(errors) == 4
    assert all(e is errors[0] for e in errors)  # one exception, handed to every waiter
    assert f.cache_info().currsize == 0
    assert f(1) == 1 and calls == [1, 1]  # not cached: the next call runs again


def test_lock_leader_interrupted_by_base_exception_lets_waiters_compute():
    class Interrupt(BaseException):
        pass

    release = threading.Event()
    calls = []

    @weakcache.lru_cache(lock=True)
    def f(x):
        calls.append(x)
        if len(calls) == 1:
            assert release.wait(JOIN)
            raise Interrupt
        return x * 2

    out = []

    def leader():
        with pytest.raises(Interrupt):
            f(1)

    threads = run_threads([leader])
    wait_until(lambda: calls)
    threads += run_threads([lambda: out.append(f(1))] * 3)
    time.sleep(0.2)
    release.set()
    join_all(threads)
    assert out == [2, 2, 2]
    assert 2 <= len(calls) <= 4


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer (POSIX)")
def test_lock_a_signal_interrupts_a_waiting_main_thread():
    f, calls, release = slow_function(True)

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    leader = run_threads([lambda: f(1)])
    wait_until(lambda: calls)
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Alarm):
            f(1)  # waits for the leader, until the alarm's handler raises
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    release.set()
    join_all(leader)
    assert calls == [1] and f(1) == [1]


def test_lock_owner_dropped_by_the_caller_while_others_wait():
    release = threading.Event()
    calls = []

    class A:
        @weakcache.lru_cache(lock=True)
        def m(self, x):
            calls.append(x)
            assert release.wait(JOIN)
            return [x]

    a = A()
    ref = weakref.ref(a)
    bound = a.m
    out = []
    threads = run_threads([lambda: out.append(bound(1))] * 4)
    wait_until(lambda: calls)
    del a, bound  # the running calls still hold it
    release_the_leader(calls, release, threads)
    assert calls == [1] and len(out) == 4
    del threads, out
    gc.collect()
    assert ref() is None
    assert A.m.cache_info().currsize == 0
    assert A.m.cache_stats().evictions["owner"] == 1


def test_lock_hits_and_flights_leave_nothing_behind():
    @weakcache.lru_cache(maxsize=2, lock=True)
    def f(x):
        return x

    for i in range(50):
        assert f(i % 5) == i % 5
    info = f.cache_info()
    assert info.hits + info.misses == 50 and info.currsize == 2
    assert f.cache_parameters() == {"maxsize": 2, "typed": False, "lock": True}


# ---------------------------------------------------------------------------
# ttl= and timer=
# ---------------------------------------------------------------------------


def counted(**options):
    calls = []
    clock = FakeTimer()

    @weakcache.lru_cache(timer=clock, **options)
    def f(x):
        calls.append(x)
        return [x]

    return f, calls, clock


def test_ttl_entry_served_before_ttl_and_recomputed_after():
    f, calls, clock = counted(ttl=10)
    first = f(1)
    clock.now = 9.999
    assert f(1) is first
    clock.now = 10.0  # deadline reached: expired
    second = f(1)
    assert second is not first and calls == [1, 1]
    assert f.cache_info() == (1, 2, 128, 1)
    stats = f.cache_stats()
    assert stats.evictions["expired"] == 1 and stats.currsize == 1


def test_ttl_counts_from_the_insertion_not_from_the_last_hit():
    f, calls, clock = counted(ttl=10)
    f(1)
    for t in (3, 6, 9):
        clock.now = t
        f(1)
    clock.now = 10.5
    f(1)
    assert calls == [1, 1]


def test_ttl_expired_entries_go_before_live_ones_when_full():
    f, calls, clock = counted(maxsize=2, ttl=10)
    f("a")  # deadline 10
    clock.now = 8
    f("b")  # deadline 18
    clock.now = 9
    f("a")  # hit: "a" is now the most recently used, "b" the least
    clock.now = 12  # "a" expired, "b" live
    f("c")  # full: plain LRU would evict "b"
    assert f.cache_stats().evictions == {**f.cache_stats().evictions, "expired": 1, "capacity": 0}
    calls.clear()
    f("b")
    assert calls == []  # still served
    f("a")
    assert calls == ["a"]


def test_ttl_timer_going_backwards_never_serves_an_expired_entry():
    f, calls, clock = counted(ttl=10)
    f(1)  # stored at t=0
    clock.now = 20
    f(2)  # the cache has seen t=20
    clock.now = 5  # back in time: "1" would look fresh by this reading
    f(1)
    assert calls == [1, 2, 1]
    clock.now = -1e9  # far back, negative: nothing breaks
    assert f(1) == [1] and f(3) == [3]
    clock.now = 1e300  # far forward: clamped, still a number
    assert f(1) == [1]
    assert calls[-1] == 1 and f.cache_info().currsize >= 1


def test_ttl_timer_is_not_called_without_ttl():
    clock = FakeTimer()

    @weakcache.lru_cache(timer=clock)
    def f(x):
        return x

    for i in range(10):
        f(i % 3)
    assert clock.calls == 0


def test_ttl_timer_is_read_once_per_hit_and_twice_per_miss():
    f, calls, clock = counted(ttl=10)
    f(1)
    assert clock.calls == 2  # before the lookup, before the put
    f(1)
    assert clock.calls == 3


def test_ttl_timer_raising_propagates_and_stores_nothing():
    state = {"fail": False}

    def timer():
        if state["fail"]:
            raise RuntimeError("clock broken")
        return 0.0

    @weakcache.lru_cache(ttl=5, timer=timer)
    def f(x):
        return x

    state["fail"] = True
    with pytest.raises(RuntimeError, match="clock broken"):
        f(1)
    state["fail"] = False
    assert f.cache_info().currsize == 0
    assert f(1) == 1


@pytest.mark.parametrize(
    "value, exc, match",
    [("soon", TypeError, "timer"), (None, TypeError, "timer"), (float("nan"), ValueError, "timer"),
     (float("inf"), ValueError, "timer")],
)
def test_ttl_timer_returning_a_bad_value_raises_naming_timer(value, exc, match):
    @weakcache.lru_cache(ttl=5, timer=lambda: value)
    def f(x):
        return x

    with pytest.raises(exc, match=match):
        f(1)
    assert f.cache_info().currsize == 0


def test_ttl_int_timer_and_int_ttl():
    clock = FakeTimer(100)

    @weakcache.cache(ttl=2, timer=lambda: int(clock.now))
    def f(x):
        return [x]

    a = f(1)
    clock.now = 101
    assert f(1) is a
    clock.now = 102
    assert f(1) is not a


def test_ttl_default_timer_is_time_monotonic():
    @weakcache.lru_cache(ttl=0.05)
    def f(x):
        return [x]

    a = f(1)
    assert f(1) is a
    time.sleep(0.1)
    assert f(1) is not a
    assert f.cache_stats().evictions["expired"] == 1


def test_ttl_on_methods_and_owners_dying():
    clock = FakeTimer()
    calls = []

    class A:
        @weakcache.lru_cache(ttl=10, timer=clock)
        def m(self, x):
            calls.append(x)
            return [x]

    a, b = A(), A()
    a.m(1), b.m(1)
    clock.now = 5
    b2 = b.m(2)
    clock.now = 12  # a.m(1), b.m(1) expired; b.m(2) live
    a.m(1)
    assert calls == [1, 1, 2, 1]
    assert b.m(2) is b2
    del a
    gc.collect()
    stats = A.m.cache_stats()
    assert stats.evictions["owner"] == 1 and stats.evictions["expired"] == 1
    assert b.m.cache_stats().currsize == 2  # b.m(1) (expired, not asked yet), b.m(2)
    assert A.m.cache_expire() == 1
    assert b.m.cache_info().currsize == 1
    del b
    gc.collect()
    assert A.m.cache_info().currsize == 0


def test_cache_with_ttl_sweeps_expired_entries_it_is_never_asked_for():
    clock = FakeTimer()

    @weakcache.cache(ttl=1, timer=clock)
    def f(x):
        return x

    for i in range(1000):
        f(i)
    clock.now = 2
    for i in range(1000, 5000):
        f(i)
    stats = f.cache_stats()
    assert stats.evictions["expired"] >= 1000  # the first thousand were swept
    assert stats.currsize <= 4000


def test_cache_expire_without_ttl_returns_zero():
    @weakcache.lru_cache
    def f(x):
        return x

    f(1)
    assert f.cache_expire() == 0 and f.cache_info().currsize == 1


def test_ttl_with_lock_together():
    clock = FakeTimer()
    calls, release = [], threading.Event()

    @weakcache.lru_cache(ttl=10, timer=clock, lock=True)
    def g(x):
        calls.append(x)
        assert release.wait(JOIN)
        return [x]

    release_the_leader(calls, release, run_threads([lambda: g(1)] * 3))
    assert calls == [1]
    clock.now = 11
    g(1)
    assert calls == [1, 1]
    assert g.cache_parameters() == {"maxsize": 128, "typed": False, "lock": True, "ttl": 10,
                                    "timer": clock}


def test_refcounts_stay_balanced_with_options():
    if not hasattr(sys, "getrefcount"):
        pytest.skip("no sys.getrefcount")
    clock = FakeTimer()
    value = object()

    @weakcache.lru_cache(maxsize=1, ttl=1, timer=clock, lock=True, weigher=lambda v: 1)
    def f(x):
        return value

    base = sys.getrefcount(value)
    for t in range(20):
        clock.now = t
        f(t % 2)
        f(t % 2)
    f.cache_clear()
    assert sys.getrefcount(value) == base


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_lock_child_of_a_fork_does_not_wait_for_the_parents_flight():
    f, calls, release = slow_function(True)
    leader = run_threads([lambda: f(1)])
    wait_until(lambda: calls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: the leader's thread does not exist here
        code = 1
        try:
            release.set()  # the child's copy of the event; the parent's leader still waits
            code = 0 if f(1) == [1] and f(1) == [1] and len(calls) == 2 else 2
        finally:
            os._exit(code)
    try:
        end = time.monotonic() + JOIN
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > end:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the child waited for a flight whose leader is in the parent")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        release.set()
        join_all(leader)
    assert calls == [1] and f(1) == [1]
