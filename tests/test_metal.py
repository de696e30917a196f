"""The Metal backend: what is particular to it (the differential suite runs
against it with PARPY_TEST_BACKEND=Metal).

print_compiled works anywhere.  Running needs Metal on macOS, or elsewhere
a C++ compiler for ParPy's simulator of the Metal grid (docs/metal.md); the
tests that run code skip without one.  tests/test_metal_subset.py checks
that the printed kernels use only the MSL subset that parpy_metal_sim.h
documents, so that the simulator accepts nothing Apple's compiler would
reject."""
import os
import re
import sys

import numpy as np
import pytest

import parpy
from parpy.types import F32
from harness import INCLUDE, check, marked_lines, options, rng  # noqa: F401  (fixture)

T = parpy.threads
Metal = parpy.CompileBackend.Metal

runs = pytest.mark.skipif(not parpy.backend.is_enabled(Metal),
                          reason="the Metal backend (or its simulator) is not enabled here")


def off_macos(reason):
    """For what differs on a Mac, where Metal itself runs the code."""
    return pytest.mark.skipif(sys.platform == "darwin", reason=reason)


def metal(par=None, **fields):
    return options(par, Metal, **fields)


def metal_code(fn, args, par=None, **fields):
    """The code printed for `fn` on Metal."""
    return parpy.print_compiled(fn, args, metal(par, **fields))


def include_text(name):
    """The text of one of ParPy's installed headers and prelude files."""
    with open(os.path.join(INCLUDE, name)) as f:
        return f.read()


def library(code):
    """The text of the PARPY_METAL_LIBRARY( ... ) block of printed code."""
    start = code.index("PARPY_METAL_LIBRARY(\n")
    end = code.index("\n)\n", start)
    return code[start + len("PARPY_METAL_LIBRARY(\n"):end]


# --- programs --------------------------------------------------------------

@parpy.jit
def scale(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = 2.0 * x[i] + 1


@parpy.jit
def row_sum(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.sum(x[i, :])


@parpy.jit
def row_max(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.max(x[i, :])


@parpy.jit
def row_min(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.min(x[i, :])


@parpy.jit
def row_prod(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.prod(x[i, :])


@parpy.jit
def reverse_rows(x, y, z, N, M):
    """Two statements in one threadgroup: the second reads what other
    threads wrote in the first, so a barrier separates them."""
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, j] * 2.0
        parpy.label('M')
        for j in range(M):
            z[i, j] = y[i, M - 1 - j] + 1.0


@parpy.jit
def f64_kernel(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * 2.0  # ERR


@parpy.jit
def python_float(x, y, N):
    parpy.label('N')
    for i in range(N):
        t = 1.5  # ERR
        y[i] = x[i] + t


@parpy.jit
def int_math(a, b, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = a[i] // b[i]
        o[1, i] = a[i] % b[i]
        o[2, i] = a[i] ** 3
        o[3, i] = max(a[i], b[i])
        o[4, i] = abs(a[i])


@parpy.jit
def float_math(x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[0, i] = parpy.operators.exp(x[i]) + parpy.operators.log(y[i])
        o[1, i] = parpy.operators.sqrt(y[i]) * parpy.operators.tanh(x[i])
        o[2, i] = parpy.operators.sin(x[i]) - parpy.operators.cos(x[i])
        o[3, i] = x[i] // y[i] + x[i] % y[i]
        o[4, i] = parpy.operators.atan2(x[i], y[i]) + y[i] ** x[i]
        o[5, i] = max(x[i], y[i]) - min(x[i], y[i]) + abs(x[i])


# --- float64 and the 32-bit defaults -----------------------------------------

def test_float64_in_a_kernel_is_a_type_error():
    x = np.zeros(10)
    with pytest.raises(parpy.errors.ParPyTypeError,
                       match="Metal does not support double-precision floating-point "
                             "numbers") as e:
        metal_code(f64_kernel, [x, np.zeros(10), 10], {'N': T(32)})
    assert f"line {marked_lines(f64_kernel)[0]}" in str(e.value)


def test_forcing_float64_is_refused_too():
    x = np.zeros(10, np.float32)
    with pytest.raises(parpy.errors.ParPyTypeError, match="double-precision"):
        metal_code(python_float, [x, x.copy(), 10], {'N': T(32)}, force_float_size=parpy.types.F64)
    code = metal_code(python_float, [x, x.copy(), 10], {'N': T(32)})
    assert "float t = 1.5f;" in code


def test_ints_and_floats_are_32_bit_by_default():
    x = np.zeros(10, np.float32)
    code = metal_code(scale, [x, x.copy(), 10], {'N': T(32)})
    lib = library(code)
    assert "int32_t i = parpy_tid.x;" in lib
    assert "2.0f * x[i] + 1.0f" in lib  # a float32 literal
    assert "int64_t" not in lib and "double" not in lib
    forced = metal_code(scale, [x, x.copy(), 10], {'N': T(32)}, force_int_size=parpy.types.I64)
    assert "int64_t i = parpy_tid.x;" in library(forced)


def test_cpu_and_cuda_defaults_are_unchanged():
    x = np.zeros(10, np.float32)
    opts = options({'N': T(32)}, parpy.CompileBackend.Cuda)
    assert "int64_t i" in parpy.print_compiled(scale, [x, x.copy(), 10], opts)


def test_print_compiled_layout():
    x = np.zeros((4, 100), np.float32)
    code = metal_code(row_sum, [x, np.zeros(4, np.float32), 4, 100], {'N': T(4), 'M': T(128)})
    assert code.index('#include "parpy_metal.h"') < code.index("PARPY_METAL_LIBRARY(")
    lib = library(code)
    assert "[[max_total_threads_per_threadgroup(128)]]\nkernel void row_sum_i(" in lib
    assert "device float *x [[buffer(0)]]" in lib
    assert "uint3 parpy_tid [[thread_position_in_threadgroup]]" in lib
    assert "threadgroup float parpy_red_f32[32];" in lib
    assert "parpy_threadgroup_reduce<parpy_add>(" in lib
    assert re.search(r"parpy_metal_launch\(&parpy_library, PARPY_METAL_KERNEL\(row_sum_i\), "
                     r"parpy_args, 2, 1, 4, 1, 128, 1, 1\)", code)
    assert 'extern "C" int32_t row_sum__entry(void **args)' in code


def test_clusters_and_graphs_are_accepted_and_ignored():
    x = np.zeros((4, 4096), np.float32)
    par = {'N': T(4), 'M': T(4096).tpb(256)}
    plain = metal_code(row_sum, [x, np.zeros(4, np.float32), 4, 4096], par)
    other = metal_code(row_sum, [x, np.zeros(4, np.float32), 4, 4096],
                       par, use_cuda_thread_block_clusters=True, use_cuda_graphs=True)
    assert plain == other
    assert "cluster" not in plain.lower() and "graph" not in plain.lower()
    assert plain.count("kernel void") == 2  # the two-kernel multi-threadgroup reduction


@off_macos("on macOS Auto may pick Metal")
def test_auto_never_picks_the_simulator():
    parpy.backend._reset()
    try:
        assert parpy.backend.resolve(parpy.CompileBackend.Auto) is not Metal
    finally:
        parpy.backend._reset()


@pytest.fixture
def a_mac(monkeypatch):
    """This machine as a Mac with the Metal target and clang++ but no CUDA;
    the test sets whether it has a Metal device (`set_device`)."""
    b = parpy.backend
    monkeypatch.setattr(b, "_on_macos", lambda: True)
    monkeypatch.setattr(b, "_has_target", lambda name: name != "Cuda")
    monkeypatch.setattr(b.shutil, "which", lambda name: "/usr/bin/" + name)
    probes = []

    def set_device(found):
        def probe():
            probes.append(found)
            return found
        monkeypatch.setattr(b, "_probe_metal_device", probe)
        b._reset()
    yield set_device, probes
    b._reset()


def test_auto_picks_metal_on_a_mac_with_a_metal_device(a_mac):
    set_device, probes = a_mac
    set_device(True)
    assert parpy.backend.resolve(parpy.CompileBackend.Auto) is Metal
    assert parpy.backend.is_enabled(Metal)
    assert parpy.backend.resolve(parpy.CompileBackend.Auto) is Metal
    assert probes == [True]  # asked once per process


def test_auto_picks_cpu_on_a_mac_without_a_metal_device(a_mac, capsys):
    set_device, probes = a_mac
    set_device(False)
    assert parpy.backend.resolve(parpy.CompileBackend.Auto) is parpy.CompileBackend.Cpu
    assert not parpy.backend.is_enabled(Metal, verbose=True)
    assert "this Mac has no Metal device" in capsys.readouterr().out
    with pytest.raises(parpy.errors.ParPyRuntimeError, match="no Metal device"):
        parpy.backend.resolve(Metal)


@off_macos("on macOS the probe asks Metal")
def test_the_device_probe_finds_nothing_off_macos():
    assert parpy.backend._probe_metal_device() is False


# --- running: reductions, barriers ------------------------------------------

REDUCTION_THREADS = [1, 2, 7, 31, 32, 33, 64, 100, 255, 256, 257, 1000, 1024]


@runs
@pytest.mark.parametrize("nthreads", REDUCTION_THREADS)
@pytest.mark.parametrize("fn,dtype", [(row_sum, np.float32), (row_sum, np.int32),
                                      (row_max, np.float32), (row_min, np.int64),
                                      (row_prod, np.float16)],
                         ids=["sum-f32", "sum-i32", "max-f32", "min-i64", "prod-f16"])
def test_simd_and_threadgroup_reductions(rng, nthreads, fn, dtype):
    """One threadgroup per row: a SIMD-group reduction up to 32 threads, then
    threadgroup memory; thread counts that are not multiples of 32 leave
    lanes with the identity."""
    m = 300
    if dtype == np.float16:  # products exact in any order: +-1, and a few 2 and 0.5
        x = np.where(rng.rand((3, m), np.bool_), 1.0, -1.0).astype(dtype)
        x[:, :8] = 2.0
        x[:, 8:14] = 0.5
    else:
        x = rng.rand((3, m), dtype)
    if fn is row_max:
        x[1, 5] = np.nan  # NaN wins, as in NumPy
    check(fn, [x, np.empty(3, dtype), 3, m], {'N': T(3), 'M': T(nthreads)}, outputs=[1],
          backend=Metal, reduction=True)


@runs
@pytest.mark.parametrize("m,nthreads,tpb", [(4096, 4096, 256), (5000, 2048, 512),
                                            (3000, 3072, 1024)])
def test_multi_threadgroup_reductions(rng, m, nthreads, tpb):
    x = rng.rand((3, m), np.float32)
    code = metal_code(row_sum, [x, np.empty(3, np.float32), 3, m],
                      {'N': T(3), 'M': T(nthreads).tpb(tpb)})
    assert code.count("kernel void") == 2
    check(row_sum, [x, np.empty(3, np.float32), 3, m],
          {'N': T(3), 'M': T(nthreads).tpb(tpb)}, outputs=[1], backend=Metal, reduction=True)


@runs
@pytest.mark.parametrize("nthreads", [32, 100, 1024])
def test_barrier_between_statements(rng, nthreads):
    x = rng.rand((5, 700), np.float32)
    par = {'N': T(5), 'M': T(nthreads)}
    code = metal_code(reverse_rows, [x, x.copy(), x.copy(), 5, 700], par)
    assert "threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);" in code
    check(reverse_rows, [x, np.empty_like(x), np.empty_like(x), 5, 700], par,
          outputs=[1, 2], backend=Metal)


@runs
def test_integer_and_float_helpers(rng):
    a = rng.rand(200, np.int32, -50, 50)
    b = rng.rand(200, np.int32, -5, 5)
    check(int_math, [a, b, np.empty((5, 200), np.int32), 200], {'N': T(64)}, outputs=[2],
          backend=Metal)
    x = rng.rand(200, np.float32, -3, 3)
    y = rng.rand(200, np.float32, 0.5, 2)
    check(float_math, [x, y, np.empty((6, 200), np.float32), 200], {'N': T(64)}, outputs=[2],
          backend=Metal, rtol=1e-5, atol=1e-5)


# --- externals ----------------------------------------------------------------

@parpy.external("hypotf", Metal, parpy.Target.Host, header="<math.h>")
def host_hypot(x: F32, y: F32) -> F32:
    return np.hypot(x, y)


@parpy.external("sqrt", Metal, parpy.Target.Device)
def metal_sqrt(x: F32) -> F32:
    return np.sqrt(x)


@parpy.external("simd_sum", Metal, parpy.Target.Device, parallelize=T(32))
def simd_sum(x: F32) -> F32:
    return x  # (seq=True is not used here)


@parpy.jit
def use_host_external(x, y, N):
    s = host_hypot(3.0, 4.0)
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * s


@parpy.jit
def use_device_external(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = metal_sqrt(x[i])


@parpy.jit
def use_parallel_external(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = simd_sum(x[i])


@runs
def test_host_external(rng):
    x = rng.rand(50, np.float32)
    code = metal_code(use_host_external, [x, x.copy(), 50], {'N': T(64)})
    assert code.index("#include <math.h>") < code.index('#include "parpy_metal.h"')
    assert "hypotf(" not in library(code)
    y = np.empty_like(x)
    use_host_external(x, y, 50, opts=metal({'N': T(64)}))
    np.testing.assert_allclose(y, 5.0 * x, rtol=1e-6)


@runs
def test_metal_library_device_external(rng):
    x = rng.rand(50, np.float32, 0, 4)
    code = metal_code(use_device_external, [x, x.copy(), 50], {'N': T(64)})
    assert "sqrt(x[i])" in library(code)
    check(use_device_external, [x, np.empty_like(x), 50], {'N': T(64)}, outputs=[1],
          backend=Metal)


@runs
def test_parallel_device_external():
    """simd_sum as a cooperative external: 32 lanes call it together."""
    x = np.arange(8, dtype=np.float32)
    y = np.zeros(8, np.float32)
    use_parallel_external(x, y, 8, opts=metal({'N': T(8)}))
    np.testing.assert_array_equal(y, x * 32)


def test_device_externals_need_the_metal_library():
    with pytest.raises(parpy.errors.ParPyValueError, match="Metal standard library"):
        parpy.external("f", Metal, parpy.Target.Device, header="mine.h")


# --- the programs above, printed (test_metal_subset.py, the runtime API) -----

def printed_programs():
    f32 = np.float32
    x2 = np.zeros((4, 300), f32)
    yield metal_code(scale, [np.zeros(9, f32), np.zeros(9, f32), 9], {'N': T(32)})
    for fn, dt in [(row_sum, f32), (row_max, f32), (row_min, np.int64), (row_prod, np.float16),
                   (row_sum, np.int8), (row_max, np.uint64)]:
        for m in (T(7), T(64), T(4096).tpb(512)):
            x = np.zeros((4, 5000), dt) if m.nthreads > 1024 else x2.astype(dt)
            yield metal_code(fn, [x, np.zeros(4, dt), 4, x.shape[1]], {'N': T(4), 'M': m})
    yield metal_code(reverse_rows, [x2, x2, x2, 4, 300], {'N': T(4), 'M': T(100)})
    a = np.zeros(9, np.int32)
    yield metal_code(int_math, [a, a, np.zeros((5, 9), np.int32), 9], {'N': T(32)})
    for dt in (f32, np.float16):
        v = np.zeros(9, dt)
        yield metal_code(float_math, [v, v, np.zeros((6, 9), dt), 9], {'N': T(32)})
    yield metal_code(use_device_external, [np.zeros(9, f32)] * 2 + [9], {'N': T(32)})
    yield metal_code(use_parallel_external, [np.zeros(9, f32)] * 2 + [9], {'N': T(9)})


# --- compile_string, errors of the simulator ----------------------------------

@runs
def test_compile_string_runs_edited_metal_code():
    x = np.arange(10, dtype=np.float32)
    code = metal_code(scale, [x, x.copy(), 10], {'N': T(32)})
    assert "y[i] = 2.0f * x[i] + 1.0f;" in code
    edited = code.replace("y[i] = 2.0f * x[i] + 1.0f;", "y[i] = 3.0f * x[i] - 1;")
    f = parpy.compile_string("scale", edited, metal())
    y = np.zeros_like(x)
    f(x, y, 10)
    np.testing.assert_array_equal(y, 3 * x - 1)


@runs
@off_macos("on a GPU a divergent barrier is undefined behaviour, not an error")
def test_divergent_barrier_is_an_error_in_the_simulator():
    x = np.zeros((5, 70), np.float32)
    code = metal_code(reverse_rows, [x, x.copy(), x.copy(), 5, 70], {'N': T(5), 'M': T(64)})
    barrier = "threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);"
    assert barrier in code
    # Three threads wait at the barrier, the rest of their SIMD-group in a
    # SIMD-group function: neither can complete.
    edited = code.replace(barrier, "if (parpy_tid.x < 3) " + barrier +
                          " else (void)simd_sum(1.0f);", 1)
    f = parpy.compile_string("reverse_rows", edited, metal())
    with pytest.raises(parpy.errors.ParPyRuntimeError, match="threads wait at different barriers"):
        f(x, x.copy(), x.copy(), 5, 70)


# --- the macOS workflow -------------------------------------------------------

def test_macos_workflow_parses_and_runs_the_metal_tests():
    yaml = pytest.importorskip("yaml")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, ".github", "workflows", "metal.yml")) as f:
        wf = yaml.safe_load(f)
    job = wf["jobs"]["metal"]
    assert job["runs-on"] == "macos-14"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pip install ." in script
    assert "test_metal.py" in script and "test_metal_subset.py" in script
    assert "PARPY_TEST_BACKEND=Metal" in script and "test_diff_*.py" in script


# --- atomic updates (the scatter updates of a .reduce() loop) -------------------

@parpy.jit
def histogram(data, hist, N):
    parpy.label('N')
    for i in range(N):
        hist[data[i]] += 1


@parpy.jit
def scatter_all(idx, x, s, p, mx, mn, a, o, xo, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        s[k] += x[i]
        p[k] *= x[i]
        mx[k] = max(mx[k], x[i])
        mn[k] = min(mn[k], x[i])
        a[k] &= x[i]
        o[k] |= x[i]
        xo[k] ^= x[i]


@parpy.jit
def scatter_float(idx, x, s, p, mx, mn, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        s[k] += x[i]
        p[k] *= x[i]
        mx[k] = max(mx[k], x[i])
        mn[k] = min(mn[k], x[i])


@parpy.jit
def scatter_bool(idx, x, s, mx, mn, a, o, xo, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        s[k] += x[i]
        mx[k] = max(mx[k], x[i])
        mn[k] = min(mn[k], x[i])
        a[k] &= x[i]
        o[k] |= x[i]
        xo[k] ^= x[i]


SUB_WORD_INTS = [np.int8, np.uint8, np.int16, np.uint16]


@runs
@pytest.mark.parametrize("dtype", SUB_WORD_INTS + [np.float16, np.bool_, np.int32,
                                                   np.uint32, np.float32],
                         ids=lambda d: np.dtype(d).name)
def test_histogram_of_every_narrow_type(rng, dtype):
    """hist[b[i]] += 1 with a 1-, 2- or 4-byte hist: 256 bins, so every byte
    offset in a 32-bit word takes updates (uint8 wraps past 255, as in NumPy)."""
    data = rng.rand(20000, np.uint8, 0, 255)
    hist = rng.rand(256, dtype, 0, 3)
    code = metal_code(histogram, [data, hist, 20000], {'N': T(1000).reduce()})
    short = {"int8": "i8", "uint8": "u8", "int16": "i16", "uint16": "u16", "float16": "f16",
             "bool": "bool", "int32": "i32", "uint32": "u32", "float32": "f32"}
    assert f"parpy_atomic_add_{short[np.dtype(dtype).name]}(&hist[" in library(code)
    check(histogram, [data, hist, 20000], {'N': T(1000).reduce()}, backend=Metal,
          rtol=0.1 if dtype == np.float16 else None)


@runs
@pytest.mark.parametrize("dtype", SUB_WORD_INTS, ids=lambda d: np.dtype(d).name)
def test_sub_word_scatter_of_every_operator(rng, dtype):
    """add, mul, max, min, and, or, xor of 8- and 16-bit elements: a
    compare-and-swap on the word holding them keeps the neighbours' bytes
    (13 accumulators: elements at every offset of a word)."""
    n = 3000
    idx = rng.rand(n, np.int32, 0, 12)
    x = rng.rand(n, dtype, 1, 3)
    x[::7] = 0
    arrays = [rng.rand(13, dtype, 0, 9) for _ in range(7)]
    arrays[1] = np.ones(13, dtype)
    check(scatter_all, [idx, x] + arrays + [n], {'N': T(256).reduce()}, backend=Metal)


@runs
@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=["float16", "float32"])
@pytest.mark.parametrize("msl", [None, 240], ids=["msl3", "msl2.4"])
def test_float_scatter(rng, dtype, msl):
    """float32 +=: atomic_float from MSL 3.0, a compare-and-swap before
    (PARPY_MSL_VERSION=240 builds that path in the simulator); float16, *=
    and max/min (parpy_max: NaN wins, as in NumPy) by compare-and-swap."""
    n = 2000
    idx = rng.rand(n, np.int32, 0, 14)
    x = rng.rand(n, dtype, 0.9, 1.1)
    x[17] = -3.0
    arrays = [rng.rand(15, dtype, 0, 2), np.ones(15, dtype), np.full(15, -50, dtype),
              np.full(15, 50, dtype)]
    opts = {"extra_flags": [f"-DPARPY_MSL_VERSION={msl}"]} if msl else None
    check(scatter_float, [idx, x] + arrays + [n], {'N': T(128).reduce()}, backend=Metal,
          reduction=True, rtol=5e-2 if dtype == np.float16 else 1e-4, opts=opts)


@runs
def test_bool_scatter(rng):
    n = 500
    idx = rng.rand(n, np.int32, 0, 10)
    x = rng.rand(n, np.bool_)
    arrays = [rng.rand(11, np.bool_) for _ in range(6)]
    check(scatter_bool, [idx, x] + arrays + [n], {'N': T(64).reduce()}, backend=Metal)


def test_native_atomics_where_metal_has_them():
    """int32/uint32 updates are Metal's atomic_fetch_*_explicit (but *=);
    float32 += is atomic_float from MSL 3.0; the rest compare-and-swap."""
    prelude = include_text("parpy_metal_prelude.metal")
    assert "PARPY_ATOMIC_WORD(int32_t, i32, atomic_int)" in prelude
    assert re.search(r"#if PARPY_MSL_VERSION >= 300\nPARPY_ATOMIC_NATIVE\(float, f32, add, "
                     r"atomic_fetch_add_explicit, atomic_float\)\n#else", prelude)
    assert "#define PARPY_MSL_VERSION __METAL_VERSION__" in prelude
    idx = np.zeros(4, np.int32)
    for dt, name in [(np.int32, "i32"), (np.uint8, "u8"), (np.float16, "f16")]:
        v = np.zeros(4, dt)
        code = metal_code(scatter_float, [idx, v, v, v, v, v, 4], {'N': T(32).reduce()})
        lib = library(code)
        for op in ("add", "mul", "max", "min"):
            assert f"parpy_atomic_{op}_{name}(&" in lib


def test_64_bit_atomics_are_refused():
    idx = np.zeros(4, np.int32)
    with pytest.raises(parpy.errors.ParPyTypeError,
                       match="atomic updates of elements of at most 32 bits, not int64: "
                             "Metal has no 64-bit compare-and-swap"):
        metal_code(histogram, [idx, np.zeros(4, np.int64), 4], {'N': T(32).reduce()})


# --- parpy.buffer on Metal ------------------------------------------------------

@runs
def test_metal_buffers_are_host_memory_used_in_place():
    """A Metal buffer is page-aligned host memory (Apple GPUs share it): its
    numpy() is a view, and the entry wraps it without a copy."""
    page = os.sysconf("SC_PAGESIZE")
    x = parpy.buffer.from_array(np.arange(10, dtype=np.float32), Metal)
    y = parpy.buffer.zeros(10, parpy.types.F32, Metal)
    assert y.backend is Metal and y.numpy().ctypes.data % page == 0
    view = y.numpy()
    scale(x, y, 10, opts=metal({'N': T(32)}))
    np.testing.assert_array_equal(view, 2 * np.arange(10, dtype=np.float32) + 1)
    # The entry asks the runtime to use each array in place; edited to fail
    # when the runtime copied instead, it runs on buffers, fails on an
    # unaligned NumPy array.
    code = metal_code(scale, [x, y, 10], {'N': T(32)})
    use = "status = parpy_metal_use(&parpy_b[1], y, 40, &parpy_copied[1]);\n"
    assert use in code
    assert "if (status == 0 && parpy_copied[1])\n    status = parpy_metal_copy_out(y," in code
    f = parpy.compile_string("scale", code.replace(
        use, use + "  if (parpy_copied[0] || parpy_copied[1])\n    return 7;\n"), metal())
    f(x, y, 10)
    unaligned = np.zeros(11, np.float32)[1:]
    with pytest.raises(parpy.errors.ParPyRuntimeError):
        f(unaligned, unaligned.copy(), 10)


@runs
def test_numpy_arrays_are_copied_in_and_back():
    x = np.zeros(11, np.float32)[1:]  # never page-aligned: copied
    x[:] = np.arange(10)
    y = np.zeros(11, np.float32)[1:]
    scale(x, y, 10, opts=metal({'N': T(32)}))
    np.testing.assert_array_equal(y, 2 * x + 1)


def test_metal_buffer_api():
    b = parpy.buffer.from_array(np.arange(6, dtype=np.int32), Metal)
    assert b.backend is Metal and b.dtype is parpy.types.I32
    v = b.numpy()
    v[0] = 7  # a view of the buffer's memory
    assert b.numpy()[0] == 7 and np.asarray(b)[0] == 7
    c = b.copy()
    assert c.backend is Metal and c.numpy().tolist() == [7, 1, 2, 3, 4, 5]
    assert b.reshape(2, 3).numpy().shape == (2, 3)
    assert b.with_type(np.float32).backend is Metal
    assert b.with_type(np.int64).numpy().tolist() == [7, 1, 2, 3, 4, 5]
    z = parpy.buffer.zeros((2, 2), np.float32, Metal)
    assert z.numpy().tolist() == [[0, 0], [0, 0]]
    assert parpy.buffer.empty_like(z).backend is Metal
    parpy.buffer.sync(Metal)  # nothing to wait for: calls return when done
    assert "backend=Metal" in repr(z)


@runs
def test_metal_buffer_in_cpu_code(rng):
    """Metal buffers are host memory: Cpu code uses them in place too."""
    x = parpy.buffer.from_array(np.arange(10, dtype=np.float32), Metal)
    y = parpy.buffer.zeros(10, parpy.types.F32, Metal)
    scale(x, y, 10, opts=options({'N': T(4)}, parpy.CompileBackend.Cpu))
    np.testing.assert_array_equal(y.numpy(), 2 * np.arange(10, dtype=np.float32) + 1)


# --- PyTorch mps tensors ----------------------------------------------------------

def fake_mps_type(torch):
    """A CPU tensor that says it is on mps: what ParPy does with an mps
    tensor (a CPU copy for the call, copied back) runs here without one."""
    class FakeMps(torch.Tensor):
        @property
        def is_cpu(self):
            return False

        @property
        def is_cuda(self):
            return False

        @property
        def device(self):
            return "mps:0"

        def cpu(self):
            return self.as_subclass(torch.Tensor).clone()
    return FakeMps


@runs
@pytest.mark.parametrize("backend", [Metal, parpy.CompileBackend.Cpu], ids=["Metal", "Cpu"])
def test_mps_tensors_are_copied_in_and_back(backend):
    torch = pytest.importorskip("torch")
    fake = fake_mps_type(torch)
    x = torch.arange(10, dtype=torch.float32).as_subclass(fake)
    y = torch.zeros(10, dtype=torch.float32).as_subclass(fake)
    scale(x, y, 10, opts=options({'N': T(32)}, backend))
    want = 2 * torch.arange(10, dtype=torch.float32) + 1
    assert torch.equal(y.as_subclass(torch.Tensor), want)
    assert torch.equal(x.as_subclass(torch.Tensor), torch.arange(10, dtype=torch.float32))


def test_tensors_on_other_devices_are_refused():
    torch = pytest.importorskip("torch")
    x = torch.empty(10, device="meta")
    with pytest.raises(parpy.errors.ParPyTypeError,
                       match="on the device 'meta'; ParPy takes tensors on the CPU, on a CUDA "
                             "device or on mps"):
        scale(x, x, 10, opts=metal({'N': T(32)}))


@runs
def test_real_mps_tensors():
    torch = pytest.importorskip("torch")
    if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        pytest.skip("no PyTorch mps device")
    x = torch.arange(10, dtype=torch.float32, device="mps")
    y = torch.zeros(10, dtype=torch.float32, device="mps")
    scale(x, y, 10, opts=metal({'N': T(32)}))
    assert torch.equal(y.cpu(), 2 * x.cpu() + 1)


def test_host_code_calls_only_the_runtime_api():
    """The generated host C++ talks to Metal only through the fixed API of
    parpy_metal.h (implemented by parpy_metal_runtime.mm and the simulator)."""
    header = include_text("parpy_metal.h")
    api = set(re.findall(r"PARPY_METAL_API [\w ]+?\*?(parpy_metal_\w+)\(", header))
    assert api == {"parpy_metal_load", "parpy_metal_alloc", "parpy_metal_free",
                   "parpy_metal_use", "parpy_metal_copy_in", "parpy_metal_copy_out",
                   "parpy_metal_launch", "parpy_metal_sync", "parpy_metal_error"}
    helpers = {"parpy_metal_buffer_arg", "parpy_metal_bytes_arg"}  # inline, in the header
    for name in ("parpy_metal_runtime.mm", "parpy_metal_sim.cpp"):
        text = include_text(name)
        for fn in api:
            assert re.search(rf"\n\w[\w *]* \*?{fn}\(", text), (name, fn)
    n = 0
    for code in printed_programs():
        host = code.replace(library(code), "")
        called = set(re.findall(r"\b(parpy_metal_[a-z_]+)\(", host))
        assert called <= api | helpers, called - api - helpers
        assert "MTL" not in host and "objc" not in host.lower()
        n += 1
    assert n > 10
