"""Differential tests: the math library (issue 13 item 1).  Every function of
Python's math module and NumPy's ufuncs with a C counterpart, typed as NumPy
types it, elementwise on scalars and slices; np.where, np.clip, the logical
functions, the arithmetic ufuncs; np.mean/var/std over slices and along an
axis; np.dot and @ of two 1-D slices."""
import math

import numpy as np
import pytest

import parpy
import parpy.operators as po
from harness import FLOATS, INTS, check, dtype_id, options, rng  # noqa: F401

N = 200


def par():
    return {'N': parpy.threads(32)}


# --- float functions of one argument ----------------------------------------

@parpy.jit
def unary_numpy(x, u, p, g, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.log2(p[i])
        o[1, i] = np.log10(p[i])
        o[2, i] = np.log1p(p[i])
        o[3, i] = np.expm1(x[i])
        o[4, i] = np.exp2(x[i])
        o[5, i] = np.arcsin(u[i])
        o[6, i] = np.arccos(u[i])
        o[7, i] = np.arctan(x[i])
        o[8, i] = np.sinh(x[i])
        o[9, i] = np.cosh(x[i])
        o[10, i] = np.arcsinh(x[i])
        o[11, i] = np.arccosh(g[i])
        o[12, i] = np.arctanh(u[i])
        o[13, i] = np.cbrt(x[i])
        o[14, i] = np.radians(x[i])
        o[15, i] = np.degrees(x[i])
        o[16, i] = np.deg2rad(x[i])
        o[17, i] = np.rad2deg(x[i])
        o[18, i] = np.rint(x[i] * 4.0)
        o[19, i] = np.trunc(x[i] * 4.0)
        o[20, i] = np.round(x[i] * 4.0)
        o[21, i] = np.sign(x[i])
        o[22, i] = np.square(x[i])
        o[23, i] = np.reciprocal(p[i])
        o[24, i] = po.erf(x[i])
        o[25, i] = po.erfc(x[i])
        o[26, i] = po.gamma(p[i])
        o[27, i] = po.lgamma(p[i])


@parpy.jit
def unary_parpy(x, u, p, g, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = po.log2(p[i])
        o[1, i] = po.log10(p[i])
        o[2, i] = po.log1p(p[i])
        o[3, i] = po.expm1(x[i])
        o[4, i] = po.exp2(x[i])
        o[5, i] = po.asin(u[i])
        o[6, i] = po.acos(u[i])
        o[7, i] = po.atan(x[i])
        o[8, i] = po.sinh(x[i])
        o[9, i] = po.cosh(x[i])
        o[10, i] = po.asinh(x[i])
        o[11, i] = po.acosh(g[i])
        o[12, i] = po.atanh(u[i])
        o[13, i] = po.cbrt(x[i])
        o[14, i] = po.radians(x[i])
        o[15, i] = po.degrees(x[i])
        o[16, i] = po.deg2rad(x[i])
        o[17, i] = po.rad2deg(x[i])
        o[18, i] = po.rint(x[i] * 4.0)
        o[19, i] = po.trunc(x[i] * 4.0)
        o[20, i] = po.round(x[i] * 4.0)
        o[21, i] = po.sign(x[i])
        o[22, i] = po.square(x[i])
        o[23, i] = po.reciprocal(p[i])
        o[24, i] = po.erf(x[i])
        o[25, i] = po.erfc(x[i])
        o[26, i] = po.gamma(p[i])
        o[27, i] = po.lgamma(p[i])


@parpy.jit
def unary_math(x, u, p, g, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = math.log2(p[i])
        o[1, i] = math.log10(p[i])
        o[2, i] = math.log1p(p[i])
        o[3, i] = math.expm1(x[i])
        o[4, i] = 2.0 ** x[i]
        o[5, i] = math.asin(u[i])
        o[6, i] = math.acos(u[i])
        o[7, i] = math.atan(x[i])
        o[8, i] = math.sinh(x[i])
        o[9, i] = math.cosh(x[i])
        o[10, i] = math.asinh(x[i])
        o[11, i] = math.acosh(g[i])
        o[12, i] = math.atanh(u[i])
        o[13, i] = abs(x[i]) ** (1.0 / 3.0)
        o[14, i] = math.radians(x[i])
        o[15, i] = math.degrees(x[i])
        o[16, i] = math.radians(x[i])
        o[17, i] = math.degrees(x[i])
        o[18, i] = round(x[i] * 4.0)
        o[19, i] = math.trunc(float(x[i]) * 4.0)
        o[20, i] = round(x[i] * 4.0)
        o[21, i] = math.copysign(1.0, x[i])
        o[22, i] = math.pow(x[i], 2)
        o[23, i] = 1.0 / p[i]
        o[24, i] = math.erf(x[i])
        o[25, i] = math.erfc(x[i])
        o[26, i] = math.gamma(p[i])
        o[27, i] = math.lgamma(p[i])


def unary_inputs(rng, dtype):
    x = rng.rand(N, dtype, -2.0, 2.0)
    x[:8] = np.array([0.125, -0.125, 0.375, -0.375, 0.625, 2.5 / 4, -2.5 / 4, 0.0], dtype)
    return [x, rng.rand(N, dtype, -0.9, 0.9), rng.pos(N, dtype, 3.0),
            rng.rand(N, dtype, 1.1, 3.0)]


@pytest.mark.parametrize("fn", [unary_numpy, unary_parpy, unary_math],
                         ids=["numpy", "parpy", "math"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_unary_float_functions(rng, fn, dtype):
    """Each function in each spelling: float16 computes in float32, as NumPy."""
    check(fn, [*unary_inputs(rng, dtype), np.empty((28, N), dtype), N], par(), outputs=[4])


@parpy.jit
def unary_types(x, o8, o16, o32, o64, N):
    parpy.label('N')
    for i in range(N):
        o16[0, i] = np.sqrt(x[i])      # int8 -> float16
        o16[1, i] = np.log1p(x[i])
        o16[2, i] = np.rint(x[i])
        o64[0, i] = math.erf(x[i])     # math: a Python float
        o64[1, i] = np.radians(np.int32(x[i]))  # int32 -> float64
        o8[0, i] = np.sign(x[i])       # ints keep their type
        o8[1, i] = np.square(x[i])
        o8[2, i] = np.trunc(x[i])
        o8[3, i] = np.round(x[i])
        o8[4, i] = abs(x[i])
        o32[0, i] = round(x[i])        # Python's round of an int: an int
        o32[1, i] = np.isnan(x[i]) + np.isinf(x[i]) * 2 + np.isfinite(x[i]) * 4


def test_unary_function_types_on_ints(rng):
    """Integer operands: float functions give NumPy's float type (float16 for
    int8), the others keep the integer type, and the predicates are constants."""
    x = rng.rand(N, np.int8, -128, 127)
    x[:2] = [-128, 127]
    check(unary_types, [np.abs(x).astype(np.int8), np.empty((5, N), np.int8),
                        np.empty((3, N), np.float16), np.empty((2, N), np.int32),
                        np.empty((2, N), np.float64), N], par(), outputs=[1, 2, 3, 4])


# --- predicates, special values ---------------------------------------------

@parpy.jit
def predicates(x, b, s, N):
    parpy.label('N')
    for i in range(N):
        b[0, i] = np.isnan(x[i])
        b[1, i] = np.isinf(x[i])
        b[2, i] = np.isfinite(x[i])
        b[3, i] = math.isnan(x[i])
        b[4, i] = math.isinf(x[i]) or math.isfinite(x[i])
        s[0, i] = np.sign(x[i])
        s[1, i] = np.fmax(x[i], 0.5)
        s[2, i] = np.fmin(x[i], 0.5)
        s[3, i] = np.maximum(x[i], 0.5)


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_predicates_and_nan_handling(rng, dtype):
    """isnan/isinf/isfinite, sign(nan) is nan, fmax/fmin ignore NaN (maximum does not)."""
    x = rng.rand(N, dtype, -2.0, 2.0)
    x[:6] = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, np.nan], dtype)
    check(predicates, [x, np.empty((5, N), np.bool_), np.empty((4, N), dtype), N], par(),
          outputs=[1, 2])


# --- two arguments ----------------------------------------------------------

@parpy.jit
def binary_floats(x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.hypot(x[i], y[i])
        o[1, i] = np.copysign(x[i], y[i])
        o[2, i] = np.fmod(x[i], y[i])
        o[3, i] = np.fmax(x[i], y[i])
        o[4, i] = np.fmin(x[i], y[i])
        o[5, i] = np.power(np.abs(x[i]), y[i])
        o[6, i] = pow(np.abs(x[i]), y[i])
        o[7, i] = math.hypot(x[i], y[i])
        o[8, i] = math.fmod(x[i], y[i])
        o[9, i] = math.copysign(x[i], y[i])
        o[10, i] = po.hypot(x[i], y[i]) + po.fmod(x[i], 0.25)
        o[11, i] = np.add(x[i], y[i]) - np.subtract(x[i], y[i]) * np.multiply(x[i], 3.0)
        o[12, i] = np.divide(x[i], y[i]) + np.true_divide(1.0, y[i])
        o[13, i] = np.mod(x[i], y[i]) + np.remainder(x[i], 0.3)
        o[14, i] = np.floor_divide(x[i], y[i]) + np.negative(x[i])
        o[15, i] = np.clip(x[i], -0.5, y[i])


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_binary_float_functions(rng, dtype):
    x = rng.rand(N, dtype, -2.0, 2.0)
    y = rng.nonzero(N, dtype, -2.0, 2.0)
    check(binary_floats, [x, y, np.empty((16, N), dtype), N], par(), outputs=[2])


@parpy.jit
def binary_ints(a, b, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.fmod(a[i], b[i])
        o[1, i] = np.fmax(a[i], b[i])
        o[2, i] = np.fmin(a[i], b[i])
        o[3, i] = np.power(a[i], 2)
        o[4, i] = pow(a[i], 3)
        o[5, i] = np.mod(a[i], b[i])
        o[6, i] = np.floor_divide(a[i], b[i])
        o[7, i] = np.clip(a[i], 10, 50)
        o[8, i] = np.add(a[i], b[i])
        o[9, i] = np.fmod(a[i], 0)
        o[10, i] = abs(a[i])


@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_binary_int_functions(rng, dtype):
    """fmod of integers takes the sign of the dividend and gives 0 for a zero divisor."""
    a = rng.rand(N, dtype)
    b = rng.nonzero(N, dtype, -9, 9) if np.dtype(dtype).kind == "i" else rng.pos(N, dtype, 9)
    if parpy.CompileOptions().debug:  # PARPY_DEBUG=1: the debug mode reports fmod(a[i], 0)
        with pytest.raises(ZeroDivisionError, match=r"fmod\(a\[i\], 0\)"):
            check(binary_ints, [a, b, np.empty((11, N), dtype), N], par(), outputs=[2])
        return
    check(binary_ints, [a, b, np.empty((11, N), dtype), N], par(), outputs=[2])


@parpy.jit
def logical(a, b, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.logical_and(a[i], b[i])
        o[1, i] = np.logical_or(a[i] > 0.0, b[i])
        o[2, i] = np.logical_not(a[i])
        o[3, i] = np.logical_and(np.isfinite(a[i]), np.logical_not(b[i] < 0.5))


def test_logical_functions(rng):
    a = rng.rand(N, np.float64)
    a[:4] = [0.0, -0.0, np.nan, 1.0]
    b = rng.rand(N, np.float64)
    b[:4] = [1.0, 0.0, 0.0, np.nan]
    check(logical, [a, b, np.empty((4, N), np.bool_), N], par(), outputs=[2])


# --- slices: elementwise functions, where -----------------------------------

@parpy.jit
def on_slices(x, y, c, o, N):
    parpy.label('N')
    o[0, :] = np.where(c[:], x[:], y[:])
    parpy.label('N')
    o[1, :] = np.where(x[:] > y[:], x[:] - y[:], 0.0)
    parpy.label('N')
    o[2, :] = np.cbrt(x[:]) + np.hypot(x[:], y[:])
    parpy.label('N')
    o[3, :] = np.clip(x[:], -0.25, 0.25)
    parpy.label('N')
    o[4, :] = np.where(c[:], 1, 2)
    parpy.label('N')
    o[5, :] = np.where(np.isnan(x[:]), 0.0, np.sign(x[:]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_functions_on_slices(rng, dtype):
    x = rng.rand(N, dtype)
    x[3] = np.nan
    y = rng.rand(N, dtype)
    c = rng.rand(N, np.bool_)
    check(on_slices, [x, y, c, np.empty((6, N), dtype), N], par(), outputs=[3])


@parpy.jit
def where_rows(x, c, o, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        o[i, :] = np.where(c[i, :], x[i, :], -x[i, :])


def test_where_in_a_row_loop(rng):
    x = rng.rand((12, 40))
    c = rng.rand((12, 40), np.bool_)
    check(where_rows, [x, c, np.empty((12, 40)), 12, 40],
          {'N': parpy.threads(12), 'M': parpy.threads(32)}, outputs=[2])


@parpy.jit
def where_types(a, o1, o2, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = np.where(a[i] > 0, a[i], 0.5)     # int32 with a Python float: float64
        o2[i] = np.where(a[i] > 0, a[i], 7) * a[i]


def test_where_result_types(rng):
    a = rng.rand(N, np.int32)
    check(where_types, [a, np.empty(N), np.empty(N, np.int64), N], par(), outputs=[1, 2])


# --- statistics and dot -----------------------------------------------------

@parpy.jit
def row_stats(x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i, 0] = np.mean(x[i, :])
        o[i, 1] = np.var(x[i, :])
        o[i, 2] = np.std(x[i, :])
        o[i, 3] = np.dot(x[i, :], y[i, :])
        o[i, 4] = x[i, :] @ y[i, :]
        o[i, 5] = po.mean(x[i, 2:]) + po.std(x[i, ::2]) + po.var(x[i, :], axis=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_mean_var_std_dot_of_rows(rng, dtype):
    x = rng.rand((16, 50), dtype)
    y = rng.rand((16, 50), dtype)
    check(row_stats, [x, y, np.empty((16, 6), dtype), 16], par(), outputs=[2], reduction=True)


@parpy.jit
def stats_ints(a, b, o, d, N):
    parpy.label('N')
    for i in range(N):
        o[i, 0] = np.mean(a[i, :])
        o[i, 1] = np.var(a[i, :])
        o[i, 2] = np.std(a[i, :])
        d[i] = np.dot(a[i, :], b[i, :])


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16], ids=dtype_id)
def test_stats_of_ints_are_float64_and_dot_keeps_the_type(rng, dtype):
    a = rng.rand((8, 30), dtype)
    b = rng.rand((8, 30), dtype)
    check(stats_ints, [a, b, np.empty((8, 3)), np.empty(8, dtype), 8], par(),
          outputs=[2, 3], reduction=True)


@parpy.jit
def mean_axis(x, m0, m1, s):
    parpy.label('N')
    m0[:] = np.mean(x[:, :], axis=0)
    parpy.label('N')
    m1[:] = po.mean(x[:, :], axis=1)
    with parpy.gpu:
        s[0] = np.mean(x[:, :]) + np.std(x[0, :]) + np.var(x[:, 1])


def test_mean_along_an_axis_and_whole(rng):
    x = rng.rand((20, 30))
    check(mean_axis, [x, np.empty(30), np.empty(20), np.empty(1)], par(),
          outputs=[1, 2, 3], reduction=True)


@parpy.jit
def stats_axes(x, v0, v1, v2, s1, s2):
    parpy.label('A')
    parpy.label('B')
    v0[:, :] = np.var(x[:, :, :], axis=0)
    parpy.label('A')
    parpy.label('B')
    v1[:, :] = np.var(x[:, :, :], axis=1)
    parpy.label('A')
    parpy.label('B')
    v2[:, :] = np.var(x[:, :, :], axis=-1)
    parpy.label('A')
    parpy.label('B')
    s1[:, :] = np.std(x[:, :, :], axis=1, ddof=1)
    parpy.label('A')
    parpy.label('B')
    s2[:, :] = po.std(x[:, :, :], axis=2) + np.var(x[:, :, :], axis=2, ddof=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16], ids=dtype_id)
def test_var_std_along_each_axis_of_3d_slices(rng, dtype):
    """np.var/np.std along an axis of an N-d slice, with ddof (the mean along
    the axis is computed once per element of the result)."""
    x = rng.rand((4, 5, 6), dtype)
    out = [np.empty((5, 6)), np.empty((4, 6)), np.empty((4, 5)), np.empty((4, 6)),
           np.empty((4, 5))]
    if dtype == np.float32:
        out = [o.astype(np.float32) for o in out]
    check(stats_axes, [x, *out], {'A': parpy.threads(4), 'B': parpy.threads(32)},
          outputs=[1, 2, 3, 4, 5], reduction=True)


@parpy.jit
def stats_rows_labelled(x, v, s, N):
    parpy.label('N')
    v[:] = np.var(x[:, :], axis=1, ddof=1)
    parpy.label('M')
    s[:] = np.std(x[:, :], axis=0)


def test_var_std_along_an_axis_in_parallel(rng):
    x = rng.rand((30, 40))
    check(stats_rows_labelled, [x, np.empty(30), np.empty(40), 30],
          {'N': parpy.threads(16), 'M': parpy.threads(32)}, outputs=[1, 2], reduction=True)


@parpy.jit
def ddof_edges(x, o, N):
    parpy.label('N')
    for i in range(N):
        o[i, 0] = np.var(x[i, :], ddof=4)
        o[i, 1] = np.std(x[i, :], ddof=5)
        o[i, 2] = np.var(x[i, :3], ddof=-1)
        o[i, 3] = np.std(x[i, :], axis=0, ddof=1)


def test_ddof_including_no_degrees_of_freedom_left(rng):
    """ddof >= n divides by 0 as NumPy does (inf, or nan for a zero sum)."""
    x = rng.rand((6, 5))
    x[0, :] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        check(ddof_edges, [x, np.empty((6, 4)), 6], par(), outputs=[1], reduction=True)


@parpy.jit
def dot_total(x, y, out):
    with parpy.gpu:
        out[0] = x @ y
        out[1] = np.dot(x[1:], y[:-1])


def test_dot_of_whole_vectors(rng):
    x = rng.rand(100)
    y = rng.rand(100)
    check(dot_total, [x, y, np.empty(2)], {}, outputs=[2], reduction=True)


# --- conditional expressions over slices (issue 13 item 7, issue 10 item 7) --

@parpy.jit
def ifexp_slices(flx, c, r, o, N):
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    flx[:, :, :] = (0.0 if c[:, :, :] else r[:, :, :])
    parpy.label('N')
    for i in range(N):
        o[i, :] = r[i, 0, :] * 2.0 if c[i, 0, :] else -1


def test_conditional_expression_over_slices_is_elementwise(rng):
    """0.1.3 took `a if c else b` over slices elementwise (np.where); the
    interpreter refuses the truth value of an array, so compare with np.where."""
    c = rng.rand((4, 5, 6), np.bool_)
    r = rng.rand((4, 5, 6))
    flx = np.full((4, 5, 6), np.nan)
    o = np.full((4, 6), np.nan)
    par_ = {'A': parpy.threads(4), 'B': parpy.threads(5), 'C': parpy.threads(6),
            'N': parpy.threads(4)}
    ifexp_slices(flx, c, r, o, 4, opts=options(par_))
    np.testing.assert_array_equal(flx, np.where(c, 0.0, r))
    np.testing.assert_array_equal(o, np.where(c[:, 0, :], r[:, 0, :] * 2.0, -1.0))


@parpy.jit
def stats_of_big_ints(a, o, m):
    parpy.label('N')
    o[0] = np.mean(a[0, :])
    o[1] = np.var(a[1, :])
    o[2] = np.std(a[0, :])
    parpy.label('N')
    m[:] = np.mean(a[:, :], axis=1)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64], ids=dtype_id)
def test_stats_of_ints_sum_in_float64(rng, dtype):
    """NumPy's mean/var/std of integers accumulate in float64: sums of large
    values do not wrap (found by tools/fuzz.py, seed 200 program 687)."""
    a = rng.rand((2, 40), dtype, 0, 2**62)
    check(stats_of_big_ints, [a, np.empty(3), np.empty(2)], par(), outputs=[1, 2],
          reduction=True)
