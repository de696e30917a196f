"""axpy (y = a * x + y), run compiled and in the Python interpreter.

`seq=True` runs the undecorated Python function: the interpreter is the
reference a compiled ParPy function must agree with.
"""
import sys

import numpy as np

import parpy


@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]


def main() -> int:
    N = 100_000
    rng = np.random.default_rng(0)
    x = rng.random(N)
    y = rng.random(N)
    y_compiled = y.copy()
    y_interpreted = y.copy()

    # `a` and `N` are scalars: the compiled code is specialised to their values.
    axpy(2.0, x, y_compiled, N, opts=parpy.par({'N': parpy.threads(1024)}))
    axpy(2.0, x, y_interpreted[:1000], 1000, seq=True)  # the interpreter is slow: a prefix

    expected = 2.0 * x + y
    ok = np.allclose(y_compiled, expected) and np.allclose(y_interpreted[:1000], expected[:1000])
    print("compiled    y[:3] =", y_compiled[:3])
    print("interpreted y[:3] =", y_interpreted[:3])
    if not ok:
        print("FAILED: axpy differs from NumPy's 2.0 * x + y", file=sys.stderr)
        return 1
    print("OK: compiled and interpreted axpy equal NumPy's 2.0 * x + y")
    return 0


if __name__ == "__main__":
    sys.exit(main())
