"""Reductions on the Cpu backend: SIMD reductions, pairwise float sums as
accurate as NumPy's, NaN-propagating max/min, and when loops are shared
among threads at all (docs/internals.md, "Reductions on the Cpu").

Sizes here are large enough (more than 32768 iterations) for the parallel
code paths; smaller calls run on one thread."""
import math

import numpy as np
import pytest

import parpy
from harness import BACKEND, check, dtype_id, options, rng  # noqa: F401
from parpy.operators import max as pmax, min as pmin, prod as pprod, sum as psum

pytestmark = pytest.mark.skipif(BACKEND != parpy.CompileBackend.Cpu,
                                reason="about the Cpu backend's code")


@parpy.jit
def full_sum(x, out):
    parpy.label('R')
    out[0] = psum(x[:])


@parpy.jit
def full_sum_one_thread(x, out):
    with parpy.gpu:
        out[0] = psum(x[:])


@parpy.jit
def full_max(x, out):
    parpy.label('R')
    out[0] = pmax(x[:])


@parpy.jit
def full_min(x, out):
    parpy.label('R')
    out[0] = pmin(x[:])


@parpy.jit
def full_prod(x, out):
    parpy.label('R')
    out[0] = pprod(x[:])


@parpy.jit
def row_max_min(x, out, N):
    parpy.label('N')
    for i in range(N):
        out[i, 0] = pmax(x[i, :])
        out[i, 1] = pmin(x[i, :])


@parpy.jit
def row_sums_into_element(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            out[i] += x[i, j]


@parpy.jit
def row_max_into_element(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            out[i] = pmax(out[i], x[i, j])


R = {'R': parpy.threads(1024)}
EPS = {np.float32: 2.0**-24, np.float64: 2.0**-53}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
@pytest.mark.parametrize("fn", [full_sum, full_sum_one_thread], ids=["threads", "one_thread"])
def test_float_sum_as_accurate_as_numpy(rng, dtype, fn):
    # 204,800 float32 values summed in one running float had 100x NumPy's
    # error (issue 9, item 17); pairwise block sums bring it to NumPy's.
    n = 204_800
    x = rng.np.random(n).astype(dtype)
    exact = math.fsum(x.astype(np.float64).tolist())
    out = np.zeros(1, dtype)
    fn(x, out, opts=options(R))
    ours = abs(float(out[0]) - exact)
    numpy = abs(float(x.sum()) - exact)
    ulp = float(np.spacing(dtype(exact)))
    assert ours <= 4 * (numpy + ulp), (ours, numpy, ulp)
    # The documented bound, (PARPY_SUM_BLOCK + log2 n + threads) * eps * sum|x|.
    assert ours <= (128 + 18 + 64) * EPS[dtype] * float(np.abs(x).astype(np.float64).sum())


def test_float16_sum_adds_in_float(rng):
    # NumPy adds float16 values in float32; adding them in float16 loses
    # most digits of a sum of a few thousand values.
    x = rng.np.random(50_000).astype(np.float16) * np.float16(0.01)
    out = np.zeros(1, np.float16)
    full_sum(x, out, opts=options(R))
    assert abs(float(out[0]) - float(x.sum())) <= float(np.spacing(x.sum())), (out[0], x.sum())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=dtype_id)
@pytest.mark.parametrize("n", [100, 70_000])
@pytest.mark.parametrize("fn", [full_max, full_min], ids=["max", "min"])
def test_nan_propagates_through_simd_max_min(rng, dtype, n, fn):
    x = rng.rand(n, dtype)
    x[rng.np.integers(0, n)] = np.nan
    check(fn, [x, np.zeros(1, dtype)], R, outputs=[1], reduction=True)
    got = np.zeros(1, dtype)
    fn(x, got, opts=options(R))
    assert np.isnan(got[0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=dtype_id)
def test_infinities_and_nan_rows(rng, dtype):
    # Rows of the values that are special to a comparison max: +-inf, a NaN
    # first, last or alone, and plain rows.
    n, m = 512, 130
    x = rng.rand((n, m), dtype)
    x[0::5, 3] = np.inf
    x[1::5, 7] = -np.inf
    x[2::5, 0] = np.nan
    x[3::5, m - 1] = np.nan
    x[4::10, :] = np.nan
    check(row_max_min, [x, np.zeros((n, 2), dtype), n], {'N': parpy.threads(n)}, outputs=[1],
          reduction=True)


def exact_values(rng, n, dtype):
    """Values whose sums are exact in any order (floats: multiples of 1/4
    in [-1, 1]); products of floats stay near 1 (factors 1 and -1)."""
    if np.dtype(dtype).kind == "f":
        return (rng.np.integers(-4, 5, size=n) / 4).astype(dtype)
    return rng.rand(n, dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int32,
                                   np.uint64], ids=dtype_id)
@pytest.mark.parametrize("fn", [full_sum, full_max, full_min], ids=["sum", "max", "min"])
def test_parallel_simd_reductions(rng, dtype, fn):
    x = exact_values(rng, 70_001, dtype)
    if np.dtype(dtype).kind == "i":  # pairs cancel: the sum fits in the type
        x[1::2] = -x[0:-1:2]
    check(fn, [x, np.zeros(1, dtype)], R, outputs=[1], reduction=True)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8], ids=dtype_id)
def test_parallel_simd_product(rng, dtype):
    n = 70_001
    if np.dtype(dtype).kind == "f":
        x = np.where(rng.np.random(n) < 0.5, -1.0, 1.0).astype(dtype)
    else:
        x = rng.rand(n, dtype, 1, 3)
    check(full_prod, [x, np.zeros(1, dtype)], R, outputs=[1], reduction=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32], ids=dtype_id)
def test_nested_reductions_into_elements(rng, dtype):
    n, m = 300, 1000
    x = exact_values(rng, n * m, dtype).reshape(n, m)
    par = {'N': parpy.threads(n), 'M': parpy.threads(64).reduce()}
    check(row_sums_into_element, [x, exact_values(rng, n, dtype), n, m], par, reduction=True)
    start = exact_values(rng, n, dtype)
    if np.dtype(dtype).kind == "f":
        x[5, 17] = np.nan
        start[9] = np.nan
    check(row_max_into_element, [x, start, n, m], par, reduction=True)


# ---- the printed code ----

@parpy.jit
def row_sum(x, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = psum(x[i, :])


@parpy.jit
def jacobi(a, b, N, M):
    parpy.label('i')
    for i in range(1, N - 1):
        parpy.label('j')
        for j in range(1, M - 1):
            b[i, j] = (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) * 0.25


def code(fn, args, par):
    return parpy.print_compiled(fn, args, options(par, parpy.CompileBackend.Cpu))


def test_row_sum_is_a_simd_pairwise_sum():
    n, m = 1000, 1000
    src = code(row_sum, [np.zeros((n, m), np.float32), np.zeros(n, np.float32), n],
               {'N': parpy.threads(n)})
    assert "#pragma omp parallel for\n" in src
    assert "#pragma omp simd reduction(+: acc_blk)" in src
    assert "parpy_sum_push_f32(&acc_sums, acc_blk);" in src


def test_full_sum_keeps_pairwise_sums_per_thread():
    src = code(full_sum, [np.zeros(100_000, np.float64), np.zeros(1)], R)
    assert "#pragma omp parallel reduction(+: acc_total)" in src
    assert "#pragma omp for\n" in src
    assert "parpy_sum_f64 acc_sums;" in src


def test_little_work_runs_on_one_thread(monkeypatch):
    monkeypatch.delenv("PARPY_CPU_PARALLEL_MIN_WORK")
    src = code(row_sum, [np.zeros((10, 10), np.float32), np.zeros(10, np.float32), 10],
               {'N': parpy.threads(10)})
    assert "#pragma omp parallel" not in src
    assert "too little work to share among threads" in src


def test_little_work_shared_when_the_threshold_is_zero(monkeypatch):
    monkeypatch.setenv("PARPY_CPU_PARALLEL_MIN_WORK", "0")
    src = code(row_sum, [np.zeros((10, 10), np.float32), np.zeros(10, np.float32), 10],
               {'N': parpy.threads(10)})
    assert "#pragma omp parallel" in src


@pytest.mark.parametrize("n,m,collapsed", [(2048, 2048, False), (6, 20_000, True)])
def test_collapse_only_when_the_outer_loop_is_short(n, m, collapsed):
    a = np.zeros((n, m), np.float32)
    src = code(jacobi, [a, a.copy(), n, m], {'i': parpy.threads(n), 'j': parpy.threads(m)})
    assert ("collapse(2)" in src) == collapsed


# ---- scatter updates of one small array: an OpenMP array reduction ----

@parpy.jit
def histogram(b, hist, N):
    parpy.label('N')
    for i in range(N):
        hist[b[i]] += 1


@parpy.jit
def weighted_histogram(b, w, hist, N):
    parpy.label('N')
    for i in range(N):
        hist[b[i]] += w[i]


@parpy.jit
def sum_and_squares(x, acc, N):
    parpy.label('N')
    for i in range(N):
        acc[0] += x[i]
        acc[1] += x[i] * x[i]


SCATTER = {'N': parpy.threads(1024).reduce()}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16], ids=dtype_id)
def test_histogram_as_array_reduction(rng, dtype):
    n = 70_000
    b = rng.rand(n, np.uint8, 0, 255)
    check(histogram, [b, rng.rand(256, dtype, 0, 50), n], SCATTER)
    src = code(histogram, [b, np.zeros(256, dtype), n], SCATTER)
    assert "#pragma omp parallel for reduction(+: hist[:256])" in src
    assert "parpy_atomic" not in src


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_weighted_histogram_as_array_reduction(rng, dtype):
    n = 70_000
    b = rng.rand(n, np.int64, 0, 99)
    w = exact_values(rng, n, dtype)
    check(weighted_histogram, [b, w, exact_values(rng, 100, dtype), n], SCATTER, reduction=True)


def test_several_accumulators_as_array_reduction(rng):
    n = 70_000
    x = exact_values(rng, n, np.float64)
    check(sum_and_squares, [x, np.zeros(2), n], SCATTER, reduction=True)
    assert "reduction(+: acc[:2])" in code(sum_and_squares, [x, np.zeros(2), n], SCATTER)


def test_large_or_rarely_updated_arrays_stay_atomic(rng):
    # Too many bins (a private copy per thread would cost more than the
    # atomics), or too few updates per bin: atomic updates as before.
    b = np.zeros(70_000, np.int64)
    big = code(histogram, [b, np.zeros(10_000, np.int64), 70_000], SCATTER)
    assert "parpy_atomic_add_i64" in big and "reduction(" not in big
    few = code(histogram, [b, np.zeros(4096, np.int64), 40_000], SCATTER)
    assert "parpy_atomic_add_i64" in few and "reduction(" not in few
