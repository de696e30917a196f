"""Small jitted programs that tests, benchmarks and tools share, each defined
once here.  Not a test module (pytest collects only test_*.py); bench/ and
tools/ import it after putting tests/ on sys.path:

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from programs import axpy, softmax

Who uses what: the Cuda programs are checked without a GPU by
tests/test_cuda_codegen.py and tests/test_cuda_coarsen.py, run on the CUDA
simulator by tests/test_cuda_sim.py, and on a GPU by bench/gpu.py,
bench/reductions.py, bench/profile_kernels.py and tools/sanitize_check.py;
bench/cpu.py runs most of them on the Cpu, tests/test_cpu_loops.py its
loops, bench/debug_cost.py axpy, row sums and SpMV in the debug mode.
Moving a program here moves the file/line of its debug-mode messages.

The labels are part of a program: a GPU mapping needs the inner 'M' of
row_sums and softmax; on the Cpu a label left out of the dict is a
sequential loop (mandelbrot's 'j' in tests/test_cpu_loops.py)."""
import parpy
from parpy.operators import exp, max as pmax, sum as psum


def private(fn):
    """A copy of `fn` with its own in-memory cache of compiled code.  The
    cache is keyed by the arguments and options, not the environment: a
    test module that compiles under other PARPY_* settings (coarsening)
    takes copies, so that a shared program compiled elsewhere in the same
    process is never reused for it."""
    return parpy.jit(fn.__wrapped__)


# --- elementwise and reductions (Cuda and Cpu) ------------------------------

@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]


@parpy.jit
def row_sums(x, out, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = psum(x[i, :])


@parpy.jit
def softmax(x, y, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        m = pmax(x[i, :])
        parpy.label('M')
        y[i, :] = exp(x[i, :] - m)
        parpy.label('M')
        s = psum(y[i, :])
        parpy.label('M')
        y[i, :] = y[i, :] / s


@parpy.jit
def total(x, out):
    parpy.label('N')
    out[0] = psum(x[:])


@parpy.jit
def host_loop(x, T_, N):
    # T_ sequential steps on the host, each launching a parallel loop
    for t in range(T_):
        parpy.label('N')
        for i in range(N):
            x[i] = x[i] * 0.5 + t


@parpy.jit
def histogram(data, hist, N):
    # a scatter update: run with parpy.threads(n).reduce()
    parpy.label('N')
    for i in range(N):
        hist[data[i]] += 1


# --- loops of the Cpu benchmark (bench/cpu.py, tests/test_cpu_loops.py) ------

@parpy.jit
def spmv(rows, cols, vals, x, y, N):
    # CSR: a row per iteration, its nonzeros summed in a running sum
    parpy.label('N')
    for i in range(N):
        s = 0.0
        for k in range(rows[i], rows[i + 1]):
            s += vals[k] * x[cols[k]]
        y[i] = s


@parpy.jit
def mandelbrot(out, H, W, MAXIT):
    # an escape-time loop: a while with an `and` condition in each element
    parpy.label('i')
    for i in range(H):
        parpy.label('j')
        for j in range(W):
            cr = -2.0 + 3.0 * j / W
            ci = -1.5 + 3.0 * i / H
            zr = 0.0
            zi = 0.0
            k = 0
            while k < MAXIT and zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                k += 1
            out[i, j] = k


@parpy.jit
def matmul_ikj(a, b, c, N, M, K):
    # c = a @ b for a (N, K) and b (K, M), written i-k-j: the inner j loops
    # are independent (unrolled and vectorised)
    parpy.label('N')
    for i in range(N):
        for j in range(M):
            c[i, j] = 0.0
        for k in range(K):
            aik = a[i, k]
            for j in range(M):
                c[i, j] += aik * b[k, j]
