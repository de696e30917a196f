"""The operators a ParPy function may use, as plain Python.

Inside a jitted function the compiler recognises these objects (by identity,
together with the NumPy and ``math`` functions they stand for); when the
function runs in the interpreter (``seq=True``, or undecorated) these
definitions do the work, with NumPy semantics.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

__all__ = ["sum", "prod", "max", "min", "abs", "atan2", "cos", "exp", "log", "sin", "sqrt",
           "tanh", "tan", "floor", "ceil", "int8", "int16", "int32", "int64", "uint8", "uint16",
           "uint32", "uint64", "float16", "float32", "float64", "bool_", "inf", "label", "gpu",
           # the math library
           "log2", "log10", "log1p", "expm1", "exp2", "asin", "acos", "atan", "sinh", "cosh",
           "asinh", "acosh", "atanh", "erf", "erfc", "gamma", "lgamma", "cbrt", "radians",
           "degrees", "deg2rad", "rad2deg", "rint", "hypot", "copysign", "fmod", "fmax", "fmin",
           "trunc", "round", "sign", "square", "reciprocal", "isnan", "isinf", "isfinite",
           "add", "subtract", "multiply", "divide", "power", "pow", "mod", "floor_divide",
           "negative", "logical_and", "logical_or", "logical_not", "clip", "where", "mean",
           "var", "std", "dot", "zeros", "empty"]

def sum(x: Any, axis: int | None = None) -> Any:  # noqa: A001 - mirrors NumPy
    """Sum of the elements of ``x`` (along ``axis``)."""
    return np.sum(x, axis=axis)


def prod(x: Any, axis: int | None = None) -> Any:
    """Product of the elements of ``x`` (along ``axis``)."""
    return np.prod(x, axis=axis)


def max(a: Any, b: Any = None, axis: int | None = None) -> Any:  # noqa: A001
    """``max(x)`` / ``max(x, axis=k)``: a reduction; ``max(a, b)``: elementwise maximum."""
    if b is None:
        return np.max(a, axis=axis)
    return np.maximum(a, b)


def min(a: Any, b: Any = None, axis: int | None = None) -> Any:  # noqa: A001
    """``min(x)`` / ``min(x, axis=k)``: a reduction; ``min(a, b)``: elementwise minimum."""
    if b is None:
        return np.min(a, axis=axis)
    return np.minimum(a, b)


abs = np.absolute  # noqa: A001
atan2 = np.arctan2
cos = np.cos
exp = np.exp
log = np.log
sin = np.sin
sqrt = np.sqrt
tanh = np.tanh
tan = np.tan
floor = np.floor
ceil = np.ceil

log2 = np.log2
log10 = np.log10
log1p = np.log1p
expm1 = np.expm1
exp2 = np.exp2
asin = np.arcsin
acos = np.arccos
atan = np.arctan
sinh = np.sinh
cosh = np.cosh
asinh = np.arcsinh
acosh = np.arccosh
atanh = np.arctanh
cbrt = np.cbrt
radians = np.radians
degrees = np.degrees
deg2rad = np.deg2rad
rad2deg = np.rad2deg
rint = np.rint
hypot = np.hypot
copysign = np.copysign
fmod = np.fmod
fmax = np.fmax
fmin = np.fmin
trunc = np.trunc
round = np.round  # noqa: A001 - NumPy's: half to even, same type
sign = np.sign
square = np.square
reciprocal = np.reciprocal
isnan = np.isnan
isinf = np.isinf
isfinite = np.isfinite
add = np.add
subtract = np.subtract
multiply = np.multiply
divide = np.divide
power = np.power
pow = np.power  # noqa: A001
mod = np.mod
floor_divide = np.floor_divide
negative = np.negative
logical_and = np.logical_and
logical_or = np.logical_or
logical_not = np.logical_not
clip = np.clip
where = np.where
mean = np.mean
var = np.var
std = np.std
dot = np.dot
zeros = np.zeros
empty = np.empty


def _float_ufunc(fn: Any, name: str, doc: str) -> Any:
    """An elementwise float function NumPy lacks (math.erf, ...), typed as
    NumPy's float ufuncs: the float type of the operand (float16 for int8)."""

    def f(x: Any) -> Any:
        a = np.asarray(x)
        dt = np.sin(np.zeros((), a.dtype)).dtype
        r = np.vectorize(fn, otypes=[np.float64])(a).astype(dt)
        return r[()] if r.ndim == 0 else r

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


erf = _float_ufunc(math.erf, "erf", "The error function, elementwise.")
erfc = _float_ufunc(math.erfc, "erfc", "The complementary error function, elementwise.")
gamma = _float_ufunc(math.gamma, "gamma", "The gamma function, elementwise.")
lgamma = _float_ufunc(math.lgamma, "lgamma",
                      "The natural logarithm of the absolute value of the gamma function.")

int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
uint8 = np.uint8
uint16 = np.uint16
uint32 = np.uint32
uint64 = np.uint64
float16 = np.float16
float32 = np.float32
float64 = np.float64
bool_ = np.bool_

inf = math.inf


def label(name: str) -> None:
    """Name the next statement, so that ``opts.parallelize[name]`` applies to it."""


class _Gpu(contextlib.nullcontext):
    """``with parpy.gpu:`` runs its body on the GPU, although it is sequential
    code (the host cannot reach GPU memory).  On the Cpu backend, and in the
    interpreter, it has no effect."""

    def __repr__(self) -> str:
        return "parpy.gpu"


gpu = _Gpu()


def __getattr__(name: str) -> Any:
    """``bfloat16``: ml_dtypes.bfloat16, NumPy's bfloat16 (an optional
    dependency), as a conversion ``bfloat16(x)`` like ``float16(x)``."""
    if name == "bfloat16":
        from ._options import ElemSize  # noqa: PLC0415 - avoids an import cycle

        try:
            return ElemSize.BF16.to_numpy()
        except ValueError as e:
            raise AttributeError(str(e)) from None
    raise AttributeError(f"module 'parpy.operators' has no attribute {name!r}")
