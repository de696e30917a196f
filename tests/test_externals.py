"""External functions (`@parpy.external`) called from jitted code.

On the Cpu backend (runs everywhere): C functions from a user header found
through `opts.includes`, scalar and pointer parameters, calls in parallel
loops and elementwise on slices, a libm function without a header, helpers
calling externals, parallel externals, the disk cache following the header.
Every rejected use raises the right exception at the right line.

On the Cuda backend: the printed code (placement of externals, parallel
externals as an extra level of threads) is checked here and compiled with
`nvcc -c`; tests marked `cuda` run it on a GPU against the Python bodies of
the externals (`seq=True`)."""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import parpy
from harness import check, marked_lines, rng, source_file, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)
from parpy.types import F32, F64, I32, I64, U32, pointer


@pytest.fixture
def nvcc_form(monkeypatch):
    """These tests read and compile the code printed for nvcc (the NVRTC
    form is tests/test_cuda_nvrtc.py's)."""
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvcc")

Cpu, Cuda = parpy.CompileBackend.Cpu, parpy.CompileBackend.Cuda
Host, Device = parpy.Target.Host, parpy.Target.Device
T = parpy.threads
HAVE_CUDA = parpy.backend.is_enabled(Cuda)
needs_gpu = pytest.mark.skipif(not HAVE_CUDA, reason="no usable CUDA GPU and nvcc")

# ---- the user's headers ------------------------------------------------------

C_HEADER = """\
#include <stdint.h>
static inline float clampf(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}
static inline double dot3(const double *a, const double *b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
static inline int64_t count_above(const float *p, int64_t n, float t) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    k += p[i] > t;
  return k;
}
static inline int64_t fill_row(float *p, int64_t n, float v) {
  for (int64_t i = 0; i < n; i++)
    p[i] = v;
  return n;
}
"""

CUDA_HEADER = """\
#include <cstdint>
__device__ inline float scale_add(float x, float a, float b) { return a * x + b; }
/* A warp function: the 32 lanes of a warp each read one element of row i
 * and add them with shuffles; every lane returns the sum. */
__device__ inline float row_sum32(const float *p, int64_t i) {
  float v = p[i * 32 + threadIdx.x % 32];
  for (int o = 16; o > 0; o /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
"""


@pytest.fixture(scope="module")
def incdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext_headers")
    (d / "parpy_test_ext.h").write_text(C_HEADER)
    (d / "parpy_test_ext.cuh").write_text(CUDA_HEADER)
    return str(d)


# ---- Cpu externals -------------------------------------------------------------

@parpy.external("clampf", Cpu, Host, header="parpy_test_ext.h")
def clamp(x: F32, lo: F32, hi: F32) -> F32:
    return np.minimum(np.maximum(x, lo), hi)


@parpy.external("dot3", Cpu, Device, header="parpy_test_ext.h")
def dot3(a: pointer(F64), b: pointer(F64)) -> F64:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@parpy.external("count_above", Cpu, Host, header="parpy_test_ext.h")
def count_above(p: pointer(F32), n: I64, t: F32) -> I64:
    return np.int64(np.count_nonzero(p.reshape(-1)[:n] > t))


@parpy.external("fill_row", Cpu, Host, header="parpy_test_ext.h")
def fill_row(p: pointer(F32), n: I64, v: F32) -> I64:
    p.reshape(-1)[:n] = v
    return np.int64(n)


@parpy.external("hypot", Cpu, Host)
def hypot(x: F64, y: F64) -> F64:
    return np.hypot(x, y)


@parpy.external("cbrt", Cpu, Host, header="<math.h>")
def cbrt(x: F64) -> F64:
    return np.cbrt(x)


@parpy.external("hypotf", Cpu, Device, parallelize=T(32))
def phypot(x: F32, y: F32) -> F32:
    return np.hypot(x, y)


@parpy.jit
def rows(x, a, b, y, out, cnt, N):
    parpy.label('N')
    for i in range(N):
        y[i] = clamp(x[i], 0.0, 0.5)
        out[i] = dot3(a[i], b[i]) + hypot(out[i], 1.0)
        cnt[i] = count_above(x, N, x[i])


def test_header_externals_in_a_parallel_loop(rng, incdir):
    N = 37
    args = [rng.rand(N, np.float32), rng.rand((N, 3)), rng.rand((N, 3)),
            np.zeros(N, np.float32), rng.rand(N), np.zeros(N, np.int64), N]
    check(rows, args, {'N': T(8)}, outputs=[3, 5], backend=Cpu, opts={'includes': [incdir]})


def test_the_printed_code_calls_ext_names_and_includes_each_header_once(incdir):
    N = 4
    args = [np.zeros(N, np.float32), np.zeros((N, 3)), np.zeros((N, 3)), np.zeros(N, np.float32),
            np.zeros(N), np.zeros(N, np.int64), N]
    opts = parpy.par({'N': T(8)})
    opts.backend = Cpu
    code = parpy.print_compiled(rows, args, opts)
    assert code.count('#include "parpy_test_ext.h"') == 1
    assert "clampf(x[i], 0.0f, 0.5f)" in code
    assert "dot3(&a[i * 3], &b[i * 3])" in code   # rows of a and b as pointers
    assert "count_above(x, N, x[i])" in code      # a whole array
    assert "hypot(" in code and "<math.h>" not in code


@parpy.jit
def clamp_slices(x, y, z, M):
    parpy.label('M')
    y[:] = clamp(x[:] * 2.0, -0.5, 0.5)
    z[:, :] = clamp(z[:, :], -0.5, x[:] + 1.0)   # x broadcast along the rows of z


@pytest.mark.parametrize("par", [{}, {'M': T(16)}], ids=["sequential", "parallel"])
def test_elementwise_on_slices(rng, incdir, par):
    M = 21
    args = [rng.rand(M, np.float32), np.zeros(M, np.float32), rng.rand((3, M), np.float32), M]
    check(clamp_slices, args, par or {'M': T(1)}, outputs=[1], backend=Cpu,
          opts={'includes': [incdir]})


@parpy.jit
def libm(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = hypot(x[i, 0], x[i, 1]) + cbrt(x[i, 2])
    parpy.label('N')
    y[:] = y[:] + hypot(x[:, 0], 2)   # a Python int converts to the parameter's double


def test_libm_functions_with_and_without_a_header(rng):
    N = 33
    check(libm, [rng.rand((N, 3)), np.zeros(N), N], {'N': T(16)}, outputs=[1], backend=Cpu)
    opts = parpy.par({'N': T(16)})
    opts.backend = Cpu
    code = parpy.print_compiled(libm, [np.zeros((N, 3)), np.zeros(N), N], opts)
    assert code.count("#include <math.h>") == 1


@parpy.jit
def writes_rows(x, y, n, N, M):
    parpy.label('N')
    for i in range(N):
        n[i] = fill_row(y[i, 1:], M - 1, x[i])


def test_an_external_may_write_through_a_pointer(rng, incdir):
    N, M = 9, 6
    ref, got = check(writes_rows, [rng.rand(N, np.float32), rng.rand((N, M), np.float32),
                                   np.zeros(N, np.int64), N, M],
                     {'N': T(4)}, outputs=[2], backend=Cpu, opts={'includes': [incdir]})
    assert (got[2] == M - 1).all()


@parpy.jit
def hyp(x: F64, y: F64) -> F64:
    return hypot(x, y) * 0.5


@parpy.jit
def norm2(a: pointer(F64)) -> F64:
    return dot3(a, a)   # a pointer parameter passed on


@parpy.jit
def through_helper(x, v, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = hyp(x[i, 0], x[i, 1]) + norm2(v[i]) + norm2(v[0, :])


def test_a_helper_calls_an_external(rng, incdir):
    N = 20
    check(through_helper, [rng.rand((N, 2)), rng.rand((N, 3)), np.zeros(N), N], {'N': T(8)},
          outputs=[2], backend=Cpu, opts={'includes': [incdir]})


@parpy.jit
def parallel_on_cpu(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = phypot(x[i, 0], x[i, 1])
    with parpy.gpu:
        y[0] = phypot(x[0, 0], 1.0)


def test_a_parallel_external_on_cpu_is_called_once_per_statement(rng):
    N = 17
    check(parallel_on_cpu, [rng.rand((N, 2), np.float32), np.zeros(N, np.float32), N],
          {'N': T(8)}, outputs=[1], backend=Cpu)
    opts = parpy.par({'N': T(8)})
    opts.backend = Cpu
    code = parpy.print_compiled(parallel_on_cpu, [np.zeros((N, 2), np.float32),
                                                  np.zeros(N, np.float32), N], opts)
    assert code.count("hypotf(") == 2 and "all " not in code


K_VALUE = "static inline double k_value(double x) { return x + %.1f; }\n"


def call_before_and_after_editing(tmp_path, header, edited):
    """Compiles y[i] = k_value(y[i]) with `header` (found in tmp_path) while
    `edited` defines k_value as x + 1, then again after it becomes x + 5:
    the second call must run the edited code."""
    edited.write_text(K_VALUE % 1.0)

    @parpy.external("k_value", Cpu, Host, header=header)
    def k_value(x: F64) -> F64:
        return x + 1.0

    def use(y):
        parpy.label('N')
        for i in range(4):
            y[i] = k_value(y[i])

    opts = parpy.par({'N': T(4)})
    opts.backend = Cpu
    opts.includes = [str(tmp_path)]
    y = np.zeros(4)
    parpy.jit(use)(y, opts=opts)
    assert (y == 1.0).all()
    edited.write_text(K_VALUE % 5.0)
    parpy.jit(use)(y, opts=opts)   # a new function object: no in-memory hit; same code
    assert (y == 6.0).all()


def test_editing_the_header_rebuilds(tmp_path):
    call_before_and_after_editing(tmp_path, "k.h", tmp_path / "k.h")


def test_editing_a_header_the_header_includes_rebuilds(tmp_path):
    """Headers are followed through their own includes: quoted names beside
    the includer (here in a subdirectory), angle names in opts.includes."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.h").write_text('#include "sub/mid.h"\n')
    (tmp_path / "sub" / "mid.h").write_text('#include "leaf.h"\n#include <stdio.h>\n')
    call_before_and_after_editing(tmp_path, "top.h", tmp_path / "sub" / "leaf.h")


# ---- declaration errors -----------------------------------------------------------

BUILTIN = {parpy.ParPyTypeError: TypeError, parpy.ParPyRuntimeError: RuntimeError,
           parpy.ParPyValueError: ValueError}


def check_error(exc, kind, builtin, pattern, lines=None, fn=None):
    assert isinstance(exc, kind) and isinstance(exc, builtin)
    assert pattern.lower() in exc.message.lower(), exc.message
    if lines is not None:
        assert os.path.realpath(exc.file) == source_file(fn)
        assert exc.line in lines, (exc.line, lines)
        assert isinstance(exc.column, int)


def test_parameters_must_be_annotated():
    def f(x: F32, n) -> F32:  # ERR
        return x

    with pytest.raises(parpy.ParPyTypeError) as info:
        parpy.external("f", Cpu, Host)(f)
    check_error(info.value, parpy.ParPyTypeError, TypeError,
                "external declaration parameters must be annotated with types: parameter 'n' "
                "of f has no annotation", marked_lines(f), f)
    assert "^" in str(info.value)

    def g(x: float) -> F32:  # ERR
        return x

    with pytest.raises(parpy.ParPyTypeError) as info:
        parpy.external("g", Cpu, Host)(g)
    check_error(info.value, parpy.ParPyTypeError, TypeError, "is not a parpy type",
                marked_lines(g), g)


def test_the_result_must_be_annotated():
    def f(x: F32):  # ERR
        return x

    with pytest.raises(parpy.ParPyTypeError) as info:
        parpy.external("f", Cpu, Host)(f)
    check_error(info.value, parpy.ParPyTypeError, TypeError,
                "must annotate its result with a parpy scalar type", marked_lines(f), f)

    def g(x: F32) -> pointer(F32):  # ERR
        return x

    with pytest.raises(parpy.ParPyTypeError) as info:
        parpy.external("g", Cpu, Host)(g)
    check_error(info.value, parpy.ParPyTypeError, TypeError, "returns a pointer",
                marked_lines(g), g)


def test_backend_and_target_constraints():
    lines = marked_lines(test_backend_and_target_constraints)
    cases = [
        (lambda: parpy.external("f", Cuda, Host),  # ERR
         "Host externals are not supported in the CUDA backend"),
        (lambda: parpy.external("f", Cpu, Host, parallelize=T(32)),  # ERR
         "only device externals can be parallel"),
        (lambda: parpy.external("f", Cpu, Device, parallelize=T(32).reduce()),  # ERR
         "parallelize must ask for threads"),
        (lambda: parpy.external("f", Cpu, Host, header='x.h"\n#define'),  # ERR
         "header must name one header file"),
        (lambda: parpy.external("f", parpy.CompileBackend.Metal, Device, header="m.h"),  # ERR
         "Metal standard library"),
    ]
    for declare, message in cases:
        with pytest.raises(parpy.ParPyValueError) as info:
            declare()
        check_error(info.value, parpy.ParPyValueError, ValueError, message, lines,
                    test_backend_and_target_constraints)


# ---- errors at calls --------------------------------------------------------------

@parpy.external("__popc", Cuda, Device)
def popcount(x: U32) -> I32:
    return np.bitwise_count(x).astype(np.int32)


def call_error(fn, args, kind, pattern, backend=Cpu, par=None):
    opts = parpy.par(par or {'N': T(4)})
    opts.backend = backend
    with pytest.raises(kind) as info:
        parpy.print_compiled(fn, args, opts)
    check_error(info.value, kind, BUILTIN[kind], pattern, marked_lines(fn), fn)
    return info.value


N4 = 4
U = np.zeros(N4, np.uint32)
I = np.zeros(N4, np.int32)
X32 = np.zeros((N4, 32), np.float32)


def test_an_external_of_another_backend():
    def f(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = popcount(x[i])  # ERR

    call_error(f, [U, I], parpy.ParPyRuntimeError,
               "'popcount' is an external for the Cuda backend, but this compiles for Cpu")


def test_an_external_called_as_a_statement():
    def f(x, c):
        parpy.label('N')
        for i in range(4):
            hypot(x[i], 1.0)  # ERR

    call_error(f, [np.zeros(4), np.zeros(4)], parpy.ParPyRuntimeError,
               "can only be called in an expression whose value is used")


def test_an_external_used_as_a_value():
    def f(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = hypot  # ERR

    call_error(f, [np.zeros(4), np.zeros(4)], parpy.ParPyRuntimeError,
               "can only be called here, not used as a value")


def test_wrong_number_of_arguments():
    def f(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = hypot(x[i])  # ERR

    call_error(f, [np.zeros(4), np.zeros(4)], parpy.ParPyTypeError,
               "hypot() takes 2 arguments but 1 was given")


def test_wrong_argument_types():
    def float_for_int(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = count_above(x, x[i], 0.5)  # ERR

    call_error(float_for_int, [np.zeros(4, np.float32), np.zeros(4, np.int64)],
               parpy.ParPyTypeError,
               "argument 2 of count_above() is a float32, but the parameter is int64")

    def scalar_for_pointer(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = count_above(x[i], 4, 0.5)  # ERR

    call_error(scalar_for_pointer, [np.zeros(4, np.float32), np.zeros(4, np.int64)],
               parpy.ParPyTypeError, "argument 1 of count_above() must be a float32 array")

    def wrong_dtype(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = count_above(x, 4, 0.5)  # ERR

    call_error(wrong_dtype, [np.zeros(4, np.float64), np.zeros(4, np.int64)],
               parpy.ParPyTypeError, "argument 1 of count_above() must be a float32 array, got "
               "float64[4]")

    def strided(x, c):
        parpy.label('N')
        for i in range(4):
            c[i] = count_above(x[:, i], 4, 0.5)  # ERR

    call_error(strided, [np.zeros((4, 4), np.float32), np.zeros(4, np.int64)],
               parpy.ParPyTypeError, "must be a whole array or a contiguous part of one")


# ---- Cuda: externals on the GPU ------------------------------------------------------

@parpy.external("scale_add", Cuda, Device, header="parpy_test_ext.cuh")
def scale_add(x: F32, a: F32, b: F32) -> F32:
    return a * x + b


@parpy.external("row_sum32", Cuda, Device, header="parpy_test_ext.cuh", parallelize=T(32))
def row_sum32(p: pointer(F32), i: I64) -> F32:
    return p.reshape(-1)[i * 32:(i + 1) * 32].sum(dtype=np.float32)


@parpy.jit
def popcounts(x, c, d, N):
    parpy.label('N')
    for i in range(N):
        c[i] = popcount(x[i])
    parpy.label('N')
    d[:] = popcount(x[:] >> 3)


@parpy.jit
def scaled(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = scale_add(x[i], 2.0, 0.5)


@parpy.jit
def row_sums(x, s, N):
    parpy.label('N')
    for i in range(N):
        s[i] = row_sum32(x, i)


@parpy.jit
def half_sum(p: pointer(F32), i: I64) -> F32:
    return row_sum32(p, i) * 0.5


@parpy.jit
def normalise(x, y, s, N):
    parpy.label('N')
    for i in range(N):
        t = row_sum32(x, i)
        parpy.label('M')
        for j in range(32):
            y[i, j] = x[i, j] / t
        s[i] = half_sum(x, i)
    with parpy.gpu:
        s[0] = row_sum32(x, 0)


@parpy.external("row_sum32", Cuda, Device, header="parpy_test_ext.cuh",
                parallelize=T(32).tpb(128))
def row_sum32_tpb128(p: pointer(F32), i: I64) -> F32:
    return row_sum32(p, i)


@parpy.jit
def wide(x, y, s, N):
    parpy.label('N')
    for i in range(N):
        s[i] = row_sum32_tpb128(x, i)   # 256 threads in two blocks call it
        parpy.label('M')
        for j in range(256):
            y[i, j] = x[i, j] * s[i]


def cuda_programs(incdir):
    """(name, function, arguments, parallel specification) of the Cuda programs."""
    n = 40
    r = np.random.default_rng(1)
    x = r.random((n, 32), dtype=np.float32) + 0.5
    return [
        ("popcounts", popcounts, [r.integers(0, 2**32, n, dtype=np.uint32),
                                  np.zeros(n, np.int32), np.zeros(n, np.int32), n],
         {'N': T(64)}, [1, 2]),
        ("scaled", scaled, [x[:, 0].copy(), np.zeros(n, np.float32), n], {'N': T(32)}, [1]),
        ("row_sums", row_sums, [x, np.zeros(n, np.float32), n], {'N': T(n)}, [1]),
        ("normalise", normalise, [x, np.zeros((n, 32), np.float32), np.zeros(n, np.float32), n],
         {'N': T(n), 'M': T(64)}, [1, 2]),
        ("wide", wide, [r.random((n, 256), dtype=np.float32), np.zeros((n, 256), np.float32),
                        np.zeros(n, np.float32), n], {'N': T(n), 'M': T(256)}, [1, 2]),
    ]


def cuda_opts(par, incdir):
    opts = parpy.par(par)
    opts.backend = Cuda
    opts.includes = [incdir]
    return opts


def printed(name, incdir):
    for n, fn, args, par, _ in cuda_programs(incdir):
        if n == name:
            return parpy.print_compiled(fn, args, cuda_opts(par, incdir))
    raise KeyError(name)


def test_cuda_code_of_a_parallel_external(incdir, nvcc_form):
    code = printed("row_sums", incdir)
    assert '#include "parpy_test_ext.cuh"' in code
    # An extra level of 32 threads in which all threads call the external;
    # the store is done once.
    assert "dim3(1, 40, 1), dim3(32, 1, 1), 0, stream)" in code
    body = code[code.index("all 32 threads of this level call the parallel external row_sum32"):]
    assert body.index("row_sum32(x, i)") < body.index("if (threadIdx.x == 0)") \
        < body.index("s[i] = value")


def test_cuda_code_helpers_reaching_device_externals_are_device_only(incdir, nvcc_form):
    code = printed("normalise", incdir)
    assert "static __device__ inline float half_sum(float *p, int64_t i)" in code
    assert "all 64 threads of this level call the parallel external row_sum32" in code
    assert "__popc" in printed("popcounts", incdir)


def test_cuda_the_tpb_of_a_parallel_external_joins_its_nest(nvcc_form):
    def f(x, y, s):
        parpy.label('N')
        for i in range(4):
            s[i] = row_sum32_tpb128(x, i)  # ERR
            parpy.label('M')
            for j in range(256):
                y[i, j] = x[i, j] * 2.0

    x = np.zeros((4, 256), np.float32)
    args = [x, x.copy(), np.zeros(4, np.float32)]
    opts = parpy.par({'N': T(4), 'M': T(256)})
    opts.backend = Cuda
    code = parpy.print_compiled(f, args, opts)
    assert "dim3(2, 4, 1), dim3(128, 1, 1)" in code   # 256 threads in blocks of 128
    assert "all 256 threads of this level call the parallel external row_sum32_tpb128" in code
    call_error(f, args, parpy.ParPyRuntimeError,
               "asks for 128 threads per block, but its parallel nest uses 64", backend=Cuda,
               par={'N': T(4).tpb(64), 'M': T(256)})


@needs_nvcc
def test_cuda_code_compiles_with_nvcc(tmp_path, incdir, nvcc_form):
    sources = [(name, parpy.print_compiled(fn, args, cuda_opts(par, incdir)))
               for name, fn, args, par, _ in cuda_programs(incdir)]

    def compile_one(item):
        name, code = item
        return nvcc_compile(code, tmp_path, name, includes=[incdir])

    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        failed = [f for f in pool.map(compile_one, sources) if f]
    assert not failed, "\n\n".join(failed)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("name", ["popcounts", "scaled", "row_sums", "normalise", "wide"])
def test_cuda_externals_run(name, incdir):
    for n, fn, args, par, outputs in cuda_programs(incdir):
        if n == name:
            check(fn, args, par, outputs=outputs, backend=Cuda, opts={'includes': [incdir]},
                  reduction=True)


# ---- Cuda: placement and parallel externals, rejected uses ---------------------------

def test_a_device_external_in_host_code():
    def f(x, c):
        n = popcount(5)  # ERR
        parpy.label('N')
        for i in range(4):
            c[i] = n

    call_error(f, [U, I], parpy.ParPyRuntimeError,
               "'popcount' is a Device external, so it can only be called in parallel code",
               backend=Cuda)


def test_a_helper_reaching_a_device_external_in_host_code():
    @parpy.jit
    def bits(x: U32) -> I32:
        return popcount(x) + 1

    def f(x, c):
        n = bits(5)  # ERR
        parpy.label('N')
        for i in range(4):
            c[i] = n

    call_error(f, [U, I], parpy.ParPyRuntimeError,
               "'bits' calls the Device external 'popcount', so it can only be called in "
               "parallel code", backend=Cuda)


def test_a_parallel_external_must_be_at_the_innermost_level():
    def f(x, s, z):
        parpy.label('N')
        for i in range(4):
            s[i] = row_sum32(x, i)  # ERR
            parpy.label('M')
            for j in range(4):
                parpy.label('K')
                for k in range(4):
                    z[i, j, k] = 1.0

    call_error(f, [X32, np.zeros(4, np.float32), np.zeros((4, 4, 4), np.float32)],
               parpy.ParPyRuntimeError, "must be called at the innermost parallel level",
               backend=Cuda, par={'N': T(4), 'M': T(4), 'K': T(4)})


def test_a_parallel_external_outside_an_assignment():
    def f(x, s):
        parpy.label('N')
        for i in range(4):
            if row_sum32(x, i) > 0.0:  # ERR
                s[i] = 1.0

    call_error(f, [X32, np.zeros(4, np.float32)], parpy.ParPyRuntimeError,
               "can only be called in an assignment", backend=Cuda)


def test_a_parallel_external_in_a_parallel_reduction():
    def f(x, s):
        parpy.label('N')
        for i in range(4):
            parpy.label('M')
            for j in range(4):
                s[i] += row_sum32(x, j)  # ERR

    call_error(f, [X32, np.zeros(4, np.float32)], parpy.ParPyRuntimeError,
               "cannot be called in the body of a parallel reduction", backend=Cuda,
               par={'N': T(4), 'M': T(4).reduce()})


def test_a_parallel_external_larger_than_a_block():
    @parpy.external("big", Cuda, Device, parallelize=T(2048))
    def big(x: F32) -> F32:
        return x

    def f(x, s):
        parpy.label('N')
        for i in range(4):
            s[i] = big(x[i, 0])  # ERR

    call_error(f, [X32, np.zeros(4, np.float32)], parpy.ParPyRuntimeError,
               "asks for 2048 threads, more than a thread block of this nest holds (1024)",
               backend=Cuda)

