"""The program model: array arguments, the scopes expressions are drawn
from, and scalar arguments' values."""
import numpy as np


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

    def within(self, flag):
        """Whether this scope or one around it has `flag` ("par", "helper") set."""
        s = self
        while s is not None:
            if getattr(s, flag):
                return True
            s = s.parent
        return False

    def in_helper(self):
        return self.within("helper")

    def in_par(self):
        return self.within("par")


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
