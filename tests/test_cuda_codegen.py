"""Generated CUDA code, checked without a GPU: print_compiled for the Cuda
backend works anywhere, its output compiles with `nvcc -c` (skipped where
nvcc is missing), and the mapping of loops onto the grid is the documented
one.  Running the code is tested on a GPU by the differential suite
(PARPY_TEST_BACKEND=Cuda) and tests marked `cuda`."""
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import parpy
from harness import needs_nvcc, nvcc_compile
from programs import axpy, host_loop, row_sums, softmax, total
from parpy.operators import exp, max as pmax, sum as psum
from test_diff_structure import (bound_from_written_element, bound_on_host, hmm_forward,
                                 pick_per_element, swap_rows, swap_steps)


@pytest.fixture(autouse=True)
def _nvcc_form(monkeypatch):
    """These tests read and compile the code printed for nvcc (the NVRTC
    form is tests/test_cuda_nvrtc.py's)."""
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvcc")

T = parpy.threads


def cuda(par, **fields):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cuda
    for k, v in fields.items():
        setattr(opts, k, v)
    return opts


def f32(*shape):
    return np.zeros(shape, np.float32)


@parpy.jit
def element_half_powers(x, y, h, N):
    parpy.label('N')
    for i in range(N):
        x[i] = x[i] ** 0.5
        y[i] = y[i] ** 0.5
        h[i] = h[i] ** 0.5


# --- programs --------------------------------------------------------------

@parpy.jit
def add2(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[i, j] += x[i, j]


@parpy.jit
def add4(x, y):
    parpy.label('A')
    for a in range(3):
        parpy.label('B')
        for b in range(4):
            parpy.label('C')
            for c in range(5):
                parpy.label('D')
                for d in range(70):
                    y[a, b, c, d] = x[a, b, c, d] * 2.0


@parpy.jit
def steps(x, y, N):
    parpy.label('N')
    for i in range(N - 1, -1, -3):
        y[i] = x[i] + 1.0


@parpy.jit
def split_nest(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            x[i, j] = x[i, j] + 1.0
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, M - 1 - j]


@parpy.jit
def explicit_reduction(x, out, N):
    parpy.label('N')
    for i in range(N):
        out[0] = max(out[0], x[i])


@parpy.jit
def gpu_block(x, N):
    with parpy.gpu:
        for i in range(1, N):
            x[i] += x[i - 1]


@parpy.jit
def half_and_ints(h, i8, u16, i64, N):
    parpy.label('N')
    for i in range(N):
        h[i] = h[i] * h[i] + parpy.operators.float16(1.0)
        i8[i] = i8[i] // 3 - i8[i] % 5
        u16[i] = u16[i] << 2
        i64[i] = i64[i] ** 2


@parpy.jit
def dict_arg(d, N):
    parpy.label('N')
    for i in range(N):
        d["y"][i] = d["x"][i] * d["k"]


# Functions named like what the CUDA and C++ headers declare (clock is a
# device function, time/index/random/select host functions of libc): the
# generated code puts its own in a namespace, so they neither clash nor make
# calls ambiguous.
@parpy.jit
def clock(v: parpy.types.F32) -> parpy.types.F32:
    return v * 2.0


@parpy.jit
def time(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = clock(x[i])


@parpy.jit
def index(x, N):
    parpy.label('N')
    for i in range(N):
        x[i] = clock(x[i])


@parpy.jit
def random(x):
    with parpy.gpu:
        x[0] = clock(x[1])


@parpy.jit
def mathlib(x, p, i8, o, oi, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = np.log2(p[i]) + np.log10(p[i]) + np.log1p(p[i]) + np.expm1(x[i])
        o[1, i] = np.exp2(x[i]) + np.arcsin(x[i]) + np.arccos(x[i]) + np.arctan(x[i])
        o[2, i] = np.sinh(x[i]) + np.cosh(x[i]) + np.arcsinh(x[i]) + np.arctanh(x[i] * 0.5)
        o[3, i] = math.erf(x[i]) + math.erfc(x[i]) + math.gamma(p[i]) + math.lgamma(p[i])
        o[4, i] = np.cbrt(x[i]) + np.radians(x[i]) + np.degrees(x[i]) + np.rint(x[i])
        o[5, i] = np.hypot(x[i], p[i]) + np.copysign(x[i], p[i]) + np.fmod(x[i], p[i])
        o[6, i] = np.fmax(x[i], p[i]) + np.fmin(x[i], p[i]) + np.trunc(x[i]) + round(x[i])
        o[7, i] = np.sign(x[i]) + np.square(x[i]) + np.reciprocal(p[i]) + np.arccosh(p[i] + 1.0)
        o[8, i] = np.where(np.isnan(x[i]) or np.isinf(x[i]), 0.0, np.clip(x[i], -1.0, 1.0))
        o[9, i] = np.mean(x[:]) + np.var(x[:]) + np.std(x[:]) + x[:] @ p[:]
        oi[0, i] = np.fmod(i8[i], 3) + np.sign(i8[i]) + np.square(i8[i]) + np.fmax(i8[i], 2)
        oi[1, i] = np.isfinite(i8[i]) + np.trunc(i8[i]) + np.logical_and(i8[i], 1)


@parpy.jit
def scatter_all(idx, x, s, p, mx, mn, bo, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        s[k] += x[i]
        p[k] *= x[i]
        mx[k] = max(mx[k], x[i])
        mn[k] = min(mn[k], x[i])
        bo[k] |= x[i] > 0


@parpy.jit
def scatter_bits(idx, x, a, N):
    parpy.label('N')
    for i in range(N):
        a[idx[i]] &= x[i]
        a[idx[i]] |= x[i]
        a[idx[i]] ^= x[i]


def scatter_args(dt):
    return [np.zeros(64, np.int64), np.zeros(64, dt), np.zeros(8, dt), np.zeros(8, dt),
            np.zeros(8, dt), np.zeros(8, dt), np.zeros(8, np.bool_), 64]


@parpy.jit
def local_arrays(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        counts = np.zeros(8, np.int32)
        t = np.empty((2, 4), np.float16)
        m = pmax(x[i, :])
        e = exp(x[i, :] - m)
        for j in range(M):
            counts[j % 8] += 1
            t[j % 2, j % 4] = x[i, j]
        y[i, :] = e[:] / psum(e[:]) + counts[3] + t[1, 1]


@parpy.jit
def outer_products(A, u1, v1, B):
    parpy.label('N')
    parpy.label('M')
    B[:, :] = A[:, :] + u1[:, None] * v1[None, :] + u1[:, np.newaxis] * v1[np.newaxis, :]


@parpy.jit
def prints(x, xi, xh, N):
    print("start", N, 2.5)
    parpy.label('N')
    for i in range(N):
        print("i =", i, x[i], xi[i], xh[i], x[i] > 0.5, "100%")


@parpy.jit
def bfloat16_ops(x, y, h, out, out32, rows, N, M):
    parpy.label('N')
    for i in range(N):
        out[i] = x[i] * y[i, 0] + 0.5
        out32[i] = exp(x[i]) + h[i] + np.float64(y[i, 1] // 3)
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        rows[i] = pmax(y[i, :])
        parpy.label('M')
        out[i] = psum(y[i, :])  # a block reduction, in float32


def bf16(*shape):
    """Buffers of BF16 (no ml_dtypes needed): only printed here."""
    return parpy.buffer.zeros(shape, parpy.types.BF16, parpy.CompileBackend.Cpu)


@parpy.jit
def zero_d_out(x, t, N):
    parpy.label('N')
    for i in range(N):
        x[i] = x[i] * t
    with parpy.gpu:
        t[()] += x[0]
        t[...] = t * 2.0


PROGRAMS = [
    ("axpy", axpy, [2.0, f32(3000), f32(3000), 3000], {'N': T(2048)}, {}),
    ("add2", add2, [f32(100, 70), f32(100, 70), 100, 70], {'N': T(100), 'M': T(64)}, {}),
    ("add4", add4, [f32(3, 4, 5, 70), f32(3, 4, 5, 70)],
     {'A': T(3), 'B': T(4), 'C': T(5), 'D': T(64)}, {}),
    ("steps", steps, [f32(100), f32(100), 100], {'N': T(7)}, {}),
    ("host_loop", host_loop, [f32(50), 4, 50], {'N': T(32)}, {}),
    ("split_nest", split_nest, [f32(8, 3000), f32(8, 3000), 8, 3000],
     {'N': T(8), 'M': T(2048)}, {}),
    ("row_sums", row_sums, [f32(100, 512), f32(100), 100], {'N': T(100), 'M': T(128)}, {}),
    ("row_sums_blocks", row_sums, [f32(10, 5000), f32(10), 10],
     {'N': T(10), 'M': T(4096).tpb(512)}, {}),
    ("softmax", softmax, [f32(64, 256), f32(64, 256), 64], {'N': T(64), 'M': T(256)}, {}),
    ("total", total, [f32(1 << 16), f32(1)], {'N': T(8192)}, {}),
    ("total_cluster", total, [f32(1 << 16), f32(1)], {'N': T(4096).tpb(512)},
     {"use_cuda_thread_block_clusters": True}),
    ("total_cluster16", total, [f32(1 << 16), f32(1)], {'N': T(4096).tpb(256)},
     {"use_cuda_thread_block_clusters": True, "max_thread_blocks_per_cluster": 16}),
    ("explicit_reduction", explicit_reduction, [f32(1000), f32(1), 1000],
     {'N': T(256).reduce()}, {}),
    ("gpu_block", gpu_block, [f32(10), 10], {}, {}),
    ("host_loop_graph", host_loop, [f32(50), 4, 50], {'N': T(32)}, {"use_cuda_graphs": True}),
    ("total_graph", total, [f32(1 << 16), f32(1)], {'N': T(8192)}, {"use_cuda_graphs": True}),
    ("half_and_ints", half_and_ints,
     [np.zeros(40, np.float16), np.zeros(40, np.int8), np.zeros(40, np.uint16),
      np.zeros(40, np.int64), 40], {'N': T(40)}, {}),
    ("time", time, [f32(30), f32(30), 30], {'N': T(32)}, {}),
    ("index", index, [np.zeros(30, np.int64), 30], {'N': T(32)}, {}),
    ("random", random, [f32(4)], {}, {}),
    ("mathlib_f32", mathlib, [f32(64), f32(64), np.zeros(64, np.int8), f32(10, 64),
                              np.zeros((2, 64), np.int8), 64], {'N': T(64)}, {}),
    ("mathlib_f64", mathlib, [np.zeros(64), np.zeros(64), np.zeros(64, np.int8),
                              np.zeros((10, 64)), np.zeros((2, 64), np.int16), 64],
     {'N': T(64)}, {}),
    ("mathlib_f16", mathlib, [np.zeros(64, np.float16), np.zeros(64, np.float16),
                              np.zeros(64, np.int8), np.zeros((10, 64), np.float16),
                              np.zeros((2, 64), np.uint8), 64], {'N': T(64)}, {}),
    ("scatter_int8", scatter_all, scatter_args(np.int8), {'N': T(64).reduce()}, {}),
    ("scatter_int16", scatter_all, scatter_args(np.int16), {'N': T(64).reduce()}, {}),
    ("scatter_int32", scatter_all, scatter_args(np.int32), {'N': T(64).reduce()}, {}),
    ("scatter_int64", scatter_all, scatter_args(np.int64), {'N': T(64).reduce()}, {}),
    ("scatter_uint8", scatter_all, scatter_args(np.uint8), {'N': T(64).reduce()}, {}),
    ("scatter_uint16", scatter_all, scatter_args(np.uint16), {'N': T(64).reduce()}, {}),
    ("scatter_uint32", scatter_all, scatter_args(np.uint32), {'N': T(64).reduce()}, {}),
    ("scatter_uint64", scatter_all, scatter_args(np.uint64), {'N': T(64).reduce()}, {}),
    ("scatter_float16", scatter_all, scatter_args(np.float16), {'N': T(64).reduce()}, {}),
    ("scatter_float32", scatter_all, scatter_args(np.float32), {'N': T(64).reduce()}, {}),
    ("scatter_float64", scatter_all, scatter_args(np.float64), {'N': T(64).reduce()}, {}),
    ("scatter_bits_uint8", scatter_bits, [np.zeros(64, np.int32), np.zeros(64, np.uint8),
                                       np.zeros(8, np.uint8), 64], {'N': T(64).reduce()}, {}),
    ("scatter_bits_int16", scatter_bits, [np.zeros(64, np.int32), np.zeros(64, np.int16),
                                       np.zeros(8, np.int16), 64], {'N': T(64).reduce()}, {}),
    ("scatter_bits_int32", scatter_bits, [np.zeros(64, np.int32), np.zeros(64, np.int32),
                                       np.zeros(8, np.int32), 64], {'N': T(64).reduce()}, {}),
    ("scatter_bits_uint64", scatter_bits, [np.zeros(64, np.int32), np.zeros(64, np.uint64),
                                       np.zeros(8, np.uint64), 64], {'N': T(64).reduce()}, {}),
    ("scatter_bits_int64", scatter_bits, [np.zeros(64, np.int32), np.zeros(64, np.int64),
                                       np.zeros(8, np.int64), 64], {'N': T(64).reduce()}, {}),
    ("local_arrays", local_arrays, [f32(16, 40), f32(16, 40), 16, 40], {'N': T(16)}, {}),
    ("outer_products", outer_products, [f32(40, 30), f32(40), f32(30), f32(40, 30)],
     {'N': T(40), 'M': T(32)}, {}),
    ("prints", prints, [f32(8), np.zeros(8, np.uint8), np.zeros(8, np.float16), 8],
     {'N': T(8)}, {}),
    ("bfloat16", bfloat16_ops, [bf16(64), bf16(64, 32), np.zeros(64, np.float16), bf16(64),
                                f32(64), bf16(64), 64, 32], {'N': T(64), 'M': T(32)}, {}),
    ("zero_d_out", zero_d_out, [f32(10), np.zeros((), np.float32), 10], {'N': T(16)}, {}),
    ("dict_arg", dict_arg, [{"x": f32(30), "y": f32(30), "k": 3.0}, 30], {'N': T(32)}, {}),
    # Array variables chosen at run time (issue 9): pointers on the host
    # passed to kernels, and pointers private to a thread.
    ("swap_steps", swap_steps, [f32(40), f32(40), 5, 40], {'N': T(32)}, {}),
    ("pick_per_element", pick_per_element, [f32(40), f32(40), f32(40), 40], {'N': T(32)}, {}),
    ("swap_rows", swap_rows, [f32(2, 40), f32(1), 3, 40], {'N': T(32)}, {}),
    ("hmm_forward", hmm_forward,
     [f32(16), f32(16, 16), f32(16, 5), np.zeros(7, np.int64), f32(16), f32(16), f32(1), 7, 16],
     {'N': T(16), 'M': T(32)}, {}),
    # range() bounds the body may change are computed once, before the loop.
    ("bound_from_written_element", bound_from_written_element,
     [np.zeros(40, np.int64), np.zeros(40, np.int64), 40], {'N': T(32)}, {}),
    ("bound_on_host", bound_on_host, [f32(40), 3], {'N': T(32)}, {}),
    ("element_half_powers", element_half_powers,
     [f32(8), np.zeros(8), np.zeros(8, np.float16), 8], {'N': T(8)}, {}),
]


def code_of(name):
    for n, fn, args, par, fields in PROGRAMS:
        if n == name:
            return parpy.print_compiled(fn, args, cuda(par, **fields))
    raise KeyError(name)


def test_print_compiled_needs_no_gpu():
    for name, *_ in PROGRAMS:
        code = code_of(name)
        assert '#include "parpy_cuda.h"' in code
        assert "__global__" in code


@needs_nvcc
def test_generated_code_compiles_with_nvcc(tmp_path):
    def compile_one(name):
        return nvcc_compile(code_of(name), tmp_path, name)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failed = [f for f in pool.map(compile_one, [n for n, *_ in PROGRAMS]) if f]
    assert not failed, "\n\n".join(failed)


def test_element_power_one_half_is_sqrt_but_for_the_signs():
    """CUDA's pow is an ulp or two off; x ** 0.5 prints as parpy_pow_half
    (sqrt, with pow's results for -inf and -0.0) in every float type."""
    code = code_of("element_half_powers")
    assert code.count("parpy_pow_half(") == 3, code
    assert not re.search(r"\bpowf?\(", code), code


# --- the mapping ------------------------------------------------------------

def launches(code):
    return re.findall(r"PARPY_LAUNCH\((\w+), dim3\((\d+), (\d+), (\d+)\), dim3\((\d+), 1, 1\)", code)


def test_more_threads_than_a_block_use_several_blocks():
    (name, gx, gy, gz, tx), = launches(code_of("axpy"))
    assert (gx, gy, gz, tx) == ("2", "1", "1", "1024")
    assert "(int64_t)blockIdx.x * 1024 + threadIdx.x" in code_of("axpy")


def test_two_levels_inner_on_threads_outer_on_y():
    (name, gx, gy, gz, tx), = launches(code_of("add2"))
    assert (gx, gy, gz, tx) == ("1", "100", "1", "64")


def test_four_levels_share_grid_x():
    code = code_of("add4")
    (name, gx, gy, gz, tx), = launches(code)
    # D: 64 threads; C: y (5); B: z (4); A: x (3)
    assert (gx, gy, gz, tx) == ("3", "5", "4", "64")
    assert "blockIdx.x" in code and "blockIdx.y" in code and "blockIdx.z" in code


def test_steps_are_honoured_in_thread_loops():
    code = code_of("steps")
    # i starts at N-1 - 3 * t (in int64: threadIdx is unsigned) and strides by
    # 3 * threads(7 -> 32)
    assert re.search(r"for \(int64_t i = N - 1 - 3 \* \(int64_t\)threadIdx\.x; i > -1; i \+= -96\)",
                     code), code


def test_host_loop_launches_a_kernel_per_iteration():
    code = code_of("host_loop")
    assert re.search(r"for \(int64_t t = 0; t < T_; t\+\+\) \{\n\s+PARPY_LAUNCH\(host_loop_i,", code), code
    assert "int64_t t" in code.split("__global__")[1].split("{")[0], "t is a kernel parameter"


def test_kernel_is_split_where_blocks_depend_on_each_other():
    names = [l[0] for l in launches(code_of("split_nest"))]
    assert len(names) == 2, names


def test_barrier_between_dependent_loops_in_one_block():
    code = code_of("softmax")
    assert len(launches(code)) == 1
    assert code.count("__syncthreads();") == 1
    assert code.count("parpy_block_reduce") == 2


def test_reduction_across_blocks_uses_partials_and_a_second_kernel():
    code = code_of("row_sums_blocks")
    assert len(launches(code)) == 2
    assert "partials" in code and "cudaMallocAsync" in code and "cudaFreeAsync" in code


def test_clusters_reduce_in_one_kernel():
    code = code_of("total_cluster")
    assert len(launches(code)) == 1
    assert "__cluster_dims__(8, 1, 1)" in code and "parpy_cluster_reduce" in code
    assert "cudaFuncSetAttribute" not in code
    code16 = code_of("total_cluster16")
    assert "__cluster_dims__(16, 1, 1)" in code16
    assert "cudaFuncAttributeNonPortableClusterSizeAllowed" in code16


def test_thread_independent_writes_are_done_once():
    code = code_of("explicit_reduction")
    assert re.search(r"if \(threadIdx\.x == 0\) \{\n\s+out\[0\] = ", code), code


def test_host_array_access_is_rejected_with_a_pointer_to_gpu():
    @parpy.jit
    def host_write(x, N):
        x[0] = 1.0
        parpy.label('N')
        for i in range(N):
            x[i] += 1.0

    with pytest.raises(parpy.ParPyRuntimeError, match=r"parpy\.gpu"):
        parpy.print_compiled(host_write, [f32(10), 10], cuda({'N': T(32)}))


def test_graphs_capture_once_and_replay():
    code = code_of("host_loop_graph")
    entry = code[code.index('static int32_t host_loop('):]
    assert entry.index("cudaGraphLaunch") < entry.index("cudaStreamBeginCapture")
    assert entry.index("cudaStreamBeginCapture") < entry.index("cudaStreamEndCapture")
    assert "cudaGraphExecUpdate" in entry and "cudaGraphInstantiate" in entry
    assert "cudaGraph" not in code_of("host_loop")
