"""Differential tests: local arrays (issue 13 item 3) -- np.zeros/np.empty
with compile-time shapes as per-iteration scratch inside parallel loops and
as a buffer outside them, and array expressions bound to new names."""
import numpy as np
import pytest

import parpy
from harness import BACKEND, FLOATS, check, dtype_id, rng  # noqa: F401

CPU_ONLY = pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                              reason="a local array shared by a parallel loop is a Cpu feature")
from parpy.operators import exp, max as pmax, sum as psum


@parpy.jit
def local_hist(data, out, N, M):
    parpy.label('N')
    for i in range(N):
        counts = np.zeros(8, np.int32)
        for j in range(M):
            counts[data[i, j] % 8] += 1
        for k in range(8):
            out[i, k] = counts[k] * (k + 1)


def test_per_iteration_scratch_starts_at_zero(rng):
    """Each iteration gets its own zeroed array (no sharing between threads)."""
    data = rng.rand((40, 30), np.int32, 0, 100)
    check(local_hist, [data, np.empty((40, 8), np.int32), 40, 30],
          {'N': parpy.threads(16)}, outputs=[1])


@parpy.jit
def scratch_2d(x, y, N):
    parpy.label('N')
    for i in range(N):
        t = np.empty((3, 4), dtype=np.float32)
        for a in range(3):
            for b in range(4):
                t[a, b] = x[i, a] * x[i, b]
        y[i] = np.sum(t[:, :]) + t[2, 3]


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_two_dimensional_empty_scratch(rng, dtype):
    x = rng.rand((20, 4), dtype)
    check(scratch_2d, [x, np.empty(20, np.float32), 20], {'N': parpy.threads(8)},
          outputs=[1], reduction=True)


@parpy.jit
def softmax_rows(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        m = pmax(x[i, :])
        e = exp(x[i, :] - m)
        s = psum(e[:])
        y[i, :] = e[:] / s


def test_array_expression_into_a_new_name(rng):
    """`e = np.exp(row - m)` makes a local array of the row's shape."""
    x = rng.rand((12, 33))
    check(softmax_rows, [x, np.empty((12, 33)), 12, 33], {'N': parpy.threads(12)},
          outputs=[1], reduction=True)


@parpy.jit
def buffer_outside(x, y, N):
    acc = np.zeros(16)
    for i in range(N):
        acc[i % 16] += x[i]
    parpy.label('K')
    y[:] = acc[:] * 2.0


@CPU_ONLY
def test_local_array_outside_parallel_loops_is_a_buffer(rng):
    check(buffer_outside, [rng.rand(100), np.empty(16), 100], {'K': parpy.threads(16)},
          outputs=[1], reduction=True)


@parpy.jit
def zeros_types(y, N):
    parpy.label('N')
    for i in range(N):
        a = np.zeros(3, 'int16')
        b = np.zeros(2, dtype=np.uint8)
        c = np.zeros(2)
        a[1] = i
        b[0] = i * 2
        c[1] = 0.5 * i
        y[i] = a[1] + b[0] + c[1] + a[0] + c[0]


def test_dtypes_of_local_arrays(rng):
    check(zeros_types, [np.empty(20), 20], {'N': parpy.threads(4)}, outputs=[0])


@parpy.jit
def fresh_array_shared(x, y, N):
    t = x[:] + 1.0
    parpy.label('N')
    for i in range(N):
        y[i] = t[i] * t[N - 1 - i]


@CPU_ONLY
def test_array_expression_at_function_level_is_shared_by_the_loop(rng):
    """`t = x[:] + 1.0` outside the parallel loop: one buffer all iterations read."""
    check(fresh_array_shared, [rng.rand(50), np.empty(50), 50], {'N': parpy.threads(8)},
          outputs=[1])
