"""The public API of the seed reference: names, LoopPar, ElemSize, errors,
operators, types, backends, externals and the jitted-function object."""
from __future__ import annotations

import ctypes
import io
import contextlib
import inspect
import math
import os

import numpy as np
import pytest

import parpy
from parpy import CompileBackend, ElemSize, LoopPar, Target

SEED_NAMES = ["jit", "external", "print_compiled", "compile_string", "threads", "reduce", "par",
              "clear_cache", "gpu", "label", "CompileOptions", "CompileBackend", "LoopPar",
              "ElemSize", "Target"]


@pytest.mark.parametrize("name", SEED_NAMES + ["operators", "types", "backend", "ParPyError",
                                               "ParPyTypeError", "ParPyNameError",
                                               "ParPyRuntimeError", "ParPyValueError"])
def test_public_name_exists(name):
    assert hasattr(parpy, name)
    assert name in parpy.__all__


def test_enums():
    assert [b.name for b in CompileBackend] == ["Auto", "Cuda", "Metal", "Cpu"]
    assert [t.name for t in Target] == ["Host", "Device"]
    names = ["Bool", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "F16", "F32", "F64",
             "BF16"]  # BF16: ours (issue 13), after the seed's twelve
    assert [e.name for e in ElemSize] == names
    assert [e.value for e in ElemSize] == list(range(13))


# ---- LoopPar ----

def test_loop_par_default():
    p = LoopPar()
    assert (p.nthreads, p.reduction, p.threads_per_block) == (0, False, 1024)


def test_loop_par_methods_return_new_values():
    p = LoopPar()
    q = p.threads(64)
    assert q.nthreads == 64 and p.nthreads == 0
    r = q.reduce()
    assert r.reduction and not q.reduction and r.nthreads == 64
    t = r.tpb(256)
    assert t.threads_per_block == 256 and r.threads_per_block == 1024
    assert (t.nthreads, t.reduction) == (64, True)


def test_loop_par_shortcuts():
    assert parpy.threads(32) == LoopPar().threads(32)
    assert parpy.reduce() == LoopPar().reduce()
    assert parpy.threads(8).reduce() == parpy.reduce().threads(8)
    assert hash(parpy.threads(8).reduce()) == hash(parpy.reduce().threads(8))
    assert parpy.threads(8) != parpy.threads(9)


def test_loop_par_threads_once():
    with pytest.raises(ValueError, match="can only be set once"):
        parpy.threads(4).threads(8)


@pytest.mark.parametrize("n", [0, -3])
def test_loop_par_threads_positive(n):
    with pytest.raises(parpy.ParPyValueError):
        LoopPar().threads(n)


@pytest.mark.parametrize("n", [2.0, "4", True, None])
def test_loop_par_threads_int(n):
    with pytest.raises(TypeError):
        LoopPar().threads(n)


@pytest.mark.parametrize("n", [0, -32, 48, 1000])
def test_loop_par_tpb_multiple_of_32(n):
    with pytest.raises(ValueError, match="divisible by 32"):
        LoopPar().tpb(n)


def test_loop_par_immutable():
    p = LoopPar()
    with pytest.raises(AttributeError):
        p.nthreads = 3
    with pytest.raises(AttributeError):
        p._nthreads = 3


def test_loop_par_repr():
    assert repr(parpy.threads(1024).reduce()) == "threads(1024).reduce()"
    assert repr(LoopPar()) == "LoopPar()"
    assert repr(parpy.reduce().tpb(64)) == "reduce().tpb(64)"
    assert repr(LoopPar().tpb(64)) == "LoopPar().tpb(64)"


def test_par():
    opts = parpy.par({"N": parpy.threads(64)})
    assert isinstance(opts, parpy.CompileOptions)
    assert dict(opts.parallelize) == {"N": parpy.threads(64)}
    assert opts.backend is CompileBackend.Auto
    with pytest.raises(TypeError):
        parpy.par({"N": 64})
    with pytest.raises(TypeError):
        parpy.par({3: parpy.threads(64)})


# ---- ElemSize ----

SIZES = {"Bool": 1, "I8": 1, "I16": 2, "I32": 4, "I64": 8, "U8": 1, "U16": 2, "U32": 4,
         "U64": 8, "F16": 2, "F32": 4, "F64": 8, "BF16": 2}


@pytest.mark.parametrize("e", list(ElemSize), ids=lambda e: e.name)
def test_elem_size_methods(e):
    if e is ElemSize.BF16:
        pytest.importorskip("ml_dtypes")  # NumPy's bfloat16
    assert e.size() == SIZES[e.name]
    assert np.dtype(e.to_numpy()).itemsize == e.size()
    assert ctypes.sizeof(e.to_ctype()) == e.size()


def test_elem_size_numpy_types():
    assert ElemSize.I32.to_numpy() is np.int32
    assert ElemSize.Bool.to_numpy() is np.bool_
    assert ElemSize.F16.to_numpy() is np.float16
    assert ElemSize.F64.to_ctype() is ctypes.c_double
    assert ElemSize.U8.to_ctype() is ctypes.c_uint8


@pytest.mark.parametrize("e", [ElemSize.U16, ElemSize.U32, ElemSize.U64])
def test_elem_size_to_torch_unsigned(e):
    with pytest.raises(parpy.ParPyValueError, match="PyTorch"):
        e.to_torch()


def test_elem_size_to_torch():
    torch = pytest.importorskip("torch")
    assert ElemSize.I32.to_torch() is torch.int32
    assert ElemSize.Bool.to_torch() is torch.bool
    assert ElemSize.F16.to_torch() is torch.float16


# ---- errors ----

@pytest.mark.parametrize("cls, builtin", [
    (parpy.ParPyTypeError, TypeError), (parpy.ParPyNameError, NameError),
    (parpy.ParPyRuntimeError, RuntimeError), (parpy.ParPyValueError, ValueError)])
def test_exception_classes(cls, builtin):
    assert issubclass(cls, parpy.ParPyError) and issubclass(cls, builtin)
    e = cls("text")
    assert str(e) == "text" and e.message == "text"
    assert e.file is None and e.line is None and e.column is None


def test_decoration_error_has_position():
    def f(x):
        del x  # unsupported statement
    line = inspect.getsourcelines(f)[1] + 1
    with pytest.raises(parpy.ParPyError) as info:
        parpy.jit(f)
    e = info.value
    assert e.file == __file__
    assert e.line == line
    assert e.column == 9  # 1-based, as printed
    assert "del" in e.message
    assert "del x" in str(e) and e.message in str(e)


def test_cannot_read_source():
    ns: dict = {}
    exec("def g(x):\n    x[0] = 1\n", ns)
    with pytest.raises(parpy.ParPyRuntimeError, match="cannot read the source of g"):
        parpy.jit(ns["g"])


def test_jit_rejects_lambda_and_non_functions():
    with pytest.raises(TypeError, match="lambda"):
        parpy.jit(lambda x: x)
    with pytest.raises(TypeError):
        parpy.jit(3)
    with pytest.raises(TypeError):
        parpy.jit(np.sum)


# ---- operators (the Python implementations) ----

def test_operators_in_python():
    ops = parpy.operators
    x = np.arange(6.0).reshape(2, 3)
    assert ops.sum(x) == 15.0
    assert ops.sum(x, axis=1).tolist() == [3.0, 12.0]
    assert ops.prod(x[:, 1:], axis=0).tolist() == [4.0, 10.0]
    assert ops.max(x) == 5.0 and ops.min(x) == 0.0
    assert ops.max(x, axis=0).tolist() == [3.0, 4.0, 5.0]
    assert ops.max(2.0, 3.0) == 3.0 and ops.min(2.0, 3.0) == 2.0
    assert ops.abs(-2.5) == 2.5
    assert ops.atan2(1.0, 1.0) == pytest.approx(math.pi / 4)
    assert ops.exp is np.exp and ops.sqrt is np.sqrt and ops.floor is np.floor
    assert ops.float32 is np.float32 and ops.bool_ is np.bool_ and ops.uint64 is np.uint64
    assert ops.inf == math.inf
    assert ops.label("N") is None
    assert parpy.label is ops.label and parpy.gpu is ops.gpu
    with parpy.gpu:
        pass


# ---- types ----

def test_types():
    for e in ElemSize:
        assert getattr(parpy.types, e.name) is e
    p = parpy.types.pointer(parpy.types.F32)
    assert p == parpy.types.pointer(ElemSize.F32)
    assert p.elem is ElemSize.F32
    assert repr(p) == "pointer(F32)"
    with pytest.raises(TypeError):
        parpy.types.pointer(np.float32)


# ---- backends ----

def test_backends():
    bs = parpy.backend.backends()
    assert CompileBackend.Auto not in bs
    assert set(bs) == {CompileBackend.Cuda, CompileBackend.Metal, CompileBackend.Cpu}
    assert parpy.backend.is_enabled(CompileBackend.Cpu)
    assert CompileBackend.Cpu in parpy.backend.available()
    assert parpy.backend.resolve(CompileBackend.Cpu) is CompileBackend.Cpu


def test_backend_without_cuda():
    if parpy.backend.is_enabled(CompileBackend.Cuda):
        pytest.skip("this machine has CUDA")
    assert parpy.backend.resolve(CompileBackend.Auto) is CompileBackend.Cpu
    with pytest.raises(parpy.ParPyRuntimeError, match="Cuda backend is not enabled"):
        parpy.backend.resolve(CompileBackend.Cuda)
    assert parpy.backend.resolve(CompileBackend.Cuda, strict=False) is CompileBackend.Cuda
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert not parpy.backend.is_enabled(CompileBackend.Cuda, verbose=True)
        parpy.backend.resolve(CompileBackend.Auto, True)
    text = out.getvalue()
    assert "ParPy: backend Cuda is not enabled: " in text
    assert "Auto resolved to Cpu" in text


def test_backend_cpu_needs_a_compiler(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert not parpy.backend.is_enabled(CompileBackend.Cpu)
    with pytest.raises(parpy.ParPyRuntimeError, match="Cpu backend is not enabled"):
        parpy.backend.resolve(CompileBackend.Cpu)


# ---- external ----

def test_external_declaration():
    @parpy.external("my_exp", CompileBackend.Cpu, Target.Host)
    def my_exp(x: parpy.types.F64) -> parpy.types.F64:
        return math.exp(x)

    assert my_exp(0.0) == 1.0
    assert my_exp.ext_name == "my_exp" and my_exp.__name__ == "my_exp"
    assert my_exp.backend is CompileBackend.Cpu and my_exp.target is Target.Host


def test_external_resolution():
    from parpy import _resolve

    @parpy.external("fast_exp", CompileBackend.Cuda, Target.Device, header="m.cuh",
                    parallelize=parpy.threads(32))
    def my_exp(x: parpy.types.F32, p: parpy.types.pointer(parpy.types.I32),
               n: parpy.types.I64) -> parpy.types.F32:
        return x

    kind, name, ext, backend, device, header, par, params, ret = _resolve.classify(my_exp, set())
    assert (kind, name, ext, header) == ("extern", "my_exp", "fast_exp", "m.cuh")
    assert backend == CompileBackend.Cuda.value and device is True
    assert par == (32, False, 1024)
    assert params == [ElemSize.F32.value, parpy._core.ANNOT_POINTER | ElemSize.I32.value,
                      ElemSize.I64.value]
    assert ret == ElemSize.F32.value


def test_external_constraints():
    with pytest.raises(ValueError, match="Host externals"):
        parpy.external("f", CompileBackend.Cuda, Target.Host)
    with pytest.raises(ValueError, match="parallel"):
        parpy.external("f", CompileBackend.Metal, Target.Host, parallelize=parpy.threads(32))
    with pytest.raises(TypeError):
        parpy.external("f", CompileBackend.Auto, Target.Device)
    with pytest.raises(TypeError):
        parpy.external("f", "Cuda", Target.Device)
    with pytest.raises(ValueError):
        parpy.external("not a name", CompileBackend.Cuda, Target.Device)
    parpy.external("f", CompileBackend.Cuda, Target.Device, header="f.cuh",
                   parallelize=parpy.threads(32))


# ---- the jitted function object ----

@parpy.jit
def fill(x, v, N):
    """Fill x with v."""
    parpy.label("N")
    for i in range(N):
        x[i] = v


def test_jit_function_attributes():
    assert fill.__name__ == "fill"
    assert fill.__qualname__ == "fill"
    assert fill.__doc__ == "Fill x with v."
    assert fill.__module__ == __name__
    assert inspect.isfunction(fill.__wrapped__)
    assert list(inspect.signature(fill).parameters) == ["x", "v", "N"]
    assert parpy.jit(fill) is fill
    fill.extra = 1  # has a __dict__ like a function
    assert fill.extra == 1


def test_jit_seq_runs_python():
    x = np.zeros(4)
    assert fill(x, 2.5, 3, seq=True) is None
    assert x.tolist() == [2.5, 2.5, 2.5, 0.0]


def test_jit_keywords():
    x = np.zeros(4)
    with pytest.raises(parpy.ParPyTypeError, match="'bogus'"):
        fill(x, 1.0, 4, bogus=True)
    with pytest.raises(parpy.ParPyTypeError, match="CompileOptions"):
        fill(x, 1.0, 4, opts={"N": parpy.threads(4)})


def test_jit_argument_count():
    with pytest.raises(parpy.ParPyTypeError,
                       match=r"fill\(\) takes 3 positional arguments but 2 were given"):
        fill(np.zeros(4), 1.0)


@parpy.jit
def twice(v: parpy.types.F64):
    return 2.0 * v


@parpy.jit
def apply_twice(x, N):
    parpy.label("N")
    for i in range(N):
        x[i] = twice(x[i])
        fill(x, x[i], 0)


def test_jit_seq_runs_callees_in_python():
    """Jitted functions called while another runs with seq=True run in Python."""
    x = np.arange(4.0)
    apply_twice(x, 4, seq=True)
    assert x.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert twice(3.0, seq=True) == 6.0


class Holder:
    @parpy.jit
    def set_first(self, x, v):
        with parpy.gpu:
            x[0] = v


def test_jit_method_binding():
    h = Holder()
    x = np.zeros(2)
    h.set_first(x, 4.0, seq=True)
    assert x[0] == 4.0
    assert Holder.set_first.__name__ == "set_first"


# ---- end to end (need the Cpu target) ----

@parpy.jit
def axpy(a, x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = a * x[i] + y[i]


def test_axpy_runs(backend):
    x = np.arange(100, dtype=np.float64)
    y = np.ones(100)
    opts = parpy.par({"N": parpy.threads(64)})
    opts.backend = backend
    axpy(2.0, x, y, 100, opts=opts)
    np.testing.assert_allclose(y, 2.0 * np.arange(100) + 1.0)


def test_axpy_default_options():
    x = np.arange(10, dtype=np.float32)
    y = np.zeros(10, dtype=np.float32)
    axpy(3.0, x, y, 10, opts=parpy.par({"N": parpy.threads(4)}))
    assert y.tolist() == (3.0 * np.arange(10)).tolist()


def test_print_compiled_undecorated(backend):
    def scale(x, N):
        parpy.label("N")
        for i in range(N):
            x[i] = x[i] * 2.0

    opts = parpy.par({"N": parpy.threads(8)})
    opts.backend = backend
    code = parpy.print_compiled(scale, [np.zeros(8), 8], opts)
    assert isinstance(code, str) and "scale" in code
    code2 = parpy.print_compiled(axpy, [2.0, np.zeros(8), np.zeros(8), 8], opts)
    assert "axpy" in code2


def test_print_compiled_then_compile_string(backend):
    opts = parpy.par({"N": parpy.threads(8)})
    opts.backend = backend
    x, y = np.arange(8.0), np.ones(8)
    code = parpy.print_compiled(axpy, [2.0, x, y, 8], opts)
    f = parpy.compile_string("axpy", code, opts)
    f(2.0, x, y, 8)
    assert y.tolist() == (2.0 * np.arange(8.0) + 1.0).tolist()
    with pytest.raises(ValueError, match="argument 'a' of axpy was 2.0 when this code was "
                                         "generated, got 3.0"):
        f(3.0, x, y, 8)


def test_print_compiled_unavailable_backend_is_fine():
    if parpy.backend.is_enabled(CompileBackend.Cuda):
        pytest.skip("this machine has CUDA")
    opts = parpy.par({"N": parpy.threads(8)})
    opts.backend = CompileBackend.Cuda
    try:
        parpy.print_compiled(axpy, [2.0, np.zeros(8), np.zeros(8), 8], opts)
    except parpy.ParPyError as e:  # until the Cuda target exists
        assert "not supported by this build" in str(e)
    # Running needs the backend, though.
    with pytest.raises(parpy.ParPyRuntimeError, match="Cuda"):
        axpy(2.0, np.zeros(8), np.zeros(8), 8, opts=opts)


def test_env_unaffected():
    assert os.environ["PARPY_CACHE_DIR"].endswith("cache")


# ---- name resolution (parpy._resolve) ----

K = 3
F32 = np.float32(2.0)


def exp(x):  # a user's function that happens to be called exp
    return x


def uses_globals(x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = (np.exp(x[i]) + math.exp(1.0) + exp(2.0) + K + F32 + np.pi + undefined_name
                + np.nothere + parpy.operators.sum(x[:]) + parpy.operators.exp(1.0))


def test_resolution_by_identity():
    from parpy import _resolve
    B = parpy._core.BUILTINS
    # Not decorated: calling the plain function exp is an error at decoration.
    f = parpy._core.JitFunction(uses_globals, parpy._source.parse_function(uses_globals, False))
    chains = f._handle.globals()
    got = {}
    for c in chains:
        obj, why = _resolve._lookup(uses_globals, c)
        got[c] = ("undefined", why) if why else _resolve.classify(obj, set())
    assert got["np.exp"] == ("builtin", B["exp"], -1, False)
    assert got["parpy.operators.exp"] == got["np.exp"]
    assert got["math.exp"] == ("builtin", B["exp"], -1, True)  # returns a Python float
    assert got["exp"] == ("other", "function")
    assert got["K"] == ("const", 3)
    assert got["F32"] == ("const", 2.0, ElemSize.F32.value)
    assert got["np.pi"] == ("const", math.pi)
    assert got["undefined_name"] == ("undefined", "name 'undefined_name' is not defined")
    assert got["np.nothere"][0] == "undefined" and "nothere" in got["np.nothere"][1]
    assert got["parpy.operators.sum"] == ("builtin", B["sum"], -1, False)
    assert got["range"] == ("builtin", B["range"], -1, False)
    assert got["parpy.label"] == ("builtin", B["label"], -1, False)
    assert not f._handle.resolved
    _resolve.resolve(uses_globals, f._handle)
    assert f._handle.resolved


def test_resolution_of_closures_and_conversions():
    from parpy import _resolve
    B = parpy._core.BUILTINS
    scale = 0.5

    def inner(x):
        with parpy.gpu:
            x[0] = np.float32(x[0]) * scale + parpy.operators.int8(1) + len(x)

    assert _resolve._lookup(inner, "scale") == (0.5, None)
    assert _resolve.classify(np.float32, set()) == ("builtin", B["convert"],
                                                    ElemSize.F32.value, False)
    assert _resolve.classify(parpy.operators.int8, set())[2] == ElemSize.I8.value
    assert _resolve.classify(len, set()) == ("builtin", B["len"], -1, False)
    assert _resolve.classify(float, set()) == ("builtin", B["float"], -1, True)
    assert _resolve.classify(2**70, set())[0] == "other"
    assert _resolve.classify(True, set()) == ("const", True)
    assert _resolve.classify(parpy.types.F64, set()) == ("type", ElemSize.F64.value)
    assert _resolve.classify(parpy.gpu, set()) == ("builtin", B["gpu"], -1, False)
    h = parpy.jit(inner)._handle
    _resolve.resolve(inner, h)
    assert h.resolved


@parpy.jit
def ping(x, n):
    with parpy.gpu:
        x[0] = pong(x, n)


@parpy.jit
def pong(x, n):
    with parpy.gpu:
        x[0] = ping(x, n)


def test_resolution_of_mutually_recursive_functions():
    """Resolution terminates; rejecting the recursion is the compiler's job."""
    from parpy import _resolve
    _resolve.resolve(ping.__wrapped__, ping._handle)
    assert ping._handle.resolved and pong._handle.resolved


def test_jit_functions_are_collected():
    import gc
    import weakref

    def make():
        # A cycle through the closure (calling its own name is refused at
        # decoration, so the cell gets the function only afterwards).
        def tmp(x):
            with parpy.gpu:
                x[0] = same(x)
        same = parpy.jit(tmp)
        return same

    f = make()
    r = weakref.ref(f)
    from parpy import _resolve
    _resolve.resolve(f.__wrapped__, f._handle)
    del f
    gc.collect()
    assert r() is None


class Indented:
    @parpy.jit
    def method(self, x):
# a comment at column 0 inside an indented method
        with parpy.gpu:
            x[0] = 1.0


def test_indented_source_positions():
    x = np.zeros(1)
    Indented().method(x, seq=True)
    assert x[0] == 1.0
    with pytest.raises(parpy.ParPyError) as info:
        class Deeper:
            @parpy.jit
            def bad(self, x):
                with parpy.gpu:
                    del x
    line = inspect.currentframe().f_lineno - 1  # the del
    assert info.value.line == line
    assert info.value.column == 21  # 1-based
