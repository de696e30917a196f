"""``parpy.external``: declaring functions implemented in the target language.

A jitted function calls an external in an expression; the generated code
calls ``ext_name`` with the arguments converted to the declared parameter
types, and includes ``header``.  The declaration is checked here, when it is
made: the backend/target constraints of the API, and a parpy type on every
parameter and on the result (the core never guesses the C signature).  The
decorated function stays callable from Python, which is what ``seq=True``
runs.  docs/externals.md has the whole story.
"""
from __future__ import annotations

import ast
import functools
import inspect
import linecache
import sys
from typing import Any, Callable

from ._options import CompileBackend, ElemSize, LoopPar, Target
from ._source import ANNOT_NONE, _dedent, annotation_code
from .errors import (ParPyError, ParPyRuntimeTypeError, ParPyRuntimeValueError, ParPyTypeError,
                     ParPyValueError)
from .types import Pointer

_TYPE_HINT = ("parpy.types.F32 for a scalar or parpy.types.pointer(parpy.types.F32) for an "
              "array")


class External:
    """A Python function standing for an external function ``ext_name``."""

    def __init__(self, fn: Callable[..., Any], ext_name: str, backend: CompileBackend,
                 target: Target, header: str | None, parallelize: LoopPar,
                 param_codes: list[int], ret_code: int) -> None:
        functools.update_wrapper(self, fn)
        self.ext_name = ext_name
        self.backend = backend
        self.target = target
        self.header = header
        self.parallelize = parallelize
        self._param_codes = param_codes
        self._ret_code = ret_code

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (f"<parpy.external {self.__name__} -> {self.ext_name} "  # type: ignore[attr-defined]
                f"({self.backend.name}, {self.target.name})>")


# ---- positions of declaration errors ----------------------------------------

def _located(cls: type[ParPyError], message: str, fn: Callable[..., Any],
             node_of: Callable[[ast.FunctionDef], ast.AST | None]) -> ParPyError:
    """`cls(message)` pointing at the node that `node_of` picks in `fn`'s
    definition, shown like the compiler's errors; without source, just the
    message."""
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or inspect.getfile(fn)
        text, col_off = _dedent(lines)
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError):
        return cls(message)
    fndef = tree.body[0] if tree.body and isinstance(tree.body[0], ast.FunctionDef) else None
    node = (node_of(fndef) if fndef is not None else None) or fndef
    if node is None:
        return cls(message)
    line = max(first, 1) + node.lineno - 1
    col = node.col_offset + col_off
    src = linecache.getline(file, line).rstrip("\n")
    where = f'\n\n  File "{file}", line {line}, column {col + 1}, in {fn.__qualname__}'
    stripped = src.lstrip(" \t")
    if stripped:
        skip = len(src) - len(stripped)
        end = node.end_col_offset + col_off if node.end_lineno == node.lineno else len(src)
        where += f"\n    {stripped}\n    {' ' * max(col - skip, 0)}{'^' * max(end - col, 1)}"
    return cls(message + where, message, file, line, col + 1)


def _at_caller(cls: type[ParPyError], message: str) -> ParPyError:
    """`cls(message)` pointing at the line that called parpy.external (the
    decorator line), for errors in the decorator's own arguments."""
    frame = sys._getframe(3)  # _at_caller <- fail <- external <- the caller
    file, line = frame.f_code.co_filename, frame.f_lineno
    src = linecache.getline(file, line).rstrip("\n")
    stripped = src.lstrip(" \t")
    if not stripped:
        return cls(message)
    col = len(src) - len(stripped)
    where = (f'\n\n  File "{file}", line {line}, column {col + 1}, in {frame.f_code.co_name}'
             f"\n    {stripped}\n    {'^' * len(stripped)}")
    return cls(message + where, message, file, line, col + 1)


def _param_node(name: str) -> Callable[[ast.FunctionDef], ast.AST | None]:
    def pick(fndef: ast.FunctionDef) -> ast.AST | None:
        a = fndef.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if arg is not None and arg.arg == name:
                return arg
        return None
    return pick


def _returns_node(fndef: ast.FunctionDef) -> ast.AST | None:
    return fndef.returns


# ---- the declared signature --------------------------------------------------

def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    """The annotations, string ones (``from __future__ import annotations``)
    evaluated in the function's globals; one that fails stays a string."""
    out = {}
    for name, a in dict(getattr(fn, "__annotations__", None) or {}).items():
        if isinstance(a, str):
            try:
                a = eval(a, getattr(fn, "__globals__", {}))  # noqa: S307 - the user's annotation
            except Exception:  # noqa: BLE001
                pass
        out[name] = a
    return out


def _signature(fn: Callable[..., Any]) -> tuple[list[int], int]:
    """The annotation codes of the parameters and of the result, or a
    ParPyTypeError pointing at what is missing."""
    name = getattr(fn, "__name__", "?")
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as e:
        raise ParPyTypeError(f"external: cannot read the parameters of {name}: {e}") from e
    annots = _annotations(fn)
    codes = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise _located(ParPyRuntimeTypeError,
                           f"external declarations take positional parameters only; '{p.name}' "
                           f"of {name} is not one", fn, _param_node(p.name))
        a = annots.get(p.name, inspect.Parameter.empty)
        code = ANNOT_NONE if a is inspect.Parameter.empty else annotation_code(a)
        if code == ANNOT_NONE:
            what = "has no annotation" if a is inspect.Parameter.empty else \
                f"is annotated with {a!r}, which is not a parpy type"
            raise _located(ParPyRuntimeTypeError,
                           f"external declaration parameters must be annotated with types: "
                           f"parameter '{p.name}' of {name} {what} (use {_TYPE_HINT})",
                           fn, _param_node(p.name))
        codes.append(code)
    ret = annots.get("return", inspect.Parameter.empty)
    if not isinstance(ret, ElemSize):
        what = "has no return annotation" if ret is inspect.Parameter.empty else \
            ("returns a pointer" if isinstance(ret, Pointer)
             else f"has the return annotation {ret!r}, which is not a parpy type")
        raise _located(ParPyRuntimeTypeError,
                       f"an external declaration must annotate its result with a parpy scalar "
                       f"type such as parpy.types.F32: {name} {what}", fn, _returns_node)
    return codes, ret.value


def _header_ok(header: str) -> bool:
    bad = not header.strip() or any(c in header for c in "\n\r\0")
    if header.startswith("<"):
        bad = bad or not header.endswith(">") or len(header) < 3 or ">" in header[1:-1]
    else:
        bad = bad or '"' in header or header.endswith(">")
    return not bad


def external(ext_name: str, backend: CompileBackend, target: Target, header: str | None = None,
             parallelize: LoopPar | None = None) -> Callable[[Callable[..., Any]], External]:
    """Declare the decorated function as ``ext_name``, a function of the
    target language that jitted code may call in expressions.

    - ``backend``: the backend it exists for (Cpu, Cuda or Metal); calling it
      while compiling for another backend is an error.
    - ``target``: ``Target.Device`` or ``Target.Host`` (on Cuda only Device;
      on Cpu both mean callable from the generated C). On a GPU a Device
      external may only be called in parallel code or ``with parpy.gpu``.
    - ``header``: ``"my_ops.h"`` or ``"<math.h>"``, included by the generated
      code; its directory goes into ``CompileOptions.includes``.
    - ``parallelize``: ``parpy.threads(n)`` for a cooperative (Device)
      function that n threads call together with the same arguments.

    Every parameter must be annotated with a parpy type (``parpy.types.F32``,
    or ``parpy.types.pointer(parpy.types.F32)`` for an array) and so must the
    result (a scalar type). The decorated function stays callable from
    Python; ``seq=True`` runs its body. See docs/externals.md."""
    def fail(cls: type[ParPyError], message: str) -> ParPyError:
        return _at_caller(cls, "external: " + message)

    if not isinstance(ext_name, str) or not ext_name.isidentifier() or not ext_name.isascii():
        raise fail(ParPyValueError, f"ext_name must be a C identifier, got {ext_name!r}")
    if not isinstance(backend, CompileBackend) or backend is CompileBackend.Auto:
        raise fail(ParPyTypeError, f"backend must be a concrete parpy.CompileBackend (Cuda, Metal "
                                   f"or Cpu), got {backend!r}")
    if not isinstance(target, Target):
        raise fail(ParPyTypeError, f"target must be a parpy.Target, got {target!r}")
    if header is not None and not isinstance(header, str):
        raise fail(ParPyTypeError, f"header must be a str or None, got {header!r}")
    if header is not None and not _header_ok(header):
        raise fail(ParPyValueError, f"header must name one header file, such as 'my_ops.h' or "
                                    f"'<math.h>', got {header!r}")
    if parallelize is None:
        parallelize = LoopPar()
    if not isinstance(parallelize, LoopPar):
        raise fail(ParPyTypeError, f"parallelize must be a LoopPar, got {parallelize!r}")
    if backend is CompileBackend.Cuda and target is Target.Host:
        raise fail(ParPyRuntimeValueError, "Host externals are not supported in the CUDA backend "
                                           "(all data lives on the GPU); use Target.Device")
    if target is Target.Host and parallelize != LoopPar():
        raise fail(ParPyRuntimeValueError, "only device externals can be parallel (parallel "
                                           "host externals are not supported)")
    if parallelize != LoopPar() and (parallelize.nthreads == 0 or parallelize.reduction):
        raise fail(ParPyValueError, f"parallelize must ask for threads and nothing else (tpb "
                                    f"aside), such as parpy.threads(32); got {parallelize!r}")
    if backend is CompileBackend.Metal and target is Target.Device and header is not None:
        raise fail(ParPyValueError, "Metal device externals must come from the Metal standard "
                                    "library; user headers are not supported")

    def decorate(fn: Callable[..., Any]) -> External:
        if not callable(fn):
            raise ParPyTypeError(f"external decorates a function, not {type(fn).__name__}")
        codes, ret = _signature(fn)
        return External(fn, ext_name, backend, target, header, parallelize, codes, ret)

    return decorate
