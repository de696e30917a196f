"""Differential tests: NumPy 2 / NEP 50 type promotion, conversions, typed
scalars (NumPy scalars, 0-d arrays), dict arguments, module and closure
constants, force_int_size / force_float_size."""
import numpy as np
import pytest

import parpy
from harness import NUMERIC, check, dtype_id, options, rng  # noqa: F401

N = 128


def par():
    return {'N': parpy.threads(16)}


def result_dtype(op, da, db):
    """The dtype NumPy gives `a op b` for arrays of dtypes da, db."""
    return op(np.ones(1, da), np.ones(1, db)).dtype


# --- promotion between array elements ----------------------------------------

@parpy.jit
def mixed_ops(a, b, s, d, p, q, N):
    parpy.label('N')
    for i in range(N):
        s[i] = a[i] + b[i]
        d[i] = a[i] - b[i]
        p[i] = a[i] * b[i]
        q[i] = a[i] / b[i]


PAIRS = [
    (np.int8, np.int16), (np.int8, np.uint8), (np.uint8, np.int32), (np.uint16, np.uint64),
    (np.int32, np.uint32), (np.int64, np.uint64), (np.uint8, np.float16), (np.int8, np.float16),
    (np.int16, np.float16), (np.int16, np.float32), (np.int32, np.float32),
    (np.uint32, np.float32), (np.int64, np.float32), (np.uint64, np.float64),
    (np.float16, np.float32), (np.float16, np.float64), (np.float32, np.float64),
]


@pytest.mark.parametrize("da,db", PAIRS, ids=lambda d: dtype_id(d))
def test_promotion_between_dtypes(rng, da, db):
    """Result dtypes follow NumPy (e.g. int8 + uint8 -> int16, int32 + float32 ->
    float64): the outputs have those dtypes, so a narrower computation shows."""
    a = rng.rand(N, da, 6, 11)
    b = rng.rand(N, db, 1, 5)
    if np.dtype(db).kind == "f":
        b = rng.rand(N, db, 0.5, 5)
    outs = [np.empty(N, result_dtype(op, da, db))
            for op in (np.add, np.subtract, np.multiply, np.true_divide)]
    check(mixed_ops, [a, b, *outs, N], par(), outputs=[2, 3, 4, 5])


@parpy.jit
def add_into(a, b, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = a[i] + b[i]


@pytest.mark.parametrize("da,db,lo,hi", [
    (np.int32, np.float32, 2**24, 2**30),   # float64: exact; float32 would round
    (np.uint32, np.float32, 2**24, 2**31),
    (np.int64, np.float32, 2**40, 2**50),
    (np.int16, np.float16, 2049, 30000),    # float32
    (np.int8, np.uint8, 0, 127),            # int16: 127 + 255 does not wrap
    (np.int32, np.uint32, 0, 2**31 - 1),    # int64
], ids=["i32+f32", "u32+f32", "i64+f32", "i16+f16", "i8+u8", "i32+u32"])
def test_promotion_keeps_precision(rng, da, db, lo, hi):
    a = rng.rand(N, da, lo, hi)
    b = rng.rand(N, db, 0, 255) if np.dtype(db).kind == "u" else rng.rand(N, db, -1, 1)
    out = np.empty(N, result_dtype(np.add, da, db))
    check(add_into, [a, b, out, N], par(), outputs=[2])


@parpy.jit
def with_python_scalars(a, o1, o2, o3, o4, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = a[i] * 3 + 1
        o2[i] = a[i] * 0.5
        o3[i] = 40 - a[i]
        o4[i] = a[i] / 2


@pytest.mark.parametrize("dtype", NUMERIC, ids=dtype_id)
def test_python_scalars_are_weak(rng, dtype):
    """A Python int/float literal adopts the array's type: int8 * 3 stays int8,
    float16 * 0.5 stays float16, while int8 * 0.5 is float64."""
    a = rng.rand(N, dtype, 2, 30)
    sample = np.ones((), dtype)
    outs = [np.empty(N, np.asarray(v).dtype)
            for v in (sample * 3 + 1, sample * 0.5, 40 - sample, sample / 2)]
    check(with_python_scalars, [a, *outs, N], par(), outputs=[1, 2, 3, 4])


@parpy.jit
def scalar_params(a, k, f, o1, o2, N):
    parpy.label('N')
    for i in range(N):
        o1[i] = a[i] * k
        o2[i] = a[i] * f + k


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.float16, np.float32], ids=dtype_id)
def test_python_scalar_arguments_are_weak(rng, dtype):
    a = rng.rand(N, dtype, 1, 9)
    sample = np.ones((), dtype)
    outs = [np.empty(N, np.asarray(sample * 3).dtype),
            np.empty(N, np.asarray(sample * 1.25 + 3).dtype)]
    check(scalar_params, [a, 3, 1.25, *outs, N], par(), outputs=[3, 4])


@parpy.jit
def typed_scalar(a, s, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = a[i] * s + s


@pytest.mark.parametrize("adt,scalar", [
    (np.float16, np.float32(0.1)),           # float32 result, not float16
    (np.float32, np.float64(0.1)),           # float64 (np.float64 is strong)
    (np.int8, np.int16(100)),                # int16: 100 * 9 + 100 does not wrap
    (np.uint8, np.int8(3)),                  # int16
    (np.int32, np.float32(1.5)),             # float64
    (np.float16, np.array(0.1, np.float32)),  # 0-d array: float32
    (np.int8, np.array(100, np.int64)),      # 0-d array: int64
    (np.float32, np.array(0.1)),             # 0-d float64 array: float64
], ids=["f16*np.f32", "f32*np.f64", "i8*np.i16", "u8*np.i8", "i32*np.f32",
        "f16*0d-f32", "i8*0d-i64", "f32*0d-f64"])
def test_numpy_scalars_and_0d_arrays_are_strong(rng, adt, scalar):
    a = rng.rand(N, adt, 1, 9)
    rt = np.asarray(np.ones((), adt) * scalar + scalar).dtype
    check(typed_scalar, [a, scalar, np.empty(N, rt), N], par(), outputs=[2])


@parpy.jit
def scalar_bounds(x, y, n, lo):
    parpy.label('N')
    for i in range(lo, n):
        y[i] = x[i] + n


def test_numpy_scalar_and_0d_as_loop_bounds(rng):
    x = rng.rand(50, np.int32)
    y = rng.rand(50, np.int32)
    check(scalar_bounds, [x, y, np.int32(40), np.array(3, np.int16)], par())


# --- conversions -------------------------------------------------------------

@parpy.jit
def conversions(x, k, o_i32, o_int, o_f32, o_f64, o_i8, o_u8, o_b, o_bf, N):
    parpy.label('N')
    for i in range(N):
        o_i32[i] = np.int32(x[i])
        o_int[i] = int(x[i]) + int(2.9)
        o_f32[i] = parpy.operators.float32(x[i]) + np.float32(k[i])
        o_f64[i] = float(k[i]) / 3
        o_i8[i] = parpy.operators.int8(k[i] // 4)
        o_u8[i] = np.uint8(x[i] * x[i] * 1.5)
        o_b[i] = x[i]
        o_bf[i] = k[i] > 0


def test_conversions(rng):
    x = rng.rand(N, np.float64, -12, 12)
    x[:4] = [0.0, -0.5, 2.9999, -2.9999]
    k = rng.rand(N, np.int64, -500, 500)
    outs = [np.empty(N, dt) for dt in (np.int32, np.int64, np.float32, np.float64,
                                       np.int8, np.uint8, np.bool_, np.float64)]
    check(conversions, [x, k, *outs, N], par(), outputs=range(2, 10))


@parpy.jit
def store_converts(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]


@pytest.mark.parametrize("src,dst", [
    (np.float64, np.int32), (np.float32, np.int16), (np.float64, np.float16),
    (np.int64, np.int8), (np.int32, np.float32), (np.uint8, np.float16),
    (np.float64, np.bool_), (np.bool_, np.float32), (np.bool_, np.int64), (np.int16, np.bool_),
], ids=lambda d: dtype_id(d))
def test_store_converts_to_array_dtype(rng, src, dst):
    """Storing into an array converts like NumPy assignment (floats truncate)."""
    x = rng.rand(N, src, -100, 100)
    if np.dtype(src).kind == "f" and np.dtype(dst).kind in "iu":
        x[:3] = [-0.99, 0.99, -7.5]
    if np.dtype(src).kind != "b":
        x[3] = 0
    check(store_converts, [x, np.empty(N, dst), N], par(), outputs=[1])


@parpy.jit
def f16_arith(a, b, o, N):
    parpy.label('N')
    for i in range(N):
        t = a[i] * b[i] + 0.1
        t = t - a[i] / 3.0
        o[i] = t * t


def test_float16_arithmetic_rounds_like_numpy(rng):
    a = rng.rand(N, np.float16, -4, 4)
    b = rng.rand(N, np.float16, -4, 4)
    check(f16_arith, [a, b, np.empty(N, np.float16), N], par(), outputs=[2])


# --- dict arguments ----------------------------------------------------------

@parpy.jit
def dict_args(d, y, N):
    parpy.label('N')
    for i in range(d["n"]):
        y[i] = d["a"][i] * d["scale"] + d["b"][i] - d["offset"]


def test_dict_arguments(rng):
    d = {"a": rng.rand(N, np.float32), "b": rng.rand(N, np.float32),
         "scale": 2.5, "offset": 1, "n": N - 7}
    check(dict_args, [d, rng.rand(N, np.float32), N], par())


@parpy.jit
def dict_output(p, N):
    parpy.label('N')
    for i in range(N):
        p["out"][i] = p["in"][i] // p["k"]


def test_dict_array_written(rng):
    p = {"in": rng.rand(N, np.int32), "out": np.empty(N, np.int32), "k": np.int32(3)}
    check(dict_output, [p, N], par(), outputs=[(0, "out")])


# --- module and closure constants --------------------------------------------

SCALE = 3
OFFSET = 0.25
NEGATE = True


@parpy.jit
def module_constants(x, y, N):
    parpy.label('N')
    for i in range(N):
        if NEGATE:
            y[i] = -(x[i] * SCALE + OFFSET)
        else:
            y[i] = x[i] * SCALE + OFFSET


def test_module_constants(rng):
    x = rng.rand(N, np.float32)
    check(module_constants, [x, np.empty(N, np.float32), N], par(), outputs=[1])


def test_closure_constants(rng):
    factor = 7
    shift = -1.5
    enabled = False

    @parpy.jit
    def closure(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] * factor
            if enabled:
                y[i] = 0
            else:
                y[i] = y[i] + shift

    x = rng.rand(N, np.int16)
    check(closure, [x, np.empty(N, np.float64), N], par(), outputs=[1])


FROZEN = 2


@parpy.jit
def frozen_constant(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * FROZEN


def test_module_constant_frozen_at_first_compile(rng):
    """A module constant is read when the function is first compiled; later
    changes do not reach the already-compiled code (as in Numba)."""
    global FROZEN
    x = rng.rand(N, np.int32)
    y = np.zeros(N, np.int32)
    opts = options({'N': parpy.threads(8)})
    frozen_constant(x, y, N, opts=opts)
    np.testing.assert_array_equal(y, x * 2)
    FROZEN = 5
    try:
        frozen_constant(x, y, N, opts=opts)
        np.testing.assert_array_equal(y, x * 2)
    finally:
        FROZEN = 2


# --- force_int_size / force_float_size ----------------------------------------

@parpy.jit
def forced_sizes(x, k, y, z, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * 0.1 + k[i] * 1.5
        z[i] = i * 3 + k[i] // 2


@pytest.mark.parametrize("fields", [
    {"force_int_size": parpy.types.I32},
    {"force_float_size": parpy.types.F32},
    {"force_int_size": parpy.types.I32, "force_float_size": parpy.types.F32},
    {"force_int_size": parpy.types.I64, "force_float_size": parpy.types.F64},
], ids=["i32", "f32", "i32-f32", "i64-f64"])
def test_force_int_and_float_size(rng, fields):
    """Forced sizes change the C type of Python ints/floats; with small values
    the results still match the interpreter up to float32 rounding."""
    x = rng.rand(N, np.float64)
    k = rng.rand(N, np.int32)
    check(forced_sizes, [x, k, np.empty(N), np.empty(N, np.int64), N], par(),
          outputs=[2, 3], opts=fields, rtol=1e-6, atol=1e-6)


@parpy.jit
def python_ints_of_uint64(a, lo, wrapped, exact, N):
    parpy.label('N')
    for i in range(N):
        lo[i] = int(a[i]) - 1
        wrapped[i] = float(int(a[i]))
        exact[i] = float(a[i])


def test_int_of_uint64_is_a_64_bit_python_int():
    """int() gives a Python int, which is int64 here (README, Differences):
    `int(u) - 1` of a uint64 0 is -1 as in Python, and values from 2**63 up
    wrap, which the interpreter's unbounded ints do not (found by
    tools/fuzz.py on Cuda: math.erfc(int(~u)))."""
    a = np.array([0, 5, 2**63 - 1, 2**63, 2**64 - 6], np.uint64)
    outs = [np.zeros(5, np.int64), np.zeros(5), np.zeros(5)]
    python_ints_of_uint64(a, *outs, 5, opts=options({"N": parpy.threads(8)}))
    assert outs[0].tolist() == [-1, 4, 2**63 - 2, 2**63 - 1, -7]
    assert outs[1].tolist() == [0.0, 5.0, 2.0**63, -2.0**63, -6.0]
    assert outs[2].tolist() == [float(v) for v in a]
