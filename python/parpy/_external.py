"""``parpy.external``: declaring functions implemented in the target language.

Using externals inside jitted code is a later issue; the declaration and its
checks exist now, and the decorated function stays callable from Python.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ._options import CompileBackend, LoopPar, Target
from .errors import ParPyTypeError, ParPyValueError


class External:
    """A Python function standing for an external function ``ext_name``."""

    def __init__(self, fn: Callable[..., Any], ext_name: str, backend: CompileBackend,
                 target: Target, header: str | None, parallelize: LoopPar) -> None:
        functools.update_wrapper(self, fn)
        self.ext_name = ext_name
        self.backend = backend
        self.target = target
        self.header = header
        self.parallelize = parallelize

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (f"<parpy.external {self.__name__} -> {self.ext_name} "  # type: ignore[attr-defined]
                f"({self.backend.name}, {self.target.name})>")


def external(ext_name: str, backend: CompileBackend, target: Target, header: str | None = None,
             parallelize: LoopPar | None = None) -> Callable[[Callable[..., Any]], External]:
    """Declare the decorated function as the external function ``ext_name``."""
    if not isinstance(ext_name, str) or not ext_name.isidentifier():
        raise ParPyValueError(f"external: ext_name must be a C identifier, got {ext_name!r}")
    if not isinstance(backend, CompileBackend) or backend is CompileBackend.Auto:
        raise ParPyTypeError("external: backend must be a concrete parpy.CompileBackend "
                             f"(Cuda, Metal or Cpu), got {backend!r}")
    if not isinstance(target, Target):
        raise ParPyTypeError(f"external: target must be a parpy.Target, got {target!r}")
    if header is not None and not isinstance(header, str):
        raise ParPyTypeError(f"external: header must be a str or None, got {header!r}")
    if parallelize is None:
        parallelize = LoopPar()
    if not isinstance(parallelize, LoopPar):
        raise ParPyTypeError(f"external: parallelize must be a LoopPar, got {parallelize!r}")
    if backend is CompileBackend.Cuda and target is Target.Host:
        raise ParPyValueError("external: host externals are not supported by the Cuda backend "
                              "(all data lives on the GPU); use Target.Device")
    if target is Target.Host and parallelize != LoopPar():
        raise ParPyValueError("external: only device externals can be parallel")
    if backend is CompileBackend.Metal and target is Target.Device and header is not None:
        raise ParPyValueError("external: Metal device externals must come from the Metal "
                              "standard library; user headers are not supported")

    def decorate(fn: Callable[..., Any]) -> External:
        if not callable(fn):
            raise ParPyTypeError(f"external decorates a function, not {type(fn).__name__}")
        return External(fn, ext_name, backend, target, header, parallelize)

    return decorate
