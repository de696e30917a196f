"""The Cuda backend on the CPU simulator (PARPY_CUDA_SIM=1, docs/gpu.md):
generated CUDA code, kernels and host code, built with the C++ compiler
against parpy_cuda_sim.h and run on host memory.  The simulator is chosen
when the CUDA runtime is first loaded, so each check runs in a fresh
process.  The differential suite runs through it with
PARPY_CUDA_SIM=1 PARPY_TEST_BACKEND=Cuda (see .ci/run)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CXX = os.environ.get("CXX") or "c++"
pytestmark = pytest.mark.skipif(shutil.which(CXX) is None, reason=f"no C++ compiler ({CXX})")

PROGRAMS = f'''
import sys

import numpy as np
import parpy

sys.path.insert(0, {HERE!r})
from programs import axpy, histogram, host_loop, softmax, total

T = parpy.threads
Cuda = parpy.CompileBackend.Cuda


def opts(par, **fields):
    o = parpy.par(par)
    o.backend = Cuda
    for k, v in fields.items():
        setattr(o, k, v)
    return o


rng = np.random.default_rng(1)
'''


def run(tmp_path, body, **env):
    # a file: ParPy reads the source of jitted functions
    script = tmp_path / "sim_check.py"
    script.write_text(PROGRAMS + textwrap.dedent(body))
    e = dict(os.environ, PARPY_CUDA_SIM="1", PARPY_CACHE_DIR=str(tmp_path / "cache"), **env)
    r = subprocess.run([sys.executable, str(script)], env=e, capture_output=True, text=True,
                       timeout=600, cwd=HERE)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_sim_is_a_cuda_device(tmp_path):
    out = run(tmp_path, '''
        assert parpy.backend.is_enabled(Cuda), "Cuda should be enabled on the simulator"
        from parpy import _core
        print(_core.cuda_usable())
    ''')
    assert "True" in out


def test_sim_runs_elementwise_and_reductions(tmp_path):
    run(tmp_path, '''
        for n, t in ((1, 1), (1000, 64), (3000, 2048)):
            x = rng.random(n, dtype=np.float32)
            y = rng.random(n, dtype=np.float32)
            want = np.float32(1.5) * x + y
            axpy(1.5, x, y, n, opts=opts({'N': T(t)}))
            assert np.array_equal(y, want), (n, t)
        x = rng.random((9, 300), dtype=np.float32)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
        for m in (1, 32, 96, 1024):
            y = np.zeros_like(x)
            softmax(x, y, 9, opts=opts({'N': T(9), 'M': T(m)}))
            assert np.allclose(y, want, rtol=1e-5, atol=1e-7), m
        x = rng.random(1 << 14, dtype=np.float32)
        for t, tpb in ((8192, 1024), (4096, 256)):
            out = np.zeros(1, np.float32)
            total(x, out, opts=opts({'N': T(t).tpb(tpb)}))  # partials and a second kernel
            assert np.isclose(out[0], x.sum(dtype=np.float64), rtol=1e-5), (t, out)
    ''')


def test_sim_runs_graphs_and_host_loops(tmp_path):
    run(tmp_path, '''
        x0 = rng.random(50, dtype=np.float32)
        want = x0.copy()
        for t in range(4):
            want = want * np.float32(0.5) + np.float32(t)
        for graphs in (False, True):
            x = x0.copy()
            host_loop(x, 4, 50, opts=opts({'N': T(32)}, use_cuda_graphs=graphs))
            assert np.allclose(x, want), graphs
            x = x0.copy()  # a replay (the same addresses would replay the graph)
            host_loop(x, 4, 50, opts=opts({'N': T(32)}, use_cuda_graphs=graphs))
            assert np.allclose(x, want), graphs
    ''')


def test_sim_runs_coarsened_kernels(tmp_path):
    run(tmp_path, '''
        for n, t in ((5000, 1024), (4096, 4096), (300, 300), (1025, 7)):
            x = rng.random(n, dtype=np.float32)
            y = rng.random(n, dtype=np.float32)
            want = np.float32(2.5) * x + y
            o = opts({'N': T(t)})
            assert "coarsened" in parpy.print_compiled(axpy, [2.5, x, y, n], o), (n, t)
            axpy(2.5, x, y, n, opts=o)
            assert np.array_equal(y, want), (n, t)
        x = rng.random((7, 1000), dtype=np.float32)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
        for m in (1024, 256):
            y = np.zeros_like(x)
            o = opts({'N': T(7), 'M': T(m)})
            assert "coarsened: 128 threads" in parpy.print_compiled(softmax, [x, y, 7], o)
            softmax(x, y, 7, opts=o)
            assert np.allclose(y, want, rtol=1e-5, atol=1e-7), m
    ''', PARPY_CUDA_COARSEN="1")


def test_sim_reports_bad_launches(tmp_path):
    out = run(tmp_path, '''
        x = np.zeros(10, np.float32)
        try:
            axpy(1.0, x, x.copy(), 10, opts=opts({'N': T(2048).tpb(2048)}))
        except parpy.ParPyError as e:
            print("refused:", e)
    ''')
    assert "refused:" in out and "invalid configuration argument" in out, out


def test_sim_runs_shared_memory_histograms(tmp_path):
    """The merge of a block's histogram is the array's only write: the
    runtime must still copy the array back (it did not: all of
    tests/test_cuda_histogram.py failed on the H200)."""
    run(tmp_path, '''
        for n, bins in ((300_001, 37), (5000, 256)):
            data = rng.integers(0, bins, n).astype(np.int32)
            hist = rng.integers(0, 4, bins).astype(np.int64)
            want = hist + np.bincount(data, minlength=bins)
            histogram(data, hist, n, opts=opts({'N': T(1 << 13).reduce()}))
            assert np.array_equal(hist, want), (n, bins)
    ''', PARPY_CUDA_SHARED_HISTOGRAMS="1")


def test_sim_runs_bfloat16(tmp_path):
    """bfloat16 on the simulated Cuda target, through BF16 buffers made from
    uint16 bits (no ml_dtypes): each operation rounded, sums in float32."""
    run(tmp_path, '''
        from parpy.operators import sum as psum


        @parpy.jit
        def bf16_ops(x, y, z, out, rows, N, M):
            parpy.label('N')
            for i in range(N):
                out[i] = x[i, 0] * y[i] + z[i]
                parpy.label('M')
                rows[i] = psum(x[i, :])

        def to_bits(f):
            u = np.asarray(f, np.float32).view(np.uint32).astype(np.uint64)
            return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)

        def from_bits(b):
            return (np.asarray(b, np.uint16).astype(np.uint32) << 16).view(np.float32)

        def buf(bits):
            return parpy.buffer.from_array(bits, Cuda).with_type(parpy.types.BF16)

        n, m = 40, 70
        xb = to_bits(rng.integers(-8, 9, (n, m)).astype(np.float32) / 4)
        yb, zb = (to_bits(rng.uniform(-3, 3, n).astype(np.float32)) for _ in range(2))
        out, rows = buf(np.zeros(n, np.uint16)), buf(np.zeros(n, np.uint16))
        bf16_ops(buf(xb), buf(yb), buf(zb), out, rows, n, m, opts=opts({'N': T(n), 'M': T(32)}))
        x, y, z = from_bits(xb), from_bits(yb), from_bits(zb)
        want = to_bits(from_bits(to_bits(x[:, 0] * y)) + z)
        assert np.array_equal(out.with_type(parpy.types.U16).numpy(), want)
        assert np.array_equal(rows.with_type(parpy.types.U16).numpy(), to_bits(x.sum(axis=1)))
    ''')
