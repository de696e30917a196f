"""Gen: the program of one (seed, index), rendered as a standalone module.
Its expressions, statements and blocks are in exprs.py, stmts.py and
blocks.py; every choice is drawn from one random.Random in a fixed order,
so a (seed, index) always gives the same program."""
import random

import numpy as np

from .blocks import Blocks
from .dtypes import DTYPES, FLOATS, PYTYPES, kind
from .exprs import Expressions
from .known_bugs import KNOWN_BUGS
from .model import Arr, Scope, scalar_value
from .reproducer import RUNNER
from .stmts import Statements


class Gen(Blocks, Statements, Expressions):
    """One program: Gen(seed, index, backend).program() is its source."""

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
