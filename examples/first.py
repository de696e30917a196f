"""The smallest complete ParPy program: add two vectors in parallel.

Run it with `python3 examples/first.py`.  On a machine without a GPU the
default backend (Auto) compiles the loop to C with OpenMP.
"""
import sys

import numpy as np

import parpy


@parpy.jit
def add(x, y, out, N):
    parpy.label('N')
    for i in range(N):
        out[i] = x[i] + y[i]


def main() -> int:
    N = 1000
    x = np.arange(N, dtype=np.float32)
    y = np.full(N, 0.5, dtype=np.float32)
    out = np.zeros(N, dtype=np.float32)

    # Run the loop labelled 'N' with 256 threads.
    add(x, y, out, N, opts=parpy.par({'N': parpy.threads(256)}))

    print("out[:5] =", out[:5])
    if not np.array_equal(out, x + y):
        print("FAILED: the result differs from NumPy's x + y", file=sys.stderr)
        return 1
    print("OK: the result equals NumPy's x + y")
    return 0


if __name__ == "__main__":
    sys.exit(main())
