"""Scalars that vary (issue 14 item 6): a scalar argument is specialised to its
value until it has taken PP_RUNTIME_AFTER (4) distinct values for one function;
from then on the function takes it at run time (one library for every value).
Every call still matches the interpreter, and a scalar the compiler needs as a
constant (a slice length, a loop bound that sizes a temporary) stays
specialised.  On Cuda the host code reads the value and passes it to the
kernels as a parameter; the printed code is checked here on any machine,
and the runs on a GPU under PARPY_TEST_BACKEND=Cuda and in the tests marked
`cuda`."""

import numpy as np
import pytest

import parpy
from parpy import _core
from harness import BACKEND, check, options, rng, needs_nvcc, nvcc_compile  # noqa: F401  (fixtures)

# Run-time scalar parameters exist on Cpu and Cuda; Metal keeps specialising
# (test_metal_keeps_specialising).
cpu_only = pytest.mark.skipif(BACKEND not in (parpy.CompileBackend.Cpu, parpy.CompileBackend.Cuda),
                              reason="run-time scalars exist on the Cpu and Cuda backends only")

RUNTIME_AFTER = 4


def compiles():
    return _core._stats()["compiles"]


def time_loop(fn, args_of, steps, par, outputs=(), backend=None):
    """Calls fn with args_of(step) for every step, checked against the
    interpreter; returns how many times the compiler ran."""
    before = compiles()
    for k in range(steps):
        check(fn, args_of(k), par, outputs=outputs, backend=backend)
    return compiles() - before


def make_step():
    # A fresh function per test: the value history is per function.
    @parpy.jit
    def step(u, out, t, dt, N):
        parpy.label('N')
        for i in range(N):
            out[i] = u[i] + dt * (t * u[i] - 0.5 * t * t)
    return step


@cpu_only
def test_float_time_loop_compiles_a_few_times(rng):
    step = make_step()
    u = rng.rand(100)
    n = time_loop(step, lambda k: [u, np.zeros(100), 0.01 * k + 0.001, 0.125, 100], 50,
                  {'N': parpy.threads(8)}, outputs=[1])
    # 4 specialised values, then one run-time version (the harness's reference
    # runs never compile).
    assert n <= RUNTIME_AFTER + 1, n


@cpu_only
def test_int_scalar_varies(rng):
    @parpy.jit
    def shift(x, out, k, N):
        parpy.label('N')
        for i in range(N):
            out[i] = x[i] * k + k // 3 - k % 5
    x = np.arange(64, dtype=np.int64) - 20
    n = time_loop(shift, lambda k: [x, np.zeros(64, np.int64), 7 * k - 100, 64],
                  30, {'N': parpy.threads(4)}, outputs=[1])
    assert n <= RUNTIME_AFTER + 1, n


def test_int_weak_typing_is_kept(rng):
    """A Python int stays weak at run time: int8 array * k stays int8."""
    @parpy.jit
    def mul(x, out, k, N):
        parpy.label('N')
        for i in range(N):
            out[i] = x[i] * k
    x = np.arange(16, dtype=np.int8)
    time_loop(mul, lambda k: [x, np.zeros(16, np.int8), k % 7 + 1, 16], 12,
              {'N': parpy.threads(4)}, outputs=[1])


@cpu_only
def test_numpy_scalars_and_0d_arrays_vary(rng):
    @parpy.jit
    def scale(x, out, a, b, N):
        parpy.label('N')
        for i in range(N):
            out[i] = x[i] * a + b
    x = rng.rand(32, np.float32)
    n = time_loop(scale, lambda k: [x, np.zeros(32, np.float32), np.float32(k * 0.25),
                                    np.array(k * 0.5, np.float32), 32],
                  20, {'N': parpy.threads(4)}, outputs=[1])
    assert n <= RUNTIME_AFTER + 1, n


def test_loop_bound_scalar_stays_correct(rng):
    @parpy.jit
    def prefix(x, out, n, N):
        parpy.label('N')
        for i in range(N):
            s = 0.0
            for j in range(n):
                s += x[i, j]
            out[i] = s
    x = rng.rand((8, 40))
    time_loop(prefix, lambda k: [x, np.zeros(8), (k * 7) % 41, 8], 20,
              {'N': parpy.threads(4)}, outputs=[1])


def test_slice_length_scalar_is_correct(rng):
    """A reduction over a slice whose end is a scalar that varies."""
    @parpy.jit
    def head_sum(x, out, n):
        with parpy.gpu:
            out[0] = np.sum(x[0:n])
    x = rng.rand(40)
    for n in range(1, 12):
        check(head_sum, [x, np.zeros(1), n], {}, outputs=[1], reduction=True)


def test_shape_scalar_stays_specialised(rng):
    """A local array sized by a scalar needs it as a constant: the run-time
    version cannot be compiled, so the function keeps specialising it."""
    @parpy.jit
    def window(x, out, n, N):
        parpy.label('N')
        for i in range(N):
            tmp = np.zeros(n)
            for j in range(n):
                tmp[j] = x[i, j] * 2.0
            s = 0.0
            for j in range(n):
                s += tmp[j]
            out[i] = s
    x = rng.rand((6, 20))
    before = compiles()
    for n in range(1, 12):
        check(window, [x, np.zeros(6), n, 6], {'N': parpy.threads(3)}, outputs=[1],
              reduction=True)
    assert compiles() - before >= 11  # one per value (and one refused run-time try)
    code = parpy.print_compiled(window, [x, np.zeros(6), 5, 6], options({'N': parpy.threads(3)}))
    assert "run-time parameter" not in code


@cpu_only
def test_print_compiled_shows_runtime_parameters(rng):
    step = make_step()
    u = rng.rand(10)
    opts = options({'N': parpy.threads(2)})
    first = parpy.print_compiled(step, [u, np.zeros(10), 0.5, 0.1, 10], opts)
    assert "run-time parameter" not in first
    for k in range(RUNTIME_AFTER + 1):
        step(u, np.zeros(10), 0.5 + k, 0.1, 10, opts=opts)
    code = parpy.print_compiled(step, [u, np.zeros(10), 0.5, 0.1, 10], opts)
    assert "run-time parameter 't'" in code
    assert "run-time parameter 'dt'" not in code  # dt never varied
    assert "t=float=?" in code.replace(" ", "") or "float=?" in code


def test_metal_keeps_specialising():
    """Metal takes no run-time scalars: print_compiled still works."""
    step = make_step()
    u = np.ones(10)
    opts = options({'N': parpy.threads(2)}, backend=parpy.CompileBackend.Cpu)
    for k in range(RUNTIME_AFTER + 2):
        step(u, np.zeros(10), 1.0 + k, 0.1, 10, opts=opts)
    metal = options({'N': parpy.threads(32)}, backend=parpy.CompileBackend.Metal,
                    force_float_size=parpy.types.F32)
    u32 = np.ones(10, np.float32)
    code = parpy.print_compiled(step, [u32, np.zeros(10, np.float32), 9.0, 0.1, 10], metal)
    assert "run-time parameter" not in code
    assert "9.0" in code or "9" in code


def vary(step, u, opts, n=RUNTIME_AFTER + 1):
    """Calls step with n distinct values of t on the Cpu backend, so that
    the history marks t as a run-time parameter (the history is per
    function, whatever the backend of the call)."""
    cpu = options({'N': parpy.threads(2)}, backend=parpy.CompileBackend.Cpu)
    for k in range(n):
        step(u, np.zeros(len(u)), 0.5 + k, 0.1, len(u), opts=cpu)


def cuda_code_after_varying(graphs=False):
    step = make_step()
    u = np.ones(10)
    vary(step, u, None)
    cuda = options({'N': parpy.threads(32)}, backend=parpy.CompileBackend.Cuda,
                   use_cuda_graphs=graphs)
    return parpy.print_compiled(step, [u, np.zeros(10), 9.0, 0.1, 10], cuda)


def test_cuda_takes_varying_scalar_as_kernel_parameter():
    """On Cuda the host code reads t from the entry's slot and passes it to
    the kernel, whose parameter it is; dt, never varied, stays a constant."""
    code = cuda_code_after_varying()
    assert "t:float=?" in code
    kernel = code[code.index("__global__"):code.index("{", code.index("__global__"))]
    assert "double t)" in kernel, kernel
    host = code[code.index("parpy_slots[2]"):]
    assert "run-time parameter 't'" in host
    assert "const double dt = 0.1;" in code
    assert "run-time parameter 'dt'" not in code


def test_cuda_graphs_keep_specialising():
    """A captured CUDA graph would replay the captured value: with graphs a
    varying scalar stays specialised."""
    code = cuda_code_after_varying(graphs=True)
    assert "run-time parameter" not in code
    assert "9.0" in code


@needs_nvcc
def test_cuda_runtime_scalar_code_compiles(tmp_path, monkeypatch):
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvcc")
    failed = nvcc_compile(cuda_code_after_varying(), tmp_path, "step")
    assert failed is None, failed


@pytest.mark.cuda
@pytest.mark.skipif(not parpy.backend.is_enabled(parpy.CompileBackend.Cuda),
                    reason="the Cuda backend is not enabled")
def test_cuda_time_loop_compiles_a_few_times(rng):
    """On the GPU: 30 steps of a time loop with a new t each compile at most
    RUNTIME_AFTER + 1 times, and every result equals the interpreter's."""
    step = make_step()
    u = rng.rand(1000)
    n = time_loop(step, lambda k: [u, np.zeros(1000), 0.01 * k + 0.001, 0.125, 1000], 30,
                  {'N': parpy.threads(256)}, outputs=[1], backend=parpy.CompileBackend.Cuda)
    assert n <= RUNTIME_AFTER + 1, n


@cpu_only
def test_runtime_code_through_compile_string(rng):
    """The printed run-time version is a valid compile_string input whose
    signature (t:float=?) takes any float for t."""
    step = make_step()
    u = rng.rand(10)
    opts = options({'N': parpy.threads(2)})
    for k in range(RUNTIME_AFTER + 1):
        step(u, np.zeros(10), 0.5 + k, 0.1, 10, opts=opts)
    code = parpy.print_compiled(step, [u, np.zeros(10), 0.5, 0.1, 10], opts)
    f = parpy.compile_string("step", code, opts)
    for t in (0.25, -3.0, 17.5):
        got, ref = np.zeros(10), np.zeros(10)
        f(u, got, t, 0.1, 10)
        step(u, ref, t, 0.1, 10, seq=True)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
