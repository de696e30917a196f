"""Differential testing of ParPy programs: the interpreter is the oracle.

`check(fn, args, par)` runs the plain Python function (`fn(*args, seq=True)`)
on one fresh copy of the arguments and the compiled function on another, then
compares every array argument (dtype, shape, values) and the return value.
Arguments listed in `outputs` are write-only: the compiled run gets them
POISONED (NaN / a 0xA5 byte pattern / True) and the reference run gets them
zeroed, so an element the compiled code forgot to write always shows.

Random inputs come from the `rng` fixture, which draws a fresh seed per test
and prints it (pytest shows the print when the test fails); set
PARPY_TEST_SEED to replay a failure.  PARPY_TEST_PRINT_ONLY=1 only prints the
code (to check a backend this machine cannot run).  PARPY_TEST_BACKEND (default Cpu) picks
the backend the compiled runs use; with Metal (the simulator off macOS) float64 arguments
become float32 (see metal_arg).

Usage in a test module:

    from harness import check, rng, nthreads  # noqa: F401  (fixtures)
"""
from __future__ import annotations

import inspect
import os
import pathlib
import shutil
import subprocess
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np
import pytest

import parpy

# ---------------------------------------------------------------------------
# Backend, dtypes, thread counts

BACKEND = getattr(parpy.CompileBackend, os.environ.get("PARPY_TEST_BACKEND", "Cpu"))

SIGNED = [np.int8, np.int16, np.int32, np.int64]
UNSIGNED = [np.uint8, np.uint16, np.uint32, np.uint64]
INTS = SIGNED + UNSIGNED
FLOATS = [np.float16, np.float32, np.float64]
NUMERIC = INTS + FLOATS

def _ml_dtypes_bfloat16() -> Any:
    """NumPy's bfloat16 (an optional test dependency: the bfloat16 tests
    skip without it), if it keeps NumPy 2's rules, which the compiled code
    follows: a Python float is a weak scalar (bf16 * 0.3 is bfloat16) and
    float64 rounds once.  ml_dtypes 0.6 did neither (its bf16 * 0.3 is
    float32, and float64 went through float32), so as an oracle it failed
    six tests on the H200 machine (ml_dtypes 0.6.0, 2026-12-02)."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    bf = ml_dtypes.bfloat16
    weak = type(bf(1.5) * 0.3) is bf
    once = float(np.array([1 + 2.0 ** -8 + 2.0 ** -30]).astype(bf)[0]) == 1 + 2.0 ** -7
    return bf if weak and once else None


BFLOAT16: Any = _ml_dtypes_bfloat16()

# Thread counts for programs run under several parallel settings: one thread,
# an odd count that does not divide the sizes, a typical count, and more
# threads than there are iterations.
THREADS = (1, 7, 64, 1024)


def dtype_id(dt: Any) -> str:
    """Readable pytest id for a dtype parameter."""
    return np.dtype(dt).name


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def cpu() -> "parpy.CompileBackend":
    """The backend of the compiled runs (CompileBackend.Cpu unless overridden)."""
    return BACKEND


@pytest.fixture(params=THREADS, ids=lambda n: f"threads{n}")
def nthreads(request: pytest.FixtureRequest) -> int:
    return request.param


class Gen:
    """Random inputs for one test; wraps a seeded numpy Generator."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.np = np.random.default_rng(seed)

    def rand(self, shape: Union[int, Sequence[int]], dtype: Any = np.float64,
             lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """Uniform values in [lo, hi] (ints inclusive, floats half-open).

        Defaults: floats in [-1, 1), signed ints in [-100, 100], unsigned in
        [0, 100] (clipped to the dtype), bools fair coin flips."""
        dt = np.dtype(dtype)
        if dt.kind == "b":
            return self.np.integers(0, 2, size=shape).astype(np.bool_)
        if dt.name == "bfloat16":  # ml_dtypes': drawn in float32, rounded
            return self.rand(shape, np.float32, lo, hi).astype(dt)
        if dt.kind == "f":
            lo = -1.0 if lo is None else lo
            hi = 1.0 if hi is None else hi
            return self.np.uniform(lo, hi, size=shape).astype(dt)
        info = np.iinfo(dt)
        lo = (-100 if dt.kind == "i" else 0) if lo is None else lo
        hi = 100 if hi is None else hi
        lo, hi = max(int(lo), int(info.min)), min(int(hi), int(info.max))
        return self.np.integers(lo, hi, size=shape, endpoint=True, dtype=dt)

    def pos(self, shape: Union[int, Sequence[int]], dtype: Any = np.float64,
            hi: float = 2.0) -> np.ndarray:
        """Strictly positive values: floats in [0.1, hi), ints in [1, hi]."""
        if np.dtype(dtype).kind == "f" or np.dtype(dtype).name == "bfloat16":
            return self.rand(shape, dtype, 0.1, hi)
        return self.rand(shape, dtype, 1, max(int(hi), 1))

    def neg(self, shape: Union[int, Sequence[int]], dtype: Any = np.float64,
            lo: float = -2.0) -> np.ndarray:
        """Strictly negative values: floats in [lo, -0.1), ints in [lo, -1]."""
        if np.dtype(dtype).kind == "f":
            return self.rand(shape, dtype, lo, -0.1)
        return self.rand(shape, dtype, min(int(lo), -1), -1)

    def nonzero(self, shape: Union[int, Sequence[int]], dtype: Any,
                lo: float, hi: float) -> np.ndarray:
        """Values in [lo, hi] without zero (divisors); ints only need lo < 0 < hi."""
        a = self.rand(shape, dtype, lo, hi)
        one = np.ones((), dtype=a.dtype)
        return np.where(a == 0, one, a).astype(a.dtype)

    def csr(self, nrows: int, ncols: int, density: float, dtype: Any = np.float64,
            index_dtype: Any = np.int64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A random sparse matrix: (row pointers, column indices, values, dense copy).

        Some rows are empty on purpose (data-dependent loop bounds of length 0)."""
        dense = np.zeros((nrows, ncols), dtype=dtype)
        mask = self.np.random((nrows, ncols)) < density
        mask[self.np.integers(0, nrows, size=max(1, nrows // 8))] = False
        dense[mask] = self.rand(int(mask.sum()), dtype)
        rows = np.zeros(nrows + 1, dtype=index_dtype)
        rows[1:] = np.cumsum(mask.sum(axis=1))
        cols = np.nonzero(mask)[1].astype(index_dtype)
        vals = dense[mask].astype(dtype)
        return rows, cols, vals, dense


@pytest.fixture
def rng() -> Gen:
    env = os.environ.get("PARPY_TEST_SEED")
    seed = int(env) if env else int(np.random.SeedSequence().entropy % (2**32))
    print(f"random seed: {seed} (replay with PARPY_TEST_SEED={seed})")
    return Gen(seed)


# ---------------------------------------------------------------------------
# Options

LoopPars = Mapping[str, Any]


def options(par: LoopPars | None = None, backend: Any = None,
            **fields: Any) -> "parpy.CompileOptions":
    """CompileOptions for a compiled run: `par` as the parallel specification,
    the test backend, and any other CompileOptions fields given by name."""
    opts = parpy.par(dict(par or {}))
    opts.backend = backend if backend is not None else BACKEND
    for name, value in fields.items():
        setattr(opts, name, value)
    return opts


# ---------------------------------------------------------------------------
# Tolerances: (rtol, atol) per float dtype.  Integers and bools compare exactly.

ELEMENTWISE_TOL = {
    np.dtype(np.float16): (2e-3, 1e-3),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-12, 1e-12),
}
if BFLOAT16 is not None:  # one bfloat16 rounding step is 2**-8 relative
    ELEMENTWISE_TOL[np.dtype(BFLOAT16)] = (8e-3, 1e-2)
# Reductions reassociate (parallel partial sums, pairwise summation in NumPy).
REDUCTION_TOL = {
    np.dtype(np.float16): (1e-2, 1e-2),
    np.dtype(np.float32): (1e-4, 2e-4),
    np.dtype(np.float64): (1e-10, 1e-10),
}
if BFLOAT16 is not None:
    REDUCTION_TOL[np.dtype(BFLOAT16)] = (5e-2, 5e-2)


# ---------------------------------------------------------------------------
# Argument copies and poison

OutputSpec = Union[int, tuple[int, str]]


def copy_arg(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        c = np.array(a, copy=True, order="C")
        if not a.flags.writeable:
            c.flags.writeable = False
        return c
    if isinstance(a, dict):
        return {k: copy_arg(v) for k, v in a.items()}
    return a  # Python and NumPy scalars are immutable


# Metal has no float64 (the compiler rejects it in kernels with this message).
# Under PARPY_TEST_BACKEND=Metal the float64 arrays and NumPy float64 scalars
# of a test become float32 for both runs, so that the program is still
# compared; a test whose program computes in float64 anyway (a conversion to
# float64, or arrays it passes itself) is reported as skipped (conftest.py).
METAL_NO_F64 = "Metal does not support double-precision floating-point numbers"
# What else the Metal backend refuses by design (docs/metal.md, "Not done").
METAL_REFUSALS = (METAL_NO_F64, "the Metal backend cannot bind a view of an array in host code",
                  "the Metal backend does atomic updates of elements of at most 32 bits")


def metal_arg(a: Any) -> Any:
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        c = a.astype(np.float32)
        c.flags.writeable = a.flags.writeable
        return c
    if isinstance(a, np.float64):
        return np.float32(a)
    if isinstance(a, dict):
        return {k: metal_arg(v) for k, v in a.items()}
    return a


def poison(a: np.ndarray) -> None:
    """Fill an array with a value no correct program writes by accident."""
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        a.fill(np.nan)
    elif a.dtype.kind == "b":
        a.fill(True)
    else:  # the byte 0xA5 repeated: odd, large, negative when signed
        a.fill(np.frombuffer(b"\xa5" * a.itemsize, dtype=a.dtype)[0])


def _output_array(args: list[Any], spec: OutputSpec) -> np.ndarray:
    if isinstance(spec, tuple):
        pos, key = spec
        a = args[pos][key]
    else:
        a = args[spec]
    if not isinstance(a, np.ndarray):
        raise TypeError(f"output {spec!r} is not an array argument")
    return a


# ---------------------------------------------------------------------------
# Comparison


def _tolerance(dt: np.dtype, reduction: bool, rtol: float | None,
               atol: float | None) -> tuple[float, float]:
    table = REDUCTION_TOL if reduction else ELEMENTWISE_TOL
    r, a = table.get(dt, (0.0, 0.0))
    return (r if rtol is None else rtol, a if atol is None else atol)


def assert_same(ref: Any, got: Any, where: str, *, reduction: bool = False,
                rtol: float | None = None, atol: float | None = None) -> None:
    """Assert that `got` (compiled) equals `ref` (interpreted)."""
    if isinstance(ref, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(ref), where
        for k in ref:
            assert_same(ref[k], got[k], f"{where}[{k!r}]", reduction=reduction,
                        rtol=rtol, atol=atol)
        return
    if isinstance(ref, np.ndarray):
        assert isinstance(got, np.ndarray), f"{where}: expected an array, got {type(got)}"
        assert got.dtype == ref.dtype, f"{where}: dtype {got.dtype}, expected {ref.dtype}"
        assert got.shape == ref.shape, f"{where}: shape {got.shape}, expected {ref.shape}"
        if ref.dtype.kind in "biu":
            np.testing.assert_array_equal(got, ref, err_msg=where, strict=True)
        else:
            r, a = _tolerance(ref.dtype, reduction, rtol, atol)
            np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64),
                                       rtol=r, atol=a, equal_nan=True, err_msg=where)
        return
    if ref is None:
        assert got is None, f"{where}: expected None, got {got!r}"
        return
    # Scalars (return values): compare as 0-d arrays of the reference's type.
    ref_arr = np.asarray(ref)
    got_arr = np.asarray(got)
    if ref_arr.dtype.kind in "biu":
        assert got_arr == ref_arr, f"{where}: {got!r} != {ref!r}"
    else:
        r, a = _tolerance(ref_arr.dtype, reduction, rtol, atol)
        np.testing.assert_allclose(got_arr.astype(np.float64), ref_arr.astype(np.float64),
                                   rtol=r, atol=a, equal_nan=True, err_msg=where)


def _param_names(fn: Any, n: int) -> list[str]:
    target = getattr(fn, "__wrapped__", fn)
    try:
        names = list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"#{i}" for i in range(n)]


def check(fn: Callable[..., Any], args: Sequence[Any], par: LoopPars | None,
          outputs: Iterable[OutputSpec] = (), rtol: float | None = None,
          atol: float | None = None, backend: Any = None,
          opts: Mapping[str, Any] | "parpy.CompileOptions" | None = None,
          reduction: bool = False) -> tuple[list[Any], list[Any]]:
    """Run `fn` interpreted and compiled on copies of `args`; compare the results.

    par:       the parallel specification {label: LoopPar} (None = {}).
    outputs:   positions (or (position, dict key)) of write-only array outputs.
    rtol/atol: override the per-dtype tolerances.
    reduction: use the looser tolerances of reassociated float reductions.
    backend:   compiled backend (default: the test backend, Cpu).
    opts:      extra CompileOptions fields as a dict, or a CompileOptions whose
               parallelize/backend are replaced by `par`/`backend`.
    Returns (reference arguments, compiled arguments) after the runs."""
    outputs = list(outputs)
    if BACKEND is parpy.CompileBackend.Metal and backend in (None, BACKEND):
        args = [metal_arg(a) for a in args]
    ref = [copy_arg(a) for a in args]
    got = [copy_arg(a) for a in args]
    for spec in outputs:
        _output_array(ref, spec).fill(0)
        poison(_output_array(got, spec))

    if isinstance(opts, parpy.CompileOptions):
        o = opts
        o.parallelize = dict(par or {})
        o.backend = backend if backend is not None else BACKEND
    else:
        o = options(par, backend, **dict(opts or {}))

    if os.environ.get("PARPY_TEST_PRINT_ONLY"):
        # Lowering and printing only (for a backend this machine cannot run):
        # the program must compile; nothing is run or compared.
        code = parpy.print_compiled(fn, got, o)
        dump = os.environ.get("PARPY_TEST_DUMP_DIR")
        if dump:  # for compiling all the printed code in one go elsewhere
            import hashlib
            name = hashlib.sha256(code.encode()).hexdigest()[:16]
            with open(os.path.join(dump, name + ".cu"), "w") as f:
                f.write(code)
        return ref, got

    ref_ret = fn(*ref, seq=True)
    got_ret = fn(*got, opts=o)  # (conftest.py skips float64 refusals on Metal)

    names = _param_names(fn, len(args))
    for i, (r, g) in enumerate(zip(ref, got)):
        if isinstance(r, (np.ndarray, dict)):
            assert_same(r, g, f"argument {names[i]!r}", reduction=reduction,
                        rtol=rtol, atol=atol)
    assert_same(ref_ret, got_ret, "return value", reduction=reduction, rtol=rtol, atol=atol)
    return ref, got


# ---------------------------------------------------------------------------
# Source positions for error tests


def marked_lines(fn: Any, tag: str = "# ERR") -> list[int]:
    """Absolute line numbers (in fn's file) of fn's source lines containing `tag`."""
    target = getattr(fn, "__wrapped__", fn)
    lines, start = inspect.getsourcelines(target)
    found = [start + k for k, text in enumerate(lines) if tag in text]
    if not found:
        raise AssertionError(f"no line tagged {tag!r} in {target.__name__}")
    return found


def marked_line(fn: Any, tag: str = "# ERR") -> int:
    """The one absolute line number of fn's source line containing `tag`."""
    found = marked_lines(fn, tag)
    if len(found) != 1:
        raise AssertionError(f"{len(found)} lines tagged {tag!r}, expected one")
    return found[0]


def source_file(fn: Any) -> str:
    return os.path.realpath(inspect.getsourcefile(getattr(fn, "__wrapped__", fn)))


# ---------------------------------------------------------------------------
# Compile-only checks of printed Cuda code with nvcc

INCLUDE = os.path.join(os.path.dirname(parpy.__file__), "include")

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")

# CI preloads a sanitizer runtime into the test process (.ci/run); nvcc and
# the host compiler it starts are not built for it and fail under it.
SANITIZER_VARS = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")


def nvcc_compile(code: str, tmp_path: Any, name: str = "k", *, arch: str | None = "sm_90",
                 flags: Sequence[str] = (), includes: Sequence[str] = (),
                 cubin: bool = False) -> str | None:
    """Writes `code` to tmp_path/<name>.cu and compiles it with nvcc (C++17,
    `-c`, or `-cubin` for device code only; parpy's include directory and
    `includes` on the path; no `-arch` when `arch` is None: nvcc's default),
    outside the sanitizer runtime.  None when it compiles, else nvcc's
    output headed by `name`, for an assertion message."""
    src = pathlib.Path(tmp_path) / f"{name}.cu"
    src.write_text(code)
    out = src.with_suffix(".cubin" if cubin else ".o")
    argv = ["nvcc", "-std=c++17", *([f"-arch={arch}"] if arch else []), *flags,
            "-cubin" if cubin else "-c", *(f"-I{d}" for d in (INCLUDE, *includes)),
            str(src), "-o", str(out)]
    env = {k: v for k, v in os.environ.items() if k not in SANITIZER_VARS}
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    return None if r.returncode == 0 else f"{name}:\n{r.stdout}{r.stderr}"
