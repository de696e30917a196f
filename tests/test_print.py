"""print(...) inside jitted functions (issue 13 item 9): compiled code prints
what the interpreter prints (lines of a parallel loop in any order)."""
import numpy as np
import pytest
import parpy
from harness import BACKEND, options, rng  # noqa: F401

# Cuda prints with device printf (floats with %.17g/%.9g/%.5g digits), and
# host code there cannot read array elements: the comparisons are the Cpu's.
pytestmark = pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                                reason="exact Python formatting is the Cpu backend's")


@parpy.jit
def show(x, xi, xh, xd, N):
    parpy.label('N')
    for i in range(N):
        print("i =", i, x[i], xi[i], xh[i], xd[i], x[i] > 0.5, 2.5, "50%")


def run_both(capfd, fn, args, par):
    copy = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*copy, seq=True)
    ref = capfd.readouterr().out
    fn(*args, opts=options(par))
    got = capfd.readouterr().out
    return ref, got


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


def test_sequential_prints_keep_their_order(rng, capfd):
    x = np.array([0.5, 0.25, 1e20, 3.0])
    ref, got = run_both(capfd, show_seq, [x, 4], {'N': parpy.threads(4)})
    assert got == ref


def test_print_of_an_array_is_rejected(capfd):
    @parpy.jit
    def f(x, N):
        parpy.label('N')
        for i in range(N):
            print(x[:])
    with pytest.raises(parpy.ParPyTypeError, match="prints strings and scalars"):
        f(np.zeros(3), 3, opts=options({'N': parpy.threads(2)}))
