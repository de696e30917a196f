"""`x[:] ** 0.5 / 2 / -1.0` of float slices take NumPy's fast path on Cuda
as on Cpu (sqrt, x * x, 1 / x: correctly rounded, so bit for bit NumPy's
results); float16 too, where NumPy's `**` also takes it (-1.0 is a negated,
converted literal: it was printed as powf before).  The GPU run of
tests/test_diff_slices.py::test_slice_power_by_a_constant_is_numpys_fast_path
checks the values."""
import re

import numpy as np
import pytest

import parpy
from harness import dtype_id


@parpy.jit
def slice_fast_powers(x, h, s, r):
    parpy.label('N')
    h[:] = x[:] ** 0.5
    parpy.label('N')
    s[:] = x[:] ** 2
    parpy.label('N')
    r[:] = x[:] ** -1.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=dtype_id)
@pytest.mark.parametrize("backend", ["Cpu", "Cuda"])
def test_slice_powers_print_numpys_fast_path(dtype, backend):
    x = np.ones(64, dtype)
    o = parpy.par({'N': parpy.threads(16)})
    o.backend = getattr(parpy.CompileBackend, backend)
    code = parpy.print_compiled(slice_fast_powers, [x, x.copy(), x.copy(), x.copy()], o)
    assert not re.search(r"\bpowf?\(", code), code
    assert "sqrt" in code, code
    one = {np.float16: "1.0", np.float32: "1.0f / x[", np.float64: "1.0 / x["}[dtype]
    assert one in code, code
