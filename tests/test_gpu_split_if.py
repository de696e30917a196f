"""A GPU kernel split inside an if-statement (issue 10 item 13): when the
statements of a branch depend on each other across thread blocks, the
if-statement is distributed over the kernels its branches are cut into, its
condition computed once per iteration before them.  The code is checked
without a GPU (structure, nvcc); the runs are marked `cuda`."""
import re

import numpy as np
import pytest

import parpy
from parpy.operators import sum as psum
from harness import check, rng, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)

T = parpy.threads
Cuda = parpy.CompileBackend.Cuda


@parpy.jit
def normalise_or_double(x, flags, out, N):
    parpy.label('i')
    for i in range(N):
        if flags[i] > 0.5:
            parpy.label('j')
            s = psum(x[i, :])
            parpy.label('j')
            out[i, :] = x[i, :] / s
        else:
            parpy.label('j')
            out[i, :] = x[i, :] * 2.0
        flags[i] = flags[i] + 1.0  # the condition is read before this


@parpy.jit
def nested_ifs(x, flags, out, N):
    parpy.label('i')
    for i in range(N):
        if flags[i] > 0.5:
            parpy.label('j')
            out[i, :] = x[i, :] + 1.0
            parpy.label('j')
            out[i, 1:] = out[i, :-1] * 3.0
        elif flags[i] > 0.25:
            parpy.label('j')
            out[i, :] = x[i, :] - 1.0
            parpy.label('j')
            out[i, :] = out[i, ::-1]
        else:
            parpy.label('j')
            out[i, :] = 0.0


def args(rng, N, M):
    return [rng.pos((N, M)) + 0.5, rng.pos(N), np.zeros((N, M)), N]


def cuda(par):
    o = parpy.par(par)
    o.backend = Cuda
    return o


PROGRAMS = [
    ("normalise_or_double", normalise_or_double, {'i': T(6), 'j': T(2048)}),
    ("nested_ifs", nested_ifs, {'i': T(6), 'j': T(2048)}),
]


def code_of(name, M=3000):
    from harness import Gen
    for n, fn, par in PROGRAMS:
        if n == name:
            return parpy.print_compiled(fn, args(Gen(0), 6, M), cuda(par))
    raise KeyError(name)


def test_cpu_reference(rng):
    """The programs themselves, on the Cpu (no split there)."""
    for _, fn, par in PROGRAMS:
        check(fn, args(rng, 6, 3000), par, outputs=[2], reduction=True)


def test_condition_computed_once_then_branches_guarded():
    code = code_of("normalise_or_double")
    kernels = code.split("__global__")[1:]
    assert sum(bool(re.search(r"cond_\d+\[i\] = cond(_\d+)?;", k)) for k in kernels) == 1
    then = [k for k in kernels if re.search(r"if \(cond_\d+\[i\]\)", k)]
    els = [k for k in kernels if re.search(r"if \(!cond_\d+\[i\]\)", k)]
    assert len(then) == 3 and len(els) == 1  # sum, its second pass, the division; doubling
    # flags[i] changes after the if: in a kernel of its own, after every branch piece
    last = [k for k in kernels if "flags[i] +=" in k]
    assert len(last) == 1 and kernels.index(last[0]) == len(kernels) - 1


def test_one_block_needs_no_split():
    from harness import Gen
    code = parpy.print_compiled(normalise_or_double, args(Gen(0), 6, 500),
                                cuda({'i': T(6), 'j': T(512)}))
    assert code.count("__global__") == 1 and "cond" not in code


def test_nested_ifs_are_split_level_by_level():
    code = code_of("nested_ifs")
    assert re.search(r"if \(!cond_\d+\[i\]\) \{\s*if \(cond_\d+\[i\]\)", code)


@needs_nvcc
def test_compiles_with_nvcc(tmp_path):
    for name, *_ in PROGRAMS:
        failed = nvcc_compile(code_of(name), tmp_path, name)
        assert failed is None, failed


@pytest.mark.cuda
@pytest.mark.skipif(not parpy.backend.is_enabled(Cuda), reason="no CUDA GPU")
@pytest.mark.parametrize("name", [n for n, *_ in PROGRAMS])
def test_cuda_differential(rng, name):
    for n, fn, par in PROGRAMS:
        if n == name:
            check(fn, args(rng, 6, 3000), par, outputs=[2], backend=Cuda, reduction=True)
