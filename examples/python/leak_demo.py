"""The leak weakcache fixes, in numbers.

A service creates one `Report` per request and calls an expensive method on
it. With `functools.lru_cache` on the method, every cache entry holds the
instance (`self` is part of the key), so instances outlive their request:
up to `maxsize` of them, or all of them with `functools.cache`. With
`weakcache.lru_cache` the instance is held weakly; its entries leave the
cache when the request drops it.

    python examples/python/leak_demo.py [--requests N]
"""
from __future__ import annotations

import argparse
import functools
import gc
import sys
import tracemalloc
import weakref

import weakcache


def make_report_class(decorator):
    class Report:
        def __init__(self, request_id: int) -> None:
            self.request_id = request_id
            self.rows = list(range(200))          # ~1.6 KB of state per instance

        @decorator
        def total(self, scale: int) -> int:       # the "expensive" method
            return sum(self.rows) * scale

    return Report


def serve(decorator, requests: int) -> tuple[int, float, str]:
    Report = make_report_class(decorator)
    alive = weakref.WeakSet()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(requests):
        report = Report(i)                        # one object per request
        alive.add(report)
        report.total(2)
        report.total(2)                           # second call is a cache hit
        del report                                # request done
    gc.collect()                                  # give functools every chance
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    info = str(Report.total.cache_info())
    return len(alive), used / 1024, info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=10_000)
    n = ap.parse_args().requests
    print(f"{n} requests, one Report object each, method called twice per request\n")
    print(f"{'decorator':<32} {'instances alive':>16} {'memory held':>12}")
    rows = [
        ("functools.lru_cache(maxsize=128)", functools.lru_cache(maxsize=128)),
        ("functools.cache", functools.cache),
        ("weakcache.lru_cache(maxsize=128)", weakcache.lru_cache(maxsize=128)),
        ("weakcache.cache", weakcache.cache),
    ]
    results = {}
    for name, deco in rows:
        alive, kib, info = serve(deco, n)
        results[name] = alive
        print(f"{name:<32} {alive:>16} {kib:>9.0f} KiB    {info}")
    leaked = results["functools.cache"]
    kept = results["weakcache.cache"]
    print(f"\nfunctools.cache kept {leaked} of {n} Report objects alive; weakcache.cache kept {kept}.")
    return 0 if kept == 0 and results["weakcache.lru_cache(maxsize=128)"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
