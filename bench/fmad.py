"""What bit-for-bit NumPy arithmetic costs on the GPU: --fmad=false against true.

    python3 bench/fmad.py [--quick]

The Cuda backend builds with `nvcc --fmad=false` (docs/gpu.md): a*b+c is a
multiply rounded, then an add rounded, as NumPy computes it.  nvcc's default
(--fmad=true) fuses them into one FMA instruction, rounded once: faster and
usually more accurate, but different from NumPy in the last bit for about a
quarter of the elements.  `extra_flags=["--fmad=true"]` opts back in.  This
script times three kernels both ways on GPU buffers (median of host-timed
batches, synchronised), and reports how many elements differ from NumPy:

  axpy      o[i] = a[i] * x[i] + y[i]        2**26 float32  (memory bound)
  horner    a degree-512 polynomial per element  2**22 float32 (compute bound)
  matmul    c[i, j] = sum_k a[i, k] * b[k, j], k sequential, 1024^2 float32

Exits 0 with a message where there is no usable Cuda backend.
"""
import argparse
import statistics
import sys
import time

import numpy as np

import parpy
from parpy import buffer

T = parpy.threads
DEG = 512


@parpy.jit
def axpy(a, x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i] = a[i] * x[i] + y[i]


@parpy.jit
def horner(c, x, o, N, K):
    parpy.label('N')
    for i in range(N):
        acc = c[0]
        for k in range(1, K + 1):
            acc = acc * x[i] + c[k]
        o[i] = acc


@parpy.jit
def matmul(a, b, c, N, M, K):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            acc = 0.0
            for k in range(K):
                acc = acc + a[i, k] * b[k, j]
            c[i, j] = acc


def opts(par, fmad):
    o = parpy.par(par)
    o.backend = parpy.CompileBackend.Cuda
    o.extra_flags = ["--fmad=true"] if fmad else []
    return o


def median_ms(call, batch, reps):
    call()
    buffer.sync(parpy.CompileBackend.Cuda)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        buffer.sync(parpy.CompileBackend.Cuda)
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return statistics.median(times)


def cases(quick):
    rng = np.random.default_rng(0)
    f32 = np.float32
    n = 2**22 if quick else 2**26
    a, x, y = (rng.uniform(-4, 4, n).astype(f32) for _ in range(3))
    yield ("axpy", axpy, [a, x, y, np.empty(n, f32), n], 3, {"N": T(n)}, a * x + y)
    n = 2**18 if quick else 2**22
    c = rng.uniform(-1, 1, DEG + 1).astype(f32) / 4
    x = rng.uniform(-1, 1, n).astype(f32)
    want = np.full(n, c[0], f32)
    for k in range(1, DEG + 1):
        want = want * x + c[k]
    yield ("horner", horner, [c, x, np.empty(n, f32), n, DEG], 2, {"N": T(n)}, want)
    n = 256 if quick else 1024
    a, b = (rng.uniform(-1, 1, (n, n)).astype(f32) for _ in range(2))
    want = np.zeros((n, n), f32)
    for k in range(n):  # NumPy's own order of operations, rounded per step
        want = want + a[:, k:k + 1] * b[k:k + 1, :]
    yield ("matmul", matmul, [a, b, np.empty((n, n), f32), n, n, n], 2,
           {"N": T(n), "M": T(n)}, want)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    args = ap.parse_args()
    if not parpy.backend.is_enabled(parpy.CompileBackend.Cuda):
        print("bench/fmad.py: skipped, the Cuda backend is not usable here "
              f"({parpy.backend._why_disabled(parpy.CompileBackend.Cuda)})")
        return 0
    reps = 3 if args.quick else 15
    print(f"{'kernel':8} {'fmad=false ms':>14} {'fmad=true ms':>13} {'ratio':>6} "
          f"{'differ (false)':>15} {'differ (true)':>14}")
    for name, fn, host, out, par, want in cases(args.quick):
        row = [name]
        for fmad in (False, True):
            bufs = [buffer.from_array(v, parpy.CompileBackend.Cuda)
                    if isinstance(v, np.ndarray) else v for v in host]
            o = opts(par, fmad)
            ms = median_ms(lambda: fn(*bufs, opts=o), 10, reps)
            got = bufs[out].numpy()
            differ = float(np.mean(got.view(np.uint32) != want.view(np.uint32)))
            row.append((ms, differ))
        (f_ms, f_diff), (t_ms, t_diff) = row[1], row[2]
        print(f"{name:8} {f_ms:14.3f} {t_ms:13.3f} {f_ms / t_ms:6.2f} "
              f"{f_diff:15.2%} {t_diff:14.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
