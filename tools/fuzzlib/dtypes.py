"""Types.  A type is a dtype name (a strong NumPy value) or py_bool / py_int /
py_float (a weak Python scalar).  The result type of an operation is found
by doing it on NumPy: on sample values of the operand types -- the
interpreter is the specification, so the generator asks it."""
import warnings

import numpy as np

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]
DTYPES = ["bool"] + INTS + FLOATS
PYTYPES = ["py_bool", "py_int", "py_float"]

ANNOT = {"bool": "Bool", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
         "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64",
         "float16": "F16", "float32": "F32", "float64": "F64"}


def sample(t):
    if t == "py_bool":
        return True
    if t == "py_int":
        return 1
    if t == "py_float":
        return 1.0
    return np.dtype(t).type(1)


def type_of(v):
    if isinstance(v, np.generic):   # before float: np.float64 is a float
        return v.dtype.name if v.dtype.name in DTYPES else None
    if isinstance(v, bool):
        return "py_bool"
    if isinstance(v, int):
        return "py_int"
    if isinstance(v, float):
        return "py_float"
    if isinstance(v, np.generic) and v.dtype.name in DTYPES:
        return v.dtype.name
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.name in DTYPES:
        return v.dtype.name
    return None


def result_type(fn, *types):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return type_of(fn(*[sample(t) for t in types]))
    except Exception:
        return None


def kind(t):
    if t in ("py_bool", "bool"):
        return "b"
    if t == "py_int":
        return "i"
    if t == "py_float":
        return "f"
    return np.dtype(t).kind


def weak(t):
    return t.startswith("py_")


def bits(t):
    return 64 if weak(t) else np.dtype(t).itemsize * 8


BINOPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
    "**": lambda a, b: a ** b, "&": lambda a, b: a & b, "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b, "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b,
}
CMPOPS = ["<", "<=", ">", ">=", "==", "!="]
# one-argument functions with NumPy, parpy.operators and (where it has them)
# math spellings; MATH_ONLY exist in math and parpy.operators but not NumPy
MATH1 = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "sin",
         "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
         "atanh", "radians", "degrees", "deg2rad", "rad2deg", "rint", "floor", "ceil", "trunc",
         "sign", "square", "reciprocal", "isnan", "isinf", "isfinite", "round"]
MATH_ONLY = ["erf", "erfc", "gamma", "lgamma"]
MATH_INT = ("floor", "ceil", "trunc")       # math.floor & co return Python ints
MATH_BOOL = ("isnan", "isinf", "isfinite")  # and math.isnan & co bools
MATH2 = ["atan2", "hypot", "copysign", "fmod", "fmax", "fmin"]


def kind_ok(want, kinds):
    return any(k in want for k in kinds)

