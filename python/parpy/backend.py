"""Which backends this machine can use, and what ``CompileBackend.Auto`` means.

- Cpu: this build has the Cpu target and a C compiler (``$CC`` or ``cc``).
- Cuda: this build has a Cuda target, ``nvcc`` is on PATH and a CUDA device
  exists.
- Metal: macOS with a Metal target.

Auto resolves to Cuda if enabled, else Metal if enabled, else Cpu; the
answer is computed once per process (``_reset()`` forgets it).
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys

from . import _core
from ._options import CompileBackend, _backend_generation
from .errors import ParPyRuntimeError, ParPyTypeError

__all__ = ["backends", "is_enabled", "available", "resolve"]

_auto: CompileBackend | None = None


def backends() -> list[CompileBackend]:
    """Every concrete backend (all but Auto)."""
    return [b for b in CompileBackend if b is not CompileBackend.Auto]


def _c_compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    try:
        words = shlex.split(cc)
    except ValueError:
        return None
    return shutil.which(words[0]) if words else None


def _cuda_device() -> bool:
    # Later issue: ask the CUDA driver.  Until the Cuda target exists this is
    # never reached.
    return False


def _why_disabled(backend: CompileBackend) -> str | None:
    """None if `backend` is usable, else the first reason it is not."""
    if backend is CompileBackend.Cpu:
        if not _core.has_target("Cpu"):
            return "this build of ParPy has no Cpu target"
        if _c_compiler() is None:
            cc = os.environ.get("CC")
            return f"the C compiler $CC={cc!r} was not found" if cc else \
                "no C compiler found (install cc or set $CC)"
        return None
    if backend is CompileBackend.Cuda:
        if not _core.has_target("Cuda"):
            return "this build of ParPy has no Cuda target yet"
        if shutil.which("nvcc") is None:
            return "nvcc was not found on PATH"
        if not _cuda_device():
            return "no CUDA device was found"
        return None
    if backend is CompileBackend.Metal:
        if sys.platform != "darwin":
            return "Metal is only available on macOS"
        if not _core.has_target("Metal"):
            return "this build of ParPy has no Metal target"
        return None
    return "Auto is not a concrete backend"


def _check(backend: object) -> CompileBackend:
    if not isinstance(backend, CompileBackend):
        raise ParPyTypeError(f"expected a parpy.CompileBackend, not {type(backend).__name__}")
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


def available() -> list[CompileBackend]:
    """The enabled backends."""
    return [b for b in backends() if is_enabled(b)]


def _resolve_auto(verbose: bool) -> CompileBackend:
    global _auto
    if _auto is not None and not verbose:
        return _auto
    for b in (CompileBackend.Cuda, CompileBackend.Metal):
        if is_enabled(b, verbose):
            chosen = b
            break
    else:
        chosen = CompileBackend.Cpu
        if verbose:
            is_enabled(chosen, verbose)
    if verbose:
        print(f"ParPy: backend Auto resolved to {chosen.name}")
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
    backend = _check(backend)
    chosen = _resolve_auto(verbose) if backend is CompileBackend.Auto else backend
    if strict:
        why = _why_disabled(chosen)
        if why is not None:
            raise ParPyRuntimeError(f"the {chosen.name} backend is not enabled: {why}")
    return chosen


def _reset() -> None:
    """Forget what Auto resolved to (tests; after installing a toolchain)."""
    global _auto
    _auto = None
    _backend_generation[0] += 1
