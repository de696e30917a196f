#!/usr/bin/env python3
"""Differential fuzzer: random well-typed ParPy programs, interpreted vs compiled.

    python3 tools/fuzz.py --count 1000 --seed 1 --jobs 2 --out /tmp/fuzz-out
    python3 tools/fuzz.py --count 200 --ubsan             # generated C under UBSan
    python3 tools/fuzz.py --backend Cuda --count 2000     # on a machine with a GPU

Each program is a Python module (jitted kernel, helpers, a `make_args(seed)`
and a small runner) written to a work directory and run in a worker
subprocess: first in the interpreter (`kernel(*args, seq=True)`), then
compiled, with write-only outputs poisoned (NaN / 0xA5 bytes / True).  The
outcome is one of

    match      same dtypes, shapes and values (floats: see `compare`)
    mismatch   compiled and interpreted results differ
    rejected   compilation raised a ParPyError (allowed, counted)
    invalid    the interpreter itself raised (the program is not valid
               Python/NumPy for these inputs, e.g. an int out of a dtype's range)
    ub-cast    a mismatch in a program that converts an out-of-range float to
               an integer (NumPy warns "invalid value encountered in cast"):
               undefined territory, issue 9 item 9, counted separately
    error      the compiled call raised something that is not a ParPyError
    crash      the worker process died (signal) or hung past --timeout
    ubsan      (--ubsan) the compiled code printed an UBSan "runtime error"
    compiled   (--compile-only / --print-only) the code printed (and built)

Every program that is not match/rejected/invalid is copied to --out as a
standalone reproducer: `python3 REPRO.py [--backend Cuda] [--ubsan]` runs it
again and prints the outcome.  docs/fuzzing.md describes what is generated
and what is skipped (KNOWN_BUGS) and why.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

# ---------------------------------------------------------------------------
# Known open bug classes: the generator avoids each construct listed here
# until the fix lands on main (then delete the entry).  Value: the issue item
# it waits for.  `--enable NAME` generates it anyway (to check a fix).

KNOWN_BUGS: dict = {
    # Empty: issue 9's items 4, 5, 7, 8, 9 and 10 landed.  With all six classes
    # enabled, 1,500 programs (seed 77) gave 1,390 match, 102 invalid, 7
    # rejected, 0 mismatch, 0 crash.
}

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]
DTYPES = ["bool"] + INTS + FLOATS
PYTYPES = ["py_bool", "py_int", "py_float"]

ANNOT = {"bool": "Bool", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
         "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64",
         "float16": "F16", "float32": "F32", "float64": "F64"}

# ---------------------------------------------------------------------------
# Types.  A type is a dtype name (a strong NumPy value) or py_bool / py_int /
# py_float (a weak Python scalar).  The result type of an operation is found
# by doing it on NumPy: on sample values of the operand types -- the
# interpreter is the specification, so the generator asks it.


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


# ---------------------------------------------------------------------------
# Program model


class Arr:
    """An array argument: name, dtype, concrete shape, and its role."""

    def __init__(self, name, dtype, shape, role):
        self.name, self.dtype, self.shape, self.role = name, dtype, tuple(shape), role
        self.ready = role == "in"   # fully written: any element may be read


class Scope:
    """What an expression may use at one point of the program."""

    def __init__(self, parent=None):
        self.parent = parent
        self.loopvars = []   # (name, lo, hi): values in [lo, hi)
        self.locals = []     # (name, type)
        self.own = {}        # array name -> index string this iteration owns
        self.par = False     # inside a parallel loop
        self.helper = False  # inside an expression helper: parameters only

    def all(self, attr):
        s, out = self, []
        while s is not None:
            out = getattr(s, attr) + out
            s = s.parent
        return out

    def owned(self):
        s, out = self, {}
        while s is not None:
            for k, v in s.own.items():
                out.setdefault(k, v)
            s = s.parent
        return out

    def in_helper(self):
        s = self
        while s is not None:
            if s.helper:
                return True
            s = s.parent
        return False

    def in_par(self):
        s = self
        while s is not None:
            if s.par:
                return True
            s = s.parent
        return False


class Gen:
    def __init__(self, seed, index, backend="Cpu", skip=frozenset(KNOWN_BUGS)):
        self.r = random.Random(f"{seed}:{index}")
        self.seed, self.index, self.backend = seed, index, backend
        self.skip = skip
        self.arrays = []
        self.scalars = []        # (name, type, value source)
        self.par = {}            # label -> LoopPar source
        self.nlabel = 0
        self.nlocal = 0
        self.nloop = 0
        self.helpers = []        # source of expression helpers
        self.helper_sigs = []    # (name, [param types], return type)
        self.subs = []           # source of statement-call helpers
        self.inexact = False     # math calls / float reductions: compare with a tolerance
        self.reduction = False
        self.f2u = False         # converts floats to unsigned ints somewhere
        self.dims = [self.r.choice([1, 2, 3, 5, 8, 13, 16, 24, 33]),
                     self.r.choice([1, 2, 4, 7, 16, 17, 32])]
        self.lines = []
        self.types_seen = set()
        self.features = []       # the kinds of blocks generated (summary per class)
        # on Cuda, some programs run whole inside one `with parpy.gpu:` block;
        # the others keep sequential code on the host, which launches kernels
        # a GPU backend (Cuda, or a simulator of it): the GPU's rules
        self.gpu = "cuda" in backend.lower()
        self.gpu_all = self.gpu and self.chance(0.3)

    # -- helpers ------------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def new_label(self, reduce=False, par=True):
        name = f"L{self.nlabel}"
        self.nlabel += 1
        if par:
            n = self.r.choice([1, 2, 3, 7, 16, 32, 64, 128, 1024])
            self.par[name] = f"parpy.threads({n})" + (".reduce()" if reduce else "")
        return name

    def new_local(self):
        self.nlocal += 1
        return f"t{self.nlocal}"

    def new_loopvar(self):
        self.nloop += 1
        return f"i{self.nloop}"

    def array(self, dtype, shape, role):
        a = Arr(f"a{len(self.arrays)}", dtype, shape, role)
        self.arrays.append(a)
        return a

    def rand_dtype(self, kinds="biuf"):
        return self.r.choice([d for d in DTYPES if np.dtype(d).kind in kinds])

    def emit(self, depth, text):
        self.lines.append("    " * depth + text)

    def on_gpu(self, depth, scope):
        """On Cuda, sequential code outside parallel loops runs on the host,
        which cannot reach array elements: open a `with parpy.gpu:` block
        there.  Returns the depth of the block's body."""
        if self.gpu and not self.gpu_all and not scope.in_par():
            self.emit(depth, "with parpy.gpu:")
            return depth + 1
        return depth

    def nonempty(self, depth, scope, mark):
        """A block header was emitted at len(lines) == mark: give it a body
        when the statements chosen for it emitted nothing."""
        if len(self.lines) == mark:
            self.assign_local(scope, depth)

    # -- literals -----------------------------------------------------------
    def literal(self, k, partner=None):
        """A Python literal of kind k ('b', 'i', 'f'); small enough for `partner`."""
        if k == "b":
            return self.r.choice(["True", "False"]), "py_bool"
        if k in "iu":
            lo = -9
            if k == "u" or (partner is not None and kind(partner) in "ub"):
                lo = 0
            if partner is not None and kind(partner) == "u" and "unsigned_vs_negative" not in self.skip:
                lo = -9
            v = self.r.randint(lo, 9)
            if self.chance(0.05) and "big_literals" not in self.skip:
                v = self.r.choice([2**31 - 1, 2**31, -2**31, 2**40, 2**63 - 1])
            return (f"({v})" if v < 0 else str(v)), "py_int"
        v = self.r.choice([0.5, 1.5, 2.0, 0.25, 3.75, 1.0, 0.125, 10.0, 0.1])
        if self.chance(0.3):
            v = -v
        return (f"({v!r})" if v < 0 else repr(v)), "py_float"

    # -- indices ------------------------------------------------------------
    def index_for(self, scope, n):
        """An index expression valid for a dimension of extent n."""
        cands = []
        for name, lo, hi in scope.all("loopvars"):
            if lo >= 0 and hi <= n:
                cands += [name, name, f"{n - 1} - {name}"]
            if lo >= 0:
                c = self.r.randint(0, n - 1)
                cands.append(f"({name} + {c}) % {n}")
                cands.append(f"({name} * {self.r.randint(1, 3)}) % {n}")
        cands.append(str(self.r.randint(0, n - 1)))
        cands.append(str(-self.r.randint(1, n)))
        return self.r.choice(cands)

    def element(self, scope, arr):
        owned = scope.owned()
        if arr.name in owned:
            return f"{arr.name}[{owned[arr.name]}]"
        idx = [self.index_for(scope, n) for n in arr.shape]
        if len(idx) == 2 and self.chance(0.2):
            return f"{arr.name}[{idx[0]}][{idx[1]}]"
        return f"{arr.name}[{', '.join(idx)}]"

    # -- expressions --------------------------------------------------------
    def readable(self, scope):
        owned = scope.owned()
        return [a for a in self.arrays
                if a.ready or (a.name in owned and a.role == "inout")]

    def leaf(self, scope, want, sl):
        """want: None or a set of kinds; sl: None (scalar) or a SliceCtx."""
        for _ in range(4):
            c = self.r.random()
            if scope.in_helper():
                c = 0.5 if c < 0.6 else 0.99
            if sl is not None and c < 0.55:
                got = sl.operand(self, want)
                if got:
                    return got
            elif sl is None and c < 0.45:
                arrs = [a for a in self.readable(scope) if want is None or kind(a.dtype) in want]
                if arrs:
                    a = self.r.choice(arrs)
                    return self.element(scope, a), a.dtype
            elif c < 0.6 or scope.in_helper():
                cands = [] if scope.in_helper() else [
                    (n, t) for n, t, _ in self.scalars if want is None or kind(t) in want]
                cands += [(n, t) for n, t in scope.all("locals") if want is None or kind(t) in want]
                if sl is None and (want is None or "i" in want):
                    cands += [(n, "py_int") for n, _, _ in scope.all("loopvars")]
                if cands:
                    return self.r.choice(cands)
            elif c < 0.65 and (want is None or "i" in want) and self.arrays:
                a = self.r.choice(self.arrays)
                return self.r.choice([f"{a.name}.shape[0]", f"len({a.name})", "N0"]), "py_int"
            elif c < 0.72 and sl is None and (want is None or kind_ok(want, "biuf")):
                got = self.scalar_reduction(scope, want)
                if got:
                    return got
        k = self.r.choice(sorted(want)) if want else self.r.choice("bif")
        return self.literal("i" if k == "u" else k)

    def scalar_reduction(self, scope, want):
        """sum/prod/max/min of a row or whole array, as a value."""
        arrs = [a for a in self.arrays if a.ready]
        if not arrs:
            return None
        a = self.r.choice(arrs)
        op = self.r.choice(["sum", "prod", "max", "min", "sum", "max", "mean", "var", "std"])
        if kind(a.dtype) == "b" and op in ("max", "min") and "bool_arith" in self.skip:
            return None
        if op == "prod" and kind(a.dtype) == "f":
            return None
        if op in ("mean", "var", "std"):
            if kind(a.dtype) == "b":
                return None
            self.inexact = True
            self.reduction = True
        if len(a.shape) == 2:
            i = self.index_for(scope, a.shape[0])
            arg = f"{a.name}[{i}, :]"
        else:
            arg = self.r.choice([f"{a.name}[:]", a.name])
        mod = self.r.choice(["parpy.operators", "np"]) if op not in ("mean", "var", "std") else "np"
        npf = getattr(np, op)
        t = result_type(lambda v: npf(np.array([v])), a.dtype)
        if t is None or (want is not None and kind(t) not in want):
            return None
        if kind(t) == "f":
            self.inexact = True
        if op in ("max", "min") and self.chance(0.3):
            # Python's builtin over a 1-D slice: the interpreter iterates it
            # (a NaN counts only when it comes first)
            return f"{op}({arg})", t
        return f"{mod}.{op}({arg})", t

    def cast_to(self, src, t, target):
        """Convert an expression of type t to type target (which is a dtype or py_*)."""
        if t == target:
            return src
        if kind(t) == "f" and kind(target) in "iub":
            if kind(target) == "b":
                pass
            elif "float_to_int" in self.skip:
                return None
            elif kind(target) == "u":
                self.f2u = True
        if target == "py_int":
            return f"int({src})"
        if target == "py_float":
            return f"float({src})"
        if target == "py_bool":
            return f"bool({src})"
        mod = self.r.choice(["np", "parpy.operators"]) if target != "bool" else "np"
        name = "bool_" if target == "bool" else target
        if weak(t) and target != "bool":
            # np.int8(300) raises in NumPy 2: only cast Python ints to wide
            # types, or literals that fit
            if kind(t) == "i" and bits(target) < 64 and kind(target) != "f":
                try:
                    v = int(src.strip("()"))
                except ValueError:
                    return None
                info = np.iinfo(target)
                if not info.min <= v <= info.max:
                    return None
        return f"{mod}.{name}({src})"

    def expr_of(self, scope, target, depth, sl=None):
        """An expression of exactly type `target`."""
        for _ in range(6):
            src, t = self.expr(scope, depth, None if kind(target) == "f" else set("biu"), sl)
            got = self.cast_to(src, t, target)
            if got is not None:
                return got
        lit, lt = self.literal("u" if kind(target) in "ub" else "i" if kind(target) == "i" else "f")
        if kind(target) == "b":
            lit, lt = self.literal("b")
        got = self.cast_to(lit, lt, target)
        assert got is not None, (lit, target)
        return got

    def expr(self, scope, depth, want=None, sl=None):
        """A random expression; returns (source, type).  want: kinds allowed."""
        for _ in range(8):
            got = self.try_expr(scope, depth, want, sl)
            if got is not None and got[1] is not None and (want is None or kind(got[1]) in want):
                self.types_seen.add(got[1])
                return got
        return self.leaf(scope, want, sl)

    def try_expr(self, scope, depth, want, sl):
        if depth <= 0 or self.chance(0.25):
            return self.leaf(scope, want, sl)
        d = depth - 1
        c = self.r.random()
        if c < 0.30:
            return self.arith(scope, d, want, sl)
        if c < 0.40:
            return self.bitwise(scope, d, want, sl)
        if c < 0.52:
            return self.compare(scope, d, sl)
        if c < 0.58:
            return self.unary(scope, d, want, sl)
        if c < 0.66 and sl is None:
            return self.logic(scope, d)
        if c < 0.72 and sl is None:
            return self.ifexp(scope, d, want)
        if c < 0.84:
            return self.call(scope, d, want, sl)
        if c < 0.92:
            target = self.rand_dtype() if self.chance(0.8) else self.r.choice(PYTYPES)
            if sl is not None and weak(target):
                target = self.rand_dtype()
            src, t = self.expr(scope, d, None, sl)
            got = self.cast_to(src, t, target)
            return (got, target) if got else None
        return self.helper_call(scope, d, sl)

    def bool_ok(self, *types):
        if "bool_arith" in self.skip and any(kind(t) == "b" for t in types):
            return False
        return True

    def arith(self, scope, d, want, sl):
        op = self.r.choice(["+", "-", "*", "*", "/", "//", "%", "**"])
        a, ta = self.expr(scope, d, None, sl)
        if op == "**":
            if kind(ta) == "b":
                return None
            e = self.r.choice(["2", "3"] + (["2.0", "0.5"] if kind(ta) == "f" else []))
            if kind(ta) == "f" or "." in e:
                self.inexact = True
            if weak(ta):
                return None   # Python's ** of negative floats is complex
            t = result_type(BINOPS[op], ta, "py_float" if "." in e else "py_int")
            return (f"({a} ** {e})", t) if t else None
        b, tb = self.expr(scope, d, None, sl)
        if not self.bool_ok(ta, tb) and not (kind(ta) == "b") != (kind(tb) == "b"):
            return None
        if "bool_arith" in self.skip and kind(ta) == "b" and kind(tb) == "b":
            return None
        if op in ("//", "%"):
            if kind(ta) == "b" or kind(tb) == "b":
                return None
            if kind(tb) in "iu":
                b = f"({b} | 1)" if not b.isdigit() else (b if b != "0" else "1")
        if op in ("/", "//", "%") and weak(ta) and weak(tb):
            b, tb = self.r.choice(["2", "3", "4.0", "0.5"]), None
            tb = "py_float" if "." in b else "py_int"
        t = result_type(BINOPS[op], ta, tb)
        if t is None:
            return None
        if kind(t) == "f" and kind(ta) in "iub" and kind(tb) in "iub" and op != "/":
            return None
        return f"({a} {op} {b})", t

    def bitwise(self, scope, d, want, sl):
        op = self.r.choice(["&", "|", "^", "<<", ">>"])
        ints = set("biu") if op in "&|^" else set("iu")
        a, ta = self.expr(scope, d, ints, sl)
        if op in ("<<", ">>"):
            if kind(ta) == "b":
                return None
            if self.chance(0.5):
                b, tb = self.literal("i")
                b = str(abs(int(b.strip("()"))) % 8)
            else:
                b, tb = self.expr(scope, d, set("iu"), sl)
                b = f"({b} & 7)"
            if "shift_ub" in self.skip:
                if weak(ta):
                    a = f"({a} & 255)"
                elif kind(ta) == "i":
                    a = f"({a} & np.{ta}(127))"   # C: shifting a negative value is UB
        else:
            b, tb = self.expr(scope, d, ints, sl)
        t = result_type(BINOPS[op], ta, tb)
        return (f"({a} {op} {b})", t) if t else None

    def compare(self, scope, d, sl):
        a, ta = self.expr(scope, d, None, sl)
        b, tb = self.expr(scope, d, None, sl)
        if "unsigned_vs_negative" in self.skip:
            ku = [kind(ta) == "u", kind(tb) == "u"]
            if ku[0] and weak(tb) and kind(tb) == "i":
                b, tb = self.literal("u")
            if ku[1] and weak(ta) and kind(ta) == "i":
                a, ta = self.literal("u")
            if {ta, tb} == {"int64", "uint64"}:
                return None
        op = self.r.choice(CMPOPS)
        if sl is None and self.chance(0.15):
            c, tc = self.expr(scope, d, None, sl)
            if "unsigned_vs_negative" in self.skip and (kind(tc) == "u" or kind(tb) == "u"):
                return None
            op2 = self.r.choice(CMPOPS)
            t = result_type(lambda x, y, z: x < y < z, ta, tb, tc)
            return (f"({a} {op} {b} {op2} {c})", t) if t else None
        t = result_type(lambda x, y: x < y, ta, tb)
        return (f"({a} {op} {b})", t) if t else None

    def unary(self, scope, d, want, sl):
        op = self.r.choice(["-", "~", "+"])
        a, ta = self.expr(scope, d, None if op != "~" else set("biu"), sl)
        if kind(ta) == "b" and ("bool_arith" in self.skip or op == "-"):
            return None
        if op == "~" and kind(ta) == "f":
            return None
        if op == "~" and ta == "py_bool":
            return None   # ~True is -2 in Python, deprecated
        fn = {"-": lambda x: -x, "~": lambda x: ~x, "+": lambda x: +x}[op]
        t = result_type(fn, ta)
        return (f"({op}{a})", t) if t else None

    def logic(self, scope, d):
        c = self.r.random()
        if c < 0.3 and "numpy_weak" not in self.skip:
            a, ta = self.expr(scope, d, None)
            return f"(not {a})", "py_bool"
        a, _ = self.condition(scope, d)
        b, _ = self.condition(scope, d)
        op = self.r.choice(["and", "or"])
        return f"({a} {op} {b})", "py_bool"

    def condition(self, scope, d):
        """A boolean-valued condition (a comparison, possibly combined)."""
        c = self.r.random()
        if c < 0.6 or d <= 0:
            got = self.compare(scope, max(d, 0), None)
            if got and got[1]:
                return got
            return "True", "py_bool"
        if c < 0.8:
            a, _ = self.condition(scope, d - 1)
            b, _ = self.condition(scope, d - 1)
            return f"({a} {self.r.choice(['and', 'or'])} {b})", "py_bool"
        a, _ = self.condition(scope, d - 1)
        return f"(not {a})", "py_bool"

    def ifexp(self, scope, d, want):
        cond, _ = self.condition(scope, d)
        a, ta = self.expr(scope, d, want)
        b = self.expr_of(scope, ta, d)
        return f"({a} if {cond} else {b})", ta

    def call(self, scope, d, want, sl):
        c = self.r.random()
        if c < 0.55:
            fn = self.r.choice(MATH1 + MATH_ONLY + ["abs"] * 4)
            a, ta = self.expr(scope, d, None, sl)
            if fn == "abs":
                if kind(ta) == "b" and "bool_arith" in self.skip:
                    return None
                mods = ["abs", "np.abs", "parpy.operators.abs"]
                m = self.r.choice(mods)
                if sl is not None and m == "abs" and self.chance(0.5):
                    m = "np.abs"
                if weak(ta) and m != "abs" and "numpy_weak" in self.skip:
                    m = "abs"
                npf = abs if m == "abs" else np.abs
                t = result_type(npf, ta)
                return (f"{m}({a})", t) if t else None
            return self.math1(fn, a, ta, sl)
        if c < 0.85:
            # two-argument max/min (elementwise) and atan2
            fn = self.r.choice(["max", "min", "max", "min"] + MATH2 + ["where", "clip"])
            a, ta = self.expr(scope, d, None, sl)
            b, tb = self.expr(scope, d, None, sl)
            if not self.bool_ok(ta, tb):
                return None
            if "unsigned_vs_negative" in self.skip and fn != "atan2":
                if (kind(ta) == "u" and kind(tb) == "i") or (kind(tb) == "u" and kind(ta) == "i"):
                    return None
            if fn in ("where", "clip"):
                if weak(ta) and weak(tb) and "numpy_weak" in self.skip:
                    return None
                if fn == "where":
                    cond, _ = (self.condition(scope, d) if sl is None else self.compare(scope, d, sl))
                    t = result_type(lambda x, y: np.where(np.True_, x, y), ta, tb)
                    return (f"np.where({cond}, {a}, {b})", t) if t and cond else None
                c2, tc = self.expr(scope, d, None, sl)
                if "unsigned_vs_negative" in self.skip and "u" in (kind(ta), kind(tb), kind(tc)):
                    return None
                t = result_type(np.clip, ta, tb, tc)
                return (f"np.clip({a}, {b}, {c2})", t) if t else None
            if fn in MATH2 and fn != "atan2":
                if kind(ta) == "b" or kind(tb) == "b":
                    return None
                if fn == "fmod" and kind(ta) != "f" and kind(tb) != "f":
                    b = f"({b} | 1)"   # np.fmod by an integer zero: 0 and a warning
                if fn in ("hypot", "copysign", "fmod"):
                    self.inexact = True
                ms = ["np", "parpy.operators"] + (["math"] if sl is None and hasattr(math, fn) else [])
                m = self.r.choice(ms)
                if m != "math" and weak(ta) and weak(tb) and "numpy_weak" in self.skip:
                    return None
                if m == "math":
                    return f"math.{fn}({a}, {b})", "py_float"
                t = result_type(getattr(np, fn), ta, tb)
                return (f"{m}.{fn}({a}, {b})", t) if t else None
            if fn == "atan2":
                self.inexact = True
                m = self.r.choice(["np.arctan2", "parpy.operators.atan2"] + (["math.atan2"] if sl is None else []))
                if m != "math.atan2" and weak(ta) and weak(tb) and "numpy_weak" in self.skip:
                    m = "math.atan2" if sl is None else None
                if m is None or kind(ta) == "b" or kind(tb) == "b":
                    return None
                if m == "math.atan2":
                    return f"math.atan2({a}, {b})", "py_float"
                t = result_type(np.arctan2, ta, tb)
                return (f"{m}({a}, {b})", t) if t else None
            choices = [f"np.{fn}imum", f"parpy.operators.{fn}"]
            if sl is None:
                choices.append(fn)
            m = self.r.choice(choices)
            if m == fn:
                if "builtin_maxmin" in self.skip and (kind(ta) == "f" or kind(tb) == "f"):
                    return None
                if ta != tb:   # Python's max returns one of its operands, untouched
                    return None
                return f"{fn}({a}, {b})", ta
            if weak(ta) and weak(tb) and "numpy_weak" in self.skip:
                return None
            t = result_type(getattr(np, fn + "imum"), ta, tb)
            return (f"{m}({a}, {b})", t) if t else None
        return None

    def math1(self, fn, a, ta, sl):
        if kind(ta) == "b" and "bool_arith" in self.skip:
            return None
        if fn not in ("isnan", "isinf", "isfinite", "sign", "square", "floor", "ceil",
                      "trunc", "round", "rint") or kind(ta) == "f":
            self.inexact = True
        if fn == "reciprocal" and kind(ta) != "f":
            return None   # NumPy's integer reciprocal truncates (and divides by zero)
        mods = []
        if fn not in MATH_ONLY:
            mods += ["np", "parpy.operators"]
        if sl is None and hasattr(math, fn) and fn != "round":
            mods.append("math")
        if not mods:
            return None
        m = self.r.choice(mods)
        if m != "math" and weak(ta) and "numpy_weak" in self.skip:
            if "math" not in mods:
                return None
            m = "math"
        if m == "math":
            if kind(ta) == "b" or (fn in MATH_INT and ta == "float16"):
                return None
            if fn in MATH_INT:
                if kind(ta) == "f" and "float_to_int" in self.skip:
                    return None
                return f"math.{fn}({a})", "py_int"
            return f"math.{fn}({a})", "py_bool" if fn in MATH_BOOL else "py_float"
        t = result_type(getattr(np, fn), ta)
        return (f"{m}.{fn}({a})", t) if t else None

    def helper_call(self, scope, d, sl):
        if sl is not None or scope.in_helper():
            return None
        if not self.helper_sigs or (self.chance(0.3) and len(self.helper_sigs) < 3):
            self.make_helper()
        name, ptypes, rt = self.r.choice(self.helper_sigs)
        args = [self.expr_of(scope, t, d) for t in ptypes]
        return f"{name}({', '.join(args)})", rt

    def make_helper(self):
        name = f"h{len(self.helper_sigs)}"
        ptypes = [self.rand_dtype() for _ in range(self.r.randint(1, 3))]
        if "bool_arith" in self.skip:
            ptypes = [t if t != "bool" else "int32" for t in ptypes]
        hs = Scope()
        hs.helper = True
        params = [f"p{k}" for k in range(len(ptypes))]
        hs.locals = list(zip(params, ptypes))
        if True:
            body, rt = self.expr(hs, 2, None)
            lines = [f"@parpy.jit",
                     f"def {name}({', '.join(f'{p}: parpy.types.{ANNOT[t]}' for p, t in zip(params, ptypes))}):"]
            if self.chance(0.4):
                cond, _ = self.condition(hs, 1)
                other = self.expr_of(hs, rt, 1)
                lines += [f"    if {cond}:", f"        return {other}"]
            lines.append(f"    return {body}")
        if weak(rt):
            # the interpreter would return a Python scalar: annotate nothing,
            # but keep helpers strong so both sides agree -- in every branch
            # (a Python bool from one return and an np.int64 from the other
            # give the interpreter a branch-dependent type: README,
            # "Differences"; seed 20261202 program 961)
            strong = 'float64' if kind(rt) == 'f' else 'int64'
            lines = [ln if not ln.startswith("        return ") else
                     f"        return {self.cast_to(other, rt, strong) or other}" for ln in lines]
            lines[-1] = f"    return {self.cast_to(body, rt, strong) or body}"
            rt = "float64" if kind(rt) == "f" else "int64"
            if kind(rt) == "b":
                rt = "bool"
        self.helpers.append("\n".join(lines))
        self.helper_sigs.append((name, ptypes, rt))

    # -- statements -----------------------------------------------------------
    def assign_local(self, scope, depth, name=None, t=None):
        if name is None:
            t = self.rand_dtype() if self.chance(0.7) else self.r.choice(["py_int", "py_float"])
            name = self.new_local()
            self.emit(depth, f"{name} = {self.expr_of(scope, t, 2)}")
            scope.locals.append((name, t))
        else:
            if self.chance(0.3) and kind(t) in "iuf" and not (kind(t) == "b"):
                op = self.r.choice(["+=", "-=", "*="])
                e = self.expr_of(scope, t, 1)
                if weak(t) and op == "*=":
                    op = "+="
                self.emit(depth, f"{name} {op} {e}")
            else:
                self.emit(depth, f"{name} = {self.expr_of(scope, t, 2)}")

    def body_stmts(self, scope, depth, budget):
        """A few statements computing locals (no writes to arrays)."""
        for _ in range(budget):
            c = self.r.random()
            if c < 0.45 or not scope.locals:
                self.assign_local(scope, depth)
            elif c < 0.62:
                self.if_stmt(scope, depth)
            elif c < 0.74:
                self.while_stmt(scope, depth)
            elif c < 0.88:
                self.seq_for(scope, depth)
            else:
                self.reduction_local(scope, depth)

    def mutable_local(self, scope):
        loc = [(n, t) for n, t in scope.locals]
        return self.r.choice(loc) if loc else None

    def if_stmt(self, scope, depth):
        target = self.mutable_local(scope)
        if target is None:
            return
        cond, _ = self.condition(scope, 2)
        self.emit(depth, f"if {cond}:")
        self.assign_local(scope, depth + 1, *target)
        for _ in range(self.r.randint(0, 2)):
            cond, _ = self.condition(scope, 1)
            self.emit(depth, f"elif {cond}:")
            self.assign_local(scope, depth + 1, *target)
        if self.chance(0.6):
            self.emit(depth, "else:")
            if self.chance(0.2):
                self.emit(depth + 1, "pass")
            else:
                self.assign_local(scope, depth + 1, *self.mutable_local(scope))

    def while_stmt(self, scope, depth):
        target = self.mutable_local(scope)
        if target is None:
            return
        k = self.new_local()
        n = self.r.randint(0, 5)
        self.emit(depth, f"{k} = 0")
        cond = f"{k} < {n}"
        if self.chance(0.5):
            c, _ = self.condition(scope, 1)
            # a reduction in a while condition is rejected (documented): rarely
            reduces = any(f in c for f in ("sum(", "prod(", ".max(", ".min("))
            if not reduces or self.chance(0.1):
                cond = f"{cond} and {c}"
        self.emit(depth, f"while {cond}:")
        self.assign_local(scope, depth + 1, *target)
        self.emit(depth + 1, f"{k} += 1")
        scope.locals.append((k, "py_int"))

    def range_src(self, n, full=False):
        """A range over [0, n) or part of it: (source, lo, hi)."""
        forms = [(f"range({n})", 0, n), (f"range(0, {n})", 0, n),
                 (f"range({n} - 1, -1, -1)", 0, n)]
        if not full:
            s = self.r.randint(2, 3)
            forms += [(f"range(1, {n})", 1, n), (f"range(0, {n}, {s})", 0, n),
                      (f"range({n} - 1, 0, -{s})", 1, n)]
        src, lo, hi = self.r.choice(forms)
        src = src.replace(f"range({n})", f"range({self.size_name(n)})")
        return src, lo, hi

    def size_name(self, n):
        if n == self.dims[0]:
            return "N0"
        if n == self.dims[1]:
            return "N1"
        return str(n)

    def seq_for(self, scope, depth):
        target = self.mutable_local(scope)
        if target is None:
            return
        n = self.r.choice(self.dims)
        src, lo, hi = self.range_src(n)
        v = self.new_loopvar()
        self.emit(depth, f"for {v} in {src}:")
        inner = Scope(scope)
        inner.loopvars.append((v, lo, hi))
        if self.chance(0.3):
            self.body_stmts(inner, depth + 1, 1)
        self.assign_local(inner, depth + 1, *target)

    def reduction_local(self, scope, depth):
        got = self.scalar_reduction(scope, None)
        if got is None:
            return
        src, t = got
        if self.chance(0.5) and (not self.gpu or scope.in_par()):
            self.emit(depth, f"parpy.label('{self.new_label()}')")
        name = self.new_local()
        self.emit(depth, f"{name} = {src}")
        scope.locals.append((name, t))

    # -- blocks ---------------------------------------------------------------
    def store(self, scope, arr, index, depth):
        t = arr.dtype
        want = None if kind(t) == "f" else set("biu")
        if kind(t) in "iu" and "float_to_int" not in self.skip:
            want = None
        if kind(t) == "b":
            want = set("b") if self.chance(0.7) else None
        src, st = self.expr(scope, 3, want)
        if kind(st) == "f" and kind(t) in "iu":
            if kind(t) == "u":
                self.f2u = True
        if kind(st) == "f" and kind(t) == "b":
            src = f"({src} > 0.5)"
        op = "="
        if arr.role == "inout" and self.chance(0.3) and kind(t) != "b" and kind(st) != "b":
            op = self.r.choice(["+=", "-=", "*="])
            # y[i] += e stores y[i] + e: uint64 + int8 is float64, whose
            # conversion back to an integer may be out of range
            if kind(result_type(BINOPS[op[0]], t, st) or "float64") == "f" and kind(t) != "f":
                op = "="
        self.emit(depth, f"{arr.name}[{index}] {op} {src}")

    def par_loop_block(self, depth, scope):
        twod = self.chance(0.5)
        shape = (self.dims[0], self.dims[1]) if twod else (self.dims[0],)
        out = self.array(self.rand_dtype(), shape, "out")
        extra = self.array(self.rand_dtype(), shape, "inout") if self.chance(0.3) else None
        src, lo, hi = self.range_src(self.dims[0], full=True)
        v = self.new_loopvar()
        lbl = self.new_label(par=self.chance(0.85))
        if lbl not in self.par:
            depth = self.on_gpu(depth, scope)
        self.emit(depth, f"parpy.label('{lbl}')")
        self.emit(depth, f"for {v} in {src}:")
        s = Scope(scope)
        s.par = True
        s.loopvars.append((v, lo, hi))
        self.body_stmts(s, depth + 1, self.r.randint(0, 3))
        if not twod:
            s.own[out.name] = v
            if extra:
                s.own[extra.name] = v
            self.store(s, out, v, depth + 1)
            if extra and kind(extra.dtype) in "iu" and self.chance(0.3):
                # range bounds are evaluated once, even when the body changes them
                k = self.new_loopvar()
                self.emit(depth + 1, f"for {k} in range({extra.name}[{v}] & 3):")
                self.emit(depth + 2, f"{extra.name}[{v}] += 1")
            if extra:
                if self.chance(0.5):
                    cond, _ = self.condition(s, 1)
                    self.emit(depth + 1, f"if {cond}:")
                    self.store(s, extra, v, depth + 2)
                else:
                    self.store(s, extra, v, depth + 1)
            return
        if self.chance(0.25):
            # a row as a slice statement
            sl = SliceCtx(self, s, (self.dims[1],), row=(v, out))
            if self.chance(0.5):
                self.emit(depth + 1, f"parpy.label('{self.new_label()}')")
            self.emit(depth + 1, f"{out.name}[{v}, :] = {sl.expr(self, out.dtype)}")
            return
        if self.chance(0.2) and len(self.subs) < 2:
            self.statement_call(s, depth + 1, v, out)
            return
        src2, lo2, hi2 = self.range_src(self.dims[1], full=True)
        w = self.new_loopvar()
        if self.chance(0.6):
            self.emit(depth + 1, f"parpy.label('{self.new_label()}')")
        self.emit(depth + 1, f"for {w} in {src2}:")
        s2 = Scope(s)
        s2.loopvars.append((w, lo2, hi2))
        s2.own[out.name] = f"{v}, {w}"
        if extra:
            s2.own[extra.name] = f"{v}, {w}"
        self.body_stmts(s2, depth + 2, self.r.randint(0, 2))
        self.store(s2, out, f"{v}, {w}", depth + 2)
        if extra:
            self.store(s2, extra, f"{v}, {w}", depth + 2)

    def statement_call(self, scope, depth, v, out):
        """out[v] = row computed by an inlined jitted function."""
        name = f"row{len(self.subs)}"
        ins = [a for a in self.arrays if a.ready and a.shape == out.shape and
               not (kind(a.dtype) == "f" and kind(out.dtype) in "iu" and "float_to_int" in self.skip)]
        src_arr = self.r.choice(ins) if ins else None
        n = self.dims[1]
        lbl = self.new_label()
        k = self.r.choice([2, 3])
        rhs = f"x[j] * {k}" if src_arr is not None else f"j % {k} + M"
        if src_arr is not None and kind(src_arr.dtype) == "b":
            rhs = f"x[j] & (j > 2)"
            if kind(out.dtype) != "b":
                rhs = f"(x[j] & (j > 2)) + 1"
        if kind(out.dtype) == "b":
            rhs = f"({rhs}) > 1"
        if src_arr is not None and kind(src_arr.dtype) == "f" and kind(out.dtype) == "u":
            self.f2u = True
        self.subs.append("\n".join([
            "@parpy.jit",
            f"def {name}({'x, ' if src_arr is not None else ''}y, M):",
            f"    parpy.label('{lbl}')",
            "    for j in range(M):",
            f"        y[j] = {rhs}"]))
        xarg = f"{src_arr.name}[{v}], " if src_arr is not None else ""
        self.emit(depth, f"{name}({xarg}{out.name}[{v}], {n})")

    def slice_block(self, depth, scope):
        twod = self.chance(0.4)
        shape = (self.dims[0], self.dims[1]) if twod else (self.dims[0],)
        c = self.r.random()
        if c < 0.15 and not twod and self.dims[0] > 1:
            out = self.array(self.rand_dtype(), shape, "inout")
            target = f"{out.name}[1:]"
            tshape = (self.dims[0] - 1,)
        elif c < 0.3 and twod:
            # an axis reduction into a 1D output
            return self.axis_reduction(depth, scope)
        else:
            out = self.array(self.rand_dtype(), shape, "out")
            target = f"{out.name}[{', '.join(':' for _ in shape)}]" if self.chance(0.85) else f"{out.name}[:]"
            if twod and target.endswith("[:]"):
                target = f"{out.name}[:, :]"
            tshape = shape
        nl = len(tshape)
        if self.chance(0.6):
            for _ in range(nl):
                self.emit(depth, f"parpy.label('{self.new_label()}')")
        else:
            depth = self.on_gpu(depth, scope)
        sl = SliceCtx(self, scope, tshape)
        self.emit(depth, f"{target} = {sl.expr(self, out.dtype)}")

    def axis_reduction(self, depth, scope):
        ins = [a for a in self.arrays if a.role == "in" and len(a.shape) == 2]
        if not ins:
            return self.full_reduction_block(depth, scope)
        a = self.r.choice(ins)
        axis = self.r.choice([0, 1])
        op = self.r.choice(["sum", "prod", "max", "min"])
        if kind(a.dtype) == "b" and op in ("max", "min", "prod") and "bool_arith" in self.skip:
            op = "sum"
        if op == "prod" and kind(a.dtype) == "f":
            op = "sum"
        npf = getattr(np, op)
        t = result_type(lambda x: npf(np.array([x])), a.dtype)
        n = a.shape[1 - axis]
        out = self.array(t, (n,), "out")
        if kind(t) == "f":
            self.reduction = True
        nlab = self.r.choice([0, 1, 2])
        if nlab == 0:
            depth = self.on_gpu(depth, scope)
        for _ in range(nlab):
            self.emit(depth, f"parpy.label('{self.new_label()}')")
        mod = self.r.choice(["parpy.operators", "np"])
        self.emit(depth, f"{out.name}[:] = {mod}.{op}({a.name}[:, :], axis={axis})")

    def full_reduction_block(self, depth, scope):
        ins = [a for a in self.arrays if a.role == "in"]
        a = self.r.choice(ins)
        op = self.r.choice(["sum", "prod", "max", "min"])
        if kind(a.dtype) == "b" and op in ("max", "min") and "bool_arith" in self.skip:
            op = "sum"
        if op == "prod" and kind(a.dtype) == "f":
            op = "sum"
        npf = getattr(np, op)
        t = result_type(lambda x: npf(np.array([x])), a.dtype)
        if kind(t) == "f":
            self.reduction = True
        out = self.array(t, (1,), "out")
        labelled = self.chance(0.6)
        if not labelled:
            depth = host = self.on_gpu(depth, scope)
        else:
            host = depth
            self.emit(depth, f"parpy.label('{self.new_label()}')")
        arg = f"{a.name}[{', '.join(':' for _ in a.shape)}]" if self.chance(0.8) else a.name
        mod = self.r.choice(["parpy.operators", "np"])
        if self.chance(0.3):
            name = self.new_local()
            self.emit(depth, f"{name} = {mod}.{op}({arg})")
            scope.locals.append((name, t))
            if labelled:
                # a labelled reduction into a local runs as a kernel
                depth = self.on_gpu(host, scope)
            self.emit(depth, f"{out.name}[0] = {name}")
        else:
            self.emit(depth, f"{out.name}[0] = {mod}.{op}({arg})")

    def reduce_loop_block(self, depth, scope):
        """A .reduce() loop: acc = acc op e(i), exactly typed."""
        ins = [a for a in self.arrays if a.role == "in" and len(a.shape) == 1]
        if not ins:
            return self.full_reduction_block(depth, scope)
        a = self.r.choice(ins)
        t = a.dtype
        k = kind(t)
        ops = {"b": ["and", "or", "&", "|", "^"], "i": ["+", "*", "max", "min", "&", "|", "^"],
               "u": ["+", "*", "max", "min", "&", "|", "^"], "f": ["+", "max", "min"]}[k]
        op = self.r.choice(ops)
        if k == "f":
            self.reduction = True
        init = {"+": "0", "*": "1", "&": "-1" if k == "i" else "0", "|": "0", "^": "0",
                "and": "True", "or": "False"}
        out = self.array(t, (1,), "out")
        acc = self.new_local()
        # on Cuda the accumulator lives on the GPU: the host may not assign
        # a local that a kernel assigns too
        depth = self.on_gpu(depth, scope)
        if op in ("max", "min"):
            self.emit(depth, f"{acc} = {a.name}[0]")
        elif k == "b":
            self.emit(depth, f"{acc} = np.bool_({init[op]})")
        else:
            if op == "&" and k == "u":
                self.emit(depth, f"{acc} = ~np.{t}(0)")
            else:
                self.emit(depth, f"{acc} = np.{t}({init[op]})")
        v = self.new_loopvar()
        lbl = self.new_label(reduce=True)
        self.emit(depth, f"parpy.label('{lbl}')")
        self.emit(depth, f"for {v} in range({self.size_name(a.shape[0])}):")
        e = f"{a.name}[{v}]"
        if op in ("max", "min"):
            fn = self.r.choice(["np." + op + "imum", "parpy.operators." + op] +
                               ([op] if k != "f" or "builtin_maxmin" not in self.skip else []))
            self.emit(depth + 1, f"{acc} = {fn}({acc}, {e})")
        elif op in ("and", "or"):
            self.emit(depth + 1, f"{acc} = {acc} {op} {e}")
        elif self.chance(0.5):
            self.emit(depth + 1, f"{acc} {op}= {e}")
        else:
            self.emit(depth + 1, f"{acc} = {acc} {op} {e}")
        self.emit(depth, f"{out.name}[0] = {acc}")
        scope.locals.append((acc, t))

    def swap_block(self, depth, scope):
        """Two buffers swapped every time step through array locals rebound in
        an if (the HMM forward algorithm's pattern)."""
        t = self.r.choice(["float32", "float64", "int32", "int64", "float16"])
        x = self.array(t, (self.dims[0],), "inout")
        y = self.array(t, (self.dims[0],), "inout")
        src, dst = self.new_local(), self.new_local()
        self.emit(depth, f"{src} = {x.name}")
        self.emit(depth, f"{dst} = {y.name}")
        T = self.r.randint(1, 4)
        step = self.new_loopvar()
        self.emit(depth, f"for {step} in range({T}):")
        cond = self.r.choice([f"{step} % 2 == 1", f"{step} & 1", f"{step} > 1"])
        self.emit(depth + 1, f"if {cond}:")
        self.emit(depth + 2, f"{src} = {y.name}")
        self.emit(depth + 2, f"{dst} = {x.name}")
        if self.chance(0.7):
            self.emit(depth + 1, "else:")
            self.emit(depth + 2, f"{src} = {x.name}")
            self.emit(depth + 2, f"{dst} = {y.name}")
        v = self.new_loopvar()
        self.emit(depth + 1, f"parpy.label('{self.new_label()}')")
        self.emit(depth + 1, f"for {v} in range(N0):")
        n = self.dims[0]
        one = "1.0" if kind(t) == "f" else "1"
        self.emit(depth + 2, f"{dst}[{v}] = {src}[{v}] + {src}[({v} + 1) % {n}] * 2 - {one}"
                  if kind(t) != "f" else
                  f"{dst}[{v}] = ({src}[{v}] + {src}[({v} + 1) % {n}]) * 0.5 + {one}")

    def time_loop_block(self, depth, scope):
        """A sequential loop (or while) around a parallel loop updating an inout array."""
        z = self.array(self.r.choice(["float32", "float64", "int32", "int64"]), (self.dims[0],), "inout")
        T = self.r.randint(1, 3)
        if self.chance(0.7):
            t = self.new_loopvar()
            self.emit(depth, f"for {t} in range({T}):")
            inner = Scope(scope)
            inner.loopvars.append((t, 0, T))
        else:
            t = self.new_local()
            self.emit(depth, f"{t} = 0")
            self.emit(depth, f"while {t} < {T}:")
            inner = Scope(scope)
        lbl = self.new_label()
        v = self.new_loopvar()
        self.emit(depth + 1, f"parpy.label('{lbl}')")
        self.emit(depth + 1, f"for {v} in range(N0):")
        s = Scope(inner)
        s.par = True
        s.loopvars.append((v, 0, self.dims[0]))
        s.own[z.name] = v
        e = self.expr_of(s, z.dtype, 2)
        if kind(z.dtype) == "f":
            self.emit(depth + 2, f"{z.name}[{v}] = {z.name}[{v}] * 0.5 + {e}")
        else:
            self.emit(depth + 2, f"{z.name}[{v}] = ({z.name}[{v}] ^ {e}) + 1")
        if not t.startswith("i"):
            self.emit(depth + 1, f"{t} += 1")

    # -- program ------------------------------------------------------------
    def program(self):
        nin = self.r.randint(1, 4)
        for _ in range(nin):
            shape = self.r.choice([(self.dims[0],), (self.dims[0], self.dims[1]), (self.dims[1],)])
            self.array(self.rand_dtype(), shape, "in")
        for k in range(self.r.randint(0, 3)):
            t = self.r.choice(PYTYPES + ["float32", "int16", "uint8", "float16"])
            self.scalars.append((f"s{k}", t, scalar_value(self.r, t)))
        scope = Scope()
        nblocks = self.r.randint(1, 3)
        blocks = [self.par_loop_block, self.par_loop_block, self.par_loop_block,
                  self.slice_block, self.slice_block, self.full_reduction_block,
                  self.reduce_loop_block, self.time_loop_block, self.swap_block]
        for _ in range(nblocks):
            if self.chance(0.2):
                # sequential code outside parallel loops; on a GPU it must be
                # in `with parpy.gpu:` to touch array elements.  Its locals
                # live in the block: a local assigned on the host and again
                # on the GPU is rejected (docs/gpu.md)
                if (not self.gpu_all if self.gpu else self.chance(0.2)):
                    self.emit(1, "with parpy.gpu:")
                    inner = Scope(scope) if self.gpu else scope
                    mark = len(self.lines)
                    self.body_stmts(inner, 2, 1)
                    self.nonempty(2, inner, mark)
                else:
                    self.body_stmts(scope, 1, 1)
            block = self.r.choice(blocks)
            self.features.append(block.__name__.replace("_block", ""))
            block(1, scope)
            for a in self.arrays:
                a.ready = True
        if not self.par:
            # at least one label must be in the dict
            labels = [ln for ln in self.lines if "parpy.label(" in ln]
            if labels:
                lbl = labels[0].split("'")[1]
                self.par[lbl] = "parpy.threads(4)"
            else:
                self.lines.insert(0, "    parpy.label('Lz')")
                self.lines.insert(1, "    for iz in range(1):")
                self.lines.insert(2, "        pass")
                self.par["Lz"] = "parpy.threads(1)"
        return self.render()

    def render(self):
        params = [a.name for a in self.arrays] + [n for n, _, _ in self.scalars] + ["N0", "N1"]
        # some inputs travel in a dict argument: d0['a1'][i]
        packed = [a.name for a in self.arrays if a.role == "in" and self.chance(0.15)]
        if packed:
            import re
            pat = re.compile(r"\b(" + "|".join(packed) + r")\b")
            self.lines = [pat.sub(lambda m: f"d0['{m.group(1)}']", ln) for ln in self.lines]
            params = [p for p in params if p not in packed]
            params.insert(len(self.arrays) - len(packed), "d0")
        out = [f"# ParPy fuzz program: seed {self.seed}, index {self.index}, backend {self.backend}.",
               "# Generated by tools/fuzz.py; run `python3 THIS_FILE` to replay it.",
               "import math", "import sys", "import warnings", "", "import numpy as np", "",
               "import parpy", "", ""]
        for h in self.helpers + self.subs:
            out += [h, "", ""]
        # the kernel's name: sometimes one of C's or one with a reserved prefix
        # (issue 9 items 0 and 2: such names hung or bound to libc)
        kname = self.r.choice(["kernel"] * 6 + ["select", "step", "index", "time", "random",
                                                "sleep", "advance", "parpy_kernel", "_Kernel",
                                                "__k", "main", "exit", "abort", "omp_k", "printf"])
        out.append("@parpy.jit")
        out.append(f"def {kname}({', '.join(params)}):")
        if self.gpu_all:
            out.append("    with parpy.gpu:")
            out += ["    " + ln for ln in self.lines]
        else:
            out += self.lines or ["    pass"]
        out += ["", ""]
        if kname != "kernel":
            out += [f"kernel = {kname}", "", ""]
        out.append("PAR = {" + ", ".join(f"'{k}': {v}" for k, v in self.par.items()) + "}")
        out.append(f"NAMES = {params!r}")
        out.append(f"OUTPUTS = {[params.index(a.name) for a in self.arrays if a.role == 'out']}")
        out.append(f"FEATURES = {self.features + (['gpu_all'] if self.gpu_all else [])!r}")
        out.append(f"INEXACT = {self.inexact}")
        out.append(f"REDUCTION = {self.reduction}")
        seen = self.types_seen | {a.dtype for a in self.arrays} | {t for _, ts, r in self.helper_sigs for t in ts + [r]}
        out.append(f"LEAST_FLOAT = {next((t for t in FLOATS if t in seen), 'float64')!r}")
        out.append(f"FLOAT_TO_UNSIGNED = {self.f2u}")
        out.append(f"ARGS_SEED = {self.r.randint(0, 2**31)}")
        # NaN, infinities and -0.0 among float inputs (only once NaN in max/min is fixed)
        out.append(f"SPECIALS = {'nan_maxmin' not in self.skip and self.chance(0.3)}")
        out += ["", "", "def make_args(seed=ARGS_SEED):", "    r = np.random.default_rng(seed)",
                "    return ["]
        for a in self.arrays:
            if a.name not in packed:
                out.append(f"        values(r, {a.dtype!r}, {a.shape!r}),  # {a.name}: {a.role}")
        if packed:
            out.append("        {" + ", ".join(
                f"{a.name!r}: values(r, {a.dtype!r}, {a.shape!r})" for a in self.arrays
                if a.name in packed) + "},  # d0: in")
        for n, t, v in self.scalars:
            out.append(f"        {v},  # {n}")
        out.append(f"        {self.dims[0]}, {self.dims[1]},  # N0, N1")
        out.append("    ]")
        out += ["", ""]
        out.append(RUNNER)
        return "\n".join(out) + "\n"


def kind_ok(want, kinds):
    return any(k in want for k in kinds)


def scalar_value(r, t):
    if t == "py_bool":
        return r.choice(["True", "False"])
    if t == "py_int":
        return str(r.randint(-5, 9))
    if t == "py_float":
        return repr(r.choice([0.5, -1.25, 2.0, 3.5, -0.75]))
    if np.dtype(t).kind == "f":
        return f"np.{t}({r.choice([0.5, -1.25, 2.0, 3.5])!r})"
    return f"np.{t}({r.randint(0, 9)})"


class SliceCtx:
    """Leaves of an elementwise slice expression of a given target shape."""

    def __init__(self, g, scope, shape, row=None):
        self.scope, self.shape, self.row = scope, tuple(shape), row

    def views(self, g, arr):
        n = self.shape
        out = []
        s = arr.shape
        name = arr.name
        if len(n) == 1:
            (m,) = n
            if s == (m,):
                out += [f"{name}[:]", name]
            if len(s) == 1 and s[0] == m + 1:
                out += [f"{name}[1:]", f"{name}[:-1]"]
            if len(s) == 1 and (s[0] + 1) // 2 == m and s[0] > 1:
                out.append(f"{name}[::2]")
            if len(s) == 1 and s[0] > m:
                out.append(f"{name}[{s[0] - m}:]")
            if len(s) == 2 and s[1] == m:
                out.append(f"{name}[{self.index(g, s[0])}, :]")
            if len(s) == 2 and s[0] == m:
                out.append(f"{name}[:, {g.r.randint(0, s[1] - 1)}]")
        else:
            if s == n:
                out += [f"{name}[:, :]", name]
            if len(s) == 1 and s[0] == n[1]:
                out.append(f"{name}[:]")
        return out

    def index(self, g, n):
        if self.row is not None and n == g.dims[0]:
            return self.row[0]
        return str(g.r.randint(0, n - 1))

    def operand(self, g, want):
        arrs = [a for a in g.arrays if a.role == "in" and (want is None or kind(a.dtype) in want)]
        cands = []
        for a in arrs:
            cands += [(v, a.dtype) for v in self.views(g, a)]
        if not cands:
            return None
        return g.r.choice(cands)

    def expr(self, g, target):
        for _ in range(6):
            src, t = g.expr(self.scope, 3, None if kind(target) == "f" else set("biu"), self)
            if "[" in src or any(a.name in src for a in g.arrays):
                if kind(t) == "f" and kind(target) in "iu":
                    if "float_to_int" in g.skip:
                        continue
                    if kind(target) == "u":
                        g.f2u = True
                if kind(t) == "f" and kind(target) == "b":
                    src = f"({src} > 0.5)"
                return src
        got = self.operand(g, None if kind(target) == "f" else set("biu"))
        if got is None:
            lit, _ = g.literal("i" if kind(target) in "biu" else "f")
            return lit if kind(target) != "b" else "True"
        return got[0]


# ---------------------------------------------------------------------------
# The runner embedded in every program (so a reproducer is standalone).

RUNNER = r'''def values(r, dtype, shape):
    """Inputs: small ints, floats that are multiples of 1/8 (sums are exact)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return r.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "f":
        v = (r.integers(-32, 33, size=shape) / 8).astype(dt)
        if SPECIALS:
            flat = v.reshape(-1)
            for k in r.integers(0, flat.size, size=max(1, flat.size // 8)):
                flat[k] = r.choice([np.nan, np.inf, -np.inf, -0.0])
        return v
    lo = -20 if dt.kind == "i" else 0
    return r.integers(lo, 21, size=shape).astype(dt)


def poison(a):
    if a.dtype.kind == "f":
        a.fill(np.nan)
    elif a.dtype.kind == "b":
        a.fill(True)
    else:
        a.fill(np.frombuffer(b"\xa5" * a.itemsize, dtype=a.dtype)[0])


TOL = {"float16": 4e-3, "float32": 2e-5, "float64": 1e-12}


def compare(name, ref, got, exact):
    if got.dtype != ref.dtype or got.shape != ref.shape:
        return f"{name}: {got.dtype}{got.shape} instead of {ref.dtype}{ref.shape}"
    if ref.dtype.kind != "f" or exact:
        same = (ref == got) | (np.isnan(ref) & np.isnan(got)) if ref.dtype.kind == "f" else ref == got
        if ref.dtype.kind == "f":
            # the sign of a NaN is the hardware's (x86 sets it, GPUs do not)
            same &= (np.signbit(ref) == np.signbit(got)) | np.isnan(ref)
    else:
        r64, g64 = ref.astype(np.float64), got.astype(np.float64)
        # math functions round differently (NumPy has its own SIMD versions),
        # and an error made in the narrowest float type of the program reaches
        # wider results: the tolerance is that type's
        tol = max(TOL[ref.dtype.name], TOL[LEAST_FLOAT]) * (10 if REDUCTION else 1)
        scale = np.maximum(1.0, np.abs(r64))
        with np.errstate(all="ignore"):
            same = (np.abs(r64 - g64) <= tol * scale) | (r64 == g64) | (np.isnan(r64) & np.isnan(g64))
    if np.all(same):
        return None
    bad = np.argwhere(~np.asarray(same))
    k = tuple(bad[0])
    return (f"{name}: {len(bad)} of {ref.size} elements differ; at {list(k)}: "
            f"compiled {got[k]!r}, interpreted {ref[k]!r}")


def run(backend="Cpu", extra_flags=(), seed=ARGS_SEED, exact=None):
    """Returns (outcome, detail): match / mismatch / ub-cast / rejected / invalid / error."""
    args = make_args(seed)
    def copy(a):
        if isinstance(a, dict):
            return {k: copy(v) for k, v in a.items()}
        return a.copy() if isinstance(a, np.ndarray) else a
    ref = [copy(a) for a in args]
    got = [copy(a) for a in args]
    for k in OUTPUTS:
        ref[k].fill(0)
        poison(got[k])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            try:
                kernel(*ref, seq=True)
            except Exception as e:
                return "invalid", f"interpreter raised {type(e).__name__}: {e}"
    cast_ub = any("cast" in str(w.message) for w in caught)
    opts = parpy.par(dict(PAR))
    opts.backend = getattr(parpy.CompileBackend, backend)
    opts.extra_flags = list(extra_flags)
    try:
        kernel(*got, opts=opts)
    except parpy.ParPyError as e:
        return "rejected", f"{type(e).__name__}: {e}"
    except Exception as e:
        return "error", f"compiled call raised {type(e).__name__}: {e}"
    if exact is None:
        exact = not INEXACT and not REDUCTION
    pairs = []
    for k, (r, g) in enumerate(zip(ref, got)):
        if isinstance(r, dict):
            pairs += [(f"{NAMES[k]}[{key!r}]", r[key], g[key]) for key in r]
        else:
            pairs.append((NAMES[k], r, g))
    for name, r, g in pairs:
        if isinstance(r, np.ndarray):
            msg = compare(name, r, g, exact)
            if msg:
                return ("ub-cast" if cast_ub or FLOAT_TO_UNSIGNED else "mismatch"), msg
    return "match", ""


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Replay one fuzz program.")
    ap.add_argument("--backend", default="Cpu")
    ap.add_argument("--ubsan", action="store_true")
    ap.add_argument("--exact", action="store_true", help="compare floats bit for bit")
    ap.add_argument("--print", action="store_true", help="print the generated code")
    a = ap.parse_args()
    flags = ["-fsanitize=undefined,float-cast-overflow"] if a.ubsan else []
    if a.print:
        o = parpy.par(dict(PAR))
        o.backend = getattr(parpy.CompileBackend, a.backend)
        print(parpy.print_compiled(kernel, make_args(), o))
    outcome, detail = run(a.backend, flags, exact=True if a.exact else None)
    print(outcome, detail)
    sys.exit(0 if outcome in ("match", "rejected", "invalid") else 1)
'''

# ---------------------------------------------------------------------------
# Worker: runs programs, one JSON line per program on stdout.

UBSAN_FLAGS = ["-fsanitize=undefined,float-cast-overflow"]


def load(path, modname):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


INJECTED = """import sys
import warnings

import numpy as np
import parpy


@parpy.jit
def kernel(a0, a1, N0):
    parpy.label('L0')
    for i in range(N0):
        a1[i] = a0[i] * 2.0


PAR = {'L0': parpy.threads(4)}
NAMES = ['a0', 'a1', 'N0']
OUTPUTS = [1]
INEXACT = REDUCTION = FLOAT_TO_UNSIGNED = SPECIALS = False
LEAST_FLOAT = 'float64'
ARGS_SEED = 1


def make_args(seed=ARGS_SEED):
    r = np.random.default_rng(seed)
    return [values(r, 'float64', (10,)), values(r, 'float64', (10,)), 10]


""" + RUNNER


def wrong_interpreter(kernel):
    """The kernel, but its interpreted run changes one element afterwards
    (--inject mismatch: the comparison must notice)."""
    def run(*args, seq=False, opts=None):
        if not seq:
            return kernel(*args, opts=opts)
        kernel(*args, seq=True)
        a = next(x for x in args if isinstance(x, np.ndarray))
        a.reshape(-1)[0] = not a.reshape(-1)[0] if a.dtype.kind == "b" else a.reshape(-1)[0] + 1
    return run


def worker(cfg):
    """Runs the programs whose indices arrive on stdin, one a line, until
    stdin closes; reports {"start": k} before and the outcome after each."""
    out = sys.stdout
    sys.stdout = sys.stderr   # programs' prints never reach the protocol stream
    skip = frozenset(cfg["skip"])
    work = cfg["work"]
    inject = cfg.get("inject") or {}
    for line in sys.stdin:
        index = int(line)
        out.write(json.dumps({"start": index}) + "\n")
        out.flush()
        out.write(json.dumps(run_one(cfg, skip, work, inject, index)) + "\n")
        out.flush()


def compile_only(mod, backend, path, how):
    """--compile-only (a Cuda check without a GPU): print the program's
    code and build it with nvcc -c as the Cuda target would (sm_90, no
    fused multiply-add); --print-only stops after printing.  Outcomes:
    compiled / rejected / error."""
    import parpy
    opts = parpy.par(dict(mod.PAR))
    opts.backend = getattr(parpy.CompileBackend, backend)
    try:
        code = parpy.print_compiled(mod.kernel, mod.make_args(), opts)
    except parpy.ParPyError as e:
        return "rejected", f"{type(e).__name__}: {e}"
    except Exception as e:
        return "error", f"print_compiled raised {type(e).__name__}: {e}"
    if backend != "Cuda" or how != "nvcc":
        return "compiled", ""
    inc = os.path.join(os.path.dirname(parpy.__file__), "include")
    src = path[:-3] + ".cu"
    with open(src, "w") as f:
        f.write(code)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    r = subprocess.run(["nvcc", "-std=c++17", "-O3", "-arch=sm_90", "--fmad=false", "-c",
                        f"-I{inc}", src, "-o", path[:-3] + ".o"],
                       capture_output=True, text=True, env=env)
    for ext in (".cu", ".o"):
        if os.path.exists(path[:-3] + ext) and r.returncode == 0:
            os.unlink(path[:-3] + ext)
    if r.returncode != 0:
        return "error", "nvcc failed:\n" + (r.stdout + r.stderr)[-1500:]
    return "compiled", ""


def run_one(cfg, skip, work, inject, index):
    path = os.path.join(work, f"prog_{index}.py")
    t0 = time.time()
    try:
        src = Gen(cfg["seed"], index, cfg["backend"], skip).program()
    except Exception as e:
        return {"index": index, "outcome": "generator", "features": [],
                "detail": f"generator raised {type(e).__name__}: {e}"}
    errpath = path[:-3] + ".stderr"
    with open(path, "w") as f:
        f.write(src)
    if inject.get(str(index)) == "mismatch":
        with open(path, "w") as f:   # a program known to match, made wrong below
            f.write(INJECTED)
    if inject.get(str(index)) == "crash":
        os.abort()   # --inject: the supervisor must report a crash
    if inject.get(str(index)) == "hang":
        time.sleep(3600)
    fd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    os.dup2(fd, 2)
    os.close(fd)
    features = []
    try:
        mod = load(path, f"fuzzprog_{index}")
        features = list(getattr(mod, "FEATURES", []))
        if inject.get(str(index)) == "mismatch":
            mod.kernel = wrong_interpreter(mod.kernel)
        if cfg.get("compile_only"):
            outcome, detail = compile_only(mod, cfg["backend"], path, cfg["compile_only"])
        else:
            outcome, detail = mod.run(cfg["backend"], UBSAN_FLAGS if cfg["ubsan"] else [],
                                      exact=None if cfg["exact"] else False)
    except Exception as e:  # a generator bug: the program does not even load
        outcome, detail = "generator", f"{type(e).__name__}: {e}"
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    with open(errpath, errors="replace") as f:
        err = f.read()
    if cfg["ubsan"] and "runtime error:" in err and outcome in ("match", "mismatch", "ub-cast"):
        line = next(ln for ln in err.splitlines() if "runtime error:" in ln)
        outcome, detail = "ubsan", line.split("runtime error:", 1)[1].strip() + "; " + detail
    sys.modules.pop(f"fuzzprog_{index}", None)
    return {"index": index, "outcome": outcome, "detail": detail[:2000], "features": features,
            "seconds": round(time.time() - t0, 3)}


# ---------------------------------------------------------------------------
# Supervisor: --jobs worker processes take the next program as soon as they
# finish one (programs differ a lot in cost: a Cuda build takes seconds, an
# invalid program milliseconds).  A worker that dies or hangs is replaced,
# and the program it was running counts as a crash.

FAILURES = ("mismatch", "error", "crash", "ubsan", "generator")


class Worker:
    def __init__(self, sup, wid):
        self.sup, self.wid = sup, wid
        self.current = None    # index of the program it runs, once it said so
        self.sent = None       # index sent, not yet finished
        self.since = time.time()
        self.buf = b""         # bytes read from its stdout, not yet a whole line
        self.logpath = os.path.join(sup.work, f"worker_{wid}.log")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(sup.cfg)]
        if sup.args.nice:
            cmd = ["nice", "-n", str(sup.args.nice)] + cmd
        with open(self.logpath, "a") as log:
            self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=log, env=sup.env, text=True, bufsize=1)

    def lines(self):
        """The whole lines available now (read with os.read: a buffered
        readline could keep a second line in its buffer, where select()
        does not see it), or None at end of file."""
        data = os.read(self.p.stdout.fileno(), 1 << 16)
        if not data:
            return None
        self.buf += data
        *whole, self.buf = self.buf.split(b"\n")
        return [ln.decode() for ln in whole if ln.strip()]

    def send(self, index):
        self.sent, self.current, self.since = index, None, time.time()
        try:
            self.p.stdin.write(f"{index}\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass   # it died: its stdout's end of file reports it

    def close(self):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def log_tail(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()[-1500:]


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.skip = sorted(set(KNOWN_BUGS) - set(args.enable))
        self.work = tempfile.mkdtemp(prefix="parpy-fuzz-")
        self.env = dict(os.environ)
        self.env.update(dict(kv.split("=", 1) for kv in args.env))
        self.env.setdefault("PARPY_CACHE_DIR", os.path.join(self.work, "cache"))
        self.cfg = {"seed": args.seed, "backend": args.backend, "ubsan": args.ubsan,
                    "skip": self.skip, "work": self.work,
                    "inject": dict(x.split("@")[::-1] for x in args.inject),   # index -> kind
                    "exact": not args.no_exact,
                    "compile_only": "nvcc" if args.compile_only else
                                    "print" if args.print_only else None}
        os.makedirs(args.out, exist_ok=True)
        self.counts, self.by_feature, self.reasons = {}, {}, {}
        self.seconds = []
        self.tag = f"{args.backend.lower()}_s{args.seed}_{args.start}"
        self.results = open(os.path.join(args.out, f"results_{self.tag}.jsonl"), "w")
        self.todo = list(range(args.start + args.count - 1, args.start - 1, -1))   # a stack
        self.nworkers = 0

    def record(self, index, outcome, detail, features=(), seconds=None):
        a = self.args
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        for f in features or ["?"]:
            c = self.by_feature.setdefault(f, {})
            c[outcome] = c.get(outcome, 0) + 1
        if outcome in ("rejected", "invalid", "error", "generator", "crash"):
            # what the compiler rejects (or the interpreter refuses) most,
            # by the first line of the message without its names
            key = outcome + ": " + " ".join(w if "'" not in w else "'_'"
                                            for w in detail.splitlines()[0].split()[:14]) \
                if detail else outcome
            self.reasons[key] = self.reasons.get(key, 0) + 1
        if seconds is not None:
            self.seconds.append(seconds)
        self.results.write(json.dumps({"index": index, "outcome": outcome, "detail": detail,
                                       "features": list(features)}) + "\n")
        self.results.flush()
        saved = outcome in FAILURES or outcome == "ub-cast" and a.keep_ubcast
        if saved:
            src = os.path.join(self.work, f"prog_{index}.py")
            dst = os.path.join(a.out, f"{outcome}_s{a.seed}_{index}.py")
            if os.path.exists(src):
                with open(src) as f:
                    text = f.read()
                head = "".join(f"# {ln}\n" for ln in f"outcome: {outcome}: {detail}".splitlines())
                with open(dst, "w") as f:
                    f.write(head + text)
            if not a.quiet:
                print(f"[{index}] {outcome}: {detail}"[:3000], flush=True)
        for suffix in (".py", ".stderr"):
            p = os.path.join(self.work, f"prog_{index}{suffix}")
            if os.path.exists(p) and not saved:
                os.unlink(p)

    def spawn(self):
        self.nworkers += 1
        return Worker(self, self.nworkers)

    def feed(self, w, t0):
        """Give w its next program, or close it when none is left (or the
        time budget is spent)."""
        budget = self.args.time_budget
        if self.todo and not (budget and time.time() - t0 > budget):
            w.send(self.todo.pop())
        else:
            w.sent = w.current = None
            w.close()

    def run(self):
        a = self.args
        t0 = time.time()
        running = []
        for _ in range(max(1, min(a.jobs, a.count))):
            w = self.spawn()
            running.append(w)
            self.feed(w, t0)
        while running:
            fds = {w.p.stdout.fileno(): w for w in running}
            ready, _, _ = select.select(list(fds), [], [], 1.0)
            for fd in ready:
                w = fds[fd]
                lines = w.lines()
                if lines is None:
                    # the worker died: the program it was running crashed it
                    rc = w.p.wait()
                    running.remove(w)
                    if w.sent is not None:
                        self.record(w.sent, "crash", f"worker died with exit status {rc}\n"
                                    + w.log_tail())
                        nw = self.spawn()
                        running.append(nw)
                        self.feed(nw, t0)
                    continue
                for line in lines:
                    msg = json.loads(line)
                    if "start" in msg:
                        w.current, w.since = msg["start"], time.time()
                    else:
                        w.sent = w.current = None
                        self.record(msg["index"], msg["outcome"], msg["detail"],
                                    msg.get("features", []), msg.get("seconds"))
                        self.feed(w, t0)
            for w in list(running):
                if w.sent is not None and time.time() - w.since > a.timeout:
                    w.p.kill()
                    w.p.wait()
                    running.remove(w)
                    self.record(w.sent, "crash", f"hung for more than {a.timeout} s")
                    nw = self.spawn()
                    running.append(nw)
                    self.feed(nw, t0)
        return self.summary(t0)

    def summary(self, t0):
        a = self.args
        secs = sorted(self.seconds)
        ran = sum(self.counts.values())
        summary = {"seed": a.seed, "start": a.start, "count": a.count, "ran": ran,
                   "stopped_by_time_budget": ran < a.count,
                   "backend": a.backend, "ubsan": a.ubsan, "jobs": a.jobs,
                   "seconds": round(time.time() - t0, 1),
                   # CPU time of the workers and their compilers: what the
                   # run costs on an idle machine, whatever the load here
                   "cpu_seconds": round(cpu_seconds(), 1),
                   "seconds_per_program": {
                       "median": secs[len(secs) // 2] if secs else None,
                       "p90": secs[int(len(secs) * 0.9)] if secs else None,
                       "max": secs[-1] if secs else None},
                   "counts": dict(sorted(self.counts.items())),
                   "failures": sum(self.counts.get(k, 0) for k in FAILURES),
                   "skipped": self.skip}
        full = dict(summary)
        full["by_feature"] = {f: dict(sorted(c.items())) for f, c in sorted(self.by_feature.items())}
        full["top_reasons"] = dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])[:40])
        full["reproducers"] = sorted(f for f in os.listdir(a.out) if f.endswith(".py")
                                     and f"_s{a.seed}_" in f)
        with open(os.path.join(a.out, f"summary_{self.tag}.json"), "w") as f:
            json.dump(full, f, indent=1)
            f.write("\n")
        shutil.rmtree(self.work, ignore_errors=True)
        self.results.close()
        print(json.dumps(summary), flush=True)
        return summary


def cpu_seconds():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="index of the first program")
    ap.add_argument("--backend", default="Cpu",
                    help="a parpy.CompileBackend name: Cpu, Cuda, or a simulator of the "
                         "GPU (a name containing 'Cuda' gets programs valid on a GPU)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in the workers' environment (e.g. a simulator's switch)")
    ap.add_argument("--out", default="fuzz-out", help="directory for reproducers and summaries")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--ubsan", action="store_true", help="build with -fsanitize=undefined")
    ap.add_argument("--timeout", type=float, default=120, help="seconds before a program counts as hung")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="start no program after this many seconds (0: no limit); "
                         "the summary says how many ran")
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--compile-only", action="store_true",
                    help="only print each program's code and build it (nvcc -c for Cuda): "
                         "a check of the Cuda printer on a machine without a GPU")
    ap.add_argument("--print-only", action="store_true",
                    help="only print each program's code (print_compiled)")
    ap.add_argument("--enable", action="append", default=[], choices=sorted(KNOWN_BUGS),
                    help="generate a known-bug construct anyway")
    ap.add_argument("--no-exact", action="store_true",
                    help="compare floats with a tolerance even where they should match bit for bit")
    ap.add_argument("--keep-ubcast", action="store_true", help="save ub-cast programs too")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--inject", action="append", default=[], metavar="KIND@INDEX",
                    help="self-test: make program INDEX crash, hang or mismatch")
    ap.add_argument("--print", type=int, metavar="INDEX", help="print program INDEX and exit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if args.print is not None:
        skip = frozenset(set(KNOWN_BUGS) - set(args.enable))
        sys.stdout.write(Gen(args.seed, args.print, args.backend, skip).program())
        return 0
    import parpy
    if not hasattr(parpy.CompileBackend, args.backend):
        ap.error(f"no backend {args.backend!r}: parpy.CompileBackend has "
                 f"{[n for n in dir(parpy.CompileBackend) if not n.startswith('_')]}")
    s = Supervisor(args).run()
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
