"""The CUDA runtime and the argument handling of the Cuda backend.

Most of this runs on any machine: backend detection explains why Cuda is
off, the nvcc command line, and every check on GPU arrays that happens
before device work (objects that only look like GPU arrays are enough).
Tests marked `cuda` need a GPU and skip themselves without one; staging of
host arrays is also covered without a GPU by tests/c/test_cuda_call.c."""
from __future__ import annotations

import ctypes
import gc
import importlib.util
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

import parpy
from parpy import _core

CUDA_OK, CUDA_WHY = _core.cuda_usable()
needs_no_gpu = pytest.mark.skipif(CUDA_OK, reason="checks behaviour without a usable GPU")
needs_cuda = pytest.mark.skipif(not parpy.backend.is_enabled(parpy.CompileBackend.Cuda),
                                reason=f"the Cuda backend is not enabled: {CUDA_WHY}")
INCLUDE = os.path.join(os.path.dirname(parpy.__file__), "include")


@parpy.jit
def axpy(a, x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = a * x[i] + y[i]


def cpu_opts(n=4):
    o = parpy.par({"N": parpy.threads(n)})
    o.backend = parpy.CompileBackend.Cpu
    return o


# ---- detection ----

def test_usable_has_a_reason():
    ok, why = _core.cuda_usable()
    assert isinstance(ok, bool) and isinstance(why, str)
    assert (why == "") == ok
    assert (_core.cuda_info() is None) == (not ok)
    assert _core.cuda_usable() == (ok, why)  # decided once per process


@needs_no_gpu
def test_reason_reads_well():
    why = CUDA_WHY
    assert why[0].islower() and not why.endswith(".")
    if _core._cuda_runtime_path() is None:
        assert "CUDA runtime library was not found" in why
    else:
        assert "driver" in why or "device" in why or "GPU" in why


@pytest.fixture
def fake_cuda_target(monkeypatch):
    """Pretend this build has a Cuda target (whether or not it has one)."""
    real = parpy.backend._has_target
    monkeypatch.setattr(parpy.backend, "_has_target", lambda n: n == "Cuda" or real(n))
    parpy.backend._reset()
    yield
    monkeypatch.undo()
    parpy.backend._reset()


@needs_no_gpu
def test_verbose_resolution_says_why(fake_cuda_target, capsys):
    assert not parpy.backend.is_enabled(parpy.CompileBackend.Cuda, verbose=True)
    out = capsys.readouterr().out
    if shutil.which("nvcc") is None:
        assert "ParPy: backend Cuda is not enabled: nvcc (the CUDA compiler) was not found " \
               "on PATH" in out
    else:
        assert f"ParPy: backend Cuda is not enabled: {CUDA_WHY}\n" in out
    assert parpy.CompileBackend.Cuda not in parpy.backend.available()
    o = cpu_opts()
    o.backend = parpy.CompileBackend.Auto
    o.verbose_backend_resolution = True
    x, y = np.ones(4), np.zeros(4)
    axpy(2.0, x, y, 4, opts=o)
    out = capsys.readouterr().out
    assert "backend Cuda is not enabled" in out and "Auto resolved to Cpu" in out
    assert y.tolist() == [2.0] * 4


def test_no_target_reason(monkeypatch, capsys):
    monkeypatch.setattr(parpy.backend, "_has_target", lambda n: False)
    assert not parpy.backend.is_enabled(parpy.CompileBackend.Cuda, verbose=True)
    assert "has no Cuda target" in capsys.readouterr().out
    monkeypatch.undo()
    parpy.backend._reset()


@needs_no_gpu
def test_strict_cuda_refused(fake_cuda_target):
    o = cpu_opts()
    o.backend = parpy.CompileBackend.Cuda
    with pytest.raises(parpy.ParPyRuntimeError, match="the Cuda backend is not enabled: "):
        axpy(2.0, np.ones(4), np.zeros(4), 4, opts=o)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")
def test_runtime_found_next_to_nvcc():
    path = _core._cuda_runtime_path()
    assert path is not None, CUDA_WHY
    if "torch" not in sys.modules:  # else torch's copy, already loaded, is used
        nvcc_root = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("nvcc"))))
        assert os.path.realpath(path).startswith(nvcc_root + os.sep)


# ---- the build command ----

def build_cmd(arch="sm_90", **fields):
    return _core._cuda_build_cmd(parpy.CompileOptions(**fields), arch, "S.cu", "L.so", INCLUDE)


def rpath_dir(cmd):
    for i, w in enumerate(cmd[:-3]):
        if cmd[i:i + 3] == ["-Xlinker", "-rpath", "-Xlinker"]:
            return cmd[i + 3]
    return None


def test_build_command():
    cmd = build_cmd(includes=["/inc/a", "/inc/b"], libs=["/lib/x"],
                    extra_flags=["-lfoo", "--use_fast_math"])
    assert cmd[:3] == ["nvcc", "-O3", "-arch=sm_90"]
    for pair in (["-Xcompiler", "-fPIC"], ["-cudart", "shared"]):
        i = cmd.index(pair[0])
        assert cmd[i:i + 2] == pair
    assert "-shared" in cmd
    inc = cmd.index(f"-I{INCLUDE}")
    assert cmd[inc:inc + 6] == [f"-I{INCLUDE}", "-I/inc/a", "-I/inc/b", "-L/lib/x", "-lfoo",
                                "--use_fast_math"]
    assert cmd[-3:] == ["-o", "L.so", "S.cu"]
    if shutil.which("nvcc"):
        d = rpath_dir(cmd)
        assert d and os.path.exists(os.path.join(d, "libcudart.so"))
    else:
        assert rpath_dir(cmd) is None


def test_build_command_does_not_fuse_multiply_add():
    """nvcc fuses a*b+c by default; NumPy rounds twice.  --fmad=false comes
    before the user's extra flags, so that --fmad=true there opts back in."""
    assert "--fmad=false" in build_cmd()
    cmd = build_cmd(extra_flags=["--fmad=true"])
    assert cmd.index("--fmad=false") < cmd.index("--fmad=true")


def test_build_command_without_arch():
    cmd = build_cmd(arch=None)
    assert not [w for w in cmd if w.startswith("-arch")]  # nvcc's default, which it supports


SIG_CU = r"""
#include <cstdint>
#include <cuda_runtime.h>
__global__ void twice(float *x) { x[threadIdx.x] *= 2.0f; }
extern "C" const char twice__signature[] = "x:f32[4]";
extern "C" const char twice__access[] = "w";
extern "C" int32_t twice__entry(void **args) {
  twice<<<1, 4>>>((float *)args[0]);
  return cudaGetLastError() != cudaSuccess;
}
extern "C" const char *twice__error(void) { return "launching twice failed"; }
"""


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")
def test_build_command_builds(tmp_path):
    """nvcc builds a library with this command, linked against the toolkit's
    libcudart through an rpath: it loads without LD_LIBRARY_PATH (loading
    needs no GPU)."""
    src = tmp_path / "k.cu"
    src.write_text(SIG_CU)
    lib = tmp_path / "k.so"
    cmd = _core._cuda_build_cmd(parpy.CompileOptions(), _core.cuda_info()["arch"] if CUDA_OK
                                else None, str(src), str(lib), INCLUDE)
    # Neither nvcc nor the probe may see a sanitizer runtime preloaded for Python.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    if shutil.which("readelf"):
        dyn = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
        assert "libcudart.so" in dyn
        assert rpath_dir(cmd) in dyn
    probe = ("import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); "
             "c = ctypes.c_char.in_dll(l, 'twice__signature'); "
             "print(ctypes.string_at(ctypes.addressof(c)).decode())")
    out = subprocess.run([sys.executable, "-c", probe, str(lib)], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "x:f32[4]"


# ---- arrays in GPU memory, on the Cpu backend ----

class FakeCudaArray:
    """Looks like a GPU array through __cuda_array_interface__ only; the
    pointer is never dereferenced on these paths."""

    def __init__(self, shape=(4,), typestr="<f8", strides=None, ptr=0x7F0000000000,
                 version=3, readonly=False, **extra):
        self.__cuda_array_interface__ = {
            "shape": shape, "typestr": typestr, "data": (ptr, readonly), "version": version,
            "strides": strides, **extra}


def test_device_array_refused_on_cpu():
    loads = _core._stats()["loads"]
    with pytest.raises(parpy.ParPyTypeError) as info:
        axpy(2.0, np.ones(4), FakeCudaArray(), 4, opts=cpu_opts())
    msg = str(info.value)
    assert "argument 'y' is in GPU memory, but the backend is Cpu" in msg
    assert msg.startswith("axpy: ") and "y.cpu()" in msg and "CompileBackend.Cuda" in msg
    assert isinstance(info.value, TypeError)
    assert _core._stats()["loads"] == loads  # refused before building anything
    with pytest.raises(TypeError, match="argument 'x' is in GPU memory"):
        axpy(2.0, FakeCudaArray(), FakeCudaArray(), 4, opts=cpu_opts())


def test_device_array_refused_by_compiled_code():
    """compile_string's callable runs the same check (on every call)."""
    code = ('#include <stdint.h>\nconst char k_dev__signature[] = "x:f64[4]";\n'
            "int32_t k_dev__entry(void **a) { ((double *)a[0])[0] = 1; return 0; }\n")
    f = parpy.compile_string("k_dev", code, cpu_opts())
    x = np.zeros(4)
    f(x)
    assert x[0] == 1
    with pytest.raises(parpy.ParPyTypeError,
                       match="k_dev: argument 'x' is in GPU memory, but the backend is Cpu"):
        f(FakeCudaArray())


def test_device_dict_field_refused():
    @parpy.jit
    def from_dict(d, y):
        with parpy.gpu:
            y[0] = d["a"][0]

    with pytest.raises(parpy.ParPyTypeError,
                       match="field 'a' of argument 'd' is in GPU memory, but the backend is Cpu"):
        from_dict({"a": FakeCudaArray()}, np.zeros(1), opts=cpu_opts())


def test_print_compiled_accepts_device_arrays():
    """Printing runs nothing: GPU arrays are described like any other."""
    code = parpy.print_compiled(axpy, [2.0, FakeCudaArray(), FakeCudaArray(), 4], cpu_opts())
    assert "axpy" in code


@pytest.mark.parametrize("cai, kind, text", [
    (dict(shape=(2, 3), strides=(8, 16)), ValueError, "is not contiguous"),
    (dict(typestr="<c8"), TypeError, "complex64|c8"),
    (dict(typestr=">f8"), TypeError, "big-endian"),
    (dict(typestr="<V8"), TypeError, "dtype"),
    (dict(version=1), TypeError, "version 1; ParPy reads versions 2 and 3"),
    (dict(mask=object()), TypeError, "masked array"),
    (dict(shape=(2, -1)), ValueError, "shape entry -1, which is negative"),
    (dict(shape=(2, "3")), TypeError, "shape holds str"),
    (dict(shape=[4]), TypeError, "not a tuple"),
    (dict(stream="s"), TypeError, "'stream' is str"),
])
def test_bad_cuda_array_interface(cai, kind, text):
    with pytest.raises(kind, match=text) as info:
        axpy(2.0, FakeCudaArray(**cai), np.zeros(4), 4, opts=cpu_opts())
    assert "argument 'x' of axpy" in str(info.value)
    assert isinstance(info.value, parpy.ParPyError)


def test_malformed_cuda_array_interface():
    class NotDict:
        __cuda_array_interface__ = [1, 2]

    class NoVersion:
        __cuda_array_interface__ = {"shape": (4,), "typestr": "<f8", "data": (1, False)}

    class BadData:
        __cuda_array_interface__ = {"shape": (4,), "typestr": "<f8", "data": 5, "version": 2}

    class Raises:
        @property
        def __cuda_array_interface__(self):
            raise RuntimeError("cannot export")

    for obj, text in [(NotDict(), "is a list, not a dict"), (NoVersion(), "without a 'version'"),
                      (BadData(), "'data' is not a")]:
        with pytest.raises(parpy.ParPyTypeError, match=text):
            axpy(2.0, obj, np.zeros(4), 4, opts=cpu_opts())
    with pytest.raises(RuntimeError, match="cannot export"):
        axpy(2.0, Raises(), np.zeros(4), 4, opts=cpu_opts())


def test_contiguous_strides_spelled_out():
    with pytest.raises(TypeError, match="in GPU memory"):  # classified, then refused
        axpy(2.0, FakeCudaArray(shape=(4,), strides=(8,)), np.zeros(4), 4, opts=cpu_opts())


@needs_no_gpu
def test_zero_d_device_array_needs_the_runtime():
    """A 0-d GPU array is a scalar whose value is read from the GPU."""
    with pytest.raises(parpy.ParPyRuntimeError,
                       match="argument 'a' of axpy is a 0-d array in GPU memory, and reading "
                             "its value failed: "):
        axpy(FakeCudaArray(shape=()), np.ones(4), np.zeros(4), 4, opts=cpu_opts())


# ---- DLPack (host memory here; the device paths with hand-made capsules) ----

class DL:
    """An array known only through DLPack."""

    def __init__(self, arr, device=(1, 0), versioned=True):
        self.arr, self.device, self.versioned = arr, device, versioned
        self.capsules = []

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, stream=None, max_version=None):
        if not self.versioned and max_version is not None:
            raise TypeError("unexpected keyword argument 'max_version'")
        cap = self.arr.__dlpack__(max_version=max_version)
        self.capsules.append(cap)
        return cap


class OldDL(DL):
    """A producer from before DLPack 1.0: no max_version keyword at all."""

    def __dlpack__(self, stream=None):
        cap = self.arr.__dlpack__()
        self.capsules.append(cap)
        return cap


def capsule_name(cap):
    get = ctypes.pythonapi.PyCapsule_GetName
    get.restype, get.argtypes = ctypes.c_char_p, [ctypes.py_object]
    return get(cap).decode()


@pytest.mark.parametrize("kind", [DL, OldDL, lambda a: DL(a, versioned=False)])
def test_dlpack_host_array_in_place(kind):
    x, y = np.arange(4.0), np.ones(4)
    base = sys.getrefcount(y)
    dy = kind(y)
    axpy(2.0, kind(x), dy, 4, opts=cpu_opts())
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]  # written in place: no copy
    name = capsule_name(dy.capsules[0])
    assert name in ("used_dltensor", "used_dltensor_versioned")
    del dy
    gc.collect()
    assert sys.getrefcount(y) == base  # the tensor's deleter ran


def test_dlpack_checks():
    with pytest.raises(ValueError, match="argument 'x' of axpy is not contiguous"):
        axpy(2.0, DL(np.zeros(8)[::2]), np.zeros(4), 4, opts=cpu_opts())
    with pytest.raises(TypeError, match="argument 'x' of axpy .*complex"):
        axpy(2.0, DL(np.zeros(4, np.complex128)), np.zeros(4), 4, opts=cpu_opts())
    with pytest.raises(TypeError, match=r"ROCm \(DLPack device type 10\)"):
        axpy(2.0, DL(np.zeros(4), device=(10, 0)), np.zeros(4), 4, opts=cpu_opts())


def test_dlpack_read_only_and_scalars():
    code = ('#include <stdint.h>\nconst char k_dl__signature[] = "a:f64=0x1p+1 x:f64[3]";\n'
            "int32_t k_dl__entry(void **a) { ((double *)a[1])[0] = *(double *)a[0]; "
            "return 0; }\n")
    f = parpy.compile_string("k_dl", code, cpu_opts())
    x = np.zeros(3)
    f(DL(np.array(2.0)), DL(x))  # a 0-d array is a scalar
    assert x[0] == 2.0
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="must be writable"):
        f(DL(np.array(2.0)), DL(ro))  # the versioned capsule says read-only


def test_dlpack_bad_capsule():
    class NotCapsule(DL):
        def __dlpack__(self, stream=None, max_version=None):
            return 42

    class Used(DL):
        def __dlpack__(self, stream=None, max_version=None):
            cap = self.arr.__dlpack__()
            rename = ctypes.pythonapi.PyCapsule_SetName
            rename.argtypes = [ctypes.py_object, ctypes.c_char_p]
            rename(cap, _USED)  # what a consumer does
            self.capsules.append(cap)
            return cap

    with pytest.raises(TypeError, match="returned something other than a DLPack capsule"):
        axpy(2.0, NotCapsule(np.zeros(4)), np.zeros(4), 4, opts=cpu_opts())
    with pytest.raises(TypeError, match="already consumed"):
        axpy(2.0, Used(np.zeros(4)), np.zeros(4), 4, opts=cpu_opts())


_USED = b"used_dltensor"  # capsule names must outlive their capsules


# Hand-made DLPack tensors, for what NumPy cannot export: GPU memory, bfloat16.
class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", DELETER)]
_NAME = b"dltensor"


class HandMade:
    """A DLPack producer of one unversioned tensor described by hand."""

    def __init__(self, shape, device_type=2, code=2, bits=64, ptr=0x7F0000000000):
        self.deleted = 0
        self.device_type = device_type
        self.shape = (ctypes.c_int64 * max(len(shape), 1))(*shape)
        self.deleter = DELETER(self._delete)
        self.m = DLManagedTensor()
        self.m.dl_tensor = DLTensor(ptr, DLDevice(device_type, 0), len(shape),
                                    DLDataType(code, bits, 1), self.shape, None, 0)
        self.m.deleter = self.deleter

    def _delete(self, _):
        self.deleted += 1

    def __dlpack_device__(self):
        return (self.device_type, 0)

    def __dlpack__(self, stream=None, max_version=None):
        assert stream == (1 if self.device_type == 2 else None)
        new = ctypes.pythonapi.PyCapsule_New
        new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p,
                                                        ctypes.c_void_p]
        return new(ctypes.addressof(self.m), _NAME, None)


def test_dlpack_gpu_tensor_refused_on_cpu():
    t = HandMade((4,))
    with pytest.raises(parpy.ParPyTypeError, match="argument 'y' is in GPU memory, but the "
                                                   "backend is Cpu"):
        axpy(2.0, np.zeros(4), t, 4, opts=cpu_opts())
    assert t.deleted == 1


def test_dlpack_unsupported_dtype():
    t = HandMade((4,), device_type=1, code=4, bits=32)  # no such bfloat
    with pytest.raises(parpy.ParPyTypeError, match="dtype bfloat32"):
        axpy(2.0, np.zeros(4), t, 4, opts=cpu_opts())
    assert t.deleted == 1


@needs_no_gpu
def test_dlpack_zero_d_gpu_scalar_needs_the_runtime():
    t = HandMade(())
    with pytest.raises(parpy.ParPyRuntimeError, match="0-d array in GPU memory"):
        axpy(t, np.zeros(4), np.zeros(4), 4, opts=cpu_opts())
    assert t.deleted == 1


# ---- PyTorch tensors, through a stand-in module where PyTorch is missing ----
# parpy reads tensors through their C getters (src/module/torch.c), found in
# sys.modules["torch"].  The stand-in has the same attributes; parpy keeps
# the Tensor type it first finds, so this runs only without the real torch.

class _Dtype:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"torch.{self.name}"


def fake_torch():
    mod = types.ModuleType("torch")
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float16", "float32", "float64", "bfloat16"):
        setattr(mod, name, _Dtype(name))

    class Tensor:
        def __init__(self, arr, cuda=False, grad=False, neg=False, dtype=None, device=None,
                     ptr=None):
            self.arr, self.is_cuda, self.requires_grad, self.neg = arr, cuda, grad, neg
            self.is_cpu = not cuda and device is None
            self.device = device or ("cuda:0" if cuda else "cpu")
            self.dtype = dtype or getattr(mod, arr.dtype.name)
            self.shape = tuple(arr.shape)
            self.ptr = ptr

        def data_ptr(self):
            return self.ptr if self.ptr is not None else self.arr.ctypes.data

        def is_contiguous(self):
            return self.arr.flags.c_contiguous

        def is_neg(self):
            return self.neg

        def get_device(self):
            return 0 if self.is_cuda else -1

    mod.Tensor = Tensor
    return mod


_FAKE_TORCH = fake_torch()  # one for the whole run: parpy keeps its Tensor type


@pytest.fixture
def torch_stand_in(monkeypatch):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("the real PyTorch is installed (tests/test_interop.py uses it)")
    monkeypatch.setitem(sys.modules, "torch", _FAKE_TORCH)
    return _FAKE_TORCH


def test_torch_cpu_tensors_in_place(torch_stand_in):
    T = torch_stand_in.Tensor
    x, y = np.arange(4.0), np.ones(4)
    axpy(2.0, T(x), T(y), 4, opts=cpu_opts())
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]
    axpy(T(np.array(3.0)), T(x), T(y), 4, opts=cpu_opts())  # 0-d: a scalar
    assert y.tolist() == [1.0, 6.0, 11.0, 16.0]


def test_torch_refusals(torch_stand_in):
    T = torch_stand_in.Tensor
    y = np.zeros(4)
    cases = [
        (T(np.ones(4), grad=True), parpy.ParPyTypeError,
         r"argument 'x' of axpy is a torch tensor that requires grad; pass x.detach\(\)"),
        (T(np.ones(8)[::2]), parpy.ParPyValueError, r"not contiguous; pass x.contiguous\(\)"),
        # (Lazily negated views come from complex conjugation: complex dtypes
        # are refused by their dtype, so the neg bit is not read.)
        (T(np.ones(4, np.float32), dtype=torch_stand_in.bfloat16), parpy.ParPyTypeError,
         "dtype torch.bfloat16"),
        (T(np.ones(4), device="meta"), parpy.ParPyTypeError, "on the device 'meta'"),
        (T(np.ones(4), cuda=True), parpy.ParPyTypeError,
         "argument 'x' is in GPU memory, but the backend is Cpu"),
    ]
    for arg, kind, text in cases:
        with pytest.raises(kind, match=text):
            axpy(2.0, arg, y, 4, opts=cpu_opts())
    assert not y.any()


@needs_no_gpu
def test_torch_zero_d_cuda_tensor_needs_the_runtime(torch_stand_in):
    t = torch_stand_in.Tensor(np.array(2.0), cuda=True, ptr=0x7F0000000000)
    with pytest.raises(parpy.ParPyRuntimeError, match="0-d array in GPU memory"):
        axpy(t, np.ones(4), np.zeros(4), 4, opts=cpu_opts())


# ---- on a GPU ----

@pytest.mark.cuda
@pytest.mark.skipif(not CUDA_OK, reason=f"no usable CUDA device: {CUDA_WHY}")
def test_cuda_info():
    info = _core.cuda_info()
    assert info["arch"] == "sm_%d%d" % info["compute_capability"]
    assert info["name"] and info["device_count"] >= 1
    assert info["runtime_version"].count(".") == 1


@pytest.mark.cuda
@needs_cuda
def test_auto_resolves_to_cuda(capsys):
    parpy.backend._reset()
    assert parpy.backend.resolve(parpy.CompileBackend.Auto, True) is parpy.CompileBackend.Cuda
    info = _core.cuda_info()
    assert f"ParPy: backend Auto resolved to Cuda ({info['name']}, {info['arch']}" in \
        capsys.readouterr().out


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("n", [1, 1000])
def test_numpy_arrays_copied_in_and_back(n):
    """NumPy arrays on the Cuda backend: copied to the GPU and back."""
    o = parpy.par({"N": parpy.threads(n)})
    o.backend = parpy.CompileBackend.Cuda
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    before = _core._stats()["copies_in"]
    axpy(2.0, x, y, n, opts=o)
    assert np.array_equal(y, 2 * np.arange(n, dtype=np.float32) + 1)
    assert _core._stats()["copies_in"] == before + 2
    assert np.array_equal(x, np.arange(n, dtype=np.float32))  # read only, unchanged


POOL_PROBE = r"""
import ctypes, sys
import torch
import parpy
from parpy import _core
from parpy.operators import sum as psum

@parpy.jit
def total(x, out):
    parpy.label('N')
    out[0] = psum(x[:])

rt = ctypes.CDLL(_core._cuda_runtime_path())
def threshold():
    pool, value = ctypes.c_void_p(), ctypes.c_uint64()
    assert rt.cudaDeviceGetDefaultMemPool(ctypes.byref(pool), torch.cuda.current_device()) == 0
    assert rt.cudaMemPoolGetAttribute(pool, 4, ctypes.byref(value)) == 0  # release threshold
    return value.value

o = parpy.par({'N': parpy.threads(4096)})
o.backend = parpy.CompileBackend.Cuda
x = torch.ones(1 << 20, device="cuda")
out = torch.zeros(1, device="cuda")
before = threshold()
total(x, out, opts=o)  # its partials come from the pool
torch.cuda.synchronize()
print(before, threshold(), out.item())
"""


@pytest.mark.cuda
@needs_cuda
def test_pool_keeps_memory_for_calls_on_gpu_arrays(tmp_path):
    """A call whose arrays are all on the GPU still allocates temporaries
    (here the partials of a sum over several blocks) with cudaMallocAsync:
    the default pool must keep that memory between calls instead of mapping
    it afresh each time (bench/profile_kernels.py: 60 to 140 us a call)."""
    pytest.importorskip("torch")
    probe = tmp_path / "probe.py"  # a file: jitted functions need their source
    probe.write_text(POOL_PROBE)
    run = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    before, after, total = run.stdout.split()
    assert before == "0"  # nothing had told the pool yet
    assert int(after) > 0 and float(total) == 1 << 20


def test_interface_dict_with_keys_of_other_types():
    """The interface's keys are looked up as interned strings: a dict with
    keys of other types beside them (which compare unequal) reads the same,
    and a str subclass key equal to a field's name still counts."""
    class Key(str):
        pass

    plain = FakeCudaArray(shape=(3,), typestr="<f4")
    odd = FakeCudaArray(shape=(3,), typestr="<f4")
    odd.__cuda_array_interface__[1] = "x"
    odd.__cuda_array_interface__[(2, 3)] = None
    odd.__cuda_array_interface__[Key("mask")] = "not None"
    assert "argument 'x' is in GPU memory" in call_error_text(plain)
    assert "masked array" in call_error_text(odd)


def call_error_text(arr):
    with pytest.raises(parpy.ParPyError) as info:
        axpy(2.0, arr, FakeCudaArray(shape=(3,), typestr="<f4"), 3, opts=cpu_opts())
    return str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_torch_tensor_subclass_and_attributes():
    """torch.Tensor's attributes are read through its descriptors for exact
    tensors; subclasses go the generic way, and both classify alike."""
    import torch

    class Sub(torch.Tensor):
        pass

    x = torch.arange(4, dtype=torch.float64)
    y = torch.zeros(4, dtype=torch.float64)
    axpy(2.0, x, y, 4, opts=cpu_opts())
    assert y.tolist() == [0.0, 2.0, 4.0, 6.0]
    s = torch.zeros(4, dtype=torch.float64).as_subclass(Sub)
    axpy(1.0, x, s, 4, opts=cpu_opts())
    assert s.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(parpy.ParPyValueError, match="not contiguous"):
        axpy(1.0, torch.arange(8, dtype=torch.float64)[::2], y, 4, opts=cpu_opts())
    with pytest.raises(parpy.ParPyTypeError, match="requires grad"):
        axpy(1.0, torch.ones(4, dtype=torch.float64, requires_grad=True), y, 4,
             opts=cpu_opts())
