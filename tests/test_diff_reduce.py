"""Differential tests: reductions over slices (sum prod max min, full and with
axis=, in every spelling) and parallel reduction loops (threads(n).reduce())."""
import numpy as np
import pytest

import parpy
from harness import check, dtype_id, nthreads, rng  # noqa: F401

RED_DTYPES = [np.int32, np.int64, np.float32, np.float64]


def values(rng, shape, dtype):
    """Summands: ints small enough never to overflow; floats of both signs but
    with a positive mean, so that float sums are never close to zero (where a
    reassociated sum could not be compared with a relative tolerance)."""
    if np.dtype(dtype).kind == "f":
        return rng.rand(shape, dtype, -1.0, 2.0)
    return rng.rand(shape, dtype, -50, 50)


def negatives(rng, shape, dtype):
    """All negative: a max that starts from 0 instead of -inf shows."""
    return rng.neg(shape, dtype)


def positives(rng, shape, dtype):
    """All positive: a min that starts from 0 instead of +inf shows."""
    return rng.pos(shape, dtype)


def factors(rng, shape, dtype):
    """Factors whose product neither overflows nor vanishes."""
    if np.dtype(dtype).kind == "f":
        return rng.rand(shape, dtype, 0.9, 1.1)
    f = np.ones(shape, dtype)
    f.reshape(-1)[rng.np.integers(0, f.size, size=min(f.size, 20))] = -2
    return f


# --- full reductions ---------------------------------------------------------

@parpy.jit
def full_1d_parpy(x, p, out):
    parpy.label('R')
    out[0] = parpy.operators.sum(x[:])
    parpy.label('R')
    out[1] = parpy.operators.prod(p[:])
    parpy.label('R')
    out[2] = parpy.operators.max(x[:])
    parpy.label('R')
    out[3] = parpy.operators.min(x[:])


@parpy.jit
def full_1d_numpy(x, p, out):
    parpy.label('R')
    out[0] = np.sum(x[:])
    parpy.label('R')
    out[1] = np.prod(p[:])
    parpy.label('R')
    out[2] = np.max(x[:])
    parpy.label('R')
    out[3] = np.min(x[:])


@parpy.jit
def full_1d_builtin(x, p, out):
    parpy.label('R')
    out[0] = sum(x[:])
    parpy.label('R')
    out[1] = parpy.operators.prod(p[:])
    parpy.label('R')
    out[2] = max(x[:])
    parpy.label('R')
    out[3] = min(x[:])


@pytest.mark.parametrize("fn", [full_1d_parpy, full_1d_numpy, full_1d_builtin],
                         ids=["parpy", "numpy", "builtin"])
@pytest.mark.parametrize("dtype", RED_DTYPES, ids=dtype_id)
def test_full_reduction_1d(rng, fn, dtype):
    x = values(rng, 1000, dtype)
    p = factors(rng, 200, dtype)
    check(fn, [x, p, np.empty(4, dtype)], {'R': parpy.threads(64)}, outputs=[2],
          reduction=True)


def test_full_reduction_threads(rng, nthreads):
    x = values(rng, 777, np.float64)
    p = factors(rng, 300, np.float64)
    check(full_1d_parpy, [x, p, np.empty(4)], {'R': parpy.threads(nthreads)}, outputs=[2],
          reduction=True)


def test_full_reduction_float16(rng):
    x = rng.rand(16, np.float16, 0.5, 1.0)
    p = rng.rand(16, np.float16, 0.9, 1.1)
    check(full_1d_parpy, [x, p, np.empty(4, np.float16)], {'R': parpy.threads(8)},
          outputs=[2], reduction=True)


@parpy.jit
def extremes(neg, pos, neg2, pos2, out, mx, mn):
    parpy.label('R')
    out[0] = parpy.operators.max(neg[:])
    parpy.label('R')
    out[1] = parpy.operators.min(pos[:])
    parpy.label('A')
    parpy.label('R')
    mx[:] = parpy.operators.max(neg2[:, :], axis=0)
    parpy.label('A')
    parpy.label('R')
    mn[:] = parpy.operators.min(pos2[:, :], axis=1)


@pytest.mark.parametrize("dtype,lo,hi", [
    (np.float32, 1.0, 1e30),
    (np.int32, 1, 2**31 - 1),
    (np.int64, 2**40, 2**63 - 1),
    (np.uint16, 1, 2**16 - 1),
], ids=["float32", "int32", "int64", "uint16"])
def test_max_of_negatives_min_of_positives(rng, dtype, lo, hi):
    """The identities of max/min are the dtype's extremes (-inf/+inf, INT_MIN/
    INT_MAX), not 0, and are exact for 64-bit integers."""
    kind = np.dtype(dtype).kind
    neg = rng.rand(100, dtype, -hi, -lo) if kind != "u" else rng.rand(100, dtype, 0, 5)
    pos = rng.rand(100, dtype, lo, hi)
    neg2 = rng.rand((9, 20), dtype, -hi, -lo) if kind != "u" else rng.rand((9, 20), dtype, 0, 5)
    pos2 = rng.rand((9, 20), dtype, lo, hi)
    outs = [np.empty(2, dtype), np.empty(20, dtype), np.empty(9, dtype)]
    check(extremes, [neg, pos, neg2, pos2, *outs], {'R': parpy.threads(16), 'A': parpy.threads(4)},
          outputs=[4, 5, 6])


@parpy.jit
def full_multi_dim(x2, x3, p3, out, K):
    parpy.label('R')
    out[0] = np.sum(x2[:, :])
    with parpy.gpu:  # out[1] = s is host code otherwise (rejected on a GPU)
        parpy.label('R')
        s = parpy.operators.max(x3[:, :, :])
        out[1] = s
    parpy.label('R')
    out[2] = parpy.operators.min(x3[:, 1, :])
    parpy.label('R')
    out[3] = parpy.operators.prod(p3[:, :, :])
    out[4] = parpy.operators.sum(x3[K - 1, :, :])
    parpy.label('R')
    out[5] = parpy.operators.sum(x2[:, :] * x2[:, :] + 1)


@pytest.mark.parametrize("dtype", RED_DTYPES, ids=dtype_id)
def test_full_reduction_multi_dim(rng, dtype):
    x2 = values(rng, (30, 40), dtype)
    x3 = values(rng, (6, 7, 8), dtype)
    p3 = factors(rng, (4, 5, 6), dtype)
    check(full_multi_dim, [x2, x3, p3, np.empty(6, dtype), 6], {'R': parpy.threads(32)},
          outputs=[3], reduction=True)


@parpy.jit
def row_reductions(x, y, s, mx, mn, dot, N):
    parpy.label('N')
    for i in range(N):
        s[i] = parpy.operators.sum(x[i, :])
        mx[i] = max(x[i, :])
        parpy.label('M')
        mn[i] = np.min(x[i, :])
        with parpy.gpu:  # host code when N is sequential
            parpy.label('M')
            t = parpy.operators.sum(x[i, :] * y[i, :])
            dot[i] = t


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(16)},
    {'N': parpy.threads(4), 'M': parpy.threads(64)},
    {'M': parpy.threads(128)},
], ids=["rows", "rows+reduce", "reduce"])
@pytest.mark.parametrize("dtype", [np.int64, np.float32], ids=dtype_id)
def test_row_reductions(rng, par, dtype):
    x = values(rng, (24, 300), dtype)
    y = values(rng, (24, 300), dtype)
    outs = [np.empty(24, dtype) for _ in range(4)]
    check(row_reductions, [x, y, *outs, 24], par, outputs=[2, 3, 4, 5], reduction=True)


@parpy.jit
def reduction_of_expression(x, out, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.max(parpy.operators.abs(x[i, :]) * 2.0 - x[i, 0])


def test_reduction_of_elementwise_expression(rng):
    x = values(rng, (10, 50), np.float64)
    check(reduction_of_expression, [x, np.empty(10), 10],
          {'N': parpy.threads(10), 'M': parpy.threads(16)}, outputs=[1], reduction=True)


@parpy.jit
def reductions_inside_expressions(x, y, z, w, N):
    parpy.label('N')
    for i in range(N):
        y[i] = 2.0 * parpy.operators.sum(x[:]) + x[i]
        w[i] = x[i] if parpy.operators.max(x[:]) > x[i] * 2.0 else -x[i]
        if parpy.operators.min(x[:]) < x[i] - 0.5:
            w[i] += 1.0
    parpy.label('N')
    z[:] = x[:] - parpy.operators.max(x[:])


def test_reductions_inside_expressions(rng):
    """A full reduction may be part of a larger expression or a condition."""
    x = values(rng, 64, np.float64)
    check(reductions_inside_expressions, [x, np.empty(64), np.empty(64), np.empty(64), 64],
          {'N': parpy.threads(8)}, outputs=[1, 2, 3], reduction=True)


# --- reductions along one axis -----------------------------------------------

@parpy.jit
def axis_2d(x, p, s0, s1, m0, n1, p0, sm1):
    parpy.label('A')
    parpy.label('B')
    s0[:] = parpy.operators.sum(x[:, :], axis=0)
    parpy.label('A')
    parpy.label('B')
    s1[:] = np.sum(x[:, :], axis=1)
    parpy.label('A')
    parpy.label('B')
    m0[:] = parpy.operators.max(x[:, :], axis=0)
    parpy.label('A')
    parpy.label('B')
    n1[:] = np.min(x[:, :], axis=1)
    parpy.label('A')
    parpy.label('B')
    p0[:] = parpy.operators.prod(p[:, :], axis=0)
    sm1[:] = parpy.operators.sum(x[:, :], axis=-1)


@pytest.mark.parametrize("par", [
    {'A': parpy.threads(8), 'B': parpy.threads(32)},
    {'A': parpy.threads(8)},
    {'B': parpy.threads(32)},
], ids=["AB", "A", "B"])
@pytest.mark.parametrize("dtype", RED_DTYPES, ids=dtype_id)
def test_axis_reductions_2d(rng, par, dtype):
    x = values(rng, (19, 37), dtype)
    p = factors(rng, (19, 37), dtype)
    outs = [np.empty(n, dtype) for n in (37, 19, 37, 19, 37, 19)]
    check(axis_2d, [x, p, *outs], par, outputs=range(2, 8), reduction=True)


@parpy.jit
def axis_3d(x, p, a0, a1, a2, am1, am3):
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    a0[:, :] = np.sum(x[:, :, :], axis=0)
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    a1[:, :] = parpy.operators.max(x[:, :, :], axis=1)
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    a2[:, :] = parpy.operators.min(x[:, :, :], axis=2)
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    am1[:, :] = np.prod(p[:, :, :], axis=-1)
    am3[:, :] = parpy.operators.sum(x[:, :, :], axis=-3)


@pytest.mark.parametrize("par", [
    {'A': parpy.threads(3), 'B': parpy.threads(5), 'C': parpy.threads(7)},
    {'B': parpy.threads(16)},
], ids=["ABC", "B"])
@pytest.mark.parametrize("dtype", [np.int32, np.float64], ids=dtype_id)
def test_axis_reductions_3d(rng, par, dtype):
    x = values(rng, (5, 6, 7), dtype)
    p = factors(rng, (5, 6, 7), dtype)
    outs = [np.empty(s, dtype) for s in ((6, 7), (5, 7), (5, 6), (5, 6), (6, 7))]
    check(axis_3d, [x, p, *outs], par, outputs=range(2, 7), reduction=True)


@parpy.jit
def axis_inside_loop(x, y, z, N):
    parpy.label('N')
    for i in range(N):
        y[i, :] = parpy.operators.sum(x[i, :, :], axis=0)
        parpy.label('J')
        parpy.label('K')
        z[i, :] = parpy.operators.max(x[i, :, :], axis=1)


def test_axis_reduction_of_indexed_slice(rng):
    """The axis counts slice dimensions of the argument, not dimensions of x."""
    x = values(rng, (4, 9, 11), np.float32)
    par = {'N': parpy.threads(4), 'J': parpy.threads(3), 'K': parpy.threads(8)}
    check(axis_inside_loop, [x, np.empty((4, 11), np.float32), np.empty((4, 9), np.float32), 4],
          par, outputs=[1, 2], reduction=True)


# --- parallel reduction loops: threads(n).reduce() ---------------------------

@parpy.jit
def loop_sum_into_element(x, s, N):
    parpy.label('N')
    for i in range(N):
        s[0] += x[i]


@parpy.jit
def loop_prod_into_element(x, s, N):
    parpy.label('N')
    for i in range(N):
        s[0] *= x[i]


@parpy.jit
def loop_max_local(x, out, N):
    with parpy.gpu:  # reading acc and writing out[0] are host code otherwise
        acc = -parpy.operators.inf
        parpy.label('N')
        for i in range(N):
            acc = max(acc, x[i])
        out[0] = acc


@parpy.jit
def loop_min_local(x, out, N):
    with parpy.gpu:  # reading acc and writing out[0] are host code otherwise
        acc = parpy.operators.inf
        parpy.label('N')
        for i in range(N):
            acc = parpy.operators.min(acc, x[i])
        out[0] = acc


@parpy.jit
def loop_sum_local(x, out, N):
    with parpy.gpu:  # reading acc and writing out[0] are host code otherwise
        acc = 0.0
        parpy.label('N')
        for i in range(N):
            acc += x[i] * 2.0
        out[0] = acc


@pytest.mark.parametrize("fn,make", [
    (loop_sum_into_element, values),
    (loop_prod_into_element, factors),
    (loop_max_local, negatives),
    (loop_min_local, positives),
    (loop_sum_local, values),
], ids=["sum-elem", "prod-elem", "max-local", "min-local", "sum-local"])
def test_parallel_reduction_loops(rng, nthreads, fn, make):
    x = make(rng, 1000, np.float64)
    out = rng.rand(1, np.float64, 0.5, 1.5)  # s[0] += / *= start from it
    check(fn, [x, out, 1000], {'N': parpy.threads(nthreads).reduce()}, reduction=True)


@parpy.jit
def loop_int_reductions(x, s, p, out, N):
    with parpy.gpu:  # x[0] and out[...] are host code otherwise
        hi = x[0]
        lo = x[0]
        parpy.label('N')
        for i in range(N):
            s[0] += x[i]
        parpy.label('N')
        for i in range(N):
            p[0] *= x[i] // 40 + 1
        parpy.label('N')
        for i in range(1, N):
            hi = max(hi, x[i])
        parpy.label('N')
        for i in range(1, N):
            lo = min(lo, x[i])
        out[0] = hi
        out[1] = lo


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16], ids=dtype_id)
def test_parallel_integer_reductions(rng, nthreads, dtype):
    x = rng.rand(500, dtype, 0, 39)
    x[rng.np.choice(500, size=12, replace=False)] = rng.rand(12, dtype, 40, 79)
    # x // 40 + 1 is 2 at those 12 places, else 1: the product is 2**12.
    s = np.array([3], dtype)
    p = np.array([1], dtype)
    check(loop_int_reductions, [x, s, p, np.empty(2, dtype), 500],
          {'N': parpy.threads(nthreads).reduce()}, outputs=[3])


@parpy.jit
def nested_reduction_loop(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        with parpy.gpu:  # host code when N is sequential
            acc = -parpy.operators.inf
            parpy.label('M')
            for j in range(M):
                acc = max(acc, x[i, j])
            out[i, 0] = acc
            total = 0.0
            parpy.label('M')
            for j in range(M):
                total += x[i, j]
            out[i, 1] = total


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(8), 'M': parpy.threads(32).reduce()},
    {'M': parpy.threads(64).reduce()},
    {'N': parpy.threads(30)},
], ids=["both", "inner", "outer"])
def test_reduction_loop_inside_parallel_loop(rng, par):
    x = values(rng, (30, 200), np.float32)
    check(nested_reduction_loop, [x, np.empty((30, 2), np.float32), 30, 200], par,
          outputs=[1], reduction=True)
