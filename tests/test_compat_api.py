"""Names and behaviours of ParPy 0.1.3's Python API that code written for it
uses (issue 10 items 1, 2, 3, 9, 10, 12): the backend lists, options whose
lists and dict change in place, parpy.sync, Buffer and DataType additions,
threads() of NumPy integers and 0-d tensors, error classes that are also
RuntimeError, and the CUDA header's parpy_cuda_check_error."""
import operator
import os
import pickle

import numpy as np
import pytest

import parpy
from harness import needs_nvcc, nvcc_compile
from parpy import buffer as pb
from parpy import types as T

Cpu, Cuda = parpy.CompileBackend.Cpu, parpy.CompileBackend.Cuda
INCLUDE = os.path.join(os.path.dirname(parpy.__file__), "include")


@parpy.jit
def add_one(x, N):
    parpy.label('N')
    for i in range(N):
        x[i] = x[i] + 1.0


# ---- 1: backends and available are lists that stay current ----

def test_backends_is_a_list():
    bs = parpy.backend.backends
    assert isinstance(bs, list)
    assert bs == [Cuda, parpy.CompileBackend.Metal, Cpu]
    assert list(bs) == bs and len(bs) == 3 and bs[-1] is Cpu and Cpu in bs
    assert [b for b in bs] == bs and sorted(bs, key=lambda b: b.value)[0] is Cuda
    assert bs() == bs  # our earlier spelling, a call, still works
    with pytest.raises(TypeError):
        bs.append(Cpu)


def test_available_is_a_list_recomputed_when_read(monkeypatch):
    av = parpy.backend.available
    assert isinstance(av, list) and Cpu in av and av == parpy.backend.available()
    assert [b for b in av if not parpy.backend.is_enabled(b)] == []
    # A backend that becomes usable after import shows up at the next read.
    monkeypatch.setattr(parpy.backend, "_why_disabled", lambda b: None)
    assert av == [Cuda, parpy.CompileBackend.Metal, Cpu] and len(av) == 3
    monkeypatch.setattr(parpy.backend, "_why_disabled",
                        lambda b: None if b is Cuda else "no")
    assert list(av) == [Cuda] and Cpu not in av and bool(av)
    monkeypatch.setattr(parpy.backend, "_why_disabled", lambda b: "no")
    assert av == [] and not av and repr(av) == "[]"


def test_parametrize_over_backends_list():
    # What pytest.mark.parametrize does with it: iterate once.
    ids = [b.name for b in parpy.backend.backends]
    assert ids == ["Cuda", "Metal", "Cpu"]
    assert pickle.loads(pickle.dumps(parpy.backend.backends)) == parpy.backend.backends


# ---- 2: list and dict fields of CompileOptions ----

def test_includes_plus_equals_and_comparisons():
    o = parpy.CompileOptions()
    assert o.includes == [] and o.libs == [] and o.extra_flags == [] and o.parallelize == {}
    o.includes += ["test/code"]
    o.libs.append("/opt/lib")
    o.extra_flags.extend(["-O2", "-g"])
    assert o.includes == ["test/code"] and o.libs == ["/opt/lib"]
    assert o.extra_flags == ["-O2", "-g"]
    assert isinstance(o.includes, list) and isinstance(o.parallelize, dict)


def test_in_place_changes_change_the_key():
    o = parpy.par({"N": parpy.threads(4)})
    k = o._key
    o.extra_flags.append("-O1")
    k2 = o._key
    assert k2 != k
    o.parallelize["M"] = parpy.threads(8)
    k3 = o._key
    assert k3 != k2
    del o.parallelize["M"]
    o.extra_flags.pop()
    assert o._key == k
    held = o.includes
    held += ["x"]  # a reference taken earlier still changes the options
    assert o.includes == ["x"] and o._key != k


def test_in_place_change_reaches_the_compiler():
    """A call after `opts.parallelize[...] = ...` compiles with the new
    mapping (a stale key would reuse the old code)."""
    o = parpy.par({"N": parpy.threads(4)})
    o.backend = Cpu
    x = np.zeros(8)
    add_one(x, 8, opts=o)
    o.parallelize.clear()
    with pytest.raises(parpy.ParPyRuntimeError, match="does not contain any parallelism"):
        add_one(x, 8, opts=o)
    o.parallelize["N"] = parpy.threads(2)
    add_one(x, 8, opts=o)
    assert (x == 2).all()


def test_validated_when_used():
    o = parpy.par({"N": parpy.threads(4)})
    o.backend = Cpu
    o.includes.append(3)
    with pytest.raises(parpy.ParPyTypeError, match="includes must be a list of str; found int"):
        add_one(np.zeros(4), 4, opts=o)
    o.includes.pop()
    o.parallelize["M"] = 32
    with pytest.raises(parpy.ParPyTypeError, match="label 'M' maps to int"):
        add_one(np.zeros(4), 4, opts=o)
    with pytest.raises(parpy.ParPyTypeError, match="label 'M' maps to int"):
        parpy.print_compiled(add_one, [np.zeros(4), 4], o)
    # Setting a bad list is still refused at once.
    with pytest.raises(parpy.ParPyTypeError):
        o.libs = "/opt/lib"
    with pytest.raises(parpy.ParPyTypeError):
        o.libs += [None]


def test_options_do_not_share_lists():
    a = parpy.CompileOptions()
    b = a.copy()
    b.includes.append("x")
    b.parallelize["N"] = parpy.threads(2)
    assert a.includes == [] and a.parallelize == {}
    c = pickle.loads(pickle.dumps(b))
    assert c == b
    k = c._key
    c.includes.append("y")
    assert c._key != k


# ---- 3 and 10: parpy.sync, Buffer and DataType ----

def test_sync_names():
    assert parpy.sync is pb.sync
    parpy.sync()
    parpy.sync(Cpu)
    b = pb.zeros(3, T.F32, Cpu)
    parpy.sync(b)
    b.sync()


def test_buffer_copy_and_size():
    b = pb.from_array(np.arange(6, dtype=np.int16).reshape(2, 3), Cpu)
    c = b.copy()
    assert c.shape == (2, 3) and c.dtype is T.I16 and c.backend is Cpu and c._ptr != b._ptr
    c.numpy()[0, 0] = 7
    assert b.numpy()[0, 0] == 0 and (c.numpy().ravel()[1:] == np.arange(1, 6)).all()
    assert b.size() == 12 == b.nbytes


@pytest.mark.parametrize("dtype,value", [(np.float32, 2.5), (np.int64, -3), (np.bool_, True),
                                         (np.uint8, 200), (np.float16, 0.5)])
def test_scalar_conversions_of_0d_buffers(dtype, value):
    b = pb.from_array(np.array(value, dtype=dtype), Cpu)
    assert float(b) == float(value)
    assert int(b) == int(value)
    assert bool(b) == bool(value)
    if np.issubdtype(dtype, np.integer):
        assert operator.index(b) == value
    else:
        with pytest.raises(TypeError, match="only a buffer of integers"):
            operator.index(b)


def test_scalar_conversions_need_0d():
    b = pb.zeros((2,), T.F32, Cpu)
    for conv in (float, int, bool):
        with pytest.raises(parpy.ParPyValueError, match="needs a 0-d buffer, not one of shape"):
            conv(b)
    i = pb.from_array(np.array(2, dtype=np.int32), Cpu)
    assert list(range(5))[i] == 2


def test_dtype_predicates():
    cases = {T.I8: (True, True, False, False), T.U32: (True, False, True, False),
             T.F16: (False, False, False, True), T.Bool: (False, False, False, False)}
    for e, (is_int, signed, unsigned, is_float) in cases.items():
        b = pb.zeros(1, e, Cpu)
        d = b.dtype
        assert (d.is_integer(), d.is_signed_integer(), d.is_unsigned_integer(),
                d.is_floating_point()) == (is_int, signed, unsigned, is_float)


def test_datatype():
    d = pb.DataType.from_elem_size(T.F32)
    assert d == T.F32 and d == pb.DataType("<f4") and d == pb.DataType(np.float32)
    assert d != T.F64 and hash(d) == hash(pb.DataType("float32"))
    assert d.size() == 4 and d.is_floating_point() and not d.is_integer()
    assert d.to_numpy() is np.float32 and d.to_ctype() is T.F32.to_ctype()
    b = pb.empty((2, 2), d, Cpu)
    assert b.dtype is T.F32
    assert pb.DataType.from_elem_size(T.U16).is_unsigned_integer()
    with pytest.raises(parpy.ParPyTypeError, match="expects a parpy.ElemSize"):
        pb.DataType.from_elem_size("f4")


def test_from_array_none_is_a_host_buffer():
    a = np.arange(4, dtype=np.float64)
    b = pb.from_array(a, None)
    assert b.backend is Cpu and (b.numpy() == a).all()
    a[0] = 9  # a copy, as from_array always makes of host data
    assert b.numpy()[0] == 0


@pytest.mark.parametrize("n", [np.int64(64), np.int32(64), np.uint16(64), np.array(64),
                               np.array(64, dtype=np.int16)])
def test_threads_of_numpy_integers(n):
    assert parpy.threads(n) == parpy.threads(64)
    assert parpy.LoopPar().tpb(n) == parpy.LoopPar().tpb(64)


def test_threads_of_0d_buffer_and_tensor():
    assert parpy.threads(pb.from_array(np.array(32, dtype=np.int32), Cpu)) == parpy.threads(32)
    torch = pytest.importorskip("torch")
    assert parpy.threads(torch.tensor(512)) == parpy.threads(512)
    with pytest.raises(TypeError, match="must be an int, not Tensor"):
        parpy.threads(torch.tensor(2.0))


@pytest.mark.parametrize("bad", [np.array(2.0), np.float32(3), np.array([4]), np.bool_(True),
                                 np.array(True), 2.0])
def test_threads_refuses_non_integers(bad):
    with pytest.raises(parpy.ParPyTypeError, match="the number of threads must be an int"):
        parpy.threads(bad)


def test_threads_of_numpy_integer_value_checks():
    with pytest.raises(parpy.ParPyValueError, match="must be positive"):
        parpy.threads(np.int64(0))


def test_hmm_style_threads_of_dict_field():
    hmm = {"num_states": np.array(512, dtype=np.int64)}
    opts = parpy.par({"state": parpy.threads(hmm["num_states"])})
    assert opts.parallelize["state"].nthreads == 512


# ---- 12: errors 0.1.3 raised as RuntimeError are also RuntimeError ----

def test_error_classes_derive_from_both():
    assert issubclass(parpy.ParPyRuntimeTypeError, parpy.ParPyTypeError)
    assert issubclass(parpy.ParPyRuntimeTypeError, RuntimeError)
    assert issubclass(parpy.ParPyRuntimeValueError, parpy.ParPyValueError)
    assert issubclass(parpy.ParPyRuntimeValueError, RuntimeError)


def _raises_both(exc, fn, match):
    with pytest.raises(RuntimeError, match=match) as info:
        fn()
    assert isinstance(info.value, exc), type(info.value)
    return info.value


def test_bad_external_annotations_are_runtime_errors():
    def f(x):
        return x

    _raises_both(TypeError, lambda: parpy.external("f", Cpu, parpy.Target.Host)(f),
                 "must be annotated with types")

    def g(x: T.F32):
        return x

    _raises_both(TypeError, lambda: parpy.external("g", Cpu, parpy.Target.Host)(g),
                 "must annotate its result")


def test_host_externals_errors_are_runtime_errors():
    _raises_both(ValueError, lambda: parpy.external("f", Cuda, parpy.Target.Host),
                 "Host externals are not supported in the CUDA backend")
    _raises_both(ValueError, lambda: parpy.external("f", Cpu, parpy.Target.Host,
                                                    parallelize=parpy.threads(32)),
                 "parallel host externals are not supported")


def test_cluster_size_error_is_a_runtime_error():
    def set_it():
        parpy.CompileOptions().max_thread_blocks_per_cluster = 6
    _raises_both(ValueError, set_it, "power of two")


@parpy.jit
def dict_read(d, y):
    with parpy.gpu:
        y[0] = d["a"][0]


def test_dict_key_errors_are_runtime_errors():
    o = parpy.CompileOptions()
    o.backend = Cpu
    y = np.zeros(1)
    e = _raises_both(TypeError, lambda: dict_read({1: np.zeros(1)}, y, opts=o),
                     "dict keys must be str")
    assert isinstance(e, parpy.ParPyRuntimeTypeError)
    _raises_both(TypeError, lambda: dict_read({"a": {"b": np.zeros(1)}}, y, opts=o),
                 "nested dictionary arguments are not supported")


# ---- 9: parpy_cuda_check_error in hand-written CUDA code ----

OOM_CODE = r'''
#include "parpy_cuda.h"
extern "C" const char k_oom__signature[] = "x:f32[4]";
extern "C" const char *k_oom__error(void) { return parpy_error; }
extern "C" int32_t k_oom__entry(void **args) {
  void *p = NULL;
  (void)args;
  parpy_cuda_check_error(cudaMalloc(&p, (size_t)-1));
  parpy_cuda_check_error(cudaFree(p));
  return 0;
}
'''


def test_header_defines_check_error_macro():
    text = open(os.path.join(INCLUDE, "parpy_cuda.h")).read()
    assert "#define parpy_cuda_check_error(call)" in text


@needs_nvcc
def test_check_error_macro_compiles_with_nvcc(tmp_path):
    failed = nvcc_compile(OOM_CODE, tmp_path, "oom", arch=None)
    assert failed is None, failed


@pytest.mark.cuda
@pytest.mark.skipif(not parpy.backend.is_enabled(Cuda), reason="the Cuda backend is not enabled")
def test_check_error_surfaces_out_of_memory():
    o = parpy.CompileOptions()
    o.backend = Cuda
    f = parpy.compile_string("k_oom", OOM_CODE, o)
    with pytest.raises(RuntimeError, match="out of memory"):
        f(np.zeros(4, np.float32))
    # The failure is not left behind as CUDA's last error: the next launch
    # (which checks cudaGetLastError) must not report it.
    x = np.arange(8, dtype=np.float32)
    o = parpy.par({"N": parpy.threads(8)})
    o.backend = Cuda
    add_one(x, 8, opts=o)
    assert np.array_equal(x, np.arange(8, dtype=np.float32) + 1)
