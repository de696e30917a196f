"""Differential tests: arithmetic with Python semantics (//, %, /), bitwise ops,
comparisons, boolean operators, unary operators and math functions."""
import math

import numpy as np
import pytest

import parpy
from harness import FLOATS, INTS, SIGNED, UNSIGNED, check, dtype_id, rng  # noqa: F401

N = 256


def par():
    return {'N': parpy.threads(32)}


def empties(n, *dtypes):
    return [np.empty(n, dt) for dt in dtypes]


# --- floor division and modulo ----------------------------------------------

@parpy.jit
def divmod_signed(a, b, q, r, q1, r1, q2, r2, q3, r3, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
        q1[i] = a[i] // 7
        r1[i] = a[i] % -7
        q2[i] = 100 // b[i]
        r2[i] = -100 % b[i]
        q3[i] = a[i] // -3
        r3[i] = 9 % b[i]


@pytest.mark.parametrize("dtype", SIGNED, ids=dtype_id)
def test_floordiv_mod_signed(rng, dtype):
    """// floors and % takes the sign of the divisor, for both operand orders."""
    a = rng.rand(N, dtype, -100, 100)
    b = rng.nonzero(N, dtype, -12, 12)
    outs = empties(N, *[dtype] * 8)
    check(divmod_signed, [a, b, *outs, N], par(), outputs=range(2, 10))


@parpy.jit
def divmod_unsigned(a, b, q, r, q1, r1, q2, r2, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
        q1[i] = a[i] // 7
        r1[i] = a[i] % 7
        q2[i] = 200 // b[i]
        r2[i] = 200 % b[i]


@pytest.mark.parametrize("dtype", UNSIGNED, ids=dtype_id)
def test_floordiv_mod_unsigned(rng, dtype):
    a = rng.rand(N, dtype, 0, 250)
    b = rng.rand(N, dtype, 1, 12)
    outs = empties(N, *[dtype] * 6)
    check(divmod_unsigned, [a, b, *outs, N], par(), outputs=range(2, 8))


@parpy.jit
def divmod_mixed(a, b, q, r, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]


@pytest.mark.parametrize("da,db", [
    (np.int8, np.uint8), (np.int16, np.int64), (np.uint16, np.int32), (np.int32, np.uint32),
], ids=lambda d: dtype_id(d))
def test_floordiv_mod_mixed_int_dtypes(rng, da, db):
    a = rng.rand(N, da, -100, 100)
    b = rng.nonzero(N, db, -12, 12) if np.dtype(db).kind == "i" else rng.rand(N, db, 1, 12)
    rt = np.result_type(da, db)
    check(divmod_mixed, [a, b, *empties(N, rt, rt), N], par(), outputs=[2, 3])


@parpy.jit
def divmod_float(a, b, q, r, q1, r1, q2, r2, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
        q1[i] = a[i] // 0.5
        r1[i] = a[i] % -1.5
        q2[i] = 3.0 // b[i]
        r2[i] = -3.0 % b[i]


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_floordiv_mod_float(rng, dtype):
    a = rng.rand(N, dtype, -10, 10)
    b = rng.rand(N, dtype, 0.25, 4) * np.where(rng.rand(N, np.bool_), 1, -1).astype(dtype)
    # Edge cases where floor(a / b) is not a // b (1.0 // 0.1 == 9.0), exact
    # quotients, and signed zeros.
    edge_a = [1.0, -1.0, 7.5, -7.5, 7.5, 0.0, -0.0, 6.0, -6.0, 0.3]
    edge_b = [0.1, 0.1, 2.0, 2.0, -2.0, -3.0, 3.0, 1.5, 1.5, 0.1]
    a[:10] = np.array(edge_a, dtype)
    b[:10] = np.array(edge_b, dtype)
    outs = empties(N, *[dtype] * 6)
    check(divmod_float, [a, b, *outs, N], par(), outputs=range(2, 8))


@parpy.jit
def true_division(a, b, q, q1, q2, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] / b[i]
        q1[i] = a[i] / 4
        q2[i] = 7 / b[i]


@pytest.mark.parametrize("dtype", INTS + FLOATS, ids=dtype_id)
def test_true_division(rng, dtype):
    """`/` is true division: ints give float64 (float dtypes keep theirs)."""
    kind = np.dtype(dtype).kind
    if kind == "u":
        a, b = rng.rand(N, dtype, 0, 100), rng.rand(N, dtype, 1, 9)
    elif kind == "i":
        a, b = rng.rand(N, dtype, -100, 100), rng.nonzero(N, dtype, -9, 9)
    else:
        a, b = rng.rand(N, dtype, -100, 100), rng.rand(N, dtype, 0.5, 9)
    rt = (np.ones(1, dtype) / np.ones(1, dtype)).dtype
    check(true_division, [a, b, *empties(N, rt, rt, rt), N], par(), outputs=[2, 3, 4])


# --- + - * and unary ops -----------------------------------------------------

@parpy.jit
def basic_ops(a, b, s, d, p, n, N):
    parpy.label('N')
    for i in range(N):
        s[i] = a[i] + b[i]
        d[i] = a[i] - b[i]
        p[i] = a[i] * b[i]
        n[i] = -a[i] + 2 * b[i] - 1


@pytest.mark.parametrize("dtype", SIGNED + FLOATS, ids=dtype_id)
def test_add_sub_mul_neg(rng, dtype):
    a = rng.rand(N, dtype, -11, 11)
    b = rng.rand(N, dtype, -11, 11)
    check(basic_ops, [a, b, *empties(N, *[dtype] * 4), N], par(), outputs=[2, 3, 4, 5])


@parpy.jit
def augmented(x, y, z, N):
    parpy.label('N')
    for i in range(N):
        y[i] += x[i]
        y[i] -= 1
        y[i] *= 3
        z[i] //= 2
        z[i] %= 5
        z[i] |= 8
        z[i] &= 14
        z[i] ^= 3
        z[i] <<= 1
        z[i] >>= 1


def test_augmented_assignment(rng):
    x = rng.rand(N, np.int32)
    y = rng.rand(N, np.int32)
    z = rng.rand(N, np.int16, -1000, 1000)
    check(augmented, [x, y, z, N], par())


@parpy.jit
def abs_values(a, b, c, N):
    parpy.label('N')
    for i in range(N):
        b[i] = abs(a[i])
        c[i] = parpy.operators.abs(a[i] - 1)


@pytest.mark.parametrize("dtype", SIGNED + FLOATS, ids=dtype_id)
def test_abs(rng, dtype):
    a = rng.rand(N, dtype, -100, 100)
    check(abs_values, [a, *empties(N, dtype, dtype), N], par(), outputs=[1, 2])


# --- bitwise -----------------------------------------------------------------

@parpy.jit
def bitwise(a, b, s, o1, o2, o3, o4, o5, o6, o7, o8, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = a[i] & b[i]
        o2[i] = a[i] | b[i]
        o3[i] = a[i] ^ b[i]
        o4[i] = ~a[i]
        o5[i] = a[i] << s[i]
        o6[i] = a[i] >> s[i]
        o7[i] = (a[i] & 12) | (b[i] ^ 5)
        o8[i] = (b[i] >> 1) + (a[i] << 2)


@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_bitwise(rng, dtype):
    a = rng.rand(N, dtype, 0, 15)
    b = rng.rand(N, dtype, -100, 100)
    s = rng.rand(N, dtype, 0, 3)
    if np.dtype(dtype).kind == "i":
        a[: N // 2] = -a[: N // 2]  # >> of negative numbers is arithmetic
    outs = empties(N, *[dtype] * 8)
    check(bitwise, [a, b, s, *outs, N], par(), outputs=range(3, 11))


@parpy.jit
def bool_bitwise(a, b, o1, o2, o3, o4, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = a[i] & b[i]
        o2[i] = a[i] | b[i]
        o3[i] = a[i] ^ b[i]
        o4[i] = ~a[i]


def test_bitwise_on_bools(rng):
    a = rng.rand(N, np.bool_)
    b = rng.rand(N, np.bool_)
    check(bool_bitwise, [a, b, *empties(N, *[np.bool_] * 4), N], par(), outputs=range(2, 6))


# --- comparisons and boolean operators ---------------------------------------

@parpy.jit
def comparisons(a, b, c, o1, o2, o3, o4, o5, o6, o7, o8, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = a[i] == b[i]
        o2[i] = a[i] != b[i]
        o3[i] = a[i] < b[i]
        o4[i] = a[i] <= b[i]
        o5[i] = a[i] > b[i]
        o6[i] = a[i] >= 3
        o7[i] = a[i] < b[i] <= c[i]
        o8[i] = 0 <= a[i] < 5 < b[i] + 10


@pytest.mark.parametrize("da,db", [
    (np.int8, np.int8), (np.uint16, np.uint16), (np.int64, np.int64),
    (np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64),
    (np.int8, np.uint8), (np.int32, np.float32), (np.uint8, np.float64),
], ids=lambda d: dtype_id(d))
def test_comparisons(rng, da, db):
    a = rng.rand(N, da, 0, 10)
    b = rng.rand(N, db, 0, 10)
    if np.dtype(da).kind == "f":
        a = np.round(a).astype(da)  # make == and != hit both ways
    c = rng.rand(N, db, 0, 10)
    outs = empties(N, *[np.bool_] * 8)
    check(comparisons, [a, b, c, *outs, N], par(), outputs=range(3, 11))


@parpy.jit
def bool_ops(x, y, m, o1, o2, o3, o4, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = x[i] > 0.0 and y[i] > 0.0
        o2[i] = x[i] > 0.5 or y[i] < -0.5 or m[i]
        o3[i] = not m[i] and not (x[i] < y[i])
        o4[i] = (i + 1 < N and x[i + 1] > x[i]) or (i > 0 and x[i - 1] > x[i])


def test_and_or_not_short_circuit(rng):
    """`and`/`or` short-circuit: x[i + 1] is never read for the last i."""
    x = rng.rand(N)
    y = rng.rand(N)
    m = rng.rand(N, np.bool_)
    check(bool_ops, [x, y, m, *empties(N, *[np.bool_] * 4), N], par(), outputs=range(3, 7))


@parpy.jit
def bool_arith(m, k, f, N):
    parpy.label('N')
    for i in range(N):
        k[i] = m[i] * 3 - 1
        f[i] = m[i] * 2.5


def test_bool_times_number_promotes(rng):
    """bool * Python int is int64 and bool * Python float is float64, as in NumPy."""
    m = rng.rand(N, np.bool_)
    check(bool_arith, [m, np.empty(N, np.int64), np.empty(N), N], par(), outputs=[1, 2])


# --- math functions ------------------------------------------------------------

@parpy.jit
def math_parpy_ops(x, p, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = parpy.operators.exp(x[i])
        o[1, i] = parpy.operators.log(p[i])
        o[2, i] = parpy.operators.sin(x[i])
        o[3, i] = parpy.operators.cos(x[i])
        o[4, i] = parpy.operators.tan(x[i])
        o[5, i] = parpy.operators.sqrt(p[i])
        o[6, i] = parpy.operators.tanh(x[i])
        o[7, i] = parpy.operators.abs(x[i])
        o[8, i] = parpy.operators.atan2(x[i], p[i] - 1.0)
        o[9, i] = parpy.operators.floor(x[i] * 3.0)
        o[10, i] = parpy.operators.ceil(x[i] * 3.0)
        o[11, i] = parpy.operators.max(x[i], p[i] - 1.0)
        o[12, i] = parpy.operators.min(x[i], p[i] - 1.0)


@parpy.jit
def math_numpy(x, p, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.exp(x[i])
        o[1, i] = np.log(p[i])
        o[2, i] = np.sin(x[i])
        o[3, i] = np.cos(x[i])
        o[4, i] = np.tan(x[i])
        o[5, i] = np.sqrt(p[i])
        o[6, i] = np.tanh(x[i])
        o[7, i] = np.abs(x[i])
        o[8, i] = np.arctan2(x[i], p[i] - 1.0)
        o[9, i] = np.floor(x[i] * 3.0)
        o[10, i] = np.ceil(x[i] * 3.0)
        o[11, i] = np.maximum(x[i], p[i] - 1.0)
        o[12, i] = np.minimum(x[i], p[i] - 1.0)


@parpy.jit
def math_module(x, p, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = math.exp(x[i])
        o[1, i] = math.log(p[i])
        o[2, i] = math.sin(x[i])
        o[3, i] = math.cos(x[i])
        o[4, i] = math.tan(x[i])
        o[5, i] = math.sqrt(p[i])
        o[6, i] = math.tanh(x[i])
        o[7, i] = abs(x[i])
        o[8, i] = math.atan2(x[i], p[i] - 1.0)
        o[9, i] = math.floor(x[i] * 3.0)
        o[10, i] = math.ceil(x[i] * 3.0)
        o[11, i] = max(x[i], p[i] - 1.0)
        o[12, i] = min(x[i], p[i] - 1.0)


@pytest.mark.parametrize("fn", [math_parpy_ops, math_numpy, math_module],
                         ids=["parpy", "numpy", "math"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_math_functions(rng, fn, dtype):
    x = rng.rand(N, dtype, -1.4, 1.4)
    p = rng.pos(N, dtype, 3.0)
    check(fn, [x, p, np.empty((13, N), dtype), N], par(), outputs=[2])


@parpy.jit
def math_f16(x, p, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = parpy.operators.exp(x[i])
        o[1, i] = parpy.operators.sqrt(p[i])
        o[2, i] = parpy.operators.sin(x[i]) + parpy.operators.cos(x[i])
        o[3, i] = parpy.operators.max(x[i], p[i] - 1.0)


def test_math_float16(rng):
    x = rng.rand(N, np.float16, -1, 1)
    p = rng.pos(N, np.float16, 3.0)
    check(math_f16, [x, p, np.empty((4, N), np.float16), N], par(), outputs=[2])


@parpy.jit
def math_mixed_weak(x, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = math.exp(x[i]) * x[i]
        o[1, i] = math.sqrt(2.0) * x[i]
        o[2, i] = x[i] * math.log(3.0) if x[i] > 0.0 else x[i] - math.exp(1.0)


def test_math_results_are_weak_floats(rng):
    """math.* return Python floats, which do not widen a float32 operand."""
    x = rng.rand(N, np.float32)
    check(math_mixed_weak, [x, np.empty((3, N), np.float32), N], par(), outputs=[1])


@parpy.jit
def infinities(x, o, N):
    parpy.label('N')
    for i in range(N):
        lo = parpy.operators.inf
        hi = -math.inf
        if x[i] < lo:
            lo = x[i]
        if x[i] > hi:
            hi = x[i]
        o[0, i] = lo
        o[1, i] = hi
        o[2, i] = parpy.operators.min(x[i] * 1e308 * 10.0, parpy.operators.inf)


def test_infinity_constants(rng):
    x = rng.rand(N)
    check(infinities, [x, np.empty((3, N)), N], par(), outputs=[1])
