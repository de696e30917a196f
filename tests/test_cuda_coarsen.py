"""Cuda kernels that run a level on fewer threads than its label asks for
(coarsening, issue 14 items 1 and 2), and what the printer promises nvcc
about the parameters (const, __restrict__).

The code checks run anywhere (print_compiled, and nvcc -c where nvcc is
installed).  Tests marked `cuda` run the kernels on a GPU against the
interpreter, at sizes that are not multiples of the block size or of the
iterations per thread (1, primes, one more than a chunk), with host arrays
and with offset views of torch tensors."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import parpy
from harness import check, rng, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)
from parpy.operators import max as pmax, min as pmin
from test_diff_structure import pick_per_element, swap_steps
import programs

T = parpy.threads
Cuda = parpy.CompileBackend.Cuda
needs_gpu = pytest.mark.skipif(not parpy.backend.is_enabled(Cuda),
                               reason="the Cuda backend is not enabled")


@pytest.fixture(autouse=True)
def coarsening_on(monkeypatch):
    """Coarsening is opt-in until it has run on a GPU (docs/gpu.md)."""
    monkeypatch.setenv("PARPY_CUDA_COARSEN", "1")


def cuda(par, **fields):
    opts = parpy.par(par)
    opts.backend = Cuda
    for k, v in fields.items():
        setattr(opts, k, v)
    return opts


def f32(*shape):
    return np.zeros(shape, np.float32)


# --- programs --------------------------------------------------------------

# Copies of tests/programs.py's with caches of their own: coarsening is read
# from the environment, which the in-memory cache's key does not include.
axpy, row_sums, softmax = map(programs.private, (programs.axpy, programs.row_sums,
                                                 programs.softmax))


@parpy.jit
def backwards(x, y, N):
    # a negative step and a bound that is not 0: every third element from the end
    parpy.label('N')
    for i in range(N - 1, 1, -3):
        y[i] = x[i] * 2 - x[i - 1]


@parpy.jit
def per_element_loop(x, y, N, K):
    # a body with a sequential loop, a branch and locals
    parpy.label('N')
    for i in range(N):
        s = 0.0
        for k in range(K):
            s += x[i, k] * (k + 1)
        if s > 0.0:
            y[i] = s
        else:
            y[i] = -s * 0.5


@parpy.jit
def int_elementwise(a, b, c, N):
    parpy.label('N')
    for i in range(N):
        c[i] = a[i] // 3 + b[i] % 7


@parpy.jit
def row_min_max(x, lo, hi, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        lo[i] = pmin(x[i, :])
        parpy.label('M')
        hi[i] = pmax(x[i, :])


@parpy.jit
def add_rows(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, j] + 1.0


@parpy.jit
def helper_target(x: parpy.types.pointer(parpy.types.F32), i: parpy.types.I64):
    x[i] = x[i] + 1.0


@parpy.jit
def via_helper(x, y, N):
    parpy.label('N')
    for i in range(N):
        helper_target(x, i)
        y[i] = x[i]


@parpy.jit
def dict_axpy(d, N):
    parpy.label('N')
    for i in range(N):
        d["y"][i] = d["k"] * d["x"][i] + d["y"][i]


def launches(code):
    return re.findall(r"PARPY_LAUNCH\((\w+), dim3\((\d+), (\d+), (\d+)\), dim3\((\d+), 1, 1\)", code)


def kernel_params(code, name):
    return re.search(name + r"\((.*?)\) \{", code).group(1)


# --- elementwise kernels of one level (item 1) -----------------------------

@pytest.mark.parametrize("threads", [1000003, 1024, 1 << 20, 7])
def test_elementwise_runs_four_iterations_per_thread_whatever_the_label_asks(threads):
    n = 1000003
    code = parpy.print_compiled(axpy, [2.0, f32(n), f32(n), n], cuda({'N': T(threads)}))
    (name, gx, gy, gz, tx), = launches(code)
    assert (gx, gy, gz, tx) == (str(-(-n // 1024)), "1", "1", "256")
    assert "coarsened: 977 blocks of 256 threads, each running 4 of the 1000003 iterations" in code
    assert "#pragma unroll" in code
    # 976 whole chunks of 1024 need no guard; the last one does
    assert "if ((int32_t)blockIdx.x < 976) {  /* a whole chunk */" in code
    assert "if (parpy_t < 1000003) {" in code
    assert "int64_t i = (int64_t)(parpy_first + parpy_u * 256);" in code


def test_elementwise_chunks_all_whole_or_one_partial():
    code = parpy.print_compiled(axpy, [2.0, f32(4096), f32(4096), 4096], cuda({'N': T(4096)}))
    assert "a whole chunk" not in code and "parpy_t" not in code and "#pragma unroll" in code
    code = parpy.print_compiled(axpy, [2.0, f32(300), f32(300), 300], cuda({'N': T(300)}))
    assert "the only chunk, in part" in code and "#pragma unroll" not in code


def test_elementwise_small_or_tpb_keeps_its_mapping():
    # no more iterations than one block of threads: the ordinary mapping
    code = parpy.print_compiled(axpy, [2.0, f32(200), f32(200), 200], cuda({'N': T(256)}))
    assert "coarsened" not in code
    # a tpb the user set is the block size of the coarsened kernel
    code = parpy.print_compiled(axpy, [2.0, f32(5000), f32(5000), 5000],
                                cuda({'N': T(5000).tpb(128)}))
    (name, gx, gy, gz, tx), = launches(code)
    assert (gx, tx) == (str(-(-5000 // 512)), "128")


def test_elementwise_steps_and_bounds():
    code = parpy.print_compiled(backwards, [f32(5001), f32(5001), 5001], cuda({'N': T(64)}))
    assert "int64_t i = N - 1 - 3 * (int64_t)(" in code


def test_coarsening_is_off_by_default(monkeypatch):
    monkeypatch.delenv("PARPY_CUDA_COARSEN")
    code = parpy.print_compiled(axpy, [2.0, f32(5000), f32(5000), 5000], cuda({'N': T(1024)}))
    assert "coarsened" not in code and launches(code)[0][1:] == ("1", "1", "1", "1024")
    code = parpy.print_compiled(row_sums, [f32(10, 1024), f32(10), 10],
                                cuda({'N': T(10), 'M': T(1024)}))
    assert "coarsened" not in code and launches(code)[0][4] == "1024"
    # const and __restrict__ stay: they are on by default
    assert "const float *__restrict__ x" in code


def test_metal_is_not_coarsened():
    opts = parpy.par({'N': T(1024)})
    opts.backend = parpy.CompileBackend.Metal
    code = parpy.print_compiled(axpy, [2.0, f32(5000), f32(5000), 5000], opts)
    assert "coarsened" not in code and "__restrict__" not in code


# --- reductions: fewer threads per row (item 2) -----------------------------

@pytest.mark.parametrize("m,expect", [(1024, 128), (512, 128), (256, 128), (128, 128), (64, 64)])
def test_row_reduction_levels_get_about_eight_iterations_per_thread(m, expect):
    code = parpy.print_compiled(row_sums, [f32(100, 1024), f32(100), 100],
                                cuda({'N': T(100), 'M': T(m)}))
    (name, gx, gy, gz, tx), = launches(code)
    assert int(tx) == expect
    assert (f"coarsened: {expect} threads, not {m}, run this level" in code) == (expect < m)
    assert f"__launch_bounds__({expect})" in code


def test_long_rows_keep_more_threads():
    code = parpy.print_compiled(row_sums, [f32(10, 8000), f32(10), 10],
                                cuda({'N': T(10), 'M': T(1024)}))
    (name, gx, gy, gz, tx), = launches(code)
    assert tx == "1024"  # 8000 / 8 rounds up to 1024 threads: as asked
    code = parpy.print_compiled(row_sums, [f32(10, 3000), f32(10), 10],
                                cuda({'N': T(10), 'M': T(1024)}))
    assert launches(code)[0][4] == "384"


def test_rows_across_blocks_are_not_coarsened():
    code = parpy.print_compiled(row_sums, [f32(10, 5000), f32(10), 10],
                                cuda({'N': T(10), 'M': T(4096).tpb(512)}))
    assert "coarsened" not in code and len(launches(code)) == 2


def test_softmax_levels_share_the_coarsened_threads():
    code = parpy.print_compiled(softmax, [f32(64, 1024), f32(64, 1024), 64],
                                cuda({'N': T(64), 'M': T(1024)}))
    (name, gx, gy, gz, tx), = launches(code)
    assert tx == "128"
    assert code.count("coarsened: 128 threads, not 1024") == 4
    assert code.count("parpy_block_reduce") == 2 and code.count("__syncthreads();") == 1


def test_parallel_externals_keep_their_threads():
    ext = parpy.external("__fake_warp_sum", Cuda, parpy.Target.Device,
                         parallelize=parpy.threads(32))

    @ext
    def warp_sum(x: parpy.types.F32) -> parpy.types.F32:
        return x

    @parpy.jit
    def uses(x, y, N):
        parpy.label('N')
        for i in range(N):
            parpy.label('M')
            for j in range(256):
                y[i, j] = warp_sum(x[i, j])

    code = parpy.print_compiled(uses, [f32(4, 256), f32(4, 256), 4], cuda({'N': T(4), 'M': T(256)}))
    assert "coarsened" not in code


# --- const and __restrict__ --------------------------------------------------

def test_read_only_arrays_are_const_and_all_restrict():
    code = parpy.print_compiled(axpy, [2.0, f32(100), f32(100), 100], cuda({'N': T(64)}))
    assert kernel_params(code, "axpy_i") == "const float *__restrict__ x, float *__restrict__ y"
    code = parpy.print_compiled(softmax, [f32(4, 64), f32(4, 64), 4], cuda({'N': T(4), 'M': T(64)}))
    assert kernel_params(code, "softmax_i") == "const float *__restrict__ x, float *__restrict__ y"


def test_dict_fields_and_temporaries_are_restrict():
    code = parpy.print_compiled(dict_axpy, [{"x": f32(30), "y": f32(30), "k": 3.0}, 30],
                                cuda({'N': T(32)}))
    assert re.fullmatch(r"const float \*__restrict__ \w+, float \*__restrict__ \w+",
                        kernel_params(code, "dict_axpy_i"))
    code = parpy.print_compiled(row_sums, [f32(10, 5000), f32(10), 10],
                                cuda({'N': T(10), 'M': T(4096).tpb(512)}))
    first, second = [kernel_params(code, n) for n, *_ in launches(code)]
    assert first == "const float *__restrict__ x, float *__restrict__ partials"
    assert second == "float *__restrict__ out, const float *__restrict__ partials"


def test_arrays_chosen_at_run_time_are_not_restrict():
    code = parpy.print_compiled(swap_steps, [f32(40), f32(40), 5, 40], cuda({'N': T(32)}))
    assert "__restrict__" not in code
    code = parpy.print_compiled(pick_per_element, [f32(40), f32(40), f32(40), 40],
                                cuda({'N': T(32)}))
    assert "__restrict__" not in code
    # and nothing taken by a view or pointer is const
    assert "const float" not in kernel_params(code, "pick_per_element_i")


def test_arrays_passed_to_helpers_are_not_const():
    code = parpy.print_compiled(via_helper, [f32(40), f32(40), 40], cuda({'N': T(32)}))
    params = kernel_params(code, "via_helper_i")
    assert "const float *__restrict__ x" not in params and "float *__restrict__ x" in params


# --- nvcc ---------------------------------------------------------------------

def compile_cases():
    cases = [(f"axpy_{n}_{t}", axpy, [2.0, f32(n), f32(n), n], {'N': T(t)})
             for n, t in ((1, 1024), (300, 300), (4096, 1024), (1000003, 7), (1000003, 1 << 20))]
    cases += [
        ("backwards", backwards, [f32(5001), f32(5001), 5001], {'N': T(64)}),
        ("per_element_loop", per_element_loop, [f32(3001, 3), f32(3001), 3001, 3], {'N': T(3001)}),
        ("int_elementwise", int_elementwise, [np.zeros(2000, np.int32), np.zeros(2000, np.int64),
                                              np.zeros(2000, np.int64), 2000], {'N': T(2000)}),
        ("via_helper", via_helper, [f32(4000), f32(4000), 4000], {'N': T(4000)}),
        ("add_rows", add_rows, [f32(33, 1000), f32(33, 1000), 33, 1000], {'N': T(33), 'M': T(1000)}),
        ("pick_per_element", pick_per_element, [f32(5000), f32(5000), f32(5000), 5000],
         {'N': T(5000)}),
        ("rows_129", row_sums, [f32(17, 129), f32(17), 17], {'N': T(17), 'M': T(1024)}),
        ("rows_1024", row_sums, [f32(17, 1024), f32(17), 17], {'N': T(17), 'M': T(256)}),
        ("softmax_1000", softmax, [f32(17, 1000), f32(17, 1000), 17], {'N': T(17), 'M': T(1024)}),
        ("min_max", row_min_max, [np.zeros((9, 1000), np.int16), np.zeros(9, np.int16),
                                  np.zeros(9, np.int16), 9], {'N': T(9), 'M': T(1024)}),
    ]
    return cases


@needs_nvcc
def test_coarsened_code_compiles_with_nvcc(tmp_path):
    # Device code only (-cubin: the host side is what test_cuda_codegen.py
    # compiles), warnings are errors but for unused specialised constants.
    def compile_one(case):
        name, fn, args, par = case
        return nvcc_compile(parpy.print_compiled(fn, args, cuda(par)), tmp_path, name, cubin=True,
                            flags=["-Werror=all-warnings", "-diag-suppress=177"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [o for o in pool.map(compile_one, compile_cases()) if o]
    assert not failed, "\n\n".join(failed)


# --- on the GPU: against the interpreter ---------------------------------------

SIZES = [1, 2, 31, 255, 256, 257, 1023, 1024, 1025, 4099, 65537, 1000003]


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("threads", [1, 7, 1024, 1 << 20, "N"])
def test_cuda_axpy_coarsened(rng, n, threads):
    t = n if threads == "N" else threads
    x, y = rng.rand(n, np.float32), rng.rand(n, np.float32)
    check(axpy, [np.float32(1.5), x, y, n], {'N': T(t)}, backend=Cuda)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("n", [3, 1024, 3074, 65539, 1000003])
def test_cuda_backwards_and_ints(rng, n):
    check(backwards, [rng.rand(n), rng.rand(n), n], {'N': T(1024)}, outputs=[], backend=Cuda)
    a = rng.rand(n, np.int32)
    b = rng.rand(n, np.int64)
    check(int_elementwise, [a, b, np.zeros(n, np.int64), n], {'N': T(n)}, outputs=[2],
          backend=Cuda)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("n", [1, 257, 4099])
def test_cuda_per_element_loop_and_helper(rng, n):
    check(per_element_loop, [rng.rand((n, 3), np.float32), np.zeros(n, np.float32), n, 3],
          {'N': T(1024)}, outputs=[1], backend=Cuda)
    check(via_helper, [rng.rand(n, np.float32), np.zeros(n, np.float32), n], {'N': T(n)},
          outputs=[1], backend=Cuda)
    check(pick_per_element, [rng.rand(n), rng.rand(n), np.zeros(n), n], {'N': T(1 << 20)},
          outputs=[2], backend=Cuda)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("m", [1, 5, 129, 1000, 1023, 1024, 3001])
@pytest.mark.parametrize("threads", [1024, 256, 128, 64])
def test_cuda_row_reductions_coarsened(rng, m, threads):
    n = 37
    par = {'N': T(n), 'M': T(threads)}
    check(row_sums, [rng.rand((n, m), np.float32), np.zeros(n, np.float32), n], par,
          outputs=[1], backend=Cuda, reduction=True)
    x = rng.rand((n, m), np.int16)
    check(row_min_max, [x, np.zeros(n, np.int16), np.zeros(n, np.int16), n], par,
          outputs=[1, 2], backend=Cuda)
    check(softmax, [rng.rand((n, m), np.float32), np.zeros((n, m), np.float32), n], par,
          outputs=[1], backend=Cuda, reduction=True)
    check(add_rows, [rng.rand((n, m), np.float32), np.zeros((n, m), np.float32), n, m], par,
          outputs=[1], backend=Cuda)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("offset", [1, 2, 3])
def test_cuda_offset_views_of_torch_tensors(offset):
    torch = pytest.importorskip("torch")
    n = 1000003
    xs = torch.rand(n + offset, device="cuda")
    ys = torch.rand(n + offset, device="cuda")
    x, y = xs[offset:], ys[offset:]
    want = 1.5 * x + y
    axpy(1.5, x, y, n, opts=cuda({'N': T(1024)}))
    torch.cuda.synchronize()
    assert torch.equal(y, want)
    xr = torch.rand(37 * 1000 + offset, device="cuda")[offset:].view(37, 1000)
    out = torch.zeros(37, device="cuda")
    row_sums(xr, out, 37, opts=cuda({'N': T(37), 'M': T(1024)}))
    torch.testing.assert_close(out, xr.double().sum(dim=1).float(), rtol=1e-5, atol=1e-4)
