"""What reading a torch tensor costs: each attribute or method ParPy may use,
timed from Python (a C caller pays a little less).  A diagnostic for the
call-overhead work, not a benchmark of ParPy."""
import timeit

import torch

x = torch.ones(1000, device="cuda")
names = ["requires_grad", "is_cuda", "dtype", "shape", "device", "_version", "_cdata"]
methods = ["data_ptr", "is_contiguous", "is_neg", "get_device", "dim", "stride", "numel",
           "storage_offset"]
for n in names:
    t = timeit.timeit(f"x.{n}", globals={"x": x}, number=200000) / 200000
    print(f"x.{n:<20} {t * 1e9:7.0f} ns")
for n in methods:
    t = timeit.timeit(f"x.{n}()", globals={"x": x}, number=200000) / 200000
    print(f"x.{n}(){'':<18} {t * 1e9:7.0f} ns")
t = timeit.timeit("x.__cuda_array_interface__", globals={"x": x}, number=20000) / 20000
print(f"x.__cuda_array_interface__ {t * 1e9:7.0f} ns")
