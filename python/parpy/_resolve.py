"""Looking up the free names of a jitted function.

The front end records every free name and attribute chain (``N``,
``np.exp``, ``parpy.operators.sum``).  Before the first compilation we
evaluate each one in the function's closure, then its globals, then
builtins, and tell the core what it is.  Builtins are recognised by
identity, so ``np.exp`` and ``parpy.operators.exp`` are the same builtin
while a user's own function named ``exp`` is not.  Constants are frozen at
that moment, as in Numba.
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Callable

import numpy as np

from . import _core, operators
from ._options import ElemSize, _bfloat16

_MISSING = object()


def _build_table() -> dict[int, tuple[Any, tuple]]:
    B = _core.BUILTINS
    table: dict[int, tuple[Any, tuple]] = {}

    def add(obj: Any, name: str, elem: int = -1, weak: bool = False) -> None:
        table.setdefault(id(obj), (obj, ("builtin", B[name], elem, weak)))

    for obj, name in [
        (builtins.range, "range"), (builtins.len, "len"),
        (operators.label, "label"), (operators.gpu, "gpu"),
        (operators.sum, "sum"), (operators.prod, "prod"), (operators.max, "max"),
        (operators.min, "min"),
        (np.exp, "exp"), (np.log, "log"), (np.sin, "sin"), (np.cos, "cos"), (np.tan, "tan"),
        (np.sqrt, "sqrt"), (np.tanh, "tanh"), (np.arctan2, "atan2"), (np.absolute, "abs"),
        (np.floor, "floor"), (np.ceil, "ceil"), (np.maximum, "maximum"),
        (np.minimum, "minimum"), (np.sum, "sum"), (np.prod, "prod"), (np.max, "max"),
        (np.amax, "max"), (np.min, "min"), (np.amin, "min"),
        (builtins.pow, "power"), (builtins.print, "print"), (builtins.divmod, "divmod"),
        (np.log2, "log2"), (np.log10, "log10"), (np.log1p, "log1p"), (np.expm1, "expm1"),
        (np.exp2, "exp2"), (np.arcsin, "asin"), (np.arccos, "acos"), (np.arctan, "atan"),
        (np.sinh, "sinh"), (np.cosh, "cosh"), (np.arcsinh, "asinh"), (np.arccosh, "acosh"),
        (np.arctanh, "atanh"), (np.cbrt, "cbrt"), (np.radians, "radians"),
        (np.deg2rad, "radians"), (np.degrees, "degrees"), (np.rad2deg, "degrees"),
        (np.rint, "rint"), (np.hypot, "hypot"), (np.copysign, "copysign"), (np.fmod, "fmod"),
        (np.fmax, "fmax"), (np.fmin, "fmin"), (np.trunc, "trunc"), (np.round, "round"),
        (np.around, "round"), (np.sign, "sign"), (np.square, "square"),
        (np.reciprocal, "reciprocal"), (np.isnan, "isnan"), (np.isinf, "isinf"),
        (np.isfinite, "isfinite"), (np.add, "add"), (np.subtract, "subtract"),
        (np.multiply, "multiply"), (np.divide, "divide"), (np.true_divide, "divide"),
        (np.power, "power"), (np.mod, "mod"), (np.remainder, "mod"),
        (np.floor_divide, "floor_divide"), (np.negative, "negative"),
        (np.logical_and, "logical_and"), (np.logical_or, "logical_or"),
        (np.logical_not, "logical_not"), (np.clip, "clip"), (np.where, "where"),
        (np.divmod, "divmod"), (np.mean, "mean"), (np.var, "var"), (np.std, "std"),
        (np.dot, "dot"), (np.zeros, "zeros"), (np.empty, "empty"), (operators.erf, "erf"), (operators.erfc, "erfc"),
        (operators.gamma, "gamma"), (operators.lgamma, "lgamma"),
    ]:
        add(obj, name)
    # Python's max/min compare as Python does (a NaN second argument loses):
    # `weak` marks them, as it marks the math module's functions.
    # So do abs (a Python int stays one) and sum (adds to the Python int 0
    # one element at a time: in the elements' type, NEP 50).
    add(builtins.max, "max", weak=True)
    add(builtins.min, "min", weak=True)
    add(builtins.abs, "abs", weak=True)
    add(builtins.sum, "sum", weak=True)
    # Python's int()/float()/bool() return Python (weak) scalars.
    for obj, name in [(builtins.int, "int"), (builtins.float, "float"), (builtins.bool, "bool")]:
        add(obj, name, weak=True)
    # math functions return Python floats (floor/ceil: Python ints).
    for obj, name in [
        (math.exp, "exp"), (math.log, "log"), (math.sin, "sin"), (math.cos, "cos"),
        (math.tan, "tan"), (math.sqrt, "sqrt"), (math.tanh, "tanh"), (math.atan2, "atan2"),
        (math.floor, "floor"), (math.ceil, "ceil"), (math.fabs, "abs"),
        (math.log2, "log2"), (math.log10, "log10"), (math.log1p, "log1p"),
        (math.expm1, "expm1"), (math.asin, "asin"), (math.acos, "acos"), (math.atan, "atan"),
        (math.sinh, "sinh"), (math.cosh, "cosh"), (math.asinh, "asinh"), (math.acosh, "acosh"),
        (math.atanh, "atanh"), (math.erf, "erf"), (math.erfc, "erfc"), (math.gamma, "gamma"),
        (math.lgamma, "lgamma"), (math.radians, "radians"), (math.degrees, "degrees"),
        (math.hypot, "hypot"), (math.copysign, "copysign"), (math.fmod, "fmod"),
        (math.pow, "power"), (math.trunc, "trunc"), (builtins.round, "round"),
        (math.isnan, "isnan"), (math.isinf, "isinf"), (math.isfinite, "isfinite"),
    ]:
        add(obj, name, weak=True)
    for name in ("exp2", "cbrt"):  # Python 3.11 and later
        if hasattr(math, name):
            add(getattr(math, name), name, weak=True)
    # Conversions: NumPy scalar types (parpy.operators re-exports them).
    for e in ElemSize:
        if e is not ElemSize.BF16:
            add(e.to_numpy(), "convert", e.value)
    if _bfloat16() is not None:  # ml_dtypes.bfloat16(x), where ml_dtypes is installed
        add(_bfloat16(), "convert", ElemSize.BF16.value)
    return table


_table: dict[int, tuple[Any, tuple]] | None = None


def _classify_builtin(obj: Any) -> tuple | None:
    global _table
    if _table is None:
        _table = _build_table()
    hit = _table.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else None


_NP_ELEMS = {np.dtype(e.to_numpy()): e for e in ElemSize if e is not ElemSize.BF16}
_I64 = (-(2**63), 2**63 - 1)


def _extern_info(obj: Any) -> tuple:
    # The declaration checked the signature and kept its annotation codes.
    lp = obj.parallelize
    return ("extern", obj.__name__, obj.ext_name, obj.backend.value,
            obj.target.name == "Device", obj.header,
            (lp.nthreads, lp.reduction, lp.threads_per_block),
            list(obj._param_codes), obj._ret_code)


def classify(obj: Any, pending: set[int]) -> tuple:
    """What `obj` is, in the form FuncHandle.set_globals expects."""
    b = _classify_builtin(obj)
    if b is not None:
        return b
    if isinstance(obj, _core.JitFunction):
        handle = obj._handle
        if not handle.resolved and id(handle) not in pending:
            _resolve(obj.__wrapped__, handle, pending)
        return ("func", handle)
    from ._external import External  # noqa: PLC0415 - avoids an import cycle

    if isinstance(obj, External):
        return _extern_info(obj)
    if isinstance(obj, ElemSize):
        return ("type", obj.value)
    if isinstance(obj, np.generic):
        e = _NP_ELEMS.get(obj.dtype)
        if obj.dtype.kind == "V" and obj.dtype.name == "bfloat16":  # ml_dtypes'
            e = ElemSize.BF16
        if e is None:
            return ("other", f"numpy.{type(obj).__name__}")
        return ("const", obj.item(), e.value)
    if isinstance(obj, bool):
        return ("const", obj)
    if isinstance(obj, int):
        v = int(obj)
        if not _I64[0] <= v <= _I64[1]:
            return ("other", "int too large for 64 bits")
        return ("const", v)
    if isinstance(obj, float):
        return ("const", float(obj))
    return ("other", type(obj).__name__)


def _lookup(fn: Callable[..., Any], chain: str) -> tuple[Any, str | None]:
    """Evaluate a dotted chain; (object, None) or (None, why it failed)."""
    first, *rest = chain.split(".")
    obj: Any = _MISSING
    code = getattr(fn, "__code__", None)
    if code is not None and fn.__closure__ and first in code.co_freevars:
        cell = fn.__closure__[code.co_freevars.index(first)]
        try:
            obj = cell.cell_contents
        except ValueError:
            return None, f"free variable '{first}' is referenced before it is assigned"
    if obj is _MISSING:
        obj = getattr(fn, "__globals__", {}).get(first, _MISSING)
    if obj is _MISSING:
        obj = getattr(builtins, first, _MISSING)
    if obj is _MISSING:
        return None, f"name '{first}' is not defined"
    for i, attr in enumerate(rest):
        try:
            obj = getattr(obj, attr)
        except AttributeError as e:
            return None, str(e) or f"'{'.'.join([first, *rest[:i]])}' has no attribute '{attr}'"
        except Exception as e:  # noqa: BLE001 - a property may raise anything
            return None, f"evaluating {chain} raised {type(e).__name__}: {e}"
    return obj, None


def _resolve(fn: Callable[..., Any], handle: Any, pending: set[int]) -> None:
    pending.add(id(handle))
    results = []
    for chain in handle.globals():
        obj, why = _lookup(fn, chain)
        results.append(("undefined", why) if why is not None else classify(obj, pending))
    handle.set_globals(results)


def resolve(fn: Callable[..., Any], handle: Any) -> None:
    """Resolve the free names of `handle` (parsed from `fn`) and of every
    jitted function it refers to."""
    _resolve(fn, handle, set())
