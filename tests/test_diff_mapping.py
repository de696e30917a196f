"""Differential tests of how parallel loops map onto a GPU grid: more threads
than a block, nests of 2 to 4 parallel levels, steps other than 1, host
loops that launch kernels, nests split into several kernels and values kept
between them.  They run on the test backend (Cpu in CI; PARPY_TEST_BACKEND=
Cuda on a GPU), where the interpreter is the oracle."""
import os

import numpy as np
import pytest

import parpy
from harness import check, rng  # noqa: F401

T = parpy.threads


@parpy.jit
def scale(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * 3.0 + 1.0


@pytest.mark.parametrize("threads,tpb", [(1025, 1024), (2048, 1024), (5000, 1024),
                                         (4096, 256), (100000, 512), (33, 32)])
def test_more_threads_than_a_block(rng, threads, tpb):
    n = 70001
    check(scale, [rng.rand(n, np.float32), np.empty(n, np.float32), n],
          {'N': T(threads).tpb(tpb)}, outputs=[1])


@parpy.jit
def nest2(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, j] - i + 2 * j


@parpy.jit
def nest3(x, y):
    parpy.label('A')
    for a in range(x.shape[0]):
        parpy.label('B')
        for b in range(x.shape[1]):
            parpy.label('C')
            for c in range(x.shape[2]):
                y[a, b, c] = x[a, b, c] * (a + 1) - b * c


@parpy.jit
def nest4(x, y):
    parpy.label('A')
    for a in range(x.shape[0]):
        parpy.label('B')
        for b in range(x.shape[1]):
            parpy.label('C')
            for c in range(x.shape[2]):
                parpy.label('D')
                for d in range(x.shape[3]):
                    y[a, b, c, d] = x[a, b, c, d] + a * 1000 + b * 100 + c * 10 + d


@pytest.mark.parametrize("par", [
    {'N': T(37), 'M': T(64)},
    {'N': T(8), 'M': T(2048)},
    {'N': T(70000), 'M': T(32)},     # more outer threads than grid y holds: shares x
    {'M': T(100)},                   # outer loop on the host
], ids=["small", "multi-block-inner", "outer-on-x", "host-outer"])
def test_two_levels(rng, par):
    x = rng.rand((150, 130), np.float64)
    check(nest2, [x, np.empty_like(x), 150, 130], par, outputs=[1])


def test_two_levels_many_rows(rng):
    x = rng.rand((70001, 3), np.float32)
    check(nest2, [x, np.empty_like(x), 70001, 3], {'N': T(70000), 'M': T(32)}, outputs=[1])


@pytest.mark.parametrize("par", [
    {'A': T(3), 'B': T(5), 'C': T(64)},
    {'A': T(2), 'B': T(4), 'C': T(3000)},
    {'A': T(7), 'C': T(32)},
], ids=["plain", "multi-block", "skip-middle"])
def test_three_levels(rng, par):
    x = rng.rand((7, 6, 2500), np.float32)
    check(nest3, [x, np.empty_like(x)], par, outputs=[1])


# A simulator (Metal, or Cuda with PARPY_CUDA_SIM=1) runs every thread as a
# fiber: 2 x 3 x 70,000 x 2,048 of them take it past the test timeout.
SIMULATED = os.environ.get("PARPY_TEST_BACKEND") == "Metal" or bool(os.environ.get("PARPY_CUDA_SIM"))


@pytest.mark.parametrize("par", [
    {'A': T(3), 'B': T(4), 'C': T(5), 'D': T(64)},
    pytest.param({'A': T(2), 'B': T(3), 'C': T(70000), 'D': T(2048)},
                 marks=pytest.mark.skipif(SIMULATED, reason="~860 million simulated threads")),
], ids=["plain", "wide"])
def test_four_levels(rng, par):
    x = rng.rand((3, 4, 5, 70), np.float64)
    check(nest4, [x, np.empty_like(x)], par, outputs=[1])


@parpy.jit
def strided(x, y, N):
    parpy.label('N')
    for i in range(1, N, 3):
        y[i] = x[i] + 1.0
    parpy.label('N')
    for i in range(N - 1, 0, -4):
        y[i] = x[i] * 2.0


@pytest.mark.parametrize("threads", [1, 7, 32, 1024, 4096])
def test_steps_other_than_one(rng, threads):
    n = 9001
    y = rng.rand(n, np.float64)
    check(strided, [rng.rand(n, np.float64), y, n], {'N': T(threads).tpb(1024 if threads <= 1024 else 512)})


@parpy.jit
def time_steps(u, v, steps, N):
    for t in range(steps):
        parpy.label('N')
        for i in range(1, N - 1):
            v[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0 + t
        parpy.label('N')
        for i in range(1, N - 1):
            u[i] = v[i]


def test_host_loop_launches_kernels(rng):
    n = 5000
    check(time_steps, [rng.rand(n, np.float64), np.zeros(n), 7, n], {'N': T(2048)})


@parpy.jit
def two_phase(x, y, out, N, M):
    parpy.label('N')
    for i in range(N):
        s = x[i, 0] * 2.0
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, j] + s
        parpy.label('M')
        for j in range(M):
            out[i, j] = y[i, M - 1 - j] - s


@pytest.mark.parametrize("par", [
    {'N': T(16), 'M': T(256)},        # one block per row: a barrier
    {'N': T(16), 'M': T(4096).tpb(512)},  # several blocks per row: two kernels, s kept
], ids=["barrier", "split"])
def test_dependent_loops_in_a_nest(rng, par):
    x = rng.rand((16, 5000), np.float32)
    check(two_phase, [x, np.empty_like(x), np.empty_like(x), 16, 5000], par, outputs=[1, 2])


@pytest.mark.parametrize("par", [
    {'N': T(8), 'M': T(256)},
    {'N': T(8), 'M': T(4096).tpb(1024)},
], ids=["block", "hoisted"])
def test_sequential_loop_inside_a_parallel_nest(rng, par):
    x = rng.rand((8, 3000), np.float64)
    # The parallel j loops read a snapshot, so their iterations are
    # independent; the sequential k loop around them moves to the host when
    # the j loops span several blocks.
    check(snapshot_steps, [x, np.empty_like(x), 8, 3000, 3], par)


@parpy.jit
def snapshot_steps(x, tmp, N, M, K):
    parpy.label('N')
    for i in range(N):
        for k in range(K):
            parpy.label('M')
            for j in range(M):
                tmp[i, j] = x[i, j]
            parpy.label('M')
            for j in range(1, M):
                x[i, j] = tmp[i, j] + tmp[i, j - 1] * 0.5 + k


@parpy.jit
def gpu_prefix(x, N):
    with parpy.gpu:
        for i in range(1, N):
            x[i] += x[i - 1]


def test_gpu_block_runs_sequential_code(rng):
    check(gpu_prefix, [rng.rand(1000, np.float64), 1000], {})
