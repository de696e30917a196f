"""Differential tests: for/while loops, ranges, if statements, labels, parpy.gpu,
locals, partial indexing, shapes and higher-rank arrays."""
import numpy as np
import pytest

import parpy
from harness import check, dtype_id, nthreads, rng  # noqa: F401  (fixtures)


@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_axpy(rng, nthreads, dtype):
    x = rng.rand(1000, dtype)
    y = rng.rand(1000, dtype)
    check(axpy, [2.5, x, y, 1000], {'N': parpy.threads(nthreads)})


@parpy.jit
def scale_2d(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[i, j] = x[i, j] * 3.0 - 1.0


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(13), 'M': parpy.threads(32)},
    {'N': parpy.threads(64)},
    {'M': parpy.threads(7)},
    {'N': parpy.threads(1), 'M': parpy.threads(1)},
], ids=["both", "outer", "inner", "single"])
def test_nested_loops_label_subsets(rng, par):
    """Labels missing from the dict run sequentially; every subset is correct."""
    x = rng.rand((37, 29), np.float32)
    y = np.empty((37, 29), np.float32)
    check(scale_2d, [x, y, 37, 29], par, outputs=[1])


@parpy.jit
def strided_ranges(x, y, z, N):
    parpy.label('N')
    for i in range(3, N):
        y[i] = x[i] + 1.0
    parpy.label('S')
    for i in range(1, N, 3):
        z[i] = x[i] * 2.0


def test_range_start_and_step(rng, nthreads):
    x = rng.rand(100)
    y = rng.rand(100)
    z = rng.rand(100)
    p = parpy.threads(nthreads)
    check(strided_ranges, [x, y, z, 100], {'N': p, 'S': p})


@parpy.jit
def negative_steps(x, y, z, w, N):
    parpy.label('N')
    for i in range(N - 1, -1, -1):
        y[N - 1 - i] = x[i]
    parpy.label('T')
    for i in range(10, 0, -3):
        z[i] = i * 2
    parpy.label('U')
    for i in range(N - 2, 2, -2):
        w[i] = x[i] - x[i - 1]


def test_negative_step_ranges(rng, nthreads):
    x = rng.rand(51)
    y = np.empty(51)
    z = np.zeros(12, np.int32)
    w = rng.rand(51)
    p = parpy.threads(nthreads)
    check(negative_steps, [x, y, z, w, 51], {'N': p, 'T': p, 'U': p}, outputs=[1])


@parpy.jit
def suffix_sums(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        y[i, M - 1] = x[i, M - 1]
        for j in range(M - 2, -1, -1):
            y[i, j] = y[i, j + 1] + x[i, j]


def test_sequential_backward_loop_in_parallel_rows(rng, nthreads):
    x = rng.rand((20, 33), np.int64)
    y = np.empty((20, 33), np.int64)
    check(suffix_sums, [x, y, 20, 33], {'N': parpy.threads(nthreads)}, outputs=[1])


@parpy.jit
def empty_and_reversed_ranges(x, y, N):
    parpy.label('N')
    for i in range(N):
        for j in range(5, 2):
            y[i] = -1.0
        for j in range(2, 5, -1):
            y[i] = -2.0
        for j in range(i, i):
            y[i] = -3.0
        y[i] = x[i]


def test_empty_ranges_run_zero_times(rng):
    x = rng.rand(40)
    check(empty_and_reversed_ranges, [x, np.empty(40), 40], {'N': parpy.threads(8)},
          outputs=[1])


@parpy.jit
def classify(x, y, N):
    parpy.label('N')
    for i in range(N):
        if x[i] < -0.5:
            y[i] = -2
        elif x[i] < 0.0:
            y[i] = -1
        elif x[i] == 0.0:
            y[i] = 0
        else:
            if x[i] > 0.5:
                if x[i] > 0.75:
                    y[i] = 3
                else:
                    y[i] = 2
            else:
                y[i] = 1


def test_if_elif_else_nested(rng, nthreads):
    x = rng.rand(500)
    x[::50] = 0.0
    check(classify, [x, np.empty(500, np.int16), 500], {'N': parpy.threads(nthreads)},
          outputs=[1])


@parpy.jit
def if_expressions(x, y, z, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] if x[i] > 0.0 else -x[i]
        z[i] = 1 if x[i] > 0.5 else (2.5 if x[i] > -0.5 else -7)


def test_if_expressions(rng):
    x = rng.rand(300, np.float32)
    check(if_expressions, [x, np.empty(300, np.float32), np.empty(300), 300],
          {'N': parpy.threads(32)}, outputs=[1, 2])


@parpy.jit
def bounded_halving(x, y, steps, N):
    parpy.label('N')
    for i in range(N):
        v = x[i]
        k = 0
        while (v > 1.0 or v < -1.0) and not k >= 40:
            v = v / 2.0
            k += 1
        y[i] = v
        steps[i] = k


def test_while_complex_condition(rng, nthreads):
    x = rng.rand(400, np.float64, -1e6, 1e6)
    x[:10] = 0.5
    check(bounded_halving, [x, np.empty(400), np.empty(400, np.int32), 400],
          {'N': parpy.threads(nthreads)}, outputs=[1, 2])


@parpy.jit
def while_counts(x, y, N):
    parpy.label('N')
    for i in range(N):
        n = x[i]
        k = 0
        while n > 0:
            if n % 3 == 0:
                n -= 2
            else:
                n -= 1
            k += 1
        y[i] = k


def test_while_with_if_body(rng):
    x = rng.rand(200, np.int32, 0, 500)
    check(while_counts, [x, np.empty(200, np.int64), 200], {'N': parpy.threads(16)},
          outputs=[1])


@parpy.jit
def local_typing(x, y, z, N):
    parpy.label('N')
    for i in range(N):
        t = 0
        if x[i] > 0.0:
            t = x[i]
        y[i] = t / 3
        u = x[i] * 2.0
        u += 1
        z[i] = u


def test_local_type_is_promotion_of_assignments(rng):
    """`t = 0` then `t = x[i]` (float64): t is a float, not truncated to an int."""
    x = rng.rand(200)
    check(local_typing, [x, np.empty(200), np.empty(200), 200], {'N': parpy.threads(16)},
          outputs=[1, 2])


@parpy.jit
def two_labels_one_loop(x, y, N):
    parpy.label('A')
    parpy.label('B')
    for i in range(N):
        y[i] = x[i] + x[i]


@pytest.mark.parametrize("par", [
    {'A': parpy.threads(32)},
    {'B': parpy.threads(32)},
    {'A': parpy.threads(32), 'B': parpy.threads(32)},
    {'A': parpy.threads(64).tpb(32)},
], ids=["A", "B", "AB", "tpb"])
def test_two_labels_on_one_loop(rng, par):
    x = rng.rand(100, np.float32)
    check(two_labels_one_loop, [x, np.empty(100, np.float32), 100], par, outputs=[1])


@parpy.jit
def prefix_sum_gpu(x, y, N):
    with parpy.gpu:
        y[0] = x[0]
        for i in range(1, N):
            y[i] = y[i - 1] + x[i]


def test_gpu_block_only(rng):
    """A function whose only parallelism is `with parpy.gpu:` needs no labels."""
    x = rng.rand(300, np.int32)
    check(prefix_sum_gpu, [x, np.empty(300, np.int32), 300], {}, outputs=[1])


@parpy.jit
def gpu_block_and_loop(x, y, s, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * x[i]
    with parpy.gpu:
        s[0] = 0.0
        for i in range(N):
            s[0] += y[i]


def test_gpu_block_after_parallel_loop(rng):
    x = rng.rand(128)
    check(gpu_block_and_loop, [x, np.empty(128), np.empty(1), 128],
          {'N': parpy.threads(32)}, outputs=[1, 2])


@parpy.jit
def sequential_outer_loop(x, y, N, T):
    for t in range(T):
        parpy.label('N')
        for i in range(N):
            y[i] = y[i] * 0.5 + x[i]


def test_sequential_loop_around_parallel_loop(rng, nthreads):
    x = rng.rand(256)
    y = rng.rand(256)
    check(sequential_outer_loop, [x, y, 256, 5], {'N': parpy.threads(nthreads)})


@parpy.jit
def shapes_and_len(x, y):
    parpy.label('N')
    for i in range(x.shape[0]):
        for j in range(len(x[i])):
            y[i, j] = x[i, j] + x.shape[1] * 10 + len(x)


def test_shape_and_len(rng):
    x = rng.rand((12, 7), np.int32)
    check(shapes_and_len, [x, np.empty((12, 7), np.int32)], {'N': parpy.threads(4)},
          outputs=[1])


@parpy.jit
def partial_index(x, y, z, N, M):
    parpy.label('N')
    for i in range(N):
        row = x[i]
        y[i] = row[0] + row[M - 1]
        plane = z[i]
        for j in range(M):
            plane[j] = row[j] * 2.0
        z[i][0] = x[i][M - 1]


def test_partial_indexing_views(rng):
    x = rng.rand((9, 6))
    check(partial_index, [x, np.empty(9), np.empty((9, 6)), 9, 6], {'N': parpy.threads(3)},
          outputs=[1, 2])


@parpy.jit
def rank3(x, y, N, M, K):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            parpy.label('K')
            for k in range(K):
                y[i, j, k] = x[i, j, k] * (i + 1) - x[N - 1 - i, j, K - 1 - k]


def test_3d_arrays(rng):
    x = rng.rand((5, 6, 7), np.float32)
    par = {'N': parpy.threads(5), 'M': parpy.threads(6), 'K': parpy.threads(7)}
    check(rank3, [x, np.empty((5, 6, 7), np.float32), 5, 6, 7], par, outputs=[1])


@parpy.jit
def rank4(x, w, y):
    parpy.label('A')
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            parpy.label('C')
            for c in range(x.shape[2]):
                for d in range(x.shape[3]):
                    y[a, b, c, d] = x[a, b, c, d] * w[d] + x[a][b][0][d]


def test_4d_arrays(rng):
    x = rng.rand((3, 4, 5, 6), np.int64)
    w = rng.rand(6, np.int64)
    check(rank4, [x, w, np.empty((3, 4, 5, 6), np.int64)],
          {'A': parpy.threads(3), 'C': parpy.threads(5)}, outputs=[2])


@parpy.jit
def negative_literal_indices(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i, -1] = x[i, -1] + x[-1, 0]
        y[i, 0] = x[i, -2]


def test_negative_literal_indices(rng):
    x = rng.rand((6, 5), np.int32)
    y = rng.rand((6, 5), np.int32)
    check(negative_literal_indices, [x, y, 6], {'N': parpy.threads(6)})


@parpy.jit
def docstring_and_pass(x, y, N):
    """Copy the positive elements, leave the others."""
    parpy.label('N')
    for i in range(N):
        if x[i] > 0.0:
            y[i] = x[i]
        else:
            pass


def test_docstring_and_pass(rng):
    x = rng.rand(64)
    y = rng.rand(64)
    check(docstring_and_pass, [x, y, 64], {'N': parpy.threads(8)})


@parpy.jit
def loop_variable_shadowing(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        acc = 0
        for j in range(M):
            acc += x[i, j] * j
        for j in range(M - 1, -1, -1):
            acc -= j
        y[i] = acc


def test_locals_and_loop_variables(rng):
    x = rng.rand((10, 8), np.int32)
    check(loop_variable_shadowing, [x, np.empty(10, np.int64), 10, 8],
          {'N': parpy.threads(4)}, outputs=[1])
