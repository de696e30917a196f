"""Differential tests: tuple assignment and swaps with Python's
evaluate-all-then-assign semantics, divmod into a pair, and chained
assignment (issue 13 item 4)."""
import numpy as np

import parpy
from harness import INTS, check, dtype_id, rng  # noqa: F401
import pytest

N = 100


def par():
    return {'N': parpy.threads(16)}


@parpy.jit
def fib_pairs(o, K, N):
    parpy.label('N')
    for i in range(N):
        a, b = 0, 1
        for k in range(K + i % 7):
            a, b = b, a + b
        o[i] = a


def test_fibonacci_by_tuple_assignment():
    """`a, b = b, a + b` uses the old a, as Python does."""
    check(fib_pairs, [np.empty(N, np.int64), 20, N], par(), outputs=[0])


@parpy.jit
def swaps(x, y, o, N):
    parpy.label('N')
    for i in range(N):
        a = x[i]
        b = y[i]
        a, b = b, a
        o[0, i] = a - 2.0 * b
        x[i], y[i] = y[i], x[i]


def test_swap_of_locals_and_of_array_elements(rng):
    check(swaps, [rng.rand(N), rng.rand(N), np.empty((1, N)), N], par(), outputs=[2])


@parpy.jit
def mandel(cr, ci, it, N):
    parpy.label('N')
    for i in range(N):
        zr, zi = 0.0, 0.0
        n = 0
        while n < 50 and zr * zr + zi * zi < 4.0:
            zr, zi = zr * zr - zi * zi + cr[i], 2.0 * zr * zi + ci[i]
            n += 1
        it[i] = n


def test_mandelbrot_iteration(rng):
    check(mandel, [rng.rand(N, np.float64, -2.0, 0.5), rng.rand(N, np.float64, -1.2, 1.2),
                   np.empty(N, np.int32), N], par(), outputs=[2])


@parpy.jit
def divmods(a, b, q, r, qf, rf, N):
    parpy.label('N')
    for i in range(N):
        q[i], r[i] = divmod(a[i], b[i])
        u, v = np.divmod(a[i] * 0.5, 3.0)
        qf[i], rf[i] = u, v


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8], ids=dtype_id)
def test_divmod_into_a_pair(rng, dtype):
    a = rng.rand(N, dtype)
    b = rng.nonzero(N, dtype, -9, 9)
    check(divmods, [a, b, np.empty(N, dtype), np.empty(N, dtype), np.empty(N), np.empty(N), N],
          par(), outputs=[2, 3, 4, 5])


@parpy.jit
def chained(x, y, z, N):
    parpy.label('N')
    for i in range(N):
        a = b = x[i] * 2.0
        y[i] = z[i] = a + b
        c = d = 0
        c += 1
        z[i] += c + d
    parpy.label('N')
    y[:] = z[:] = 0.5


def test_chained_assignment(rng):
    """`a = b = e` evaluates e once and assigns both targets."""
    check(chained, [rng.rand(N), np.empty(N), np.empty(N), N], par(), outputs=[1, 2])


@parpy.jit
def chained_int_store(x, yi, yf, N):
    parpy.label('N')
    for i in range(N):
        yi[i] = t = yf[i] = x[i] * 3.0
        yf[i] += t


def test_chained_assignment_converts_per_target(rng):
    """Each target converts the one value to its own type."""
    check(chained_int_store, [rng.rand(N, np.float64, -50, 50), np.empty(N, np.int32),
                              np.empty(N), N], par(), outputs=[1, 2])
