"""CUDA streams (issue 11, "Also"): a call whose arrays are on the GPU
launches on the caller's stream -- PyTorch's current stream for torch
tensors, the `stream` of a __cuda_array_interface__ (version 3) -- after
the other streams its arrays name; DLPack producers are asked for the
legacy default stream.  What can be checked without a GPU is checked here
(the generated code; the runtime's choices are in tests/c/test_cuda_call.c);
the ordering itself needs a GPU (marked `cuda`)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import parpy
from parpy import _core


@pytest.fixture
def nvcc_form(monkeypatch):
    """These tests read and compile the code printed for nvcc (the NVRTC
    form is tests/test_cuda_nvrtc.py's)."""
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvcc")

CUDA_OK, CUDA_WHY = _core.cuda_usable()
needs_cuda = pytest.mark.skipif(not parpy.backend.is_enabled(parpy.CompileBackend.Cuda),
                                reason=f"the Cuda backend is not enabled: {CUDA_WHY}")


@parpy.jit
def add_one(x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = x[i] + 1.0


@parpy.jit
def total(x, out, N):
    parpy.label("N")
    for i in range(N):
        out[0] += x[i]


def cuda_opts(graphs=False, **par):
    o = parpy.par({"N": parpy.threads(256).reduce() if par.get("reduce") else
                   parpy.threads(256)})
    o.backend = parpy.CompileBackend.Cuda
    o.use_cuda_graphs = graphs
    return o


@pytest.mark.parametrize("graphs", [False, True])
def test_generated_code_launches_on_the_call_stream(graphs, nvcc_form):
    code = parpy.print_compiled(add_one, [np.zeros(8), np.zeros(8), 8], cuda_opts(graphs))
    assert "static thread_local cudaStream_t parpy_stream = 0;" in code
    assert 'extern "C" void add_one__set_stream(void *stream)' in code
    assert re.search(r"PARPY_LAUNCH\(\w+, dim3\([^)]*\), dim3\([^)]*\), 0, stream\)\(", code)
    if graphs:
        assert "cudaGraphLaunch(add_one_graph, parpy_stream)" in code
        assert "cudaGraphLaunch(add_one_graph, 0)" not in code
    else:
        assert "return add_one_run(parpy_stream" in code


def test_temporaries_are_allocated_on_the_call_stream(nvcc_form):
    code = parpy.print_compiled(total, [np.zeros(4096), np.zeros(1), 4096],
                                cuda_opts(reduce=True))
    for call in re.findall(r"cuda(?:Malloc|Free)Async\([^;]*\)", code):
        assert call.rstrip(")").endswith("stream"), call


# ---- on a GPU ----

def _torch():
    return pytest.importorskip("torch")


@pytest.mark.cuda
@needs_cuda
def test_call_inside_torch_stream_is_ordered_without_device_sync():
    """Work queued on a side stream before the call, the call, and work
    after it on the same stream see each other's results in order, with
    only the side stream synchronised at the end; the default stream is
    kept busy meanwhile, so running there instead would show."""
    torch = _torch()
    n = 1 << 22
    s = torch.cuda.Stream()
    busy = torch.randn(4096, 4096, device="cuda")
    for trial in range(3):
        x = torch.zeros(n, device="cuda")
        y = torch.zeros(n, device="cuda")
        torch.cuda.synchronize()
        for _ in range(8):
            busy = busy @ busy / 4096.0  # keeps the default stream busy
        with torch.cuda.stream(s):
            x.fill_(float(trial + 1))           # queued on s, before the call
            add_one(x, y, n, opts=cuda_opts())  # must run on s, after fill_
            z = y * 2.0                         # queued on s, after the call
        s.synchronize()
        assert torch.all(z == 2.0 * (trial + 2)).item()


@pytest.mark.cuda
@needs_cuda
def test_cuda_array_interface_stream_is_used():
    torch = _torch()
    n = 1 << 20
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        x = torch.full((n,), 3.0, device="cuda")
        y = torch.zeros(n, device="cuda")

    class CAI:
        def __init__(self, t):
            self.t = t
            self.__cuda_array_interface__ = dict(t.__cuda_array_interface__, stream=s.cuda_stream)

    add_one(CAI(x), CAI(y), n, opts=cuda_opts())
    with torch.cuda.stream(s):
        z = y + 0.0
    s.synchronize()
    assert torch.all(z == 4.0).item()


@pytest.mark.cuda
@needs_cuda
def test_default_stream_still_works():
    torch = _torch()
    x = torch.arange(1000, dtype=torch.float64, device="cuda")
    y = torch.zeros(1000, dtype=torch.float64, device="cuda")
    add_one(x, y, 1000, opts=cuda_opts())
    assert torch.equal(y.cpu(), (x + 1).cpu())


def test_nvrtc_form_launches_and_allocates_on_the_call_stream(monkeypatch):
    """The NVRTC path's host code (C) passes the call's stream too."""
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvrtc")
    opts = parpy.par({"N": parpy.threads(4096).reduce()})  # several blocks: partials
    opts.backend = parpy.CompileBackend.Cuda
    code = parpy.print_compiled(total, [np.zeros(4096), np.zeros(1), 4096], opts)
    if "PARPY_NVRTC" not in code:
        pytest.skip("NVRTC cannot be used here")
    assert "static _Thread_local void *parpy_stream = NULL;" in code
    assert "void total__set_stream(void *stream) { parpy_stream = stream; }" in code
    lines = code.splitlines()
    launches = [line for line in lines if "parpy_api->launch(" in line]
    assert launches and all(", stream, parpy_args)" in line for line in launches), launches
    memory = [line for line in lines if "parpy_api->alloc(" in line or
              "parpy_api->release(" in line]
    assert len(memory) == 2 and all(", stream)," in line for line in memory), memory
