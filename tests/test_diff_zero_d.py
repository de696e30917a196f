"""Differential tests: 0-d arrays as outputs (issue 13 item 6): t[()] and
t[...] on a 0-d array argument write it, and reads see the new value."""
import numpy as np
import pytest

import parpy
from harness import check, rng  # noqa: F401


@parpy.jit
def total(x, t, N):
    with parpy.gpu:
        for i in range(N):
            t[()] += x[i]
        t[...] = t * 2.0 + t[()]


def test_zero_d_accumulator(rng):
    t = np.array(1.5)
    check(total, [rng.rand(20), t, 20], {}, reduction=True)


@parpy.jit
def set_and_read(x, t, u, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * u
    with parpy.gpu:
        t[...] = 7
        u[()] = t + 1


@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_zero_d_outputs_of_several_types(rng, dtype):
    """u is read as a value in the loop, then written; t is written, then read."""
    check(set_and_read, [rng.rand(10, dtype), np.array(0, dtype), np.array(3, dtype),
                         np.empty(10, dtype), 10], {'N': parpy.threads(4)}, outputs=[3])


def test_numpy_scalar_cannot_be_written(rng):
    @parpy.jit
    def f(t):
        with parpy.gpu:
            t[()] = 1.0
    with pytest.raises(parpy.ParPyValueError, match="read-only"):
        f(np.float64(2.0))
