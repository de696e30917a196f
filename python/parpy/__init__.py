"""ParPy: parallel Python loops compiled by a compiler written in C.

    @parpy.jit
    def axpy(a, x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = a * x[i] + y[i]

    axpy(2.0, x, y, len(x), opts=parpy.par({'N': parpy.threads(256)}))
"""
from __future__ import annotations

import os as _os
import typing as _t

from . import _core
from .errors import (ParPyError, ParPyIndexError, ParPyNameError, ParPyOverflowError,
                     ParPyRaceError, ParPyRuntimeError, ParPyRuntimeNameError,
                     ParPyRuntimeTypeError, ParPyRuntimeValueError, ParPyTypeError,
                     ParPyValueError, ParPyZeroDivisionError)

_core.set_error_types(ParPyError, ParPyTypeError, ParPyNameError, ParPyRuntimeError,
                      ParPyValueError, ParPyRuntimeTypeError, ParPyRuntimeValueError,
                      ParPyRuntimeNameError, ParPyIndexError, ParPyZeroDivisionError,
                      ParPyOverflowError, ParPyRaceError)
_core.configure(_os.path.join(_os.path.dirname(__file__), "include"), _core.VERSION)

from . import backend, buffer, operators, types  # noqa: E402
from ._external import external  # noqa: E402
from ._options import (CompileBackend, CompileOptions, ElemSize, LoopPar, Target,  # noqa: E402
                       par, reduce, threads)
from ._resolve import resolve as _resolve_globals  # noqa: E402
from ._source import parse_function as _parse_function  # noqa: E402
from .buffer import sync  # noqa: E402 - 0.1.3 exports it here
from .operators import gpu, label  # noqa: E402

__version__ = _core.VERSION

__all__ = ["jit", "external", "print_compiled", "compile_string", "threads", "reduce", "par",
           "clear_cache", "sync", "gpu", "label", "CompileOptions", "CompileBackend", "LoopPar",
           "ElemSize", "Target", "operators", "types", "backend", "buffer", "ParPyError",
           "ParPyTypeError", "ParPyNameError", "ParPyRuntimeError", "ParPyValueError",
           "ParPyRuntimeTypeError", "ParPyRuntimeValueError", "ParPyRuntimeNameError",
           "ParPyIndexError", "ParPyZeroDivisionError", "ParPyOverflowError", "ParPyRaceError"]


def jit(fn: _t.Callable[..., _t.Any]) -> _t.Any:
    """Compile `fn` for the shapes, dtypes and scalar values of each call.

    The source is parsed now (syntax errors raise here); names are looked up
    at the first call, so helpers defined later in the module are found."""
    if isinstance(fn, _core.JitFunction):
        return fn
    return _core.JitFunction(fn, _parse_function(fn))


def _handle_of(fun: _t.Any) -> _t.Any:
    if isinstance(fun, _core.JitFunction):
        pyfunc, handle = fun.__wrapped__, fun._handle
    else:
        pyfunc, handle = fun, _parse_function(fun)
    if not handle.resolved:
        _resolve_globals(pyfunc, handle)
    return handle


def print_compiled(fun: _t.Callable[..., _t.Any], args: _t.Sequence[_t.Any],
                   opts: CompileOptions | None = None) -> str:
    """The code `fun` compiles to for `args` (nothing is built or run).

    `fun` need not be decorated.  An explicitly chosen backend need not be
    usable on this machine."""
    return _core.print_compiled(_handle_of(fun), list(args), opts)


def compile_string(fun_name: str, code: str, opts: CompileOptions | None = None) -> _t.Any:
    """Build `code` (as printed by print_compiled) and return a callable that
    checks its arguments against what the code was generated for."""
    return _core.compile_string(fun_name, code, opts)


def clear_cache() -> None:
    """Forget every compiled function: the in-memory caches and the disk cache."""
    _core.clear_cache()


del annotations  # the __future__ feature: not part of the API
