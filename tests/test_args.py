"""How call arguments are classified and checked.

Errors in the arguments themselves (count, dtype, layout, dict shape) are
raised before anything is compiled.  What each kind of argument becomes is
checked through compile_string with hand-written code: the library's
signature says what it expects and its entry sees the argument slots."""
from __future__ import annotations

import enum

import numpy as np
import pytest

import parpy


@parpy.jit
def first(x, y, N):
    parpy.label("N")
    for i in range(N):
        y[i] = x[i]


@parpy.jit
def use_dict(d, y):
    with parpy.gpu:
        y[0] = d["a"][0] + d["b"]


def opts(backend=parpy.CompileBackend.Cpu):
    o = parpy.par({"N": parpy.threads(4)})
    o.backend = backend
    return o


# ---- errors raised before compiling ----

@pytest.mark.parametrize("args, given", [((np.zeros(3),), 1), ((), 0),
                                         ((np.zeros(3), np.zeros(3), 3, 4), 4)])
def test_count(args, given):
    with pytest.raises(parpy.ParPyTypeError) as info:
        first(*args, opts=opts())
    verb = "was" if given == 1 else "were"
    assert str(info.value) == f"first() takes 3 positional arguments but {given} {verb} given"
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64, "datetime64[s]", "U3"])
def test_unsupported_dtype(dtype):
    x = np.zeros(3, dtype=dtype)
    with pytest.raises(parpy.ParPyTypeError) as info:
        first(x, np.zeros(3), 3, opts=opts())
    assert "argument 'x' of first" in str(info.value)
    assert np.dtype(dtype).name in str(info.value) or str(np.dtype(dtype)) in str(info.value)


def test_big_endian():
    x = np.zeros(3, dtype=">f8")
    with pytest.raises(parpy.ParPyTypeError, match="big-endian"):
        first(x, np.zeros(3), 3, opts=opts())


def test_not_contiguous():
    x = np.zeros(6)[::2]
    with pytest.raises(parpy.ParPyValueError) as info:
        first(x, np.zeros(3), 3, opts=opts())
    assert str(info.value) == ("argument 'x' of first is not contiguous; pass "
                               "numpy.ascontiguousarray(x)")
    with pytest.raises(ValueError, match="argument 'y' of first is not contiguous"):
        first(np.zeros(3), np.zeros((3, 3)).T[0], 3, opts=opts())


def test_nested_dict():
    d = {"a": np.zeros(2), "b": {"c": 1}}
    with pytest.raises(parpy.ParPyTypeError,
                       match="field 'b' of argument 'd' of use_dict is a dict; nested dictionary arguments"):
        use_dict(d, np.zeros(1), opts=opts())


def test_dict_key_not_str():
    with pytest.raises(parpy.ParPyTypeError, match="argument 'd' of use_dict .*key 3"):
        use_dict({"a": np.zeros(2), 3: 1.0}, np.zeros(1), opts=opts())


def test_dict_field_not_contiguous():
    with pytest.raises(parpy.ParPyValueError, match="field 'a' of argument 'd'"):
        use_dict({"a": np.zeros(4)[::2], "b": 1.0}, np.zeros(1), opts=opts())


@pytest.mark.parametrize("v", [2**63, -(2**63) - 1, 10**30])
def test_int_out_of_range(v):
    with pytest.raises(parpy.ParPyValueError, match="does not fit in a 64-bit"):
        first(np.zeros(3), np.zeros(3), v, opts=opts())


def test_errors_release_buffers():
    """An argument error must not leave the arrays locked (exported buffers)."""
    x = np.zeros(3)
    with pytest.raises(parpy.ParPyTypeError):
        first(x, np.zeros(3, dtype=np.complex64), 3, opts=opts())
    x.resize(5, refcheck=False)  # fails with BufferError if a view leaked


# ---- compile errors about arguments (the core reports them) ----

def test_missing_dict_key(backend):
    with pytest.raises(parpy.ParPyTypeError, match="'b'") as info:
        use_dict({"a": np.zeros(2)}, np.zeros(1), opts=opts(backend))
    assert info.value.line == use_dict.__wrapped__.__code__.co_firstlineno + 3


def test_opaque_argument_used(backend):
    with pytest.raises(parpy.ParPyTypeError, match="argument 'x'") as info:
        first("not an array", np.zeros(3), 3, opts=opts(backend))
    assert "str" in str(info.value)


def test_opaque_argument_unused(backend):
    @parpy.jit
    def ignore(unused, y):
        with parpy.gpu:
            y[0] = 1.0

    y = np.zeros(1)
    ignore(object(), y, opts=opts(backend))
    assert y[0] == 1.0


# ---- classification, seen through compile_string ----

HEADER = "#include <stdint.h>\n#include <string.h>\n"


def lib(name, sig, body):
    code = (HEADER + f'const char {name}__signature[] = "{sig}";\n'
            f"int32_t {name}__entry(void **args) {{\n{body}\n  return 0;\n}}\n")
    return parpy.compile_string(name, code, opts())


def test_python_scalars_and_arrays():
    f = lib("k1", "a:int=7 b:float=0x1.4p+1 c:bool=1 x:f64[3] y:i32[2,2]",
            "  double *x = args[3]; int32_t *y = args[4];\n"
            "  x[0] = (double)*(int64_t *)args[0]; x[1] = *(double *)args[1];\n"
            "  x[2] = *(int64_t *)args[2]; y[3] = 42;")
    x = np.zeros(3)
    y = np.zeros((2, 2), dtype=np.int32)
    assert f(7, 2.5, True, x, y) is None
    assert x.tolist() == [7.0, 2.5, 1.0]
    assert y[1, 1] == 42
    with pytest.raises(ValueError, match="argument 'a' of k1 was 7 when this code was "
                                         "generated, got 8"):
        f(8, 2.5, True, x, y)
    with pytest.raises(TypeError, match="argument 'b' of k1 was 2.5 .* got 2$"):
        f(7, 2, True, x, y)
    with pytest.raises(TypeError, match="argument 'c'"):
        f(7, 2.5, 1, x, y)  # an int is not a bool
    with pytest.raises(TypeError, match="argument 'y' of k1 was a int32"):
        f(7, 2.5, True, x, y.astype(np.int64))
    with pytest.raises(ValueError, match=r"argument 'x' of k1 was a float64\[3\] array"):
        f(7, 2.5, True, np.zeros(4), y)
    with pytest.raises(TypeError, match=r"k1\(\) takes no keyword arguments"):
        f(7, 2.5, True, x, y, opts=None)


def test_numpy_scalars_are_strong():
    f = lib("k2", "a:f32=0x1.4p+1 b:i16=-3 c:bool_=1 d:u8=200 e:f64=0x1p+0",
            "  return *(float *)args[0] == 2.5f && *(int16_t *)args[1] == -3 ? 0 : 1;")
    f(np.float32(2.5), np.int16(-3), np.bool_(True), np.uint8(200), np.float64(1.0))
    # 0-d arrays are scalars too.
    f(np.array(2.5, dtype=np.float32), np.array(-3, dtype=np.int16), np.array(True),
      np.array(200, dtype=np.uint8), np.array(1.0))
    with pytest.raises(TypeError, match="argument 'a' of k2 was float32"):
        f(2.5, np.int16(-3), np.bool_(True), np.uint8(200), np.float64(1.0))
    with pytest.raises(TypeError, match="argument 'e'"):
        f(np.float32(2.5), np.int16(-3), np.bool_(True), np.uint8(200), 1.0)


def test_float16_scalar_value():
    f = lib("k3", "h:f16=0x1.8p+0", "")
    f(np.float16(1.5))
    with pytest.raises(ValueError):
        f(np.float16(2.5))


def test_read_only_arrays():
    f = lib("k4", "x:f64[2]ro y:f64[2]", "  ((double *)args[1])[0] = ((double *)args[0])[1];")
    x = np.array([1.0, 2.0])
    x.flags.writeable = False
    y = np.zeros(2)
    f(x, y)
    assert y[0] == 2.0
    y.flags.writeable = False
    with pytest.raises(ValueError, match="must be writable"):
        f(x, y)


def test_dicts_sorted_by_key():
    f = lib("k5", "d:{a=f64[2];b=int=3;c=f32=0x1p+1} y:f64[1]",
            "  double *a = args[0]; int64_t b = *(int64_t *)args[1];\n"
            "  ((double *)args[3])[0] = a[1] + (double)b + *(float *)args[2];")
    y = np.zeros(1)
    f({"c": np.float32(2.0), "b": 3, "a": np.array([0.0, 10.0])}, y)
    assert y[0] == 15.0
    with pytest.raises(ValueError, match="field 'b' of argument 'd' of k5 was 3 when this "
                                         "code was generated, got 4"):
        f({"a": np.zeros(2), "b": 4, "c": np.float32(2.0)}, y)
    with pytest.raises(TypeError, match="fields 'a', 'b', 'c'"):
        f({"a": np.zeros(2), "b": 3}, y)


def test_opaque_slot_is_null():
    f = lib("k6", "o:* x:i64[1]", "  ((int64_t *)args[1])[0] = args[0] == 0;")
    x = np.zeros(1, dtype=np.int64)
    f("anything", x)
    assert x[0] == 1
    f([1, 2], x)
    f(None, x)


class Iface:
    """An array known only through __array_interface__ (no buffer protocol)."""

    def __init__(self, arr, strides=None):
        self.arr = arr
        self.__array_interface__ = {
            "shape": arr.shape, "typestr": arr.dtype.str, "version": 3,
            "data": (arr.ctypes.data, not arr.flags.writeable), "strides": strides,
        }


def test_array_interface():
    f = lib("k7", "x:i32[2,3]", "  ((int32_t *)args[0])[5] = 9;")
    a = np.zeros((2, 3), dtype=np.int32)
    f(Iface(a))
    assert a[1, 2] == 9
    f(Iface(a, strides=(12, 4)))  # contiguous strides spelled out
    with pytest.raises(ValueError, match="not contiguous"):
        f(Iface(a, strides=(4, 8)))
    with pytest.raises(TypeError, match="dtype"):
        f(Iface(np.zeros((2, 3), dtype=np.complex64)))


def test_int_subclasses_are_weak_ints():
    class Size(enum.IntEnum):
        N = 4

    f = lib("k8", "n:int=4", "")
    f(Size.N)
    f(4)


def test_memoryview_and_bytearray():
    f = lib("k9", "x:u8[4]", "  ((uint8_t *)args[0])[0] = 7;")
    b = bytearray(4)
    f(b)
    assert b[0] == 7
    f(memoryview(b))


def test_non_zero_return_raises():
    code = (HEADER + 'const char k10__signature[] = "n:int=1";\n'
            'int32_t k10__entry(void **args) { (void)args; return 3; }\n')
    f = parpy.compile_string("k10", code, opts())
    with pytest.raises(parpy.ParPyRuntimeError, match="error code 3"):
        f(1)
    code = code.replace("k10", "k11") + 'const char *k11__error(void) { return "boom"; }\n'
    f = parpy.compile_string("k11", code, opts())
    with pytest.raises(parpy.ParPyRuntimeError, match="k11 failed: boom"):
        f(1)


def test_compile_string_bad_code():
    with pytest.raises(parpy.ParPyError):
        parpy.compile_string("bad", "this is not C", opts())
    code = HEADER + "int32_t nosig__entry(void **a) { (void)a; return 0; }\n"
    with pytest.raises(parpy.ParPyError, match="nosig__signature"):
        parpy.compile_string("nosig", code, opts())
    code = HEADER + ('const char badsig__signature[] = "x:q64";\n'
                     "int32_t badsig__entry(void **a) { (void)a; return 0; }\n")
    with pytest.raises(parpy.ParPyError, match="signature"):
        parpy.compile_string("badsig", code, opts())
