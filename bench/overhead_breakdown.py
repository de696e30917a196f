"""Where the host time of a cache-hit call with GPU tensors goes (a
diagnostic beside bench/call_overhead.py).  Variants are interleaved
round-robin, each call timed with the GPU idle (synchronised between calls,
untimed), so that drift affects all alike."""
import statistics
import time

import torch

import parpy
from parpy import _core


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


opts = parpy.CompileOptions()
opts.backend = parpy.CompileBackend.Cuda
x = torch.ones(1000, device="cuda")
y = torch.ones(1000, device="cuda")
variants = {
    "opts._key": lambda: opts._key,
    "_core._classify(3)": lambda: _core._classify(3),
    "_core._classify(x)": lambda: _core._classify(x),
    "_core._classify(x, y)": lambda: _core._classify(x, y),
    "nothing(3)": lambda: nothing(3, opts=opts),
    "touch1(x)": lambda: touch1(x, opts=opts),
    "touch2(x, y)": lambda: touch2(x, y, opts=opts),
}
times = {k: [] for k in variants}
for fn in variants.values():
    for _ in range(200):
        fn()
torch.cuda.synchronize()
clock = time.perf_counter_ns
for _ in range(5000):
    for k, fn in variants.items():
        t0 = clock()
        fn()
        times[k].append(clock() - t0)
        torch.cuda.synchronize()
for k, ts in times.items():
    print(f"{k:<24} {statistics.median(ts) / 1e3:7.2f} us")
