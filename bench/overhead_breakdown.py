"""Where the time of a cache-hit call with GPU tensors goes (a diagnostic
beside bench/call_overhead.py): the options' fingerprint, a call with no
array arguments, and calls with one and two torch tensors."""
import statistics
import time

import torch

import parpy


@parpy.jit
def nothing(n):
    with parpy.gpu:
        k = n + 1


@parpy.jit
def touch1(x):
    with parpy.gpu:
        x[0] = 1.0


@parpy.jit
def touch2(x, y):
    with parpy.gpu:
        y[0] = x[0]


def median_us(fn, n=20000):
    for _ in range(1000):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        torch.cuda.synchronize()  # the GPU idle before the next call, untimed
    return statistics.median(ts) * 1e6


opts = parpy.CompileOptions()
opts.backend = parpy.CompileBackend.Cuda
x = torch.ones(1000, device="cuda")
y = torch.ones(1000, device="cuda")
print(f"opts._key                 {median_us(lambda: opts._key):7.2f} us")
print(f"nothing(3)                {median_us(lambda: nothing(3, opts=opts)):7.2f} us")
print(f"touch1(x)                 {median_us(lambda: touch1(x, opts=opts)):7.2f} us")
print(f"touch2(x, y)              {median_us(lambda: touch2(x, y, opts=opts)):7.2f} us")
