"""Error tests of program structure (issue 9): array variables bound more
than once, races in parallel loops, labels, slices of temporaries, arguments
that overlap, dtypes ParPy has no type for."""
import numpy as np

import parpy
from test_errors import raises_at

PAR = {'N': parpy.threads(4)}


# ---- array variables bound more than once (item 15) ----

def test_array_variable_rebound_to_another_shape():
    def f(a, b, T):
        src = a
        if T > 1:
            src = b  # ERR
        parpy.label('N')
        for i in range(3):
            a[i] = src[i]
    raises_at(parpy.ParPyTypeError, r"'src' names a float64\[4\] here but a float64\[3\] "
              r"elsewhere", f, (np.zeros(3), np.zeros(4), 2), PAR, at="call")


def test_array_variable_rebound_to_a_strided_view():
    def f(x, y, T):
        col = x[0]
        if T > 1:
            col = x[:, 0]  # ERR
        parpy.label('N')
        for i in range(3):
            y[i] = col[i]
    raises_at(parpy.ParPyTypeError, r"bound more than once.*contiguous.*not a strided view", f,
              (np.zeros((3, 3)), np.zeros(3), 2), PAR, at="call")


def test_array_and_scalar_in_one_variable():
    def f(x, y, T):
        v = 1.0
        if T > 1:
            v = x  # ERR
        parpy.label('N')
        for i in range(3):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"'v' holds a scalar and cannot also name an array", f,
              (np.zeros(3), np.zeros(3), 2), PAR, at="call")


def test_shifted_copy_through_rebound_arrays():
    def f(a, b, T):
        src = a
        dst = b
        if T > 1:
            src = b
        parpy.label('N')
        dst[1:] = src[:-1]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"may read the array it writes at other positions", f,
              (np.zeros(4), np.zeros(4), 2), PAR, at="call")
