"""Which backends this machine can use, and what ``CompileBackend.Auto`` means.

- Cpu: this build has the Cpu target and a C compiler (``$CC`` or ``cc``).
- Cuda: this build has a Cuda target, ``nvcc`` is on PATH, and the CUDA
  runtime (loaded by the C core with dlopen, so nothing here needs CUDA to
  import) finds a device.
- Metal: this build has the Metal target, and either macOS with
  ``clang++`` and a Metal device (MTLCreateSystemDefaultDevice finds one;
  the kernels run on it) or elsewhere a C++ compiler (``$CXX`` or ``c++``):
  off macOS the Metal code runs in ParPy's simulator of the Metal grid on
  the CPU, which exists to test the Metal code path (docs/metal.md).

Auto resolves to Cuda if enabled, else Metal if enabled on macOS, else Cpu
(never to the simulator); the answer is computed once per process
(``_reset()`` forgets it).
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Any, Callable, Iterator

from . import _core
from ._options import CompileBackend, _backend_generation
from .errors import ParPyRuntimeError, ParPyTypeError

__all__ = ["backends", "is_enabled", "available", "resolve"]

_auto: CompileBackend | None = None


class _BackendList(list):
    """A list of backends recomputed whenever it is read, so that
    ``available`` notices a GPU (or a compiler) that appears after import.
    0.1.3 code uses both as lists (``for b in parpy.backend.backends``,
    ``pytest.mark.parametrize('backend', parpy.backend.backends)``); calling
    one (our earlier spelling) returns a plain list.  Read-only."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[], list[CompileBackend]]) -> None:
        super().__init__()
        self._compute = compute

    def _fresh(self) -> _BackendList:
        # The list's own storage is refreshed too, for C code that reads a
        # list subclass without calling its methods.
        list.__setitem__(self, slice(None), self._compute())
        return self

    def __call__(self) -> list[CompileBackend]:
        return list(self._fresh())

    def __iter__(self) -> Iterator[CompileBackend]:
        return list.__iter__(self._fresh())

    def __len__(self) -> int:
        return list.__len__(self._fresh())

    def __bool__(self) -> bool:
        return list.__len__(self._fresh()) > 0

    def __contains__(self, b: object) -> bool:
        return list.__contains__(self._fresh(), b)

    def __getitem__(self, i: Any) -> Any:
        return list.__getitem__(self._fresh(), i)

    def __eq__(self, other: object) -> bool:
        return list.__eq__(self._fresh(), other)

    def __ne__(self, other: object) -> bool:
        return list.__ne__(self._fresh(), other)

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> list[CompileBackend]:
        return list(self._fresh()) + other

    def __radd__(self, other: Any) -> list[CompileBackend]:
        return other + list(self._fresh())

    def copy(self) -> list[CompileBackend]:
        return list(self._fresh())

    def index(self, *args: Any) -> int:
        return list.index(self._fresh(), *args)

    def count(self, b: object) -> int:
        return list.count(self._fresh(), b)

    def __repr__(self) -> str:
        return repr(list(self._fresh()))

    def __reduce__(self) -> tuple:
        return (list, (list(self._fresh()),))

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("parpy.backend lists are computed; copy one with list(...) to change it")

    append = extend = insert = remove = pop = clear = sort = reverse = _read_only
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only  # type: ignore[assignment]


def _concrete_backends() -> list[CompileBackend]:
    return [b for b in CompileBackend if b is not CompileBackend.Auto]


class _AllBackends(_BackendList):
    """Every concrete backend (all but Auto): ``[Cuda, Metal, Cpu]``, as a
    list (calling it, ``backends()``, returns a plain copy)."""

    __slots__ = ()


backends = _AllBackends(_concrete_backends)


def _c_compiler(var: str = "CC", default: str = "cc") -> str | None:
    cc = os.environ.get(var) or default
    try:
        words = shlex.split(cc)
    except ValueError:
        return None
    return shutil.which(words[0]) if words else None


def _has_target(name: str) -> bool:
    """Whether this build has a target for the backend `name` (tests replace it)."""
    return _core.has_target(name)


def _cuda_reason() -> str | None:
    if not _has_target("Cuda"):
        return "this build of ParPy has no Cuda target yet"
    if os.environ.get("PARPY_CUDA_SIM", "0") not in ("", "0"):
        # the CPU simulator (docs/gpu.md): the C++ compiler instead of nvcc
        return None if _c_compiler("CXX", "c++") else "PARPY_CUDA_SIM: no C++ compiler (c++ or $CXX)"
    if shutil.which("nvcc") is None:
        return "nvcc (the CUDA compiler) was not found on PATH"
    usable, why = _core.cuda_usable()  # cached by the core after the first call
    return None if usable else why


def _on_macos() -> bool:
    """Whether this is macOS, where Metal code runs on the device (tests
    replace it to check the decisions of a Mac on Linux)."""
    return sys.platform == "darwin"


_metal_device_found: bool | None = None


def _probe_metal_device() -> bool:
    """Whether Metal has a device: MTLCreateSystemDefaultDevice, a C
    function of the Metal framework, returns nil on a Mac without one.  The
    device object (one per process) is kept, never released."""
    import ctypes  # noqa: PLC0415 - only on macOS

    try:
        metal = ctypes.CDLL("/System/Library/Frameworks/Metal.framework/Metal")
        create = metal.MTLCreateSystemDefaultDevice
    except (OSError, AttributeError):
        return False
    create.restype = ctypes.c_void_p
    create.argtypes = []
    return bool(create())


def _metal_device() -> bool:
    """_probe_metal_device, asked once per process (tests replace the probe)."""
    global _metal_device_found
    if _metal_device_found is None:
        _metal_device_found = bool(_probe_metal_device())
    return _metal_device_found


def _describe(backend: CompileBackend) -> str:
    """The backend's name, with the GPU for Cuda."""
    info = _core.cuda_info() if backend is CompileBackend.Cuda else None
    if info is None:
        return backend.name
    return (f"{backend.name} ({info['name']}, {info['arch']}, CUDA runtime "
            f"{info['runtime_version']}, driver {info['driver_version']})")


def _why_disabled(backend: CompileBackend) -> str | None:
    """None if `backend` is usable, else the first reason it is not."""
    if backend is CompileBackend.Cpu:
        if not _has_target("Cpu"):
            return "this build of ParPy has no Cpu target"
        if _c_compiler() is None:
            cc = os.environ.get("CC")
            return f"the C compiler $CC={cc!r} was not found" if cc else \
                "no C compiler found (install cc or set $CC)"
        return None
    if backend is CompileBackend.Cuda:
        return _cuda_reason()
    if backend is CompileBackend.Metal:
        if not _has_target("Metal"):
            return "this build of ParPy has no Metal target"
        if _on_macos():
            if not shutil.which("clang++"):
                return "clang++ was not found (install the Xcode command line tools)"
            return None if _metal_device() else "this Mac has no Metal device"
        if _c_compiler("CXX", "c++") is None:
            cxx = os.environ.get("CXX")
            return f"the C++ compiler $CXX={cxx!r} (for the Metal simulator) was not found" \
                if cxx else "no C++ compiler found for the Metal simulator (install c++ or set $CXX)"
        return None
    return "Auto is not a concrete backend"


def _check(backend: object, what: str = "backend") -> CompileBackend:
    if not isinstance(backend, CompileBackend):
        raise ParPyTypeError(f"{what}: expected a parpy.CompileBackend, not "
                             f"{type(backend).__name__}")
    return backend


def is_enabled(backend: CompileBackend, verbose: bool = False) -> bool:
    """Whether `backend` can be used on this machine."""
    backend = _check(backend)
    if backend is CompileBackend.Auto:
        return True
    why = _why_disabled(backend)
    if why is not None and verbose:
        print(f"ParPy: backend {backend.name} is not enabled: {why}")
    return why is None


def _enabled_backends() -> list[CompileBackend]:
    return [b for b in _concrete_backends() if is_enabled(b)]


class _AvailableBackends(_BackendList):
    """The backends enabled on this machine, as a list recomputed each time
    it is read (so a GPU found after import shows); ``available()`` returns
    a plain copy."""

    __slots__ = ()


available = _AvailableBackends(_enabled_backends)


def _resolve_auto(verbose: bool) -> CompileBackend:
    global _auto
    if _auto is not None and not verbose:
        return _auto
    for b in (CompileBackend.Cuda, CompileBackend.Metal):
        if b is CompileBackend.Metal and not _on_macos():
            if verbose:
                print("ParPy: backend Metal is not enabled: Auto does not choose it off "
                      "macOS, where it is only ParPy's simulator (ask for CompileBackend.Metal)")
            continue
        if is_enabled(b, verbose):
            chosen = b
            break
    else:
        chosen = CompileBackend.Cpu
        if verbose:
            is_enabled(chosen, verbose)
    if verbose:
        print(f"ParPy: backend Auto resolved to {_describe(chosen)}")
    if _auto is not None and _auto is not chosen:
        _backend_generation[0] += 1  # stored option fingerprints are stale
    _auto = chosen
    return chosen


def resolve(backend: CompileBackend, verbose: bool = False, *,
            strict: bool = True) -> CompileBackend:
    """The concrete backend `backend` stands for.

    With `strict` (when code is going to be built and run) a backend that is
    not enabled raises ParPyRuntimeError with the reason; print_compiled
    resolves non-strictly, so that code for any backend can be printed.
    """
    backend = _check(backend, "opts.backend")
    chosen = _resolve_auto(verbose) if backend is CompileBackend.Auto else backend
    if strict:
        why = _why_disabled(chosen)
        if why is not None:
            raise ParPyRuntimeError(f"the {chosen.name} backend is not enabled: {why}")
    return chosen


def _reset() -> None:
    """Forget what Auto resolved to and whether Metal has a device (tests;
    after installing a toolchain)."""
    global _auto, _metal_device_found
    _auto = None
    _metal_device_found = None
    _backend_generation[0] += 1
