"""Reading a Python function's source and handing its tree to the front end."""
from __future__ import annotations

import ast
import inspect
import linecache
from typing import Any, Callable

from . import _core
from ._options import ElemSize
from .errors import ParPyRuntimeError, ParPyTypeError
from .types import Pointer

ANNOT_NONE = -1


def annotation_code(obj: Any) -> int:
    """The front end's code for an annotation: an ElemSize, a pointer, or none.

    Other annotations (``int``, ``np.ndarray``, ...) are ignored: the call's
    arguments decide the types of a jitted function's parameters."""
    if isinstance(obj, ElemSize):
        return obj.value
    if isinstance(obj, Pointer):
        return _core.ANNOT_POINTER | obj.elem.value
    return ANNOT_NONE


def annotation_codes(fn: Callable[..., Any]) -> tuple[dict[str, int], int]:
    """Codes of the parameter annotations (by name) and of the return annotation.

    String annotations (``from __future__ import annotations``) are evaluated
    in the function's globals; one that fails to evaluate is ignored."""
    try:
        annots = dict(getattr(fn, "__annotations__", None) or {})
    except Exception:  # noqa: BLE001 - a broken __annotations__ means none
        annots = {}
    codes: dict[str, int] = {}
    ret = ANNOT_NONE
    for name, a in annots.items():
        if isinstance(a, str):
            try:
                a = eval(a, getattr(fn, "__globals__", {}))  # noqa: S307 - user's own annotation
            except Exception:  # noqa: BLE001
                continue
        code = annotation_code(a)
        if name == "return":
            ret = code
        elif code != ANNOT_NONE:
            codes[name] = code
    return codes, ret


def _dedent(lines: list[str]) -> tuple[str, int]:
    """Remove the indentation of the first line (a decorator or the def) from
    every line; return the text and that width, which the front end adds back
    to every column.  Blank and comment lines indented less (a comment at
    column 0 inside a method) become empty, so they cannot break parsing."""
    first = lines[0] if lines else ""
    prefix = first[: len(first) - len(first.lstrip(" \t"))]
    w = len(prefix)
    out = []
    for ln in lines:
        if ln.startswith(prefix):
            out.append(ln[w:])
        elif not ln.strip() or ln.lstrip().startswith("#"):
            out.append("\n")
        else:  # inside a multi-line string: keep it parseable
            out.append(ln.lstrip(" \t"))
    return "".join(out), w


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def parse_function(fn: Callable[..., Any], early: bool = True) -> Any:
    """Parse ``fn`` into a ``_core.FuncHandle`` (raises a ParPyError; with
    `early`, also for the errors _early can already see)."""
    if not inspect.isfunction(fn):
        raise ParPyTypeError(f"parpy.jit expects a function defined with def, not "
                             f"{type(fn).__name__}")
    if fn.__name__ == "<lambda>":
        raise ParPyTypeError("parpy.jit cannot compile a lambda; define the function with def")
    name = _name(fn)
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise ParPyRuntimeError(
            f"cannot read the source of {name}: functions defined in the interactive "
            f"interpreter or with exec cannot be compiled; put it in a file") from e
    text, col_off = _dedent(lines)
    line_off = max(first, 1) - 1
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ParPyRuntimeError(f"cannot parse the source of {name}: {e}") from e
    fndef = tree.body[0] if tree.body else None
    if isinstance(fndef, ast.AsyncFunctionDef):
        raise ParPyTypeError(f"parpy.jit cannot compile the async function {name}")
    if not isinstance(fndef, ast.FunctionDef):
        raise ParPyTypeError(f"parpy.jit expects a function defined with def; the source of "
                             f"{name} does not start with one")
    file = inspect.getsourcefile(fn) or inspect.getfile(fn)
    whole = linecache.getlines(file) if file else []
    params, ret = annotation_codes(fn)
    handle = _core.parse(fndef, file, "".join(whole) if whole else None, line_off, col_off, name,
                         params, ret)
    if early:
        from . import _early  # noqa: PLC0415 - _early imports _resolve, which imports us

        _early.check(fn, fndef, file, line_off, col_off, name)
    return handle
