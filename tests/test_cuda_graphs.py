"""CUDA graphs (use_cuda_graphs): the first call captures the host code's
launches into a graph, later calls replay it.  Results must match the
interpreter on every call, also when the arrays change; and a host loop of
many launches must run faster as one graph (fewer CUDA API calls).  Needs
a GPU; the code it prints is checked without one in test_cuda_codegen."""
import statistics
import time

import numpy as np
import pytest

import parpy

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.cuda
if not (torch.cuda.is_available() and parpy.backend.is_enabled(parpy.CompileBackend.Cuda)):
    pytest.skip("needs a CUDA GPU and the Cuda backend", allow_module_level=True)


@parpy.jit
def relax(u, v, steps, N):
    for t in range(steps):
        parpy.label('N')
        for i in range(1, N - 1):
            v[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0
        parpy.label('N')
        for i in range(1, N - 1):
            u[i] = v[i] + 0.001 * t


def opts(graphs):
    o = parpy.par({'N': parpy.threads(256)})
    o.backend = parpy.CompileBackend.Cuda
    o.use_cuda_graphs = graphs
    return o


def reference(u0, steps):
    u, v = u0.copy(), np.zeros_like(u0)
    relax(u, v, steps, len(u0), seq=True)
    return u


def test_graph_results_match_on_every_call():
    rng = np.random.default_rng()
    n, steps = 1000, 20
    u0 = rng.random(n)
    want = reference(u0, steps)
    for _ in range(3):  # captured once, replayed twice
        u = torch.tensor(u0, device="cuda")
        v = torch.zeros(n, device="cuda", dtype=torch.float64)
        relax(u, v, steps, n, opts=opts(True))
        np.testing.assert_allclose(u.cpu().numpy(), want, rtol=1e-12)
    # the same tensors again (the graph is replayed as is)
    u.copy_(torch.tensor(u0, device="cuda"))
    relax(u, v, steps, n, opts=opts(True))
    np.testing.assert_allclose(u.cpu().numpy(), want, rtol=1e-12)


def test_graph_with_host_arrays():
    u0 = np.random.default_rng().random(500)
    want = reference(u0, 5)
    u, v = u0.copy(), np.zeros(500)
    relax(u, v, 5, 500, opts=opts(True))
    np.testing.assert_allclose(u, want, rtol=1e-12)


def median_ms(fn, n=15):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def test_graph_launches_many_kernels_faster():
    n, steps = 256, 200  # 400 tiny kernels per call: launch-bound
    u = torch.rand(n, device="cuda", dtype=torch.float64)
    v = torch.zeros(n, device="cuda", dtype=torch.float64)
    plain = median_ms(lambda: relax(u, v, steps, n, opts=opts(False)))
    graph = median_ms(lambda: relax(u, v, steps, n, opts=opts(True)))
    print(f"400 launches: {plain:.3f} ms plainly, {graph:.3f} ms as a graph")
    assert graph * 1.5 < plain, (plain, graph)
