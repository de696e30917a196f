"""Differential tests: whole programs (matrix multiply, softmax, normalisation,
CSR SpMV, Collatz, stencils, sorting, escape-time iteration, ...)."""
import numpy as np
import pytest

import parpy
from harness import check, dtype_id, nthreads, rng  # noqa: F401


@parpy.jit
def matmul_loops(a, b, c, N, M, K):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            acc = 0.0
            for k in range(K):
                acc += a[i, k] * b[k, j]
            c[i, j] = acc


@parpy.jit
def matmul_sum(a, b, c, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            parpy.label('K')
            c[i, j] = parpy.operators.sum(a[i, :] * b[:, j])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_matmul_loops(rng, nthreads, dtype):
    a = rng.rand((33, 20), dtype)
    b = rng.rand((20, 17), dtype)
    par = {'N': parpy.threads(nthreads), 'M': parpy.threads(16)}
    check(matmul_loops, [a, b, np.empty((33, 17), dtype), 33, 17, 20], par, outputs=[2],
          reduction=True)


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(33), 'M': parpy.threads(17)},
    {'N': parpy.threads(8), 'K': parpy.threads(32)},
    {'K': parpy.threads(64)},
], ids=["NM", "NK", "K"])
def test_matmul_sum_of_slices(rng, par):
    a = rng.rand((33, 20), np.float32)
    b = rng.rand((20, 17), np.float32)
    check(matmul_sum, [a, b, np.empty((33, 17), np.float32), 33, 17], par, outputs=[2],
          reduction=True)


def test_matmul_integers(rng):
    a = rng.rand((16, 12), np.int64, -20, 20)
    b = rng.rand((12, 9), np.int64, -20, 20)
    check(matmul_sum, [a, b, np.empty((16, 9), np.int64), 16, 9],
          {'N': parpy.threads(4), 'K': parpy.threads(8)}, outputs=[2])


@parpy.jit
def softmax(x, y, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        m = parpy.operators.max(x[i, :])
        parpy.label('M')
        y[i, :] = parpy.operators.exp(x[i, :] - m)
        parpy.label('M')
        s = parpy.operators.sum(y[i, :])
        parpy.label('M')
        y[i, :] = y[i, :] / s


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(64), 'M': parpy.threads(128)},
    {'N': parpy.threads(7)},
    {'M': parpy.threads(256)},
], ids=["NM", "N", "M"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_row_softmax(rng, par, dtype):
    x = rng.rand((64, 300), dtype, -10, 10)
    check(softmax, [x, np.empty((64, 300), dtype), 64], par, outputs=[1], reduction=True)


@parpy.jit
def normalise_rows(x, y, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        s = parpy.operators.sum(x[i, :] * x[i, :])
        parpy.label('M')
        y[i, :] = x[i, :] / parpy.operators.sqrt(s)


@parpy.jit
def row_sums(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        acc = 0.0
        for j in range(M):
            acc += x[i, j]
        y[i] = acc


def test_normalise_rows(rng, nthreads):
    x = rng.rand((40, 128), np.float32)
    check(normalise_rows, [x, np.empty((40, 128), np.float32), 40],
          {'N': parpy.threads(nthreads), 'M': parpy.threads(32)}, outputs=[1], reduction=True)


def test_row_sums(rng, nthreads):
    x = rng.rand((40, 128), np.float32)
    check(row_sums, [x, np.empty(40, np.float32), 40, 128], {'N': parpy.threads(nthreads)},
          outputs=[1], reduction=True)


@parpy.jit
def spmv(rows, cols, vals, x, y, N):
    parpy.label('N')
    for i in range(N):
        acc = 0.0
        for j in range(rows[i], rows[i + 1]):
            acc += vals[j] * x[cols[j]]
        y[i] = acc


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64], ids=dtype_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_csr_spmv(rng, nthreads, dtype, index_dtype):
    rows, cols, vals, dense = rng.csr(200, 150, 0.05, dtype, index_dtype)
    x = rng.rand(150, dtype)
    ref_y = dense @ x
    _, got = check(spmv, [rows, cols, vals, x, np.empty(200, dtype), 200],
                   {'N': parpy.threads(nthreads)}, outputs=[4], reduction=True)
    np.testing.assert_allclose(got[4], ref_y, rtol=1e-4, atol=1e-4)


@parpy.jit
def collatz(x, steps, N):
    parpy.label('N')
    for i in range(N):
        n = x[i]
        k = 0
        while n != 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            k += 1
        steps[i] = k


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32], ids=dtype_id)
def test_collatz(rng, nthreads, dtype):
    x = rng.rand(500, dtype, 1, 5000)
    x[:3] = [1, 27, 97]
    check(collatz, [x, np.empty(500, np.int32), 500], {'N': parpy.threads(nthreads)},
          outputs=[1])


@parpy.jit
def jacobi(a, b, N, T):
    for t in range(T):
        parpy.label('N')
        for i in range(1, N - 1):
            b[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0
        parpy.label('N')
        for i in range(1, N - 1):
            a[i] = (b[i - 1] + b[i] + b[i + 1]) / 3.0


def test_jacobi_iterations(rng):
    a = rng.rand(200)
    b = rng.rand(200)
    check(jacobi, [a, b, 200, 10], {'N': parpy.threads(32)})


@parpy.jit
def stencil_2d(x, y, N, M):
    parpy.label('N')
    parpy.label('M')
    y[1:-1, 1:-1] = (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:]) * 0.25


def test_2d_stencil(rng):
    x = rng.rand((30, 40), np.float32)
    y = rng.rand((30, 40), np.float32)
    check(stencil_2d, [x, y, 30, 40], {'N': parpy.threads(8), 'M': parpy.threads(32)})


@parpy.jit
def transpose(x, y, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            y[j, i] = x[i, j]


def test_transpose(rng):
    x = rng.rand((23, 41), np.uint16)
    check(transpose, [x, np.empty((41, 23), np.uint16), 23, 41],
          {'N': parpy.threads(8), 'M': parpy.threads(32)}, outputs=[1])


@parpy.jit
def escape_time(cr, ci, iters, N, M, LIMIT):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            zr = 0.0
            zi = 0.0
            k = 0
            while zr * zr + zi * zi <= 4.0 and k < LIMIT:
                t = zr * zr - zi * zi + cr[j]
                zi = 2.0 * zr * zi + ci[i]
                zr = t
                k += 1
            iters[i, j] = k


def test_escape_time_iteration(rng):
    cr = np.linspace(-2.0, 0.5, 48)
    ci = np.linspace(-1.2, 1.2, 32)
    check(escape_time, [cr, ci, np.empty((32, 48), np.int32), 32, 48, 30],
          {'N': parpy.threads(8), 'M': parpy.threads(16)}, outputs=[2])


@parpy.jit
def sort_rows(x, N, M):
    parpy.label('N')
    for i in range(N):
        swapped = True
        while swapped:
            swapped = False
            for j in range(M - 1):
                if x[i, j] > x[i, j + 1]:
                    t = x[i, j]
                    x[i, j] = x[i, j + 1]
                    x[i, j + 1] = t
                    swapped = True


def test_bubble_sort_rows(rng):
    x = rng.rand((16, 25), np.int16, -1000, 1000)
    ref, got = check(sort_rows, [x, 16, 25], {'N': parpy.threads(16)})
    np.testing.assert_array_equal(got[0], np.sort(x, axis=1))


@parpy.jit
def gcd_all(a, b, g, N):
    parpy.label('N')
    for i in range(N):
        p = a[i]
        q = b[i]
        while q != 0:
            r = p % q
            p = q
            q = r
        g[i] = p


def test_gcd_while(rng):
    a = rng.rand(300, np.int64, 1, 10**6)
    b = rng.rand(300, np.int64, 1, 10**6)
    _, got = check(gcd_all, [a, b, np.empty(300, np.int64), 300], {'N': parpy.threads(16)},
                   outputs=[2])
    np.testing.assert_array_equal(got[2], np.gcd(a, b))


@parpy.jit
def histogram(x, counts, B, N):
    parpy.label('B')
    for b in range(B):
        c = 0
        for i in range(N):
            if x[i] == b:
                c += 1
        counts[b] = c


def test_histogram_by_bins(rng):
    x = rng.rand(1000, np.uint8, 0, 19)
    _, got = check(histogram, [x, np.empty(20, np.int64), 20, 1000], {'B': parpy.threads(20)},
                   outputs=[1])
    np.testing.assert_array_equal(got[1], np.bincount(x, minlength=20))


@parpy.jit
def weighted_blend(a, b, w, y, N):
    parpy.label('N')
    for i in range(N):
        t = w[i]
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        y[i] = a[i] * (1.0 - t) + b[i] * t


def test_clamped_blend(rng):
    a = rng.rand(400, np.float32)
    b = rng.rand(400, np.float32)
    w = rng.rand(400, np.float32, -0.5, 1.5)
    check(weighted_blend, [a, b, w, np.empty(400, np.float32), 400],
          {'N': parpy.threads(64)}, outputs=[3])
