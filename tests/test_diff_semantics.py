"""NumPy's and Python's semantics at the edges (issue 9): fused multiply-add,
names that collide with reserved prefixes and C library symbols, the process
locale, comparisons of unsigned ints with negative Python ints, NaN in
max/min, 64-bit literal arithmetic, NumPy functions of Python scalars,
conversions and shifts that would be undefined in C, and bools."""
import pathlib

import numpy as np
import pytest

import parpy
from harness import BACKEND, check, rng, FLOATS, dtype_id  # noqa: F401

# PARPY_DEBUG=1 runs the suite in the debug mode (docs/debugging.md)
DEBUG_MODE = __import__("os").environ.get("PARPY_DEBUG") == "1"

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
    a, x, y = got[:3]  # the compiled run's inputs (float32 copies on Metal, which has no float64)
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


# --- 5. NaN in max/min ----------------------------------------------------------

def with_nans(rng, shape, dt, frac=0.2):
    x = rng.rand(shape, dt)
    x[rng.np.random(x.shape) < frac] = np.nan
    return x


@parpy.jit
def two_arg_max_min(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = max(x[0, i], x[1, i])
        y[1, i] = min(x[0, i], x[1, i])
        y[2, i] = np.maximum(x[0, i], x[1, i])
        y[3, i] = np.minimum(x[0, i], x[1, i])
        y[4, i] = parpy.operators.max(x[0, i], x[1, i])
        y[5, i] = parpy.operators.min(x[0, i], x[1, i])
        y[6, i] = max(x[0, i], 0.5)
        y[7, i] = min(-0.5, x[1, i])


@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
def test_builtin_max_min_compare_as_python(rng, dt):
    """Python's max(a, b) is a unless b > a: it keeps a NaN only when it comes
    first.  np.maximum and parpy.operators.max propagate NaN."""
    n = 200
    check(two_arg_max_min, [with_nans(rng, (2, n), dt), np.empty((8, n), dt), n], par(),
          outputs=[1], **EXACT)


@parpy.jit
def labelled_max_min(x, out):
    parpy.label('N')
    out[0] = parpy.operators.max(x[:])
    parpy.label('N')
    out[1] = parpy.operators.min(x[:])
    parpy.label('N')
    out[2] = np.max(x[:])


@parpy.jit
def loop_builtin_max(x, out, N):
    with parpy.gpu:
        acc = -parpy.operators.inf
        parpy.label('N')
        for i in range(N):
            acc = max(acc, x[i])
        out[0] = acc


@parpy.jit
def loop_numpy_max(x, out, N):
    with parpy.gpu:
        acc = -parpy.operators.inf
        parpy.label('N')
        for i in range(N):
            acc = np.maximum(acc, x[i])
        out[0] = acc


@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nthreads", [1, 7, 64])
def test_parallel_max_min_propagate_nan(rng, dt, nthreads):
    """OpenMP's reduction(max:) dropped NaN: [1, nan, 2] gave 2."""
    for x in (np.array([1, np.nan, 2], dt), with_nans(rng, 1000, dt, 0.001),
              rng.rand(1000, dt)):
        n = len(x)
        check(labelled_max_min, [x, np.empty(3, dt)], {'N': parpy.threads(nthreads)},
              outputs=[1], **EXACT)
        red = {'N': parpy.threads(nthreads).reduce()}
        check(loop_numpy_max, [x, np.empty(1, dt), n], red, outputs=[1], **EXACT)
        check(loop_builtin_max, [x, np.empty(1, dt), n], red, outputs=[1], **EXACT)


# --- 10. bools ---------------------------------------------------------------------

@parpy.jit
def bool_ops(b, y, z, r, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = max(b[0, i], b[1, i])
        y[1, i] = min(b[0, i], b[1, i])
        y[2, i] = b[0, i] + b[1, i]
        y[3, i] = b[0, i] * b[1, i]
        y[4, i] = ~b[0, i]
        y[5, i] = np.maximum(b[0, i], b[1, i]) + True
        z[0, i] = b[0, i] // (b[1, i] | True)
        z[1, i] = (b[0, i] + b[1, i]) * 3
        z[2, i] = b[0, i] % True
        r[0, i] = -True + i
        r[1, i] = True + True + i
        r[2, i] = True * False + ~True + i
        r[3, i] = True // True + +True + i


@parpy.jit
def bool_reductions(b, out):
    out[0] = max(b[:])
    out[1] = min(b[:])
    out[2] = np.max(b[:])
    parpy.label('N')
    out[3] = parpy.operators.min(b[:])


def test_bool_arithmetic_as_numpy_and_python(rng):
    n = 64
    check(bool_ops, [rng.rand((2, n), np.bool_), np.empty((6, n), np.bool_),
                     np.empty((3, n), np.int8), np.empty((4, n), np.int64), n], par(),
          outputs=[1, 2, 3])


def test_bool_reductions(rng):
    for b in (rng.rand(50, np.bool_), np.ones(50, np.bool_), np.zeros(50, np.bool_)):
        check(bool_reductions, [b, np.empty(4, np.bool_)], {'N': parpy.threads(8)},
              outputs=[1])


def bool_sub(b, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = b[i] - b[i]  # ERR


def bool_neg(b, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = -b[i]  # ERR


def test_numpy_bool_subtract_and_negate_are_errors():
    from test_errors import raises_at
    b = np.zeros(10, np.bool_)
    raises_at(parpy.ParPyTypeError, "NumPy does not subtract booleans", bool_sub, (b, b, 10))
    raises_at(parpy.ParPyTypeError, "NumPy does not support the unary - operator", bool_neg,
              (b, b, 10))


# --- 9. conversions and shifts that C leaves undefined ----------------------------

EDGE_FLOATS = [-9.5, -1.0, -300.7, 300.7, 40000.5, 1e10, -1e10, 1e20, -1e20, np.nan, np.inf,
               -np.inf, 2.0**63, 2.0**64, 5e9, 0.0, -0.0, 255.9, -128.5, 2.0**31, -2.0**31 - 1]


@parpy.jit
def float_to_uints(x, a, b, c, d, N):
    parpy.label('N')
    for i in range(N):
        a[i] = x[i]
        b[i] = x[i]
        c[i] = x[i]
        d[i] = x[i]


@pytest.mark.skipif(DEBUG_MODE, reason="the debug mode raises ParPyOverflowError here "
                    "(tests/test_debug.py checks it)")
@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
def test_float_to_unsigned_out_of_range_as_numpy(dt):
    """NumPy (x86-64) gives 2**64 - 9 for -9.5 stored into uint64; a C cast
    is undefined there.  (Storing an out-of-range float into a signed array
    raises in NumPy, so only unsigned targets compare with the interpreter.)"""
    x = np.array(EDGE_FLOATS, dt)
    n = len(x)
    with np.errstate(all="ignore"):
        check(float_to_uints, [x] + [np.empty(n, t) for t in (np.uint8, np.uint16, np.uint32,
                                                             np.uint64)] + [n],
              par(), outputs=[1, 2, 3, 4])


@parpy.jit
def float_to_ints(x, a, b, c, d, N):
    parpy.label('N')
    for i in range(N):
        a[i] = np.int8(x[i])
        b[i] = np.int16(x[i])
        c[i] = np.int32(x[i])
        d[i] = np.int64(x[i])


@pytest.mark.skipif(DEBUG_MODE, reason="the debug mode raises ParPyOverflowError here "
                    "(tests/test_debug.py checks it)")
@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
def test_float_to_signed_out_of_range_as_numpy_astype(dt):
    """Signed targets: NumPy's astype (the interpreter raises on a store)."""
    x = np.array(EDGE_FLOATS, dt)
    n = len(x)
    outs = [np.empty(n, t) for t in (np.int8, np.int16, np.int32, np.int64)]
    float_to_ints(x, *outs, n, opts=parpy.par(par()))
    with np.errstate(all="ignore"):
        for o in outs:
            assert np.array_equal(o, x.astype(np.float64).astype(o.dtype)), (o.dtype, o)


@parpy.jit
def shifts(x, k, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = x[i] << k[i]
        y[1, i] = x[i] >> k[i]
        y[2, i] = x[i] << 3
        y[3, i] = x[i] >> 2


@pytest.mark.parametrize("dt", [np.int8, np.int32, np.int64, np.uint8, np.uint32, np.uint64],
                         ids=dtype_id)
def test_shifts_by_the_width_or_negative_as_numpy(rng, dt):
    """x << 32 on int32 is 0 in NumPy (C: undefined), a negative count
    shifts everything out, a negative x shifts left as its bits do."""
    bits = 8 * np.dtype(dt).itemsize
    n = 3 * bits
    lo = -bits if np.dtype(dt).kind == "i" else 0
    k = np.concatenate([np.arange(lo, bits + 5, dtype=dt), rng.rand(n, dt, lo, bits + 5)])
    x = rng.rand(len(k), dt, -100 if lo else 0, 100)
    with np.errstate(all="ignore"):
        check(shifts, [x, k, np.empty((4, len(k)), dt), len(k)], par(), outputs=[2])


@parpy.jit
def negate_int_call(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = -int(-12) + x[i] - -x[i]


def test_negation_of_a_negative_call_compiles(rng):
    """-int(-12) was printed as --12, which does not compile."""
    check(negate_int_call, [rng.rand(20, np.int64), np.empty(20, np.int64), 20], par(),
          outputs=[1])


# --- the generated code itself under UBSan ------------------------------------------

# CompileOptions.extra_flags that build the generated code with UBSan, every
# finding fatal (the process dies, so the tests run it in a child).
UBSAN = ["-fsanitize=undefined", "-fno-sanitize-recover=undefined"]

UBSAN_CHILD = '''
import sys
import numpy as np
import parpy
sys.path.insert(0, {tests!r})
import test_diff_semantics as t

def opts():
    o = parpy.par({{'N': parpy.threads(4)}})
    o.extra_flags = t.UBSAN
    return o

if {control!r}:
    code = """#include "parpy_cpu.h"
static int32_t f(int32_t *x) {{ x[0] = x[0] << x[1]; return 0; }}
const char f__signature[] = "x:i32[2]";
const char f__access[] = "w";
int32_t f__entry(void **args) {{ return f((int32_t *)args[0]); }}
"""
    o = parpy.CompileOptions()
    o.extra_flags = t.UBSAN
    parpy.compile_string("f", code, o)(np.array([-5, 40], np.int32))
    print("no finding")
    sys.exit(0)

x = np.array(t.EDGE_FLOATS, np.float64)
n = len(x)
for fn, dts in ((t.float_to_uints, (np.uint8, np.uint16, np.uint32, np.uint64)),
                (t.float_to_ints, (np.int8, np.int16, np.int32, np.int64))):
    for src in (np.float16, np.float32, np.float64):
        fn(x.astype(src), *[np.empty(n, d) for d in dts], n, opts=opts())
for dt in (np.int8, np.int32, np.int64, np.uint8, np.uint64):
    bits = 8 * np.dtype(dt).itemsize
    k = np.arange(-bits if np.dtype(dt).kind == "i" else 0, bits + 3).astype(dt)
    xs = np.resize(np.array([-100, -1, 0, 1, 100, -128], np.int64), len(k)).astype(dt)
    t.shifts(xs, k, np.empty((4, len(k)), dt), len(k), opts=opts())
ints = np.array([np.iinfo(np.int64).min, -1, 0, 1, np.iinfo(np.int64).max], np.int64)
t.int_edges(ints, np.empty((6, 5), np.int64), 5, opts=opts())
t.literal_arith(np.arange(5, dtype=np.int64), np.empty((8, 5), np.int64), 5, opts=opts())
print("ok")
'''


@parpy.jit
def int_edges(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = x[i] // x[N - 1 - i]
        y[1, i] = x[i] % x[N - 1 - i]
        y[2, i] = -x[i]
        y[3, i] = abs(x[i])
        y[4, i] = x[i] * x[i] + x[i]
        y[5, i] = x[i] ** 3


def run_under_ubsan(tmp_path, control):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    env["PARPY_CACHE_DIR"] = str(tmp_path / "cache")
    script = UBSAN_CHILD.format(tests=str(pathlib.Path(__file__).parent), control=control)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=400)


@pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                    reason="builds the generated C with gcc's -fsanitize=undefined")
@pytest.mark.skipif(bool(__import__("os").environ.get("PARPY_SANITIZE")),
                    reason="runs in the plain suite: under CI's ASan+UBSan build the child "
                           "needs the preloaded runtime, whose reports go to files")
@pytest.mark.skipif(DEBUG_MODE, reason="the debug mode raises ParPyOverflowError here "
                    "(tests/test_debug.py checks it)")
def test_edge_values_are_free_of_undefined_behaviour(tmp_path):
    """Float-to-int conversions out of range, shifts by the width or a
    negative count, MIN // -1, -MIN, abs(MIN), overflowing products: the
    generated code built with -fsanitize=undefined reports nothing.  The
    control (a bare `x << 40` on int32) shows that UBSan does catch UB in
    code built this way."""
    control = run_under_ubsan(tmp_path, True)
    if "no finding" in control.stdout or "sanitize" in control.stderr and \
            "unrecognized" in control.stderr:
        pytest.skip("the C compiler's UBSan does not work here: " + control.stderr[-300:])
    assert control.returncode != 0 and "runtime error" in control.stderr, \
        control.stdout + control.stderr
    r = run_under_ubsan(tmp_path, False)
    assert r.returncode == 0 and r.stdout.strip() == "ok" and "runtime error" not in r.stderr, \
        r.stdout + r.stderr


# --- 4. integers compared by value ---------------------------------------------------

@parpy.jit
def compare_with_python_ints(x, s, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = s >= x[i]
        y[1, i] = x[i] < -1
        y[2, i] = x[i] <= 300
        y[3, i] = x[i] > -129
        y[4, i] = x[i] == 256
        y[5, i] = i - 3 < x[i]
        y[6, i] = x[i] != -8
        y[7, i] = -(2 ** 63) < x[i]


@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.uint16, np.int32, np.uint32, np.uint64],
                         ids=dtype_id)
def test_comparisons_with_python_ints_by_value(rng, dt):
    """x_u16[i] < -1 was all True (-1 became 65535); x_u8[i] <= 300 was
    rejected.  NumPy 2 compares the values."""
    n = 40
    x = rng.rand(n, dt, -100 if np.dtype(dt).kind == "i" else 0, 255)
    for s in (-8, 5, 1000):
        check(compare_with_python_ints, [x, s, np.empty((8, n), np.bool_), n], par(),
              outputs=[2])


@parpy.jit
def compare_i64_u64(a, b, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = a[i] < b[i]
        y[1, i] = a[i] >= b[i]
        y[2, i] = b[i] == a[i]
        y[3, i] = b[i] > a[i]
        y[4, i] = a[i] <= 18446744073709551615
        y[5, i] = b[i] > -1


def test_int64_against_uint64_exactly(rng):
    """Through float64 (NumPy's promotion) 2**63 - 1 and 2**63 compare equal."""
    big = 2**63
    a = np.array([big - 1, big - 2, -1, 0, 5, -big, big - 1, 7], np.int64)
    b = np.array([big, big - 1, big + 5, 0, 5, 0, big - 1, 2**64 - 1], np.uint64)
    check(compare_i64_u64, [a, b, np.empty((6, len(a)), np.bool_), len(a)], par(),
          outputs=[2])


# --- 8. NumPy functions of Python scalars are NumPy scalars ------------------------

@parpy.jit
def numpy_of_python_scalars(x8, x16, y, z, n, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = np.maximum(n, 1) * x8[i]
        y[1, i] = max(n, 1) * x8[i]
        y[2, i] = np.absolute(n) * x8[i]
        y[3, i] = abs(n) * x8[i]
        y[4, i] = np.floor(n) * x8[i]
        y[5, i] = (not n) + x8[i]
        y[6, i] = parpy.operators.max(n, 2) * x8[i]
        z[0, i] = np.exp(True) + x16[i]
        z[1, i] = np.sqrt(n) + x16[i]
        z[2, i] = np.minimum(0.5, n) + x16[i]


def test_numpy_functions_of_python_scalars_are_strong(rng):
    """np.maximum(n, 1) of a Python int is np.int64: times an int8 it does not
    wrap (200), where Python's max(n, 1) is a Python int and wraps in int8."""
    n = 32
    with np.errstate(all="ignore"):
        check(numpy_of_python_scalars,
              [rng.rand(n, np.int8, 1, 3), rng.rand(n, np.float16), np.empty((7, n), np.int64),
               np.empty((3, n), np.float64), 100, n], par(), outputs=[2, 3])


@parpy.jit
def builtin_sums(x, b, out):
    parpy.label('N')
    out[0] = sum(x[:])
    out[1] = np.sum(x[:])
    parpy.label('N')
    out[2] = sum(b[:])


def test_builtin_sum_adds_as_python(rng):
    """Python's sum adds np.uint8 elements to the int 0: in uint8 (NEP 50),
    so 200 + 100 wraps to 44; np.sum accumulates in uint64."""
    x = np.array([200, 100, 0, 255, 7], np.uint8)
    b = rng.rand(9, np.bool_)
    with np.errstate(all="ignore"):
        check(builtin_sums, [x, b, np.empty(3, np.uint64)], {'N': parpy.threads(4)},
              outputs=[2])


# --- float16 // and % round once, as NumPy's -------------------------------------

@parpy.jit
def half_divmod(x, y, q, r, N):
    parpy.label('N')
    for i in range(N):
        q[i] = x[i] // y[i]
        r[i] = x[i] % y[i]


def test_float16_floordiv_and_mod_round_once(rng):
    """NumPy computes float16 // and % in float32 and rounds each result once
    (npy_half_divmod).  Computed in float16, as gcc does where the CPU has
    AVX512-FP16, (a - a % b) / b was rounded to half before the floor:
    20576 // 3 gave 6860 instead of 6856."""
    n = 4000
    x = rng.rand(n, np.float16, -60000.0, 60000.0)
    y = (rng.np.integers(1, 10, n) * rng.np.choice([-1, 1], n)).astype(np.float16)
    x[0], y[0] = 20576, 3
    check(half_divmod, [x, y, np.empty(n, np.float16), np.empty(n, np.float16), n], par(),
          outputs=[2, 3], **EXACT)
