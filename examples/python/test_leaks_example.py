"""weakcache.testing in action: copy this file next to your own tests.

Run it (every test passes; the leaks are caught on purpose, inside
``pytest.raises(LeakError)``):

    pytest examples/python/test_leaks_example.py          # weakcache installed
    PYTHONPATH=python pytest -p weakcache.testing examples/python/test_leaks_example.py

Installing weakcache registers the plugin (fixture ``leak_tracker``, marker
``no_leaks``) through its ``pytest11`` entry point; ``collected()`` needs no
pytest at all.
"""

from __future__ import annotations

import functools

import pytest

import weakcache
from weakcache.testing import LeakError, LeakTracker, collected


class SlowAdder:
    """The classic leak: functools.lru_cache on a method keeps every `self`."""

    @functools.lru_cache(maxsize=128)
    def add(self, a: int, b: int) -> int:
        return a + b


class FastAdder:
    """The fix: weakcache.lru_cache holds `self` weakly."""

    @weakcache.lru_cache(maxsize=128)
    def add(self, a: int, b: int) -> int:
        return a + b


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


# 1. The fixture: track() returns the object; it must be freed by teardown.
def test_fixture(leak_tracker: LeakTracker) -> None:
    adder = leak_tracker.track(FastAdder())
    assert adder.add(2, 3) == 5


# 2. The marker: no FastAdder or Node created in the test may survive it.
#    (With a single class, write no_leaks(FastAdder, strict=False) or use
#    weakcache.testing.no_leaks(FastAdder): pytest reads a lone class argument
#    as the thing to decorate.)
@pytest.mark.no_leaks(FastAdder, Node)
def test_marker() -> None:
    for i in range(100):
        FastAdder().add(i, i)


# 3. Strict mode: freed without any gc.collect(), i.e. no reference cycle.
@pytest.mark.no_leaks(FastAdder, strict=True)
def test_marker_strict() -> None:
    FastAdder().add(1, 2)


# 4. collected(): works in unittest and scripts too. Here it catches the leak.
def test_collected_catches_functools_lru_cache_on_a_method() -> None:
    with pytest.raises(LeakError) as info:
        with collected() as track:
            adder = track(SlowAdder())
            adder.add(2, 3)
            del adder
    report = str(info.value)
    assert "SlowAdder.add (functools lru_cache)" in report
    assert "weakcache.lru_cache" in report  # the advice
    SlowAdder.add.cache_clear()  # free what the leak kept


def test_collected_passes_with_weakcache() -> None:
    with collected() as track:
        adder = track(FastAdder())
        adder.add(2, 3)
        del adder


def test_strict_mode_catches_a_cycle() -> None:
    def make_cycle() -> Node:
        a, b = Node(), Node()
        a.peer, b.peer = b, a
        return a

    with collected() as track:  # default mode: gc.collect() frees the cycle
        track(make_cycle())
    with pytest.raises(LeakError, match="reference cycle"):
        with collected(strict=True) as track:
            track(make_cycle())
