"""NumPy's and Python's semantics at the edges (issue 9): fused multiply-add,
names that collide with reserved prefixes and C library symbols, the process
locale, comparisons of unsigned ints with negative Python ints, NaN in
max/min, 64-bit literal arithmetic, NumPy functions of Python scalars,
conversions and shifts that would be undefined in C, and bools."""
import numpy as np
import pytest

import parpy
from harness import check, rng, FLOATS, dtype_id  # noqa: F401

EXACT = dict(rtol=0, atol=0)


def par(*labels):
    return {lab: parpy.threads(64) for lab in labels or ("N",)}


# --- 1. no fused multiply-add -----------------------------------------------

@parpy.jit
def axpy(a, x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i] = a[i] * x[i] + y[i]


@parpy.jit
def axmy(a, x, y, o, N):
    parpy.label('N')
    for i in range(N):
        o[i] = y[i] - a[i] * x[i]


@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("fn", [axpy, axmy], ids=["axpy", "axmy"])
def test_multiply_add_is_not_fused(rng, dt, fn):
    """Contracting a*x+y into one FMA rounds once where NumPy rounds twice: a
    quarter of the elements would differ in the last bit.  Compared bit for
    bit with NumPy's vectorised result as well as the interpreter's."""
    n = 100_000
    a, x, y = (rng.rand(n, dt, -4, 4) for _ in range(3))
    _, got = check(fn, [a, x, y, np.empty(n, dt), n], par(), outputs=[3], **EXACT)
    want = a * x + y if fn is axpy else y - a * x
    assert want.dtype == got[3].dtype
    assert np.array_equal(got[3].view(np.uint8), want.view(np.uint8))
