"""Arrays that live where a backend computes: ``parpy.buffer``.

A ``Buffer`` holds a C-contiguous array in host memory (backend Cpu), in
GPU memory (backend Cuda) or in page-aligned host memory that Apple GPUs
share (backend Metal).  Jitted functions use it in place, with no copy on
any of them, so data can stay on the GPU across many calls::

    x = parpy.buffer.from_array(np.arange(1000, dtype=np.float32), Cuda)
    y = parpy.buffer.zeros(1000, parpy.types.F32, Cuda)
    axpy(2.0, x, y, 1000, opts=opts)   # no copy in, no copy back
    print(y.numpy())                   # copies the result to the host

The memory is freed when no buffer, view, NumPy array or tensor sharing it
is left.  The C part of a buffer (its memory, views, copies and the array
interfaces) is ``parpy._core.BufferBase``; docs/buffer.md is the reference.
"""
from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from . import _core
from . import backend as _backend
from ._options import CompileBackend, ElemSize
from .errors import ParPyTypeError, ParPyValueError

__all__ = ["Buffer", "DataType", "sync", "empty", "empty_like", "zeros", "zeros_like", "from_array"]

_CPU, _CUDA, _METAL = CompileBackend.Cpu, CompileBackend.Cuda, CompileBackend.Metal

# (NumPy kind, item size) -> ElemSize: byte order and the C spelling
# (long vs long long) do not matter.
_BY_KIND = {(np.dtype(e.to_numpy()).kind, e.size()): e for e in ElemSize if e is not ElemSize.BF16}
_SUPPORTED = "bool, int8-64, uint8-64, float16-64, bfloat16"


# ---- arguments ----

def _elem_of_dtype(dt: np.dtype, what: str | None) -> ElemSize:
    """The ElemSize of `dt`; `what` names the array it is the dtype of, None
    for a dtype the user asked a buffer to have."""
    e = _BY_KIND.get((dt.kind, dt.itemsize))
    if dt.kind == "V" and dt.name == "bfloat16":  # ml_dtypes'
        e = ElemSize.BF16
    if e is None or dt.fields is not None or dt.subdtype is not None:
        if what:
            raise ParPyTypeError(f"{what} has dtype {dt}, which ParPy does not support "
                                 f"(supported: {_SUPPORTED})")
        raise ParPyTypeError(f"a buffer cannot hold {dt} elements (supported: {_SUPPORTED})")
    return e


def _elem(dtype: Any) -> ElemSize:
    """An ElemSize from an ElemSize, a NumPy dtype (or anything np.dtype
    takes, such as np.float32 or 'int8') or a torch dtype."""
    if isinstance(dtype, ElemSize):
        return dtype
    if isinstance(dtype, DataType):
        return dtype.elem
    if type(dtype).__module__ == "torch":  # torch.float32 -> "float32"
        dtype = str(dtype).rpartition(".")[2]
    try:
        if dtype is None:  # np.dtype(None) would be float64
            raise TypeError
        dt = np.dtype(dtype)
    except TypeError:
        raise ParPyTypeError(f"a buffer's dtype must be a parpy.ElemSize (such as "
                             f"parpy.types.F32) or a NumPy dtype, not {dtype!r}") from None
    return _elem_of_dtype(dt, None)


def _shape(shape: Any) -> tuple[int, ...]:
    """A shape: an int or a sequence of ints (the C part checks their values)."""
    try:
        dims = shape if isinstance(shape, (tuple, list)) else (shape,)
        if any(isinstance(d, bool) for d in dims):
            raise TypeError
        return tuple(operator.index(d) for d in dims)
    except TypeError:
        raise ParPyTypeError(f"a buffer's shape must be an int or a tuple of ints, not "
                             f"{shape!r}") from None


def _concrete(backend: Any) -> CompileBackend:
    """The backend buffers are made for: Auto resolved, and usable here."""
    chosen = _backend.resolve(backend, strict=True)
    if chosen not in (_CPU, _CUDA, _METAL):
        raise ParPyValueError(f"buffers exist for the Cpu, Cuda and Metal backends, not "
                              f"{chosen.name}")
    return chosen


def _check_buffer(b: Any, fn: str) -> Buffer:
    if not isinstance(b, Buffer):
        raise ParPyTypeError(f"parpy.buffer.{fn} expects a parpy.buffer.Buffer, not "
                             f"{type(b).__name__}")
    return b


# ---- DataType: 0.1.3's name for an element type ----

class DataType:
    """An element type as 0.1.3 named it: built from an ElemSize
    (``DataType.from_elem_size(parpy.types.F32)``), a NumPy dtype or a
    typestr (``DataType('<f4')``).  It equals the ElemSize it stands for, and
    every function taking a dtype takes it; a buffer's ``dtype`` is the
    ElemSize itself, which has the same methods."""

    __slots__ = ("elem",)
    elem: ElemSize

    def __init__(self, dtype: Any) -> None:
        object.__setattr__(self, "elem", _elem(dtype))

    @classmethod
    def from_elem_size(cls, e: ElemSize) -> DataType:
        """The DataType of the ElemSize `e`."""
        if not isinstance(e, ElemSize):
            raise ParPyTypeError(f"DataType.from_elem_size expects a parpy.ElemSize, not "
                                 f"{type(e).__name__}")
        return cls(e)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DataType is immutable")

    def size(self) -> int:
        """Size of one element in bytes."""
        return self.elem.size()

    def is_integer(self) -> bool:
        """True for the signed and unsigned integer types (not Bool)."""
        return self.elem.is_integer()

    def is_signed_integer(self) -> bool:
        """True for I8, I16, I32 and I64."""
        return self.elem.is_signed_integer()

    def is_unsigned_integer(self) -> bool:
        """True for U8, U16, U32 and U64."""
        return self.elem.is_unsigned_integer()

    def is_floating_point(self) -> bool:
        """True for F16, F32, F64 and BF16."""
        return self.elem.is_floating_point()

    def to_numpy(self) -> type:
        """The NumPy scalar type."""
        return self.elem.to_numpy()

    def to_torch(self) -> Any:
        """The PyTorch dtype."""
        return self.elem.to_torch()

    def to_ctype(self) -> type:
        """The ctypes type of one element."""
        return self.elem.to_ctype()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataType):
            return self.elem is other.elem
        if isinstance(other, ElemSize):
            return self.elem is other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.elem)

    def __repr__(self) -> str:
        return f"parpy.buffer.DataType({np.dtype(self.elem.to_numpy()).str!r})"


# ---- the Buffer ----

class Buffer(_core.BufferBase):
    """A C-contiguous array in the memory of a backend (host for Cpu, GPU for
    Cuda, page-aligned host memory for Metal).  Made by the functions of parpy.buffer, not by calling the class.

    Attributes: ``shape`` (tuple of ints), ``dtype`` (parpy.ElemSize),
    ``backend`` (parpy.CompileBackend), ``nbytes``."""

    __slots__ = ()

    @property
    def dtype(self) -> ElemSize:
        """The element type, a parpy.ElemSize."""
        return ElemSize(self._elem)

    @property
    def backend(self) -> CompileBackend:
        """The backend whose memory holds the data: Cpu, Cuda or Metal."""
        return CompileBackend(self._backend)

    def sync(self) -> None:
        """Wait until the buffer's backend has finished its work (sync(backend))."""
        sync(self.backend)

    def size(self) -> int:
        """The size of the data in bytes (``nbytes``)."""
        return self.nbytes

    def _in_host_memory(self) -> bool:
        """Cpu and Metal buffers are host memory (Apple GPUs share it)."""
        return self._backend != _CUDA.value

    def copy(self) -> Buffer:
        """A new buffer of the same backend holding a copy of the data."""
        if self._in_host_memory():
            out = Buffer._alloc(self.shape, self._elem, self._backend, False)
            np.copyto(out.numpy(), self.numpy())
            return out
        return from_array(self.numpy(), self.backend)  # through the host, as with_type

    def _scalar(self, what: str) -> Any:
        if self.shape != ():
            raise ParPyValueError(f"{what}() of a buffer needs a 0-d buffer, not one of shape "
                                  f"{self.shape}")
        return self.numpy().item()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __index__(self) -> int:
        if not self.dtype.is_integer():
            raise ParPyTypeError(f"only a buffer of integers can be used as an index, not "
                                 f"one of {self.dtype.name}")
        return int(self._scalar("operator.index"))

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array: on Cpu a view sharing the buffer's memory,
        on Cuda a fresh copy in host memory (after the GPU work queued so far).
        A Metal buffer is host memory that Apple GPUs share: a view too.  A BF16
        buffer gives an ml_dtypes.bfloat16 array (``b.with_type(U16).numpy()``
        shows its bits without ml_dtypes)."""
        if self._elem == ElemSize.BF16.value:  # ml_dtypes' bfloat16 over the bits
            bf16 = ElemSize.BF16.to_numpy()
            if self._in_host_memory():
                return np.asarray(memoryview(self)).view(bf16)
            bits = np.empty(self.shape, np.uint16)
            self._to_host(bits)
            return bits.view(bf16)
        if self._in_host_memory():
            return np.asarray(memoryview(self))
        out = np.empty(self.shape, self.dtype.to_numpy())
        self._to_host(out)
        return out

    def torch(self) -> Any:
        """The data as a PyTorch tensor sharing the buffer's memory: a CUDA
        tensor for a Cuda buffer, a CPU tensor for a Cpu or Metal buffer (not
        an ``mps`` one: PyTorch cannot wrap memory it did not allocate as an
        mps tensor).  The tensor keeps the memory alive."""
        import torch  # noqa: PLC0415 - optional dependency

        if self._elem == ElemSize.BF16.value:  # the interfaces show its bits as uint16
            return self.with_type(ElemSize.U16).torch().view(torch.bfloat16)
        if self._in_host_memory():
            return torch.from_numpy(self.numpy())
        # torch reads __cuda_array_interface__ and keeps this buffer alive.
        if self._device < 0:  # managed memory: torch picks the device
            return torch.as_tensor(self)
        return torch.as_tensor(self, device=f"cuda:{self._device}")

    def reshape(self, *shape: Any) -> Buffer:
        """A view with another shape of the same size, sharing the memory:
        ``b.reshape(2, 3)`` or ``b.reshape((2, 3))``; one extent may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        dims = _shape(shape)
        size = math.prod(self.shape)
        if dims.count(-1) == 1:
            known = math.prod(d for d in dims if d != -1)
            if known > 0 and size % known == 0 and all(d >= -1 for d in dims):
                dims = tuple(size // known if d == -1 else d for d in dims)
        if any(d < 0 for d in dims) or math.prod(dims) != size:
            raise ParPyValueError(f"cannot reshape a buffer of shape {self.shape} into "
                                  f"{tuple(shape)}")
        return self._view(dims, self._elem)

    def with_type(self, dtype: Any) -> Buffer:
        """The data with another element type.  Of the same size: a view
        reinterpreting the memory (I32 -> U32, F32 -> I32 bits).  Of another
        size: a new buffer of converted values, as NumPy's astype converts."""
        e = _elem(dtype)
        if e.size() == self.dtype.size():
            return self._view(self.shape, e.value)
        if self._in_host_memory():
            out = Buffer._alloc(self.shape, e.value, self._backend, False)
            np.copyto(out.numpy(), self.numpy(), casting="unsafe")
            return out
        # The GPU has no conversion kernel of its own here: go through the host.
        return from_array(self.numpy().astype(e.to_numpy()), self.backend)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # NumPy reads Cpu and Metal buffers through the buffer protocol; this is reached
        # for Cuda buffers, whose data NumPy cannot see.
        if not self._in_host_memory():
            raise ParPyTypeError("a Cuda buffer's data is in GPU memory, which NumPy cannot "
                                 "read; b.numpy() copies it to the host")
        a = self.numpy()
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def __repr__(self) -> str:
        return (f"parpy.buffer.Buffer(shape={self.shape}, dtype={self.dtype.name}, "
                f"backend={self.backend.name})")


# ---- arrays in GPU memory ----

def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "data_ptr")


def _on_gpu(a: Any) -> bool:
    if isinstance(a, Buffer):
        return a._backend == _CUDA.value
    if _is_torch(a):
        return bool(a.is_cuda)
    if hasattr(a, "__cuda_array_interface__"):
        return True
    dev = getattr(a, "__dlpack_device__", None)
    return dev is not None and not isinstance(a, np.ndarray) and dev()[0] in (2, 13)


def _wrap_torch(t: Any) -> Buffer:
    if t.requires_grad:
        raise ParPyTypeError("from_array: the tensor requires grad; pass t.detach() (buffers "
                             "are written outside autograd)")
    if not t.is_contiguous():
        raise ParPyValueError("from_array: the tensor is not contiguous; pass t.contiguous()")
    e = _elem(t.dtype)
    return Buffer._wrap(t.data_ptr(), tuple(t.shape), e.value, t.get_device(), False, 0, t)


def _wrap_cai(a: Any) -> Buffer:
    cai = a.__cuda_array_interface__
    try:
        dt = np.dtype(cai["typestr"])
        shape = tuple(int(d) for d in cai["shape"])
        ptr, readonly = cai["data"]
        strides, mask, stream = cai.get("strides"), cai.get("mask"), cai.get("stream")
    except (KeyError, TypeError, ValueError) as e:
        raise ParPyTypeError(f"from_array: the __cuda_array_interface__ of the "
                             f"{type(a).__name__} is malformed ({e})") from None
    if mask is not None:
        raise ParPyTypeError("from_array: masked GPU arrays are not supported")
    if not dt.isnative:
        raise ParPyTypeError("from_array: the GPU array is big-endian")
    e = _elem_of_dtype(dt, "the GPU array")
    if strides is not None and not _contiguous(shape, strides, dt.itemsize):
        raise ParPyValueError("from_array: the GPU array is not contiguous; pass a contiguous "
                              "copy (cupy.ascontiguousarray(a))")
    return Buffer._wrap(ptr or 0, shape, e.value, -1, bool(readonly), int(stream or 0), a)


def _contiguous(shape: tuple[int, ...], strides: Any, itemsize: int) -> bool:
    if 0 in shape:
        return True
    want = itemsize
    for d, s in zip(reversed(shape), reversed(tuple(strides))):
        if d > 1 and s != want:
            return False
        want *= d
    return len(tuple(strides)) == len(shape)


def _wrap_gpu(a: Any) -> Buffer:
    """A Cuda buffer sharing the memory of the GPU array `a`, which it keeps
    alive."""
    if isinstance(a, Buffer):
        return a._view(a.shape, a._elem)
    if _is_torch(a):
        return _wrap_torch(a)
    if hasattr(a, "__cuda_array_interface__"):
        return _wrap_cai(a)
    raise ParPyTypeError(f"from_array: the {type(a).__name__} is in GPU memory but offers only "
                         f"DLPack; pass a torch tensor or an array with __cuda_array_interface__ "
                         f"(torch.from_dlpack(a) makes one without a copy)")


def _host_array(a: Any) -> np.ndarray:
    """`a` as a C-contiguous NumPy array of native byte order."""
    try:
        arr = np.asarray(a)
    except Exception as e:  # noqa: BLE001 - whatever the object raises
        raise ParPyTypeError(f"from_array cannot read a {type(a).__name__} as an array: "
                             f"{e}") from e
    _elem_of_dtype(arr.dtype, f"the {type(a).__name__}")
    # Not ascontiguousarray, which makes 0-d arrays 1-d.
    return np.asarray(arr, dtype=arr.dtype.newbyteorder("="), order="C")


# ---- the module's functions ----

def sync(backend: Any = CompileBackend.Auto) -> None:
    """Wait until `backend` has finished the work queued so far: on Cuda, the
    whole device (an error of a finished kernel raises here); on Cpu and
    Metal nothing, as calls return when their work is done.  `backend` may also be a
    Buffer (its backend) or None (Auto).  Also ``parpy.sync``."""
    if isinstance(backend, Buffer):
        backend = backend.backend
    elif backend is None:
        backend = CompileBackend.Auto
    # Only Cuda calls return before their work is done.
    if _backend.resolve(backend, strict=True) is _CUDA:
        _core.cuda_sync()


def empty(shape: Any, dtype: Any, backend: CompileBackend = CompileBackend.Auto) -> Buffer:
    """A new buffer of `shape` (an int or a tuple of ints) and `dtype` (an
    ElemSize such as parpy.types.F32, a NumPy dtype or a torch dtype) in the
    memory of `backend` (Auto: resolved as for a call); its contents are
    whatever the memory held."""
    return Buffer._alloc(_shape(shape), _elem(dtype).value, _concrete(backend).value, False)


def zeros(shape: Any, dtype: Any, backend: CompileBackend = CompileBackend.Auto) -> Buffer:
    """Like empty, filled with zeros."""
    return Buffer._alloc(_shape(shape), _elem(dtype).value, _concrete(backend).value, True)


def empty_like(b: Buffer) -> Buffer:
    """A new buffer of the shape, dtype and backend of the buffer `b`."""
    b = _check_buffer(b, "empty_like")
    return Buffer._alloc(b.shape, b._elem, b._backend, False)


def zeros_like(b: Buffer) -> Buffer:
    """Like empty_like, filled with zeros."""
    b = _check_buffer(b, "zeros_like")
    return Buffer._alloc(b.shape, b._elem, b._backend, True)


def from_array(a: Any, backend: CompileBackend = CompileBackend.Auto) -> Buffer:
    """A buffer holding the data of the array `a` (NumPy, PyTorch, CuPy, a
    Buffer, or anything numpy.asarray reads) for `backend`.

    On Cuda, an array already in GPU memory (a CUDA tensor, a CuPy array, a
    Cuda buffer) is shared, not copied: the buffer keeps it alive and writes
    through it.  Any other array is copied, to new GPU memory on Cuda and to
    new host memory on Cpu and Metal, so that code moving NumPy data into buffers
    behaves alike on both backends: later changes to `a` do not show.

    `backend` None (0.1.3's host "dummy" buffer) gives a Cpu buffer, whatever
    backends are enabled."""
    backend = _CPU if backend is None else _concrete(backend)
    gpu = _on_gpu(a)
    if gpu and backend is _CUDA:
        return _wrap_gpu(a)
    host = _wrap_gpu(a).numpy() if gpu else _host_array(a)
    e = _elem_of_dtype(host.dtype, "the array")
    out = Buffer._alloc(host.shape, e.value, backend.value, False)
    # ml_dtypes' bfloat16 arrays have no buffer protocol: their bits do
    out._from_host(host.view(np.uint16) if e is ElemSize.BF16 else host)
    return out
