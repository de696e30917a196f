"""ParPy on other libraries' arrays: PyTorch and CuPy on the GPU (Cuda
backend: used in place, never copied), NumPy arrays on the GPU backend
(copied in and back), and PyTorch CPU tensors on the Cpu backend (in place).

The GPU tests are marked `cuda` and skip themselves without a usable GPU, and
every test skips itself when the library it exercises is not installed."""
from __future__ import annotations

import numpy as np
import pytest

import parpy
from parpy import _core

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
try:
    import cupy
except ImportError:  # pragma: no cover
    cupy = None

CUDA = parpy.backend.is_enabled(parpy.CompileBackend.Cuda)
_why = "" if CUDA else _core.cuda_usable()[1] or "this build has no Cuda target"
gpu = pytest.mark.skipif(not CUDA, reason=f"the Cuda backend is not enabled: {_why}")
with_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
with_torch_cuda = pytest.mark.skipif(torch is None or not torch.cuda.is_available(),
                                     reason="PyTorch without CUDA")
with_cupy = pytest.mark.skipif(cupy is None, reason="CuPy is not installed")


@parpy.jit
def axpy(a, x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = a * x[i] + y[i]


@parpy.jit
def add_rows(x, out, N, M):
    parpy.label("N")
    for i in range(N):
        parpy.label("M")
        for j in range(M):
            out[i, j] = x[i, j] + 1.0


def cuda_opts(n, tpb=None, backend=parpy.CompileBackend.Cuda):
    p = parpy.threads(n)
    if tpb is not None:
        p = p.tpb(tpb)
    o = parpy.par({"N": p, "M": parpy.threads(32)})
    o.backend = backend
    return o


def copies_in():
    return _core._stats()["copies_in"]


# ---- PyTorch on the GPU ----

@pytest.mark.cuda
@gpu
@with_torch_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_in_place(dtype):
    n = 1000
    dt = getattr(torch, dtype)
    x = torch.arange(n, dtype=dt, device="cuda")
    y = torch.ones(n, dtype=dt, device="cuda")
    ptr, before = y.data_ptr(), copies_in()
    axpy(2.0, x, y, n, opts=cuda_opts(n))
    torch.cuda.synchronize()
    assert y.data_ptr() == ptr  # the same memory, written by the kernel
    assert torch.equal(y, 2 * torch.arange(n, dtype=dt, device="cuda") + 1)
    assert copies_in() == before  # nothing went through the host
    axpy(2.0, x, y, n, opts=cuda_opts(n))  # a cache hit, queued after the first
    torch.cuda.synchronize()
    assert torch.equal(y, 4 * torch.arange(n, dtype=dt, device="cuda") + 1)


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_torch_two_dimensional():
    x = torch.rand(64, 32, device="cuda")
    out = torch.zeros(64, 32, device="cuda")
    add_rows(x, out, 64, 32, opts=cuda_opts(64))
    torch.cuda.synchronize()
    assert torch.allclose(out, x + 1.0)


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_torch_refusals():
    n = 16
    x = torch.ones(n, device="cuda")
    with pytest.raises(parpy.ParPyValueError, match=r"argument 'y' of axpy is not contiguous; "
                                                    r"pass y.contiguous\(\)"):
        axpy(1.0, x, torch.ones(2 * n, device="cuda")[::2], n, opts=cuda_opts(n))
    w = torch.ones(n, device="cuda", requires_grad=True)
    with pytest.raises(parpy.ParPyTypeError, match=r"requires grad; pass x.detach\(\)"):
        axpy(1.0, w, x, n, opts=cuda_opts(n))


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_torch_zero_d_tensor_is_a_scalar():
    n = 8
    x = torch.arange(n, dtype=torch.float32, device="cuda")
    y = torch.zeros(n, dtype=torch.float32, device="cuda")
    a = torch.tensor(3.0, device="cuda") * 1.0  # computed on the GPU, read by value
    axpy(a, x, y, n, opts=cuda_opts(n))
    torch.cuda.synchronize()
    assert torch.equal(y, 3 * x)
    axpy(torch.tensor(4.0, device="cuda"), x, y, n, opts=cuda_opts(n))  # a new value: recompiled
    torch.cuda.synchronize()
    assert torch.equal(y, 7 * x)


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_torch_cpu_tensors_on_the_gpu_backend():
    """CPU tensors are host arrays: copied in, and back when written."""
    n = 100
    x = torch.arange(n, dtype=torch.float64)
    y = torch.ones(n, dtype=torch.float64)
    ptr, before = y.data_ptr(), copies_in()
    axpy(2.0, x, y, n, opts=cuda_opts(n))  # no synchronisation needed: results are there
    assert y.data_ptr() == ptr
    assert torch.equal(y, 2 * torch.arange(n, dtype=torch.float64) + 1)
    assert copies_in() == before + 2


# ---- CuPy ----

@pytest.mark.cuda
@gpu
@with_cupy
def test_cupy_in_place():
    n = 1000
    x = cupy.arange(n, dtype=cupy.float32)
    y = cupy.ones(n, dtype=cupy.float32)
    ptr, before = y.data.ptr, copies_in()
    axpy(2.0, x, y, n, opts=cuda_opts(n))
    cupy.cuda.runtime.deviceSynchronize()
    assert y.data.ptr == ptr
    assert np.array_equal(cupy.asnumpy(y), 2 * np.arange(n, dtype=np.float32) + 1)
    assert copies_in() == before


@pytest.mark.cuda
@gpu
@with_cupy
def test_cupy_on_its_own_stream():
    """CUDA array interface 3: work queued on the array's stream comes first."""
    n = 1 << 20
    s = cupy.cuda.Stream(non_blocking=True)
    with s:
        x = cupy.arange(n, dtype=cupy.float32)
        y = cupy.ones(n, dtype=cupy.float32)
        for _ in range(10):  # keep the stream busy
            y = y * 1.0
        axpy(2.0, x, y, n, opts=cuda_opts(n))
    cupy.cuda.runtime.deviceSynchronize()
    assert np.array_equal(cupy.asnumpy(y), 2 * np.arange(n, dtype=np.float32) + 1)


@pytest.mark.cuda
@gpu
@with_cupy
def test_cupy_not_contiguous():
    x = cupy.ones(32, dtype=cupy.float32)
    with pytest.raises(parpy.ParPyValueError, match="argument 'x' of axpy is not contiguous"):
        axpy(1.0, x[::2], cupy.ones(16, dtype=cupy.float32), 16, opts=cuda_opts(16))


# ---- NumPy and mixtures on the GPU ----

@pytest.mark.cuda
@gpu
def test_numpy_copied_back():
    n = 4096
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    axpy(2.0, x, y, n, opts=cuda_opts(n))
    assert np.array_equal(y, 2 * np.arange(n, dtype=np.float32) + 1)  # no sync: it is there
    ro = np.arange(n, dtype=np.float32)
    ro.flags.writeable = False
    axpy(1.0, ro, y, n, opts=cuda_opts(n))  # read-only inputs are fine
    assert np.array_equal(y, 3 * np.arange(n, dtype=np.float32) + 1)


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_numpy_and_torch_mixed():
    n = 256
    x = np.arange(n, dtype=np.float32)  # copied in
    y = torch.ones(n, dtype=torch.float32, device="cuda")  # in place
    ptr = y.data_ptr()
    axpy(2.0, x, y, n, opts=cuda_opts(n))
    torch.cuda.synchronize()
    assert y.data_ptr() == ptr
    assert np.array_equal(y.cpu().numpy(), 2 * np.arange(n, dtype=np.float32) + 1)
    assert np.array_equal(x, np.arange(n, dtype=np.float32))


@pytest.mark.cuda
@gpu
def test_launch_error_names_the_kernel():
    """2048 threads per block cannot launch: the error comes back as a
    ParPyRuntimeError with the kernel's name, and nothing is copied back."""
    n = 4096
    x = np.ones(n, dtype=np.float32)
    y = np.zeros(n, dtype=np.float32)
    with pytest.raises(parpy.ParPyRuntimeError) as info:
        axpy(2.0, x, y, n, opts=cuda_opts(n, tpb=2048))
    msg = str(info.value)
    assert msg.startswith("axpy failed: ")
    # The CUDA runtime's words vary ("invalid configuration argument",
    # "invalid argument"); the kernel's name must be there.
    assert "launching the kernel axpy_" in msg and "invalid" in msg
    assert not y.any()
    axpy(2.0, x, y, n, opts=cuda_opts(n))  # the context survives
    assert (y == 2).all()


@pytest.mark.cuda
@gpu
@with_torch_cuda
def test_compile_string_on_gpu_arrays():
    n = 64
    code = parpy.print_compiled(axpy, [2.0, np.zeros(n, np.float32), np.zeros(n, np.float32), n],
                                cuda_opts(n))
    f = parpy.compile_string("axpy", code, cuda_opts(n))
    y = torch.ones(n, device="cuda")
    f(2.0, torch.ones(n, device="cuda"), y, n)
    torch.cuda.synchronize()
    assert (y == 3).all()
    yn = np.ones(n, np.float32)
    f(2.0, np.ones(n, np.float32), yn, n)
    assert (yn == 3).all()


# ---- PyTorch on the Cpu backend ----

@with_torch
def test_torch_cpu_tensors_on_cpu_backend():
    n = 100
    x = torch.arange(n, dtype=torch.float64)
    y = torch.ones(n, dtype=torch.float64)
    ptr = y.data_ptr()
    axpy(2.0, x, y, n, opts=cuda_opts(n, backend=parpy.CompileBackend.Cpu))
    assert y.data_ptr() == ptr
    assert torch.equal(y, 2 * torch.arange(n, dtype=torch.float64) + 1)  # in place
    axpy(torch.tensor(3.0, dtype=torch.float64), x, y, n,
         opts=cuda_opts(n, backend=parpy.CompileBackend.Cpu))
    assert torch.equal(y, 5 * torch.arange(n, dtype=torch.float64) + 1)


@with_torch
def test_torch_cpu_refusals():
    opts = cuda_opts(4, backend=parpy.CompileBackend.Cpu)
    x = torch.ones(8, dtype=torch.float64)
    with pytest.raises(parpy.ParPyValueError, match="not contiguous"):
        axpy(1.0, x[::2], torch.ones(4, dtype=torch.float64), 4, opts=opts)
    with pytest.raises(parpy.ParPyTypeError, match="requires grad"):
        axpy(1.0, torch.ones(4, dtype=torch.float64, requires_grad=True),
             torch.ones(4, dtype=torch.float64), 4, opts=opts)


@pytest.mark.cuda
@with_torch_cuda
def test_torch_cuda_tensor_refused_on_cpu_backend():
    opts = cuda_opts(4, backend=parpy.CompileBackend.Cpu)
    with pytest.raises(parpy.ParPyTypeError,
                       match="argument 'y' is in GPU memory, but the backend is Cpu"):
        axpy(1.0, torch.ones(4), torch.ones(4, device="cuda"), 4, opts=opts)
