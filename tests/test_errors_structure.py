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


# ---- races on arrays in parallel loops (item 13) ----

def test_race_write_independent_of_parallel_variable():
    def f(x, out, N):
        parpy.label('N')
        for i in range(N):
            out[0] += x[i]  # ERR
    e = raises_at(parpy.ParPyRuntimeError, r"every iteration of the parallel loop labelled 'N' "
                  r"writes this element of 'out'.*loop variable 'i'.*\.reduce\(\).*sequential",
                  f, (np.ones(10), np.zeros(1), 10), PAR, at="call")
    assert "race" in e.message


def test_race_write_indexed_by_an_inner_sequential_loop():
    def f(x, tmp, N, M):
        parpy.label('N')
        for i in range(N):
            for j in range(M):
                tmp[j] = x[i, j]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"writes this element of 'tmp'", f,
              (np.ones((4, 3)), np.zeros(3), 4, 3), PAR, at="call")


def test_race_prefix_sum_reads_previous_iteration():
    def f(x, y, N):
        parpy.label('N')
        for i in range(1, N):
            y[i] = y[i - 1] + x[i]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"reads y\[i - 1\] and writes y\[i\].*sequential", f,
              (np.ones(10), np.zeros(10), 10), PAR, at="call")


def test_race_seidel_2d_with_parallel_rows():
    def seidel(A, T, N):
        for t in range(T):
            parpy.label('N')
            for i in range(1, N - 1):
                for j in range(1, N - 1):
                    A[i, j] = (A[i - 1, j - 1] + A[i - 1, j] + A[i - 1, j + 1]  # ERR
                               + A[i, j - 1] + A[i, j] + A[i, j + 1]
                               + A[i + 1, j - 1] + A[i + 1, j] + A[i + 1, j + 1]) / 9.0
    raises_at(parpy.ParPyRuntimeError, r"reads A\[i - 1, j - 1\] and writes A\[i, j\]", seidel,
              (np.ones((8, 8)), 2, 8), PAR, at="call")


def test_race_indirect_update():
    def f(data, hist, N):
        parpy.label('N')
        for i in range(N):
            hist[data[i]] += 1  # ERR
    raises_at(parpy.ParPyRuntimeError, r"updates an element of 'hist' chosen by values read "
              r"from an array.*sequential", f,
              (np.zeros(10, np.int64), np.zeros(4, np.int64), 10), PAR, at="call")


def test_race_through_array_chosen_at_run_time():
    def f(a, b, T, N):
        src = a
        dst = b
        if T > 1:
            dst = a
        parpy.label('N')
        for i in range(1, N):
            dst[i] = src[i - 1] * 2.0  # ERR
    raises_at(parpy.ParPyRuntimeError, r"reads a\[i - 1\] and writes dst\[i\]", f,
              (np.ones(10), np.zeros(10), 2, 10), PAR, at="call")
