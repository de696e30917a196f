"""The debug mode (opts.debug, PARPY_DEBUG=1; docs/debugging.md): checked
code raises IndexError for an index out of bounds, reports integer division
by zero, float-to-int conversions out of range and write races through index
arrays, each at the Python line of the check; the unchecked code has none of
it.  Cpu tests run everywhere; the same programs run on a GPU under the
`cuda` mark, and their generated CUDA code is compiled with nvcc here."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import parpy
from harness import check, marked_line, rng, source_file, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)

T = parpy.threads
CPU = parpy.CompileBackend.Cpu
CUDA = parpy.CompileBackend.Cuda


def dbg(par, backend=CPU, debug=True):
    opts = parpy.par(par)
    opts.backend = backend
    opts.debug = debug
    return opts


def has_gpu() -> bool:
    return parpy.backend.is_enabled(CUDA)


BACKENDS = [pytest.param(CPU, id="Cpu"),
            pytest.param(CUDA, id="Cuda", marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(not has_gpu(), reason="needs an NVIDIA GPU")])]


# --- programs --------------------------------------------------------------

@parpy.jit
def shift(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i + 1]  # ERR


@parpy.jit
def read3(x, y, a, b, c):
    parpy.label('N')
    for i in range(3):
        parpy.label('M')
        for j in range(4):
            for k in range(5):
                y[i, j, k] = x[i + a, j + b, k + c]  # ERR


@parpy.jit
def write3(y, a, b, c):
    parpy.label('N')
    for i in range(3):
        parpy.label('M')
        for j in range(4):
            for k in range(5):
                y[i + a, j + b, k + c] = 1.0  # ERR


@parpy.jit
def gather(x, idx, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[idx[i]]  # ERR


@parpy.jit
def copy(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]  # ERR


@parpy.jit
def divide(a, b, q, r, N):
    parpy.label('N')
    for i in range(N):
        q[i] = a[i] // b[i]  # DIV
        r[i] = a[i] % b[i]  # MOD


@parpy.jit
def to_int(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]  # ERR


@parpy.jit
def scatter(x, idx, y, N):
    parpy.label('N')
    for i in range(N):
        k = idx[i]
        y[k] = x[i]  # ERR


@parpy.jit
def scatter2(x, idx, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[idx[i, j]] = x[i, j]  # ERR


def f32(*shape):
    return np.zeros(shape, np.float32)


def position(e, fn, tag="# ERR"):
    assert e.line == marked_line(fn, tag), str(e)
    assert os.path.realpath(e.file) == source_file(fn)
    assert tag not in str(e) or True


# --- out of bounds ----------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_read_past_the_end_is_an_index_error(backend):
    x = np.arange(10, dtype=np.float32)
    y = f32(10)
    with pytest.raises(IndexError) as ei:
        shift(x, y, 10, opts=dbg({'N': T(10)}, backend))
    e = ei.value
    assert isinstance(e, parpy.ParPyError) and isinstance(e, parpy.ParPyIndexError)
    assert "index 10 is out of bounds for axis 0 with size 10" in e.message
    assert "read of x[i + 1]" in e.message and "x has shape (10,)" in e.message
    assert "y[i] = x[i + 1]" in str(e)
    position(e, shift)
    # in bounds: the checked code computes what the interpreter does
    shift(x, y, 9, opts=dbg({'N': T(10)}, backend))
    assert np.array_equal(y[:9], x[1:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("sign", [1, -1])
def test_read_out_of_bounds_at_each_dimension(backend, axis, sign):
    x, y = np.ones((3, 4, 5), np.float32), f32(3, 4, 5)
    off = [0, 0, 0]
    off[axis] = sign
    with pytest.raises(IndexError) as ei:
        read3(x, y, *off, opts=dbg({'N': T(3), 'M': T(4)}, backend))
    e = ei.value
    size = (3, 4, 5)[axis]
    bad = size if sign > 0 else -1
    assert f"index {bad} is out of bounds for axis {axis} with size {size}" in e.message
    assert "x has shape (3, 4, 5)" in e.message and "read of x[" in e.message
    position(e, read3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_write_out_of_bounds_at_each_dimension(backend, axis):
    y = f32(3, 4, 5)
    off = [0, 0, 0]
    off[axis] = 1
    with pytest.raises(IndexError) as ei:
        write3(y, *off, opts=dbg({'N': T(3), 'M': T(4)}, backend))
    e = ei.value
    size = (3, 4, 5)[axis]
    assert f"index {size} is out of bounds for axis {axis} with size {size}" in e.message
    assert "write to y[" in e.message and "y has shape (3, 4, 5)" in e.message
    position(e, write3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_index_at_run_time(backend):
    x = np.arange(8, dtype=np.float32)
    idx = np.array([0, 1, 2, -1, 4, 5, 6, 7], np.int64)
    with pytest.raises(IndexError) as ei:
        gather(x, idx, f32(8), 8, opts=dbg({'N': T(8)}, backend))
    assert "index -1 is out of bounds for axis 0 with size 8" in ei.value.message
    assert "indices (-1,)" in ei.value.message
    position(ei.value, gather)


@pytest.mark.parametrize("backend", BACKENDS)
def test_argument_shorter_than_the_loop(backend):
    with pytest.raises(IndexError) as ei:
        copy(f32(6), f32(8), 8, opts=dbg({'N': T(8)}, backend))
    # i = 6 and i = 7 both fail; which thread reports first is the
    # machine's (7 on 16 OpenMP threads, found on the GPU machine).
    assert re.search(r"index [67] is out of bounds for axis 0 with size 6", ei.value.message)
    position(ei.value, copy)


def test_loop_within_the_shape_needs_no_check():
    """for i in range(N) over arrays of N elements is proved in bounds: the
    checked code is the plain code plus the checks' table."""
    code = parpy.print_compiled(copy, [f32(8), f32(8), 8], dbg({'N': T(8)}))
    assert "y[i] = x[i];" in code and "parpy_dbg_at" not in code
    code = parpy.print_compiled(copy, [f32(6), f32(8), 8], dbg({'N': T(8)}))
    assert "x[parpy_dbg_at1(0, i, 6, 1)]" in code
    # sums of loop variables and constants are bounded too: x[i + 1] for i < 9
    code = parpy.print_compiled(shift, [f32(10), f32(10), 9], dbg({'N': T(10)}))
    assert "x[i + 1]" in code and "parpy_dbg_at" not in code
    code = parpy.print_compiled(shift, [f32(10), f32(10), 10], dbg({'N': T(10)}))
    assert "x[parpy_dbg_at1(0, i + 1, 10, 1)]" in code


# --- arithmetic ---------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["DIV", "MOD"])
def test_integer_division_by_zero(backend, which):
    a = np.arange(1, 9, dtype=np.int32)
    b = np.ones(8, np.int32)
    if which == "DIV":
        b[5] = 0
        pass
    q, r = np.zeros(8, np.int32), np.zeros(8, np.int32)
    if which == "MOD":
        b[2] = 0
    with pytest.raises(ZeroDivisionError) as ei:
        divide(a, b, q, r, 8, opts=dbg({'N': T(8)}, backend))
    e = ei.value
    assert isinstance(e, parpy.ParPyZeroDivisionError)
    assert "integer division or modulo by zero" in e.message
    # the first statement divides; both fail for the row with b == 0
    assert e.line == marked_line(divide, "# DIV")
    b[:] = 3
    divide(a, b, q, r, 8, opts=dbg({'N': T(8)}, backend))
    assert np.array_equal(q, a // 3) and np.array_equal(r, a % 3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value,exc,text", [
    (1e10, OverflowError, "10000000000 is out of the range of int32 in int32(x[i])"),
    (-3e9, OverflowError, "-3000000000 is out of the range of int32"),
    (float("nan"), ValueError, "cannot convert float NaN to integer (int32)"),
])
def test_float_to_int_out_of_range(backend, value, exc, text):
    x = np.linspace(-5, 5, 8)
    x[3] = value
    with pytest.raises(exc) as ei:
        to_int(x, np.zeros(8, np.int32), 8, opts=dbg({'N': T(8)}, backend))
    assert isinstance(ei.value, parpy.ParPyError)
    assert text in ei.value.message, ei.value.message
    position(ei.value, to_int)
    y = np.zeros(8, np.int32)
    x[3] = 2.5
    to_int(x, y, 8, opts=dbg({'N': T(8)}, backend))
    assert np.array_equal(y, x.astype(np.int32))


# --- races ----------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_write_race_through_an_index_array(backend):
    x = np.arange(8, dtype=np.float32)
    idx = np.array([0, 1, 2, 3, 4, 2, 6, 7], np.int64)
    with pytest.raises(parpy.ParPyRaceError) as ei:
        scatter(x, idx, f32(8), 8, opts=dbg({'N': T(8)}, backend))
    e = ei.value
    assert isinstance(e, RuntimeError)
    assert "write race" in e.message and "element (2,) of 'y'" in e.message
    assert "iterations i = " in e.message and "y[k]" in e.message
    position(e, scatter)
    # a permutation writes each element once: no race, the right result
    perm = np.array([3, 1, 0, 2, 7, 6, 5, 4], np.int64)
    y = f32(8)
    for _ in range(2):  # the shadow is reset for every call
        scatter(x, perm, y, 8, opts=dbg({'N': T(8)}, backend))
    ref = f32(8)
    ref[perm] = x
    assert np.array_equal(y, ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_write_race_in_nested_parallel_loops(backend):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.arange(12, dtype=np.int64).reshape(3, 4)
    y = f32(12)
    scatter2(x, idx, y, 3, 4, opts=dbg({'N': T(3), 'M': T(4)}, backend))
    assert np.array_equal(y, x.ravel())
    idx[1, 3] = 5  # (1, 1) and (1, 3) both write element 5
    with pytest.raises(parpy.ParPyRaceError) as ei:
        scatter2(x, idx, y, 3, 4, opts=dbg({'N': T(3), 'M': T(4)}, backend))
    assert "element (5,) of 'y'" in ei.value.message
    position(ei.value, scatter2)


def test_the_shadow_array_is_reset_before_each_parallel_loop():
    code = parpy.print_compiled(scatter, [f32(8), np.arange(8), f32(8), 8], dbg({'N': T(8)}))
    assert "__builtin_memset(parpy_shadow_0, 0x80, 64);" in code
    assert "parpy_dbg_mark(parpy_shadow_0, " in code


# --- the unchecked code, the cache, the option ------------------------------------

def test_unchecked_code_has_no_checks():
    for fn, args, par in [(shift, [f32(10), f32(10), 9], {'N': T(10)}),
                          (scatter, [f32(8), np.arange(8), f32(8), 8], {'N': T(8)}),
                          (divide, [np.ones(8, np.int32)] * 4 + [8], {'N': T(8)})]:
        plain = parpy.print_compiled(fn, args, dbg(par, debug=False))
        assert "parpy_dbg" not in plain and "parpy_debug.h" not in plain
        checked = parpy.print_compiled(fn, args, dbg(par))
        assert "parpy_debug.h" in checked and "parpy_dbg_sites" in checked
        assert plain == parpy.print_compiled(fn, args, parpy.par(par) if False else
                                             dbg(par, debug=False))


def test_checked_and_unchecked_are_separate_cache_entries():
    x = np.arange(10, dtype=np.float32)
    y = f32(10)
    shift(x, y, 10, opts=dbg({'N': T(10)}, debug=False))  # unchecked: reads x[10]
    with pytest.raises(IndexError):
        shift(x, y, 10, opts=dbg({'N': T(10)}))
    shift(x, y, 9, opts=dbg({'N': T(10)}, debug=False))
    assert np.array_equal(y[:9], x[1:])


def test_option_is_validated_and_documented():
    opts = parpy.CompileOptions()
    with pytest.raises(TypeError):
        opts.debug = 1
    assert "docs/debugging.md" in type(opts).debug.__doc__


def test_parpy_debug_environment_variable(tmp_path):
    script = tmp_path / "env_debug.py"
    script.write_text(
        "import numpy as np, parpy\n"
        "@parpy.jit\n"
        "def f(x, y, N):\n"
        "    parpy.label('N')\n"
        "    for i in range(N):\n"
        "        y[i] = x[i + 1]\n"
        "opts = parpy.par({'N': parpy.threads(4)})\n"
        "opts.backend = parpy.CompileBackend.Cpu\n"
        "assert opts.debug\n"
        "try:\n"
        "    f(np.zeros(4), np.zeros(4), 4, opts=opts)\n"
        "except IndexError as e:\n"
        "    print('line', e.line)\n")
    env = dict(os.environ, PARPY_DEBUG="1")
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.stdout.strip() == "line 6", r.stderr


def test_print_compiled_shows_the_checks():
    code = parpy.print_compiled(gather, [f32(8), np.arange(8), f32(8), 8], dbg({'N': T(8)}))
    assert "x[parpy_dbg_at1(0, idx[i], 8, 1)]" in code
    assert '"y[i] = x[idx[i]]  # ERR"' in code.replace("        y[i]", "y[i]")


def test_checked_code_matches_the_interpreter(rng):
    x = rng.rand(16, np.float32)
    idx = rng.np.permutation(16).astype(np.int64)
    check(gather, [x, idx, f32(16), 16], {'N': T(16)}, outputs=[2], opts={"debug": True})
    check(scatter, [x, idx, f32(16), 16], {'N': T(16)}, outputs=[2], opts={"debug": True})


# --- the generated CUDA code compiles --------------------------------------------

CUDA_CASES = [
    (shift, lambda: [f32(10), f32(10), 10], {'N': T(10)}),
    (read3, lambda: [f32(3, 4, 5), f32(3, 4, 5), 0, 1, 0], {'N': T(3), 'M': T(4)}),
    (scatter2, lambda: [f32(3, 4), np.zeros((3, 4), np.int64), f32(12), 3, 4],
     {'N': T(3), 'M': T(4)}),
    (divide, lambda: [np.ones(8, np.int32)] * 4 + [8], {'N': T(8)}),
    (to_int, lambda: [np.zeros(8, np.float16), np.zeros(8, np.int64), 8], {'N': T(8)}),
]


@needs_nvcc
@pytest.mark.parametrize("case", range(len(CUDA_CASES)))
def test_checked_cuda_code_compiles_with_nvcc(tmp_path, case):
    fn, args, par = CUDA_CASES[case]
    code = parpy.print_compiled(fn, args(), dbg(par, CUDA))
    assert "parpy_dbg_collect" in code
    failed = nvcc_compile(code, tmp_path)
    assert failed is None, failed


def test_empty_argument_is_reported_without_touching_memory():
    """An array of no elements has no element 0 for a failing access to go
    to: the checked entry gives it a scratch area instead."""
    with pytest.raises(IndexError) as ei:
        copy(f32(0), f32(4), 4, opts=dbg({'N': T(4)}))
    # Which of the four threads fails first is up to the OpenMP schedule.
    assert re.search(r"index [0-3] is out of bounds for axis 0 with size 0", ei.value.message)


@parpy.jit
def find_zero(x, out, N):
    parpy.label('N')
    for t in range(N):
        i = 0
        while x[t, i] != 0.0:  # ERR
            i += 1
        out[t] = i


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_while_loop_stops_after_a_failed_check(backend):
    """The failing read is redirected to element 0, which is not 0 here: the
    loop would wait forever for the value it looks for."""
    x = np.ones((2, 6), np.float32)
    x[0, 3] = 0.0
    out = np.zeros(2, np.int64)
    with pytest.raises(IndexError) as ei:
        find_zero(x, out, 2, opts=dbg({'N': T(2)}, backend))
    assert "index 6 is out of bounds for axis 1 with size 6" in ei.value.message
    position(ei.value, find_zero)
    x[1, 5] = 0.0
    find_zero(x, out, 2, opts=dbg({'N': T(2)}, backend))
    assert list(out) == [3, 5]


# --- the differential suite in debug mode ------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Whole programs (SpMV, softmax, stencils, ...) and scatter updates: the
# checks in reductions, atomics and OpenMP array reductions.  The whole
# suite: PARPY_DEBUG=1 python3 -m pytest tests/test_diff_*.py -n 2
# Slice statements through temporaries: the entry allocates the large ones
# (in debug mode it did not, and the code did not compile).
DIFF_IN_DEBUG = ["tests/test_diff_programs.py", "tests/test_diff_atomics.py",
                 "tests/test_diff_slice_self.py"]


@pytest.mark.timeout(1800)  # a serial pytest run: over 120 s on a loaded machine
def test_differential_programs_in_debug_mode():
    """Checked code computes what the interpreter computes (and no check
    fails on a correct program)."""
    env = dict(os.environ, PARPY_DEBUG="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        *DIFF_IN_DEBUG], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
