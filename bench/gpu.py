"""The benchmark of record for the Cuda backend (issue 14): ParPy next to
torch, CuPy, Triton and Numba-CUDA (each where installed), on the same data,
in one run.

    python3 bench/gpu.py --out DIR [--quick] [--only SUBSTRING ...] [--tag TAG]

Workloads (full run; --quick keeps a subset with fewer repetitions):
  axpy        y = a*x + y, 2^28 float32, ParPy at threads(N), threads(1024), threads(2^20)
  row sum     out[i] = sum(x[i, :]), 65536 x 1024 float32, M: threads(1024/256/128), N only
  softmax     row softmax, 65536 x 1024 float32, same mappings
  spmv        CSR, 2^20 rows x 16 nonzeros, float32: row per thread, warp per row
  jacobi      2-D 5-point, 4096^2 float64, 100 steps (a host loop of kernels)
  matmul      naive, 2048^2 float32 (i, j parallel, k sequential); cuBLAS for scale
  call        a cache hit on torch tensors and on CuPy arrays (host time per call)
  first call  axpy with an empty cache, in a fresh process (ParPy, CuPy, Triton, Numba)

Kernels are timed with CUDA events around whole calls (median of --reps after
warm-up; what a user sees, launch and ParPy's dispatch included).  Every
result is checked before timing: ParPy's elementwise results must equal
NumPy's semantics exactly (torch's separate multiply and add), reductions
within float tolerance of a float64 reference.  Bandwidth counts each byte
the operation must move once (axpy: read x, y, write y; row sum: read x;
softmax: read x, write y).

ParPy's thread coarsening (docs/gpu.md) is opt-in while it is unverified on
a GPU: run once as is and once with PARPY_CUDA_COARSEN=1 (and another
--tag) to compare; the JSON records the setting.

Writes gpu-<tag>.json (every row, with the machine) and gpu-<tag>.png (bars
per workload, ParPy highlighted; skipped with a message without matplotlib)
into --out, and prints the table.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import torch  # before parpy, as users do
except ImportError:  # pragma: no cover
    sys.exit("bench/gpu.py needs PyTorch with CUDA")

import numpy as np

import parpy

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from programs import axpy, row_sums, softmax  # noqa: E402  (tests/programs.py)

try:
    import cupy
except ImportError:
    cupy = None
try:
    import triton
    import triton.language as tl
except ImportError:
    triton = None
try:
    from numba import cuda as numba_cuda
    if not numba_cuda.is_available():
        numba_cuda = None
except Exception:  # ImportError, or a Numba without a usable CUDA
    numba_cuda = None

T = parpy.threads

# ------------------------------------------------------------------ ParPy
# (axpy, row_sums and softmax are tests/programs.py's)


@parpy.jit
def spmv(rows, cols, vals, x, y, N):
    parpy.label('N')
    for r in range(N):
        s = 0.0
        parpy.label('K')
        for k in range(rows[r], rows[r + 1]):
            s += vals[k] * x[cols[k]]
        y[r] = s


@parpy.jit
def jacobi(a, b, N, S):
    for t in range(S):
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                b[i, j] = 0.25 * (a[i, j - 1] + a[i, j + 1] + a[i + 1, j] + a[i - 1, j])
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                a[i, j] = 0.25 * (b[i, j - 1] + b[i, j + 1] + b[i + 1, j] + b[i - 1, j])


@parpy.jit
def matmul(a, b, c, N):
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        for j in range(N):
            s = 0.0
            for k in range(N):
                s += a[i, k] * b[k, j]
            c[i, j] = s


@parpy.jit
def touch(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]


def cuda_opts(par):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cuda
    return opts


# ------------------------------------------------------------------ Triton

if triton is not None:
    @triton.jit
    def tr_axpy(x, y, a, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        xv = tl.load(x + offs, mask=mask)
        yv = tl.load(y + offs, mask=mask)
        tl.store(y + offs, a * xv + yv, mask=mask)

    @triton.jit
    def tr_row_sum(x, out, M, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        offs = tl.arange(0, BLOCK)
        v = tl.load(x + row * M + offs, mask=offs < M, other=0.0)
        tl.store(out + row, tl.sum(v, axis=0))

    @triton.jit
    def tr_softmax(x, y, M, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        offs = tl.arange(0, BLOCK)
        v = tl.load(x + row * M + offs, mask=offs < M, other=-float("inf"))
        v = v - tl.max(v, axis=0)
        e = tl.exp(v)
        tl.store(y + row * M + offs, e / tl.sum(e, axis=0), mask=offs < M)

# ------------------------------------------------------------------ timing


def events_ms(fn, reps, warmup=3):
    """Median milliseconds of fn() between CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


class Run:
    """The rows of the benchmark: one per (workload, implementation)."""

    def __init__(self, reps):
        self.reps = reps
        self.rows = []

    def add(self, workload, impl, ours, value, unit, ms=None, ok=True, note=""):
        self.rows.append({"workload": workload, "impl": impl, "parpy": ours, "value": value,
                          "unit": unit, "ms": ms, "ok": ok, "note": note})
        shown = f"{value:10.1f} {unit:<8}" if value is not None else f"{'-':>10} {unit:<8}"
        extra = "" if ok else "  WRONG RESULT"
        print(f"  {workload:<26} {impl:<34} {shown}{extra}{'  ' + note if note else ''}",
              flush=True)

    def failed(self, workload, impl, ours, unit, why):
        self.add(workload, impl, ours, None, unit, ok=False, note=f"failed: {why}")

    def timed(self, workload, impl, ours, fn, check, nbytes=None, flops=None, unit=None,
              reps=None):
        """Check `fn` once (check() -> (ok, note)), then time it."""
        unit = unit or ("GB/s" if nbytes else "TFLOP/s" if flops else "ms")
        try:
            fn()
            torch.cuda.synchronize()
            ok, note = check()
            ms = events_ms(fn, reps or self.reps)
        except Exception as e:  # one implementation failing must not end the run
            self.failed(workload, impl, ours, unit, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            return
        value = (nbytes / ms / 1e6 if nbytes else flops / ms / 1e9 if flops
                 else ms * 1e3 if unit == "us" else ms)
        self.add(workload, impl, ours, value, unit, ms=ms, ok=ok, note=note)


def close(got, ref, rtol, atol):
    got = torch.as_tensor(got, device="cuda").double()
    ref = ref.double()
    err = (got - ref).abs().max().item()
    ok = torch.allclose(got, ref, rtol=rtol, atol=atol)
    return ok, "" if ok else f"max error {err:.3g}"


def equal(got, ref):
    got = torch.as_tensor(got, device="cuda")
    ok = torch.equal(got, ref)
    return ok, "" if ok else f"{(got != ref).sum().item()} elements differ"


# ------------------------------------------------------------------ workloads


def bench_axpy(run, quick):
    n = 1 << (26 if quick else 28)
    a = 2.5
    w = f"axpy 2^{n.bit_length() - 1} f32"
    x = torch.rand(n, device="cuda")
    y0 = torch.rand(n, device="cuda")
    y = y0.clone()
    ref = a * x + y0  # one multiply and one add, each rounded: NumPy's result
    nbytes = 3 * 4 * n

    threads = [("threads(N)", n), ("threads(1024)", 1024), ("threads(2^20)", 1 << 20)]
    if quick:
        threads = threads[:2]
    for name, t in threads:
        opts = cuda_opts({'N': T(t)})
        # checked after one call on fresh data, timed on the updated y after
        y.copy_(y0)
        run.timed(w, f"parpy {name}", True, lambda o=opts: axpy(a, x, y, n, opts=o),
                  lambda: equal(y, ref), nbytes=nbytes)
    y.copy_(y0)
    run.timed(w, "torch y.add_(x, alpha=a)", False, lambda: y.add_(x, alpha=a),
              lambda: close(y, ref, 1e-6, 1e-6), nbytes=nbytes)
    if cupy is not None:
        k = cupy.RawKernel(r"""
extern "C" __global__ void axpy(float a, const float *__restrict__ x, float *__restrict__ y,
                                long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}""", "axpy")
        cx, cy = cupy.asarray(x), cupy.asarray(y)
        y.copy_(y0)
        run.timed(w, "CuPy RawKernel", False,
                  lambda: k(((n + 255) // 256,), (256,), (np.float32(a), cx, cy, np.int64(n))),
                  lambda: close(y, ref, 1e-6, 1e-6), nbytes=nbytes)
    if triton is not None:
        y.copy_(y0)
        run.timed(w, "Triton", False, lambda: tr_axpy[((n + 4095) // 4096,)](x, y, a, n, BLOCK=4096),
                  lambda: close(y, ref, 1e-6, 1e-6), nbytes=nbytes)
    if numba_cuda is not None:
        @numba_cuda.jit
        def nb_axpy(a, x, y):
            i = numba_cuda.grid(1)
            if i < x.shape[0]:
                y[i] = a * x[i] + y[i]
        nx, ny = numba_cuda.as_cuda_array(x), numba_cuda.as_cuda_array(y)
        y.copy_(y0)
        run.timed(w, "Numba-CUDA", False, lambda: nb_axpy[(n + 255) // 256, 256](np.float32(a), nx, ny),
                  lambda: close(y, ref, 1e-6, 1e-6), nbytes=nbytes)
    del x, y, y0, ref


MAPPINGS = [("M: threads(1024)", {'M': T(1024)}), ("M: threads(256)", {'M': T(256)}),
            ("M: threads(128)", {'M': T(128)}), ("N only", {})]


def bench_rows(run, quick):
    N, M = (16384 if quick else 65536), 1024
    x = torch.randn(N, M, device="cuda")
    out = torch.empty(N, device="cuda")
    y = torch.empty(N, M, device="cuda")
    ref_sum = x.double().sum(dim=1)
    ref_soft = torch.softmax(x.double(), dim=1)
    maps = MAPPINGS[::3] if quick else MAPPINGS
    w = f"row sum {N}x{M} f32"
    for name, par in maps:
        opts = cuda_opts({'N': T(N), **par})
        run.timed(w, f"parpy {name}", True, lambda o=opts: row_sums(x, out, N, opts=o),
                  lambda: close(out, ref_sum, 1e-5, 1e-3), nbytes=N * M * 4)
    run.timed(w, "torch.sum", False, lambda: torch.sum(x, dim=1, out=out),
              lambda: close(out, ref_sum, 1e-5, 1e-3), nbytes=N * M * 4)
    if cupy is not None:
        cx, co = cupy.asarray(x), cupy.asarray(out)
        run.timed(w, "CuPy sum(axis=1)", False, lambda: cupy.sum(cx, axis=1, out=co),
                  lambda: close(out, ref_sum, 1e-5, 1e-3), nbytes=N * M * 4)
    if triton is not None:
        run.timed(w, "Triton", False, lambda: tr_row_sum[(N,)](x, out, M, BLOCK=M),
                  lambda: close(out, ref_sum, 1e-5, 1e-3), nbytes=N * M * 4)
    w = f"softmax {N}x{M} f32"
    for name, par in maps:
        opts = cuda_opts({'N': T(N), **par})
        run.timed(w, f"parpy {name}", True, lambda o=opts: softmax(x, y, N, opts=o),
                  lambda: close(y, ref_soft, 1e-5, 1e-7), nbytes=2 * N * M * 4)
    holder = {}
    run.timed(w, "torch.softmax", False,
              lambda: holder.__setitem__("y", torch.softmax(x, dim=1)),
              lambda: close(holder["y"], ref_soft, 1e-5, 1e-7), nbytes=2 * N * M * 4)
    if triton is not None:
        run.timed(w, "Triton", False, lambda: tr_softmax[(N,)](x, y, M, BLOCK=M, num_warps=4),
                  lambda: close(y, ref_soft, 1e-5, 1e-7), nbytes=2 * N * M * 4)


def bench_spmv(run, quick):
    n, per = 1 << (18 if quick else 20), 16
    g = torch.Generator(device="cuda").manual_seed(1)
    rows = torch.arange(0, n * per + 1, per, device="cuda", dtype=torch.int64)
    cols = torch.randint(0, n, (n * per,), device="cuda", dtype=torch.int64, generator=g)
    vals = torch.rand(n * per, device="cuda", generator=g)
    x = torch.rand(n, device="cuda", generator=g)
    y = torch.empty(n, device="cuda")
    ref = (vals.double() * x.double()[cols]).view(n, per).sum(dim=1)
    w = f"spmv CSR 2^{n.bit_length() - 1}x{per} f32"
    for name, par in [("row per thread", {'N': T(n)}),
                      ("K: threads(32).reduce()", {'N': T(n), 'K': T(32).reduce()})]:
        opts = cuda_opts(par)
        run.timed(w, f"parpy {name}", True, lambda o=opts: spmv(rows, cols, vals, x, y, n, opts=o),
                  lambda: close(y, ref, 1e-5, 1e-5), unit="us")
    A = torch.sparse_csr_tensor(rows, cols, vals, size=(n, n))
    holder = {}
    run.timed(w, "torch sparse CSR A @ x", False, lambda: holder.__setitem__("y", A @ x),
              lambda: close(holder["y"], ref, 1e-5, 1e-5), unit="us")
    if cupy is not None:
        try:
            import cupyx.scipy.sparse as cps
            C = cps.csr_matrix((cupy.asarray(vals), cupy.asarray(cols), cupy.asarray(rows)),
                               shape=(n, n))
            cxv = cupy.asarray(x)
            run.timed(w, "CuPy csr_matrix @ x", False, lambda: holder.__setitem__("c", C @ cxv),
                      lambda: close(torch.as_tensor(holder["c"], device="cuda"), ref, 1e-5, 1e-5),
                      unit="us")
        except ImportError:
            pass


def bench_jacobi(run, quick):
    N, S = (2048, 20) if quick else (4096, 100)
    a0 = torch.rand(N, N, device="cuda", dtype=torch.float64)
    a, b = a0.clone(), a0.clone()
    w = f"jacobi 2-D {N}^2 f64 x{S}"

    def torch_jacobi(a, b):
        for _ in range(S):
            b[1:-1, 1:-1] = 0.25 * (a[1:-1, :-2] + a[1:-1, 2:] + a[2:, 1:-1] + a[:-2, 1:-1])
            a[1:-1, 1:-1] = 0.25 * (b[1:-1, :-2] + b[1:-1, 2:] + b[2:, 1:-1] + b[:-2, 1:-1])

    ra, rb = a0.clone(), a0.clone()
    torch_jacobi(ra, rb)
    opts = cuda_opts({'i': T(N - 2), 'j': T(N - 2)})

    def check():
        return close(a, ra, 1e-12, 1e-12)

    def ours():
        a.copy_(a0), b.copy_(a0)
        jacobi(a, b, N, S, opts=opts)

    run.timed(w, "parpy i, j: threads(N-2)", True, ours, check, reps=5)
    ta, tb = a0.clone(), a0.clone()
    run.timed(w, "torch slices", False, lambda: torch_jacobi(ta, tb),
              lambda: (True, ""), reps=3)


def bench_matmul(run, quick):
    N = 1024 if quick else 2048
    a = torch.rand(N, N, device="cuda")
    b = torch.rand(N, N, device="cuda")
    c = torch.empty(N, N, device="cuda")
    ref = a.double() @ b.double()
    w = f"naive matmul {N}^2 f32"
    opts = cuda_opts({'i': T(N), 'j': T(N)})
    run.timed(w, "parpy i, j parallel", True, lambda: matmul(a, b, c, N, opts=opts),
              lambda: close(c, ref, 1e-4, 1e-3), flops=2 * N ** 3, reps=10)
    torch.backends.cuda.matmul.allow_tf32 = False
    run.timed(w, "torch.mm (cuBLAS fp32)", False, lambda: torch.mm(a, b, out=c),
              lambda: close(c, ref, 1e-4, 1e-3), flops=2 * N ** 3, reps=10)


def host_us(fns, calls, warmup=200):
    """Median host microseconds per call, the GPU synchronised between calls
    outside the timed part (as bench/call_overhead.py)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    torch.cuda.synchronize()
    times = {k: [] for k in fns}
    clock = time.perf_counter_ns
    for _ in range(calls):
        for k, fn in fns.items():
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
            torch.cuda.synchronize()
    return {k: statistics.median(v) / 1e3 for k, v in times.items()}


def bench_calls(run, quick):
    w = "call, cache hit"
    opts = cuda_opts({'N': T(1)})
    x = torch.ones(1, device="cuda")
    y = torch.zeros(1, device="cuda")
    fns = {}
    try:
        touch(x, y, 1, opts=opts)
        torch.cuda.synchronize()
        ok = y.item() == 1.0
        fns["parpy (torch tensors)"] = lambda: touch(x, y, 1, opts=opts)
    except Exception as e:
        run.failed(w, "parpy (torch tensors)", True, "us", str(e).splitlines()[0])
        return
    if cupy is not None:
        cx, cy = cupy.ones(1, dtype=cupy.float32), cupy.zeros(1, dtype=cupy.float32)
        touch(cx, cy, 1, opts=opts)
        fns["parpy (CuPy arrays)"] = lambda: touch(cx, cy, 1, opts=opts)
        k = cupy.RawKernel(r"""
extern "C" __global__ void touch(const float *x, float *y) {
  if (threadIdx.x == 0) y[0] = x[0];
}""", "touch")
        fns["CuPy RawKernel"] = lambda: k((1,), (32,), (cx, cy))
    fns["torch y.copy_(x)"] = lambda: y.copy_(x)
    for k_, us in host_us(fns, 2000 if quick else 10000).items():
        run.add(w, k_, k_.startswith("parpy"), us, "us", ok=ok)


FIRST = r"""
import json, sys, time
import torch
which, n = sys.argv[1], int(sys.argv[2])
x = torch.ones(n, device="cuda")
y = torch.ones(n, device="cuda")
torch.cuda.synchronize()
if which == "parpy":
    import parpy
    sys.path.insert(0, sys.argv[3])
    from programs import axpy  # tests/programs.py
    opts = parpy.par({'N': parpy.threads(n)})
    opts.backend = parpy.CompileBackend.Cuda
    t0 = time.perf_counter()
    axpy(2.0, x, y, n, opts=opts)
    torch.cuda.synchronize()
elif which == "cupy":
    import cupy
    cx, cy = cupy.asarray(x), cupy.asarray(y)
    t0 = time.perf_counter()
    k = cupy.RawKernel(r'''extern "C" __global__ void axpy(float a, const float *x, float *y, int n) {
      int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = a * x[i] + y[i]; }''', "axpy")
    k(((n + 255) // 256,), (256,), (cupy.float32(2.0), cx, cy, cupy.int32(n)))
    cupy.cuda.runtime.deviceSynchronize()
elif which == "triton":
    import triton, triton.language as tl
    @triton.jit
    def axpy(x, y, a, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = offs < n
        tl.store(y + offs, a * tl.load(x + offs, mask=m) + tl.load(y + offs, mask=m), mask=m)
    t0 = time.perf_counter()
    axpy[((n + 1023) // 1024,)](x, y, 2.0, n, BLOCK=1024)
    torch.cuda.synchronize()
elif which == "numba":
    from numba import cuda
    @cuda.jit
    def axpy(a, x, y):
        i = cuda.grid(1)
        if i < x.shape[0]:
            y[i] = a * x[i] + y[i]
    nx, ny = cuda.as_cuda_array(x), cuda.as_cuda_array(y)
    t0 = time.perf_counter()
    axpy[(n + 255) // 256, 256](2.0, nx, ny)
    cuda.synchronize()
ms = (time.perf_counter() - t0) * 1e3
assert bool((y == 3.0).all()), "wrong result"
print(json.dumps({"ms": ms}))
"""


def bench_first(run, quick):
    w = "first call, empty cache"
    tools = ["parpy"] + [t for t, m in (("cupy", cupy), ("triton", triton), ("numba", numba_cuda))
                         if m is not None]
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "first.py")  # ParPy reads a function's source: a file
        with open(script, "w") as f:
            f.write(FIRST)
        for tool in tools:
            cache = tempfile.mkdtemp(dir=d)
            env = dict(os.environ, PARPY_CACHE_DIR=cache, CUPY_CACHE_DIR=cache,
                       TRITON_CACHE_DIR=cache, NUMBA_CACHE_DIR=cache)
            name = {"parpy": "parpy axpy (nvcc or NVRTC)", "cupy": "CuPy RawKernel (NVRTC)",
                    "triton": "Triton", "numba": "Numba-CUDA"}[tool]
            r = subprocess.run([sys.executable, script, tool, str(1 << 20),
                                os.path.join(os.path.dirname(HERE), "tests")], env=env,
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                run.failed(w, name, tool == "parpy", "ms", (r.stderr.strip().splitlines() or ["?"])[-1])
                continue
            ms = json.loads(r.stdout.strip().splitlines()[-1])["ms"]
            run.add(w, name, tool == "parpy", ms, "ms")


WORKLOADS = [("axpy", bench_axpy), ("rows", bench_rows), ("spmv", bench_spmv),
             ("jacobi", bench_jacobi), ("matmul", bench_matmul), ("call", bench_calls),
             ("first", bench_first)]

# ------------------------------------------------------------------ output


def table(rows):
    lines = ["| workload | implementation | result | check |", "|---|---|---|---|"]
    for r in rows:
        v = "-" if r["value"] is None else f"{r['value']:,.1f} {r['unit']}"
        name = f"**{r['impl']}**" if r["parpy"] else r["impl"]
        lines.append(f"| {r['workload']} | {name} | {v} | {'ok' if r['ok'] else r['note'] or 'WRONG'} |")
    return "\n".join(lines)


def chart(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return False
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    cols = 3
    nrows = (len(workloads) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(6 * cols, 4 * nrows), squeeze=False)
    for ax, w in zip(axes.flat, workloads):
        rs = [r for r in rows if r["workload"] == w and r["value"] is not None]
        unit = rs[0]["unit"] if rs else ""
        colors = ["tab:red" if r["parpy"] else "tab:gray" for r in rs]
        ax.barh(range(len(rs)), [r["value"] for r in rs], color=colors)
        ax.set_yticks(range(len(rs)))
        ax.set_yticklabels([r["impl"] for r in rs], fontsize=8)
        ax.invert_yaxis()
        better = "higher" if unit in ("GB/s", "TFLOP/s") else "lower"
        ax.set_title(f"{w} ({unit}, {better} is better)", fontsize=9)
    for ax in list(axes.flat)[len(workloads):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for the JSON and the PNG")
    ap.add_argument("--quick", action="store_true", help="a subset, smaller, fewer repetitions")
    ap.add_argument("--reps", type=int, default=None, help="timed runs per case (20; quick 7)")
    ap.add_argument("--only", nargs="*", default=None,
                    help=f"workloads to run, of: {' '.join(n for n, _ in WORKLOADS)}")
    ap.add_argument("--tag", default=None, help="file name tag (default: date and time)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("PyTorch sees no CUDA device")
    os.makedirs(args.out, exist_ok=True)
    tag = args.tag or datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    run = Run(args.reps or (7 if args.quick else 20))
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    meta = {"gpu": torch.cuda.get_device_name(), "date": datetime.datetime.now().isoformat(),
            "parpy_rev": rev, "quick": args.quick, "torch": torch.__version__,
            "cupy": getattr(cupy, "__version__", None), "triton": getattr(triton, "__version__", None),
            "numba": numba_cuda is not None,
            "PARPY_CUDA_COARSEN": os.environ.get("PARPY_CUDA_COARSEN", "")}
    print(f"GPU: {meta['gpu']}; parpy {rev}; torch {torch.__version__}; CuPy {meta['cupy']}; "
          f"Triton {meta['triton']}; Numba-CUDA {'yes' if numba_cuda else 'no'}")
    t0 = time.perf_counter()
    for name, fn in WORKLOADS:
        if args.only and name not in args.only:
            continue
        if args.quick and name in ("jacobi", "matmul"):
            continue
        try:
            fn(run, args.quick)
        except Exception:  # a workload that cannot even set up: say so, go on
            traceback.print_exc()
            run.failed(name, "(setup)", True, "-", "see the traceback above")
        torch.cuda.empty_cache()
    meta["seconds"] = time.perf_counter() - t0
    print(f"\n{table(run.rows)}\n\n{meta['seconds']:.0f} s")
    base = os.path.join(args.out, f"gpu-{tag}")
    with open(base + ".json", "w") as f:
        json.dump({"meta": meta, "rows": run.rows}, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"GPU: {meta['gpu']}, parpy {rev}, {meta['date']}\n\n{table(run.rows)}\n")
    if chart(run.rows, base + ".png"):
        print(f"wrote {base}.json, .md, .png")
    else:
        print(f"wrote {base}.json, .md")
    wrong = [r for r in run.rows if not r["ok"]]
    sys.exit(1 if any(r["parpy"] for r in wrong) else 0)


if __name__ == "__main__":
    main()
