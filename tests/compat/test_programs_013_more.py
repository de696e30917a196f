"""More programs in ParPy 0.1.3's style (issue 10): NPBench's Floyd-Warshall,
a 3-D heat stencil stepped inside the function, boundary copies that read the
array they write, a shift, PolyBench's triangular syrk, gemver, covariance,
seidel-2d, cholesky and fdtd-2d, k-means with a host loop over iterations,
and an N-body integrator.  As in test_programs_013.py
they run unchanged on every enabled backend (torch tensors where torch is
installed) and must give NumPy's results."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import parpy
from parpy.operators import inf, sum as psum
from test_programs_013 import backend, host, par_opts, rand, tensor, tol  # noqa: F401


def close(got, want, backend, rtol=None):
    np.testing.assert_allclose(host(got), want, rtol=rtol or tol(backend), atol=1e-12)


# ---- Floyd-Warshall (NPBench): a row statement that reads row k ----

@parpy.jit
def floyd_warshall(path, N):
    for k in range(N):
        parpy.label('i')
        for i in range(N):
            parpy.label('j')
            path[i, :] = min(path[i, :], path[i, k] + path[k, :])


def test_floyd_warshall(backend):
    N = 21
    p0 = np.round(rand(N, N) * 10) + 1
    np.fill_diagonal(p0, 0)
    p0[rand(N, N, seed=3) < 0.6] = 999
    path = tensor(p0, backend)
    floyd_warshall(path, N, opts=par_opts(backend, {'i': parpy.threads(N),
                                                    'j': parpy.threads(32)}))
    parpy.sync(backend)
    for k in range(N):
        p0[:] = np.minimum(p0, p0[:, k:k + 1] + p0[k:k + 1, :])
    close(path, p0, backend)


# ---- stencils stepped inside the function ----

@parpy.jit
def heat_3d(TSTEPS, A, B):
    for t in range(1, TSTEPS):
        parpy.label('i')
        parpy.label('j')
        parpy.label('k')
        B[1:-1, 1:-1, 1:-1] = (
            0.125 * (A[2:, 1:-1, 1:-1] - 2.0 * A[1:-1, 1:-1, 1:-1] + A[:-2, 1:-1, 1:-1])
            + 0.125 * (A[1:-1, 2:, 1:-1] - 2.0 * A[1:-1, 1:-1, 1:-1] + A[1:-1, :-2, 1:-1])
            + 0.125 * (A[1:-1, 1:-1, 2:] - 2.0 * A[1:-1, 1:-1, 1:-1] + A[1:-1, 1:-1, :-2])
            + A[1:-1, 1:-1, 1:-1])
        parpy.label('i')
        parpy.label('j')
        parpy.label('k')
        A[1:-1, 1:-1, 1:-1] = (
            0.125 * (B[2:, 1:-1, 1:-1] - 2.0 * B[1:-1, 1:-1, 1:-1] + B[:-2, 1:-1, 1:-1])
            + 0.125 * (B[1:-1, 2:, 1:-1] - 2.0 * B[1:-1, 1:-1, 1:-1] + B[1:-1, :-2, 1:-1])
            + 0.125 * (B[1:-1, 1:-1, 2:] - 2.0 * B[1:-1, 1:-1, 1:-1] + B[1:-1, 1:-1, :-2])
            + B[1:-1, 1:-1, 1:-1])


def test_heat_3d(backend):
    N, TSTEPS = 10, 6
    A0, B0 = rand(N, N, N), rand(N, N, N, seed=9)
    A, B = tensor(A0, backend), tensor(B0, backend)
    heat_3d(TSTEPS, A, B, opts=par_opts(backend, {'i': parpy.threads(N - 2),
                                                  'j': parpy.threads(N - 2),
                                                  'k': parpy.threads(32)}))
    parpy.sync(backend)
    for t in range(1, TSTEPS):
        for src, dst in ((A0, B0), (B0, A0)):
            dst[1:-1, 1:-1, 1:-1] = (
                0.125 * (src[2:, 1:-1, 1:-1] - 2.0 * src[1:-1, 1:-1, 1:-1] + src[:-2, 1:-1, 1:-1])
                + 0.125 * (src[1:-1, 2:, 1:-1] - 2.0 * src[1:-1, 1:-1, 1:-1]
                           + src[1:-1, :-2, 1:-1])
                + 0.125 * (src[1:-1, 1:-1, 2:] - 2.0 * src[1:-1, 1:-1, 1:-1]
                           + src[1:-1, 1:-1, :-2])
                + src[1:-1, 1:-1, 1:-1])
    close(A, A0, backend)
    close(B, B0, backend)


@parpy.jit
def pressure_boundaries(p):
    # NPBench's cavity flow: each edge copies its neighbour row or column.
    parpy.label('i')
    p[:, -1] = p[:, -2]
    parpy.label('j')
    p[0, :] = p[1, :]
    parpy.label('i')
    p[:, 0] = p[:, 1]
    parpy.label('j')
    p[-1, :] = 0.0


@parpy.jit
def shift_and_smooth(x):
    parpy.label('i')
    x[1:] = x[:-1]
    parpy.label('i')
    x[:-1] = 0.5 * (x[1:] + x[:-1])


def test_boundaries_and_shifts(backend):
    p0, x0 = rand(12, 15), rand(40, seed=2)
    p, x = tensor(p0, backend), tensor(x0, backend)
    pressure_boundaries(p, opts=par_opts(backend, {'i': parpy.threads(12),
                                                   'j': parpy.threads(15)}))
    shift_and_smooth(x, opts=par_opts(backend, {'i': parpy.threads(64)}))
    parpy.sync(backend)
    p0[:, -1] = p0[:, -2]
    p0[0, :] = p0[1, :]
    p0[:, 0] = p0[:, 1]
    p0[-1, :] = 0.0
    x0[1:] = x0[:-1]
    x0[:-1] = 0.5 * (x0[1:] + x0[:-1])
    close(p, p0, backend)
    close(x, x0, backend)


# ---- PolyBench: syrk on the lower triangle ----

@parpy.jit
def syrk(alpha, beta, C, A, N, M):
    parpy.label('i')
    for i in range(N):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(M):
            for j in range(i + 1):
                C[i, j] += alpha * A[i, k] * A[j, k]


def test_syrk(backend):
    N, M = 18, 11
    C0, A0 = rand(N, N), rand(N, M, seed=4)
    C, A = tensor(C0, backend), tensor(A0, backend)
    syrk(1.5, 1.2, C, A, N, M, opts=par_opts(backend, {'i': parpy.threads(N)}))
    parpy.sync(backend)
    want = C0.copy()
    low = np.tril_indices(N)
    want[low] = (1.2 * C0 + 1.5 * A0 @ A0.T)[low]
    close(C, want, backend)


# ---- k-means: a host loop over iterations ----

@parpy.jit
def kmeans_assign(X, C, labels, N, K, D):
    parpy.label('n')
    for n in range(N):
        best = 0
        bestd = inf
        for k in range(K):
            d = 0.0
            for j in range(D):
                diff = X[n, j] - C[k, j]
                d += diff * diff
            if d < bestd:
                bestd = d
                best = k
        labels[n] = best


@parpy.jit
def kmeans_update(X, labels, C, N, K, D):
    parpy.label('k')
    for k in range(K):
        count = 0.0
        parpy.label('d')
        C[k, :] = 0.0
        for n in range(N):
            if labels[n] == k:
                count += 1.0
                for j in range(D):
                    C[k, j] += X[n, j]
        if count > 0.0:
            parpy.label('d')
            C[k, :] = C[k, :] / count


def test_kmeans(backend):
    N, K, D, ITERS = 90, 4, 3, 5
    rng = np.random.default_rng(11)
    X0 = np.concatenate([rng.normal(c, 0.3, (N // 3, D)) for c in (0.0, 2.0, 4.0)])
    C0 = X0[rng.choice(N, K, replace=False)].copy()
    X, C = tensor(X0, backend), tensor(C0, backend)
    labels = tensor(np.zeros(N, dtype=np.int64), backend)
    opts_a = par_opts(backend, {'n': parpy.threads(N)})
    opts_u = par_opts(backend, {'k': parpy.threads(K), 'd': parpy.threads(D)})
    for _ in range(ITERS):
        kmeans_assign(X, C, labels, N, K, D, opts=opts_a)
        kmeans_update(X, labels, C, N, K, D, opts=opts_u)
    parpy.sync(backend)
    Xr = X0.astype(host(X).dtype)
    Cr = C0.astype(host(X).dtype)
    for _ in range(ITERS):
        lab = ((Xr[:, None, :] - Cr[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for k in range(K):
            if (lab == k).any():
                Cr[k] = Xr[lab == k].mean(axis=0)
            else:
                Cr[k] = 0.0
    np.testing.assert_array_equal(host(labels), lab)
    close(C, Cr, backend, rtol=max(tol(backend), 1e-9))


# ---- N-body: accelerations, then a leapfrog step, Nt times ----

@parpy.jit
def nbody(pos, vel, mass, acc, N, Nt, dt, G, soft):
    for t in range(Nt):
        parpy.label('i')
        for i in range(N):
            ax = 0.0
            ay = 0.0
            az = 0.0
            for j in range(N):
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                inv = (dx * dx + dy * dy + dz * dz + soft * soft) ** (-1.5)
                ax += G * dx * inv * mass[j]
                ay += G * dy * inv * mass[j]
                az += G * dz * inv * mass[j]
            acc[i, 0] = ax
            acc[i, 1] = ay
            acc[i, 2] = az
        parpy.label('i')
        for i in range(N):
            vel[i, :] += acc[i, :] * dt
            pos[i, :] += vel[i, :] * dt


def test_nbody(backend):
    N, Nt = 30, 4
    rng = np.random.default_rng(5)
    p0, v0 = rng.normal(size=(N, 3)), rng.normal(size=(N, 3)) * 0.1
    m0 = rng.random(N) + 0.5
    pos, vel, mass = tensor(p0, backend), tensor(v0, backend), tensor(m0, backend)
    acc = tensor(np.zeros((N, 3)), backend)
    nbody(pos, vel, mass, acc, N, Nt, 0.01, 1.0, 0.1,
          opts=par_opts(backend, {'i': parpy.threads(N)}))
    parpy.sync(backend)
    for _ in range(Nt):
        d = p0[None, :, :] - p0[:, None, :]
        inv = ((d ** 2).sum(axis=2) + 0.01) ** (-1.5)
        a = 1.0 * (d * (inv * m0[None, :])[:, :, None]).sum(axis=1)
        v0 += a * 0.01
        p0 += v0 * 0.01
    close(pos, p0, backend, rtol=max(tol(backend), 1e-9))
    close(vel, v0, backend, rtol=max(tol(backend), 1e-9))


# ---- a row reduction written with a slice sum, per instance ----

@parpy.jit
def row_norms(x, out, N):
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        out[i] = psum(x[i, :] * x[i, :]) ** 0.5


def test_row_norms(backend):
    x0 = rand(9, 50)
    out = tensor(np.zeros(9), backend)
    row_norms(tensor(x0, backend), out, 9, opts=par_opts(backend, {'i': parpy.threads(9),
                                                                   'j': parpy.threads(32)}))
    parpy.sync(backend)
    close(out, np.sqrt((x0 * x0).sum(axis=1)), backend, rtol=max(tol(backend), 1e-10))


# ---- PolyBench: gemver, covariance, seidel-2d, cholesky, fdtd-2d ----

@parpy.jit
def gemver(alpha, beta, A, u1, v1, u2, v2, w, x, y, z, N):
    parpy.label('i')
    parpy.label('j')
    A[:, :] = A[:, :] + u1[:, None] * v1[None, :] + u2[:, None] * v2[None, :]
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        x[i] = x[i] + beta * psum(A[:, i] * y[:])
    parpy.label('i')
    x[:] = x[:] + z[:]
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        w[i] = w[i] + alpha * psum(A[i, :] * x[:])


@parpy.jit
def covariance(M, float_n, data, cov):
    parpy.label('j')
    for j in range(M):
        parpy.label('i')
        mean = psum(data[:, j]) / float_n
        parpy.label('i')
        data[:, j] = data[:, j] - mean
    parpy.label('i')
    for i in range(M):
        for j in range(i, M):
            s = 0.0
            for k in range(data.shape[0]):
                s += data[k, i] * data[k, j]
            cov[i, j] = s / (float_n - 1.0)
            cov[j, i] = cov[i, j]


@parpy.jit
def seidel_2d(TSTEPS, N, A):
    for t in range(TSTEPS - 1):
        with parpy.gpu:
            for i in range(1, N - 1):
                for j in range(1, N - 1):
                    A[i, j] = (A[i - 1, j - 1] + A[i - 1, j] + A[i - 1, j + 1] + A[i, j - 1]
                               + A[i, j] + A[i, j + 1] + A[i + 1, j - 1] + A[i + 1, j]
                               + A[i + 1, j + 1]) / 9.0


@parpy.jit
def cholesky(A, N):
    for i in range(N):
        with parpy.gpu:
            for j in range(i):
                s = 0.0
                for k in range(j):
                    s += A[i, k] * A[j, k]
                A[i, j] = (A[i, j] - s) / A[j, j]
            s2 = 0.0
            for k in range(i):
                s2 += A[i, k] * A[i, k]
            A[i, i] = A[i, i] - s2
            A[i, i] = A[i, i] ** 0.5


@parpy.jit
def fdtd_2d(TMAX, ex, ey, hz, fict):
    for t in range(TMAX):
        parpy.label('j')
        ey[0, :] = fict[t]
        parpy.label('i')
        parpy.label('j')
        ey[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
        parpy.label('i')
        parpy.label('j')
        ex[:, 1:] -= 0.5 * (hz[:, 1:] - hz[:, :-1])
        parpy.label('i')
        parpy.label('j')
        hz[:-1, :-1] -= 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1])


def test_gemver(backend):
    N = 12
    A0 = rand(N, N)
    u1, v1, u2, v2, w0, x0, y0, z0 = (rand(N, seed=20 + k) for k in range(8))
    A, w, x = tensor(A0, backend), tensor(w0, backend), tensor(x0, backend)
    vs = [tensor(a, backend) for a in (u1, v1, u2, v2)]
    gemver(1.5, 1.2, A, *vs, w, x, tensor(y0, backend), tensor(z0, backend), N,
           opts=par_opts(backend, {'i': parpy.threads(N), 'j': parpy.threads(16)}))
    parpy.sync(backend)
    A0 += np.outer(u1, v1) + np.outer(u2, v2)
    x0 += 1.2 * y0 @ A0 + z0
    w0 += 1.5 * A0 @ x0
    close(A, A0, backend)
    close(x, x0, backend, rtol=max(tol(backend), 1e-9))
    close(w, w0, backend, rtol=max(tol(backend), 1e-9))


def test_covariance(backend):
    M, N = 8, 10
    d0 = rand(N, M)
    data, cov = tensor(d0, backend), tensor(np.zeros((M, M)), backend)
    covariance(M, float(N), data, cov, opts=par_opts(backend, {'i': parpy.threads(16),
                                                              'j': parpy.threads(M)}))
    parpy.sync(backend)
    d0 -= d0.mean(axis=0)
    close(cov, d0.T @ d0 / (N - 1), backend, rtol=max(tol(backend), 1e-9))


def test_seidel_2d_and_cholesky(backend):
    N = 12
    A0 = rand(N, N)
    A = tensor(A0, backend)
    seidel_2d(4, N, A, opts=par_opts(backend, {}))
    S0 = rand(N, N, seed=30)
    S0 = S0 @ S0.T + N * np.eye(N)
    S = tensor(S0, backend)
    cholesky(S, N, opts=par_opts(backend, {}))
    parpy.sync(backend)
    for t in range(3):
        for i in range(1, N - 1):
            for j in range(1, N - 1):
                A0[i, j] = A0[i - 1:i + 2, j - 1:j + 2].sum() / 9.0
    close(A, A0, backend, rtol=max(tol(backend), 1e-9))
    low = np.tril_indices(N)
    close(host(S)[low], np.linalg.cholesky(S0)[low], backend, rtol=max(tol(backend), 1e-9))


def test_fdtd_2d(backend):
    N, TMAX = 12, 5
    ex0, ey0, hz0 = rand(N, N + 2), rand(N, N + 2, seed=40), rand(N, N + 2, seed=41)
    f0 = rand(TMAX, seed=42)
    ex, ey, hz = tensor(ex0, backend), tensor(ey0, backend), tensor(hz0, backend)
    fdtd_2d(TMAX, ex, ey, hz, tensor(f0, backend),
            opts=par_opts(backend, {'i': parpy.threads(16), 'j': parpy.threads(16)}))
    parpy.sync(backend)
    for t in range(TMAX):
        ey0[0, :] = f0[t]
        ey0[1:, :] -= 0.5 * (hz0[1:, :] - hz0[:-1, :])
        ex0[:, 1:] -= 0.5 * (hz0[:, 1:] - hz0[:, :-1])
        hz0[:-1, :-1] -= 0.7 * (ex0[:-1, 1:] - ex0[:-1, :-1] + ey0[1:, :-1] - ey0[:-1, :-1])
    close(hz, hz0, backend)
    close(ex, ex0, backend)
    close(ey, ey0, backend)


# ---- the Cuda code of every program above, without a GPU ----

T = parpy.threads
CUDA_PROGRAMS = {
    'floyd_warshall': (floyd_warshall, [np.zeros((21, 21)), 21], {'i': T(21), 'j': T(32)}),
    'heat_3d': (heat_3d, [6, np.zeros((10, 10, 10)), np.zeros((10, 10, 10))],
                {'i': T(8), 'j': T(8), 'k': T(32)}),
    'pressure_boundaries': (pressure_boundaries, [np.zeros((12, 15))], {'i': T(12), 'j': T(15)}),
    'shift_and_smooth': (shift_and_smooth, [np.zeros(40)], {'i': T(64)}),
    'syrk': (syrk, [1.5, 1.2, np.zeros((18, 18)), np.zeros((18, 11)), 18, 11], {'i': T(18)}),
    'kmeans_assign': (kmeans_assign, [np.zeros((90, 3)), np.zeros((4, 3)),
                                      np.zeros(90, np.int64), 90, 4, 3], {'n': T(90)}),
    'kmeans_update': (kmeans_update, [np.zeros((90, 3)), np.zeros(90, np.int64),
                                      np.zeros((4, 3)), 90, 4, 3], {'k': T(4), 'd': T(3)}),
    'nbody': (nbody, [np.zeros((30, 3)), np.zeros((30, 3)), np.zeros(30), np.zeros((30, 3)),
                      30, 4, 0.01, 1.0, 0.1], {'i': T(30)}),
    'row_norms': (row_norms, [np.zeros((9, 50)), np.zeros(9), 9], {'i': T(9), 'j': T(32)}),
    'gemver': (gemver, [1.5, 1.2, np.zeros((12, 12))] + [np.zeros(12) for _ in range(8)] + [12],
               {'i': T(12), 'j': T(16)}),
    'covariance': (covariance, [8, 10.0, np.zeros((10, 8)), np.zeros((8, 8))],
                   {'i': T(16), 'j': T(8)}),
    'seidel_2d': (seidel_2d, [4, 12, np.zeros((12, 12))], {}),
    'cholesky': (cholesky, [np.zeros((12, 12)), 12], {}),
    'fdtd_2d': (fdtd_2d, [5, np.zeros((12, 14)), np.zeros((12, 14)), np.zeros((12, 14)),
                          np.zeros(5)], {'i': T(16), 'j': T(16)}),
}


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cuda_code_compiles_with_nvcc(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    include = os.path.join(os.path.dirname(parpy.__file__), "include")
    failed = []
    for name, (fn, args, par) in CUDA_PROGRAMS.items():
        code = parpy.print_compiled(fn, args, par_opts(parpy.CompileBackend.Cuda, par))
        src = tmp_path / f"{name}.cu"
        src.write_text(code)
        r = subprocess.run(["nvcc", "-std=c++17", "-arch=sm_90", "-c", f"-I{include}", str(src),
                            "-o", str(tmp_path / f"{name}.o")], capture_output=True, text=True,
                           env=env)
        if r.returncode:
            failed.append(f"{name}:\n{r.stdout}{r.stderr}")
    assert not failed, "\n\n".join(failed)
