"""Slice statements that read the array they write (issue 10 item 4): when
no element read is written by the statement (fixed, different positions in
some dimension), the elementwise loop computes NumPy's result and the
statement is accepted; otherwise it is still refused with the reason."""
import numpy as np
import pytest

import parpy
from harness import check, marked_line, options, rng  # noqa: F401  (fixture)

T = parpy.threads


@parpy.jit
def copy_last_column(p):
    parpy.label('N')
    p[:, -1] = p[:, -2]


@parpy.jit
def copy_last_row(p):
    parpy.label('M')
    p[-1, :] = p[-2, :]


@parpy.jit
def columns_from_earlier_ones(y1, N):
    for j in range(2, N):
        parpy.label('N')
        y1[:, j] = 0.5 * y1[:, j - 1] + 0.25 * y1[:, j - 2]


@parpy.jit
def rows_inside_gpu(A, N):
    with parpy.gpu:
        for i in range(1, N):
            A[i, 1:-1] += A[i - 1, :-2] + A[i - 1, 1:-1] + A[i - 1, 2:]


@parpy.jit
def row_from_next(A, N):
    for i in range(N - 1):
        parpy.label('M')
        A[i, :] = A[i + 1, :] * 2.0


def test_column_and_row_copies(rng):
    check(copy_last_column, [rng.rand((5, 4))], {'N': T(4)})
    check(copy_last_row, [rng.rand((5, 4))], {'M': T(4)})


def test_columns_from_earlier_columns(rng):
    check(columns_from_earlier_ones, [rng.rand((6, 9)), 9], {'N': T(3)})


def test_rows_from_the_previous_row_in_gpu_block(rng):
    check(rows_inside_gpu, [rng.rand((6, 7)), 6], {})


def test_row_from_the_next_row(rng):
    check(row_from_next, [rng.rand((5, 3)), 5], {'M': T(2)})


def test_overlapping_reads_are_still_refused():
    def shift(y):
        parpy.label('N')
        y[1:] = y[:-1]  # ERR

    with pytest.raises(parpy.ParPyRuntimeError, match="reads the array it writes") as info:
        parpy.jit(shift)(np.zeros(5), opts=options({'N': T(4)}))
    assert info.value.line == marked_line(shift)


def test_same_row_through_wrapping_is_refused():
    """A one-row array: row i - 1 wraps to row i, which the statement writes."""
    def wrap(A, i):
        parpy.label('M')
        A[i, :] = A[i - 1, ::-1]  # ERR

    with pytest.raises(parpy.ParPyRuntimeError, match="reads the array it writes"):
        parpy.jit(wrap)(np.zeros((1, 4)), 0, opts=options({'M': T(4)}))
