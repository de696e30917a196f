"""Differential tests: slice statements (elementwise loops over array slices),
their labels, offsets, broadcasting and mixed index/slice subscripts."""
import numpy as np
import pytest

import parpy
from harness import BACKEND, check, dtype_id, nthreads, rng  # noqa: F401


@parpy.jit
def add_slices(x, y, z):
    parpy.label('N')
    z[:] = x[:] + y[:]


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64], ids=dtype_id)
def test_whole_slices(rng, nthreads, dtype):
    x = rng.rand(500, dtype)
    y = rng.rand(500, dtype)
    check(add_slices, [x, y, np.empty(500, dtype)], {'N': parpy.threads(nthreads)},
          outputs=[2])


@parpy.jit
def stencil(x, y):
    parpy.label('N')
    y[1:-1] = (x[:-2] + x[1:-1] + x[2:]) / 3.0


def test_offset_slices_stencil(rng, nthreads):
    x = rng.rand(300, np.float32)
    y = rng.rand(300, np.float32)
    check(stencil, [x, y], {'N': parpy.threads(nthreads)})


@parpy.jit
def bounded_slices(x, y, lo, hi):
    parpy.label('N')
    y[lo:hi] = x[0:hi - lo] * 2 + x[lo:hi]


def test_slices_with_scalar_bounds(rng):
    x = rng.rand(64, np.int32)
    y = rng.rand(64, np.int32)
    check(bounded_slices, [x, y, 5, 40], {'N': parpy.threads(8)})


@parpy.jit
def row_slices(a, c, N):
    parpy.label('N')
    for i in range(N):
        c[i, :] = a[i, :] * 2 + i


@parpy.jit
def row_slices_labelled(a, c, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        c[i, :] = a[i, :] * 2 + i


@pytest.mark.parametrize("fn,par", [
    (row_slices, {'N': parpy.threads(16)}),
    (row_slices_labelled, {'N': parpy.threads(4), 'M': parpy.threads(32)}),
    (row_slices_labelled, {'M': parpy.threads(32)}),
], ids=["outer", "both", "inner"])
def test_row_slices_in_loop(rng, fn, par):
    a = rng.rand((20, 45), np.float32)
    check(fn, [a, np.empty((20, 45), np.float32), 20], par, outputs=[1])


@parpy.jit
def column_slices(a, c, M):
    parpy.label('M')
    for j in range(M):
        c[:, j] = a[:, j] - a[:, 0]


def test_column_slices(rng):
    a = rng.rand((17, 9))
    check(column_slices, [a, np.empty((17, 9)), 9], {'M': parpy.threads(3)}, outputs=[1])


@parpy.jit
def slice_2d_labels(x, y, z):
    parpy.label('N')
    parpy.label('M')
    z[:, :] = x[:, :] * y[:, :] - 1.0


@pytest.mark.parametrize("par", [
    {'N': parpy.threads(8), 'M': parpy.threads(32)},
    {'N': parpy.threads(64)},
    {'M': parpy.threads(7)},
], ids=["NM", "N", "M"])
def test_2d_slice_two_labels(rng, par):
    """Label j of a k-dimensional slice statement drives slice dimension j."""
    x = rng.rand((23, 31))
    y = rng.rand((23, 31))
    check(slice_2d_labels, [x, y, np.empty((23, 31))], par, outputs=[2])


@parpy.jit
def slice_2d_no_labels(x, y, N):
    parpy.label('N')
    for t in range(N):
        y[t, 0] = x[t, 0]
    with parpy.gpu:  # unlabelled: one GPU thread runs the loops
        y[:, 1:] = x[:, 1:] + x[:, :-1]


def test_2d_slice_without_labels(rng):
    x = rng.rand((10, 12), np.int64)
    y = rng.rand((10, 12), np.int64)
    check(slice_2d_no_labels, [x, y, 10], {'N': parpy.threads(5)})


@parpy.jit
def slice_3d(x, y):
    parpy.label('A')
    parpy.label('B')
    parpy.label('C')
    y[:, :, :] = x[:, :, :] * 0.5 + x[:, :, :] * x[:, :, :]


def test_3d_slice(rng):
    x = rng.rand((4, 5, 6), np.float32)
    par = {'A': parpy.threads(4), 'B': parpy.threads(5), 'C': parpy.threads(6)}
    check(slice_3d, [x, np.empty((4, 5, 6), np.float32)], par, outputs=[1])


@parpy.jit
def slice_of_3d_plane(x, y, K):
    parpy.label('K')
    for k in range(K):
        y[k, :, :] = x[k, :, :] - x[0, :, :]
    parpy.label('R')
    y[0, 1, :] = x[K - 1, 2, :]


def test_mixed_index_and_slices_3d(rng):
    x = rng.rand((5, 4, 3))
    check(slice_of_3d_plane, [x, np.empty((5, 4, 3)), 5],
          {'K': parpy.threads(5), 'R': parpy.threads(3)}, outputs=[1])


@parpy.jit
def broadcast_rows(x, v, y):
    parpy.label('N')
    parpy.label('M')
    y[:, :] = x[:, :] + v[:]


@parpy.jit
def broadcast_unit_dims(x, c, r, y):
    parpy.label('N')
    parpy.label('M')
    y[:, :] = x[:, :] * c[:, :] + r[:, :]


def test_broadcast_lower_rank_from_the_right(rng):
    """As in NumPy, a 1-d operand lines up with the LAST dimension."""
    x = rng.rand((6, 11))
    v = rng.rand(11)
    par = {'N': parpy.threads(6), 'M': parpy.threads(4)}
    check(broadcast_rows, [x, v, np.empty((6, 11))], par, outputs=[2])


def test_broadcast_size_one_dimensions(rng):
    x = rng.rand((6, 11))
    c = rng.rand((6, 1))
    r = rng.rand((1, 11))
    par = {'N': parpy.threads(6), 'M': parpy.threads(4)}
    check(broadcast_unit_dims, [x, c, r, np.empty((6, 11))], par, outputs=[3])


@parpy.jit
def slice_math(x, p, y, m):
    parpy.label('N')
    y[:] = parpy.operators.exp(x[:]) + np.sqrt(p[:]) - parpy.operators.max(x[:], 0.0)
    parpy.label('N')
    m[:] = (x[:] > 0.0) & (p[:] < 1.0)


def test_slices_with_math_and_bool_results(rng):
    x = rng.rand(200, np.float32)
    p = rng.pos(200, np.float32)
    check(slice_math, [x, p, np.empty(200, np.float32), np.empty(200, np.bool_)],
          {'N': parpy.threads(16)}, outputs=[2, 3])


@parpy.jit
def slice_augmented(x, y, z):
    parpy.label('N')
    y[:] += x[:]
    parpy.label('N')
    z[2:] *= x[:-2]


def test_augmented_slice_assignment(rng):
    x = rng.rand(100, np.int32, -9, 9)
    y = rng.rand(100, np.int32)
    z = rng.rand(100, np.int32)
    check(slice_augmented, [x, y, z], {'N': parpy.threads(16)})


@parpy.jit
def slice_with_scalar_rhs(y, z, v):
    parpy.label('N')
    y[:] = v
    with parpy.gpu:  # unlabelled: one GPU thread runs the loops
        z[:, 1:3] = 0.5


def test_scalar_assigned_to_slice(rng):
    z = rng.rand((4, 5))
    check(slice_with_scalar_rhs, [np.empty(33, np.int8), z, 7], {'N': parpy.threads(4)},
          outputs=[0])


@parpy.jit
def slice_partial_index(x, y, N):
    parpy.label('N')
    for i in range(N):
        row = x[i]
        out = y[i]
        out[:] = row[:] * row[:]


def test_slices_of_partially_indexed_views(rng):
    x = rng.rand((8, 16), np.float32)
    check(slice_partial_index, [x, np.empty((8, 16), np.float32), 8],
          {'N': parpy.threads(4)}, outputs=[1])


@parpy.jit
def slice_mixed_dtypes(a, b, c):
    parpy.label('N')
    c[:] = a[:] * b[:] + 1


@pytest.mark.parametrize("da,db", [(np.int8, np.uint8), (np.int32, np.float32),
                                   (np.float16, np.float32)], ids=lambda d: dtype_id(d))
def test_slices_promote_like_numpy(rng, da, db):
    a = rng.rand(64, da, 0, 11)
    b = rng.rand(64, db, 0, 11)
    c = np.empty(64, (a * b + 1).dtype)
    check(slice_mixed_dtypes, [a, b, c], {'N': parpy.threads(8)}, outputs=[2])


@parpy.jit
def slice_fast_powers(x, h, s, r, q, n):
    parpy.label('N')
    h[:] = x[:] ** 0.5
    parpy.label('N')
    s[:] = x[:] ** 2
    parpy.label('N')
    r[:] = x[:] ** -1.0
    parpy.label('N')
    q[:] = np.power(x[:], n)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=dtype_id)
def test_slice_power_by_a_constant_is_numpys_fast_path(rng, dtype):
    """NumPy's `array ** 0.5` is np.sqrt ((-inf) ** 0.5 is nan, (-0.0) ** 0.5
    is -0.0, where pow() gives inf and 0.0), `** 2` np.square and `** -1`
    np.reciprocal, all correctly rounded; found by tools/fuzz.py."""
    x = rng.rand(200, dtype, -3.0, 3.0)
    x[:6] = [-np.inf, -0.0, 0.0, np.inf, np.nan, -1.0]
    outs = [np.empty(200, dtype) for _ in range(4)]
    ref, got = check(slice_fast_powers, [x, *outs, 0.5], {'N': parpy.threads(16)},
                     outputs=[1, 2, 3, 4], rtol=0, atol=0)
    for k in range(1, 5):
        # The sign of a NaN is the hardware's (x86 sets it, GPUs do not).
        num = ~np.isnan(ref[k])
        np.testing.assert_array_equal(np.signbit(got[k][num]), np.signbit(ref[k][num]))
        np.testing.assert_array_equal(got[k], ref[k])


@parpy.jit
def element_powers(x, h, N):
    parpy.label('N')
    for i in range(N):
        h[i] = x[i] ** 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_element_power_one_half_is_pow(rng, dtype):
    """Element by element, `x[i] ** 0.5` is pow() as for NumPy scalars:
    (-inf) ** 0.5 is inf and (-0.0) ** 0.5 is 0.0.  gcc turns pow(x, 0.5)
    into sqrt(x) under -fno-math-errno unless pow is not a builtin; a loop
    long enough to vectorise shows it (found by tools/fuzz.py)."""
    x = rng.rand(4096, dtype, 0.0, 3.0)
    x[::7] = -np.inf
    x[3::7] = -0.0
    # The C library's pow() is not always correctly rounded (NumPy's scalars
    # call it; so does the Cpu backend): on Cuda, where x ** 0.5 is the
    # correctly rounded sqrt but for -inf and -0.0, rare results differ by
    # one ulp (CUDA's own pow differed in 5% of them, found on the H200).
    exact = BACKEND is parpy.CompileBackend.Cpu
    ref, got = check(element_powers, [x, np.empty(4096, dtype), 4096], {'N': parpy.threads(4)},
                     outputs=[1], rtol=0 if exact else 2e-7 if dtype == np.float32 else 3e-16,
                     atol=0)
    np.testing.assert_array_equal(np.signbit(got[1]), np.signbit(ref[1]))
    np.testing.assert_array_max_ulp(got[1], ref[1], maxulp=0 if exact else 1)
    special = ~np.isfinite(x) | (x == 0)
    np.testing.assert_array_equal(got[1][special], ref[1][special])


@parpy.jit
def predicates_as_ints(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[0, i] = np.isinf(x[i])
        y[1, i] = np.isnan(x[i])
        y[2, i] = np.isfinite(x[i])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=dtype_id)
def test_predicates_stored_as_ints_are_0_or_1(rng, dtype):
    """isinf of -inf is True, stored as 1 (glibc's isinf macro gives -1);
    found by tools/fuzz.py."""
    x = rng.rand(64, dtype, -3.0, 3.0)
    x[:4] = [-np.inf, np.inf, np.nan, -0.0]
    check(predicates_as_ints, [x, np.empty((3, 64), np.int64), 64], {'N': parpy.threads(4)},
          outputs=[1])
