"""Slice statements that read the array they write (issue 10 item 4).

When no element read is written by the statement (fixed, different positions
in some dimension), or the reads are the very positions written, the
elementwise loop computes NumPy's result directly.  Otherwise the right-hand
side goes through a temporary first, as NumPy does: a stack array (per
thread), or memory the host code allocates when the statement's own loops
are parallel on a GPU or the temporary is larger than 64 KiB.  Each form is
checked against the interpreter with fresh random inputs (Cpu here; the
`cuda` tests run the same programs on a GPU), and the generated code's shape
is checked without one."""

import numpy as np
import pytest

import parpy
from harness import THREADS, check, marked_line, options, rng, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)

T = parpy.threads
Cuda = parpy.CompileBackend.Cuda
Cpu = parpy.CompileBackend.Cpu  # the code-shape checks read the Cpu backend's code
on_gpu = pytest.mark.skipif(not parpy.backend.is_enabled(Cuda), reason="no CUDA GPU")


# ---- provably disjoint: no temporary ----

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


def test_disjoint_statements_need_no_temporary():
    code = parpy.print_compiled(copy_last_column, [np.zeros((5, 4))], options({'N': T(4)}))
    assert "tmp" not in code


# ---- overlapping: through a temporary ----

@parpy.jit
def shift(x):
    parpy.label('N')
    x[1:] = x[:-1]


@parpy.jit
def add_next(x):
    parpy.label('N')
    x[:-1] = x[1:] + x[:-1]


@parpy.jit
def shift_sequential(x):
    with parpy.gpu:
        x[1:] = x[:-1] * 0.5 + x[1:]


@parpy.jit
def floyd_warshall(path, N):
    for k in range(N):
        parpy.label('i')
        for i in range(N):
            path[i, :] = min(path[i, :], path[i, k] + path[k, :])


@parpy.jit
def floyd_warshall_np(path, N):
    for k in range(N):
        parpy.label('i')
        for i in range(N):
            parpy.label('j')
            path[i, :] = np.minimum(path[i, :], path[i, k] + path[k, :])


@parpy.jit
def rows_with_same_row_reads_gpu(A, N):
    with parpy.gpu:
        for i in range(1, N):
            A[i, 1:-1] += A[i - 1, :-2] + A[i, 2:]


@parpy.jit
def rows_with_same_row_reads_par(A, N):
    for i in range(1, N):
        parpy.label('j')
        A[i, 1:-1] += A[i - 1, :-2] + A[i, 2:]


@parpy.jit
def rows_in_parallel_loop(A, N):
    parpy.label('i')
    for i in range(N):
        A[i, 1:] = A[i, :-1] * 2.0 + A[i, 1:]


@parpy.jit
def shift_with_total(x):
    parpy.label('N')
    x[1:] = x[:-1] / sum(x[:])


@parpy.jit
def reversed_row(A, i):
    parpy.label('M')
    A[i, :] = A[i - 1, ::-1]


@parpy.jit
def transpose_in_place(A):
    parpy.label('I')
    parpy.label('J')
    A[:, :] = A[::-1, ::-1]


@parpy.jit
def shift_through_rebound(a, b, T_):
    src = a
    dst = b
    if T_ > 1:
        src = b
    parpy.label('N')
    dst[1:] = src[:-1]


def npb_floyd(path):
    p = path.copy()
    for k in range(p.shape[0]):
        p[:] = np.minimum(p, p[:, k:k + 1] + p[k:k + 1, :])
    return p


@pytest.mark.parametrize("threads", THREADS)
def test_shift(rng, threads):
    check(shift, [rng.rand(37)], {'N': T(threads)})


@pytest.mark.parametrize("threads", THREADS)
def test_add_next(rng, threads):
    check(add_next, [rng.rand(29)], {'N': T(threads)})


def test_shift_one_thread(rng):
    check(shift_sequential, [rng.rand(12)], {})


@pytest.mark.parametrize("threads", [1, 7, 64])
def test_floyd_warshall_builtin_min(rng, threads):
    """Python's min of two arrays is an error in NumPy; 0.1.3 made it
    elementwise, as np.minimum, and so do we: compare with NumPy's program."""
    N = 13
    path = rng.pos((N, N))
    got = path.copy()
    floyd_warshall(got, N, opts=options({'i': T(threads)}))
    np.testing.assert_allclose(got, npb_floyd(path))


@pytest.mark.parametrize("threads", [(1, 1), (4, 7), (16, 64)])
def test_floyd_warshall_np_minimum(rng, threads):
    """Nonnegative distances: row k, which iteration i == k rewrites while
    the others read it, keeps its values (as in every parallel version)."""
    N = 17
    path = rng.pos((N, N))
    _, got = check(floyd_warshall_np, [path, N], {'i': T(threads[0]), 'j': T(threads[1])})
    np.testing.assert_allclose(got[0], npb_floyd(path))


def test_rows_reading_their_own_row_in_gpu_block(rng):
    check(rows_with_same_row_reads_gpu, [rng.rand((6, 9)), 6], {})


@pytest.mark.parametrize("threads", [1, 7, 64])
def test_rows_reading_their_own_row_in_parallel(rng, threads):
    check(rows_with_same_row_reads_par, [rng.rand((6, 9)), 6], {'j': T(threads)})


@pytest.mark.parametrize("threads", [1, 3, 64])
def test_rows_in_parallel_loop(rng, threads):
    check(rows_in_parallel_loop, [rng.rand((5, 11)), 5], {'i': T(threads)})


def test_temporary_after_a_scalar_reduction(rng):
    check(shift_with_total, [rng.pos(20)], {'N': T(8)}, reduction=True)


def test_same_row_through_wrapping(rng):
    """A one-row array: row i - 1 wraps to row i, read reversed."""
    check(reversed_row, [rng.rand((1, 6)), 0], {'M': T(4)})
    check(reversed_row, [rng.rand((3, 6)), 2], {'M': T(4)})


def test_whole_array_reversed(rng):
    check(transpose_in_place, [rng.rand((5, 6))], {'I': T(5), 'J': T(6)})


@pytest.mark.parametrize("t", [1, 2])
def test_rebound_array_variables(rng, t):
    """src may be dst (chosen at run time): the copy makes either right."""
    check(shift_through_rebound, [rng.rand(9), rng.rand(9), t], {'N': T(4)})


def test_large_temporary_allocated_by_the_call(rng):
    """Over 64 KiB: the entry allocates it instead of the stack."""
    x = rng.rand(20000)
    check(shift, [x], {'N': T(64)})
    code = parpy.print_compiled(shift, [x], options({'N': T(64)}, backend=Cpu))
    assert "__builtin_malloc(159992)" in code and "__builtin_free" in code
    assert "double tmp" not in code.split("static int32_t shift(")[1].split("{", 1)[1]


def test_large_temporary_per_parallel_iteration(rng):
    """A 9,000-element row per iteration of a parallel loop: one slice each."""
    A = rng.rand((3, 9000))
    check(rows_in_parallel_loop, [A, 3], {'i': T(3)})
    code = parpy.print_compiled(rows_in_parallel_loop, [A, 3], options({'i': T(3)}, backend=Cpu))
    assert "__builtin_malloc(215976)" in code
    assert "[i * 8999 + d]" in code


def test_small_temporary_is_a_stack_array():
    code = parpy.print_compiled(shift, [np.zeros(37)], options({'N': T(8)}, backend=Cpu))
    body = code.split("static int32_t shift(")[1]
    assert "double tmp[36];" in body and "malloc" not in code


@parpy.jit
def column_from_row_maxima(x):
    parpy.label('N')
    x[1:, 0] = np.max(x[:-1, :], axis=1)


@parpy.jit
def shift_ints(x):
    parpy.label('N')
    x[1:] = x[:-1] * 3 + x[1:]


@parpy.jit
def shift_mixed(x, y):
    parpy.label('N')
    x[1:] = x[:-1] + y[1:]


@parpy.jit
def shift_field(d):
    parpy.label('N')
    d['x'][1:] = d['x'][:-1]


@parpy.jit
def first_row_and_column(A):
    parpy.label('I')
    parpy.label('J')
    A[:, :] = A[0, :] + A[:, 0:1]


@parpy.jit
def diagonal_shift(A):
    parpy.label('I')
    parpy.label('J')
    A[1:, 1:] = A[:-1, :-1]


def test_reads_inside_a_reduction_per_element(rng):
    """The row maxima read rows the statement writes (in column 0): the
    reads are in the reduction's loop, not in the stored expression."""
    check(column_from_row_maxima, [rng.rand((6, 5))], {'N': T(4)})


def test_dtypes_fields_broadcasts_and_two_dimensions(rng):
    check(shift_ints, [rng.rand(20, np.int32)], {'N': T(4)})
    check(shift_mixed, [rng.rand(20, np.float16), rng.rand(20, np.float32)], {'N': T(4)})
    check(shift_field, [{'x': rng.rand(9)}], {'N': T(4)})
    check(first_row_and_column, [rng.rand((5, 4))], {'I': T(5), 'J': T(4)})
    check(diagonal_shift, [rng.rand((5, 4))], {'I': T(5), 'J': T(4)})


# ---- where a temporary is impossible ----

def test_large_temporary_per_iteration_of_a_loop_with_run_time_bounds():
    def f(A, n):
        parpy.label('i')
        for i in range(n[0]):
            A[i, 1:] = A[i, :-1]  # ERR

    with pytest.raises(parpy.ParPyRuntimeError, match="temporary copy of its right-hand side "
                       "for each iteration of the parallel loop 'i', whose bounds are not "
                       "constant") as info:
        parpy.jit(f)(np.zeros((2, 9000)), np.array([2]), opts=options({'i': T(2)}))
    assert info.value.line == marked_line(f)


# ---- the generated CUDA code (no GPU needed) ----

def cuda(par):
    o = parpy.par(par)
    o.backend = Cuda
    return o


CUDA_PROGRAMS = [
    ("shift", shift, [np.zeros(37)], {'N': T(64)}),
    ("shift_blocks", shift, [np.zeros(5000)], {'N': T(5000)}),
    ("shift_sequential", shift_sequential, [np.zeros(12)], {}),
    ("floyd_warshall", floyd_warshall, [np.zeros((13, 13)), 13], {'i': T(13)}),
    ("floyd_warshall_np", floyd_warshall_np, [np.zeros((17, 17)), 17], {'i': T(17), 'j': T(32)}),
    ("floyd_warshall_wide", floyd_warshall_np, [np.zeros((8, 3000)), 8],
     {'i': T(8), 'j': T(3000)}),
    ("rows_gpu", rows_with_same_row_reads_gpu, [np.zeros((6, 9)), 6], {}),
    ("rows_par", rows_with_same_row_reads_par, [np.zeros((6, 9)), 6], {'j': T(64)}),
    ("rows_in_parallel_loop", rows_in_parallel_loop, [np.zeros((5, 11)), 5], {'i': T(5)}),
    ("large_rows", rows_in_parallel_loop, [np.zeros((3, 9000)), 3], {'i': T(3)}),
    ("total", shift_with_total, [np.zeros(20)], {'N': T(32)}),
]


def cuda_code(name):
    for n, fn, args, par in CUDA_PROGRAMS:
        if n == name:
            return parpy.print_compiled(fn, args, cuda(par))
    raise KeyError(name)


def test_cuda_parallel_statement_shares_a_temporary_the_host_allocates():
    code = cuda_code("shift")
    assert "cudaMallocAsync((void **)&tmp" in code
    assert code.count("__global__") == 2  # fill, then store: two kernels in order


def test_cuda_one_thread_uses_a_local_array():
    code = cuda_code("shift_sequential")
    assert "double tmp[11];" in code and "cudaMallocAsync" not in code


def test_cuda_row_per_block_is_ordered_by_a_barrier():
    code = cuda_code("floyd_warshall_np")
    kernel = code.split("__global__")[1]
    assert "__syncthreads();" in kernel and "tmp_2[i * 17 + d]" in kernel


def test_cuda_rows_over_several_blocks_split_the_kernel():
    code = cuda_code("floyd_warshall_wide")
    assert code.count("__global__") == 2
    launches = code.split("_launch(")[1]
    assert launches.count("PARPY_LAUNCH(") == 2  # k<<<...>>> under nvcc


def test_cuda_per_thread_row_stays_in_the_thread():
    code = cuda_code("floyd_warshall")
    assert "double tmp[13];" in code and "cudaMallocAsync" not in code


@needs_nvcc
def test_cuda_code_compiles_with_nvcc(tmp_path):
    failed = [f for f in (nvcc_compile(cuda_code(name), tmp_path, name)
                          for name, *_ in CUDA_PROGRAMS) if f]
    assert not failed, "\n\n".join(failed)


# ---- on a GPU ----

@pytest.mark.cuda
@on_gpu
@pytest.mark.parametrize("name", [n for n, *_ in CUDA_PROGRAMS])
def test_cuda_differential(rng, name):
    for n, fn, args, par in CUDA_PROGRAMS:
        if n == name:
            fresh = [rng.pos(a.shape) if isinstance(a, np.ndarray) else a for a in args]
            if fn is floyd_warshall:  # builtin min of arrays: no interpreter run
                got = fresh[0].copy()
                fn(got, *fresh[1:], opts=cuda(par))
                np.testing.assert_allclose(got, npb_floyd(fresh[0]))
            else:
                check(fn, fresh, par, backend=Cuda, reduction=name == "total")
