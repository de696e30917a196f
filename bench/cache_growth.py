"""Memory and mappings of a process over many specialisations of one
function (issue 11, item 7): with the in-memory cache bounded, both level
off at the limit instead of growing with every new scalar value.

    python3 bench/cache_growth.py --n 300 --limit 32 --mode scalar
    python3 bench/cache_growth.py --n 2000 --limit 32 --mode options

`scalar`: a new value of `a` each time (a new library each: a build, or a
disk hit on a second run); `options`: an unused label in the options each
time (one library, many specialisations: no build)."""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import parpy
from parpy import _core


@parpy.jit
def scale(x, a, N):
    parpy.label("N")
    for i in range(N):
        x[i] = x[i] * a


def opts(k=None):
    par = {"N": parpy.threads(8)}
    if k is not None:
        par[f"unused{k}"] = parpy.threads(2)
    o = parpy.par(par)
    o.backend = parpy.CompileBackend.Cpu
    return o


def usage() -> tuple[int, int]:
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    return maps, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--limit", type=int, default=32)
    ap.add_argument("--mode", choices=["scalar", "options"], default="scalar")
    args = ap.parse_args()
    os.environ.setdefault("PARPY_CACHE_DIR", tempfile.mkdtemp(prefix="parpy-growth-"))
    _core._set_max_specializations(args.limit)
    x = np.ones(8)
    t0 = time.time()
    for k in range(args.n):
        if args.mode == "scalar":
            scale(x, 1.0 + k, 8, opts=opts())
        else:
            scale(x, 1.0, 8, opts=opts(k))
        if k in (args.limit - 1, 2 * args.limit - 1) or k == args.n - 1 or (k + 1) % 500 == 0:
            maps, rss = usage()
            print(f"{k + 1:6d} specialisations: {scale._cache_size():4d} loaded, {maps:5d} "
                  f"mappings, RSS {rss / 1024:7.1f} MiB, {time.time() - t0:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
