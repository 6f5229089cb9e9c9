#!/usr/bin/env python3
"""SIEVE and LRU miss ratios: weakcache vs libCacheSim on the same Zipf traces.

    python3 -m venv build/venv-sim && build/venv-sim/bin/pip install libcachesim
    cmake --preset release && cmake --build --preset release --target wc_trace_sim
    build/venv-sim/bin/python bench/sieve_miss_ratio.py [--sim build/release/bench/c/wc_trace_sim]

Traces: libCacheSim's SyntheticReader (Zipf, alpha 0.6-1.2, 50,000 objects,
500,000 requests, fixed seeds). Cache sizes 1%, 5% and 10% of the objects.
weakcache replays each trace through wc_get / wc_put (bench/c/trace_sim.c);
libCacheSim runs its Sieve and LRU on the same reader. Prints a Markdown
table and exits 1 if a goal is missed: weakcache SIEVE below weakcache LRU,
and within 2% (relative) of libCacheSim's SIEVE.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import libcachesim as lcs

OBJECTS = 50_000
REQUESTS = 500_000
ALPHAS = (0.6, 0.8, 1.0, 1.2)
SIZES = (0.01, 0.05, 0.10)


def reader(alpha, seed):
    return lcs.SyntheticReader(num_of_req=REQUESTS, obj_size=1, seed=seed,
                               alpha=alpha, dist="zipf", num_objects=OBJECTS)


def wc_miss(sim, policy, cap, path):
    with open(path, "rb") as f:
        out = subprocess.run([sim, policy, str(cap)], stdin=f, check=True,
                             capture_output=True, text=True).stdout.split()
    if int(out[3]) > 128:   # the index's longest probe run: hashes collide
        sys.exit(f"probe run of {out[3]} slots in wc_trace_sim {policy} {cap}")
    return float(out[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", default="build/release/bench/c/wc_trace_sim")
    args = ap.parse_args()
    ok = True
    print("| alpha | cache | wc LRU | wc SIEVE | libCacheSim LRU | libCacheSim SIEVE | SIEVE wc/lcs |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, alpha in enumerate(ALPHAS):
            seed = 42 + i
            path = os.path.join(tmp, f"zipf-{alpha}.bin")
            with open(path, "wb") as f:
                f.write(b"".join(struct.pack("=Q", r.obj_id) for r in reader(alpha, seed)))
            for frac in SIZES:
                cap = int(OBJECTS * frac)
                wl = wc_miss(args.sim, "lru", cap, path)
                ws = wc_miss(args.sim, "sieve", cap, path)
                ll = lcs.LRU(cache_size=cap).process_trace(reader(alpha, seed))[0]
                ls = lcs.Sieve(cache_size=cap).process_trace(reader(alpha, seed))[0]
                rel = ws / ls
                flag = ""
                if not (ws < wl and abs(rel - 1) <= 0.02):
                    ok = False
                    flag = " MISSED"
                print(f"| {alpha} | {frac:.0%} | {wl:.4f} | {ws:.4f} | {ll:.4f} | {ls:.4f} | {rel:.4f}{flag} |")
    print("goals (SIEVE < LRU, within 2% of libCacheSim):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
