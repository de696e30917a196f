"""Small Cuda programs (tests/programs.py) for NVIDIA's compute-sanitizer (docs/debugging.md):
a shared-memory histogram, a row softmax (block reductions in shared
memory), a full sum over several blocks (partials and a second kernel) and
a debug-mode call.  Each result is checked against NumPy; the sanitizer
reports what the checks cannot see (races in shared memory, uninitialised
or out-of-bounds device memory).

    compute-sanitizer --tool racecheck python3 tools/sanitize_check.py
"""
import os
import sys

import numpy as np

import parpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from programs import histogram, softmax, total  # noqa: E402  (tests/programs.py)

T = parpy.threads


def cuda(par, debug=False):
    o = parpy.par(par)
    o.backend = parpy.CompileBackend.Cuda
    o.debug = debug
    return o


def main():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 1 << 16).astype(np.uint8)
    hist = np.zeros(256, np.int64)
    histogram(data, hist, data.size, opts=cuda({'N': T(1 << 13).reduce()}))
    assert np.array_equal(hist, np.bincount(data, minlength=256)), "histogram"
    x = rng.random((64, 300), dtype=np.float32)
    y = np.zeros_like(x)
    softmax(x, y, 64, opts=cuda({'N': T(64), 'M': T(128)}))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    assert np.allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7), "softmax"
    v = rng.random(1 << 15, dtype=np.float32)
    out = np.zeros(1, np.float32)
    total(v, out, opts=cuda({'N': T(4096).tpb(256)}))
    assert np.isclose(out[0], v.sum(dtype=np.float64), rtol=1e-5), "total"
    if os.environ.get("PARPY_CUDA_SIM"):  # the simulator has no debug mode
        return print("sanitize_check: all results right (no debug-mode call)")
    out[:] = 0
    total(v, out, opts=cuda({'N': T(4096).tpb(256)}, debug=True))
    assert np.isclose(out[0], v.sum(dtype=np.float64), rtol=1e-5), "total, debug"
    print("sanitize_check: all results right")


if __name__ == "__main__":
    main()
