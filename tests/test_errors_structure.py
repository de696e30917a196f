"""Error tests of program structure (issue 9): array variables bound more
than once, races in parallel loops, labels, slices of temporaries, arguments
that overlap, dtypes ParPy has no type for."""
import numpy as np
import pytest

import parpy
from parpy.operators import max as pmax, sum as psum
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


# ---- labels that do nothing (item 14) ----

def test_label_before_plain_assignment():
    def f(x, y, N):
        parpy.label('N')
        s = 0.0  # ERR
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] + s
    raises_at(parpy.ParPyRuntimeError, r"label 'N' is on an assignment that is neither a slice "
              r"statement nor a reduction", f, (np.zeros(4), np.zeros(4), 4), PAR, at="call")


def test_label_before_element_assignment():
    def f(x, y, N):
        parpy.label('N')
        y[0] = x[0]  # ERR
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"nothing for it to parallelise", f,
              (np.zeros(4), np.zeros(4), 4), PAR, at="call")


def test_no_label_of_opts_names_labels_and_suggests():
    def f(x, y, N):
        parpy.label('rows')
        for i in range(N):  # ERR
            parpy.label('cols')
            for j in range(N):
                y[i, j] = x[i, j]
    e = raises_at(parpy.ParPyRuntimeError,
                  r"does not contain any parallelism: none of its labels \('rows', 'cols'\) is in "
                  r"opts.parallelize, which names 'N', 'row'\. Did you mean 'rows' \(for 'row'\)\?",
                  f, (np.zeros((3, 3)), np.zeros((3, 3)), 3),
                  {'row': parpy.threads(4), 'N': parpy.threads(2)}, at="call")
    assert "'cols' (for" not in e.message


def test_no_labels_at_all():
    def f(x, y, N):  # ERR
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"does not contain any parallelism: it has no labels", f,
              (np.zeros(3), np.zeros(3), 3), PAR, at="call")


def test_labels_but_empty_opts():
    def f(x, y, N):
        parpy.label('M')
        for i in range(N):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"none of its labels \('M'\) is in opts.parallelize, "
              r"which is empty", f, (np.zeros(3), np.zeros(3), 3), {}, at="call")


# ---- slicing a temporary (item 16) ----

def test_slicing_an_expression():
    def f(x, y, z):
        parpy.label('N')
        x[:] = (y[1:] + z[:-1])[1:-1]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"slicing the result of an array expression is not "
              r"supported; index its operands", f, (np.zeros(7), np.ones(10), np.ones(10)), PAR,
              at="call")
    with np.testing.assert_raises(parpy.ParPyRuntimeError):  # print_compiled refuses too
        parpy.print_compiled(f, [np.zeros(7), np.ones(10), np.ones(10)],
                             parpy.par({'N': parpy.threads(4)}))


def test_indexing_an_expression():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = (x[:] * 2.0)[i]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"indexing or slicing the result of an array expression",
              f, (np.zeros(4), np.zeros(4), 4), PAR, at="call")


# ---- one label, several reductions (item 18) ----

def test_one_label_two_reductions():
    def f(x, out):
        parpy.label('N')
        out[0] = psum(x[:]) + pmax(x[:])  # ERR
    raises_at(parpy.ParPyRuntimeError, r"computes 2 reductions, and its label can only go to "
              r"one of them", f, (np.zeros(4), np.zeros(1)), PAR, at="call")


# ---- non-numeric dtypes (item 12) ----

@parpy.jit
def copy_first(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]


NON_NUMERIC = {
    "datetime64 scalar": (np.datetime64('2020-01-01'), "datetime64"),
    "timedelta64 scalar": (np.timedelta64(5, 's'), "timedelta64"),
    "datetime64 array": (np.array(['2020-01-01'] * 4, dtype='datetime64[D]'), "datetime64"),
    "timedelta64 array": (np.arange(4).astype('timedelta64[s]'), "timedelta64"),
    "object array": (np.array([1, 2, 3, 4], dtype=object), "object"),
    "structured array": (np.zeros(4, dtype=[('a', 'f8'), ('b', 'i4')]), r"\[\('a'"),
    "complex array": (np.zeros(4, dtype=np.complex128), "complex128"),
    "complex scalar": (np.complex64(1 + 2j), "complex64"),
    "string array": (np.array(['a', 'b', 'c', 'd']), "<U1"),
}


@pytest.mark.parametrize("case", sorted(NON_NUMERIC))
def test_non_numeric_dtype_refused(case):
    value, name = NON_NUMERIC[case]
    opts = parpy.par({'N': parpy.threads(2)})
    opts.backend = parpy.CompileBackend.Cpu
    with pytest.raises(parpy.ParPyTypeError,
                       match=rf"argument 'x' of copy_first has dtype {name}.*does not support"):
        copy_first(value, np.zeros(4), 4, opts=opts)
    with pytest.raises(parpy.ParPyTypeError, match=rf"has dtype {name}"):  # inside a dict too
        copy_dict({"x": value, "y": np.zeros(4)}, 4, opts=opts)


@parpy.jit
def copy_dict(d, N):
    parpy.label('N')
    for i in range(N):
        d["y"][i] = d["x"][i]


def test_uint8_arrays_and_bytes_still_accepted():
    opts = parpy.par({'N': parpy.threads(2)})
    opts.backend = parpy.CompileBackend.Cpu
    y = np.zeros(4, np.uint8)
    copy_first(np.arange(4, dtype=np.uint8), y, 4, opts=opts)
    assert list(y) == [0, 1, 2, 3]
    copy_first(bytearray(b"\x05\x06\x07\x08"), y, 4, opts=opts)
    assert list(y) == [5, 6, 7, 8]


# ---- arguments that share memory (item 11) ----

@parpy.jit
def copy_slices(y, x):
    parpy.label('N')
    y[:] = x[:]


@parpy.jit
def scale_into(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * 2.0


def cpu(par):
    opts = parpy.par(par)
    opts.backend = parpy.CompileBackend.Cpu
    return opts


def test_overlapping_views_refused_before_running():
    b = np.arange(9.0)
    with pytest.raises(parpy.ParPyValueError,
                       match=r"copy_slices: the arguments 'y' and 'x' share memory.*writes 'y'.*"
                             r"y\.copy\(\)"):
        copy_slices(b[1:], b[:-1], opts=cpu({'N': parpy.threads(4)}))
    assert list(b) == list(np.arange(9.0)), "nothing ran"


def test_same_array_twice_refused():
    x = np.ones(8)
    with pytest.raises(parpy.ParPyValueError, match=r"'x' and 'y' share memory"):
        scale_into(x, x, 8, opts=cpu({'N': parpy.threads(4)}))


def test_overlap_inside_a_dict_refused():
    @parpy.jit
    def f(d, N):
        parpy.label('N')
        for i in range(N):
            d["y"][i] = d["x"][i] + 1.0
    x = np.zeros(8)
    with pytest.raises(parpy.ParPyValueError, match=r"share memory.*writes 'd\[\"y\"\]'"):
        f({"x": x, "y": x[2:6]}, 4, opts=cpu({'N': parpy.threads(4)}))


def test_disjoint_views_and_read_only_sharing_accepted():
    b = np.arange(10.0)
    copy_slices(b[5:], b[:5], opts=cpu({'N': parpy.threads(4)}))   # halves do not overlap
    assert list(b) == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]

    @parpy.jit
    def add(x, z, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] + z[i]
    x = np.arange(4.0)
    y = np.zeros(4)
    add(x, x, y, 4, opts=cpu({'N': parpy.threads(4)}))             # read twice: fine
    assert list(y) == [0, 2, 4, 6]


def test_overlap_through_array_interface_refused():
    class Iface:
        def __init__(self, a):
            self.__array_interface__ = a.__array_interface__
            self.keep = a
    x = np.ones(8)
    with pytest.raises(parpy.ParPyValueError, match=r"'x' and 'y' share memory"):
        scale_into(Iface(x), x[1:], 7, opts=cpu({'N': parpy.threads(4)}))
