"""Cache misses per hit at scale, weakcache vs functools, simulated by callgrind.

At 64k and 1M entries a hit is a chain of dependent cache misses, and wall
time on a shared machine moves by 20% between runs (bench_scale.py). This
script counts the misses instead: each case runs under
`valgrind --tool=callgrind --cache-sim=yes` twice (with and without the
loop of hits), and the difference divided by the number of hits is the data
reads that missed a simulated 32 KiB L1 and a simulated last level of the
given size: 1 MiB (this machine's L2: what then comes from L3) and 32 MiB
(its L3: what then comes from memory). The simulation knows nothing of
prefetchers or TLBs, so it counts the misses a random access pattern
cannot avoid, the same on every run.

Cases are bench_scale.py's, one side per process (so each side has the
simulated caches to itself): a plain function with N int keys, and a method
with N owners x 1 int key; unbounded caches, 100,000 random hits.

    python bench/python/hits_cachesim.py                  # 65536 entries (about 2 min)
    python bench/python/hits_cachesim.py --entries 1000000
"""
from __future__ import annotations

import argparse
import functools
import os
import random
import re
import subprocess
import sys

HITS = 100_000
LEVELS = {"L2 (1 MiB)": 1 << 20, "L3 (32 MiB)": 32 << 20}


def child(side: str, kind: str, n: int, run: bool) -> None:
    import weakcache

    deco = functools.lru_cache(maxsize=None) if side == "functools" else weakcache.lru_cache(maxsize=None)
    rng = random.Random(1)
    if kind == "function":
        @deco
        def f(x):
            return x

        keys = list(range(n))
        for k in keys:
            f(k)
        sample = [keys[rng.randrange(n)] for _ in range(HITS)]

        def loop():
            for k in sample:
                f(k)
    else:
        class A:
            __slots__ = ("__weakref__",)

            @deco
            def m(self, x):
                return x

        objs = [A() for _ in range(n)]
        for o in objs:
            o.m(0)
        sample = [objs[rng.randrange(n)] for _ in range(HITS)]

        def loop():
            for o in sample:
                o.m(0)

    if run:
        loop()


def misses(side: str, kind: str, n: int, ll: int, run: bool) -> tuple[int, int]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--cache-sim=yes", "--D1=32768,8,64",
                        f"--LL={ll},16,64", "--callgrind-out-file=/dev/null",
                        sys.executable, __file__, "--child", side, kind, str(n), str(int(run))],
                       capture_output=True, text=True, env=env, check=True)
    d1 = int(re.search(r"D1  misses:\s+([\d,]+)", r.stderr).group(1).replace(",", ""))
    lld = int(re.search(r"LLd misses:\s+([\d,]+)", r.stderr).group(1).replace(",", ""))
    return d1, lld


def per_hit(side: str, kind: str, n: int, ll: int) -> tuple[float, float]:
    a, b = misses(side, kind, n, ll, True), misses(side, kind, n, ll, False)
    return (a[0] - b[0]) / HITS, (a[1] - b[1]) / HITS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=65536)
    args = ap.parse_args()
    n = args.entries
    print(f"{n} entries, {HITS} random hits; data-read misses per hit (callgrind cache simulation)")
    print(f"{'case':<18} {'level':<12} {'functools':>10} {'weakcache':>10}")
    for kind, label in (("function", "function"), ("method", "N owners x 1")):
        rows = []
        for level, ll in LEVELS.items():
            f, w = per_hit("functools", kind, n, ll), per_hit("weakcache", kind, n, ll)
            if not rows:   # L1 is the same simulated cache in both runs
                rows.append(("L1 (32 KiB)", f[0], w[0]))
            rows.append((level, f[1], w[1]))
        for level, f_miss, w_miss in rows:
            print(f"{label:<18} {level:<12} {f_miss:>10.2f} {w_miss:>10.2f}")
        sys.stdout.flush()

if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
    else:
        main()
