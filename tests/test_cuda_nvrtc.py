"""The NVRTC path of the Cuda backend (issue 14 item 4; docs/gpu.md, "How the
code is built"), opt-in with PARPY_CUDA_COMPILER=nvrtc until it has run on a
GPU: kernels compiled in the process by NVRTC to a cubin, the host part plain
C built by the C compiler, the cubin loaded with the driver API.  Everything
up to the cubin is checked here wherever libnvrtc loads (skipped elsewhere);
running the code needs a GPU (tests marked `cuda`, which also check the
fallback to nvcc)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import parpy
from parpy import _core
from test_cuda_codegen import PROGRAMS, cuda
import test_externals

NVRTC_MISSING = _core.cuda_compiler()[3]
needs_nvrtc = pytest.mark.skipif(NVRTC_MISSING is not None,
                                 reason=f"NVRTC cannot be used here: {NVRTC_MISSING}")
needs_cuda = pytest.mark.skipif(not parpy.backend.is_enabled(parpy.CompileBackend.Cuda),
                                reason="the Cuda backend is not enabled")

# Built into the cubin only, never run here: any GPU NVRTC supports.
ARCH = "sm_90"


@pytest.fixture
def nvrtc(monkeypatch):
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvrtc")


@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]


def axpy_code(n=1000):
    x = np.zeros(n, np.float32)
    return parpy.print_compiled(axpy, [2.0, x, x.copy(), n], cuda({'N': parpy.threads(1024)}))


def test_compiler_report(monkeypatch):
    monkeypatch.delenv("PARPY_CUDA_COMPILER", raising=False)
    name, why, _, _ = _core.cuda_compiler()
    # nvcc stays the default until the NVRTC path has run on a GPU
    # (DEFAULT_COMPILER in src/runtime/nvrtc.c).
    assert name == "nvcc" and "nvcc is the default" in why


@needs_nvrtc
def test_env_selects_nvrtc(nvrtc):
    assert _core.cuda_compiler()[:2] == ("nvrtc", "")


def test_env_selects_nvcc(monkeypatch):
    monkeypatch.setenv("PARPY_CUDA_COMPILER", "nvcc")
    assert _core.cuda_compiler()[:2] == ("nvcc", "PARPY_CUDA_COMPILER is nvcc")
    code = axpy_code()
    assert "PARPY_NVRTC" not in code
    assert "PARPY_LAUNCH(axpy_i" in code or "axpy_i<<<" in code


@needs_nvrtc
def test_nvrtc_form(nvrtc):
    code = axpy_code()
    assert code.count("#define PARPY_NVRTC 1\n") == 1
    device, host = code.split("#else\n")
    assert re.search(r'extern "C" __global__ void __launch_bounds__\(1024\) axpy_i\(', device)
    assert "parpy_api->launch(parpy_functions[0], 1, 1, 1, 1024, stream, parpy_args)" in host
    assert 'const char *const axpy__kernels[] = {"axpy_i", NULL};' in host
    # The host part is C: nothing of CUDA's runtime, no C++.
    for cxx in ("<<<", "cudaStream_t", "namespace", 'extern "C"', "thread_local cuda"):
        assert cxx not in host, cxx


@needs_nvrtc
@pytest.mark.parametrize("name", [n for n, *_ in PROGRAMS])
def test_codegen_programs_build_with_nvrtc(nvrtc, name):
    """Every program of the codegen suite: the host part builds with the C
    compiler and NVRTC makes a cubin (what runs on a GPU is checked by the
    Cuda differential suite); graphs and clusters say why they use nvcc."""
    _, fn, args, par, fields = next(p for p in PROGRAMS if p[0] == name)
    opts = cuda(par, **fields)
    code = parpy.print_compiled(fn, args, opts)
    if fields.get("use_cuda_graphs") or fields.get("use_cuda_thread_block_clusters") or \
            name == "prints":
        assert "PARPY_NVRTC" not in code
        assert "built with nvcc: " in code.splitlines()[0]
        return
    assert "PARPY_NVRTC" in code
    assert _core._nvrtc_build(fn.__name__, code, opts, ARCH) > 0


@needs_nvrtc
def test_externals_with_includes_build_with_nvrtc(nvrtc, incdir):
    """Device externals and their headers (opts.includes) on the NVRTC path."""
    for name, fn, args, par, _ in test_externals.cuda_programs(incdir):
        opts = test_externals.cuda_opts(par, incdir)
        code = parpy.print_compiled(fn, args, opts)
        assert "PARPY_NVRTC" in code
        assert _core._nvrtc_build(fn.__name__, code, opts, ARCH) > 0, name


@pytest.fixture
def incdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext_headers")
    (d / "parpy_test_ext.h").write_text(test_externals.C_HEADER)
    (d / "parpy_test_ext.cuh").write_text(test_externals.CUDA_HEADER)
    return str(d)


@needs_nvrtc
def test_kernel_error_names_nvrtc(nvrtc):
    code = axpy_code().replace("y[i] = (float)a * x[i] + y[i];", "y[i] = undefined_name;")
    with pytest.raises(parpy.errors.ParPyRuntimeError, match="NVRTC failed to compile the "
                       "kernels(.|\n)*undefined_name"):
        _core._nvrtc_build("axpy", code, cuda({}), ARCH)


@needs_nvrtc
def test_host_error_names_the_c_compiler(nvrtc):
    code = axpy_code().replace("  return 0;\n}", "  return undefined_host;\n}", 1)
    with pytest.raises(parpy.errors.ParPyRuntimeError,
                       match=r"C \(the host part of the CUDA code\)(.|\n)*undefined_host"):
        _core._nvrtc_build("axpy", code, cuda({}), ARCH)


@needs_nvrtc
def test_varying_scalar_on_the_nvrtc_path(nvrtc):
    """A scalar taken at run time is a kernel parameter on this path too."""
    @parpy.jit
    def scale(x, y, t, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] * t
    x = np.ones(8)
    cpu = parpy.par({'N': parpy.threads(2)})
    for k in range(6):
        scale(x, np.zeros(8), 1.0 + k, 8, opts=cpu)
    opts = cuda({'N': parpy.threads(32)})
    code = parpy.print_compiled(scale, [x, np.zeros(8), 9.0, 8], opts)
    assert re.search(r"scale_i\([^)]*double t\)", code)
    assert "run-time parameter 't'" in code.split("#else\n")[1]
    assert _core._nvrtc_build("scale", code, opts, ARCH) > 0


# ---- on a GPU ----------------------------------------------------------------

def run_child(script, env_extra, tmp_path):
    env = dict(os.environ, PARPY_CACHE_DIR=str(tmp_path / "cache"), **env_extra)
    path = tmp_path / "child.py"
    path.write_text(script)
    r = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


CHILD = r'''
import time
import numpy as np
import parpy
from parpy import _core

@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]

n = 100000
x = np.arange(n, dtype=np.float32)
y = np.ones(n, np.float32)
opts = parpy.par({'N': parpy.threads(1024)})
opts.backend = parpy.CompileBackend.Cuda
t0 = time.perf_counter()
axpy(2.0, x, y, n, opts=opts)
first = time.perf_counter() - t0
assert np.array_equal(y, 2.0 * x + 1.0), "wrong result"
print("compiler", _core.cuda_compiler())
print("first %.1f ms" % (first * 1e3))
print("form", "nvrtc" if "PARPY_NVRTC" in parpy.print_compiled(axpy, [2.0, x, y, n], opts)
      else "nvcc")
'''


@pytest.mark.cuda
@needs_cuda
@needs_nvrtc
def test_gpu_axpy_runs_on_the_nvrtc_path(tmp_path):
    """A cold call and a call from the disk cache on the NVRTC path, in
    fresh processes; no fallback to nvcc happened."""
    for _ in range(2):  # empty cache, then the library on disk
        out = run_child(CHILD, {"PARPY_CUDA_COMPILER": "nvrtc"}, tmp_path)
        assert "form nvrtc" in out and "compiler ('nvrtc', '', '', None)" in out, out


@pytest.mark.cuda
@needs_cuda
def test_gpu_axpy_runs_on_the_nvcc_path(tmp_path):
    out = run_child(CHILD, {"PARPY_CUDA_COMPILER": "nvcc"}, tmp_path)
    assert "form nvcc" in out, out


FALLBACK = r'''
import numpy as np
import parpy
from parpy import _core

# A header NVRTC cannot compile (it has no <vector>): the build falls back
# to nvcc, and the call works.
@parpy.external("twice", parpy.CompileBackend.Cuda, parpy.Target.Device,
                header="needs_vector.cuh")
def twice(x: parpy.types.F32) -> parpy.types.F32:
    return x * 2

@parpy.jit
def f(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = twice(x[i])

x = np.arange(64, dtype=np.float32)
y = np.zeros(64, np.float32)
opts = parpy.par({'N': parpy.threads(64)})
opts.backend = parpy.CompileBackend.Cuda
opts.includes = [INCDIR]
opts.debug_print = True
f(x, y, 64, opts=opts)
assert np.array_equal(y, 2 * x)
print("last", _core.cuda_compiler()[2])
'''


@pytest.mark.cuda
@needs_cuda
@needs_nvrtc
def test_gpu_nvrtc_failure_falls_back_to_nvcc(tmp_path):
    (tmp_path / "needs_vector.cuh").write_text(
        "#include <vector>\n__device__ inline float twice(float x) { return 2.0f * x; }\n")
    out = run_child(FALLBACK.replace("INCDIR", repr(str(tmp_path))),
                    {"PARPY_CUDA_COMPILER": "nvrtc"}, tmp_path)
    assert "parpy: the NVRTC build of f:" in out and "building it with nvcc instead" in out, out
    assert "last f:" in out and "vector" in out, out


@pytest.mark.cuda
@needs_cuda
@needs_nvrtc
def test_gpu_nvrtc_reductions_temporaries_and_eviction(nvrtc):
    """Temporaries (a sum across blocks), a host loop of launches, and
    libraries evicted and reloaded (modules unloaded with them)."""
    @parpy.jit
    def total(x, out):
        parpy.label('N')
        out[0] = parpy.operators.sum(x[:])

    old = _core._set_max_specializations(2)
    try:
        for n in (5000, 7000, 9000, 5000, 7000):
            x = np.arange(n, dtype=np.float32) % 7
            out = np.zeros(1, np.float32)
            opts = parpy.par({'N': parpy.threads(2048)})
            opts.backend = parpy.CompileBackend.Cuda
            total(x, out, opts=opts)
            assert out[0] == x.sum(dtype=np.float64)
    finally:
        _core._set_max_specializations(old)
