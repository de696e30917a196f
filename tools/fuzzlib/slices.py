"""Elementwise slice expressions (`y[:] = x[1:] * 2`) and their operands."""
from .dtypes import kind


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
