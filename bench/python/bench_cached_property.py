"""Memory and hit time of weakcache.cached_property against functools.cached_property.

    python bench/python/bench_cached_property.py [--n 200000] [--rounds 15]

Memory: a class with two plain attributes (set in __init__) and ten cached
properties, N instances, every property touched; bytes per instance by
tracemalloc (the instances and whatever holds their cached values; the values
are small ints that are shared, so no payload is counted; the list holding
the instances is allocated before measuring). Two orders: each instance's
properties touched right after it is created (functools' best case: CPython
3.11+ then shares one key table among all the __dict__s), or all instances
created first and touched afterwards (the usual lazy pattern: once many
instances exist, adding keys no longer fits the shared table and every
__dict__ gets its own). Variants:

  functools  dict class (__init__ sets a, b), functools.cached_property
  wc-dict    the same class, weakcache.cached_property (stores in __dict__)
  wc-slot    __slots__ = ("a", "b") + weakcache.cached_slots(*names)
  wc-weak    __slots__ = ("a", "b", "__weakref__"): the weak-keyed store

Hit time: one property read again and again on an instance whose value is
cached (timeit, 20 reads per loop iteration), variants interleaved round by
round in one process; the median per variant and its ratio to functools.

Hits at scale (--scale-instances, default 50 000): that many instances, each
with all ten properties cached (so the weak store holds 500 000 entries of
50 000 owners), visited in a shuffled order, all ten properties read on each
visit: ns per attribute read (loop overhead included and shared), functools
against the weak store (and the other variants). Issue 9's goal for the weak
store: <= 3x a functools hit. The weak store's table must keep growing with
its entries; the bench checks that every entry can still be found.
"""
from __future__ import annotations

import argparse
import functools
import random
import gc
import operator
import platform
import statistics
import sys
import timeit
import tracemalloc

import weakcache

NAMES = tuple(f"p{i}" for i in range(10))


def _getter(i):
    def get(self):
        return i  # a small int: shared, so the payload costs nothing
    return get


def make_class(kind: str) -> type:
    ns: dict = {}
    if kind == "functools":
        deco = functools.cached_property
    else:
        deco = weakcache.cached_property
    if kind == "wc-slot":
        ns["__slots__"] = ("a", "b") + weakcache.cached_slots(*NAMES)
    elif kind == "wc-weak":
        ns["__slots__"] = ("a", "b", "__weakref__")

    def __init__(self):
        self.a = 1
        self.b = 2

    ns["__init__"] = __init__
    for i, name in enumerate(NAMES):
        ns[name] = deco(_getter(i))
    return type(f"C_{kind.replace('-', '_')}", (), ns)


KINDS = ("functools", "wc-dict", "wc-slot", "wc-weak")


def traced_bytes_per_instance(cls: type, names: tuple[str, ...], n: int, lazy: bool) -> tuple[float, object]:
    """tracemalloc bytes per instance for n instances of cls() with every
    property in `names` touched, and the last instance. lazy=False touches
    each instance's properties right after creating it; lazy=True creates
    all n instances first, then touches them (how cached properties are
    usually met: some time after __init__). Also used by bench_dataclass.py."""
    objs = [None] * n
    touch = [operator.attrgetter(name) for name in names]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        o = cls()
        if not lazy:
            for get in touch:
                get(o)
        objs[i] = o
    if lazy:
        for o in objs:
            for get in touch:
                get(o)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    last = objs[-1]
    del objs
    gc.collect()
    return (after - before) / n, last


def bytes_per_instance(kind: str, n: int, lazy: bool) -> float:
    cls = make_class(kind)
    per_instance, last = traced_bytes_per_instance(cls, NAMES, n, lazy)
    assert [getattr(last, name) for name in NAMES] == list(range(10))
    if kind != "functools":
        assert isinstance(cls.__dict__["p0"], weakcache.cached_property)
        assert cls.__dict__["p0"].storage == kind[3:]
    else:
        assert not hasattr(last, "__slots__")
    return per_instance


def hit_times(rounds: int, number: int) -> dict[str, list[float]]:
    stmt = "; ".join(["o.p3"] * 20)
    timers = {}
    for kind in KINDS:
        o = make_class(kind)()
        o.p3  # noqa: B018 - first access computes and stores
        timers[kind] = timeit.Timer(stmt, globals={"o": o})
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for kind in KINDS:  # warm up (specialisation, caches)
        timers[kind].timeit(number)
    for _ in range(rounds):
        for kind in KINDS:
            times[kind].append(timers[kind].timeit(number) / (number * 20) * 1e9)
    return times


def scale_hit_times(instances: int, rounds: int, seed: int = 1) -> dict[str, list[float]]:
    """ns per attribute read over `instances` instances x 10 cached
    properties, each round visiting every instance once in a shuffled order
    and reading all ten properties."""
    reads = "; ".join(f"o.{name}" for name in NAMES)
    stmt = f"for o in order:\n    {reads}"
    timers, keep = {}, []
    rng = random.Random(seed)
    for kind in KINDS:
        cls = make_class(kind)
        objs = [cls() for _ in range(instances)]
        for o in objs:
            for name in NAMES:
                getattr(o, name)
        order = objs[:]
        rng.shuffle(order)
        assert all(getattr(o, name) == i for o in order[:100] for i, name in enumerate(NAMES))
        keep.append(objs)
        timers[kind] = timeit.Timer(stmt, globals={"order": order})
    if "wc-weak" in KINDS:
        store = weakcache.cached_property._wc_store
        assert len(store) >= instances * len(NAMES), len(store)
    for kind in KINDS:
        timers[kind].timeit(1)
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            times[kind].append(timers[kind].timeit(1) / (instances * len(NAMES)) * 1e9)
    del keep
    gc.collect()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="instances for the memory test")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    ap.add_argument("--number", type=int, default=50_000, help="loop iterations per round")
    ap.add_argument("--scale-instances", type=int, default=50_000,
                    help="instances for the hits-at-scale test (0: skip it)")
    ap.add_argument("--only-scale", action="store_true", help="run the hits-at-scale test only")
    args = ap.parse_args()

    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"weakcache {weakcache.__version__}")
    if not args.only_scale:
        memory_and_hits(args)
    if args.scale_instances:
        print()
        times = scale_hit_times(args.scale_instances, args.rounds)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"hits at scale: {args.scale_instances} instances x {len(NAMES)} properties, "
              f"shuffled visits, median of {args.rounds} rounds, ns per attribute read")
        for kind in KINDS:
            print(f"  {kind:10s} {med[kind]:6.2f} ns  {med[kind] / med['functools']:5.2f}x functools")


def memory_and_hits(args: argparse.Namespace) -> None:
    print()
    print(f"memory: bytes per instance, {args.n} instances x (2 attributes + 10 cached "
          f"properties), every property touched")
    print(f"  {'':10s} {'touched at creation':>26s} {'created first, touched later':>30s}")
    mem = {(kind, lazy): bytes_per_instance(kind, args.n, lazy)
           for lazy in (False, True) for kind in KINDS}
    for kind in KINDS:
        cells = []
        for lazy in (False, True):
            b = mem[kind, lazy]
            cells.append(f"{b:8.1f} B {b / mem['functools', lazy]:5.2f}x")
        print(f"  {kind:10s} {cells[0]:>26s} {cells[1]:>30s}")
    print()
    times = hit_times(args.rounds, args.number)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"hit time: median of {args.rounds} interleaved rounds, ns per attribute read")
    for kind in KINDS:
        print(f"  {kind:10s} {med[kind]:6.2f} ns  {med[kind] / med['functools']:5.2f}x functools")


if __name__ == "__main__":
    main()
