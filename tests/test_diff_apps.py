"""Differential tests: scientists' programs written the obvious way
(PolyBench/NPBench kernels, filters, scans, hand-written argmax, helpers),
each compiled with the labels a user would parallelise and compared with the
interpreter (tests/harness.py)."""
import math

import numpy as np
import pytest

import parpy
from harness import check, dtype_id, rng  # noqa: F401


# ---- BLAS-2 style kernels (PolyBench) ----

@parpy.jit
def gesummv(alpha, beta, A, B, x, y, N):
    parpy.label('i')
    for i in range(N):
        tmp = 0.0
        yi = 0.0
        for j in range(N):
            tmp += A[i, j] * x[j]
            yi += B[i, j] * x[j]
        y[i] = alpha * tmp + beta * yi


def test_gesummv(rng):
    N = 37
    check(gesummv, [1.5, 1.2, rng.rand((N, N)), rng.rand((N, N)), rng.rand(N),
                    np.empty(N), N], {'i': parpy.threads(16)}, outputs=[5])


@parpy.jit
def atax(A, x, y, tmp, M, N):
    parpy.label('i')
    for i in range(M):
        parpy.label('j')
        tmp[i] = sum(A[i, :] * x[:])
    parpy.label('j2')
    y[:] = 0.0
    for i in range(M):
        parpy.label('j2')
        y[:] += A[i, :] * tmp[i]


def test_atax(rng):
    M, N = 19, 23
    check(atax, [rng.rand((M, N), np.float32), rng.rand(N, np.float32),
                 np.empty(N, np.float32), np.empty(M, np.float32), M, N],
          {'i': parpy.threads(M), 'j': parpy.threads(32), 'j2': parpy.threads(N)},
          outputs=[2, 3], reduction=True)


@parpy.jit
def bicg(A, p, r, s, q, M, N):
    parpy.label('j')
    for j in range(M):
        s[j] = 0.0
        for i in range(N):
            s[j] = s[j] + r[i] * A[i, j]
    parpy.label('i')
    for i in range(N):
        q[i] = 0.0
        for j in range(M):
            q[i] = q[i] + A[i, j] * p[j]


def test_bicg(rng):
    N, M = 21, 14
    check(bicg, [rng.rand((N, M)), rng.rand(M), rng.rand(N), np.empty(M), np.empty(N), M, N],
          {'i': parpy.threads(N), 'j': parpy.threads(M)}, outputs=[3, 4])


@parpy.jit
def mvt(x1, x2, y1, y2, A, N):
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        x1[i] = x1[i] + sum(A[i, :] * y1[:])
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        x2[i] += sum(A[:, i] * y2[:])


def test_mvt(rng):
    N = 30
    check(mvt, [rng.rand(N), rng.rand(N), rng.rand(N), rng.rand(N), rng.rand((N, N)), N],
          {'i': parpy.threads(N), 'j': parpy.threads(32)}, reduction=True)


# ---- BLAS-3 style (PolyBench) ----

@parpy.jit
def syr2k(alpha, beta, C, A, B, N, M):
    parpy.label('i')
    for i in range(N):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(M):
            for j in range(i + 1):
                C[i, j] += A[j, k] * alpha * B[i, k] + B[j, k] * alpha * A[i, k]


def test_syr2k(rng):
    N, M = 17, 9
    check(syr2k, [1.5, 1.2, rng.rand((N, N)), rng.rand((N, M)), rng.rand((N, M)), N, M],
          {'i': parpy.threads(N)})


@parpy.jit
def doitgen(A, C4, sum_, NR, NQ, NP):
    parpy.label('r')
    for r in range(NR):
        parpy.label('q')
        for q in range(NQ):
            for p in range(NP):
                s = 0.0
                for s_ in range(NP):
                    s += A[r, q, s_] * C4[s_, p]
                sum_[r, q, p] = s
            for p in range(NP):
                A[r, q, p] = sum_[r, q, p]


def test_doitgen(rng):
    NR, NQ, NP = 5, 6, 7
    check(doitgen, [rng.rand((NR, NQ, NP)), rng.rand((NP, NP)), np.empty((NR, NQ, NP)),
                    NR, NQ, NP], {'r': parpy.threads(NR), 'q': parpy.threads(NQ)},
          outputs=[2])


@parpy.jit
def gemm(alpha, beta, C, A, B, NI, NJ, NK):
    parpy.label('i')
    for i in range(NI):
        parpy.label('j')
        C[i, :] *= beta
        for k in range(NK):
            parpy.label('j')
            C[i, :] += alpha * A[i, k] * B[k, :]


def test_gemm(rng):
    NI, NJ, NK = 13, 11, 7
    check(gemm, [1.5, 1.2, rng.rand((NI, NJ), np.float32), rng.rand((NI, NK), np.float32),
                 rng.rand((NK, NJ), np.float32), NI, NJ, NK],
          {'i': parpy.threads(NI), 'j': parpy.threads(32)})


# ---- statistics ----

@parpy.jit
def correlation(data, corr, mean, stddev, M, N):
    float_n = float(N)
    eps = 0.1
    parpy.label('j')
    for j in range(M):
        mean[j] = 0.0
        for i in range(N):
            mean[j] += data[i, j]
        mean[j] /= float_n
    parpy.label('j')
    for j in range(M):
        stddev[j] = 0.0
        for i in range(N):
            stddev[j] += (data[i, j] - mean[j]) * (data[i, j] - mean[j])
        stddev[j] /= float_n
        stddev[j] = math.sqrt(stddev[j])
        stddev[j] = 1.0 if stddev[j] <= eps else stddev[j]
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        for j in range(M):
            data[i, j] -= mean[j]
            data[i, j] /= math.sqrt(float_n) * stddev[j]
    parpy.label('i')
    for i in range(M - 1):
        corr[i, i] = 1.0
        for j in range(i + 1, M):
            corr[i, j] = 0.0
            for k in range(N):
                corr[i, j] += data[k, i] * data[k, j]
            corr[j, i] = corr[i, j]
    with parpy.gpu:
        corr[M - 1, M - 1] = 1.0


def test_correlation(rng):
    N, M = 20, 12
    corr = np.zeros((M, M))
    check(correlation, [rng.rand((N, M)), corr, np.empty(M), np.empty(M), M, N],
          {'i': parpy.threads(16), 'j': parpy.threads(M)}, outputs=[2, 3])


# ---- stencils ----

@parpy.jit
def jacobi_2d_loops(TSTEPS, A, B, N):
    for t in range(TSTEPS):
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, 1 + j] + A[1 + i, j] + A[i - 1, j])
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, 1 + j] + B[1 + i, j] + B[i - 1, j])


def test_jacobi_2d_loops(rng):
    N = 16
    check(jacobi_2d_loops, [4, rng.rand((N, N)), rng.rand((N, N)), N],
          {'i': parpy.threads(N - 2), 'j': parpy.threads(32)})


@parpy.jit
def seidel_2d_loops(TSTEPS, A, N):
    with parpy.gpu:
        for t in range(TSTEPS):
            for i in range(1, N - 1):
                for j in range(1, N - 1):
                    A[i, j] = (A[i - 1, j - 1] + A[i - 1, j] + A[i - 1, j + 1]
                               + A[i, j - 1] + A[i, j] + A[i, j + 1]
                               + A[i + 1, j - 1] + A[i + 1, j] + A[i + 1, j + 1]) / 9.0


def test_seidel_2d_sequential(rng):
    N = 12
    check(seidel_2d_loops, [3, rng.rand((N, N)), N], {})


@parpy.jit
def adi(TSTEPS, N, u, v, p, q):
    DX = 1.0 / N
    DY = 1.0 / N
    DT = 1.0 / TSTEPS
    B1 = 2.0
    B2 = 1.0
    mul1 = B1 * DT / (DX * DX)
    mul2 = B2 * DT / (DY * DY)
    a = -mul1 / 2.0
    b = 1.0 + mul1
    c = a
    d = -mul2 / 2.0
    e = 1.0 + mul2
    f = d
    for t in range(1, TSTEPS + 1):
        parpy.label('i')
        for i in range(1, N - 1):
            v[0, i] = 1.0
            p[i, 0] = 0.0
            q[i, 0] = v[0, i]
            for j in range(1, N - 1):
                p[i, j] = -c / (a * p[i, j - 1] + b)
                q[i, j] = (-d * u[j, i - 1] + (1.0 + 2.0 * d) * u[j, i] - f * u[j, i + 1]
                           - a * q[i, j - 1]) / (a * p[i, j - 1] + b)
            v[N - 1, i] = 1.0
            for j in range(N - 2, 0, -1):
                v[j, i] = p[i, j] * v[j + 1, i] + q[i, j]
        parpy.label('i')
        for i in range(1, N - 1):
            u[i, 0] = 1.0
            p[i, 0] = 0.0
            q[i, 0] = u[i, 0]
            for j in range(1, N - 1):
                p[i, j] = -f / (d * p[i, j - 1] + e)
                q[i, j] = (-a * v[i - 1, j] + (1.0 + 2.0 * a) * v[i, j] - c * v[i + 1, j]
                           - d * q[i, j - 1]) / (d * p[i, j - 1] + e)
            u[i, N - 1] = 1.0
            for j in range(N - 2, 0, -1):
                u[i, j] = p[i, j] * u[i, j + 1] + q[i, j]


def test_adi(rng):
    N = 14
    # reduction tolerances: under Metal (float32) the recurrences amplify roundings
    check(adi, [3, N, rng.rand((N, N)), rng.rand((N, N)), rng.rand((N, N)), rng.rand((N, N))],
          {'i': parpy.threads(N)}, reduction=True)


# ---- solvers ----

@parpy.jit
def trisolv(L, x, b, N):
    with parpy.gpu:
        for i in range(N):
            x[i] = b[i]
            parpy.label('j')
            for j in range(i):
                x[i] -= L[i, j] * x[j]
            x[i] = x[i] / L[i, i]


def test_trisolv(rng):
    N = 20
    L = np.tril(rng.rand((N, N))) + N * np.eye(N)
    check(trisolv, [L, np.empty(N), rng.rand(N), N], {'j': parpy.threads(32).reduce()},
          outputs=[1], reduction=True)


@parpy.jit
def durbin(r, y, z, N):
    with parpy.gpu:
        y[0] = -r[0]
        beta = 1.0
        alpha = -r[0]
        for k in range(1, N):
            beta = (1.0 - alpha * alpha) * beta
            s = 0.0
            for i in range(k):
                s += r[k - i - 1] * y[i]
            alpha = -(r[k] + s) / beta
            parpy.label('i')
            for i in range(k):
                z[i] = y[i] + alpha * y[k - i - 1]
            parpy.label('i')
            for i in range(k):
                y[i] = z[i]
            y[k] = alpha


def test_durbin(rng):
    N = 16
    r = rng.rand(N) * 0.3
    check(durbin, [r, np.empty(N), np.zeros(N), N], {'i': parpy.threads(8)}, outputs=[1])


@parpy.jit
def ludcmp(A, b, x, y, N):
    with parpy.gpu:
        for i in range(N):
            for j in range(i):
                w = A[i, j]
                parpy.label('k')
                for k in range(j):
                    w -= A[i, k] * A[k, j]
                A[i, j] = w / A[j, j]
            for j in range(i, N):
                w = A[i, j]
                parpy.label('k')
                for k in range(i):
                    w -= A[i, k] * A[k, j]
                A[i, j] = w
        for i in range(N):
            w = b[i]
            for j in range(i):
                w -= A[i, j] * y[j]
            y[i] = w
        for i in range(N - 1, -1, -1):
            w = y[i]
            for j in range(i + 1, N):
                w -= A[i, j] * x[j]
            x[i] = w / A[i, i]


def test_ludcmp(rng):
    N = 15
    A = rng.rand((N, N)) + N * np.eye(N)
    check(ludcmp, [A, rng.rand(N), np.empty(N), np.empty(N), N], {'k': parpy.threads(16).reduce()},
          outputs=[2, 3], reduction=True)


@parpy.jit
def gramschmidt(A, R, Q, M, N):
    with parpy.gpu:
        for k in range(N):
            nrm = 0.0
            for i in range(M):
                nrm += A[i, k] * A[i, k]
            R[k, k] = math.sqrt(nrm)
            parpy.label('i')
            for i in range(M):
                Q[i, k] = A[i, k] / R[k, k]
            parpy.label('j')
            for j in range(k + 1, N):
                R[k, j] = 0.0
                for i in range(M):
                    R[k, j] += Q[i, k] * A[i, j]
                for i in range(M):
                    A[i, j] = A[i, j] - Q[i, k] * R[k, j]


def test_gramschmidt(rng):
    M, N = 14, 10
    R = np.zeros((N, N))
    check(gramschmidt, [rng.rand((M, N)), R, np.empty((M, N)), M, N],
          {'i': parpy.threads(M), 'j': parpy.threads(8)}, outputs=[2])


# ---- dynamic programming ----

@parpy.jit
def nussinov(seq, table, N):
    with parpy.gpu:
        for i in range(N - 1, -1, -1):
            for j in range(i + 1, N):
                if j - 1 >= 0:
                    table[i, j] = max(table[i, j], table[i, j - 1])
                if i + 1 < N:
                    table[i, j] = max(table[i, j], table[i + 1, j])
                if j - 1 >= 0 and i + 1 < N:
                    if i < j - 1:
                        table[i, j] = max(table[i, j],
                                          table[i + 1, j - 1] + (1 if seq[i] + seq[j] == 3 else 0))
                    else:
                        table[i, j] = max(table[i, j], table[i + 1, j - 1])
                parpy.label('k')
                for k in range(i + 1, j):
                    table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])


def test_nussinov(rng):
    N = 18
    check(nussinov, [rng.rand(N, np.int32, 0, 3), np.zeros((N, N), np.int32), N],
          {'k': parpy.threads(32).reduce()})


@parpy.jit
def floyd_loops(path, N):
    for k in range(N):
        parpy.label('i')
        for i in range(N):
            parpy.label('j')
            for j in range(N):
                if path[i, j] > path[i, k] + path[k, j]:
                    path[i, j] = path[i, k] + path[k, j]


def test_floyd_warshall_loops(rng):
    N = 15
    p = rng.rand((N, N), np.int32, 1, 50)
    # k's row and column stay fixed during iteration k, so the parallel loops are race-free
    check(floyd_loops, [p, N], {'i': parpy.threads(N), 'j': parpy.threads(32)})


# ---- `-=` in .reduce() loops: a sum of negations ----

@parpy.jit
def sub_reduce_local(x, out, N):
    parpy.label('i')
    for r in range(out.shape[0]):
        w = out[r]
        parpy.label('k')
        for k in range(N):
            w -= x[r, k] * 2
        out[r] = w


@parpy.jit
def sub_reduce_element(x, out, N):
    parpy.label('k')
    for k in range(N):
        out[0] = out[0] - x[k]


@parpy.jit
def sub_scatter(data, hist, w, N):
    parpy.label('k')
    for k in range(N):
        hist[data[k] % 8] -= w[k]


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.uint64, np.float16,
                                   np.float32, np.float64], ids=dtype_id)
def test_minus_equals_reductions(rng, dtype):
    """`w -= v` is `w += -v` step for step: integers (unsigned too) wrap alike,
    float subtraction is the addition of the negation."""
    lo = 0 if np.dtype(dtype).kind == "u" else -100
    x = rng.rand((5, 300), dtype, lo, 100)
    check(sub_reduce_local, [x, rng.rand(5, dtype, lo, 100), 300],
          {'i': parpy.threads(5), 'k': parpy.threads(64).reduce()}, reduction=True,
          rtol=0.05 if dtype == np.float16 else None, atol=1.0 if dtype == np.float16 else None)
    check(sub_reduce_element, [x[0], rng.rand(1, dtype, lo, 100), 300],
          {'k': parpy.threads(32).reduce()}, reduction=True,
          rtol=0.05 if dtype == np.float16 else None, atol=1.0 if dtype == np.float16 else None)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float64], ids=dtype_id)
def test_minus_equals_scatter(rng, dtype):
    data = rng.rand(400, np.int32, 0, 1000)
    check(sub_scatter, [data, rng.rand(8, dtype, 0, 100), rng.rand(400, dtype, 0, 5), 400],
          {'k': parpy.threads(64).reduce()}, reduction=True)


@parpy.jit
def div_reduce(x, out, N):
    parpy.label('k')
    for k in range(N):
        out[0] /= x[k]  # ERR


def test_divide_is_not_a_reduction():
    from harness import marked_line
    with pytest.raises(parpy.ParPyError) as e:
        div_reduce(np.ones(4), np.ones(1), 4, opts=parpy.par({'k': parpy.threads(4).reduce()}))
    msg = str(e.value)
    assert isinstance(e.value, parpy.ParPyRuntimeError)
    assert "parallel reduction" in msg and "+, -, *, max" in msg
    assert f"line {marked_line(div_reduce)}" in msg
