"""Instructions per in-cache hit, weakcache vs functools, counted by callgrind.

Counts do not depend on the machine's load, unlike wall time. Each case runs
twice under callgrind (with and without the loop of hits); the difference,
less the bare loop's own cost, divided by the number of hits is printed.

    python bench/python/hits_callgrind.py            # needs valgrind
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
import sys

N = 100_000


def child(side: str, kind: str, run: bool) -> None:
    import weakcache

    deco = functools.lru_cache(maxsize=None) if side == "functools" else weakcache.lru_cache(maxsize=None)

    class A:
        __slots__ = ("__weakref__",)

        @deco
        def m(self, x):
            return x

    @deco
    def f(x):
        return x

    objs = [A() for _ in range(10)]
    for o in objs:
        for k in range(100):
            o.m(k)
    for k in range(1000):
        f(k)
    pairs = [(objs[i % 10], (i * 7) % 100) for i in range(N)]
    keys = [(i * 7) % 1000 for i in range(N)]

    def loop_method(pairs):
        for o, k in pairs:
            o.m(k)

    def loop_function(keys):
        for k in keys:
            f(k)

    def loop_bare(keys):
        for k in keys:
            pass

    if run:
        {"method": lambda: loop_method(pairs), "function": lambda: loop_function(keys),
         "loop": lambda: loop_bare(keys)}[kind]()


def instructions(side: str, kind: str, run: bool) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        sys.executable, __file__, "--child", side, kind, str(int(run))],
                       capture_output=True, text=True, env=env, check=True)
    return int(re.search(r"Collected : (\d+)", r.stderr).group(1))


def per_hit(side: str, kind: str) -> float:
    return (instructions(side, kind, True) - instructions(side, kind, False)) / N


def main() -> None:
    loop = per_hit("functools", "loop")
    print(f"bare loop: {loop:.0f} instructions an iteration (subtracted below)")
    print(f"{'hit':<10} {'functools':>10} {'weakcache':>10} {'ratio':>6}")
    for kind in ("method", "function"):
        f = per_hit("functools", kind) - loop
        w = per_hit("weakcache", kind) - loop
        print(f"{kind:<10} {f:>10.0f} {w:>10.0f} {w / f:>6.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
    else:
        main()
