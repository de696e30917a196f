"""A 256-bin histogram of 2**28 uint8 values on the GPU: ParPy's atomic
updates next to torch.bincount and a CuPy RawKernel, on the same data.

    python3 bench/histogram.py [--quick]

  parpy, .reduce() loop   hist[data[i]] += 1 in one .reduce() loop: each
                          block counts in shared memory (32-bit counters)
                          and adds its counts to hist at the end, one
                          atomicAdd per bin (src/gpu/privatise.c); the
                          script checks that the generated code does
  parpy, row histograms   the data as R rows; row r counts into part[r, :]
                          (atomics spread over R * 256 counters), then
                          hist[:] = sum(part[:, :], axis=0)
  torch.bincount          PyTorch's kernel (shared-memory privatisation)
  cupy RawKernel          the textbook kernel: a shared-memory histogram per
                          block, merged with one atomicAdd per bin and block

Each row gives the median over many runs (CUDA events, after warm-up) and the
input bandwidth.  Every result is checked against numpy.bincount first.  A
library that is missing (torch, cupy) is skipped; ParPy's rows then use
CuPy arrays or, failing that, are skipped too (this needs GPU arrays).
"""
import argparse
import os
import statistics
import sys

import numpy as np

# PARPY_CUDA_SHARED_HISTOGRAMS=0 measures global atomics (docs/gpu.md).
SHARED = os.environ.get("PARPY_CUDA_SHARED_HISTOGRAMS") != "0"

import parpy  # noqa: E402
from parpy.operators import sum as psum

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import cupy
except ImportError:  # pragma: no cover
    cupy = None


@parpy.jit
def hist_global(data, hist, N):
    parpy.label('N')
    for i in range(N):
        hist[data[i]] += 1


@parpy.jit
def hist_rows(data, part, hist, R, M):
    parpy.label('R')
    for r in range(R):
        parpy.label('M')
        for j in range(M):
            part[r, data[r, j]] += 1
    parpy.label('B')
    hist[:] = psum(part[:, :], axis=0)


CUPY_KERNEL = r"""
extern "C" __global__ void hist256(const unsigned char *data, long long n,
                                   unsigned long long *hist) {
  __shared__ unsigned int local[256];
  for (int b = threadIdx.x; b < 256; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    atomicAdd(&local[data[i]], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < 256; b += blockDim.x)
    if (local[b]) atomicAdd(&hist[b], (unsigned long long)local[b]);
}
"""


def cuda_opts(par):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cuda
    return opts


class Timer:
    """CUDA-event timing through whichever library is present."""

    def __init__(self):
        self.lib = torch if torch is not None else cupy

    def sync(self):
        if torch is not None:
            torch.cuda.synchronize()
        else:
            cupy.cuda.Device().synchronize()

    def ms(self, fn, reps):
        fn()
        fn()
        self.sync()
        times = []
        for _ in range(reps):
            if torch is not None:
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                fn()
                e.record()
                e.synchronize()
                times.append(s.elapsed_time(e))
            else:
                s, e = cupy.cuda.Event(), cupy.cuda.Event()
                s.record()
                fn()
                e.record()
                e.synchronize()
                times.append(cupy.cuda.get_elapsed_time(s, e))
        return statistics.median(times)


def report(name, ms, nbytes):
    print(f"  {name:<46} {ms * 1e3:10.1f} us  {nbytes / ms / 1e6:8.0f} GB/s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2**24 values and fewer runs")
    args = ap.parse_args()
    n = 2**24 if args.quick else 2**28
    reps = 10 if args.quick else 50
    if torch is None and cupy is None:
        sys.exit("this benchmark needs PyTorch or CuPy with CUDA")
    timer = Timer()
    host = np.random.default_rng(1).integers(0, 256, size=n, dtype=np.uint8)
    ref = np.bincount(host, minlength=256).astype(np.int64)
    dev = torch.from_numpy(host).cuda() if torch is not None else cupy.asarray(host)
    zeros = (lambda shape, dt: torch.zeros(shape, dtype=dt, device="cuda")) if torch is not None \
        else (lambda shape, dt: cupy.zeros(shape, dtype=dt))
    i64 = torch.int64 if torch is not None else np.int64
    i32 = torch.int32 if torch is not None else np.int32
    print(f"256-bin histogram of {n} uint8 ({n / 2**20:.0f} MiB), median of {reps} runs")

    def check(name, got):
        got = got.cpu().numpy() if torch is not None and hasattr(got, "cpu") else cupy.asnumpy(got)
        if not np.array_equal(got.astype(np.int64), ref):
            sys.exit(f"{name}: wrong histogram")

    hist = zeros(256, i64)
    for threads, tpb in ((2**16, 1024), (2**18, 1024), (2**20, 1024), (2**18, 256)):
        opts = cuda_opts({'N': parpy.threads(threads).tpb(tpb).reduce()})
        code = parpy.print_compiled(hist_global, [dev, hist, n], opts)
        if ("__shared__" in code) != SHARED:
            sys.exit("parpy global: shared memory is not used as PARPY_CUDA_SHARED_HISTOGRAMS says")

        def run(opts=opts):
            hist.zero_() if torch is not None else hist.fill(0)
            hist_global(dev, hist, n, opts=opts)
        run()
        check("parpy global", hist)
        how = "" if SHARED else ", global atomics"
        report(f"parpy, .reduce(){how}, threads({threads}).tpb({tpb})", timer.ms(run, reps), n)

    for R in (1024, 8192):
        M = n // R
        rows = dev.view(R, M) if torch is not None else dev.reshape(R, M)
        part = zeros((R, 256), i32)
        hist32 = zeros(256, i32)
        opts = cuda_opts({'R': parpy.threads(R), 'M': parpy.threads(256).reduce(),
                          'B': parpy.threads(256)})

        def run(rows=rows, part=part, hist32=hist32, opts=opts, R=R, M=M):
            part.zero_() if torch is not None else part.fill(0)
            hist_rows(rows, part, hist32, R, M, opts=opts)
        run()
        check("parpy rows", hist32)
        report(f"parpy, row histograms, R={R}", timer.ms(run, reps), n)

    if torch is not None:
        def tb():
            return torch.bincount(dev, minlength=256)
        check("torch.bincount", tb())
        report("torch.bincount(x, minlength=256)", timer.ms(tb, reps), n)
    else:
        print("  torch.bincount: skipped (no PyTorch)")

    if cupy is not None:
        kern = cupy.RawKernel(CUPY_KERNEL, "hist256")
        cdev = cupy.asarray(dev) if torch is None else cupy.from_dlpack(dev)
        chist = cupy.zeros(256, dtype=cupy.uint64)

        def ck():
            chist.fill(0)
            kern((1024,), (256,), (cdev, cupy.int64(n), chist))
        ck()
        check("cupy", chist)
        report("cupy RawKernel (shared-memory histogram)", timer.ms(ck, reps), n)
    else:
        print("  cupy RawKernel: skipped (no CuPy)")


if __name__ == "__main__":
    main()
