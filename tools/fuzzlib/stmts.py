"""Statements of the generated programs: locals, if, while, sequential for
loops and reductions into locals (no writes to arrays)."""
from .dtypes import kind, weak
from .model import Scope


class Statements:
    """Gen's statement methods (mixed into gen.Gen)."""

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
