"""Sequential loops on the Cpu backend: which innermost loops the printer asks
gcc to unroll (`#pragma GCC unroll`, docs/internals.md "Loops and reductions
on the Cpu"), and that the unrolled code computes what the interpreter does
for trip counts that leave every kind of remainder."""
import numpy as np
import pytest

import parpy
from harness import BACKEND, check, dtype_id, options, rng  # noqa: F401
from programs import mandelbrot, matmul_ikj, spmv

pytestmark = pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                                reason="about the Cpu backend's code")


@parpy.jit
def same_element(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        for j in range(M):
            out[i] += x[i, j]


@parpy.jit
def scaled_rows(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        for j in range(M):
            t = x[i, j] * 2.0
            out[i, j] = t + 1.0


def code(fn, args, par, **fields):
    return parpy.print_compiled(fn, args, options(par, parpy.CompileBackend.Cpu, **fields))


def mm_args(n, m, k, dtype=np.float32):
    return [np.zeros((n, k), dtype), np.zeros((k, m), dtype), np.zeros((n, m), dtype), n, m, k]


def test_independent_innermost_loops_are_unrolled():
    src = code(matmul_ikj, mm_args(64, 64, 64), {'N': parpy.threads(64)})
    # both j loops (the zeroing and the update), each after the call that
    # keeps gcc from dropping the pragma inside the OpenMP region
    assert src.count("#pragma GCC unroll 8\n") == 2
    assert src.count("parpy_unroll_here(0);") == 2
    lines = src.splitlines()
    at = [n for n, s in enumerate(lines) if "#pragma GCC unroll" in s]
    assert all(lines[n + 1].lstrip().startswith("for (") for n in at)
    assert "#pragma GCC unroll" not in lines[at[0] - 2]  # the k loop is not innermost


def test_locals_of_the_body_do_not_stop_unrolling():
    src = code(scaled_rows, [np.zeros((8, 100)), np.zeros((8, 100)), 8, 100],
               {'N': parpy.threads(8)})
    assert "#pragma GCC unroll 8" in src


@pytest.mark.parametrize("fn,args", [
    (spmv, [np.zeros(9, np.int64), np.zeros(64, np.int64), np.zeros(64), np.zeros(8),
            np.zeros(8), 8]),
    (same_element, [np.zeros((8, 100)), np.zeros(8), 8, 100]),
], ids=["running_sum", "same_element"])
def test_chains_of_dependent_iterations_are_not_unrolled(fn, args):
    # Unrolling a loop whose iterations wait for each other only adds code:
    # a running sum measured 1.6x slower unrolled.
    assert "#pragma GCC unroll" not in code(fn, args, {'N': parpy.threads(8)})


def test_short_loops_are_not_unrolled():
    assert "#pragma GCC unroll" not in code(matmul_ikj, mm_args(8, 8, 8), {'N': parpy.threads(8)})


def test_unroll_factor_from_the_environment(monkeypatch):
    monkeypatch.setenv("PARPY_CPU_UNROLL", "0")
    assert "#pragma GCC unroll" not in code(matmul_ikj, mm_args(64, 64, 64),
                                            {'N': parpy.threads(64)})
    monkeypatch.setenv("PARPY_CPU_UNROLL", "3")
    assert "#pragma GCC unroll 3\n" in code(matmul_ikj, mm_args(64, 64, 64),
                                            {'N': parpy.threads(64)})


def test_debug_mode_is_not_unrolled():
    assert "#pragma GCC unroll" not in code(matmul_ikj, mm_args(64, 64, 64),
                                            {'N': parpy.threads(64)}, debug=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32], ids=dtype_id)
@pytest.mark.parametrize("m", [16, 17, 63, 64, 65, 131, 1000])
def test_unrolled_matmul(rng, dtype, m):
    # m elements per row: whole unrolled vector iterations, vector
    # remainders and scalar remainders of each width.
    n, k = 5, 7
    a, b = rng.rand((n, k), dtype), rng.rand((k, m), dtype)
    check(matmul_ikj, [a, b, np.zeros((n, m), dtype), n, m, k], {'N': parpy.threads(n)},
          outputs=[2])


def test_unrolled_rows_of_a_view(rng):
    # rows that overlap nothing, at an odd offset: the vector loop's
    # alignment peeling and remainders
    x = rng.rand((6, 203))[:, 3:]
    check(scaled_rows, [x, np.zeros((6, 200)), 6, 200], {'N': parpy.threads(6)}, outputs=[1])


# ---- decisions taken at run time: bounds from scalars that vary ----

RUNTIME_AFTER = 4  # distinct values before a scalar is taken at run time


def make_stencil():
    @parpy.jit
    def stencil(a, b, N, M):
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, M - 1):
                b[i, j] = (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) * 0.25
    return stencil


def vary(fn, args_of, par, outputs=()):
    """Calls fn with RUNTIME_AFTER + 1 values, checked against the
    interpreter, so that the varying scalars are taken at run time."""
    for k in range(RUNTIME_AFTER + 1):
        check(fn, args_of(k), par, outputs=outputs)


STENCIL = {'i': parpy.threads(64), 'j': parpy.threads(64)}


def test_collapse_decided_at_run_time(rng):
    stencil = make_stencil()
    a = rng.rand((300, 40))
    vary(stencil, lambda k: [a, np.zeros((300, 40)), 300 - 50 * k, 40], STENCIL)
    src = parpy.print_compiled(stencil, [a, np.zeros((300, 40)), 300, 40], options(STENCIL))
    assert "run-time parameter 'N'" in src
    # one nest without collapse for many rows, one with for few
    assert "if ((N - 1) - (1) >= 256) {" in src
    assert src.count("#pragma omp parallel for\n") == 1
    assert src.count("#pragma omp parallel for collapse(2)") == 1
    # both copies compute the interpreter's result
    for n in (3, 5, 200, 260, 300):
        check(stencil, [a, np.zeros((300, 40)), n, 40], STENCIL)


def test_little_work_decided_at_run_time(rng, monkeypatch):
    monkeypatch.setenv("PARPY_CPU_PARALLEL_MIN_WORK", "1000")

    @parpy.jit
    def scale_rows(x, out, N):
        parpy.label('N')
        for i in range(N):
            for j in range(10):
                out[i, j] = x[i, j] * 3.0
    x = rng.rand((500, 10))
    vary(scale_rows, lambda k: [x, np.zeros((500, 10)), 500 - 100 * k], {'N': parpy.threads(8)})
    src = parpy.print_compiled(scale_rows, [x, np.zeros((500, 10)), 500], options({'N': parpy.threads(8)}))
    # 10 per row: 100 rows or more to share
    assert "#pragma omp parallel for if((N) - (0) >= 100)" in src
    for n in (1, 99, 100, 500):
        check(scale_rows, [x, np.zeros((500, 10)), n], {'N': parpy.threads(8)})


# ---- innermost while loops: unrolled, `and` chains split ----

# mandelbrot (tests/programs.py, bench/cpu.py's kernel) runs here with only 'i'
# in the dict: its 'j' loop is sequential, the while loop innermost.


@parpy.jit
def three_terms(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        k = 0
        s = 0.0
        while k < M and x[i, k] > 0.1 and s < 3.0:
            s += x[i, k]
            k += 1
        out[i] = s + k


@parpy.jit
def or_condition(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        k = 0
        while k < 2 or (k < M and x[i, k] > 0.5):
            k += 1
        out[i] = k


@parpy.jit
def nested_while(out, N):
    parpy.label('N')
    for i in range(N):
        k = 0
        while k < i:
            for j in range(3):
                out[i] += j
            k += 1


def test_escape_time_loop_unrolled_with_its_and_split():
    src = code(mandelbrot, [np.zeros((64, 64), np.int32), 64, 64, 50], {'i': parpy.threads(64)})
    lines = [s.strip() for s in src.splitlines()]
    at = lines.index("#pragma GCC unroll 4")
    assert lines[at - 1].startswith("parpy_unroll_here(0);")
    assert lines[at + 1:at + 4] == ["while (k < MAXIT) {",
                                    "if (!(zr * zr + zi * zi <= 4.0))", "break;"]


def test_while_with_a_loop_inside_is_left_alone():
    src = code(nested_while, [np.zeros(8), 8], {'N': parpy.threads(8)})
    assert "#pragma GCC unroll" not in src
    assert "while (k < i) {" in src


@pytest.mark.parametrize("maxit", [1, 7, 50])
def test_escape_time(rng, maxit):
    check(mandelbrot, [np.zeros((40, 37), np.int32), 40, 37, maxit], {'i': parpy.threads(40)},
          outputs=[0])


def test_and_chain_of_three_keeps_its_order(rng):
    # x[i, k] is read only while k < M: the order of the tests is the
    # program's (a reordered test would read past the row).
    n, m = 50, 12
    x = rng.np.random((n, m))
    x[::3, :] = 0.5  # rows that run to the end
    check(three_terms, [x, np.zeros(n), n, m], {'N': parpy.threads(n)}, outputs=[1])
    src = code(three_terms, [x, np.zeros(n), n, m], {'N': parpy.threads(n)})
    assert src.index("while (k < M) {") < src.index("if (!(x[") < src.index("if (!(s < 3.0))")


def test_or_condition_unrolled_whole(rng):
    n, m = 30, 9
    x = rng.np.random((n, m))
    check(or_condition, [x, np.zeros(n, np.int64), n, m], {'N': parpy.threads(n)}, outputs=[1])
    src = code(or_condition, [x, np.zeros(n, np.int64), n, m], {'N': parpy.threads(n)})
    assert "#pragma GCC unroll 4" in src and "break;" not in src
