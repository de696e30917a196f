"""NumPy's and Python's semantics at the edges (issue 9): fused multiply-add,
names that collide with reserved prefixes and C library symbols, the process
locale, comparisons of unsigned ints with negative Python ints, NaN in
max/min, 64-bit literal arithmetic, NumPy functions of Python scalars,
conversions and shifts that would be undefined in C, and bools."""
import pathlib

import numpy as np
import pytest

import parpy
from harness import check, rng, FLOATS, dtype_id  # noqa: F401

EXACT = dict(rtol=0, atol=0)


def par(*labels):
    return {lab: parpy.threads(64) for lab in labels or ("N",)}


# --- 1. no fused multiply-add -----------------------------------------------

@parpy.jit
def axpy(a, x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i] = a[i] * x[i] + y[i]


@parpy.jit
def axmy(a, x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i] = y[i] - a[i] * x[i]


@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("fn", [axpy, axmy], ids=["axpy", "axmy"])
def test_multiply_add_is_not_fused(rng, dt, fn):
    """Contracting a*x+y into one FMA rounds once where NumPy rounds twice: a
    quarter of the elements would differ in the last bit.  Compared bit for
    bit with NumPy's vectorised result as well as the interpreter's."""
    n = 100_000
    a, x, y = (rng.rand(n, dt, -4, 4) for _ in range(3))
    _, got = check(fn, [a, x, y, np.empty(n, dt), n], par(), outputs=[3], **EXACT)
    want = a * x + y if fn is axpy else y - a * x
    assert want.dtype == got[3].dtype
    assert np.array_equal(got[3].view(np.uint8), want.view(np.uint8))


# --- 0 and 2. function and variable names -----------------------------------

def load_module(tmp_path, name, source):
    """Import `source` from a file (jit needs the source in a file)."""
    import importlib.util
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


NAMED = '''
import parpy as pj
from parpy.types import F64

@pj.jit
def {h}(p: F64) -> F64:
    {v} = p * 2.0
    return {v} + 1.0

@pj.jit
def {f}(x, y, N):
    pj.label('N')
    for i in range(N):
        {v} = {h}(x[i])
        y[i] = {v} - x[i]
'''


def run_named(tmp_path, tag, main, helper, var):
    mod = load_module(tmp_path, f"named_{tag}", NAMED.format(f=main, h=helper, v=var))
    n = 37
    x = np.arange(n, dtype=np.float64)
    y = np.full(n, np.nan)
    getattr(mod, main)(x, y, n, opts=parpy.par({'N': parpy.threads(8)}))
    assert np.array_equal(y, x + 1.0), (main, helper, var)


RESERVED_PREFIX = ["parpy_kernel", "parpy_add", "parpy", "parpy_code", "__kernel", "__",
                   "_Kernel", "_K", "omp_kernel", "GOMP_parallel", "cudaKernel"]


def test_names_with_reserved_prefixes_compile(tmp_path):
    """c_name_functions once renamed parpy_kernel to parpy_kernel_, still
    reserved, forever: NPBench names its kernels so.  Run in a child with a
    time limit, so that a hang fails instead of stalling the suite."""
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent(f'''
        import sys, pathlib
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        from test_diff_semantics import run_named, RESERVED_PREFIX
        tmp = pathlib.Path({str(tmp_path)!r})
        for k, name in enumerate(RESERVED_PREFIX):
            other = RESERVED_PREFIX[(k + 1) % len(RESERVED_PREFIX)]
            run_named(tmp, k, name, other + "_h", "_V" if k % 2 else name + "_v")
        print("ok")
    ''')
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


LIBC_NAMES = ["select", "step", "advance", "sleep", "random", "index", "time", "rand", "abort",
              "read", "write", "open", "close", "puts", "strlen", "signal", "kill", "exit",
              "fork", "atexit", "environ", "stdout", "clock", "getenv", "qsort", "dlopen",
              "pthread_create", "omp_get_thread_num", "GOMP_parallel", "cudaMalloc", "main",
              "_init", "_fini", "entry", "memmove", "sqrt", "exp", "j0", "gamma", "nan", "fmax"]


@pytest.mark.parametrize("name", LIBC_NAMES)
def test_names_of_library_symbols(tmp_path, name):
    """A jitted function (or helper, or local) named like a symbol of libc,
    libm, libgomp or the CUDA runtime once bound to that symbol: select
    crashed, sleep hung, random returned random().  Generated functions are
    static, so no Python name can reach another library's symbol."""
    run_named(tmp_path, "main", name, "helper", name)
    run_named(tmp_path, "helper", "kernel", name, "v")


# --- 3. the process locale ----------------------------------------------------

LOCALE_CHILD = '''
import locale, sys
import numpy as np
import parpy

@parpy.jit
def add_const(x, y, a, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] + 2.5 * a + 0.125

for name in ("de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR"):
    try:
        locale.setlocale(locale.LC_ALL, name)
        break
    except locale.Error:
        pass
else:
    print("skip: no decimal-comma locale")
    sys.exit(0)
assert locale.localeconv()["decimal_point"] == ",", locale.localeconv()
opts = parpy.par({'N': parpy.threads(4)})
x = np.arange(8, dtype=np.float64)
y = np.zeros(8)
code = parpy.print_compiled(add_const, [x, y, 1.5, 8], opts)
assert "2,5" not in code and "2.5" in code, code
add_const(x, y, 1.5, 8, opts=opts)
assert np.array_equal(y, x + 2.5 * 1.5 + 0.125), y
print("ok")
'''


def test_generated_code_ignores_the_locale(tmp_path):
    """With a decimal-comma locale, printf printed 2.5 as 2,5 (the comma
    operator in C: it added 2).  The child makes a de_DE locale with
    localedef where the system has none."""
    import os
    import shutil
    import subprocess
    import sys
    (tmp_path / "child.py").write_text(LOCALE_CHILD)
    env = dict(os.environ, PARPY_CACHE_DIR=str(tmp_path / "cache"))
    if shutil.which("localedef"):
        subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                        str(tmp_path / "de_DE.UTF-8")], capture_output=True)
        if (tmp_path / "de_DE.UTF-8").exists():
            env["LOCPATH"] = str(tmp_path)
    r = subprocess.run([sys.executable, str(tmp_path / "child.py")], capture_output=True,
                       text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    if r.stdout.startswith("skip"):
        pytest.skip(r.stdout.strip())
    assert r.stdout.strip() == "ok"


# --- 7. Python int literal arithmetic in 64 bits and beyond -------------------

@parpy.jit
def literal_arith(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = 2147483647 * (-8) + x[i]
        y[1, i] = 2147483647 + 1 + x[i]
        y[2, i] = -int(-12) + x[i]
        y[3, i] = (1 << 40) // 3 - x[i] % (-7)
        y[4, i] = -9223372036854775808 + x[i]
        y[5, i] = 2 ** 62 + 3 * 2 ** 61 // 2 - (18446744073709551615 - 2 ** 63) + x[i]
        y[6, i] = ~2147483647 - 2147483647 * 2 + x[i]
        y[7, i] = -(-9223372036854775807) + -x[i]


def test_python_int_literal_arithmetic_is_exact(rng):
    """C computes 2147483647 * -8 in 32-bit int (8); Python exactly."""
    n = 50
    check(literal_arith, [rng.rand(n, np.int64, 0, 100), np.empty((8, n), np.int64), n],
          par(), outputs=[1])


@parpy.jit
def u64_literals(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = x[i] & 18446744073709551615
        y[1, i] = x[i] ^ 18446744073709551615
        y[2, i] = x[i] // 9223372036854775808
        y[3, i] = x[i] % 18446744073709551557
        y[4, i] = 18446744073709551615 - x[i]


def test_literals_beyond_int64_with_uint64(rng):
    n = 50
    check(u64_literals, [rng.rand(n, np.uint64, 0, 2**64 - 1), np.empty((5, n), np.uint64), n],
          par(), outputs=[1])


def big_with_int64(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] + 18446744073709551615  # ERR


def too_big(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] + 2 ** 64 * 3  # ERR


def test_literals_outside_their_range_are_errors():
    from test_errors import raises_at
    x = np.zeros(10, np.int64)
    raises_at(parpy.ParPyValueError, "Python integer 18446744073709551615 out of bounds for "
              "int64", big_with_int64, (x, x, 10))
    raises_at(parpy.ParPyValueError, "outside the 64-bit range", too_big, (x, x, 10))
