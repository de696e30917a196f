"""Python's builtin max/min of a float slice (issue 9 item 5, on Cpu and
Cuda): the interpreter iterates the array, keeping the first element unless
a later one compares greater (less), so a NaN is the result only when it
comes first and is skipped anywhere else.  np.max and parpy.operators.max
propagate NaN (tests/test_diff_semantics.py)."""
import numpy as np
import pytest

import parpy
from harness import check, rng, FLOATS, dtype_id  # noqa: F401

EXACT = dict(rtol=0, atol=0)


@parpy.jit
def builtin_slices(x, m, out):
    parpy.label('N')
    out[0] = max(x[:])
    parpy.label('N')
    out[1] = min(x[:])
    out[2] = max(x[:])
    out[3] = min(x[:])
    out[4] = min(x[1:])
    parpy.label('R')
    for i in range(3):
        out[5 + i] = max(m[i, :]) + min(m[i, 1:])


def cases(dt, n):
    base = np.arange(n, dtype=dt) % 7 - 3
    mid, first, last, only = base.copy(), base.copy(), base.copy(), base.copy()
    mid[n // 2] = np.nan
    first[0] = np.nan
    last[-1] = np.nan
    only[:] = np.nan
    return [base, mid, first, last, only]


@pytest.mark.parametrize("dt", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nthreads", [1, 64, 4096])
def test_builtin_max_min_of_a_slice_keep_a_first_nan_only(dt, nthreads):
    n = 5000
    for x in cases(dt, n):
        for m in cases(dt, 3 * 40):
            check(builtin_slices, [x, m.reshape(3, 40), np.empty(8, dt)],
                  {'N': parpy.threads(nthreads), 'R': parpy.threads(3)}, outputs=[2], **EXACT)
