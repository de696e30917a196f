"""Expressions of the generated programs: leaves, operators, calls of the
math library, conversions and jitted helpers, each of a type known by
asking NumPy (dtypes.py)."""
import math

import numpy as np

from .dtypes import (ANNOT, BINOPS, CMPOPS, MATH1, MATH2, MATH_BOOL, MATH_INT, MATH_ONLY,
                     PYTYPES, bits, kind, kind_ok, result_type, weak)
from .model import Scope


class Expressions:
    """Gen's expression methods (mixed into gen.Gen)."""

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
        body, rt = self.expr(hs, 2, None)
        lines = ["@parpy.jit",
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
