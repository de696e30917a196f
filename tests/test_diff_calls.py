"""Differential tests: statement calls of jitted functions (inlined, their
labels count), expression calls of annotated helpers (scalar and elementwise),
nested jitted functions and jitted methods."""
import numpy as np
import pytest

import parpy
from harness import check, nthreads, rng  # noqa: F401

F32 = parpy.types.F32
F64 = parpy.types.F64
I64 = parpy.types.I64


# --- statement calls ---------------------------------------------------------

@parpy.jit
def add_inplace(x, y, M):
    parpy.label('M')
    for j in range(M):
        y[j] += x[j]


@parpy.jit
def add_2d_inplace(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        add_inplace(x[i], y[i], M)


@parpy.jit
def add_3d_inplace(x, y, K, N, M):
    parpy.label('K')
    for k in range(K):
        add_2d_inplace(x[k], y[k], N, M)


@pytest.mark.parametrize("par", [
    {'K': parpy.threads(4), 'N': parpy.threads(5), 'M': parpy.threads(16)},
    {'K': parpy.threads(4)},
    {'M': parpy.threads(16)},
], ids=["all", "caller", "callee"])
def test_nested_statement_calls(rng, par):
    """Labels inside the inlined callees count for the caller's parallelism."""
    x = rng.rand((4, 5, 6), np.float32)
    y = rng.rand((4, 5, 6), np.float32)
    check(add_3d_inplace, [x, y, 4, 5, 6], par)


@parpy.jit
def only_a_call(x, y, M):
    add_inplace(x, y, M)


def test_parallelism_only_in_callee(rng, nthreads):
    x = rng.rand(100, np.int64)
    y = rng.rand(100, np.int64)
    check(only_a_call, [x, y, 100], {'M': parpy.threads(nthreads)})


@parpy.jit
def sum_into(x, out, M):
    s = 0.0
    for j in range(M):
        s += x[j]
    out[0] = s


@parpy.jit
def two_calls_with_locals(a, b, sa, sb, d, N, M):
    parpy.label('N')
    for i in range(N):
        sum_into(a[i], sa[i], M)
        sum_into(b[i], sb[i], M)
        d[i] = sa[i, 0] - sb[i, 0]


def test_statement_call_twice_with_locals(rng):
    """The same callee inlined twice: its locals do not clash."""
    a = rng.rand((12, 10))
    b = rng.rand((12, 10))
    outs = [np.empty((12, 1)), np.empty((12, 1)), np.empty(12)]
    check(two_calls_with_locals, [a, b, *outs, 12, 10], {'N': parpy.threads(4)},
          outputs=[2, 3, 4])


@parpy.jit
def fill_linear(y, start, step, M):
    parpy.label('M')
    for j in range(M):
        y[j] = start + step * j


@parpy.jit
def call_with_expressions(y, N, M):
    parpy.label('N')
    for i in range(N):
        fill_linear(y[i], i * 10, i - 2, M)


def test_statement_call_with_expression_arguments(rng):
    check(call_with_expressions, [np.empty((6, 9), np.int32), 6, 9],
          {'N': parpy.threads(6), 'M': parpy.threads(3)}, outputs=[0])


# --- expression calls ----------------------------------------------------------

@parpy.jit
def add(x: F32, y: F32):
    return x + y


@parpy.jit
def add_elements(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = add(x[i], y[i])


@parpy.jit
def add_slices(x, y):
    parpy.label('N')
    y[:] = add(x[:], y[:])


def test_expression_helper_on_elements(rng, nthreads):
    x = rng.rand(300, np.float32)
    y = rng.rand(300, np.float32)
    check(add_elements, [x, y, 300], {'N': parpy.threads(nthreads)})


def test_expression_helper_elementwise_on_slices(rng):
    x = rng.rand(300, np.float32)
    y = rng.rand(300, np.float32)
    check(add_slices, [x, y], {'N': parpy.threads(32)})


@parpy.jit
def clamp(v: F64, lo: F64, hi: F64):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


@parpy.jit
def horner(x: F64, n: I64):
    acc = 0.0
    for k in range(n):
        acc = acc * x + (k + 1)
    return acc


@parpy.jit
def square(v: F64):
    return v * v


@parpy.jit
def hypot(a: F64, b: F64):
    return parpy.operators.sqrt(square(a) + square(b))


@parpy.jit
def use_helpers(x, y, out, N):
    parpy.label('N')
    for i in range(N):
        out[0, i] = clamp(x[i], -0.5, 0.25)
        out[1, i] = horner(x[i], 5)
        out[2, i] = hypot(x[i], y[i]) + square(2.0)
        out[3, i] = clamp(horner(y[i], 3), 0.0, hypot(1.0, x[i]))


def test_helpers_with_control_flow_and_nested_calls(rng):
    x = rng.rand(200)
    y = rng.rand(200)
    check(use_helpers, [x, y, np.empty((4, 200)), 200], {'N': parpy.threads(16)},
          outputs=[2])


@parpy.jit
def int_helper(a: parpy.types.I32, b: parpy.types.I32):
    return a // b + a % b


@parpy.jit
def use_int_helper(a, b, c, N):
    parpy.label('N')
    for i in range(N):
        c[i] = int_helper(a[i], b[i])


def test_integer_helper(rng):
    a = rng.rand(100, np.int32)
    b = rng.nonzero(100, np.int32, -9, 9)
    check(use_int_helper, [a, b, np.empty(100, np.int32), 100], {'N': parpy.threads(8)},
          outputs=[2])


# --- nested functions and methods ------------------------------------------------

def test_nested_jit_functions(rng):
    @parpy.jit
    def twice(v: F64):
        return v * 2.0

    @parpy.jit
    def inner(x, y, M):
        parpy.label('M')
        for j in range(M):
            y[j] = twice(x[j]) - 1.0

    @parpy.jit
    def outer(x, y, N, M):
        parpy.label('N')
        for i in range(N):
            inner(x[i], y[i], M)

    x = rng.rand((7, 13))
    check(outer, [x, np.empty((7, 13)), 7, 13],
          {'N': parpy.threads(7), 'M': parpy.threads(4)}, outputs=[1])


class Kernels:
    @parpy.jit
    def scale(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] * 4.0

    @staticmethod
    @parpy.jit
    def shift(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] + 4.0


def test_jit_methods(rng):
    x = rng.rand(50)
    check(Kernels.scale, [x, np.empty(50), 50], {'N': parpy.threads(8)}, outputs=[1])
    check(Kernels().shift, [x, np.empty(50), 50], {'N': parpy.threads(8)}, outputs=[1])
