"""print(...) inside jitted functions (issue 13 item 9): compiled code prints
what the interpreter prints (lines of a parallel loop in any order)."""
import numpy as np
import pytest
import parpy
from harness import BACKEND, options, rng  # noqa: F401

# The tests of the test backend are the Cpu's (host code on a GPU cannot
# read array elements); the Cuda backend's are marked `cuda` below.
cpu_only = pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                              reason="these programs read arrays in host code")
CUDA = parpy.CompileBackend.Cuda
needs_cuda = pytest.mark.skipif(not parpy.backend.is_enabled(CUDA),
                                reason="the Cuda backend is not enabled")


@parpy.jit
def show(x, xi, xh, xd, N):
    parpy.label('N')
    for i in range(N):
        print("i =", i, x[i], xi[i], xh[i], xd[i], x[i] > 0.5, 2.5, "50%")


def run_both(capfd, fn, args, par, backend=None):
    copy = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*copy, seq=True)
    ref = capfd.readouterr().out
    fn(*args, opts=options(par, backend))
    got = capfd.readouterr().out
    return ref, got


@cpu_only
def test_print_matches_the_interpreter(rng, capfd):
    n = 12
    x = rng.rand(n, np.float32)
    x[:4] = [0.1, 1e-5, 123456789.0, -0.0]
    xi = rng.rand(n, np.int16)
    xh = rng.rand(n, np.float16)
    xh[:3] = [0.1, 1000.0, 6.1e-5]
    xd = rng.rand(n, np.float64)
    xd[:5] = [0.1, 1e16, 1e-5, np.nan, -np.inf]
    ref, got = run_both(capfd, show, [x, xi, xh, xd, n], {'N': parpy.threads(4)})
    assert sorted(got.splitlines()) == sorted(ref.splitlines())
    assert len(ref.splitlines()) == n


@parpy.jit
def show_seq(x, N):
    s = 0.0
    for i in range(N):
        s += x[i]
        print(s, i * 3, True)
    parpy.label('N')
    for i in range(N):
        x[i] = 0.0


@cpu_only
def test_sequential_prints_keep_their_order(rng, capfd):
    x = np.array([0.5, 0.25, 1e20, 3.0])
    ref, got = run_both(capfd, show_seq, [x, 4], {'N': parpy.threads(4)})
    assert got == ref


@cpu_only
def test_print_of_an_array_is_rejected(capfd):
    @parpy.jit
    def f(x, N):
        parpy.label('N')
        for i in range(N):
            print(x[:])
    with pytest.raises(parpy.ParPyTypeError, match="prints strings and scalars"):
        f(np.zeros(3), 3, opts=options({'N': parpy.threads(2)}))


def show_inputs(rng, n):
    x = rng.rand(n, np.float32)
    x[:6] = [0.1, 1e-5, 123456789.0, -0.0, np.inf, 3.0]
    xi = rng.rand(n, np.int16)
    xh = rng.rand(n, np.float16)
    xh[:4] = [0.1, 1000.0, 6.1e-5, -np.inf]
    xd = rng.rand(n, np.float64)
    xd[:8] = [0.1, 1e16, 1e-5, np.nan, -np.inf, 1e20, 5e-324, 1 / 3]
    return [x, xi, xh, xd, n]


def test_cuda_print_code_formats_as_python():
    """Without a GPU: the generated code builds each line with parpy_repr.h
    (shortest round-trip digits), not printf's %g."""
    opts = options({'N': parpy.threads(4)}, CUDA)
    code = parpy.print_compiled(show, [np.zeros(12, np.float32), np.zeros(12, np.int16),
                                       np.zeros(12, np.float16), np.zeros(12), 12], opts)
    assert "#define PARPY_PRINT" in code
    assert "parpy_repr_float(parpy_line + parpy_n, (double)(x[i]), 1)" in code
    assert "parpy_repr_float(parpy_line + parpy_n, (double)(float)(xh[i]), 2)" in code
    assert "parpy_repr_float(parpy_line + parpy_n, (double)(xd[i]), 0)" in code
    assert "%.17g" not in code and "%.9g" not in code


@pytest.mark.cuda
@needs_cuda
def test_cuda_print_matches_the_interpreter(rng, capfd):
    args = show_inputs(rng, 40)
    ref, got = run_both(capfd, show, args, {'N': parpy.threads(16)}, CUDA)
    assert sorted(got.splitlines()) == sorted(ref.splitlines())
    assert len(ref.splitlines()) == 40


@parpy.jit
def show_gpu(x, N):
    print("host", N, 0.1, 1e20)  # before the kernel: device lines come out at its end
    with parpy.gpu:
        s = 0.0
        for i in range(N):
            s += x[i]
            print(s, i * 3, True, x[i] * 2, "x")


@pytest.mark.cuda
@needs_cuda
def test_cuda_sequential_prints_keep_their_order(capfd):
    x = np.array([0.5, 0.25, 1e20, 3.0, 0.1, 1e-7, np.nan, -0.0])
    ref, got = run_both(capfd, show_gpu, [x, 8], {}, CUDA)
    assert got == ref
