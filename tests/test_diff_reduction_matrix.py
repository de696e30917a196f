"""Reductions: operator x element type x thread count x axis x position in
the nest, against the interpreter (Cpu in CI; PARPY_TEST_BACKEND=Cuda on a
GPU, where they exercise warp, block, cluster and multi-block reductions).

The grid is not the full product (that would be thousands of compilations):
every thread count with every operator on float32, every element type with
every operator at two thread counts, and every position with a few counts."""
import numpy as np
import pytest

import parpy
from harness import check, dtype_id, rng  # noqa: F401
from parpy.operators import max as pmax, min as pmin, prod as pprod, sum as psum

T = parpy.threads
THREADS = [1, 31, 32, 83, 1024, 2048, 65536]
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
          np.uint8, np.uint16, np.uint32, np.uint64]


def tpb_for(n):
    return T(n) if n <= 1024 else T(n).tpb(512)


@parpy.jit
def red_sum(x, out):
    parpy.label('R')
    out[0] = psum(x[:])


@parpy.jit
def red_prod(x, out):
    parpy.label('R')
    out[0] = pprod(x[:])


@parpy.jit
def red_max(x, out):
    parpy.label('R')
    out[0] = pmax(x[:])


@parpy.jit
def red_min(x, out):
    parpy.label('R')
    out[0] = pmin(x[:])


OPS = {"sum": red_sum, "prod": red_prod, "max": red_max, "min": red_min}


def exact_floats(rng, shape, dtype):
    """Multiples of 1/64 (1/4 in float16) in [-1, 1], whose every partial sum
    is exact in the type: any order of summation gives the same result, and a
    sum near zero cannot fail a relative tolerance."""
    scale = 4 if np.dtype(dtype).itemsize == 2 else 64
    k = rng.np.integers(-scale, scale + 1, size=shape)
    return (k / scale).astype(dtype)


def data(rng, op, shape, dtype):
    """Inputs whose reduction is exact enough to compare: products of values
    near 1 (and of small ints), sums that do not overflow."""
    dt = np.dtype(dtype)
    if op == "prod":
        if dt.kind == "f" and dt.itemsize > 2:
            return rng.rand(shape, dtype, 0.999, 1.001)
        x = np.ones(shape, dtype)
        flat = x.reshape(-1)
        idx = rng.np.choice(flat.size, size=min(5, flat.size), replace=False)
        flat[idx] = 2  # the product is 2**5 in every integer type
        return x
    if dt.kind == "f" and op == "sum":
        return exact_floats(rng, shape, dtype)
    if dt.kind == "f":
        return rng.rand(shape, dtype, -1.0, 1.0)
    if dt.kind == "u":
        return rng.rand(shape, dtype, 0, 10)
    return rng.rand(shape, dtype, -10, 10)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("op", list(OPS))
def test_every_thread_count(rng, op, threads):
    n = 100003
    x = data(rng, op, n, np.float32)
    check(OPS[op], [x, np.empty(1, np.float32)], {'R': tpb_for(threads)}, outputs=[1],
          reduction=True, rtol=1e-3)


@pytest.mark.parametrize("threads", [83, 2048])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("op", list(OPS))
def test_every_element_type(rng, op, dtype, threads):
    n = 5000 if np.dtype(dtype).kind != "f" or dtype != np.float16 else 500
    x = data(rng, op, n, dtype)
    out_dtype = np.result_type(np.sum(x[:1])) if op in ("sum", "prod") else dtype
    check(OPS[op], [x, np.empty(1, out_dtype)], {'R': tpb_for(threads)}, outputs=[1],
          reduction=True, rtol=2e-2 if dtype == np.float16 else 1e-4)


@parpy.jit
def row_sums(x, out, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = psum(x[i, :])


@parpy.jit
def row_max_in_seq(x, out, N, K):
    parpy.label('N')
    for i in range(N):
        for k in range(K):
            parpy.label('M')
            out[i, k] = pmax(x[i, k, :])


@parpy.jit
def axis0(x, out):
    parpy.label('A')
    parpy.label('B')
    out[:] = pmin(x[:, :], axis=0)


@parpy.jit
def axis1_3d(x, out):
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    out[:, :] = psum(x[:, :, :], axis=1)


@parpy.jit
def loop_reduce_into_element(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        for j in range(M):
            out[i] = max(out[i], x[i, j])


@pytest.mark.parametrize("threads", [1, 31, 83, 1024, 2048])
def test_inside_a_parallel_loop(rng, threads):
    x = exact_floats(rng, (20, 3001), np.float32)
    check(row_sums, [x, np.empty(20, np.float32), 20], {'N': T(20), 'M': tpb_for(threads)},
          outputs=[1], reduction=True, rtol=1e-3)


@pytest.mark.parametrize("threads", [32, 2048])
def test_inside_a_sequential_loop_in_a_nest(rng, threads):
    x = rng.rand((6, 4, 3000), np.float64)
    check(row_max_in_seq, [x, np.empty((6, 4)), 6, 4], {'N': T(6), 'M': tpb_for(threads)},
          outputs=[1])


@pytest.mark.parametrize("threads", [31, 1024, 2048])
def test_along_an_axis(rng, threads):
    x = rng.rand((300, 2500), np.float32)
    check(axis0, [x, np.empty(2500, np.float32)], {'A': tpb_for(threads), 'B': T(64)},
          outputs=[1])
    y = rng.rand((7, 3000, 9), np.float64)
    check(axis1_3d, [y, np.empty((7, 9))], {'A': T(7), 'B': tpb_for(threads), 'C': T(9)},
          outputs=[1], reduction=True)


@pytest.mark.parametrize("threads", [32, 83, 4096])
def test_explicit_reduction_loop_into_an_element(rng, threads):
    x = rng.rand((9, 5000), np.float64, -100, 100)
    out = np.full(9, -1e300)
    check(loop_reduce_into_element, [x, out, 9, 5000],
          {'N': T(9), 'M': tpb_for(threads).reduce()})


@pytest.mark.parametrize("blocks", [2, 3, 5, 8])
def test_clusters_of_any_size(rng, blocks):
    """Clusters (any block count, not only powers of two): compute capability
    9.0 on a GPU; the same results everywhere."""
    n = 400001
    x = exact_floats(rng, n, np.float32)
    opts = {"use_cuda_thread_block_clusters": True}
    check(red_sum, [x, np.empty(1, np.float32)], {'R': T(blocks * 256).tpb(256)}, outputs=[1],
          reduction=True, rtol=1e-3, opts=opts)
    y = rng.rand((10, 3000), np.float64)
    check(row_sums, [y, np.empty(10), 10], {'N': T(10), 'M': T(blocks * 128).tpb(128)},
          outputs=[1], reduction=True, opts=opts)


def test_sixteen_block_clusters(rng):
    x = rng.rand(300000, np.float32, -1, 1)
    opts = {"use_cuda_thread_block_clusters": True, "max_thread_blocks_per_cluster": 16}
    check(red_max, [x, np.empty(1, np.float32)], {'R': T(16 * 128).tpb(128)}, outputs=[1],
          opts=opts)
