"""The Cpu backend against hand-written C + OpenMP, Numba and NumPy.

    python3 bench/cpu.py [--reps 7] [--threads 1 2] [--quick] [--kernels NAME...]
                         [--out bench/results] [--tag TAG] [--from-json FILE]

Kernels: row sum and row softmax (8192 x 1024 float32), Jacobi 2-D (2048^2
float64, 10 sweeps), a 256-bin histogram of 2^26 uint8, N-body (4096 bodies,
float64), axpy (2^24 float64), CSR SpMV (65536 rows, 32 nonzeros each),
Mandelbrot (1024^2, at most 100 iterations) and naive matmul written i-k-j
(512^2 float32).

  ParPy    parpy_kernels() below (most are tests/programs.py's), compiled
           by ParPy's Cpu backend
  C        bench/cpu_ref.c, built here with ParPy's own compiler flags
  Numba    the same loops with numba.prange (skipped if Numba is missing)
  NumPy    the idiomatic NumPy expression (its own threads for matmul)

Each thread count runs in a fresh process (OMP_NUM_THREADS and Numba's and
OpenBLAS's thread counts set before anything starts).  Within it the
implementations of a kernel run in turn (each round in a new random
order), `--reps` rounds, and the table
shows medians (an implementation taking over SLOW_S seconds runs once); every implementation's result is checked against NumPy's
first.  Writes cpu-<date>.json and cpu-<date>.png (if matplotlib is
installed) into --out.

The histogram uses `.reduce()` on a scatter update (issue 13); a ParPy
that cannot compile it shows why under the table instead of a time.
"""
from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# What src/target/cpu/cpu.c passes to cc for generated code.
CFLAGS = ["-std=gnu11", "-O3", "-march=native", "-fwrapv", "-fexcess-precision=standard",
          "-ffp-contract=off", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC"]
IMPLS = ["ParPy", "C", "Numba", "NumPy"]
# An implementation whose warm-up run (after compilation) takes longer than
# this is timed once, not --reps times (NumPy's N-body and Mandelbrot).
SLOW_S = 1.5


# ---------------------------------------------------------------- ParPy

def parpy_kernels():
    """ParPy and its kernels by name: tests/programs.py's (the tests run
    them too; row sum's and softmax's 'M' labels are left out of the dicts
    below, so those loops are sequential here), and Jacobi and N-body."""
    import parpy
    from parpy.operators import sqrt
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    import programs

    @parpy.jit
    def jacobi(a, b, N, T):
        for t in range(T):
            parpy.label('i')
            for i in range(1, N - 1):
                parpy.label('j')
                for j in range(1, N - 1):
                    b[i, j] = 0.2 * (a[i, j] + a[i, j - 1] + a[i, j + 1] + a[i + 1, j] + a[i - 1, j])
            parpy.label('i')
            for i in range(1, N - 1):
                parpy.label('j')
                for j in range(1, N - 1):
                    a[i, j] = 0.2 * (b[i, j] + b[i, j - 1] + b[i, j + 1] + b[i + 1, j] + b[i - 1, j])

    @parpy.jit
    def nbody(pos, mass, acc, N):
        parpy.label('N')
        for i in range(N):
            ax = 0.0
            ay = 0.0
            az = 0.0
            for j in range(N):
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                r2 = dx * dx + dy * dy + dz * dz + 0.01
                s = mass[j] / (r2 * sqrt(r2))
                ax += dx * s
                ay += dy * s
                az += dz * s
            acc[i, 0] = ax
            acc[i, 1] = ay
            acc[i, 2] = az

    return parpy, {"row_sum": programs.row_sums, "softmax": programs.softmax, "jacobi": jacobi,
                   "histogram": programs.histogram, "nbody": nbody, "axpy": programs.axpy,
                   "spmv": programs.spmv, "mandelbrot": programs.mandelbrot,
                   "matmul": programs.matmul_ikj}


# ---------------------------------------------------------------- Numba

def numba_kernels():
    try:
        import numba
    except ImportError:
        return None
    from numba import njit, prange

    @njit(parallel=True)
    def row_sum(x, out):
        for i in prange(x.shape[0]):
            out[i] = x[i, :].sum()

    @njit(parallel=True)
    def softmax(x, out):
        for i in prange(x.shape[0]):
            e = np.exp(x[i, :] - x[i, :].max())
            out[i, :] = e / e.sum()

    @njit(parallel=True)
    def jacobi(a, b, T):
        n = a.shape[0]
        for t in range(T):
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    b[i, j] = 0.2 * (a[i, j] + a[i, j - 1] + a[i, j + 1] + a[i + 1, j] + a[i - 1, j])
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    a[i, j] = 0.2 * (b[i, j] + b[i, j - 1] + b[i, j + 1] + b[i + 1, j] + b[i - 1, j])

    @njit(parallel=True)
    def histogram(x, hist):
        nt = numba.get_num_threads()
        part = np.zeros((nt, 256), np.int64)
        chunk = (x.shape[0] + nt - 1) // nt
        for t in prange(nt):
            for i in range(t * chunk, min((t + 1) * chunk, x.shape[0])):
                part[t, x[i]] += 1
        hist[:] = part.sum(axis=0)

    @njit(parallel=True)
    def nbody(pos, mass, acc):
        n = pos.shape[0]
        for i in prange(n):
            ax = 0.0
            ay = 0.0
            az = 0.0
            for j in range(n):
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                r2 = dx * dx + dy * dy + dz * dz + 0.01
                s = mass[j] / (r2 * np.sqrt(r2))
                ax += dx * s
                ay += dy * s
                az += dz * s
            acc[i, 0] = ax
            acc[i, 1] = ay
            acc[i, 2] = az

    @njit(parallel=True)
    def axpy(a, x, y):
        for i in prange(x.shape[0]):
            y[i] = a * x[i] + y[i]

    @njit(parallel=True)
    def spmv(rows, cols, vals, x, y):
        for i in prange(y.shape[0]):
            s = 0.0
            for k in range(rows[i], rows[i + 1]):
                s += vals[k] * x[cols[k]]
            y[i] = s

    @njit(parallel=True)
    def mandelbrot(out, maxit):
        h, w = out.shape
        for i in prange(h):
            for j in range(w):
                cr = -2.0 + 3.0 * j / w
                ci = -1.5 + 3.0 * i / h
                zr = 0.0
                zi = 0.0
                k = 0
                while k < maxit and zr * zr + zi * zi <= 4.0:
                    t = zr * zr - zi * zi + cr
                    zi = 2.0 * zr * zi + ci
                    zr = t
                    k += 1
                out[i, j] = k

    @njit(parallel=True)
    def matmul(a, b, c):
        n = a.shape[0]
        for i in prange(n):
            for j in range(n):
                c[i, j] = 0.0
            for k in range(n):
                aik = a[i, k]
                for j in range(n):
                    c[i, j] += aik * b[k, j]

    return locals()


# ---------------------------------------------------------------- C

def build_c(tmp):
    lib = os.path.join(tmp, "cpu_ref.so")
    cc = os.environ.get("CC") or "cc"
    subprocess.run([cc, *CFLAGS, os.path.join(HERE, "cpu_ref.c"), "-o", lib, "-lm"], check=True)
    return ctypes.CDLL(lib)


def ptr(a):
    return ctypes.c_void_p(a.ctypes.data)


I64 = ctypes.c_int64


# ---------------------------------------------------------------- kernels

def mandel_numpy(h, w, maxit):
    j = np.arange(w, dtype=np.float64)
    i = np.arange(h, dtype=np.float64)
    c = (-2.0 + 3.0 * j / w)[None, :] + 1j * (-1.5 + 3.0 * i / h)[:, None]
    cr, ci = c.real.copy(), c.imag.copy()
    zr = np.zeros_like(cr)
    zi = np.zeros_like(cr)
    out = np.zeros((h, w), np.int32)
    active = np.ones((h, w), bool)
    for _ in range(maxit):
        active &= zr * zr + zi * zi <= 4.0
        if not active.any():
            break
        t = zr * zr - zi * zi + cr
        zi = np.where(active, 2.0 * zr * zi + ci, zi)
        zr = np.where(active, t, zr)
        out += active
    return out


def jacobi_numpy(a, b, steps):
    for _ in range(steps):
        b[1:-1, 1:-1] = 0.2 * (a[1:-1, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] + a[2:, 1:-1] + a[:-2, 1:-1])
        a[1:-1, 1:-1] = 0.2 * (b[1:-1, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:] + b[2:, 1:-1] + b[:-2, 1:-1])


def nbody_numpy(pos, mass, acc):
    d = pos[None, :, :] - pos[:, None, :]
    r2 = (d * d).sum(axis=2) + 0.01
    s = mass[None, :] / (r2 * np.sqrt(r2))
    acc[:] = (d * s[:, :, None]).sum(axis=1)


class Kernel:
    """One benchmark: inputs, NumPy's result, and a runner per implementation.
    A runner is a function of no arguments; `result()` gives what to check."""

    def __init__(self, name, label, tol):
        self.name, self.label, self.tol = name, label, tol
        self.run = {}      # impl -> callable
        self.result = {}   # impl -> callable returning the output
        self.skipped = {}  # impl -> why
        self.expected = None


def aligned(a):
    """A copy of `a` starting on a page boundary.  Every array of a kernel
    starts on one, so that no implementation gains or loses by where its
    output happens to lie relative to its inputs (matmul's c and b rows at
    the same offset in a 4 KiB page slow both ParPy and C by 20%)."""
    a = np.asarray(a)
    raw = np.empty(a.nbytes + 4096, np.uint8)
    off = -raw.ctypes.data % 4096
    out = raw[off:off + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def zeros(shape, dtype=np.float64):
    return aligned(np.zeros(shape, dtype))


def make_kernels(quick, pp, pk, nb, c):
    s = 4 if quick else 1
    rng = np.random.default_rng(0)
    ks = []

    def add(k, impl, run, result):
        k.run[impl] = run
        k.result[impl] = result

    def parpy_call(k, fn, args, par):
        opts = pp.par(par)
        try:
            fn(*args, opts=opts)
        except pp.ParPyError as e:
            k.skipped["ParPy"] = str(e).splitlines()[0]
            return None
        return lambda: fn(*args, opts=opts)

    # row sum / softmax
    n, m = 8192 // s, 1024
    x = aligned(rng.random((n, m), dtype=np.float32))
    for name, label in (("row_sum", f"row sum {n}x{m} f32"),
                        ("softmax", f"row softmax {n}x{m} f32")):
        k = Kernel(name, label, 1e-5)
        outs = {i: zeros(n if name == "row_sum" else (n, m), np.float32) for i in IMPLS}
        if name == "row_sum":
            k.expected = x.sum(axis=1)
            f = parpy_call(k, pk["row_sum"], [x, outs["ParPy"], n], {'N': pp.threads(n)})
            add(k, "NumPy", lambda o=outs["NumPy"]: np.sum(x, axis=1, out=o), lambda o=outs["NumPy"]: o)
            add(k, "C", lambda o=outs["C"]: c.row_sum(ptr(x), ptr(o), I64(n), I64(m)), lambda o=outs["C"]: o)
        else:
            e = np.exp(x - x.max(axis=1, keepdims=True))
            k.expected = e / e.sum(axis=1, keepdims=True)

            def np_softmax(o=outs["NumPy"]):
                np.subtract(x, x.max(axis=1, keepdims=True), out=o)
                np.exp(o, out=o)
                o /= o.sum(axis=1, keepdims=True)
            f = parpy_call(k, pk["softmax"], [x, outs["ParPy"], n], {'N': pp.threads(n)})
            add(k, "NumPy", np_softmax, lambda o=outs["NumPy"]: o)
            add(k, "C", lambda o=outs["C"]: c.softmax(ptr(x), ptr(o), I64(n), I64(m)), lambda o=outs["C"]: o)
        if f:
            add(k, "ParPy", f, lambda o=outs["ParPy"]: o)
        if nb:
            fn = nb[name]
            add(k, "Numba", lambda o=outs["Numba"], fn=fn: fn(x, o), lambda o=outs["Numba"]: o)
        ks.append(k)

    # Jacobi 2-D: 10 sweeps (5 rounds of a -> b -> a); each run restarts from a0
    nj, steps = 2048 // s, 5
    a0 = aligned(rng.random((nj, nj)))
    k = Kernel("jacobi", f"Jacobi 2-D {nj}^2 f64, {2 * steps} sweeps", 1e-9)
    ea, eb = aligned(a0), aligned(a0)
    jacobi_numpy(ea, eb, steps)
    k.expected = ea
    bufs = {i: (aligned(a0), aligned(a0)) for i in IMPLS}

    def reset(i):
        a, b = bufs[i]
        a[:] = a0
        b[:] = a0
        return a, b
    f = parpy_call(k, pk["jacobi"], [*bufs["ParPy"], nj, steps], {'i': pp.threads(nj), 'j': pp.threads(nj)})
    if f:
        add(k, "ParPy", lambda f=f: (reset("ParPy"), f()), lambda: bufs["ParPy"][0])
    add(k, "C", lambda: c.jacobi(*map(ptr, reset("C")), I64(nj), I64(steps)), lambda: bufs["C"][0])
    add(k, "NumPy", lambda: jacobi_numpy(*reset("NumPy"), steps), lambda: bufs["NumPy"][0])
    if nb:
        add(k, "Numba", lambda: nb["jacobi"](*reset("Numba"), steps), lambda: bufs["Numba"][0])
    ks.append(k)

    # histogram
    nh = (1 << 26) // s
    hx = aligned(rng.integers(0, 256, size=nh, dtype=np.uint8))
    k = Kernel("histogram", f"histogram 256 bins, 2^{int(np.log2(nh))} u8", 0)
    k.expected = np.bincount(hx, minlength=256).astype(np.int64)
    hists = {i: zeros(256, np.int64) for i in IMPLS}
    hp = hists["ParPy"]
    f = parpy_call(k, pk["histogram"], [hx, hp, nh], {'N': pp.threads(1024).reduce()})
    if f:
        add(k, "ParPy", lambda f=f: (hp.fill(0), f()), lambda: hp)
    else:
        k.skipped["ParPy"] = ("this ParPy has no .reduce() on a scatter update (issue 13): "
                              + k.skipped.get("ParPy", ""))
    add(k, "C", lambda h=hists["C"]: (h.fill(0), c.histogram(ptr(hx), ptr(h), I64(nh))),
        lambda: hists["C"])
    add(k, "NumPy", lambda h=hists["NumPy"]: h.__setitem__(slice(None), np.bincount(hx, minlength=256)),
        lambda: hists["NumPy"])
    if nb:
        add(k, "Numba", lambda h=hists["Numba"]: nb["histogram"](hx, h), lambda: hists["Numba"])
    ks.append(k)

    # N-body
    nn = 4096 // s
    pos = aligned(rng.random((nn, 3)))
    mass = aligned(rng.random(nn) + 0.5)
    k = Kernel("nbody", f"N-body {nn} f64", 1e-9)
    k.expected = zeros((nn, 3))
    nbody_numpy(pos, mass, k.expected)
    accs = {i: zeros((nn, 3)) for i in IMPLS}
    f = parpy_call(k, pk["nbody"], [pos, mass, accs["ParPy"], nn], {'N': pp.threads(nn)})
    if f:
        add(k, "ParPy", f, lambda: accs["ParPy"])
    add(k, "C", lambda: c.nbody(ptr(pos), ptr(mass), ptr(accs["C"]), I64(nn)), lambda: accs["C"])
    add(k, "NumPy", lambda: nbody_numpy(pos, mass, accs["NumPy"]), lambda: accs["NumPy"])
    if nb:
        add(k, "Numba", lambda: nb["nbody"](pos, mass, accs["Numba"]), lambda: accs["Numba"])
    ks.append(k)

    # axpy (y = 2x + y from a fresh y each run would time the copy: y
    # grows instead, and the check runs on the first call only)
    na = (1 << 24) // s
    ax_ = aligned(rng.random(na))
    ay0 = aligned(rng.random(na))
    k = Kernel("axpy", f"axpy 2^{int(np.log2(na))} f64", 1e-12)
    k.expected = 2.0 * ax_ + ay0
    ys = {i: aligned(ay0) for i in IMPLS}
    f = parpy_call(k, pk["axpy"], [2.0, ax_, ys["ParPy"], na], {'N': pp.threads(na)})
    ys["ParPy"][:] = ay0
    if f:
        add(k, "ParPy", f, lambda: ys["ParPy"])
    add(k, "C", lambda: c.axpy(ctypes.c_double(2.0), ptr(ax_), ptr(ys["C"]), I64(na)), lambda: ys["C"])
    add(k, "NumPy", lambda y=ys["NumPy"]: np.add(2.0 * ax_, y, out=y), lambda: ys["NumPy"])
    if nb:
        add(k, "Numba", lambda: nb["axpy"](2.0, ax_, ys["Numba"]), lambda: ys["Numba"])
    k.first_only = True
    ks.append(k)

    # SpMV (CSR, 32 nonzeros per row at random columns)
    ns, nnz_row = 65536 // s, 32
    rows = np.arange(0, ns * nnz_row + 1, nnz_row, dtype=np.int64)
    cols = aligned(rng.integers(0, ns, size=ns * nnz_row, dtype=np.int64))
    vals = aligned(rng.random(ns * nnz_row))
    sx = aligned(rng.random(ns))
    row_of = np.repeat(np.arange(ns), nnz_row)
    k = Kernel("spmv", f"SpMV CSR {ns} rows x {nnz_row} nnz f64", 1e-12)
    k.expected = np.bincount(row_of, weights=vals * sx[cols], minlength=ns)
    sy = {i: zeros(ns) for i in IMPLS}
    f = parpy_call(k, pk["spmv"], [rows, cols, vals, sx, sy["ParPy"], ns], {'N': pp.threads(ns)})
    if f:
        add(k, "ParPy", f, lambda: sy["ParPy"])
    add(k, "C", lambda: c.spmv(ptr(rows), ptr(cols), ptr(vals), ptr(sx), ptr(sy["C"]), I64(ns)), lambda: sy["C"])
    add(k, "NumPy", lambda y=sy["NumPy"]: y.__setitem__(slice(None), np.bincount(row_of, weights=vals * sx[cols], minlength=ns)),
        lambda: sy["NumPy"])
    if nb:
        add(k, "Numba", lambda: nb["spmv"](rows, cols, vals, sx, sy["Numba"]), lambda: sy["Numba"])
    ks.append(k)

    # Mandelbrot
    mh = mw = 1024 // s
    maxit = 100
    k = Kernel("mandelbrot", f"Mandelbrot {mh}^2, {maxit} iterations", 0)
    k.expected = mandel_numpy(mh, mw, maxit)
    k.tol_fraction = 1e-3  # escape counts at the set's edge may differ by rounding
    mo = {i: zeros((mh, mw), np.int32) for i in IMPLS}
    f = parpy_call(k, pk["mandelbrot"], [mo["ParPy"], mh, mw, maxit], {'i': pp.threads(mh), 'j': pp.threads(mw)})
    if f:
        add(k, "ParPy", f, lambda: mo["ParPy"])
    add(k, "C", lambda: c.mandelbrot(ptr(mo["C"]), I64(mh), I64(mw), I64(maxit)), lambda: mo["C"])
    add(k, "NumPy", lambda: mo["NumPy"].__setitem__(slice(None), mandel_numpy(mh, mw, maxit)), lambda: mo["NumPy"])
    if nb:
        add(k, "Numba", lambda: nb["mandelbrot"](mo["Numba"], maxit), lambda: mo["Numba"])
    ks.append(k)

    # naive matmul, i-k-j
    nm = 512 // s
    A = aligned(rng.random((nm, nm), dtype=np.float32))
    B = aligned(rng.random((nm, nm), dtype=np.float32))
    k = Kernel("matmul", f"matmul i-k-j {nm}^2 f32", 1e-4)
    k.expected = A @ B
    cs = {i: zeros((nm, nm), np.float32) for i in IMPLS}
    f = parpy_call(k, pk["matmul"], [A, B, cs["ParPy"], nm, nm, nm], {'N': pp.threads(nm)})
    if f:
        add(k, "ParPy", f, lambda: cs["ParPy"])
    add(k, "C", lambda: c.matmul(ptr(A), ptr(B), ptr(cs["C"]), I64(nm)), lambda: cs["C"])
    add(k, "NumPy", lambda: np.matmul(A, B, out=cs["NumPy"]), lambda: cs["NumPy"])
    if nb:
        add(k, "Numba", lambda: nb["matmul"](A, B, cs["Numba"]), lambda: cs["Numba"])
    ks.append(k)
    return ks


def check(k, impl):
    got = np.asarray(k.result[impl]())
    exp = k.expected
    if getattr(k, "tol_fraction", None):
        bad = np.count_nonzero(got != exp)
        return bad <= k.tol_fraction * exp.size, f"{bad} of {exp.size} differ"
    if k.tol == 0:
        return bool(np.array_equal(got, exp)), "not equal"
    ok = np.allclose(got, exp, rtol=k.tol, atol=k.tol)
    return ok, f"max abs diff {np.max(np.abs(got.astype(np.float64) - exp)):.3g}"


def call_overhead(pp, pk, reps):
    """Median microseconds of a cache-hit call on 1-element arrays."""
    x = np.ones(1)
    y = np.ones(1)
    fn = pk["axpy"]
    opts = pp.par({'N': pp.threads(1)})
    for _ in range(1000):
        fn(2.0, x, y, 1, opts=opts)
    ts = []
    clock = time.perf_counter_ns
    for _ in range(reps):
        t0 = clock()
        for _ in range(1000):
            fn(2.0, x, y, 1, opts=opts)
        ts.append((clock() - t0) / 1000 / 1e3)
    return statistics.median(ts)


def child(args):
    """One thread count: run everything, print JSON on stdout."""
    pp, pk = parpy_kernels()
    nb = numba_kernels()
    with tempfile.TemporaryDirectory() as tmp:
        c = build_c(tmp)
        ks = make_kernels(args.quick, pp, pk, nb, c)
        out = {"kernels": {}, "checks": {}}
        for k in ks:
            if args.kernels and k.name not in args.kernels:
                continue
            slow = set()
            for impl, run in k.run.items():  # compile (Numba), check, warm up
                run()
                ok, why = check(k, impl)
                if not ok:
                    k.skipped[impl] = f"WRONG RESULT: {why}"
                t0 = time.perf_counter()
                run()
                if time.perf_counter() - t0 > SLOW_S:
                    slow.add(impl)
            times = {impl: [] for impl in k.run if impl not in k.skipped}
            cpu = {impl: [] for impl in times}  # the process's CPU time
            order = list(times)
            shuffle = random.Random(20261202)
            for rep in range(args.reps):
                # Each round in a new order: the first of a round measured
                # faster, whichever it was, and an implementation that always
                # ran after Numba paid for Numba's threads still finishing
                # (SpMV on 2 threads: ParPy 1.15x C in rotation, 0.98x alone).
                for impl in shuffle.sample(order, len(order)):
                    if rep and impl in slow:
                        continue
                    c0, t0 = time.process_time(), time.perf_counter()
                    k.run[impl]()
                    times[impl].append(time.perf_counter() - t0)
                    cpu[impl].append(time.process_time() - c0)
            out["kernels"][k.name] = {
                "label": k.label,
                "ms": {i: statistics.median(t) * 1e3 for i, t in times.items()},
                "all_ms": {i: [v * 1e3 for v in t] for i, t in times.items()},
                "cpu_ms": {i: statistics.median(t) * 1e3 for i, t in cpu.items()},
                "skipped": k.skipped,
            }
            print(f"  [{os.environ.get('OMP_NUM_THREADS')} threads] {k.label}: "
                  + ", ".join(f"{i} {statistics.median(t) * 1e3:.2f} ms" for i, t in times.items()),
                  file=sys.stderr, flush=True)
        out["call_overhead_us"] = call_overhead(pp, pk, 21)
    json.dump(out, sys.stdout)


def run_threads(n, args):
    # OpenBLAS's workers spin for 2^28 cycles (about 0.1 s) after each call:
    # NumPy's matmul left one of them busy on a core, and whatever ran next
    # had one core less (naive matmul on 2 threads measured 1.4x slower than
    # on 1, for ParPy, C and Numba alike).  2^4 cycles lets them sleep at once.
    env = dict(os.environ, OMP_NUM_THREADS=str(n), NUMBA_NUM_THREADS=str(n),
               OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n),
               OPENBLAS_THREAD_TIMEOUT="4")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--reps", str(args.reps)]
    if args.kernels:
        cmd += ["--kernels", *args.kernels]
    if args.quick:
        cmd.append("--quick")
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True)
    return json.loads(r.stdout)


def table(results, threads):
    names = list(results[threads[0]]["kernels"])
    lines = []
    hdr = ("| kernel | threads | ParPy ms | C ms | Numba ms | NumPy ms | ParPy / C | ParPy / Numba "
           "| ParPy / C, fastest runs | ParPy / C, CPU time | ParPy / Numba, CPU time |")
    lines += [hdr, "|" + "---|" * 11]
    notes = []
    for name in names:
        for t in threads:
            k = results[t]["kernels"][name]
            ms = k["ms"]

            def cell(i):
                return f"{ms[i]:.2f}" if i in ms else "-"

            def ratio(a, b):
                return f"{ms[a] / ms[b]:.2f}" if a in ms and b in ms else "-"
            best = k["all_ms"]
            fastest = (f"{min(best['ParPy']) / min(best['C']):.2f}"
                       if "ParPy" in best and "C" in best else "-")
            cms = k.get("cpu_ms", {})

            def cpu_ratio(a, b):
                return f"{cms[a] / cms[b]:.2f}" if a in cms and b in cms and cms[b] else "-"
            lines.append(f"| {k['label']} | {t} | {cell('ParPy')} | {cell('C')} | {cell('Numba')} | "
                         f"{cell('NumPy')} | {ratio('ParPy', 'C')} | {ratio('ParPy', 'Numba')} "
                         f"| {fastest} | {cpu_ratio('ParPy', 'C')} | {cpu_ratio('ParPy', 'Numba')} |")
            for impl, why in k["skipped"].items():
                note = f"{k['label']}: {impl} skipped: {why}"
                if note not in notes:
                    notes.append(note)
    for t in threads:
        lines.append(f"\ncall on a cache hit, 1-element arrays, {t} thread(s): "
                     f"{results[t]['call_overhead_us']:.2f} us")
    notes.append("Times are medians of wall-clock time over the rounds. 'fastest runs' "
                 "compares the fastest run of each, which a loaded machine disturbs least; "
                 "'CPU time' compares medians of the process's CPU time, which on one "
                 "thread does not count the time other processes took the core (on two "
                 "threads it counts OpenMP's waiting threads too).")
    return "\n".join(lines + [""] + notes)


def chart(results, threads, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return False
    names = list(results[threads[0]]["kernels"])
    fig, axes = plt.subplots(1, len(threads), figsize=(6 * len(threads), 4.5), sharey=True)
    if len(threads) == 1:
        axes = [axes]
    for ax, t in zip(axes, threads):
        ks = results[t]["kernels"]
        width = 0.8 / 3
        for n, impl in enumerate(["ParPy", "Numba", "NumPy"]):
            vals = [ks[k]["ms"][impl] / ks[k]["ms"]["C"] if impl in ks[k]["ms"] and "C" in ks[k]["ms"]
                    else 0 for k in names]
            ax.bar([i + (n - 1) * width for i in range(len(names))], vals, width, label=impl)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=45, ha="right")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}")
        ax.set_ylabel("time / C + OpenMP (lower is better)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quick", action="store_true", help="inputs 4x smaller in each size")
    ap.add_argument("--kernels", nargs="+", metavar="NAME",
                    help="only these (row_sum softmax jacobi histogram nbody axpy spmv "
                         "mandelbrot matmul)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--tag", default="", help="added to the result file names")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the table and draw the chart of an earlier run's JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    if args.from_json:
        with open(args.from_json) as f:
            results = {int(t): r for t, r in json.load(f)["results"].items()}
        threads = sorted(results)
        print(table(results, threads))
        png = os.path.splitext(args.from_json)[0] + ".png"
        if chart(results, threads, png):
            print(f"chart: {png}")
        return 0
    load_before = os.getloadavg()
    results = {t: run_threads(t, args) for t in args.threads}
    text = table(results, args.threads)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.date.today().isoformat() + (f"-{args.tag}" if args.tag else "")
    meta = {"date": stamp, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "reps": args.reps, "quick": args.quick,
            "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
            # the compiler of both ParPy's code and the C reference
            "cc": os.environ.get("CC") or "cc",
            "load_average_before": load_before, "load_average": os.getloadavg()}
    with open(os.path.join(args.out, f"cpu-{stamp}.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    with open(os.path.join(args.out, f"cpu-{stamp}.md"), "w") as f:
        f.write(f"`{meta['command']}` (CC={meta['cc']}) on {meta['date']}, {meta['cpus']} CPUs "
                f"({meta['machine']}); load average (1, 5, 15 min) before "
                f"{', '.join(f'{x:.1f}' for x in load_before)}, after "
                f"{', '.join(f'{x:.1f}' for x in meta['load_average'])}\n\n")
        f.write(text + "\n")
    if chart(results, args.threads, os.path.join(args.out, f"cpu-{stamp}.png")):
        print(f"chart: {os.path.join(args.out, f'cpu-{stamp}.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
