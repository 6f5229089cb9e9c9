"""lru_cache(lock=True) when the flights' own bookkeeping runs user code: a
key whose __eq__ collides with an in-flight key and calls the cache, or
raises, while a leader unlinks its flight."""
from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from typing import Any

import weakcache


class Colliding:
    """Keys that all hash alike, so the flights dict compares them."""

    hook: Any = None

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        hook = Colliding.hook
        if hook is not None:
            hook()
        return self is other


def test_eq_waiting_during_the_unlink_sees_the_cycle_and_computes() -> None:
    # X leads A, Z leads B and then waits for A. When X unlinks A, the dict
    # lookup compares A's key with B's, whose __eq__ (in X) calls f(B):
    # waiting for B would wait for Z, who waits for X. X must compute B.
    a, b = Colliding("A"), Colliding("B")
    b_started = threading.Event()
    armed = threading.Event()
    calls: list[str] = []

    def hook() -> None:
        if armed.is_set() and threading.current_thread().name == "X":
            armed.clear()
            f(b)

    @weakcache.lru_cache(maxsize=None, lock=True)
    def f(k: Colliding) -> str:
        calls.append(k.name)
        if k is b:
            b_started.set()
            time.sleep(0.2)
            return "b+" + f(a)
        time.sleep(0.5)   # until Z waits for A
        armed.set()
        return "a"

    Colliding.hook = hook
    try:
        out: dict[str, str] = {}
        z = threading.Thread(target=lambda: out.update(z=f(b)), name="Z", daemon=True)
        x = threading.Thread(target=lambda: (b_started.wait(), out.update(x=f(a))),
                             name="X", daemon=True)
        z.start()
        x.start()
        x.join(10)
        z.join(10)
        assert not x.is_alive() and not z.is_alive(), "X and Z deadlocked"
    finally:
        Colliding.hook = None
    assert out == {"x": "a", "z": "b+a"}
    assert calls.count("A") == 1   # Z waited for X's A


def test_a_flight_left_by_a_failed_unlink_keeps_no_result_and_is_replaced() -> None:
    a_name = "A"
    b_started, a_done = threading.Event(), threading.Event()
    armed = threading.Event()
    results: list[weakref.ref[Any]] = []
    unraisable: list[type[BaseException]] = []

    class Result:
        pass

    def hook() -> None:
        if armed.is_set() and threading.current_thread().name == "X":
            raise TypeError("cannot compare")

    @weakcache.lru_cache(maxsize=None, lock=True)
    def f(k: Colliding) -> Any:
        if k.name == "B":
            b_started.set()
            a_done.wait(10)
            return "b"
        armed.set()   # the leader's unlink of A compares with B's key and fails
        r = Result()
        results.append(weakref.ref(r))
        return r

    def x_run() -> None:
        f(Colliding(a_name))
        armed.clear()
        a_done.set()

    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(u.exc_type)
    Colliding.hook = hook
    try:
        z = threading.Thread(target=f, args=(Colliding("B"),), name="Z", daemon=True)
        z.start()
        assert b_started.wait(10)
        x = threading.Thread(target=x_run, name="X", daemon=True)
        x.start()
        x.join(10)
        z.join(10)
        assert not x.is_alive() and not z.is_alive()
    finally:
        Colliding.hook = None
        sys.unraisablehook = old_hook
    assert TypeError in unraisable     # the failed unlink was reported
    f.cache_clear()
    gc.collect()
    assert results[0]() is None, "the stale flight kept the result alive"
    # The stale flight does not stop single flight for that key later: the
    # next caller removes it and leads (computes once, then hits).
    key = Colliding(a_name)
    first = f(key)
    assert f(key) is first
    assert len(results) == 2
