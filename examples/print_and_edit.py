"""Look at the generated code, edit it by hand, and run the edited version.

print_compiled returns the code ParPy generates for given arguments (here C
with OpenMP on a machine without a GPU); compile_string builds such code and
returns a function that takes the same arguments.
"""
import re
import sys

import numpy as np

import parpy


@parpy.jit
def scale(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i] * 1.5


def main() -> int:
    N = 100
    x = np.arange(N, dtype=np.float64)
    opts = parpy.par({'N': parpy.threads(32)})

    code = parpy.print_compiled(scale, [x, np.zeros(N), N], opts)
    print("----- generated code -----")
    print(code)

    # Change the constant 1.5 into 2.5.
    edited, count = re.subn(r"(?<![\w.])1\.5(?![\w.])", "2.5", code)
    if count != 1:
        print(f"FAILED: expected the constant 1.5 once in the code, found it {count} times",
              file=sys.stderr)
        return 1
    edited_scale = parpy.compile_string("scale", edited, opts)

    y_original = np.zeros(N)
    scale(x, y_original, N, opts=opts)
    y_edited = np.zeros(N)
    edited_scale(x, y_edited, N)

    print("----- results -----")
    print("original y[:4] =", y_original[:4])
    print("edited   y[:4] =", y_edited[:4])
    if not (np.allclose(y_original, 1.5 * x) and np.allclose(y_edited, 2.5 * x)):
        print("FAILED: expected 1.5 * x from the original and 2.5 * x from the edit",
              file=sys.stderr)
        return 1
    print("OK: the edited code computes 2.5 * x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
