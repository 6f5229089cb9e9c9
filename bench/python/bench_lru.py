"""weakcache.lru_cache vs functools.lru_cache: hit latency and memory.

Both run in this one process. Timings are interleaved (functools, weakcache,
functools, ...) over several rounds and the median of each is reported, so
machine noise hits both sides alike. Memory is measured with tracemalloc,
which sees every byte of both caches (weakcache allocates through PyMem).

    python bench/python/bench_lru.py [--quick]
"""
from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import timeit
import tracemalloc

import weakcache


def make_classes(maxsize: int | None):
    class F:
        __slots__ = ("v", "__weakref__")

        def __init__(self, v: int) -> None:
            self.v = v

        @functools.lru_cache(maxsize=maxsize)
        def m(self, x: int) -> int:
            return x

        @functools.lru_cache(maxsize=maxsize)
        def m2(self, x: int, *, scale: int = 1) -> int:
            return x * scale

    class W:
        __slots__ = ("v", "__weakref__")

        def __init__(self, v: int) -> None:
            self.v = v

        @weakcache.lru_cache(maxsize=maxsize)
        def m(self, x: int) -> int:
            return x

        @weakcache.lru_cache(maxsize=maxsize)
        def m2(self, x: int, *, scale: int = 1) -> int:
            return x * scale

    return F, W


def interleaved(cases: dict[str, str], env: dict, number: int, rounds: int) -> dict[str, float]:
    """Median ns per call of each statement, rounds interleaved."""
    timers = {name: timeit.Timer(stmt, globals=env) for name, stmt in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, t in timers.items():
            samples[name].append(t.timeit(number) / number * 1e9)
    return {name: statistics.median(v) for name, v in samples.items()}


def bench_speed(quick: bool) -> list[tuple[str, float, float]]:
    F, W = make_classes(1024)
    f_obj, w_obj = F(1), W(1)

    @functools.lru_cache(maxsize=1024)
    def f_fun(x: int) -> int:
        return x

    @weakcache.lru_cache(maxsize=1024)
    def w_fun(x: int) -> int:
        return x

    for x in range(8):
        f_obj.m(x), w_obj.m(x), f_fun(x), w_fun(x)
        f_obj.m2(x, scale=2), w_obj.m2(x, scale=2)
    env = {"fo": f_obj, "wo": w_obj, "ff": f_fun, "wf": w_fun}
    number = 20_000 if quick else 200_000
    rounds = 5 if quick else 15
    # The loop body calls with 4 different ints so neither side is measured on
    # one hot key only; all are hits.
    cases = {
        "method functools": "fo.m(1); fo.m(2); fo.m(3); fo.m(4)",
        "method weakcache": "wo.m(1); wo.m(2); wo.m(3); wo.m(4)",
        "function functools": "ff(1); ff(2); ff(3); ff(4)",
        "function weakcache": "wf(1); wf(2); wf(3); wf(4)",
        "method+kw functools": "fo.m2(1, scale=2); fo.m2(2, scale=2); fo.m2(3, scale=2); fo.m2(4, scale=2)",
        "method+kw weakcache": "wo.m2(1, scale=2); wo.m2(2, scale=2); wo.m2(3, scale=2); wo.m2(4, scale=2)",
        "plain method call": "fo.v; fo.v; fo.v; fo.v",
    }
    res = interleaved(cases, env, number, rounds)
    rows = []
    for label in ("method", "function", "method+kw"):
        fn, wc = res[f"{label} functools"] / 4, res[f"{label} weakcache"] / 4
        rows.append((label, fn, wc))
    return rows


def measure_entries(cls, n: int, ints: list[int]) -> tuple[float, int]:
    """Bytes per entry for one owner calling cls.m with n distinct ints."""
    obj = cls(0)
    obj.m(-1)  # the owner's first entry: its one-off cost is measured elsewhere
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    m = obj.m
    for x in ints:
        m(x)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    size = cls.m.cache_info().currsize
    cls.m.cache_clear()
    return (after - before) / n, size


def measure_owner(cls, n: int) -> float:
    """Extra bytes of an owner's first entry: n owners, one call each, minus
    the entries' own cost, with owners created before tracing starts."""
    objs = [cls(i) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for o in objs:
        o.m(1)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    cls.m.cache_clear()
    del objs
    gc.collect()
    return (after - before) / n


def measure_owner_second_method(cls, n: int) -> float:
    """Bytes per owner when the same owners use a second cached method."""
    objs = [cls(i) for i in range(n)]
    for o in objs:
        o.m(1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for o in objs:
        o.m2(1)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    cls.m.cache_clear()
    cls.m2.cache_clear()
    return (after - before) / n


def bench_memory(quick: bool) -> dict[str, tuple[float, float]]:
    n = 50_000 if quick else 200_000
    F, W = make_classes(n + 16)
    # Keys exist before tracing on both sides, so only the cache's own
    # bookkeeping is counted (results are the same small objects: x itself).
    ints = list(range(1000, 1000 + n))
    out = {}
    f_entry, _ = measure_entries(F, n, ints)
    w_entry, wsize = measure_entries(W, n, ints)
    assert wsize == n + 1, wsize  # + the warm-up entry
    out["bytes per entry (method, 1 int arg)"] = (f_entry, w_entry)
    owners = n // 4
    f_owner = measure_owner(F, owners) - f_entry
    w_owner = measure_owner(W, owners) - w_entry
    out["extra bytes for an owner's first entry"] = (f_owner, w_owner)
    f_second = measure_owner_second_method(F, owners) - f_entry
    w_second = measure_owner_second_method(W, owners) - w_entry
    out["extra bytes per owner, 2nd cached method"] = (f_second, w_second)
    return out


def function_entry_bytes(deco, n: int) -> float:
    """tracemalloc bytes per entry of an unbounded function cache of n int
    keys (the keys exist before tracing; the result is None)."""
    @deco
    def f(x: int) -> None:
        return None

    keys = list(range(10**7, 10**7 + n))
    f(-1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in keys:
        f(k)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / n


def bench_function_memory(quick: bool) -> list[tuple[int, float, float, float]]:
    """Per entry: functools.cache (a dict), weakcache.cache (the flat table,
    python/src/flat.c) and a bounded weakcache.lru_cache too large to evict
    (the C core's entries), at sizes where each table is at a different
    point of its growth."""
    sizes = (1000, 10_000, 65_536, 100_000) if quick else (1000, 10_000, 65_536, 100_000, 200_000, 1_000_000)
    return [(n, function_entry_bytes(functools.cache, n), function_entry_bytes(weakcache.cache, n),
             function_entry_bytes(weakcache.lru_cache(maxsize=2 * n), n)) for n in sizes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and entries (smoke run)")
    args = ap.parse_args()
    print(f"Python {sys.version.split()[0]}, weakcache {weakcache.__version__}")
    print("\nHit latency (median ns per call, interleaved rounds; ratio < 1: weakcache faster)")
    print(f"{'case':<12} {'functools':>10} {'weakcache':>10} {'ratio':>7}")
    for label, fn, wc in bench_speed(args.quick):
        print(f"{label:<12} {fn:>10.1f} {wc:>10.1f} {wc / fn:>7.2f}")
    print("\nMemory (tracemalloc bytes; ratio < 1: weakcache smaller)")
    print(f"{'measure':<42} {'functools':>10} {'weakcache':>10} {'ratio':>7}")
    for label, (fv, wv) in bench_memory(args.quick).items():
        if label.startswith("extra"):
            # functools has no per-owner record (it keeps self in every key)
            print(f"{label:<42} {'-':>10} {wv:>10.1f} {'':>7}")
        else:
            print(f"{label:<42} {fv:>10.1f} {wv:>10.1f} {wv / fv:>7.2f}")
    print("\nFunction entries (tracemalloc bytes per entry, int keys; the bounded cache never evicts)")
    print(f"{'entries':>9} {'functools.cache':>16} {'weakcache.cache':>16} {'lru_cache(2n)':>14}")
    for n, fv, wv, bv in bench_function_memory(args.quick):
        print(f"{n:>9} {fv:>16.1f} {wv:>16.1f} {bv:>14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
