"""bfloat16 (issue 13, item 8): load, store, arithmetic done in float32 and
rounded to bfloat16 after each operation (as PyTorch and ml_dtypes do),
conversions through float32, NumPy-2 promotion with ml_dtypes' bfloat16.

Three ways in:
  - ml_dtypes.bfloat16 NumPy arrays: the differential harness, the
    interpreter running on ml_dtypes' own bfloat16 arithmetic (skipped
    without ml_dtypes);
  - torch.bfloat16 tensors: the interpreter runs PyTorch's (skipped
    without torch);
  - parpy buffers of BF16 made from uint16 bits, checked against a NumPy
    oracle that rounds float32 to bfloat16 by hand: needs neither.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import parpy
from harness import BFLOAT16, check, marked_line, rng  # noqa: F401  (fixtures)
from parpy.operators import exp, sqrt, sum as psum, max as pmax, floor, tanh

T = parpy.threads
needs_ml = pytest.mark.skipif(BFLOAT16 is None, reason="needs ml_dtypes >= 0.7 (NumPy 2 rules for bfloat16)")


def bf(a):
    return np.asarray(a, np.float32).astype(BFLOAT16)


# ---------------------------------------------------------------------------
# A NumPy oracle for bfloat16 that needs no ml_dtypes: values as uint16 bits.

def to_bits(f32: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even, NaN kept quiet."""
    u = np.asarray(f32, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(f32, np.float32))
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)


def from_bits(b: np.ndarray) -> np.ndarray:
    return (np.asarray(b, np.uint16).astype(np.uint32) << 16).view(np.float32)


def test_oracle_rounds_to_nearest_even():
    one = np.float32(1.0)
    ulp = np.float32(2.0 ** -7)
    vals = np.array([one + ulp / 2, one + ulp * 1.5, one + ulp / 2 + 2.0 ** -20,
                     3.4e38, -3.4e38, np.inf, np.nan, -0.0, 1e-40], np.float32)
    got = from_bits(to_bits(vals))
    assert got[0] == 1.0 and got[1] == one + 2 * ulp and got[2] == one + ulp
    assert np.isinf(got[3]) and got[3] > 0 and np.isinf(got[4]) and got[4] < 0
    assert np.isnan(got[6]) and np.signbit(got[7])
    if BFLOAT16 is not None:  # the same as ml_dtypes' rounding
        x = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
        np.testing.assert_array_equal(to_bits(x), x.astype(BFLOAT16).view(np.uint16))


def bf_buffer(f32: np.ndarray):
    """A Cpu buffer of BF16 holding `f32` rounded (no ml_dtypes needed)."""
    b = parpy.buffer.from_array(to_bits(f32), parpy.CompileBackend.Cpu)
    return b.with_type(parpy.types.BF16)


def bits_of(buf) -> np.ndarray:
    return buf.with_type(parpy.types.U16).numpy().copy()


@parpy.jit
def fma_chain(x, y, z, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = x[i] * y[i] + z[i]


@parpy.jit
def mixed(x, h, f, i8, out32, outh, N):
    parpy.label('N')
    for i in range(N):
        out32[i] = x[i] + h[i] + f[i]     # bf16 + f16 -> f32, + f32 -> f32
        outh[i] = x[i] * 0.1 + i8[i] - 3  # stays bfloat16


def test_buffers_without_ml_dtypes(rng):
    """The rounding after each operation, checked bit for bit against the
    NumPy oracle on BF16 buffers (what CI runs without ml_dtypes or torch)."""
    n = 257
    xs = [rng.rand(n, np.float32, -4, 4) for _ in range(3)]
    bx, by, bz = (bf_buffer(v) for v in xs)
    out = parpy.buffer.zeros(n, parpy.types.BF16, parpy.CompileBackend.Cpu)
    opts = parpy.par({'N': T(64)})
    opts.backend = parpy.CompileBackend.Cpu
    fma_chain(bx, by, bz, out, n, opts=opts)
    x, y, z = (from_bits(to_bits(v)) for v in xs)
    want = to_bits(from_bits(to_bits(x * y)) + z)  # two roundings: product, then sum
    np.testing.assert_array_equal(bits_of(out), want)


def test_buffer_mixed_promotion_without_ml_dtypes(rng):
    n = 100
    x = from_bits(to_bits(rng.rand(n, np.float32, -4, 4)))
    h = rng.rand(n, np.float16, -4, 4)
    f = rng.rand(n, np.float32, -4, 4)
    i8 = rng.rand(n, np.int8)
    out32 = np.zeros(n, np.float32)
    outh = parpy.buffer.zeros(n, parpy.types.BF16, parpy.CompileBackend.Cpu)
    opts = parpy.par({'N': T(8)})
    opts.backend = parpy.CompileBackend.Cpu
    mixed(bf_buffer(x), h, f, i8, out32, outh, n, opts=opts)
    np.testing.assert_array_equal(out32, (x + h.astype(np.float32)) + f)
    tenth = from_bits(to_bits(np.float32(0.1)))
    prod = from_bits(to_bits(x * tenth))
    s = from_bits(to_bits(prod + from_bits(to_bits(i8.astype(np.float32)))))
    np.testing.assert_array_equal(bits_of(outh), to_bits(s - np.float32(3)))


# ---------------------------------------------------------------------------
# The differential harness on ml_dtypes arrays.

@parpy.jit
def arith(x, y, out, cmp, N):
    parpy.label('N')
    for i in range(N):
        t = x[i] - y[i] / 3.0
        out[i, 0] = t * t
        out[i, 1] = -x[i] // y[i]
        out[i, 2] = x[i] % y[i]
        out[i, 3] = x[i] ** 2 + abs(y[i])
        out[i, 4] = max(x[i], y[i]) if x[i] < 0.5 else y[i] + 1
        cmp[i] = x[i] >= y[i]


@needs_ml
def test_arithmetic(rng):
    n = 200
    check(arith, [rng.rand(n, BFLOAT16, -4, 4), rng.nonzero(n, BFLOAT16, -4, 4),
                  np.zeros((n, 5), BFLOAT16), np.zeros(n, np.bool_), n], {'N': T(32)},
          outputs=[2, 3])


@needs_ml
def test_rounding_after_each_operation_is_exact(rng):
    """The compiled code rounds where ml_dtypes does: bit-equal results."""
    n = 300
    args = [rng.rand(n, BFLOAT16, -8, 8) for _ in range(3)] + [np.zeros(n, BFLOAT16), n]
    ref, got = check(fma_chain, args, {'N': T(64)}, outputs=[3], rtol=0, atol=0)
    np.testing.assert_array_equal(got[3].view(np.uint16), ref[3].view(np.uint16))


@parpy.jit
def math_fns(x, out, N):
    parpy.label('N')
    for i in range(N):
        out[i, 0] = exp(x[i])
        out[i, 1] = sqrt(abs(x[i]))
        out[i, 2] = tanh(x[i]) * 2
        out[i, 3] = floor(x[i] * 4.0)
        out[i, 4] = np.sin(x[i]) + np.log(abs(x[i]) + 1.0)


@needs_ml
def test_math_functions_in_float32(rng):
    n = 200
    check(math_fns, [rng.rand(n, BFLOAT16, -3, 3), np.zeros((n, 5), BFLOAT16), n],
          {'N': T(32)}, outputs=[1])


@parpy.jit
def promotions(x, h, f, d, i8, i16, i32, u8, b, out, N):
    parpy.label('N')
    for i in range(N):
        out[i, 0] = x[i] + h[i]      # float32
        out[i, 1] = x[i] + f[i]      # float32
        out[i, 2] = x[i] + d[i]      # float64
        out[i, 3] = x[i] + i8[i]     # bfloat16
        out[i, 4] = x[i] + i16[i]    # float32 (NumPy's rule, as for float16)
        out[i, 5] = x[i] + i32[i]    # float64
        out[i, 6] = x[i] + u8[i]     # bfloat16
        out[i, 7] = x[i] * b[i]      # bfloat16
        out[i, 8] = x[i] * 0.3 + i   # weak Python scalars: bfloat16


@needs_ml
def test_promotion_as_numpy_with_ml_dtypes(rng):
    n = 64
    args = [rng.rand(n, BFLOAT16, -4, 4), rng.rand(n, np.float16, -4, 4),
            rng.rand(n, np.float32, -4, 4), rng.rand(n, np.float64, -4, 4),
            rng.rand(n, np.int8), rng.rand(n, np.int16, -3000, 3000),
            rng.rand(n, np.int32, -100000, 100000), rng.rand(n, np.uint8),
            rng.rand(n, np.bool_), np.zeros((n, 9), np.float64), n]
    # float64 output: each column keeps the value computed in its type
    check(promotions, args, {'N': T(16)}, outputs=[9], rtol=0, atol=0)


@parpy.jit
def promotion_types(x, h, i16, out, N):
    parpy.label('N')
    for i in range(N):
        a = x[i] + h[i]
        b = x[i] + i16[i]
        c = x[i] * 3
        out[i] = np.float64(a) + np.float64(b) + np.float64(c)


def test_promoted_types_are_printed():
    n = 4
    x = parpy.buffer.zeros(n, parpy.types.BF16, parpy.CompileBackend.Cpu)
    code = parpy.print_compiled(promotion_types, [x, np.zeros(n, np.float16),
                                                  np.zeros(n, np.int16), np.zeros(n), n],
                                parpy.par({'N': T(4)}))
    assert "float a = " in code and "float b = " in code and "parpy_bf16 c = " in code


@parpy.jit
def conversions(x, xi, d, i64, out_i32, out_u8, out_h, out_d, out_b, out_x, N):
    parpy.label('N')
    for i in range(N):
        out_i32[i] = xi[i]
        out_u8[i] = abs(xi[i])  # ml_dtypes clamps negatives to 0, NumPy wraps
        out_h[i] = x[i]
        out_d[i] = x[i]
        out_b[i] = x[i]
        out_x[i, 0] = d[i]
        out_x[i, 1] = i64[i]
        out_x[i, 2] = np.float32(d[i])
        out_x[i, 3] = out_h[i]


@needs_ml
def test_conversions_to_and_from_every_type(rng):
    n = 40
    x = rng.rand(n, BFLOAT16, -200, 200)
    x[:6] = bf([np.nan, np.inf, -np.inf, 0.0, -0.0, 255.5])
    xi = rng.rand(n, BFLOAT16, -200, 200)  # finite: NumPy refuses NaN to int
    # float64 values whose rounding differs from rounding through float32
    # (what PyTorch does; ml_dtypes rounds once), overflow, NaN, underflow
    d = rng.rand(n, np.float64, -1e5, 1e5)
    d[:5] = [1 + 2.0 ** -8 + 2.0 ** -30, np.nan, 3.5e38, -1e300, 2.0 ** -140]
    i64 = rng.rand(n, np.int64, -2 ** 40, 2 ** 40)
    i64[:2] = [2 ** 62 + 1, -(2 ** 63)]
    ref, got = check(conversions, [x, xi, d, i64, np.zeros(n, np.int32), np.zeros(n, np.uint8),
                                   np.zeros(n, np.float16), np.zeros(n), np.zeros(n, np.bool_),
                                   np.zeros((n, 4), BFLOAT16), n],
                     {'N': T(8)}, outputs=[4, 5, 6, 7, 8, 9], rtol=0, atol=0)
    np.testing.assert_array_equal(got[9].view(np.uint16)[1:], ref[9].view(np.uint16)[1:])
    assert np.isnan(got[9][1, 0].astype(np.float32)) and np.isnan(got[7][0])
    # 1 + 2**-8 + 2**-30 rounds once (ml_dtypes), up; through float32 it would tie to 1
    assert got[9][0, 0] == 1 + 2.0 ** -7


@parpy.jit
def row_sums(x, out, mx, N):
    parpy.label('N')
    for i in range(N):
        out[i] = psum(x[i, :])
        mx[i] = pmax(x[i, :])


@needs_ml
def test_slice_reductions_accumulate_in_float32(rng):
    # small integers: every partial sum is exact in bfloat16 too
    n = 16
    x = rng.rand((n, 24), np.int8, -8, 8).astype(BFLOAT16)
    check(row_sums, [x, np.zeros(n, BFLOAT16), np.zeros(n, BFLOAT16), n], {'N': T(4)},
          outputs=[1, 2], rtol=0, atol=0)


def test_slice_sum_uses_a_float32_accumulator():
    x = parpy.buffer.zeros((4, 8), parpy.types.BF16, parpy.CompileBackend.Cpu)
    out = parpy.buffer.zeros(4, parpy.types.BF16, parpy.CompileBackend.Cpu)
    code = parpy.print_compiled(row_sums, [x, out, out, 4], parpy.par({'N': T(4)}))
    assert "float acc" in code and "out[i] = parpy_f32_to_bf16(acc" in code


@parpy.jit
def scalar_arg(x, s, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = x[i] * s + 1.0


@needs_ml
def test_bfloat16_scalar_argument(rng):
    n = 50
    check(scalar_arg, [rng.rand(n, BFLOAT16), BFLOAT16(1.7), np.zeros(n, BFLOAT16), n],
          {'N': T(8)}, outputs=[2], rtol=0, atol=0)
    check(scalar_arg, [rng.rand(n, BFLOAT16), np.array(-2.3, BFLOAT16), np.zeros(n, BFLOAT16),
                       n], {'N': T(8)}, outputs=[2], rtol=0, atol=0)


@parpy.jit
def local_and_loop(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        acc = x[i, 0]
        for j in range(1, M):
            acc = acc * 0.5 + x[i, j]
        out[i] = acc


@needs_ml
def test_sequential_bfloat16_local_rounds_each_step(rng):
    n, m = 32, 20
    check(local_and_loop, [rng.rand((n, m), BFLOAT16, -2, 2), np.zeros(n, BFLOAT16), n, m],
          {'N': T(8)}, outputs=[1], rtol=0, atol=0)


@parpy.jit
def weighted_hist(b, w, h, N):
    parpy.label('N')
    for i in range(N):
        h[b[i]] += w[i]


@parpy.jit
def f32_total(x, s, N):
    parpy.label('N')
    for i in range(N):
        s[0] += x[i]


@needs_ml
def test_bfloat16_values_into_float32_reductions(rng):
    """What the refusals point to: bfloat16 values added into float32
    targets, atomically (a histogram) or by a parallel reduction."""
    n = 5000
    w = rng.rand(n, np.int8, 0, 3).astype(BFLOAT16)  # whole numbers: exact in any order
    h = rng.rand(37, np.int8, 0, 2).astype(np.float32)
    check(weighted_hist, [rng.rand(n, np.int32, 0, 36), w, h, n],
          {'N': T(1024).reduce()}, rtol=0, atol=0)
    check(f32_total, [w, np.zeros(1, np.float32), n], {'N': T(256).reduce()}, rtol=0, atol=0)


# ---------------------------------------------------------------------------
# PyTorch tensors

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@parpy.jit
def torch_prog(x, y, out, out32, N):
    parpy.label('N')
    for i in range(N):
        out[i] = x[i] * y[i] + 2.5
        out32[i] = x[i] - y[i] * 3


def test_torch_bfloat16_tensors(torch):
    n = 500
    x = torch.randn(n, dtype=torch.bfloat16)
    y = torch.randn(n, dtype=torch.bfloat16)
    out, ref = torch.zeros(n, dtype=torch.bfloat16), torch.zeros(n, dtype=torch.bfloat16)
    o32, r32 = torch.zeros(n), torch.zeros(n)
    opts = parpy.par({'N': T(64)})
    opts.backend = parpy.CompileBackend.Cpu
    torch_prog(x, y, out, o32, n, opts=opts)
    torch_prog(x, y, ref, r32, n, seq=True)
    assert torch.equal(out.view(torch.int16), ref.view(torch.int16))
    assert torch.equal(o32, r32)


def test_torch_dtype_and_elemsize(torch):
    assert parpy.types.BF16.to_torch() is torch.bfloat16
    assert parpy.types.BF16.size() == 2 and parpy.types.BF16.is_float()


# ---------------------------------------------------------------------------
# What is refused

@parpy.jit
def bf16_reduce(x, s, N):
    parpy.label('N')
    for i in range(N):  # ERR
        s[0] += x[i]


@parpy.jit
def bf16_hist(b, h, N):
    parpy.label('N')
    for i in range(N):
        h[b[i]] += 1.0  # ERR


@parpy.jit
def bf16_print(x, N):
    parpy.label('N')
    for i in range(N):
        print(x[i])  # ERR


def cpu_buf(*shape, e=parpy.types.BF16):
    return parpy.buffer.zeros(shape, e, parpy.CompileBackend.Cpu)


def cpu_par(par):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cpu
    return opts


def test_bfloat16_reduction_target_is_refused():
    with pytest.raises(parpy.ParPyTypeError, match="accumulates into a bfloat16") as e:
        bf16_reduce(cpu_buf(10), cpu_buf(1), 10, opts=cpu_par({'N': T(4).reduce()}))
    assert e.value.line == marked_line(bf16_reduce)


def test_bfloat16_atomic_update_is_refused():
    with pytest.raises(parpy.ParPyTypeError, match="atomic update of a bfloat16") as e:
        bf16_hist(np.zeros(10, np.int64), cpu_buf(4), 10, opts=cpu_par({'N': T(4).reduce()}))
    assert e.value.line == marked_line(bf16_hist)


def test_bfloat16_print_is_refused():
    with pytest.raises(parpy.ParPyTypeError, match="print.. of a bfloat16") as e:
        bf16_print(cpu_buf(3), 3, opts=cpu_par({'N': T(4)}))
    assert e.value.line == marked_line(bf16_print)


def test_cuda_prints_the_software_conversions():
    """Cuda runs bfloat16 with the Cpu's conversions (not <cuda_bf16.h>), so
    the two round alike; it needs no opt-in since it passed on an H200."""
    opts = parpy.par({'N': T(8)})
    opts.backend = parpy.CompileBackend.Cuda
    code = parpy.print_compiled(fma_chain, [cpu_buf(8), cpu_buf(8), cpu_buf(8), cpu_buf(8), 8],
                                opts)
    assert "parpy_f32_to_bf16(" in code and "parpy_bf16_to_f32(" in code
    assert "cuda_bf16" not in code and "__nv_bfloat16" not in code


def test_metal_refuses_bfloat16():
    opts = parpy.par({'N': T(8)})
    opts.backend = parpy.CompileBackend.Metal
    with pytest.raises(parpy.ParPyError, match="bfloat16"):
        parpy.print_compiled(fma_chain, [cpu_buf(8), cpu_buf(8), cpu_buf(8), cpu_buf(8), 8], opts)


# ---------------------------------------------------------------------------
# On the GPU (the lead's run: python3 -m pytest -m cuda tests/test_diff_bfloat16.py)

CUDA = parpy.CompileBackend.Cuda
needs_cuda = pytest.mark.skipif(not parpy.backend.is_enabled(CUDA),
                                reason="the Cuda backend is not enabled")


@pytest.mark.cuda
@needs_cuda
@needs_ml
def test_cuda_differential(rng):
    n = 3000
    check(arith, [rng.rand(n, BFLOAT16, -4, 4), rng.nonzero(n, BFLOAT16, -4, 4),
                  np.zeros((n, 5), BFLOAT16), np.zeros(n, np.bool_), n], {'N': T(256)},
          outputs=[2, 3], backend=CUDA)
    args = [rng.rand(n, BFLOAT16, -8, 8) for _ in range(3)] + [np.zeros(n, BFLOAT16), n]
    ref, got = check(fma_chain, args, {'N': T(1024)}, outputs=[3], rtol=0, atol=0,
                     backend=CUDA)
    np.testing.assert_array_equal(got[3].view(np.uint16), ref[3].view(np.uint16))
    check(math_fns, [rng.rand(n, BFLOAT16, -3, 3), np.zeros((n, 5), BFLOAT16), n],
          {'N': T(256)}, outputs=[1], backend=CUDA)
    x = rng.rand((64, 200), np.int8, -8, 8).astype(BFLOAT16)
    check(row_sums, [x, np.zeros(64, BFLOAT16), np.zeros(64, BFLOAT16), 64], {'N': T(64)},
          outputs=[1, 2], rtol=0, atol=0, backend=CUDA)


@parpy.jit
def gpu_row_sums(x, out, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = psum(x[i, :])


@pytest.mark.cuda
@needs_cuda
def test_cuda_torch_tensors_in_place(torch):
    if not torch.cuda.is_available():
        pytest.skip("PyTorch without CUDA")
    n = 1 << 20
    x, y = (torch.randn(n, dtype=torch.bfloat16, device="cuda") for _ in range(2))
    z = torch.randn(n, dtype=torch.bfloat16, device="cuda")
    out = torch.zeros(n, dtype=torch.bfloat16, device="cuda")
    opts = parpy.par({'N': T(n)})
    opts.backend = CUDA
    fma_chain(x, y, z, out, n, opts=opts)
    want = x * y + z  # PyTorch's eager kernels: two roundings
    assert torch.equal(out.view(torch.int16), want.view(torch.int16))
    m = torch.randint(-8, 9, (256, 4096), device="cuda").to(torch.bfloat16)
    s = torch.zeros(256, dtype=torch.bfloat16, device="cuda")
    opts = parpy.par({'N': T(256), 'M': T(1024)})
    opts.backend = CUDA
    gpu_row_sums(m, s, 256, opts=opts)  # a block reduction in float32, exact here
    assert torch.equal(s, m.float().sum(dim=1).to(torch.bfloat16))


@parpy.jit
def convert_op(x, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = parpy.operators.bfloat16(x[i] * 3.0) * 2


@needs_ml
def test_operators_bfloat16_converts(rng):
    assert parpy.operators.bfloat16 is BFLOAT16
    n = 30
    check(convert_op, [rng.rand(n, np.float64), np.zeros(n, np.float32), n], {'N': T(8)},
          outputs=[1], rtol=0, atol=0)


def test_compiled_library_is_found_again_in_a_new_process(tmp_path):
    """The signature (x:bf16[...]) reads back: a fresh process loads the
    library from the disk cache instead of compiling."""
    import os
    import subprocess
    import sys
    script = tmp_path / "again.py"
    script.write_text(
        "import sys, numpy as np, parpy\n"
        f"sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from test_diff_bfloat16 import fma_chain, bf_buffer, bits_of\n"
        "x = bf_buffer(np.arange(8, dtype=np.float32) / 3)\n"
        "out = parpy.buffer.zeros(8, parpy.types.BF16, parpy.CompileBackend.Cpu)\n"
        "o = parpy.par({'N': parpy.threads(8)}); o.backend = parpy.CompileBackend.Cpu\n"
        "fma_chain(x, x, x, out, 8, opts=o)\n"
        "print(list(bits_of(out)))\n")
    env = dict(os.environ, PARPY_CACHE_DIR=str(tmp_path / "cache"))

    def libs():
        return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_ino
                for d, _, fs in os.walk(tmp_path / "cache") for f in fs if f.endswith(".so")}

    runs = []
    for _ in range(2):
        runs.append(subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                                   text=True, timeout=300))
        assert runs[-1].returncode == 0, runs[-1].stderr
        if len(runs) == 1:
            first = libs()
    assert runs[0].stdout == runs[1].stdout
    assert len(first) == 1 and libs() == first  # the same file: not built again
