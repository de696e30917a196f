"""CompileOptions, LoopPar and the enums of the public API.

Options are validated when a field is set, so that the compiler only ever
sees consistent values, and fingerprinted (``_key``) once per change: a call
of a jitted function reads ``opts._key`` and nothing else on a cache hit.
"""
from __future__ import annotations

import ctypes
import enum
import hashlib
import operator
import os
from typing import Any, Callable, Mapping

import numpy as np

from .errors import ParPyRuntimeValueError, ParPyTypeError, ParPyValueError

__all__ = ["ElemSize", "CompileBackend", "Target", "LoopPar", "CompileOptions", "threads",
           "reduce", "par"]


class ElemSize(enum.Enum):
    """Element types; the values are the C core's ``Elem`` codes."""

    Bool = 0
    I8 = 1
    I16 = 2
    I32 = 3
    I64 = 4
    U8 = 5
    U16 = 6
    U32 = 7
    U64 = 8
    F16 = 9
    F32 = 10
    F64 = 11
    BF16 = 12

    def size(self) -> int:
        """Size of one element in bytes."""
        return _SIZES[self.value]

    def to_numpy(self) -> type:
        """The NumPy scalar type, e.g. ``numpy.int32`` for ``I32``.  NumPy has no
        bfloat16: ``BF16`` gives ``ml_dtypes.bfloat16``, and fails without ml_dtypes."""
        if self is ElemSize.BF16:
            return _bfloat16(required=True)
        return _NUMPY[self.value]

    def to_torch(self) -> Any:
        """The PyTorch dtype, e.g. ``torch.int32`` (PyTorch is imported on demand)."""
        if self in (ElemSize.U16, ElemSize.U32, ElemSize.U64):
            raise ParPyValueError(f"PyTorch has no dtype for {self.name} (unsigned "
                                  f"{8 * self.size()}-bit integers)")
        import torch  # noqa: PLC0415 - optional dependency

        if self is ElemSize.BF16:
            return torch.bfloat16
        return getattr(torch, _NUMPY[self.value].__name__.replace("bool_", "bool"))

    def to_ctype(self) -> type:
        """The ctypes type of one element (``F16`` and ``BF16`` are carried as ``c_uint16``)."""
        return _CTYPES[self.value]

    def is_int(self) -> bool:
        """True for the signed and unsigned integer types (not Bool)."""
        return ElemSize.I8.value <= self.value <= ElemSize.U64.value

    def is_float(self) -> bool:
        """True for F16, F32, F64 and BF16."""
        return self.value >= ElemSize.F16.value

    # The names 0.1.3's DataType used (a buffer's dtype is an ElemSize here).
    def is_integer(self) -> bool:
        """True for the signed and unsigned integer types (not Bool)."""
        return self.is_int()

    def is_signed_integer(self) -> bool:
        """True for I8, I16, I32 and I64."""
        return ElemSize.I8.value <= self.value <= ElemSize.I64.value

    def is_unsigned_integer(self) -> bool:
        """True for U8, U16, U32 and U64."""
        return ElemSize.U8.value <= self.value <= ElemSize.U64.value

    def is_floating_point(self) -> bool:
        """True for F16, F32, F64 and BF16."""
        return self.is_float()


_SIZES = (1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2)
_NUMPY = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.float16, np.float32, np.float64, None)  # BF16: _bfloat16()
_CTYPES = (ctypes.c_bool, ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64,
           ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint16,
           ctypes.c_float, ctypes.c_double, ctypes.c_uint16)


def _bfloat16(required: bool = False) -> Any:
    """ml_dtypes.bfloat16, NumPy's bfloat16, or None without ml_dtypes (an
    optional dependency: PyTorch's bfloat16 tensors need none)."""
    try:
        import ml_dtypes  # noqa: PLC0415 - optional dependency
    except ImportError:
        if required:
            raise ParPyValueError("NumPy has no bfloat16 type; install ml_dtypes for "
                                  "ml_dtypes.bfloat16 (torch.bfloat16 tensors and parpy "
                                  "buffers need none)") from None
        return None
    return ml_dtypes.bfloat16


class CompileBackend(enum.Enum):
    """Where the code runs.  ``Auto`` picks Cuda, else Metal, else Cpu."""

    Auto = 0
    Cuda = 1
    Metal = 2
    Cpu = 3


class Target(enum.Enum):
    """Where an external function runs."""

    Host = 0
    Device = 1


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _count(v: Any) -> Any:
    """`v` as a Python int when it is an integer of another kind: a NumPy
    integer, or a 0-d integer array, tensor or buffer (0.1.3 code writes
    ``parpy.threads(hmm['num_states'])``).  Anything else is returned as it
    is, for the caller's error message."""
    if isinstance(v, (bool, np.bool_)) or _is_int(v):
        return v
    if getattr(v, "shape", None) == () or isinstance(v, np.integer):
        dtype = getattr(v, "dtype", None)
        if dtype is not None and "bool" in str(dtype):
            return v
        try:
            return operator.index(v)
        except TypeError:
            return v
    return v


DEFAULT_TPB = 1024


_MAX_INT = 2**63 - 1  # what the compiler's 64-bit integers hold


class LoopPar:
    """How one labelled statement runs in parallel.  Immutable: every method
    returns a new LoopPar."""

    __slots__ = ("_nthreads", "_reduce", "_tpb")

    def __init__(self) -> None:
        object.__setattr__(self, "_nthreads", 0)
        object.__setattr__(self, "_reduce", False)
        object.__setattr__(self, "_tpb", DEFAULT_TPB)

    def _with(self, nthreads: int, reduce: bool, tpb: int) -> LoopPar:
        p = LoopPar()
        object.__setattr__(p, "_nthreads", nthreads)
        object.__setattr__(p, "_reduce", reduce)
        object.__setattr__(p, "_tpb", tpb)
        return p

    def threads(self, nthreads: int) -> LoopPar:
        """A copy running on ``nthreads`` threads (a positive int, NumPy
        integer or 0-d integer array/tensor; set once)."""
        nthreads = _count(nthreads)
        if not _is_int(nthreads):
            raise ParPyTypeError(f"the number of threads must be an int, not "
                                 f"{type(nthreads).__name__}")
        if nthreads <= 0:
            raise ParPyValueError(f"the number of threads must be positive, got {nthreads}")
        if nthreads > _MAX_INT:
            raise ParPyValueError(f"the number of threads must be at most 2**63 - 1, got "
                                  f"{nthreads}")
        if self._nthreads != 0:
            raise ParPyValueError("the number of threads can only be set once")
        return self._with(nthreads, self._reduce, self._tpb)

    def reduce(self) -> LoopPar:
        """A copy that is a reduction loop."""
        return self._with(self._nthreads, True, self._tpb)

    def tpb(self, tpb: int) -> LoopPar:
        """A copy using ``tpb`` threads per block (a positive multiple of 32)."""
        tpb = _count(tpb)
        if not _is_int(tpb):
            raise ParPyTypeError(f"the number of threads per block must be an int, not "
                                 f"{type(tpb).__name__}")
        if tpb <= 0 or tpb % 32 != 0:
            raise ParPyValueError("the number of threads per block must be a positive integer "
                                  f"divisible by 32, got {tpb}")
        if tpb > _MAX_INT:
            raise ParPyValueError(f"the number of threads per block must be at most 2**63 - 1, "
                                  f"got {tpb}")
        return self._with(self._nthreads, self._reduce, tpb)

    @property
    def nthreads(self) -> int:
        return self._nthreads

    @property
    def reduction(self) -> bool:
        return self._reduce

    @property
    def threads_per_block(self) -> int:
        return self._tpb

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("LoopPar is immutable; use threads(), reduce() or tpb()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("LoopPar is immutable")

    def _tuple(self) -> tuple[int, bool, int]:
        return (self._nthreads, self._reduce, self._tpb)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LoopPar):
            return NotImplemented
        return self._tuple() == other._tuple()

    def __hash__(self) -> int:
        return hash(self._tuple())

    def __repr__(self) -> str:
        parts = []
        if self._nthreads:
            parts.append(f"threads({self._nthreads})")
        if self._reduce:
            parts.append("reduce()")
        if self._tpb != DEFAULT_TPB:
            parts.append(f"tpb({self._tpb})")
        if not parts or parts[0].startswith("tpb"):
            parts.insert(0, "LoopPar()")
        return ".".join(parts)

    def __reduce__(self) -> tuple:
        return (_make_loop_par, self._tuple())


def _make_loop_par(nthreads: int, reduce: bool, tpb: int) -> LoopPar:
    return LoopPar()._with(nthreads, reduce, tpb)


def threads(n: int) -> LoopPar:
    """``LoopPar().threads(n)``."""
    return LoopPar().threads(n)


def reduce() -> LoopPar:
    """``LoopPar().reduce()``."""
    return LoopPar().reduce()


# ---- mutable fields: a list and a dict that tell their options when changed ----

class _Owned:
    """Mixin of the list and dict fields: any change in place drops the
    options' fingerprint, so the next call validates the contents again and
    recomputes the key (0.1.3 code writes ``opts.includes += [...]`` and
    ``opts.parallelize['N'] = ...``)."""

    __slots__ = ()
    _owner: Any

    def _changed(self) -> None:
        owner = self._owner
        if owner is not None:
            object.__setattr__(owner, "_key_cache", None)


def _mutator(base: type, name: str) -> Callable[..., Any]:
    method = getattr(base, name)

    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = method(self, *args, **kwargs)
        self._changed()
        return out
    changed.__name__ = name
    changed.__doc__ = method.__doc__
    return changed


class OptionList(_Owned, list):
    """``CompileOptions.includes``, ``libs`` and ``extra_flags``: a list of str,
    changed in place like any list; the strings are checked when the options
    are next used."""

    __slots__ = ("_owner",)

    def __init__(self, items: Any = (), owner: Any = None) -> None:
        list.__init__(self, items)
        self._owner = owner

    for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
                  "insert", "remove", "pop", "clear", "sort", "reverse"):
        locals()[_name] = _mutator(list, _name)
    del _name

    def __reduce__(self) -> tuple:
        return (list, (list(self),))


class OptionDict(_Owned, dict):
    """``CompileOptions.parallelize``: a dict from label to LoopPar, changed in
    place like any dict; its entries are checked when the options are next
    used."""

    __slots__ = ("_owner",)

    def __init__(self, items: Any = (), owner: Any = None) -> None:
        dict.__init__(self, items)
        self._owner = owner

    for _name in ("__setitem__", "__delitem__", "__ior__", "update", "pop", "popitem",
                  "clear", "setdefault"):
        locals()[_name] = _mutator(dict, _name)
    del _name

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))


# ---- CompileOptions fields: a checker (name, value) -> stored value ----

def _check_bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ParPyTypeError(f"CompileOptions.{name} must be a bool, not {type(v).__name__}")
    return v


def _check_backend(name: str, v: Any) -> CompileBackend:
    if not isinstance(v, CompileBackend):
        raise ParPyTypeError(f"CompileOptions.{name} must be a parpy.CompileBackend, not "
                             f"{type(v).__name__}")
    return v


def _check_blocks(name: str, v: Any) -> int:
    if not _is_int(v):
        raise ParPyTypeError(f"CompileOptions.{name} must be an int, not {type(v).__name__}")
    if v <= 0 or v & (v - 1) or v > _MAX_INT:
        raise ParPyRuntimeValueError(f"CompileOptions.{name}: the maximum number of thread "
                                     f"blocks per cluster must be a power of two below 2**63, "
                                     f"got {v}")
    return v


def _check_size(kind: str, pred: Callable[[ElemSize], bool]) -> Callable[[str, Any], Any]:
    def check(name: str, v: Any) -> ElemSize | None:
        if v is None:
            return None
        if not isinstance(v, ElemSize):
            raise ParPyTypeError(f"CompileOptions.{name} must be a parpy.ElemSize or None, not "
                                 f"{type(v).__name__}")
        if not pred(v):
            raise ParPyValueError(f"CompileOptions.{name} must be {kind} ElemSize, got {v}")
        return v
    return check


def _check_strs(name: str, v: Any) -> list[str]:
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise ParPyTypeError(f"CompileOptions.{name} must be a list of str, not "
                             f"{type(v).__name__}")
    for s in v:
        if not isinstance(s, str):
            raise ParPyTypeError(f"CompileOptions.{name} must be a list of str; found "
                                 f"{type(s).__name__} {s!r}")
    return list(v)


def _check_par(name: str, v: Any) -> dict[str, LoopPar]:
    if not isinstance(v, Mapping):
        raise ParPyTypeError(f"CompileOptions.{name} must be a dict from str to LoopPar, not "
                             f"{type(v).__name__}")
    out: dict[str, LoopPar] = {}
    for k, p in v.items():
        if not isinstance(k, str):
            raise ParPyTypeError(f"CompileOptions.{name}: labels must be str, found "
                                 f"{type(k).__name__} {k!r}")
        if not isinstance(p, LoopPar):
            raise ParPyTypeError(f"CompileOptions.{name}: label {k!r} maps to "
                                 f"{type(p).__name__}, expected a LoopPar (e.g. "
                                 f"parpy.threads(256))")
        out[k] = p
    return out


def _debug_default() -> bool:
    """PARPY_DEBUG=1 (read once, at import) turns the debug mode on for every
    CompileOptions the process makes; an explicit ``debug=False`` still wins."""
    v = os.environ.get("PARPY_DEBUG", "")
    return v not in ("", "0", "false", "False", "no")


_FIELDS: dict[str, tuple[Callable[[str, Any], Any], Any]] = {
    "parallelize": (_check_par, {}),
    "verbose_backend_resolution": (_check_bool, False),
    "debug_print": (_check_bool, False),
    "debug": (_check_bool, _debug_default()),
    "write_output": (_check_bool, False),
    "backend": (_check_backend, CompileBackend.Auto),
    "use_cuda_thread_block_clusters": (_check_bool, False),
    "max_thread_blocks_per_cluster": (_check_blocks, 8),
    "use_cuda_graphs": (_check_bool, False),
    "force_int_size": (_check_size("an integer", ElemSize.is_int), None),
    # Python floats as bfloat16 are not supported (bfloat16 is a storage type: arrays, scalars)
    "force_float_size": (_check_size("a floating-point (F16, F32 or F64)",
                                     lambda e: e.is_float() and e is not ElemSize.BF16), None),
    "includes": (_check_strs, []),
    "libs": (_check_strs, []),
    "extra_flags": (_check_strs, []),
}

# Bumped by parpy.backend when what Auto means may have changed; a stored
# fingerprint of an older generation is recomputed.
_backend_generation = [0]


_FIELD_DOCS = {
    "parallelize": "Dict[str, LoopPar], default {}: how each label runs in parallel (set by "
                   "parpy.par).  A dict: change it in place or assign a new one.",
    "verbose_backend_resolution": "bool, default False: print why each backend is not enabled "
                                  "when Auto is resolved.",
    "debug_print": "bool, default False: print the program after each compiler pass, with "
                   "timings in microseconds since the compilation started.",
    "debug": "bool, default False (True under PARPY_DEBUG=1): compile a checked variant that "
             "raises IndexError for an index out of bounds, and reports write races through "
             "index arrays, integer division by zero and float-to-int conversions out of range, "
             "with the Python line (docs/debugging.md).  Slower; a separate cache entry.",
    "write_output": "bool, default False: when the native compiler fails, keep the generated "
                    "code in a file and name it in the error.",
    "backend": "CompileBackend, default Auto: the backend to compile for.",
    "use_cuda_thread_block_clusters": "bool, default False: Cuda only: reduce across the blocks "
                                      "of a thread-block cluster (distributed shared memory) "
                                      "instead of a second kernel, when they fit one cluster.",
    "max_thread_blocks_per_cluster": "int (a power of two), default 8: the most blocks per "
                                     "cluster; above 8 the non-portable size is requested.",
    "use_cuda_graphs": "bool, default False: Cuda only: capture the launches of the first call "
                       "in a CUDA graph and replay it on later calls.",
    "force_int_size": "ElemSize or None, default None: the integer type of Python ints (I64 "
                      "unless set).",
    "force_float_size": "ElemSize or None, default None: the float type of Python floats (F64 "
                        "unless set).",
    "includes": "list of str, default []: directories added to the include path of the "
                "native compiler.  A list: ``opts.includes += [dir]`` works.",
    "libs": "list of str, default []: directories added to the library path.  A list.",
    "extra_flags": "list of str, default []: extra flags for the native compiler (cc for Cpu, "
                   "nvcc for Cuda).  A list.",
}


class _Field:
    """A validated option: setting it checks the value and drops the key."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.check = _FIELDS[name][0]
        self.__doc__ = _FIELD_DOCS[name]

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return obj._values[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        checked = self.check(self.name, value)
        if value is not obj._values[self.name]:  # `opts.includes += [...]` keeps its list
            obj._values[self.name] = _own(checked, obj)
        obj._key_cache = None


def _own(v: Any, owner: Any) -> Any:
    """The stored form of a field's value: lists and dicts become the
    containers that tell `owner` when they change (always fresh ones, so that
    two options never share one)."""
    if isinstance(v, list):
        return OptionList(v, owner)
    if isinstance(v, dict):
        return OptionDict(v, owner)
    return v


class CompileOptions:
    """Options of one compilation; see the API reference for each field."""

    __slots__ = ("_values", "_key_cache", "_key_gen")

    parallelize = _Field("parallelize")
    verbose_backend_resolution = _Field("verbose_backend_resolution")
    debug_print = _Field("debug_print")
    debug = _Field("debug")
    write_output = _Field("write_output")
    backend = _Field("backend")
    use_cuda_thread_block_clusters = _Field("use_cuda_thread_block_clusters")
    max_thread_blocks_per_cluster = _Field("max_thread_blocks_per_cluster")
    use_cuda_graphs = _Field("use_cuda_graphs")
    force_int_size = _Field("force_int_size")
    force_float_size = _Field("force_float_size")
    includes = _Field("includes")
    libs = _Field("libs")
    extra_flags = _Field("extra_flags")

    def __init__(self, **fields: Any) -> None:
        self._values = {name: _own(d, self) for name, (_, d) in _FIELDS.items()}
        self._key_cache: bytes | None = None
        self._key_gen = -1
        for name, value in fields.items():
            if name not in _FIELDS:
                raise ParPyTypeError(f"CompileOptions has no field {name!r}")
            setattr(self, name, value)

    def copy(self) -> CompileOptions:
        """An independent copy (changing one does not change the other)."""
        c = CompileOptions()
        c._values = {k: _own(v, c) for k, v in self._values.items()}
        return c

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> CompileOptions:
        return self.copy()  # the values are immutable or copied

    def __reduce__(self) -> tuple:
        return (_rebuild_options, (dict(self._values),))

    def _validate(self) -> None:
        """Check the fields that can change in place (their items), as
        setting them would have."""
        for name in ("parallelize", "includes", "libs", "extra_flags"):
            _FIELDS[name][0](name, self._values[name])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompileOptions):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={_show(v)}" for k, v in self._values.items())
        return f"CompileOptions({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _FIELDS and name not in CompileOptions.__slots__:
            raise AttributeError(f"CompileOptions has no field {name!r}")
        object.__setattr__(self, name, value)

    @property
    def _key(self) -> bytes:
        """Fingerprint of every field and of the backend Auto resolves to."""
        key = self._key_cache
        if key is not None and self._key_gen == _backend_generation[0]:
            return key
        from . import backend  # noqa: PLC0415 - backend imports this module

        self._validate()
        gen = _backend_generation[0]
        resolved = backend.resolve(self._values["backend"], False, strict=False)
        text = repr(sorted((k, _show(v)) for k, v in self._values.items())) + resolved.name
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        self._key_cache, self._key_gen = key, gen
        return key


def _rebuild_options(values: dict[str, Any]) -> CompileOptions:
    return CompileOptions(**values)


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {p!r}" for k, p in sorted(v.items())) + "}"
    if isinstance(v, enum.Enum):
        return f"{type(v).__name__}.{v.name}"
    if isinstance(v, list):
        return repr(list(v))
    return repr(v)


def par(p: Mapping[str, LoopPar]) -> CompileOptions:
    """Default CompileOptions with ``parallelize = p``."""
    opts = CompileOptions()
    opts.parallelize = p
    return opts
