"""Differential tests: scatter updates and several accumulators in a
.reduce() loop, done with atomic updates (issue 13 item 2)."""
import numpy as np
import pytest

import parpy
from harness import FLOATS, INTS, check, dtype_id, rng  # noqa: F401
from parpy.operators import sum as psum


@parpy.jit
def histogram(data, hist, N):
    parpy.label('N')
    for i in range(N):
        hist[data[i]] += 1


@pytest.mark.parametrize("nthreads", [1, 7, 256, 4096])
def test_histogram_of_uint8(rng, nthreads):
    data = rng.rand(50000, np.uint8, 0, 255)
    check(histogram, [data, np.zeros(256, np.int64), 50000],
          {'N': parpy.threads(nthreads).reduce()})


@pytest.mark.parametrize("dtype", INTS + FLOATS + [np.bool_], ids=dtype_id)
def test_histogram_counts_of_every_type(rng, dtype):
    """Atomic add of every element type (narrow ints and float16 included)."""
    data = rng.rand(3000, np.int32, 0, 9)
    hist = np.zeros(10, dtype)
    check(histogram, [data, hist, 3000], {'N': parpy.threads(64).reduce()})


@parpy.jit
def scatter_ops(idx, x, s, p, mx, mn, bo, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        s[k] += x[i]
        p[k] *= x[i]
        mx[k] = max(mx[k], x[i])
        mn[k] = min(mn[k], x[i])
        bo[k] |= x[i] > 0


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                   np.uint64, np.float16, np.float32, np.float64], ids=dtype_id)
def test_scatter_add_mul_max_min(rng, dtype):
    n = 2000
    idx = rng.rand(n, np.int64, 0, 15)
    if np.dtype(dtype).kind == "f":
        x = rng.rand(n, dtype, 0.5, 1.5)
        x[5] = -2.0
    else:
        x = rng.rand(n, dtype, 1, 3)
    s = rng.rand(16, dtype, 0, 5)
    p = np.ones(16, dtype)
    check(scatter_ops, [idx, x, s, p, np.zeros(16, dtype), np.full(16, 50, dtype),
                        np.zeros(16, np.bool_), n],
          {'N': parpy.threads(128).reduce()}, reduction=True, rtol=2e-2 if dtype == np.float16 else None)


@parpy.jit
def bits(idx, x, a, o, xo, N):
    parpy.label('N')
    for i in range(N):
        a[idx[i]] &= x[i]
        o[idx[i]] |= x[i]
        xo[idx[i]] ^= x[i]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32, np.int64], ids=dtype_id)
def test_scatter_bitwise(rng, dtype):
    n = 1000
    idx = rng.rand(n, np.int32, 0, 7)
    x = rng.rand(n, dtype, 0, 100)
    check(bits, [idx, x, np.full(8, 127, dtype), np.zeros(8, dtype), np.zeros(8, dtype), n],
          {'N': parpy.threads(64).reduce()})


@parpy.jit
def moments(x, acc, N):
    parpy.label('N')
    for i in range(N):
        v = x[i]
        acc[0] += v
        acc[1] += v * v
        acc[2] = max(acc[2], v)


def test_several_accumulators_in_one_pass(rng):
    """Sum and sum of squares (and a max) in one .reduce() loop."""
    x = rng.rand(10000, np.float64)
    acc = np.array([0.0, 0.0, -np.inf])
    check(moments, [x, acc, 10000], {'N': parpy.threads(256).reduce()}, reduction=True)


@parpy.jit
def row_sum_scatter(x, seg, out, N):
    parpy.label('N')
    for i in range(N):
        out[seg[i]] += psum(x[i, :])


def test_update_containing_a_slice_reduction(rng):
    x = rng.rand((300, 20))
    seg = rng.rand(300, np.int32, 0, 4)
    check(row_sum_scatter, [x, seg, np.zeros(5), 300], {'N': parpy.threads(64).reduce()},
          reduction=True)


@parpy.jit
def scatter_2d(data, hist, N, M):
    parpy.label('N')
    for i in range(N):
        for j in range(M):
            if data[i, j] > 0:
                hist[i % 4, data[i, j] % 8] += 2


def test_scatter_in_nested_code(rng):
    data = rng.rand((50, 40), np.int32, -5, 100)
    check(scatter_2d, [data, np.zeros((4, 8), np.int32), 50, 40],
          {'N': parpy.threads(32).reduce()})


@parpy.jit
def row_histograms(data, part, hist, R, M):
    parpy.label('R')
    for r in range(R):
        parpy.label('M')
        for j in range(M):
            part[r, data[r, j]] += 1
    parpy.label('B')
    hist[:] = psum(part[:, :], axis=0)


def test_atomic_loop_nested_in_a_parallel_loop(rng):
    """The two-level histogram of bench/histogram.py: rows in parallel, each
    row's updates atomic, then the rows summed."""
    data = rng.rand((16, 500), np.uint8, 0, 255)
    check(row_histograms, [data, np.zeros((16, 256), np.int32), np.zeros(256, np.int32), 16, 500],
          {'R': parpy.threads(16), 'M': parpy.threads(64).reduce(), 'B': parpy.threads(256)})
