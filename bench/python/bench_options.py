"""What lru_cache's keyword options cost: ttl= (per entry and per hit),
maxweight=/weigher= and lock=True (per hit).

Hit latency: every statement calls the cached function with four different
ints (all hits), timed with timeit in interleaved rounds (plain, ttl, ...,
plain, ttl, ...), median of the rounds. Memory: tracemalloc (the C core
allocates through PyMem, so every byte is traced) over N entries of a
function with one int argument, maxsize larger than N; the ints and the
results exist before tracing starts, so only the cache's bookkeeping counts.

    python bench/python/bench_options.py [--quick] [--entries N]

Instructions per hit (deterministic, unlike wall clock on a shared machine):
run `--hit-loop CONFIG N` under callgrind for two N and divide the
difference of the totals by the difference of N (docs/benchmarks.md):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python bench/python/bench_options.py --hit-loop ttl 120000
"""
from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc

import weakcache
from bench_lru import interleaved  # the same interleaved timing (this directory)

CONFIGS = {
    "no options": {},
    "ttl (time.monotonic)": {"ttl": 3600.0},
    "ttl (Python timer)": {"ttl": 3600.0, "timer": None},  # a lambda, made in make()
    "maxweight+weigher": {"maxweight": 10**9, "weigher": lambda v: 1},
    "lock=True": {"lock": True},
}


def _python_timer():
    t = [0.0]
    return lambda: t[0]


def make(maxsize, **options):
    if options.get("timer", 1) is None:
        options["timer"] = _python_timer()

    @weakcache.lru_cache(maxsize=maxsize, **options)
    def f(x):
        return x

    return f


LOOP_CONFIGS = {
    "none": {},
    "ttl": {"ttl": 3600.0},
    "ttl-python-timer": {"ttl": 3600.0, "timer": None},
    "weight": {"maxweight": 10**9, "weigher": lambda v: 1},
    "lock": {"lock": True},
}


def hit_loop(config: str, n: int) -> None:
    f = make(1024, **LOOP_CONFIGS[config])
    f(1)

    def loop(f=f, n=n):
        for _ in range(n):
            f(1)

    loop()
    assert f.cache_info().hits == n


def bench_hits(quick: bool) -> dict[str, float]:
    env: dict = {}
    cases = {}
    funcs = []
    for i, (label, options) in enumerate(CONFIGS.items()):
        f = make(1024, **options)
        for x in range(8):
            f(x)
        env[f"f{i}"] = f
        funcs.append(f)
        cases[label] = f"f{i}(1); f{i}(2); f{i}(3); f{i}(4)"
    number = 20_000 if quick else 200_000
    rounds = 5 if quick else 15
    res = interleaved(cases, env, number, rounds)
    for f in funcs:
        info = f.cache_info()
        assert info.misses == 8 and info.hits > 0, info  # hits only, nothing expired
    return {k: v / 4 for k, v in res.items()}


def bytes_per_entry(n: int, options: dict) -> float:
    f = make(n + 16, **options)
    keys = list(range(10_000, 10_000 + n))
    f(-1)  # the cache's first allocation is not per entry
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in keys:
        f(k)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert f.cache_info().currsize == n + 1
    f.cache_clear()
    return (after - before) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and entries (smoke run)")
    ap.add_argument("--entries", type=int, default=100_000, help="entries for the memory test")
    ap.add_argument("--hit-loop", nargs=2, metavar=("CONFIG", "N"),
                    help=f"only run N hits of one config ({', '.join(LOOP_CONFIGS)}), for callgrind")
    args = ap.parse_args()
    if args.hit_loop:
        hit_loop(args.hit_loop[0], int(args.hit_loop[1]))
        return 0
    n = 20_000 if args.quick else args.entries
    print(f"Python {sys.version.split()[0]}, weakcache {weakcache.__version__}")
    print("\nHit latency (median ns per hit, interleaved rounds; ratio vs no options)")
    hits = bench_hits(args.quick)
    base = hits["no options"]
    print(f"{'options':<24} {'ns/hit':>8} {'ratio':>7}")
    for label, ns in hits.items():
        print(f"{label:<24} {ns:>8.1f} {ns / base:>7.2f}")
    print(f"\nMemory at {n:,} entries (tracemalloc bytes per entry)")
    plain = bytes_per_entry(n, {})
    ttl = bytes_per_entry(n, {"ttl": 3600.0})
    weighed = bytes_per_entry(n, {"maxweight": 10**9, "weigher": lambda v: 1})
    print(f"{'no options':<24} {plain:>8.1f}")
    print(f"{'ttl':<24} {ttl:>8.1f} {ttl - plain:>+8.1f}")
    print(f"{'maxweight+weigher':<24} {weighed:>8.1f} {weighed - plain:>+8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
