"""What ParPy's own code costs per call before any GPU work, measured with
CPU stand-ins (issue 14 item 5): the classification of the arguments
(`_core._classify`) of torch tensors and of an object whose
`__cuda_array_interface__` builds a dict as CuPy's does, next to the cost
of reading that attribute alone.  CPU time of this thread (thread_time), so
other load on the machine does not count; best of 5 rounds.

    python3 bench/classify_cost.py

On the 2-core development machine of issue 14 (2026-12-01), before -> after:
torch tensor 463 -> 440 ns over a scalar argument (descriptors of
torch.Tensor read directly), CuPy-like interface 742 -> 555 ns (interned
keys; the dict itself takes about 280 ns to build here, microseconds in
CuPy)."""
import time

import numpy as np

from parpy import _core

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


class CaiStandIn:
    """Builds its interface dict on each read, as cupy.ndarray does."""

    def __init__(self, ptr, n):
        self.ptr, self.n = ptr, n

    @property
    def __cuda_array_interface__(self):
        return {"shape": (self.n,), "typestr": "<f4", "descr": [("", "<f4")],
                "data": (self.ptr, False), "version": 3, "strides": None, "stream": 1}


def cost(f, n=20000):
    for _ in range(1000):
        f()
    best = float("inf")
    for _ in range(5):
        t0 = time.thread_time_ns()
        for _ in range(n):
            f()
        best = min(best, (time.thread_time_ns() - t0) / n)
    return best


def main():
    cai = CaiStandIn(0x7f0000000000, 1000)
    a = np.ones(1000, np.float32)
    rows = [("scalar", lambda: _core._classify(3)),
            ("numpy array", lambda: _core._classify(a))]
    if torch is not None:
        x, y = torch.ones(1000), torch.ones(1000)
        rows += [("torch tensor", lambda: _core._classify(x)),
                 ("2 torch tensors", lambda: _core._classify(x, y))]
    rows += [("CuPy-like interface", lambda: _core._classify(cai)),
             ("  (its dict alone)", lambda: cai.__cuda_array_interface__)]
    for name, f in rows:
        print(f"{name:24s} {cost(f):8.0f} ns")


if __name__ == "__main__":
    main()
