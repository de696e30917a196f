"""Row sums of a matrix, written two ways.

`row_sums_loop` keeps a running sum in a local; `row_sums_slice` sums a row
slice.  In the second, the label 'M' on the reduction makes the compiler
reduce each row in parallel too (it adds the reduction flag itself).
"""
import sys

import numpy as np

import parpy


@parpy.jit
def row_sums_loop(x, out, N, M):
    parpy.label('N')
    for i in range(N):
        s = 0.0
        for j in range(M):
            s += x[i, j]
        out[i] = s


@parpy.jit
def row_sums_slice(x, out, N):
    parpy.label('N')
    for i in range(N):
        parpy.label('M')
        out[i] = parpy.operators.sum(x[i, :])


def main() -> int:
    N, M = 512, 1024
    x = np.random.default_rng(1).random((N, M), dtype=np.float32)
    expected = x.sum(axis=1)

    a = np.zeros(N, dtype=np.float32)
    row_sums_loop(x, a, N, M, opts=parpy.par({'N': parpy.threads(N)}))

    b = np.zeros(N, dtype=np.float32)
    row_sums_slice(x, b, N, opts=parpy.par({'N': parpy.threads(N), 'M': parpy.threads(64)}))

    print("row sums[:4] =", a[:4])
    ok = np.allclose(a, expected, rtol=1e-4) and np.allclose(b, expected, rtol=1e-4)
    if not ok:
        print("FAILED: row sums differ from NumPy's x.sum(axis=1)", file=sys.stderr)
        return 1
    print("OK: both versions equal NumPy's x.sum(axis=1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
