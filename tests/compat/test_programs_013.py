"""Programs written the way ParPy 0.1.3's users write them, run unchanged
(issue 10): torch tensors where torch is installed (else NumPy arrays, as in
CI), ``parpy.par``, ``parpy.sync``, ``opts.includes += [...]``, and tests
parametrised over ``parpy.backend.backends`` (skipping the backends this
machine cannot use).  The shapes are the common NPBench/PolyBench ones:
stencils stepped by a host time loop, triangular loops, CSR, softmax, an MLP
layer and a convolution.  Results must equal NumPy's."""
import os

import numpy as np
import pytest

import parpy
from parpy.operators import exp, max as pmax, sum as psum

try:
    import torch
except ImportError:
    torch = None


def par_opts(backend, p):
    opts = parpy.par(p)
    opts.backend = backend
    return opts


@pytest.fixture(params=parpy.backend.backends, ids=lambda b: b.name)
def backend(request):
    b = request.param
    if not parpy.backend.is_enabled(b):
        pytest.skip(f"backend {b.name} is not enabled")
    return b


def ftype(backend):
    """Metal has no float64: 0.1.3's tests used float32 there."""
    return np.float32 if backend is parpy.CompileBackend.Metal else np.float64


def tol(backend):
    return 1e-4 if backend is parpy.CompileBackend.Metal else 1e-10


def tensor(a, backend):
    """0.1.3 tests pass torch tensors (on the GPU for Cuda); NumPy without torch."""
    if a.dtype == np.float64:
        a = a.astype(ftype(backend))
    if torch is None:
        return a.copy()
    t = torch.from_numpy(a.copy())
    if backend is parpy.CompileBackend.Cuda:
        t = t.cuda()
    return t


def host(t):
    return t.cpu().numpy() if torch is not None and isinstance(t, torch.Tensor) else t


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).random(shape, dtype=np.float64)


# ---- stencils: a host time loop around parallel sweeps ----

@parpy.jit
def jacobi_1d_step(A, B, N):
    parpy.label('i')
    for i in range(1, N - 1):
        B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
    parpy.label('i')
    for i in range(1, N - 1):
        A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1])


@parpy.jit
def jacobi_2d_step(A, B, N):
    parpy.label('i')
    for i in range(1, N - 1):
        parpy.label('j')
        for j in range(1, N - 1):
            B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
    parpy.label('i')
    for i in range(1, N - 1):
        parpy.label('j')
        for j in range(1, N - 1):
            A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


@parpy.jit
def jacobi_1d_slices(TSTEPS, A, B):
    # NPBench's ParPy form: slice statements, the time loop inside.
    for t in range(1, TSTEPS):
        parpy.label('i')
        B[1:-1] = 0.33333 * (A[:-2] + A[1:-1] + A[2:])
        parpy.label('i')
        A[1:-1] = 0.33333 * (B[:-2] + B[1:-1] + B[2:])


def test_jacobi_1d_slices(backend):
    N, TSTEPS = 60, 12
    A0, B0 = rand(N), rand(N, seed=8)
    A, B = tensor(A0, backend), tensor(B0, backend)
    jacobi_1d_slices(TSTEPS, A, B, opts=par_opts(backend, {'i': parpy.threads(64)}))
    parpy.sync(backend)
    for t in range(1, TSTEPS):
        B0[1:-1] = 0.33333 * (A0[:-2] + A0[1:-1] + A0[2:])
        A0[1:-1] = 0.33333 * (B0[:-2] + B0[1:-1] + B0[2:])
    np.testing.assert_allclose(host(A), A0, rtol=tol(backend))
    np.testing.assert_allclose(host(B), B0, rtol=tol(backend))


def test_jacobi_1d(backend):
    N, TSTEPS = 50, 20
    A0, B0 = rand(N), rand(N, seed=1)
    A, B = tensor(A0, backend), tensor(B0, backend)
    opts = par_opts(backend, {'i': parpy.threads(32)})
    for _ in range(TSTEPS):
        jacobi_1d_step(A, B, N, opts=opts)
    parpy.sync(backend)
    for _ in range(TSTEPS):
        B0[1:-1] = 0.33333 * (A0[:-2] + A0[1:-1] + A0[2:])
        A0[1:-1] = 0.33333 * (B0[:-2] + B0[1:-1] + B0[2:])
    np.testing.assert_allclose(host(A), A0, rtol=tol(backend))


def test_jacobi_2d(backend):
    N, TSTEPS = 24, 10
    A0, B0 = rand(N, N), rand(N, N, seed=2)
    A, B = tensor(A0, backend), tensor(B0, backend)
    opts = par_opts(backend, {'i': parpy.threads(N), 'j': parpy.threads(32)})
    for _ in range(TSTEPS):
        jacobi_2d_step(A, B, N, opts=opts)
    parpy.sync(backend)
    for _ in range(TSTEPS):
        B0[1:-1, 1:-1] = 0.2 * (A0[1:-1, 1:-1] + A0[1:-1, :-2] + A0[1:-1, 2:] + A0[2:, 1:-1]
                                + A0[:-2, 1:-1])
        A0[1:-1, 1:-1] = 0.2 * (B0[1:-1, 1:-1] + B0[1:-1, :-2] + B0[1:-1, 2:] + B0[2:, 1:-1]
                                + B0[:-2, 1:-1])
    np.testing.assert_allclose(host(A), A0, rtol=tol(backend))


# ---- PolyBench: triangular loops ----

@parpy.jit
def trmm(alpha, A, B, M, N):
    # B := alpha * A^T B with A unit lower triangular (PolyBench trmm)
    parpy.label('j')
    for j in range(N):
        for i in range(M):
            for k in range(i + 1, M):
                B[i, j] += A[k, i] * B[k, j]
            B[i, j] = alpha * B[i, j]


@parpy.jit
def lu(A, N):
    for i in range(N):
        with parpy.gpu:
            for j in range(i):
                for k in range(j):
                    A[i, j] -= A[i, k] * A[k, j]
                A[i, j] = A[i, j] / A[j, j]
        parpy.label('j')
        for j in range(i, N):
            s = 0.0
            for k in range(i):
                s += A[i, k] * A[k, j]
            A[i, j] -= s


def test_trmm(backend):
    M, N = 20, 30
    A0, B0 = rand(M, M), rand(M, N, seed=3)
    A, B = tensor(A0, backend), tensor(B0, backend)
    trmm(1.5, A, B, M, N, opts=par_opts(backend, {'j': parpy.threads(N)}))
    for i in range(M):
        for j in range(N):
            B0[i, j] += A0[i + 1:, i] @ B0[i + 1:, j]
            B0[i, j] *= 1.5
    np.testing.assert_allclose(host(B), B0, rtol=tol(backend))


def test_lu(backend):
    N = 16
    A0 = rand(N, N) + N * np.eye(N)
    A = tensor(A0, backend)
    lu(A, N, opts=par_opts(backend, {'j': parpy.threads(N)}))
    for i in range(N):
        for j in range(i):
            A0[i, j] -= A0[i, :j] @ A0[:j, j]
            A0[i, j] /= A0[j, j]
        for j in range(i, N):
            A0[i, j] -= A0[i, :i] @ A0[:i, j]
    np.testing.assert_allclose(host(A), A0, rtol=tol(backend))


# ---- CSR sparse matrix-vector product ----

@parpy.jit
def spmv(A, x, y, N):
    parpy.label('row')
    for row in range(N):
        s = 0.0
        for i in range(A['rows'][row], A['rows'][row + 1]):
            s += A['values'][i] * x[A['cols'][i]]
        y[row] = s


def test_csr_spmv(backend):
    rng = np.random.default_rng(7)
    N, M = 40, 30
    dense = rng.random((N, M)) * (rng.random((N, M)) < 0.2)
    rows = np.concatenate([[0], np.cumsum((dense != 0).sum(axis=1))]).astype(np.int64)
    cols = np.nonzero(dense)[1].astype(np.int64)
    A = {'values': tensor(dense[dense != 0], backend), 'rows': tensor(rows, backend),
         'cols': tensor(cols, backend)}
    x, y = tensor(rng.random(M), backend), tensor(np.zeros(N), backend)
    spmv(A, x, y, N, opts=par_opts(backend, {'row': parpy.threads(N)}))
    np.testing.assert_allclose(host(y), dense @ host(x), rtol=tol(backend))


# ---- softmax, MLP layer, convolution ----

@parpy.jit
def softmax(x, out, N, M):
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        m = pmax(x[i, :])
        parpy.label('j')
        out[i, :] = exp(x[i, :] - m)
        parpy.label('j')
        s = psum(out[i, :])
        parpy.label('j')
        out[i, :] = out[i, :] / s


@parpy.jit
def mlp_layer(x, W, b, out, N, H, K):
    parpy.label('n')
    for n in range(N):
        parpy.label('h')
        for h in range(H):
            acc = b[h]
            for k in range(K):
                acc += x[n, k] * W[k, h]
            out[n, h] = max(acc, 0.0)  # ReLU


@parpy.jit
def conv2d(img, w, out, H, W, KH, KW):
    parpy.label('y')
    for y in range(H - KH + 1):
        parpy.label('x')
        for x in range(W - KW + 1):
            s = 0.0
            for ky in range(KH):
                for kx in range(KW):
                    s += img[y + ky, x + kx] * w[ky, kx]
            out[y, x] = s


def test_softmax(backend):
    N, M = 13, 70
    x0 = rand(N, M) * 10
    x, out = tensor(x0, backend), tensor(np.zeros((N, M)), backend)
    softmax(x, out, N, M, opts=par_opts(backend, {'i': parpy.threads(N),
                                                   'j': parpy.threads(64)}))
    e = np.exp(x0 - x0.max(axis=1, keepdims=True))
    np.testing.assert_allclose(host(out), e / e.sum(axis=1, keepdims=True), rtol=tol(backend))


def test_mlp_layer(backend):
    N, H, K = 8, 24, 17
    x0, W0, b0 = rand(N, K) - 0.5, rand(K, H, seed=4) - 0.5, rand(H, seed=5) - 0.5
    out = tensor(np.zeros((N, H)), backend)
    mlp_layer(tensor(x0, backend), tensor(W0, backend), tensor(b0, backend), out, N, H, K,
              opts=par_opts(backend, {'n': parpy.threads(N), 'h': parpy.threads(32)}))
    np.testing.assert_allclose(host(out), np.maximum(x0 @ W0 + b0, 0.0), rtol=tol(backend),
                               atol=1e-12)


def test_conv2d(backend):
    H, W, KH, KW = 20, 23, 3, 4
    img0, w0 = rand(H, W), rand(KH, KW, seed=6)
    out = tensor(np.zeros((H - KH + 1, W - KW + 1)), backend)
    conv2d(tensor(img0, backend), tensor(w0, backend), out, H, W, KH, KW,
           opts=par_opts(backend, {'y': parpy.threads(8), 'x': parpy.threads(32)}))
    ref = np.zeros((H - KH + 1, W - KW + 1))
    for ky in range(KH):
        for kx in range(KW):
            ref += img0[ky:ky + H - KH + 1, kx:kx + W - KW + 1] * w0[ky, kx]
    np.testing.assert_allclose(host(out), ref, rtol=tol(backend))


# ---- opts.includes += [...] with an external from a header ----

HEADER = "static inline double compat_twice(double x) { return 2.0 * x; }\n"


def test_includes_plus_equals_with_an_external(tmp_path):
    if not parpy.backend.is_enabled(parpy.CompileBackend.Cpu):
        pytest.skip("the Cpu backend is not enabled")
    (tmp_path / "compat_twice.h").write_text(HEADER)

    @parpy.external("compat_twice", parpy.CompileBackend.Cpu, parpy.Target.Device,
                    header="compat_twice.h")
    def twice(x: parpy.types.F64) -> parpy.types.F64:
        return 2.0 * x

    @parpy.jit
    def apply_twice(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = twice(x[i])

    opts = par_opts(parpy.CompileBackend.Cpu, {'N': parpy.threads(8)})
    opts.includes += [os.fspath(tmp_path)]
    x, y = rand(10), np.zeros(10)
    apply_twice(x, y, 10, opts=opts)
    np.testing.assert_allclose(y, 2 * x)
