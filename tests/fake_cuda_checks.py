"""The Cuda paths of parpy.buffer against a fake CUDA runtime (tests/c/
fake_cuda.c), run by tests/test_buffer_fake_cuda.py in a process whose
parpy._core was built with the fake: "GPU memory" is host memory that only
the fake's copies touch, and the fake counts every primitive.  Prints one
line per check and "ok" at the end; any failure is a traceback."""
from __future__ import annotations

import ctypes
import gc
import os
import sys

import numpy as np

import parpy
from parpy import _core
from parpy import buffer as pb
from parpy import types as T

Cpu, Cuda = parpy.CompileBackend.Cpu, parpy.CompileBackend.Cuda
FAKE = ctypes.CDLL(_core.__file__)
FAKE.fake_cuda_count.argtypes = [ctypes.c_char_p]

# nvcc need not be installed: the fake runtime is the whole GPU here.
parpy.backend._cuda_reason = lambda: None
parpy.backend._reset()


def counts():
    gc.collect()
    names = ["alloc", "free", "to_device", "to_host", "zero", "sync", "device_sync",
             "wait_stream", "check_pointer"]
    c = {n: FAKE.fake_cuda_count(n.encode()) for n in names}
    c["live"] = FAKE.fake_cuda_live()
    c["buffers"] = _core._stats()["buffers"]
    return c


def delta(before):
    now = counts()
    return {k: now[k] - before[k] for k in now if now[k] != before[k]}


@parpy.jit
def axpy(a, x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = a * x[i] + y[i]


def opts(backend):
    o = parpy.par({"N": parpy.threads(32)})
    o.backend = backend
    return o


def check_zeros_and_empty():
    c = counts()
    b = pb.zeros((3, 4), T.F32, Cuda)
    assert b.backend is Cuda and b._device == 0
    assert delta(c) == {"alloc": 1, "zero": 1, "live": 1, "buffers": 1}
    n = b.numpy()
    assert n.shape == (3, 4) and n.dtype == np.float32 and not n.any()
    assert n.ctypes.data != b._ptr and delta(c)["to_host"] == 1
    e = pb.empty(5, T.U32, Cuda)
    assert (e.numpy() == 0xA5A5A5A5).all()  # what the fake's fresh memory holds
    cai = b.__cuda_array_interface__
    assert cai == {"shape": (3, 4), "typestr": "<f4", "data": (b._ptr, False),
                   "strides": None, "version": 3, "stream": 1}
    assert not hasattr(b, "__array_interface__")
    z = pb.zeros_like(e)
    assert z.backend is Cuda and z.dtype is T.U32 and not z.numpy().any()
    assert pb.empty_like(b).shape == (3, 4)
    del b, e, z, n
    d = delta(c)
    assert d["alloc"] == d["free"] == 4 and "live" not in d and "buffers" not in d


def check_from_array_copies_in():
    c = counts()
    a = np.arange(10.0)
    b = pb.from_array(a, Cuda)
    assert delta(c) == {"alloc": 1, "to_device": 1, "sync": 1, "live": 1, "buffers": 1}
    a[:] = -1
    assert b.numpy().tolist() == [float(i) for i in range(10)]
    assert b.numpy() is not b.numpy()
    s = pb.from_array(np.arange(6, dtype=">i2")[::2], Cuda)  # strided, big-endian
    assert s.dtype is T.I16 and s.numpy().tolist() == [0, 2, 4]
    h = pb.from_array(b, Cpu)  # back to the host: a Cpu buffer
    assert h.backend is Cpu and h.numpy().tolist() == b.numpy().tolist()
    g = pb.from_array(h, Cuda)  # and a Cpu buffer to the GPU
    assert g.backend is Cuda and g._ptr != b._ptr and g.numpy().tolist() == h.numpy().tolist()


def check_views_share_gpu_memory():
    b = pb.from_array(np.arange(12, dtype=np.int32), Cuda)
    c = counts()
    v = b.reshape(3, -1).with_type(T.F32).reshape(12)
    assert v._ptr == b._ptr and v._owner is b and v.backend is Cuda and delta(c) == {}
    w = b.with_type(T.F64)  # another size: converted, through the host
    assert w._ptr != b._ptr and w.numpy().tolist() == [float(i) for i in range(12)]
    d = delta(c)
    assert d["alloc"] == 1 and d["to_host"] >= 1 and d["to_device"] == 1
    del b
    assert delta(c).get("free", 0) == 0  # v holds it
    del v
    assert delta(c)["free"] == 1


class GpuArray:
    """An array of another library, seen through the CUDA array interface."""

    def __init__(self, ptr, shape=(4,), typestr="<f4", readonly=False, stream=None):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                         "data": (ptr, readonly), "version": 3,
                                         "strides": None, "stream": stream}


def check_wraps_gpu_arrays():
    mem = pb.from_array(np.arange(4, dtype=np.float32), Cuda)
    arr = GpuArray(mem._ptr, stream=12345)
    c = counts()
    b = pb.from_array(arr, Cuda)
    assert b._ptr == mem._ptr and b._owner is arr and b._device == 0
    assert delta(c) == {"wait_stream": 1, "check_pointer": 1}  # nothing allocated
    assert b.numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
    host = np.zeros(4, np.float32)
    try:
        pb.from_array(GpuArray(host.ctypes.data), Cuda)
    except parpy.ParPyValueError as e:
        assert "cannot be used as GPU memory: it is host memory" in str(e), e
    else:
        raise AssertionError("host memory wrapped as GPU memory")
    ro = pb.from_array(GpuArray(mem._ptr, readonly=True), Cuda)
    assert ro.__cuda_array_interface__["data"] == (mem._ptr, True)
    try:
        ro._from_host(np.zeros(4, np.float32))
    except parpy.ParPyValueError as e:
        assert "read-only" in str(e)
    else:
        raise AssertionError("wrote into read-only memory")
    again = pb.from_array(b, Cuda)  # a Cuda buffer on Cuda: shared
    assert again._ptr == mem._ptr


def check_backends_refuse_each_others_buffers():
    x = pb.from_array(np.ones(4, np.float32), Cpu)
    y = pb.zeros(4, T.F32, Cuda)
    loads = _core._stats()["loads"]
    try:
        axpy(1.0, x, y, 4, opts=opts(Cuda))
    except parpy.ParPyTypeError as e:
        assert str(e).startswith("axpy: argument 'x' is a parpy buffer of the Cpu backend, but "
                                 "the code runs on Cuda; copy it to the GPU once with "
                                 "parpy.buffer.from_array(x, parpy.CompileBackend.Cuda)"), e
    else:
        raise AssertionError("a Cpu buffer went to the Cuda backend")
    assert _core._stats()["loads"] == loads  # refused before building anything
    try:
        axpy(1.0, np.ones(4, np.float32), y, 4, opts=opts(Cpu))
    except parpy.ParPyTypeError as e:
        assert "argument 'y' is a parpy buffer in GPU memory (backend Cuda), but the code runs " \
               "on Cpu" in str(e), e
    else:
        raise AssertionError("a Cuda buffer went to the Cpu backend")
    code = parpy.print_compiled(axpy, [1.0, pb.from_array(x, Cuda), y, 4], opts(Cuda))
    assert "__global__" in code  # printing takes Cuda buffers like GPU arrays


def check_zero_d_gpu_buffer_is_a_scalar():
    a = pb.from_array(np.float64(2.5), Cuda)
    assert a.shape == ()
    y = np.zeros(4)
    c = counts()
    axpy(a, np.ones(4), y, 4, opts=opts(Cpu))  # its value is read from the "GPU"
    assert y.tolist() == [2.5] * 4 and delta(c)["to_host"] == 1


def check_sync_and_errors():
    c = counts()
    pb.sync(Cuda)
    pb.zeros(1, T.I8, Cuda).sync()
    assert delta(c)["device_sync"] == 2
    os.environ["FAKE_CUDA_FAIL"] = "sync"
    try:
        pb.sync(Cuda)
    except parpy.ParPyRuntimeError as e:
        assert str(e) == "synchronising the GPU failed: an illegal memory access was " \
                         "encountered", e
    else:
        raise AssertionError("sync did not report the error")
    os.environ["FAKE_CUDA_FAIL"] = "alloc"
    before = _core._stats()["buffers"]
    try:
        pb.zeros((2, 2), T.F64, Cuda)
    except parpy.ParPyRuntimeError as e:
        assert str(e) == "allocating a buffer of 32 bytes in GPU memory failed: out of memory", e
    else:
        raise AssertionError("the allocation did not fail")
    del os.environ["FAKE_CUDA_FAIL"]
    assert _core._stats()["buffers"] == before
    empty = pb.zeros((0, 3), T.F32, Cuda)  # nothing to allocate
    assert empty._ptr == 0 and empty.numpy().shape == (0, 3)


def main():
    assert _core.__file__.startswith(sys.argv[1]), _core.__file__
    start = counts()
    for name, fn in list(globals().items()):
        if name.startswith("check_"):
            fn()
            print(name)
    gc.collect()
    end = counts()
    assert end["live"] == start["live"] and end["buffers"] == start["buffers"], (start, end)
    assert end["free"] - start["free"] == end["alloc"] - start["alloc"] - 1  # one failed
    print("ok")


if __name__ == "__main__":
    main()
