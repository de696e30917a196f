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
           "uint32", "uint64", "float16", "float32", "float64", "bool_", "inf", "label", "gpu"]

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
