"""Where the time of a GPU reduction call goes: the device time of each
kernel (from the CUDA profiler, through torch.profiler) next to the time of
the whole call measured with CUDA events, as bench/reductions.py measures it.

    python3 bench/profile_kernels.py

The difference between the two is what the GPU spends idle inside a call:
host work before the first launch and between launches, allocations.
"""
import os
import statistics
import sys

import torch
from torch.profiler import ProfilerActivity, profile

import parpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from programs import total  # noqa: E402  (tests/programs.py)


def event_us(fn, reps=50):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e3)
    return statistics.median(ts)


def kernels_us(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            fn()
            torch.cuda.synchronize()
    rows = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            rows.setdefault(e.name, []).append(e.device_time)
    return {k: (statistics.median(v), len(v) // reps) for k, v in rows.items()}


def main():
    n = 1 << 28
    x = torch.rand(n, device="cuda")
    out = torch.empty(1, device="cuda")
    print(f"GPU: {torch.cuda.get_device_name()}; full sum of 2**28 float32")
    cases = [("torch.sum", lambda: torch.sum(x, dim=0, out=out[0]))]
    for t in (16, 18, 20):
        opts = parpy.par({'N': parpy.threads(1 << t)})
        opts.backend = parpy.CompileBackend.Cuda
        cases.append((f"parpy threads(2**{t})", lambda o=opts: total(x, out, opts=o)))
    for name, fn in cases:
        print(f"{name:<22} call {event_us(fn):8.1f} us (events)")
        for k, (us, per) in kernels_us(fn).items():
            print(f"    {k[:60]:<60} {us:8.1f} us x{per}")


if __name__ == "__main__":
    main()
