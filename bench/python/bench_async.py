"""Async cache hits: weakcache.lru_cache vs async_lru.alru_cache.

One process, one event loop. Each case awaits a hit N times inside one
coroutine (``for _ in range(N): await obj.m(1)``); the cases are interleaved
over several rounds and the median of each is reported, so machine noise
hits every side alike. Ratios are weakcache / async-lru, for a method and a
function: "raw" includes the loop in both, "net" subtracts the cost of the
same loop calling a lambda that returns None, without awaiting (the loop and
the lambda call are in every case). Also shown: a plain ``async def`` call
and await (what a hit would cost if it were an uncached coroutine), and
weakcache's two kinds of hit on this Python (the C ``_ready`` object and a
coroutine; the default is chosen per version, see weakcache/_async.py).

Wall-clock times on a shared machine move a lot; ``--callgrind`` counts
instructions per hit instead (valgrind, two runs of each case with
different N, the difference divided by the difference of N), which is
repeatable.

    pip install '.[bench]'          # async-lru
    python bench/python/bench_async.py [--quick] [--callgrind]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable

import async_lru

import weakcache
from weakcache import _async


def kind_of_hit(coroutine: bool) -> Callable[[Callable[..., Any]], Any]:
    """weakcache.lru_cache(1024) with the given kind of hit."""

    def decorate(func: Callable[..., Any]) -> Any:
        saved = _async.HIT_IS_COROUTINE
        _async.HIT_IS_COROUTINE = coroutine
        try:
            return weakcache.lru_cache(maxsize=1024)(func)
        finally:
            _async.HIT_IS_COROUTINE = saved

    return decorate


class W:
    @weakcache.lru_cache(maxsize=1024)
    async def m(self, x: int) -> int:
        return x


class A:
    @async_lru.alru_cache(maxsize=1024)
    async def m(self, x: int) -> int:
        return x


@weakcache.lru_cache(maxsize=1024)
async def w_fun(x: int) -> int:
    return x


@kind_of_hit(coroutine=False)
async def w_fun_ready(x: int) -> int:
    return x


@kind_of_hit(coroutine=True)
async def w_fun_coro(x: int) -> int:
    return x


@async_lru.alru_cache(maxsize=1024)
async def a_fun(x: int) -> int:
    return x


async def plain(x: int) -> int:
    return x


def awaiting(call: Callable[[], Awaitable[Any]]) -> Callable[[int], Awaitable[int]]:
    async def run(n: int) -> int:   # keep in step with calling()
        start = time.perf_counter_ns()
        for _ in range(n):
            await call()
        return time.perf_counter_ns() - start

    return run


def calling(call: Callable[[], None]) -> Callable[[int], Awaitable[int]]:
    async def run(n: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        return time.perf_counter_ns() - start

    return run


BASELINE = "baseline: loop, no await"


async def make_cases() -> dict[str, Callable[[int], Awaitable[int]]]:
    w, a = W(), A()
    for _ in range(2):   # fill every cache (the first await is the miss)
        for f in (w.m, a.m, w_fun, w_fun_ready, w_fun_coro, a_fun):
            await f(1)
    return {
        BASELINE: calling(lambda: None),
        "plain async def call": awaiting(lambda: plain(1)),
        "weakcache method": awaiting(lambda: w.m(1)),
        "async-lru method": awaiting(lambda: a.m(1)),
        "weakcache function": awaiting(lambda: w_fun(1)),
        "async-lru function": awaiting(lambda: a_fun(1)),
        "weakcache fn, C _ready": awaiting(lambda: w_fun_ready(1)),
        "weakcache fn, coroutine": awaiting(lambda: w_fun_coro(1)),
    }


async def wall(number: int, rounds: int) -> dict[str, float]:
    cases = await make_cases()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(await run(number) / number)
    assert W.m.cache_info().misses == 1 and w_fun.cache_info().misses == 1
    return {name: statistics.median(v) for name, v in samples.items()}


async def only(name: str, number: int) -> None:
    await (await make_cases())[name](number)


def instructions(name: str, number: int) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           os.path.abspath(__file__), "--only", name, "--number", str(number)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))  # type: ignore[union-attr]


def callgrind(names: list[str], low: int, high: int) -> dict[str, float]:
    return {n: (instructions(n, high) - instructions(n, low)) / (high - low) for n in names}


def report(values: dict[str, float], unit: str) -> None:
    for name, v in values.items():
        print(f"  {name:26s} {v:8.0f} {unit}")
    base = values[BASELINE]
    for kind in ("method", "function"):
        w, a = values[f"weakcache {kind}"], values[f"async-lru {kind}"]
        print(f"  {kind:8s} hit ratio weakcache/async-lru: raw {w / a:.3f}x, "
              f"net of the loop {(w - base) / (a - base):.3f}x (goal <= 0.2x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--callgrind", action="store_true", help="instructions per hit (valgrind)")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--number", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        asyncio.run(only(args.only, args.number))
        return 0
    head = (f"Python {platform.python_version()} ({sys.implementation.name}), "
            f"async-lru {async_lru.__version__}, weakcache {weakcache.__version__}")
    if args.callgrind:
        names = list(asyncio.run(make_cases()))
        low, high = (1_000, 5_000) if args.quick else (5_000, 25_000)
        print(f"{head}; callgrind, instructions per await ({high} - {low} awaits)")
        report(callgrind(names, low, high), "instr")
        return 0
    number, rounds = (5_000, 5) if args.quick else (50_000, 15)
    print(f"{head}; {rounds} interleaved rounds x {number} awaits, median ns per await")
    report(asyncio.run(wall(number, rounds)), "ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
