"""Float sums of parallel reductions on Cuda are as accurate as NumPy's
pairwise sums (issue 9 item 17): each thread's share is a compensated sum
(src/target/cuda/sum.c).  The printed code is checked anywhere (and built
with nvcc where it is installed); the errors are measured on a GPU."""
import math

import numpy as np
import pytest

import parpy
from harness import needs_nvcc, nvcc_compile
from parpy import _core

Cuda = parpy.CompileBackend.Cuda
CUDA = parpy.backend.is_enabled(Cuda)
_why = "" if CUDA else _core.cuda_usable()[1] or "this build has no Cuda target"
gpu = pytest.mark.skipif(not CUDA, reason=f"the Cuda backend is not enabled: {_why}")


@parpy.jit
def slice_sum(x, out):
    parpy.label('N')
    out[0] = parpy.operators.sum(x[:])


@parpy.jit
def reduce_loop(x, out, N):
    parpy.label('NR')
    for i in range(N):
        out[0] += x[i]


@parpy.jit
def row_sums(x, out, M):
    parpy.label('R')
    for i in range(x.shape[0]):
        parpy.label('N')
        out[i] = parpy.operators.sum(x[i, :])


def opts(threads):
    o = parpy.par({'N': parpy.threads(threads), 'NR': parpy.threads(threads).reduce(),
                   'R': parpy.threads(4)})
    o.backend = Cuda
    return o


def code(fn, args, threads):
    return parpy.print_compiled(fn, args, opts(threads))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_each_threads_share_is_a_compensated_sum(dtype):
    x = np.ones(204800, dtype)
    for fn, args in [(slice_sum, [x, np.zeros(1, dtype)]),
                     (reduce_loop, [x, np.zeros(1, dtype), x.size]),
                     (row_sums, [x.reshape(4, -1), np.zeros(4, dtype), 51200])]:
        c = code(fn, args, 1024)
        assert "compensated sum" in c, c
        wide = "double" if dtype == np.float64 else "float"   # float16 sums in float
        assert f"{wide} acc_s = " in c or f"{wide} s_s = " in c, c


def test_one_element_per_thread_stays_plain():
    """Threads that add one element each have nothing to compensate."""
    x = np.ones(1000, np.float32)
    assert "compensated" not in code(slice_sum, [x, np.zeros(1, np.float32)], 1024)
    # integers are exact in any order
    xi = np.ones(100000, np.int32)
    assert "compensated" not in code(slice_sum, [xi, np.zeros(1, np.int64)], 1024)


@needs_nvcc
def test_compensated_sums_compile(tmp_path):
    parts = []
    for k, dtype in enumerate([np.float16, np.float32, np.float64]):
        x = np.ones(1 << 20, dtype)
        c = code(slice_sum, [x, np.zeros(1, dtype)], 1024 if k != 1 else 1 << 18)
        # one translation unit per type would need three nvcc runs: rename
        parts.append(c.replace("slice_sum", f"slice_sum{k}").replace("parpy_code", f"parpy_code{k}"))
    for k, part in enumerate(parts):
        failed = nvcc_compile(part, tmp_path, f"sums{k}", flags=["--fmad=false"])
        assert failed is None, failed


# ---- on the GPU: the error against math.fsum, next to NumPy's ----------------

def errors(x, got):
    exact = math.fsum(x.astype(np.float64).tolist())
    ref = float(np.sum(x))
    scale = float(np.sum(np.abs(x.astype(np.float64))))
    return abs(float(got) - exact) / scale, abs(ref - exact) / scale


@pytest.mark.cuda
@gpu
@pytest.mark.parametrize("n", [204800, 1 << 24])
@pytest.mark.parametrize("threads", [32, 1024, 1 << 18])
@pytest.mark.parametrize("fn", ["slice_sum", "reduce_loop"])
def test_float32_sum_is_as_accurate_as_numpys(n, threads, fn):
    """The bound (docs/gpu.md): the error of a float32 sum is at most
    4 times NumPy's, or 4 eps * sum(|x|) where NumPy happens to be exact."""
    rng = np.random.default_rng(n + threads)
    eps = float(np.finfo(np.float32).eps)
    for x in [rng.random(n, dtype=np.float32),                     # all positive
              (rng.random(n, dtype=np.float32) - 0.25).astype(np.float32)]:
        out = np.zeros(1, np.float32)
        if fn == "slice_sum":
            slice_sum(x, out, opts=opts(threads))
        else:
            reduce_loop(x, out, n, opts=opts(threads))
        ours, numpys = errors(x, out[0])
        assert ours <= 4 * max(numpys, eps), (ours, numpys)
