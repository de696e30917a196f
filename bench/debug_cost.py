"""What the debug mode (opts.debug, docs/debugging.md) costs.

    python3 bench/debug_cost.py [--reps 11] [--backends Cpu Cuda] [--small]

Times axpy (2^24 float32), row sum (8192 x 1024 float32) and CSR SpMV
(65536 rows, 32 nonzeros per row, float32, int64 indices) compiled without
and with `debug=True`, on the Cpu backend and, when a GPU is enabled, on the
Cuda backend with the arrays in GPU memory (parpy.buffer).  Each number is
the median of --reps calls after a warm-up call; a Cuda call is timed up to
parpy.sync() (a checked call waits for its kernels anyway, to read the
record of its checks).  Both variants are checked against NumPy first.

What the checks are, per kernel: axpy's `x[i]`, `y[i]` are proved in bounds
(the loop runs over range(N) with N = the arrays' length), so only the
checks' bookkeeping around the call remains; row sum likewise; "gather" is
axpy reading `x[idx[i]]` (idx = 0..N-1), checked at every element; SpMV's
`vals[k]`, `cols[k]` and `x[cols[k]]` are checked at every nonzero (k runs
between values read from `rows`; `rows[i + 1]` is proved in bounds).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import parpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from programs import axpy, row_sums, spmv  # noqa: E402  (tests/programs.py)


@parpy.jit
def axpy_gather(a, x, idx, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[idx[i]] + y[i]


def cases(small: bool):
    rng = np.random.default_rng(0)
    n = 2**20 if small else 2**24
    rows, cols_n = (4096, 1024) if small else (8192, 1024)
    srows, nnz = (8192, 32) if small else (65536, 32)
    x = rng.random(n, dtype=np.float32)
    y = rng.random(n, dtype=np.float32)
    m = rng.random((rows, cols_n), dtype=np.float32)
    rp = np.arange(0, (srows + 1) * nnz, nnz, dtype=np.int64)
    ci = rng.integers(0, srows, size=srows * nnz, dtype=np.int64)
    vals = rng.random(srows * nnz, dtype=np.float32)
    xv = rng.random(srows, dtype=np.float32)
    dense_ref = np.add.reduceat(vals * xv[ci], rp[:-1])
    return [
        ("axpy", axpy, [np.float32(2.0), x, y.copy(), n], 2, 2.0 * x + y, {'N': 1 << 20}, 1e-6),
        ("gather", axpy_gather, [np.float32(2.0), x, np.arange(n, dtype=np.int64), y.copy(), n],
         3, 2.0 * x + y, {'N': 1 << 20}, 1e-6),
        ("row sum", row_sums, [m, np.zeros(rows, np.float32), rows], 1, m.sum(axis=1),
         {'N': 1024}, 1e-4),
        ("SpMV", spmv, [rp, ci, vals, xv, np.zeros(srows, np.float32), srows], 4, dense_ref,
         {'N': 1 << 16}, 1e-4),
    ]


def time_one(fn, args, opts, reps, sync):
    fn(*args, opts=opts)  # compile and warm up
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(*args, opts=opts)
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def run(backend, reps, small):
    cuda = backend is parpy.CompileBackend.Cuda
    sync = (lambda: parpy.buffer.sync(backend)) if cuda else (lambda: None)
    rows = []
    for name, fn, args, out, ref, par, tol in cases(small):
        times = {}
        for debug in (False, True):
            opts = parpy.par({k: parpy.threads(v) for k, v in par.items()})
            opts.backend = backend
            opts.debug = debug
            call_args = list(args)
            if cuda:
                call_args = [parpy.buffer.from_array(a, backend) if isinstance(a, np.ndarray)
                             else a for a in args]
            fn(*call_args, opts=opts)
            got = call_args[out].numpy() if cuda else call_args[out]
            if out != 1 and name != "SpMV":  # y was updated: check one fresh run instead
                fresh = list(call_args)
                y0 = args[out].copy()
                ref = np.float32(2.0) * args[1] + y0
                fresh[out] = parpy.buffer.from_array(y0.copy(), backend) if cuda else y0.copy()
                fn(*fresh, opts=opts)
                got = fresh[out].numpy() if cuda else fresh[out]
            assert np.allclose(got, ref, rtol=tol, atol=tol), f"{name} debug={debug}: wrong"
            times[debug] = time_one(fn, call_args, opts, reps, sync)
        rows.append((name, times[False], times[True]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--backends", nargs="*", default=["Cpu", "Cuda"])
    ap.add_argument("--small", action="store_true", help="16x smaller inputs (a quick look)")
    a = ap.parse_args()
    for b in a.backends:
        backend = getattr(parpy.CompileBackend, b)
        if not parpy.backend.is_enabled(backend):
            print(f"{b}: not enabled here, skipped")
            continue
        print(f"\n{b} ({'small' if a.small else 'full'} inputs, median of {a.reps})")
        print(f"{'kernel':10} {'unchecked':>12} {'debug':>12} {'slowdown':>9}")
        for name, t0, t1 in run(backend, a.reps, a.small):
            print(f"{name:10} {t0 * 1e3:10.3f}ms {t1 * 1e3:10.3f}ms {t1 / t0:8.2f}x")


if __name__ == "__main__":
    main()
