"""Errors reported when a function is decorated, as ParPy 0.1.3 did, so that
the traceback points at the definition rather than at the first call.

The compiler checks all of this again when it compiles (it is the authority,
and it sees names defined after the decoration); here we only look at what
can already be decided: a ``with`` over something that is not parpy.gpu, a
``range`` step of literal zero, a call of the function's own name, and a call
of a name that is already bound to something that cannot be called in a
ParPy function.  A name that is not bound yet is left for the first call, as
a helper may be defined later in the module.
"""
from __future__ import annotations

import ast
import linecache
from typing import Any, Callable

import numpy as np

from . import _core, operators
from ._resolve import _MISSING, _classify_builtin, _lookup
from .errors import ParPyError, ParPyRuntimeError

_CALL_HELP = ("only functions decorated with @parpy.jit, parpy operators and math builtins can "
              "be called in a ParPy function")


class _Where:
    """How node positions of the parsed (dedented) text map to the file."""

    def __init__(self, fn: Callable[..., Any], file: str | None, line_off: int,
                 col_off: int, name: str) -> None:
        self.fn, self.file, self.line_off, self.col_off, self.name = \
            fn, file, line_off, col_off, name

    def error(self, cls: type[ParPyError], message: str, node: ast.AST) -> ParPyError:
        """`cls(message)` with the compiler's excerpt of `node`."""
        first = node.lineno + self.line_off
        last = (getattr(node, "end_lineno", None) or node.lineno) + self.line_off
        col = node.col_offset + self.col_off
        end = (getattr(node, "end_col_offset", None) or node.col_offset) + self.col_off
        if not self.file:
            return cls(message)
        lines = "line %d" % first if last == first else "lines %d-%d" % (first, last)
        text = f'{message}\n\n  File "{self.file}", {lines}, column {col + 1}, in {self.name}'
        src = [linecache.getline(self.file, n).rstrip("\n") for n in range(first, last + 1)]
        if src and src[0].strip():
            skip = len(src[0]) - len(src[0].lstrip(" \t"))
            for i, ln in enumerate(src):
                s = min(skip, len(ln) - len(ln.lstrip(" \t")))
                lo = col if i == 0 else len(ln) - len(ln.lstrip(" \t"))
                hi = end if i == len(src) - 1 else len(ln)
                lo, hi = max(lo - s, 0), hi - s
                text += f"\n    {ln[s:]}\n    {' ' * lo}{'^' * max(hi - lo, 1)}"
        return cls(text, message, self.file, first, col + 1)


def _chain(node: ast.AST) -> str | None:
    """`a.b.c` for a Name or an Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _locals(fndef: ast.FunctionDef) -> set[str]:
    a = fndef.args
    names = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
    for node in ast.walk(fndef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _bound(fn: Callable[..., Any], chain: str, local: set[str]) -> Any:
    """What `chain` is bound to now, or _MISSING (a local, or not bound yet)."""
    if chain.split(".")[0] in local:
        return _MISSING
    obj, why = _lookup(fn, chain)
    return _MISSING if why is not None else obj


def _callable_here(obj: Any) -> bool:
    """Whether a ParPy function may call `obj` (the compiler decides the rest)."""
    from ._external import External  # noqa: PLC0415 - avoids an import cycle

    return (_classify_builtin(obj) is not None or isinstance(obj, (_core.JitFunction, External)))


def _is_zero(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and type(node.value) is int and node.value == 0)


def _check_with(w: _Where, node: ast.With, local: set[str]) -> None:
    if len(node.items) != 1:
        return  # the front end has reported it
    expr = node.items[0].context_expr
    chain = _chain(expr)
    obj = _bound(w.fn, chain, local) if chain else None
    if obj is _MISSING:
        return
    if obj is not operators.gpu:
        raise w.error(ParPyRuntimeError, "With statements are only supported for 'parpy.gpu'",
                      expr)


def _check_for(w: _Where, node: ast.For, local: set[str]) -> None:
    it = node.iter
    if (isinstance(it, ast.Call) and len(it.args) == 3 and not it.keywords
            and _chain(it.func) == "range" and _bound(w.fn, "range", local) is range
            and _is_zero(it.args[2])):
        raise w.error(ParPyRuntimeError, "Range step size must be non-zero", it.args[2])


def _check_call(w: _Where, node: ast.Call, local: set[str], own: str | None) -> None:
    chain = _chain(node.func)
    if chain is None:
        return
    if chain == own and own not in local:
        raise w.error(ParPyRuntimeError, f"'{own}' calls itself; recursion is not supported",
                      node)
    obj = _bound(w.fn, chain, local)
    if obj is _MISSING or _callable_here(obj):
        return
    if isinstance(obj, (int, float, bool, np.generic)):
        raise w.error(ParPyRuntimeError, f"Call to unknown function '{chain}': it is a constant; "
                                         f"{_CALL_HELP}", node)
    # The compiler's words for the same error (resolve.c).
    raise w.error(ParPyRuntimeError,
                  f"Call to unknown function '{chain}' (a {type(obj).__name__}): ParPy functions "
                  f"can call @parpy.jit functions, @parpy.external declarations and the supported "
                  f"builtins: {_core.SUPPORTED_BUILTINS}. Rewrite the call with those (for example "
                  f"a loop, or np.where(c, a, b) for a selection), move it out of the jitted "
                  f"function, or declare the C function with @parpy.external", node)


def check(fn: Callable[..., Any], fndef: ast.FunctionDef, file: str | None, line_off: int,
          col_off: int, name: str) -> None:
    """Raise the first error that can be reported at decoration."""
    w = _Where(fn, file, line_off, col_off, name)
    local = _locals(fndef)
    # The function's own name is bound to it once decorated: a global for a
    # module-level function, a cell of the enclosing function for a nested one.
    code = getattr(fn, "__code__", None)
    own = fn.__name__ if (getattr(fn, "__qualname__", None) == fn.__name__ or
                          (code is not None and fn.__name__ in code.co_freevars)) else None
    for node in _in_order(fndef):
        if isinstance(node, ast.With):
            _check_with(w, node, local)
        elif isinstance(node, ast.For):
            _check_for(w, node, local)
        elif isinstance(node, ast.Call):
            _check_call(w, node, local, own)


def _in_order(fndef: ast.FunctionDef) -> list[ast.AST]:
    """The nodes of the body in source order, so the first error reported is
    the first in the text."""
    nodes = [n for stmt in fndef.body for n in ast.walk(stmt) if hasattr(n, "lineno")]
    return sorted(nodes, key=lambda n: (n.lineno, n.col_offset))
