"""Differential tests: NPBench-style and everyday scientific programs --
layer norm, go_fast, azimuthal integration, CRC-16, hand-written argmax and
scans, image filters on uint8, Lennard-Jones forces and Verlet steps, Newton
iterations in while loops, helper functions, float16/int8 data and Python
scalars of every kind (tests/harness.py compares with the interpreter)."""
import math

import numpy as np
import pytest

import parpy
from harness import check, dtype_id, rng  # noqa: F401


# ---- layer norm / softmax with NumPy calls ----

@parpy.jit
def layernorm(x, gamma, beta, y, N, eps):
    parpy.label('row')
    for i in range(N):
        parpy.label('col')
        mu = np.mean(x[i, :])
        parpy.label('col')
        var = np.var(x[i, :])
        inv = 1.0 / np.sqrt(var + eps)
        parpy.label('col')
        y[i, :] = (x[i, :] - mu) * inv * gamma[:] + beta[:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_layernorm(rng, dtype):
    N, M = 9, 70
    check(layernorm, [rng.rand((N, M), dtype), rng.rand(M, dtype), rng.rand(M, dtype),
                      np.empty((N, M), dtype), N, 1e-5],
          {'row': parpy.threads(N), 'col': parpy.threads(32)}, outputs=[3], reduction=True)


@parpy.jit
def go_fast(a, out, N):
    trace = 0.0
    parpy.label('i')
    for i in range(N):
        trace += np.tanh(a[i, i])
    parpy.label('row')
    for i in range(N):
        parpy.label('j')
        out[i, :] = a[i, :] + trace


def test_go_fast(rng):
    N = 40
    check(go_fast, [rng.rand((N, N)), np.empty((N, N)), N],
          {'i': parpy.threads(N).reduce(), 'row': parpy.threads(N), 'j': parpy.threads(32)},
          outputs=[1],
          reduction=True)


@parpy.jit
def azimint_naive(data, radius, res, npt, N):
    rmax = max(radius[:])
    parpy.label('bin')
    for i in range(npt):
        r1 = rmax * i / npt
        r2 = rmax * (i + 1) / npt
        s = 0.0
        cnt = 0
        for j in range(N):
            if r1 <= radius[j] and radius[j] < r2:
                s += data[j]
                cnt += 1
        res[i] = s / cnt if cnt > 0 else 0.0


def test_azimint_naive(rng):
    N, npt = 500, 24
    check(azimint_naive, [rng.rand(N), rng.pos(N, hi=5.0), np.empty(npt), npt, N],
          {'bin': parpy.threads(npt)}, outputs=[2])


# ---- bit twiddling ----

@parpy.jit
def crc16(data, out, N):
    with parpy.gpu:
        crc = 0xFFFF
        for k in range(N):
            cur = data[k]
            for b in range(8):
                if ((crc & 0x0001) ^ (cur & 0x0001)) != 0:
                    crc = (crc >> 1) ^ 0x8408
                else:
                    crc = crc >> 1
                cur = cur >> 1
        crc = ~crc & 0xFFFF
        crc = (crc << 8) | ((crc >> 8) & 0xFF)
        out[0] = crc & 0xFFFF


def test_crc16(rng):
    data = rng.rand(64, np.uint8, 0, 255)
    check(crc16, [data, np.empty(1, np.int64), 64], {}, outputs=[1])


@parpy.jit
def popcount_rows(x, out, N, M):
    parpy.label('i')
    for i in range(N):
        c = 0
        for j in range(M):
            v = x[i, j]
            while v != 0:
                c += v & 1
                v = v >> 1
        out[i] = c


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64], ids=dtype_id)
def test_popcount_rows(rng, dtype):
    x = rng.rand((12, 9), dtype, 0, 2 ** 20)
    check(popcount_rows, [x, np.empty(12, np.int64), 12, 9], {'i': parpy.threads(12)},
          outputs=[1])


# ---- argmax/argmin by hand, scans ----

@parpy.jit
def argmax_rows(x, idx, best, N, M):
    parpy.label('i')
    for i in range(N):
        k = 0
        m = x[i, 0]
        for j in range(1, M):
            if x[i, j] > m:
                m = x[i, j]
                k = j
        idx[i] = k
        best[i] = m


@pytest.mark.parametrize("dtype", [np.int8, np.float16, np.float32], ids=dtype_id)
def test_argmax_rows(rng, dtype):
    N, M = 17, 31
    check(argmax_rows, [rng.rand((N, M), dtype), np.empty(N, np.int32), np.empty(N, dtype),
                        N, M], {'i': parpy.threads(8)}, outputs=[1, 2])


@parpy.jit
def argmin_global(x, out, N):
    with parpy.gpu:
        best = 0
        for i in range(1, N):
            if x[i] < x[best]:
                best = i
        out[0] = best


def test_argmin_global(rng):
    check(argmin_global, [rng.rand(200), np.empty(1, np.int64), 200], {}, outputs=[1])


@parpy.jit
def prefix_sum_rows(x, y, N, M):
    parpy.label('i')
    for i in range(N):
        acc = 0
        for j in range(M):
            acc += x[i, j]
            y[i, j] = acc


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.float32], ids=dtype_id)
def test_prefix_sum_rows(rng, dtype):
    N, M = 6, 50
    out = np.int64 if np.dtype(dtype).kind == "i" else dtype
    check(prefix_sum_rows, [rng.rand((N, M), dtype), np.empty((N, M), out), N, M],
          {'i': parpy.threads(N)}, outputs=[1], reduction=True)


@parpy.jit
def blelloch_like(x, y, N):
    # inclusive scan written as a sequence of parallel passes (Hillis-Steele)
    parpy.label('i')
    y[:] = x[:]
    d = 1
    while d < N:
        parpy.label('i')
        for i in range(N):
            x[i] = y[i]
        parpy.label('i')
        for i in range(d, N):
            y[i] = x[i] + x[i - d]
        d *= 2


def test_hillis_steele_scan(rng):
    N = 37
    check(blelloch_like, [rng.rand(N, np.int64), np.empty(N, np.int64), N],
          {'i': parpy.threads(64)}, outputs=[1])


# ---- image filters ----

@parpy.jit
def box_blur(img, out, H, W):
    parpy.label('y')
    for y in range(1, H - 1):
        parpy.label('x')
        for x in range(1, W - 1):
            s = 0
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    s += img[y + dy, x + dx]
            out[y, x] = s // 9


@parpy.jit
def sobel(img, out, H, W):
    parpy.label('y')
    for y in range(1, H - 1):
        parpy.label('x')
        for x in range(1, W - 1):
            gx = (img[y - 1, x + 1] + 2 * img[y, x + 1] + img[y + 1, x + 1]
                  - img[y - 1, x - 1] - 2 * img[y, x - 1] - img[y + 1, x - 1])
            gy = (img[y + 1, x - 1] + 2 * img[y + 1, x] + img[y + 1, x + 1]
                  - img[y - 1, x - 1] - 2 * img[y - 1, x] - img[y - 1, x + 1])
            out[y, x] = min(255, int(math.sqrt(float(gx * gx + gy * gy))))


def test_box_blur_uint8(rng):
    H, W = 20, 27
    img = rng.rand((H, W), np.uint8, 0, 255)
    check(box_blur, [img, np.zeros((H, W), np.uint8), H, W],
          {'y': parpy.threads(H), 'x': parpy.threads(32)})


def test_sobel_int32(rng):
    H, W = 16, 21
    img = rng.rand((H, W), np.int32, 0, 255)
    check(sobel, [img, np.zeros((H, W), np.uint8), H, W],
          {'y': parpy.threads(H), 'x': parpy.threads(32)})


@parpy.jit
def threshold(img, mask, lo, hi, invert):
    parpy.label('y')
    parpy.label('x')
    mask[:, :] = (img[:, :] >= lo) & (img[:, :] <= hi)
    if invert:
        parpy.label('y')
        parpy.label('x')
        mask[:, :] = ~mask[:, :]


@pytest.mark.parametrize("invert", [False, True])
def test_threshold_bool_scalar(rng, invert):
    img = rng.rand((10, 12), np.float32)
    check(threshold, [img, np.empty((10, 12), np.bool_), -0.5, 0.25, invert],
          {'y': parpy.threads(10), 'x': parpy.threads(12)}, outputs=[1])


# ---- small physics ----

@parpy.jit
def lj_forces(pos, f, N, eps, sigma, cutoff):
    parpy.label('i')
    for i in range(N):
        fx = 0.0
        fy = 0.0
        fz = 0.0
        for j in range(N):
            if i != j:
                dx = pos[i, 0] - pos[j, 0]
                dy = pos[i, 1] - pos[j, 1]
                dz = pos[i, 2] - pos[j, 2]
                r2 = dx * dx + dy * dy + dz * dz
                if r2 < cutoff * cutoff:
                    sr2 = sigma * sigma / r2
                    sr6 = sr2 * sr2 * sr2
                    fmag = 24.0 * eps * (2.0 * sr6 * sr6 - sr6) / r2
                    fx += fmag * dx
                    fy += fmag * dy
                    fz += fmag * dz
        f[i, 0] = fx
        f[i, 1] = fy
        f[i, 2] = fz


@parpy.jit
def verlet(pos, vel, f, mass, dt, N, steps):
    for s in range(steps):
        parpy.label('i')
        for i in range(N):
            parpy.label('d')
            vel[i, :] += 0.5 * dt * f[i, :] / mass[i]
            parpy.label('d')
            pos[i, :] += dt * vel[i, :]


def test_lennard_jones(rng):
    N = 30
    g = np.stack(np.meshgrid(np.arange(4), np.arange(4), np.arange(2)), -1).reshape(-1, 3)[:N]
    pos = g * 1.5 + rng.rand((N, 3)) * 0.1
    check(lj_forces, [pos, np.empty((N, 3)), N, 1.0, 1.0, 2.5], {'i': parpy.threads(N)},
          outputs=[1])


def test_verlet(rng):
    N = 20
    check(verlet, [rng.rand((N, 3)), rng.rand((N, 3)), rng.rand((N, 3)), rng.pos(N), 0.01, N, 5],
          {'i': parpy.threads(N), 'd': parpy.threads(3)})


# ---- while loops ----

@parpy.jit
def newton_sqrt(a, out, N, tol):
    parpy.label('i')
    for i in range(N):
        x = a[i] if a[i] > 1.0 else 1.0
        it = 0
        while abs(x * x - a[i]) > tol and it < 100:
            x = 0.5 * (x + a[i] / x)
            it += 1
        out[i] = x


def test_newton_sqrt(rng):
    N = 50
    check(newton_sqrt, [rng.pos(N, hi=100.0), np.empty(N), N, 1e-10], {'i': parpy.threads(16)},
          outputs=[1])


@parpy.jit
def bisection(c, root, N):
    parpy.label('i')
    for i in range(N):
        lo = 0.0
        hi = 2.0
        while hi - lo > 1e-6:  # reachable in float32 too (Metal)
            mid = (lo + hi) / 2
            if mid * mid * mid - c[i] > 0:
                hi = mid
            else:
                lo = mid
        root[i] = lo


def test_bisection(rng):
    check(bisection, [rng.pos(33, hi=7.0), np.empty(33), 33], {'i': parpy.threads(33)},
          outputs=[1])


# ---- helpers ----

@parpy.jit
def sq_dist(a: parpy.types.F64, b: parpy.types.F64) -> parpy.types.F64:
    d = a - b
    return d * d


@parpy.jit
def clamp01(v: parpy.types.F32):
    if v < 0.0:
        return np.float32(0.0)
    elif v > 1.0:
        return np.float32(1.0)
    return v


@parpy.jit
def knn1(train, labels, test, pred, NT, NQ, D):
    parpy.label('q')
    for q in range(NQ):
        best = 1e300
        lab = -1
        for t in range(NT):
            d = 0.0
            for k in range(D):
                d += sq_dist(train[t, k], test[q, k])
            if d < best:
                best = d
                lab = labels[t]
        pred[q] = lab


@parpy.jit
def clamp_all(x, y, N):
    parpy.label('i')
    for i in range(N):
        y[i] = clamp01(x[i] * np.float32(1.5))


def test_nearest_neighbour_helper(rng):
    NT, NQ, D = 40, 15, 4
    check(knn1, [rng.rand((NT, D)), rng.rand(NT, np.int32, 0, 4), rng.rand((NQ, D)),
                 np.empty(NQ, np.int32), NT, NQ, D], {'q': parpy.threads(NQ)}, outputs=[3])


def test_clamp_helper_float32(rng):
    check(clamp_all, [rng.rand(60, np.float32), np.empty(60, np.float32), 60],
          {'i': parpy.threads(64)}, outputs=[1])


@parpy.jit
def saxpy_row(a, x, y):
    parpy.label('j')
    y[:] = a * x[:] + y[:]


@parpy.jit
def saxpy_rows(a, X, Y, N):
    parpy.label('i')
    for i in range(N):
        saxpy_row(a, X[i], Y[i])


def test_statement_helper_on_rows(rng):
    check(saxpy_rows, [2.5, rng.rand((7, 13), np.float32), rng.rand((7, 13), np.float32), 7],
          {'i': parpy.threads(7), 'j': parpy.threads(32)})


# ---- mixed types and Python scalars ----

@parpy.jit
def int8_dot_accumulate(a, b, out, N, M, scale):
    parpy.label('i')
    for i in range(N):
        acc = 0
        for j in range(M):
            acc += int(a[i, j]) * int(b[j])
        out[i] = acc * scale


def test_int8_dot_to_float(rng):
    N, M = 11, 64
    check(int8_dot_accumulate, [rng.rand((N, M), np.int8, -128, 127),
                                rng.rand(M, np.int8, -128, 127), np.empty(N, np.float32), N, M,
                                0.125], {'i': parpy.threads(N)}, outputs=[2])


@parpy.jit
def half_stats(x, out, N):
    parpy.label('i')
    for i in range(N):
        parpy.label('j')
        out[i, 0] = np.sum(x[i, :])
        parpy.label('j')
        hi = np.max(x[i, :])
        parpy.label('j')
        out[i, 1] = hi - np.min(x[i, :])
        parpy.label('j')
        out[i, 2] = np.mean(x[i, :])


def test_float16_row_stats(rng):
    check(half_stats, [rng.rand((5, 40), np.float16), np.empty((5, 3), np.float16), 5],
          {'i': parpy.threads(5), 'j': parpy.threads(32)}, outputs=[1], reduction=True)


@parpy.jit
def mixed_scalars(x, y, n, f, b):
    parpy.label('i')
    for i in range(x.shape[0]):
        v = x[i] * n + f
        if b:
            v = -v
        y[i] = v // 3 if n > 2 else v % 5


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.float32], ids=dtype_id)
@pytest.mark.parametrize("n,f,b", [(3, 0.5, True), (1, 2.0, False), (4, -1.5, False)])
def test_python_scalars(rng, dtype, n, f, b):
    check(mixed_scalars, [rng.rand(25, dtype, 0, 50), np.empty(25, np.float64), n, f, b],
          {'i': parpy.threads(25)}, outputs=[1])


# ---- 3-D arrays ----

@parpy.jit
def heat_3d_loops(T, A, B, N):
    for t in range(T):
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                for k in range(1, N - 1):
                    B[i, j, k] = (0.125 * (A[i + 1, j, k] - 2.0 * A[i, j, k] + A[i - 1, j, k])
                                  + 0.125 * (A[i, j + 1, k] - 2.0 * A[i, j, k] + A[i, j - 1, k])
                                  + 0.125 * (A[i, j, k + 1] - 2.0 * A[i, j, k] + A[i, j, k - 1])
                                  + A[i, j, k])
        parpy.label('i')
        for i in range(1, N - 1):
            parpy.label('j')
            for j in range(1, N - 1):
                for k in range(1, N - 1):
                    A[i, j, k] = (0.125 * (B[i + 1, j, k] - 2.0 * B[i, j, k] + B[i - 1, j, k])
                                  + 0.125 * (B[i, j + 1, k] - 2.0 * B[i, j, k] + B[i, j - 1, k])
                                  + 0.125 * (B[i, j, k + 1] - 2.0 * B[i, j, k] + B[i, j, k - 1])
                                  + B[i, j, k])


def test_heat_3d_loops(rng):
    N = 9
    check(heat_3d_loops, [3, rng.rand((N, N, N)), rng.rand((N, N, N)), N],
          {'i': parpy.threads(N), 'j': parpy.threads(8)})


@parpy.jit
def sum_over_axis0_3d(x, out):
    parpy.label('j')
    parpy.label('k')
    out[:, :] = np.sum(x[:, :, :], axis=0)


def test_sum_axis0_3d(rng):
    x = rng.rand((6, 5, 7), np.float32)
    check(sum_over_axis0_3d, [x, np.empty((5, 7), np.float32)],
          {'j': parpy.threads(5), 'k': parpy.threads(7)}, outputs=[1], reduction=True)


# ---- a local initialised on the host, reduced into on the GPU, used later ----

@parpy.jit
def center_and_scale(x, y, N, steps):
    for t in range(steps):
        s = 0.0
        ss = 0.0
        n = float(N)
        parpy.label('i')
        for i in range(N):
            s += x[i]
        parpy.label('i')
        for i in range(N):
            ss += x[i] * x[i]
        mean = s / n
        parpy.label('j')
        for j in range(N):
            y[j] = (x[j] - mean) / np.sqrt(ss / n - mean * mean)
        parpy.label('j')
        for j in range(N):
            x[j] = y[j] * 0.5 + x[j]


def test_initialised_reduction_locals(rng):
    """`s = 0.0` (two of them, with another local between) before reductions
    into them whose results later loops read: on a GPU the initialisers run
    in the reductions' kernels (docs/gpu.md)."""
    N = 300
    check(center_and_scale, [rng.rand(N), np.empty(N), N, 3],
          {'i': parpy.threads(128).reduce(), 'j': parpy.threads(128)}, outputs=[1],
          reduction=True)


@parpy.jit
def host_branch_on_gpu_sum(x, y, N):
    s = 0.0
    parpy.label('i')
    for i in range(N):
        s += x[i]
    if s > 0.0:  # ERR
        parpy.label('j')
        for j in range(N):
            y[j] = x[j] / s


def test_host_if_on_a_gpu_result_is_an_error():
    """The host would have to wait for the GPU's value: still refused, naming
    the line (on the Cpu it simply runs)."""
    from harness import marked_line
    o = parpy.par({'i': parpy.threads(32).reduce(), 'j': parpy.threads(32)})
    o.backend = parpy.CompileBackend.Cuda
    with pytest.raises(parpy.ParPyRuntimeError) as e:
        parpy.print_compiled(host_branch_on_gpu_sum, [np.ones(8), np.ones(8), 8], o)
    assert "computed on the GPU, so the host cannot read it" in str(e.value)
    assert f"line {marked_line(host_branch_on_gpu_sum)}" in str(e.value)


# ---- the Cuda code of these programs compiles with nvcc ----

NVCC_CASES = [
    (go_fast, lambda: [np.zeros((8, 8)), np.zeros((8, 8)), 8],
     {'i': parpy.threads(8).reduce(), 'row': parpy.threads(8), 'j': parpy.threads(32)}),
    (center_and_scale, lambda: [np.zeros(300), np.zeros(300), 300, 3],
     {'i': parpy.threads(128).reduce(), 'j': parpy.threads(128)}),
    (layernorm, lambda: [np.zeros((4, 70), np.float32), np.zeros(70, np.float32),
                         np.zeros(70, np.float32), np.zeros((4, 70), np.float32), 4, 1e-5],
     {'row': parpy.threads(4), 'col': parpy.threads(32)}),
    (crc16, lambda: [np.zeros(64, np.uint8), np.zeros(1, np.int64), 64], {}),
]


@pytest.mark.skipif(__import__("shutil").which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("case", NVCC_CASES, ids=lambda c: c[0].__name__)
def test_cuda_code_compiles_with_nvcc(tmp_path, case):
    from harness import nvcc_compile
    fn, args, par = case
    o = parpy.par(par)
    o.backend = parpy.CompileBackend.Cuda
    code = parpy.print_compiled(fn, args(), o)
    assert nvcc_compile(code, tmp_path, fn.__name__, cubin=True) is None
