"""Bad input to the options (issue 11, "Also"): every bad argument is a
ParPyError whose message names it, never a bare OverflowError or
AttributeError."""
from __future__ import annotations

import numpy as np
import pytest

import parpy
from parpy import _core


@parpy.jit
def double(x, N):
    parpy.label("N")
    for i in range(N):
        x[i] = 2.0 * x[i]


@pytest.mark.parametrize("make, match", [
    (lambda: parpy.threads(2**64), "number of threads must be at most 2\\*\\*63 - 1"),
    (lambda: parpy.threads(2**63), "number of threads must be at most"),
    (lambda: parpy.threads(-(2**70)), "number of threads must be positive"),
    (lambda: parpy.LoopPar().tpb(2**64), "threads per block must be at most"),
    (lambda: parpy.CompileOptions(max_thread_blocks_per_cluster=2**64),
     "max_thread_blocks_per_cluster"),
])
def test_huge_numbers_are_value_errors(make, match):
    with pytest.raises(parpy.ParPyValueError, match=match):
        make()


def test_largest_thread_count_is_accepted():
    assert parpy.threads(2**63 - 1).nthreads == 2**63 - 1


class Junk(parpy.CompileOptions):
    """A subclass whose properties return nonsense (or fail)."""
    __slots__ = ("what",)

    def __init__(self, what):
        super().__init__()
        object.__setattr__(self, "what", what)

    def __getattribute__(self, name):
        if name == object.__getattribute__(self, "what"):
            bad = {"parallelize": 42, "includes": 7, "debug_print": _NoBool(),
                   "max_thread_blocks_per_cluster": "eight", "backend": None,
                   "_key": 12}.get(name)
            if name == "_key_cache":
                raise AttributeError("no key cache")
            if bad is None and name != "backend":
                raise AttributeError(f"junk has no {name}")
            return bad
        return super().__getattribute__(name)


class _NoBool:
    def __bool__(self):
        raise ValueError("neither true nor false")


@pytest.mark.parametrize("field", ["parallelize", "includes", "debug_print",
                                   "max_thread_blocks_per_cluster", "backend", "extra_flags"])
def test_options_subclass_returning_junk_is_named(backend, field):
    with pytest.raises(parpy.ParPyError) as info:
        double(np.ones(4), 4, opts=Junk(field))
    assert f"opts.{field}" in str(info.value) or field in str(info.value)
    assert isinstance(info.value, parpy.ParPyTypeError) or field == "backend"


def test_options_subclass_with_a_bad_key(backend):
    with pytest.raises(parpy.ParPyError, match="_key"):
        double(np.ones(4), 4, opts=Junk("_key"))


def test_options_subclass_in_print_compiled_and_compile_string(backend):
    with pytest.raises(parpy.ParPyTypeError, match="opts.parallelize"):
        parpy.print_compiled(double, [np.ones(4), 4], Junk("parallelize"))
    with pytest.raises(parpy.ParPyTypeError, match="opts.includes"):
        parpy.compile_string("f", "int x;", Junk("includes"))
    assert _core is not None
