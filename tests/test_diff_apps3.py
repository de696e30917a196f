"""Differential tests: more scientists' programs (deriche's recursive
filter, a k-means step with hand-written argmin, a float32 histogram with
np.floor, cholesky with `-=` reductions)."""
import numpy as np

import parpy
from harness import check, rng  # noqa: F401


@parpy.jit
def deriche(W, H, alpha, imgIn, imgOut, y1, y2):
    k = ((1.0 - np.exp(-alpha)) * (1.0 - np.exp(-alpha))
         / (1.0 + 2.0 * alpha * np.exp(-alpha) - np.exp(2.0 * alpha)))
    a1 = k
    a2 = k * np.exp(-alpha) * (alpha - 1.0)
    b1 = 2.0 ** (-alpha)
    b2 = -np.exp(-2.0 * alpha)
    parpy.label('i')
    for i in range(W):
        ym1 = 0.0
        ym2 = 0.0
        xm1 = 0.0
        for j in range(H):
            y1[i, j] = a1 * imgIn[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
            xm1 = imgIn[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    parpy.label('i')
    for i in range(W):
        yp1 = 0.0
        yp2 = 0.0
        for j in range(H - 1, -1, -1):
            y2[i, j] = a1 * yp1 + b1 * yp1 + b2 * yp2
            yp2 = yp1
            yp1 = y2[i, j]
    parpy.label('i')
    parpy.label('j')
    imgOut[:, :] = y1[:, :] + y2[:, :]


def test_deriche(rng):
    W, H = 12, 17
    check(deriche, [W, H, 0.25, rng.rand((W, H), np.float32), np.empty((W, H), np.float32),
                    np.empty((W, H), np.float32), np.empty((W, H), np.float32)],
          {'i': parpy.threads(W), 'j': parpy.threads(32)}, outputs=[4, 5, 6])


@parpy.jit
def kmeans_step(X, C, assign, newC, counts, N, K, D):
    parpy.label('n')
    for n in range(N):
        best = 0
        bd = 1e30
        for k in range(K):
            d = 0.0
            for j in range(D):
                d += (X[n, j] - C[k, j]) ** 2
            if d < bd:
                bd = d
                best = k
        assign[n] = best
    with parpy.gpu:
        for k in range(K):
            counts[k] = 0
            for j in range(D):
                newC[k, j] = 0.0
        for n in range(N):
            counts[assign[n]] += 1
            for j in range(D):
                newC[assign[n], j] += X[n, j]
        for k in range(K):
            if counts[k] > 0:
                for j in range(D):
                    newC[k, j] /= counts[k]


def test_kmeans_step(rng):
    N, K, D = 60, 4, 3
    check(kmeans_step, [rng.rand((N, D)), rng.rand((K, D)), np.empty(N, np.int64),
                        np.empty((K, D)), np.empty(K, np.int32), N, K, D],
          {'n': parpy.threads(N)}, outputs=[2, 3, 4])


@parpy.jit
def float_histogram(x, hist, lo, hi, nbins, N):
    parpy.label('i')
    for i in range(N):
        b = int(np.floor((x[i] - lo) / (hi - lo) * nbins))
        if b >= 0 and b < nbins:
            hist[b] += 1


def test_float_histogram(rng):
    check(float_histogram, [rng.rand(500, np.float32), np.zeros(10, np.int32), -1.0, 1.0, 10, 500],
          {'i': parpy.threads(64).reduce()})


@parpy.jit
def cholesky_sub(A, N):
    with parpy.gpu:
        for i in range(N):
            for j in range(i):
                parpy.label('k')
                for k in range(j):
                    A[i, j] -= A[i, k] * A[j, k]
                A[i, j] /= A[j, j]
            parpy.label('k')
            for k in range(i):
                A[i, i] -= A[i, k] * A[i, k]
            A[i, i] = np.sqrt(A[i, i])


def test_cholesky_minus_equals(rng):
    N = 12
    B = rng.rand((N, N))
    A = B @ B.T + N * np.eye(N)
    check(cholesky_sub, [A, N], {'k': parpy.threads(32).reduce()}, reduction=True)
