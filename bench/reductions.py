"""Reductions on the GPU: ParPy next to torch.sum, on the same data, in one run.

    python3 bench/reductions.py [--quick]

  row sums   out[i] = sum(x[i, :]) for x of 65536 x 1024 float32
  full sum   out[0] = sum(x[:])     for x of 2**28 float32

Each ParPy variant is a thread configuration a user would write; the table
gives the median time over many runs (CUDA events, after warm-up, inputs
rotated so that the L2 cache does not hold them) and the bandwidth
achieved, counting each input byte read once.  Results are checked against
float64 sums before timing.
"""
import argparse
import os
import statistics
import sys

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("this benchmark needs PyTorch with CUDA")

import parpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from programs import row_sums, total  # noqa: E402  (tests/programs.py)


def cuda_opts(par, **fields):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cuda
    for k, v in fields.items():
        setattr(opts, k, v)
    return opts


def time_ms(fn, inputs, reps):
    """Median milliseconds of fn(x) over `reps` runs, rotating the inputs."""
    for x in inputs:
        fn(x)
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        x = inputs[r % len(inputs)]
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn(x)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def report(name, ms, nbytes):
    print(f"  {name:<44} {ms * 1e3:9.1f} us  {nbytes / ms / 1e6:8.0f} GB/s")


def bench_row_sums(reps, nsets):
    N, M = 65536, 1024
    xs = [torch.rand(N, M, device="cuda", dtype=torch.float32) for _ in range(nsets)]
    out = torch.empty(N, device="cuda", dtype=torch.float32)
    ref = xs[0].double().sum(dim=1).float()
    nbytes = N * M * 4
    print(f"row sums, {N} x {M} float32 ({nbytes / 2**20:.0f} MiB)")
    report("torch.sum(x, dim=1)", time_ms(lambda x: torch.sum(x, dim=1, out=out), xs, reps), nbytes)
    configs = [(f"M: threads({m})", {'N': parpy.threads(N), 'M': parpy.threads(m)}, {})
               for m in (1024, 512, 256, 128, 64)]
    for name, par, fields in configs:
        opts = cuda_opts(par, **fields)
        row_sums(xs[0], out, N, opts=opts)
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-3)
        ms = time_ms(lambda x: row_sums(x, out, N, opts=opts), xs, reps)
        report(f"parpy N: threads({N}), {name}", ms, nbytes)


def bench_full_sum(reps, nsets, log2n):
    n = 1 << log2n
    xs = [torch.rand(n, device="cuda", dtype=torch.float32) for _ in range(nsets)]
    out = torch.empty(1, device="cuda", dtype=torch.float32)
    ref = xs[0].double().sum().float()
    nbytes = n * 4
    print(f"full sum, 2**{log2n} float32 ({nbytes / 2**20:.0f} MiB)")
    report("torch.sum(x)", time_ms(lambda x: torch.sum(x, dim=0, out=out[0]), xs, reps), nbytes)
    configs = [
        ("threads(2**20)", {'N': parpy.threads(1 << 20)}, {}),
        ("threads(2**18)", {'N': parpy.threads(1 << 18)}, {}),
        ("threads(2**16)", {'N': parpy.threads(1 << 16)}, {}),
    ]
    for name, par, fields in configs:
        opts = cuda_opts(par, **fields)
        total(xs[0], out, opts=opts)
        torch.testing.assert_close(out[0], ref, rtol=1e-4, atol=1e-2)
        ms = time_ms(lambda x: total(x, out, opts=opts), xs, reps)
        report(f"parpy N: {name}", ms, nbytes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller full sum")
    args = ap.parse_args()
    reps = 20 if args.quick else 100
    print(f"GPU: {torch.cuda.get_device_name()}")
    bench_row_sums(reps, nsets=2)
    bench_full_sum(reps, nsets=2, log2n=26 if args.quick else 28)


if __name__ == "__main__":
    main()
