"""weakcache.lru_cache vs functools.lru_cache: hits at scale (issue 9).

Caches of N entries (default 1k, 64k and 1M) made as
    1 owner x N keys, N/100 owners x 100 keys, N owners x 1 key
on a cached method, and N keys on a plain function, with int keys (small
ints, whose hash is the int itself: the raw hashes that once collapsed the
C core's table), str keys and tuple keys. Both caches are unbounded and
filled with the same calls; then the same random sample of hits (the same
(owner, key) pairs, in the same order) is timed on each, interleaved
(functools, weakcache, functools, ...) over several rounds with the
collector off, and the median reported (CPU time of the thread, so that
time spent descheduled on a shared machine counts for neither side). The loop itself (a for over the
pairs) is timed too and subtracted for the "net" ratio.

For every weakcache cell the script reports the longest probe run of the C
core's index (wc_stats.longest_probe, a high-water mark, read through the
wrapper's private _debug_stats()): a few dozen slots at most when the
(owner, key) hashes spread, thousands if they collided.

    python bench/python/bench_scale.py                 # 1k, 64k, 1M (needs ~6 GiB)
    python bench/python/bench_scale.py --sizes 1000,65536 --rounds 5
    python bench/python/bench_scale.py --markdown      # the table for docs/benchmarks.md
    python bench/python/bench_scale.py --misses        # misses and the owner-cycle check
"""
from __future__ import annotations

import argparse
import functools
import gc
import platform
import random
import statistics
import sys
import time

import weakcache

SHAPES = {
    "1 owner x N": lambda n: (1, n),
    "N/100 owners x 100": lambda n: (max(1, n // 100), min(n, 100)),
    "N owners x 1": lambda n: (n, 1),
}
KEYS = {
    "int": lambda j: j,
    "str": lambda j: f"key-{j}",
    "tuple": lambda j: (j, "t"),
}


def make_sides():
    class F:
        __slots__ = ("__weakref__",)

        @functools.lru_cache(maxsize=None)
        def m(self, x):
            return x

    class W:
        __slots__ = ("__weakref__",)

        @weakcache.lru_cache(maxsize=None)
        def m(self, x):
            return x

    @functools.lru_cache(maxsize=None)
    def f_func(x):
        return x

    @weakcache.lru_cache(maxsize=None)
    def w_func(x):
        return x

    return F, W, f_func, w_func


def run_method(pairs):
    for o, k in pairs:
        o.m(k)


def run_function(pairs):
    for f, k in pairs:
        f(k)


def run_loop(pairs):
    for o, k in pairs:
        pass


def timed(fn, pairs):
    # CPU time of this thread: the machine may be shared, and time spent
    # descheduled would land on whichever side happened to be running.
    t0 = time.thread_time_ns()
    fn(pairs)
    return (time.thread_time_ns() - t0) / len(pairs)


def cell(n, shape, keytype, sample, rounds, rng):
    """Median ns per hit (functools, weakcache, loop) and the longest probe run."""
    F, W, f_func, w_func = make_sides()
    make_key = KEYS[keytype]
    if shape == "function":
        keys = [make_key(j) for j in range(n)]
        for k in keys:
            f_func(k)
            w_func(k)
        idx = [rng.randrange(n) for _ in range(sample)]
        pf = [(f_func, keys[i]) for i in idx]
        pw = [(w_func, keys[i]) for i in idx]
        runner, wrapper = run_function, w_func
        assert f_func.cache_info().currsize == w_func.cache_info().currsize == n
    else:
        owners, per = SHAPES[shape](n)
        keys = [make_key(j) for j in range(per)]
        fo = [F() for _ in range(owners)]
        wo = [W() for _ in range(owners)]
        for a, b in zip(fo, wo):
            for k in keys:
                a.m(k)
                b.m(k)
        idx = [(rng.randrange(owners), rng.randrange(per)) for _ in range(sample)]
        pf = [(fo[o], keys[k]) for o, k in idx]
        pw = [(wo[o], keys[k]) for o, k in idx]
        runner, wrapper = run_method, W.m
        assert F.m.cache_info().currsize == W.m.cache_info().currsize == owners * per
    before = wrapper.cache_info().hits
    samples = {"functools": [], "weakcache": [], "loop": []}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            samples["functools"].append(timed(runner, pf))
            samples["weakcache"].append(timed(runner, pw))
            samples["loop"].append(timed(run_loop, pf))
    finally:
        if gc_was:
            gc.enable()
    assert wrapper.cache_info().hits - before == rounds * sample   # every call was a hit
    probe = wrapper._debug_stats()["longest_probe"]
    result = {k: statistics.median(v) for k, v in samples.items()}
    result["probe"] = probe
    del pf, pw, keys
    return result


def miss_costs(rounds):
    """ns per miss of a method returning a big value (100 lists of 100,000
    ints: the owner-cycle check's worst case), an int and a small list."""
    big = [list(range(100_000)) for _ in range(100)]
    print(f"{'miss returning':<16} {'functools':>10} {'weakcache':>10} {'ratio':>6}")
    for label, value in (("100 x 100k list", big), ("int", 1), ("[1, 2, 3]", [1, 2, 3])):
        best = {}
        for name, deco in (("functools", functools.lru_cache(maxsize=None)),
                           ("weakcache", weakcache.lru_cache(maxsize=None))):
            times = []
            for _ in range(rounds):
                class A:
                    @deco
                    def m(self, k, value=value):
                        return value

                a = A()
                a.m(-1)
                gc.disable()
                t0 = time.thread_time_ns()
                for k in range(20_000):
                    a.m(k)
                times.append((time.thread_time_ns() - t0) / 20_000)
                gc.enable()
            best[name] = statistics.median(times)
        print(f"{label:<16} {best['functools']:>10.0f} {best['weakcache']:>10.0f} "
              f"{best['weakcache'] / best['functools']:>6.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,65536,1000000",
                    help="comma-separated cache sizes (default 1000,65536,1000000)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--sample", type=int, default=200_000,
                    help="hits timed per round, drawn at random (default 200000)")
    ap.add_argument("--keys", default="int,str,tuple")
    ap.add_argument("--shapes", default="1 owner x N,N/100 owners x 100,N owners x 1,function")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--misses", action="store_true",
                    help="only time misses whose value the owner-cycle check walks")
    args = ap.parse_args(argv)
    if args.misses:
        miss_costs(args.rounds)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    keytypes = args.keys.split(",")
    shapes = args.shapes.split(",")
    rng = random.Random(args.seed)
    print(f"# CPython {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or platform.platform()}; weakcache {weakcache.__version__} "
          f"({weakcache.build_info()['build_flags']}); rounds={args.rounds}, "
          f"sample={args.sample}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.markdown:
        print("| N | shape | key | functools ns/hit | weakcache ns/hit | ratio | net ratio | longest probe |")
        print("|---:|---|---|---:|---:|---:|---:|---:|")
    else:
        print(f"{'N':>8} {'shape':<20} {'key':<6} {'functools':>10} {'weakcache':>10} "
              f"{'ratio':>6} {'net':>6} {'loop':>6} probe")
    worst = 0.0
    for n in sizes:
        for shape in shapes:
            for kt in keytypes:
                r = cell(n, shape, kt, args.sample, args.rounds, rng)
                ratio = r["weakcache"] / r["functools"]
                net = (r["weakcache"] - r["loop"]) / (r["functools"] - r["loop"])
                worst = max(worst, net)
                if args.markdown:
                    print(f"| {n} | {shape} | {kt} | {r['functools']:.1f} | {r['weakcache']:.1f} | "
                          f"{ratio:.2f} | {net:.2f} | {r['probe']} |")
                else:
                    print(f"{n:>8} {shape:<20} {kt:<6} {r['functools']:>10.1f} "
                          f"{r['weakcache']:>10.1f} {ratio:>6.2f} {net:>6.2f} {r['loop']:>6.1f} "
                          f"{r['probe']}")
                sys.stdout.flush()
                gc.collect()
    print(f"# worst net ratio (weakcache / functools, loop subtracted): {worst:.2f}")


if __name__ == "__main__":
    main()
