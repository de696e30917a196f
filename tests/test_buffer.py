"""parpy.buffer: every function and method on the Cpu backend (here and in
CI), the same on the Cuda backend in the tests marked `cuda` (skipped
without a usable GPU), and jitted functions using buffers in place.

Memory is tracked with `_core._stats()['buffers']` (allocations alive) and
weak references; "in place" with the data pointer, NumPy views taken
before a call, and `_core._stats()['copies_in']` on the GPU."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import parpy
from parpy import _core
from parpy import buffer as pb
from parpy import types as T

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
try:
    import cupy
except ImportError:  # pragma: no cover
    cupy = None

Cpu, Cuda = parpy.CompileBackend.Cpu, parpy.CompileBackend.Cuda
CUDA = parpy.backend.is_enabled(Cuda)
_why = "" if CUDA else _core.cuda_usable()[1] or "this build has no Cuda target"
gpu = pytest.mark.skipif(not CUDA, reason=f"the Cuda backend is not enabled: {_why}")
no_gpu = pytest.mark.skipif(CUDA, reason="checks behaviour without a usable GPU")
with_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
with_torch_cuda = pytest.mark.skipif(torch is None or not torch.cuda.is_available(),
                                     reason="PyTorch without CUDA")
with_cupy = pytest.mark.skipif(cupy is None, reason="CuPy is not installed")

try:
    import ml_dtypes  # NumPy's bfloat16, for BF16 buffers' numpy()
except ImportError:
    ml_dtypes = None
ALL = [pytest.param(e, marks=pytest.mark.skipif(ml_dtypes is None, reason="no ml_dtypes"))
       if e is parpy.ElemSize.BF16 else e for e in parpy.ElemSize]


@parpy.jit
def axpy(a, x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = a * x[i] + y[i]


@parpy.jit
def fill(out, v, N, M):
    parpy.label("N")
    for i in range(N):
        for j in range(M):
            out[i, j] = v + i * M + j


@parpy.jit
def from_dict(d, N):
    parpy.label("N")
    for i in range(N):
        d["y"][i] = d["x"][i] * 2.0


def opts(backend, n=64):
    o = parpy.par({"N": parpy.threads(n)})
    o.backend = backend
    return o


def live():
    """Buffer allocations alive, after collecting garbage of earlier tests."""
    gc.collect()
    return _core._stats()["buffers"]


def empty_cuda_buffer():
    """A Cuda buffer of no elements, made without any CUDA call: lets the
    checks of Cuda buffers run on machines without a GPU."""
    return pb.Buffer._wrap(0, (0,), T.F32.value, 0, False, 0, None)


# ---- making buffers (Cpu) ----

def test_exported():
    assert parpy.buffer is pb and "buffer" in parpy.__all__
    for name in ["sync", "empty", "empty_like", "zeros", "zeros_like", "from_array", "Buffer"]:
        assert name in pb.__all__ and callable(getattr(pb, name))


@pytest.mark.parametrize("dtype", [T.F32, np.float32, np.dtype("float32"), "float32", "<f4"])
def test_dtype_as_elemsize_or_numpy(dtype):
    b = pb.empty((2, 3), dtype, Cpu)
    assert b.dtype is T.F32 and isinstance(b.dtype, parpy.ElemSize)
    assert b.shape == (2, 3) and isinstance(b.shape, tuple)
    assert b.backend is Cpu and b.nbytes == 24
    assert repr(b) == "parpy.buffer.Buffer(shape=(2, 3), dtype=F32, backend=Cpu)"


@pytest.mark.parametrize("shape, want", [(5, (5,)), ((5,), (5,)), ([2, 3], (2, 3)), ((), ()),
                                         ((0, 4), (0, 4)), (np.int64(3), (3,))])
def test_shapes(shape, want):
    b = pb.zeros(shape, T.I32, Cpu)
    assert b.shape == want and b.numpy().shape == want


@pytest.mark.parametrize("e", ALL, ids=lambda e: e.name)
def test_zeros_every_type(e):
    b = pb.zeros((3, 5), e, Cpu)
    n = b.numpy()
    assert n.dtype == np.dtype(e.to_numpy()) and n.shape == (3, 5) and not n.any()
    assert b.nbytes == 15 * e.size()
    e2 = pb.empty(7, e, Cpu)
    assert e2.dtype is e and e2.numpy().shape == (7,)


def test_like():
    b = pb.from_array(np.arange(6, dtype=np.int16).reshape(2, 3), Cpu)
    for fn in (pb.empty_like, pb.zeros_like):
        c = fn(b)
        assert (c.shape, c.dtype, c.backend) == (b.shape, b.dtype, b.backend)
        assert c._ptr != b._ptr
    assert not pb.zeros_like(b).numpy().any()


@pytest.mark.parametrize("e", ALL, ids=lambda e: e.name)
def test_from_array_copies_on_cpu(e):
    a = (np.arange(12) % 2 if e is T.Bool else np.arange(12)).astype(e.to_numpy())
    a = a.reshape(3, 4)
    b = pb.from_array(a, Cpu)
    assert b.dtype is e and b.shape == (3, 4) and b.backend is Cpu
    assert np.array_equal(b.numpy(), a)
    assert b._ptr != a.ctypes.data  # a copy: the buffer never aliases a host array
    a[0, 1] = 0
    assert b.numpy()[0, 1] == (1 if e is not T.Bool else True)


def test_from_array_other_sources():
    strided = np.arange(10.0)[::2]
    assert pb.from_array(strided, Cpu).numpy().tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    big = np.arange(3, dtype=">i4")
    b = pb.from_array(big, Cpu)
    assert b.dtype is T.I32 and b.numpy().tolist() == [0, 1, 2]
    s = pb.from_array(np.float32(2.5), Cpu)
    assert s.shape == () and s.dtype is T.F32 and s.numpy() == 2.5
    assert pb.from_array([1.0, 2.0], Cpu).dtype is T.F64
    c = pb.from_array(b, Cpu)  # a buffer is an array like any other: copied
    assert c._ptr != b._ptr and c.numpy().tolist() == [0, 1, 2]


def test_from_array_auto_is_a_backend():
    b = pb.from_array(np.ones(2))
    assert b.backend is parpy.backend.resolve(parpy.CompileBackend.Auto)


# ---- numpy(), views, the array interfaces (Cpu) ----

def test_numpy_shares_memory_on_cpu():
    b = pb.zeros((2, 3), T.F64, Cpu)
    n = b.numpy()
    assert n.ctypes.data == b._ptr and n.flags.c_contiguous and n.flags.writeable
    n[1, 2] = 7.0
    assert b.numpy()[1, 2] == 7.0
    assert np.shares_memory(n, b.numpy())


def test_array_interfaces_on_cpu():
    b = pb.from_array(np.arange(6, dtype=np.float16).reshape(2, 3), Cpu)
    ai = b.__array_interface__
    assert ai["shape"] == (2, 3) and ai["typestr"] == "<f2" and ai["data"] == (b._ptr, False)
    assert ai["version"] == 3 and ai["strides"] is None
    m = memoryview(b)
    assert (m.format, m.shape, m.itemsize, m.readonly) == ("e", (2, 3), 2, False)
    assert np.asarray(b).ctypes.data == b._ptr and np.array(b).ctypes.data != b._ptr
    assert not hasattr(b, "__cuda_array_interface__")
    for e in parpy.ElemSize:  # the interfaces' spellings read back as the same dtype
        if e is T.BF16:  # NumPy has none: its bits, as uint16 (b.numpy() views them)
            x = pb.zeros(2, e, Cpu)
            assert x.__array_interface__["typestr"] == "<u2" and memoryview(x).format == "H"
            continue
        x = pb.zeros(2, e, Cpu)
        assert np.dtype(x.__array_interface__["typestr"]) == np.dtype(e.to_numpy())
        assert np.asarray(x).dtype == np.dtype(e.to_numpy())


def test_reshape_is_a_view():
    b = pb.from_array(np.arange(6, dtype=np.int32), Cpu)
    for v in (b.reshape(2, 3), b.reshape((2, 3)), b.reshape([2, -1]), b.reshape(-1, 3)):
        assert v.shape == (2, 3) and v._ptr == b._ptr and v.dtype is T.I32
        assert v.numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    v = b.reshape(3, 2)
    v.numpy()[2, 1] = 50
    assert b.numpy()[5] == 50
    assert v.reshape(6)._ptr == b._ptr and pb.zeros(1, T.I8, Cpu).reshape(()).shape == ()
    assert pb.zeros((), T.F32, Cpu).reshape(1, 1).shape == (1, 1)
    assert pb.zeros((0, 3), T.F32, Cpu).reshape(3, 0, 5).shape == (3, 0, 5)


@pytest.mark.parametrize("shape, text", [
    ((4, 2), "(4, 2)"), ((7,), "(7,)"), ((-1, 4), "(-1, 4)"), ((-1, -1), "(-1, -1)"),
    ((-2, -3), "(-2, -3)"), ((0,), "(0,)")])
def test_reshape_errors(shape, text):
    b = pb.zeros((2, 3), T.F32, Cpu)
    with pytest.raises(parpy.ParPyValueError) as info:
        b.reshape(*shape)
    assert str(info.value) == f"cannot reshape a buffer of shape (2, 3) into {text}"
    assert isinstance(info.value, ValueError)
    with pytest.raises(parpy.ParPyTypeError, match="shape must be an int or a tuple of ints"):
        b.reshape(2.0, 3)


def test_with_type_same_size_is_a_view():
    b = pb.from_array(np.array([-1, 2, -3], dtype=np.int32), Cpu)
    u = b.with_type(T.U32)
    assert u.dtype is T.U32 and u._ptr == b._ptr and u.shape == (3,)
    assert u.numpy().tolist() == [2**32 - 1, 2, 2**32 - 3]
    f = pb.from_array(np.array([1.5, -2.0], dtype=np.float32), Cpu)
    bits = f.with_type(np.int32)
    assert bits._ptr == f._ptr
    assert bits.numpy().tolist() == np.array([1.5, -2.0], np.float32).view(np.int32).tolist()
    bits.numpy()[0] = np.array([4.0], np.float32).view(np.int32)[0]
    assert f.numpy()[0] == 4.0  # writes through the view


@pytest.mark.parametrize("src, dst", [(T.F32, T.F64), (T.F64, T.I8), (T.I32, T.F16),
                                      (T.F32, T.Bool), (T.U8, T.I64), (T.Bool, T.F32)])
def test_with_type_other_size_converts(src, dst):
    a = np.array([0, 1, 2.75, -3.5, 100], dtype=np.float64)
    if src in (T.U8, T.Bool):
        a = np.abs(a)
    host = a.astype(src.to_numpy())
    b = pb.from_array(host, Cpu)
    c = b.with_type(dst)
    assert c.dtype is dst and c.shape == b.shape and c._ptr != b._ptr and c.backend is Cpu
    assert np.array_equal(c.numpy(), host.astype(dst.to_numpy()))
    c.numpy()[0] = 1
    assert b.numpy()[0] == 0  # a copy


# ---- memory is freed when nothing refers to it ----

def test_freed_with_the_last_reference():
    before = live()
    b = pb.zeros(1000, T.F32, Cpu)
    assert live() == before + 1
    r = weakref.ref(b)
    del b
    assert r() is None and live() == before


def test_views_keep_their_base_alive():
    before = live()
    b = pb.from_array(np.arange(6.0), Cpu)
    r = weakref.ref(b)
    v = b.reshape(2, 3).with_type(T.I64).reshape(6)  # a chain of views
    assert v._owner is b  # views hold the buffer owning the memory, not each other
    del b
    assert r() is not None and live() == before + 1
    assert v.numpy().view(np.float64).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    del v
    assert r() is None and live() == before


def test_numpy_view_keeps_the_buffer_alive():
    before = live()
    b = pb.from_array(np.arange(4.0), Cpu)
    n = b.numpy()
    del b
    assert live() == before + 1
    assert n.tolist() == [0.0, 1.0, 2.0, 3.0]
    del n
    assert live() == before


def test_converted_copy_is_a_new_allocation():
    before = live()
    b = pb.zeros(4, T.F32, Cpu)
    c = b.with_type(T.F64)
    assert live() == before + 2
    del b
    assert live() == before + 1 and c.numpy().tolist() == [0.0] * 4
    del c
    assert live() == before


# ---- errors ----

@pytest.mark.parametrize("shape, kind, text", [
    ((-1,), parpy.ParPyValueError, r"shape \(-1,\): extents cannot be negative"),
    ((2**40, 2**40), parpy.ParPyValueError, "it is too large"),
    ((2**70,), parpy.ParPyValueError, "it is too large"),
    ((True, 2), parpy.ParPyTypeError, "shape must be an int or a tuple of ints"),
    (("a",), parpy.ParPyTypeError, "shape must be an int or a tuple of ints"),
    (None, parpy.ParPyTypeError, "shape must be an int or a tuple of ints"),
    (2.0, parpy.ParPyTypeError, "shape must be an int or a tuple of ints"),
])
def test_bad_shapes(shape, kind, text):
    with pytest.raises(kind, match=text):
        pb.empty(shape, T.F32, Cpu)


@pytest.mark.parametrize("dtype, text", [
    (None, "dtype must be a parpy.ElemSize .* or a NumPy dtype, not None"),
    (3, "dtype must be a parpy.ElemSize"),
    ("complex64", "a buffer cannot hold complex64 elements"),
    (object, "a buffer cannot hold object elements"),
    ("datetime64[s]", "cannot hold datetime64"),
])
def test_bad_dtypes(dtype, text):
    with pytest.raises(parpy.ParPyTypeError, match=text):
        pb.zeros(2, dtype, Cpu)


def test_bad_backends():
    with pytest.raises(parpy.ParPyTypeError, match="CompileBackend"):
        pb.empty(2, T.F32, "Cpu")
    Metal = parpy.CompileBackend.Metal
    if parpy.backend.is_enabled(Metal):  # Metal buffers: tests/test_metal.py
        assert pb.empty(2, T.F32, Metal).backend is Metal
    else:
        with pytest.raises(parpy.ParPyRuntimeError, match="Metal backend is not enabled"):
            pb.empty(2, T.F32, Metal)


def test_bad_arguments():
    with pytest.raises(parpy.ParPyTypeError, match="expects a parpy.buffer.Buffer, not ndarray"):
        pb.empty_like(np.zeros(2))
    with pytest.raises(parpy.ParPyTypeError, match="zeros_like expects"):
        pb.zeros_like([1])
    with pytest.raises(TypeError, match="cannot create"):
        pb.Buffer()
    with pytest.raises(parpy.ParPyTypeError, match="complex128, which ParPy does not support"):
        pb.from_array(np.zeros(2, np.complex128), Cpu)
    with pytest.raises(parpy.ParPyTypeError, match="object, which ParPy does not support"):
        pb.from_array(object(), Cpu)
    with pytest.raises(parpy.ParPyTypeError, match="a buffer's shape must be a tuple"):
        pb.Buffer._alloc([2], T.F32.value, Cpu.value, False)
    with pytest.raises(parpy.ParPyValueError, match="not an element type"):
        pb.Buffer._alloc((2,), 99, Cpu.value, False)
    b = pb.zeros(4, T.F32, Cpu)
    with pytest.raises(parpy.ParPyValueError, match="cannot have 8 bytes"):
        b._view((2,), T.F32.value)
    with pytest.raises(parpy.ParPyValueError, match="the host array has 8 bytes, the buffer 16"):
        b._from_host(np.zeros(1))
    with pytest.raises(ValueError, match="read-only"):
        b._to_host(np.frombuffer(bytes(16), np.float32))
    with pytest.raises(parpy.ParPyTypeError, match="the extents must be ints"):
        pb.Buffer._alloc((True,), T.F32.value, Cpu.value, False)


@no_gpu
def test_cuda_buffers_need_a_gpu():
    for make in (lambda: pb.empty(2, T.F32, Cuda), lambda: pb.zeros(2, T.F32, Cuda),
                 lambda: pb.from_array(np.ones(2), Cuda), lambda: pb.sync(Cuda)):
        with pytest.raises(parpy.ParPyRuntimeError, match="the Cuda backend is not enabled"):
            make()


def test_sync_cpu():
    assert pb.sync(Cpu) is None
    assert pb.zeros(1, T.I8, Cpu).sync() is None


# ---- jitted functions and compiled code use buffers in place (Cpu) ----

def test_jit_writes_into_buffers_in_place():
    x = pb.from_array(np.arange(10, dtype=np.float32), Cpu)
    y = pb.zeros(10, T.F32, Cpu)
    seen = y.numpy()  # a view taken before the call
    stats = _core._stats()
    axpy(2.0, x, y, 10, opts=opts(Cpu))
    assert seen.tolist() == [2.0 * i for i in range(10)]
    assert seen.ctypes.data == y._ptr
    axpy(1.0, x, y, 10, opts=opts(Cpu))
    assert seen.tolist() == [3.0 * i for i in range(10)]
    after = _core._stats()
    assert after["copies_in"] == stats["copies_in"] and after["cuda_calls"] == stats["cuda_calls"]


def test_buffer_and_array_share_a_specialisation():
    """A buffer is described like a NumPy array of its dtype and shape."""
    x, y = np.ones(8, np.float64), np.zeros(8, np.float64)
    axpy(1.0, x, y, 8, opts=opts(Cpu))
    stats = _core._stats()
    bx, by = pb.from_array(x, Cpu), pb.zeros(8, T.F64, Cpu)
    axpy(1.0, bx, by, 8, opts=opts(Cpu))
    after = _core._stats()
    assert after["compiles"] == stats["compiles"] and after["hits"] == stats["hits"] + 1
    assert by.numpy().tolist() == [1.0] * 8


def test_jit_two_dimensional_and_views():
    out = pb.zeros(12, T.I64, Cpu)
    grid = out.reshape(3, 4)
    fill(grid, 100, 3, 4, opts=opts(Cpu))
    assert out.numpy().tolist() == list(range(100, 112))


def test_jit_buffers_in_dicts_and_zero_d():
    x = pb.from_array(np.arange(4.0), Cpu)
    y = pb.zeros(4, T.F64, Cpu)
    from_dict({"x": x, "y": y}, 4, opts=opts(Cpu))
    assert y.numpy().tolist() == [0.0, 2.0, 4.0, 6.0]
    a = pb.from_array(np.float64(3.0), Cpu)  # 0-d: a scalar, like a 0-d array
    axpy(a, x, y, 4, opts=opts(Cpu))
    assert y.numpy().tolist() == [0.0, 5.0, 10.0, 15.0]


def test_print_compiled_and_compile_string_take_buffers():
    x = pb.from_array(np.arange(6, dtype=np.float32), Cpu)
    y = pb.zeros(6, T.F32, Cpu)
    code = parpy.print_compiled(axpy, [2.0, x, y, 6], opts(Cpu))
    assert "float *x" in code
    f = parpy.compile_string("axpy", code, opts(Cpu))
    f(2.0, x, y, 6)
    assert y.numpy().tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    with pytest.raises(parpy.ParPyTypeError, match="float32\\[6\\] array when this code was "
                                                   "generated, got a float64\\[6\\] array"):
        f(2.0, x, pb.zeros(6, T.F64, Cpu), 6)


def test_cuda_buffer_refused_on_cpu():
    b = empty_cuda_buffer()
    assert b.backend is Cuda and b.shape == (0,) and b.nbytes == 0
    with pytest.raises(parpy.ParPyTypeError) as info:
        axpy(2.0, b, np.zeros(0, np.float32), 0, opts=opts(Cpu))
    assert str(info.value) == (
        "axpy: argument 'x' is a parpy buffer in GPU memory (backend Cuda), but the code runs "
        "on Cpu; copy it to the host with x.numpy() or use parpy.CompileBackend.Cuda")
    with pytest.raises(parpy.ParPyTypeError, match="field 'y' of argument 'd' is a parpy "
                                                   "buffer in GPU memory"):
        from_dict({"x": np.zeros(0), "y": b}, 0, opts=opts(Cpu))


def test_cuda_buffer_interfaces_without_a_gpu():
    b = empty_cuda_buffer()
    cai = b.__cuda_array_interface__
    assert cai == {"shape": (0,), "typestr": "<f4", "data": (0, False), "strides": None,
                   "version": 3, "stream": 1}
    assert not hasattr(b, "__array_interface__")
    with pytest.raises(BufferError, match="on the GPU"):
        memoryview(b)
    with pytest.raises(parpy.ParPyTypeError, match="b.numpy\\(\\) copies it to the host"):
        np.asarray(b)
    assert b.numpy().shape == (0,) and b.reshape(0, 5).shape == (0, 5)


class FakeCudaArray:
    """Looks like a GPU array; from_array checks it before any CUDA call."""

    def __init__(self, **cai):
        self.__cuda_array_interface__ = {"shape": (4,), "typestr": "<f4",
                                         "data": (0x7F0000000000, False), "version": 3, **cai}


@pytest.mark.parametrize("cai, kind, text", [
    (dict(strides=(8,)), parpy.ParPyValueError, "not contiguous"),
    (dict(mask=object()), parpy.ParPyTypeError, "masked"),
    (dict(typestr=">f4"), parpy.ParPyTypeError, "big-endian"),
    (dict(typestr="<c8"), parpy.ParPyTypeError, "complex64, which ParPy does not support"),
    (dict(data=5), parpy.ParPyTypeError, "malformed"),
])
def test_from_array_checks_gpu_arrays(cai, kind, text):
    with pytest.raises(kind, match=text):
        pb._wrap_gpu(FakeCudaArray(**cai))


@no_gpu
def test_from_array_of_gpu_memory_needs_a_gpu():
    with pytest.raises(parpy.ParPyValueError, match="cannot be used as GPU memory"):
        pb.from_array(FakeCudaArray(), Cpu)


# ---- PyTorch on the CPU ----

@with_torch
def test_torch_shares_memory_on_cpu():
    b = pb.from_array(np.arange(4, dtype=np.float32), Cpu)
    t = b.torch()
    assert isinstance(t, torch.Tensor) and t.device.type == "cpu" and t.dtype == torch.float32
    assert t.data_ptr() == b._ptr
    t[1] = 10.0
    assert b.numpy()[1] == 10.0
    before = live()
    del b
    assert live() == before  # the tensor keeps the memory
    assert t.tolist() == [0.0, 10.0, 2.0, 3.0]


@with_torch
def test_torch_sources_and_dtypes_on_cpu():
    t = torch.arange(6, dtype=torch.int16).reshape(2, 3)
    b = pb.from_array(t, Cpu)
    assert b.dtype is T.I16 and b.shape == (2, 3) and b._ptr != t.data_ptr()
    assert pb.zeros(2, torch.float64, Cpu).dtype is T.F64
    y = pb.zeros(4, T.F32, Cpu)
    axpy(1.0, torch.ones(4), y, 4, opts=opts(Cpu))
    assert y.torch().tolist() == [1.0] * 4


# ---- on the GPU ----

def cuda_opts(n=64):
    return opts(Cuda, n)


@pytest.mark.cuda
@gpu
def test_cuda_empty_zeros_and_memory():
    before = live()
    b = pb.zeros((3, 4), T.F32, Cuda)
    assert b.backend is Cuda and b.shape == (3, 4) and b.dtype is T.F32
    assert live() == before + 1
    cai = b.__cuda_array_interface__
    assert cai["data"] == (b._ptr, False) and cai["shape"] == (3, 4) and cai["typestr"] == "<f4"
    assert not hasattr(b, "__array_interface__")
    n = b.numpy()
    assert n.dtype == np.float32 and n.shape == (3, 4) and not n.any()
    assert n.ctypes.data != b._ptr
    e = pb.empty_like(b)
    assert e.backend is Cuda and e.shape == (3, 4) and e._ptr != b._ptr
    assert not pb.zeros_like(e).numpy().any()
    del b, e
    assert live() == before


@pytest.mark.cuda
@gpu
@pytest.mark.parametrize("e", ALL, ids=lambda e: e.name)
def test_cuda_from_array_copies_host_data(e):
    a = (np.arange(10) % 2 if e is T.Bool else np.arange(10)).astype(e.to_numpy())
    b = pb.from_array(a, Cuda)
    assert b.backend is Cuda and b.dtype is e and b.shape == (10,)
    want = a.copy()
    a[:] = 0  # the buffer holds a copy
    n = b.numpy()
    assert n.dtype == np.dtype(e.to_numpy()) and np.array_equal(n, want)
    assert b.numpy() is not n  # a fresh host copy each time
    assert np.array_equal(pb.from_array(b, Cpu).numpy(), n)  # and back to the host


@pytest.mark.cuda
@gpu
def test_cuda_jit_uses_buffers_in_place():
    n = 100_000
    x = pb.from_array(np.arange(n, dtype=np.float32), Cuda)
    y = pb.zeros(n, T.F32, Cuda)
    stats = _core._stats()
    axpy(2.0, x, y, n, opts=cuda_opts(1024))
    axpy(1.0, x, y, n, opts=cuda_opts(1024))
    after = _core._stats()
    assert after["copies_in"] == stats["copies_in"]  # no host array staged
    assert after["cuda_calls"] == stats["cuda_calls"] + 2
    assert np.array_equal(y.numpy(), 3.0 * np.arange(n, dtype=np.float32))
    s = pb.from_array(np.float32(0.5), Cuda)  # 0-d: a scalar read from the GPU
    axpy(s, x, y, n, opts=cuda_opts(1024))
    assert np.array_equal(y.numpy(), 3.5 * np.arange(n, dtype=np.float32))


@pytest.mark.cuda
@gpu
def test_cuda_views_and_conversions():
    b = pb.from_array(np.arange(12, dtype=np.int32), Cuda)
    v = b.reshape(3, 4)
    assert v._ptr == b._ptr and v.backend is Cuda
    fill(v, 7, 3, 4, opts=cuda_opts())
    assert b.numpy().tolist() == list(range(7, 19))
    u = b.with_type(T.U32)
    assert u._ptr == b._ptr and u.numpy().tolist() == list(range(7, 19))
    f = b.with_type(T.F64)
    assert f._ptr != b._ptr and f.backend is Cuda and f.dtype is T.F64
    assert f.numpy().tolist() == [float(i) for i in range(7, 19)]
    with pytest.raises(parpy.ParPyValueError, match=r"cannot reshape a buffer of shape \(12,\) "
                                                    r"into \(5,\)"):
        b.reshape(5)
    before = live()
    r = weakref.ref(b)
    del b, u
    assert r() is not None and live() == before  # v holds it
    del v
    assert r() is None and live() == before - 1


@pytest.mark.cuda
@gpu
def test_cuda_sync():
    a, b = pb.zeros(1 << 20, T.F32, Cuda), pb.zeros(1 << 20, T.F32, Cuda)
    axpy(1.0, a, b, 1 << 20, opts=cuda_opts(1024))
    assert pb.sync(Cuda) is None and b.sync() is None
    assert pb.sync(parpy.CompileBackend.Auto) is None


@pytest.mark.cuda
@gpu
def test_cpu_buffer_refused_on_cuda():
    x = pb.from_array(np.ones(4, np.float32), Cpu)
    y = pb.zeros(4, T.F32, Cuda)
    with pytest.raises(parpy.ParPyTypeError) as info:
        axpy(1.0, x, y, 4, opts=cuda_opts())
    assert str(info.value) == (
        "axpy: argument 'x' is a parpy buffer of the Cpu backend, but the code runs on Cuda; "
        "copy it to the GPU once with parpy.buffer.from_array(x, parpy.CompileBackend.Cuda), "
        "or pass x.numpy() to have it copied in and out for this call")
    with pytest.raises(parpy.ParPyTypeError, match="argument 'y' is a parpy buffer in GPU "
                                                   "memory"):
        axpy(1.0, np.ones(4, np.float32), y, 4, opts=opts(Cpu))
    axpy(1.0, pb.from_array(x, Cuda), y, 4, opts=cuda_opts())
    assert y.numpy().tolist() == [1.0] * 4


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_cuda_from_torch_is_zero_copy():
    t = torch.arange(8, dtype=torch.float32, device="cuda")
    before = live()
    b = pb.from_array(t, Cuda)
    assert b._ptr == t.data_ptr() and b._owner is t and live() == before  # nothing allocated
    y = pb.zeros(8, T.F32, Cuda)
    axpy(1.0, y, b, 8, opts=cuda_opts())  # b += 0: a no-op write through the buffer
    axpy(2.0, b, y, 8, opts=cuda_opts())
    assert y.numpy().tolist() == [2.0 * i for i in range(8)]
    fill(b.reshape(2, 4), 1, 2, 4, opts=cuda_opts())
    torch.cuda.synchronize()
    assert t.tolist() == [float(i + 1) for i in range(8)]  # written in t's memory
    r = weakref.ref(t)
    del t
    assert r() is not None  # the buffer keeps the tensor alive
    assert b.numpy().tolist() == [float(i + 1) for i in range(8)]
    with pytest.raises(parpy.ParPyTypeError, match="requires grad"):
        pb.from_array(torch.ones(2, device="cuda", requires_grad=True), Cuda)
    with pytest.raises(parpy.ParPyValueError, match="contiguous"):
        pb.from_array(torch.ones(4, 4, device="cuda").t(), Cuda)
    c = pb.from_array(torch.ones(3, device="cuda"), Cpu)  # to the host: a copy
    assert c.backend is Cpu and c.numpy().tolist() == [1.0] * 3


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_cuda_torch_is_zero_copy():
    b = pb.zeros((2, 3), T.F32, Cuda)
    t = b.torch()
    assert t.is_cuda and t.data_ptr() == b._ptr and t.shape == (2, 3)
    assert t.dtype == torch.float32
    t.fill_(3.0)
    assert b.numpy().tolist() == [[3.0] * 3] * 2  # numpy() waits for torch's fill
    before = live()
    del b
    assert live() == before  # the tensor keeps the buffer, and so the memory
    assert t.sum().item() == 18.0
    del t
    assert live() == before - 1
    for e in (T.Bool, T.I8, T.I64, T.F16, T.F64):
        x = pb.zeros(4, e, Cuda).torch()
        assert x.dtype == e.to_torch() and x.is_cuda


@pytest.mark.cuda
@gpu
@with_cupy
def test_cuda_cupy_is_zero_copy():
    a = cupy.arange(6, dtype=cupy.float64)
    b = pb.from_array(a, Cuda)
    assert b._ptr == a.data.ptr and b.dtype is T.F64
    c = cupy.asarray(b)
    assert c.data.ptr == b._ptr
    fill(b.reshape(2, 3), 0, 2, 3, opts=cuda_opts())
    assert cupy.asnumpy(a).tolist() == [float(i) for i in range(6)]


# ---- the documentation's first example runs as written ----

def test_docs_example_runs(tmp_path):
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "buffer.md"
    block = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)[0]
    path = tmp_path / "buffer_example.py"  # ParPy reads the source of jitted functions
    path.write_text(block)
    ns: dict = {}
    exec(compile(block, str(path), "exec"), ns)
    assert ns["result"][999] == 0.5 * 999 * 100


def test_seq_runs_on_cpu_buffers():
    """seq=True runs the Python function on the NumPy views of Cpu buffers,
    so it computes what compiled code computes, in the same memory."""
    x = pb.from_array(np.arange(4.0), Cpu)
    y = pb.zeros(4, T.F64, Cpu)
    axpy(2.0, x, y, 4, seq=True)
    assert y.numpy().tolist() == [0.0, 2.0, 4.0, 6.0]
    axpy(pb.from_array(np.float64(1.0), Cpu), x, y, 4, seq=True)  # 0-d: a NumPy scalar
    assert y.numpy().tolist() == [0.0, 3.0, 6.0, 9.0]
    d = {"x": x, "y": y}
    from_dict(d, 4, seq=True)
    assert y.numpy().tolist() == [0.0, 2.0, 4.0, 6.0] and d["y"] is y
    with pytest.raises(parpy.ParPyTypeError) as info:
        axpy(2.0, x, empty_cuda_buffer(), 4, seq=True)
    assert str(info.value) == ("axpy(..., seq=True) runs in the Python interpreter, which "
                               "cannot read the elements of a Cuda buffer (argument 'y'); pass "
                               "y.numpy() for a host copy")
    with pytest.raises(parpy.ParPyTypeError, match=r"\(field 'y' of argument 'd'\); pass "
                                                   r"y.numpy\(\)"):
        from_dict({"x": x, "y": empty_cuda_buffer()}, 4, seq=True)


# ---- buffers alive at interpreter exit are freed quietly ----

_AT_EXIT = """
import numpy as np, parpy
from parpy import buffer as pb
B = parpy.CompileBackend.{backend}
kept = [pb.zeros(1000, parpy.types.F32, B), pb.from_array(np.arange(10), B).reshape(2, 5)]
cycle = [pb.empty(4, np.int8, B)]
cycle.append(cycle)  # freed by the collector during finalisation
print("ok")
"""


def _run_at_exit(backend):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _AT_EXIT.format(backend=backend)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "ok\n" and r.stderr == "", r.stderr


def test_cpu_buffers_at_exit():
    _run_at_exit("Cpu")


@pytest.mark.cuda
@gpu
def test_cuda_buffers_at_exit():
    _run_at_exit("Cuda")
