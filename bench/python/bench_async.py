"""Async cache hits: weakcache.lru_cache vs async_lru.alru_cache.

One process, one event loop. Each case awaits a hit N times inside one
coroutine (``for _ in range(N): await obj.m(1)``); the cases are interleaved
over several rounds and the median of each is reported, so machine noise
hits every side alike. Ratios are weakcache / async-lru, for a method and a
function: "raw" includes the loop in both, "net" subtracts the cost of the
same loop calling a lambda that returns None, without awaiting (the loop
and the lambda call are in every case). Also shown: a plain ``async def``
call and await, i.e. what a hit would cost if it were a coroutine.

    pip install '.[bench]'          # async-lru
    python bench/python/bench_async.py [--quick]
"""
from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from typing import Any, Awaitable, Callable

import async_lru

import weakcache


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


@async_lru.alru_cache(maxsize=1024)
async def a_fun(x: int) -> int:
    return x


async def plain(x: int) -> int:
    return x


def make_loop(call: Callable[[], Awaitable[Any]]) -> Callable[[int], Awaitable[int]]:
    async def run(n: int) -> int:   # keep in step with baseline()
        start = time.perf_counter_ns()
        for _ in range(n):
            await call()
        return time.perf_counter_ns() - start

    return run


def baseline(call: Callable[[], None]) -> Callable[[int], Awaitable[int]]:
    async def run(n: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        return time.perf_counter_ns() - start

    return run


async def bench(number: int, rounds: int) -> dict[str, float]:
    w, a = W(), A()
    for _ in range(2):   # fill both caches (the first await is the miss)
        await w.m(1), await a.m(1), await w_fun(1), await a_fun(1)
    cases = {
        "baseline: loop, no await": baseline(lambda: None),
        "plain async def call": make_loop(lambda: plain(1)),
        "weakcache method": make_loop(lambda: w.m(1)),
        "async-lru method": make_loop(lambda: a.m(1)),
        "weakcache function": make_loop(lambda: w_fun(1)),
        "async-lru function": make_loop(lambda: a_fun(1)),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(await run(number) / number)
    assert W.m.cache_info().misses == 1 and w_fun.cache_info().misses == 1
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    number, rounds = (5_000, 5) if args.quick else (50_000, 15)
    ns = asyncio.run(bench(number, rounds))
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"async-lru {async_lru.__version__}, weakcache {weakcache.__version__}; "
          f"{rounds} interleaved rounds x {number} awaits, median ns per await")
    for name, v in ns.items():
        print(f"  {name:24s} {v:8.0f} ns")
    base = ns["baseline: loop, no await"]
    for kind in ("method", "function"):
        w, a = ns[f"weakcache {kind}"], ns[f"async-lru {kind}"]
        print(f"  {kind:8s} hit ratio weakcache/async-lru: raw {w / a:.3f}x, "
              f"net of the loop {(w - base) / (a - base):.3f}x (goal <= 0.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
