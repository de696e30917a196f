"""The blocks a program body is made of: parallel loops over rows, slice
statements, full and axis reductions, `.reduce()` loops, time loops and
buffer swaps; each writes arrays without races by construction."""
import numpy as np

from .dtypes import BINOPS, kind, result_type
from .model import Scope
from .slices import SliceCtx


class Blocks:
    """Gen's block methods (mixed into gen.Gen)."""

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
            rhs = "x[j] & (j > 2)"
            if kind(out.dtype) != "b":
                rhs = "(x[j] & (j > 2)) + 1"
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
