"""Differential tests: new axes in slice expressions (issue 13 item 5):
x[:, None], x[None, :], np.newaxis, and the outer product of gemver."""
import numpy as np

import parpy
from harness import check, rng  # noqa: F401


@parpy.jit
def gemver_outer(A, u1, v1, u2, v2, B, N):
    parpy.label('N')
    parpy.label('M')
    B[:, :] = A[:, :] + u1[:, None] * v1[None, :] + u2[:, np.newaxis] * v2[np.newaxis, :]


def test_outer_products_of_gemver(rng):
    n = 30
    A = rng.rand((n, n))
    check(gemver_outer, [A, rng.rand(n), rng.rand(n), rng.rand(n), rng.rand(n),
                         np.empty((n, n)), n],
          {'N': parpy.threads(8), 'M': parpy.threads(16)}, outputs=[5])


@parpy.jit
def columns(x, c, y, z, N):
    parpy.label('N')
    for i in range(N):
        y[i, :, :] = x[i, :, None] - c[None, :]
    parpy.label('A')
    parpy.label('B')
    z[:, :] = x[0, None, :] + x[:, 0, None]


def test_new_axes_in_rows_and_whole_arrays(rng):
    x = rng.rand((6, 4))
    c = rng.rand(5)
    check(columns, [x, c, np.empty((6, 4, 5)), np.empty((6, 4)), 6],
          {'N': parpy.threads(6), 'A': parpy.threads(6), 'B': parpy.threads(4)},
          outputs=[2, 3])


@parpy.jit
def sum_outer(u, v, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = np.sum(u[i, :, None] * v[None, i, :])


def test_reduction_of_an_outer_product(rng):
    u = rng.rand((5, 7))
    v = rng.rand((5, 3))
    check(sum_outer, [u, v, np.empty(5), 5], {'N': parpy.threads(5)}, outputs=[2],
          reduction=True)
