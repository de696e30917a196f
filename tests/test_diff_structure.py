"""Differential tests of program structure (issue 9): array variables chosen
at run time (buffer swaps), range() bounds evaluated once, nested reductions
under one label."""
import math

import numpy as np
import pytest

import parpy
from harness import check, nthreads, options, rng  # noqa: F401  (fixtures)
from parpy.operators import exp, log, max as pmax, sum as psum


# ---- array variables rebound inside an `if` (issue 9 item 15) ----

@parpy.jit
def swap_steps(a, b, T, N):
    for t in range(T):
        src = b
        dst = a
        if t & 1:
            src = a
            dst = b
        parpy.label('N')
        for i in range(N):
            dst[i] = src[i] + 1.0


@pytest.mark.parametrize("T", [0, 1, 4, 5])
def test_buffer_swap_in_host_loop(rng, nthreads, T):
    a = rng.rand(37)
    b = rng.rand(37)
    check(swap_steps, [a, b, T, 37], {'N': parpy.threads(nthreads)})


@parpy.jit
def pick_per_element(a, b, y, N):
    parpy.label('N')
    for i in range(N):
        r = a
        if a[i] < b[i]:
            r = b
        y[i] = r[i] * 2.0


def test_array_chosen_in_parallel_code(rng, nthreads):
    a = rng.rand(50)
    b = rng.rand(50)
    check(pick_per_element, [a, b, np.empty(50), 50], {'N': parpy.threads(nthreads)},
          outputs=[2])


@parpy.jit
def swap_rows(x, out, T, N):
    for t in range(T):
        src = x[0]
        dst = x[1]
        if t % 2 == 1:
            src = x[1]
            dst = x[0]
        parpy.label('N')
        for i in range(N):
            dst[i] = src[i] * 0.5 + 1.0
    last = x[0]
    if T % 2 == 1:
        last = x[1]
    parpy.label('N')
    out[0] = psum(last[:])


@pytest.mark.parametrize("T", [1, 2, 3])
def test_row_views_chosen_at_run_time(rng, nthreads, T):
    check(swap_rows, [rng.rand((2, 40)), np.empty(1), T, 40], {'N': parpy.threads(nthreads)},
          outputs=[1], reduction=True)


@parpy.jit
def swap_slice_statements(a, b, T):
    for t in range(T):
        src = b
        dst = a
        if t & 1:
            src = a
            dst = b
        parpy.label('N')
        dst[:] = src[:] * 2.0 + 1.0


def test_buffer_swap_slice_statement(rng, nthreads):
    check(swap_slice_statements, [rng.rand(30), rng.rand(30), 5],
          {'N': parpy.threads(nthreads)})


@parpy.jit
def hmm_forward(init, trans, emit, obs, alpha1, alpha2, out, T, N):
    """The HMM forward algorithm in log space, swapping two alpha buffers."""
    parpy.label('N')
    for i in range(N):
        alpha1[i] = init[i] + emit[i, obs[0]]
    for t in range(1, T):
        src = alpha1
        dst = alpha2
        if t % 2 == 0:
            src = alpha2
            dst = alpha1
        parpy.label('N')
        for i in range(N):
            parpy.label('M')
            m = pmax(src[:] + trans[:, i])
            parpy.label('M')
            s = psum(exp(src[:] + trans[:, i] - m))
            dst[i] = m + log(s) + emit[i, obs[t]]
    last = alpha1
    if T % 2 == 0:
        last = alpha2
    parpy.label('M')
    top = pmax(last[:])
    parpy.label('M')
    out[0] = top + log(psum(exp(last[:] - top)))


@pytest.mark.parametrize("T", [1, 2, 7, 8])
def test_hmm_forward_swaps_alpha_buffers(rng, T):
    N, K = 16, 5
    init = np.log(rng.pos(N))
    trans = np.log(rng.pos((N, N)))
    emit = np.log(rng.pos((N, K)))
    obs = rng.rand(T, np.int64, 0, K - 1)
    args = [init, trans, emit, obs, rng.rand(N), rng.rand(N), np.empty(1), T, N]
    check(hmm_forward, args, {'N': parpy.threads(N), 'M': parpy.threads(32)},
          outputs=[6], reduction=True)


# ---- range() bounds are evaluated once (issue 9 item 6) ----

@parpy.jit
def bound_from_written_element(a, y, N):
    parpy.label('N')
    for i in range(N):
        for k in range(a[i]):
            a[i] = 5
            y[i] += 1


@parpy.jit
def bound_from_rebound_local(x, y, N):
    parpy.label('N')
    for i in range(N):
        n = x[i]
        for k in range(1, n + 1):
            n = n + 1
            y[i] = y[i] + k
        y[i] = y[i] * 100 + n


@parpy.jit
def bound_on_host(x, T):
    n = T
    for t in range(n):
        n = n + 2
        parpy.label('N')
        for i in range(x.shape[0]):
            x[i] += n


def test_range_bound_read_once_from_array(rng, nthreads):
    a = rng.rand(40, np.int64, 0, 9)
    check(bound_from_written_element, [a, np.zeros(40, np.int64), 40],
          {'N': parpy.threads(nthreads)})


def test_range_bound_read_once_from_local(rng, nthreads):
    x = rng.rand(40, np.int32, 0, 9)
    check(bound_from_rebound_local, [x, np.zeros(40, np.int32), 40],
          {'N': parpy.threads(nthreads)})


def test_range_bound_read_once_on_host(rng):
    check(bound_on_host, [rng.rand(20), 3], {'N': parpy.threads(8)})


def test_invariant_bounds_stay_in_the_loop():
    """Only bounds the body may change get a variable of their own."""
    code = parpy.print_compiled(bound_from_written_element, [np.zeros(4, np.int64),
                                np.zeros(4, np.int64), 4], options({'N': parpy.threads(4)},
                                parpy.CompileBackend.Cpu))
    assert "k_stop = a[i];" in code and "k < k_stop" in code
    assert "i < N" in code


# ---- race-free parallel loops stay accepted (item 13) ----

@parpy.jit
def race_free(x, y, z, rows, perm, w, N):
    parpy.label('N')
    for i in range(1, N - 1):
        y[i] = x[i - 1] + x[i + 1]          # a stencil reading x, writing y
    parpy.label('N')
    for i in range(N):
        z[i] = z[i] + 1.0                   # reads and writes the same element
        if i == 0:
            w[0] = x[0]                     # written by one iteration only
        if x[i] > 0.0:
            z[i] = x[i]
    parpy.label('N')
    for r in range(N - 1):
        for k in range(rows[r], rows[r + 1]):
            w[k + 1] = x[r] + k             # CSR-like rows, bounds depend on r
    parpy.label('N')
    for i in range(N):
        w[perm[i]] = x[i]                   # a scatter by a permutation (plain store)


def test_race_free_loops_accepted(rng, nthreads):
    N = 30
    rows = np.sort(rng.rand(N, np.int64, 0, N - 1))
    rows[0] = 0
    perm = rng.np.permutation(N).astype(np.int64)
    check(race_free, [rng.rand(N), rng.rand(N), rng.rand(N), rows, perm, rng.rand(N + 1), N],
          {'N': parpy.threads(nthreads)})


@parpy.jit
def jacobi_1d(A, B, T, N):
    for t in range(T):
        parpy.label('N')
        for i in range(1, N - 1):
            B[i] = (A[i - 1] + A[i] + A[i + 1]) / 3.0
        parpy.label('N')
        for i in range(1, N - 1):
            A[i] = (B[i - 1] + B[i] + B[i + 1]) / 3.0


def test_jacobi_two_arrays_accepted(rng, nthreads):
    check(jacobi_1d, [rng.rand(40), rng.rand(40), 5, 40], {'N': parpy.threads(nthreads)})


# ---- one label on a nested reduction; math.floor of big int64 (item 18) ----

@parpy.jit
def sum_of_row_maxima(x, out):
    parpy.label('N')
    out[0] = psum(pmax(x[:, :], axis=1))


@pytest.mark.parametrize("shape", [(7, 5), (3, 100), (40, 1)])
def test_nested_reduction_with_one_label(rng, nthreads, shape):
    check(sum_of_row_maxima, [rng.rand(shape), np.empty(1)], {'N': parpy.threads(nthreads)},
          outputs=[1], reduction=True)


@parpy.jit
def floor_ceil_int64(x, lo, hi, N):
    parpy.label('N')
    for i in range(N):
        lo[i] = math.floor(x[i])
        hi[i] = math.ceil(x[i])


def test_math_floor_of_int64_goes_through_double(rng):
    """Python's math.floor of a NumPy int64 converts it to float first, so
    values above 2**53 round; the compiled code does the same."""
    x = np.array([2**53 + 1, 2**62 + 12345, -(2**60) - 7, 5, -3, 2**62 + 1], np.int64)
    _, got = check(floor_ceil_int64, [x, np.empty(6, np.int64), np.empty(6, np.int64), 6],
                   {'N': parpy.threads(4)}, outputs=[1, 2])
    assert got[1][0] == 2**53  # not 2**53 + 1: through double, as Python
