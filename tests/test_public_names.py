"""Every public name of the API reference (the seed) and of DESIGN.md section 3
exists.  The list is written out here so that the test runs anywhere; where
the seed file is present (a checkout beside ../shared), the test also checks
that every name the seed mentions in code position is in the list."""
import os
import re

import pytest

import parpy

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "seed",
                    "parpy-api-reference.txt")

# parpy: the seed's functions, operators and types, plus DESIGN.md section 3.
TOP = ["jit", "external", "print_compiled", "compile_string", "threads", "reduce", "par",
       "clear_cache", "gpu", "label", "CompileOptions", "CompileBackend", "LoopPar", "ElemSize",
       "Target", "operators", "buffer", "backend", "types"]
OPTIONS_FIELDS = ["parallelize", "verbose_backend_resolution", "debug_print", "write_output",
                  "backend", "use_cuda_thread_block_clusters", "max_thread_blocks_per_cluster",
                  "use_cuda_graphs", "force_int_size", "force_float_size", "includes", "libs",
                  "extra_flags"]
BACKENDS = ["Auto", "Cuda", "Metal", "Cpu"]
LOOPPAR_METHODS = ["threads", "reduce", "tpb"]
ELEMSIZES = ["Bool", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "F16", "F32", "F64"]
ELEMSIZE_METHODS = ["size", "to_numpy", "to_torch", "to_ctype"]
TARGETS = ["Host", "Device"]
OPERATORS = ["sum", "prod", "max", "min", "abs", "atan2", "cos", "exp", "log", "sin", "sqrt",
             "tanh", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float16", "float32", "float64", "inf", "label", "gpu"]
BUFFER = ["sync", "empty", "empty_like", "zeros", "zeros_like", "from_array", "Buffer"]
BUFFER_METHODS = ["sync", "numpy", "torch", "reshape", "with_type"]
BACKEND_MODULE = ["is_enabled", "available", "backends"]
TYPES_MODULE = ["pointer"] + ELEMSIZES


def test_top_level_names():
    missing = [n for n in TOP if not hasattr(parpy, n)]
    assert not missing, missing


def test_types_and_their_members():
    opts = parpy.CompileOptions()
    assert [f for f in OPTIONS_FIELDS if not hasattr(opts, f)] == []
    assert [b for b in BACKENDS if not hasattr(parpy.CompileBackend, b)] == []
    assert [m for m in LOOPPAR_METHODS if not callable(getattr(parpy.LoopPar(), m, None))] == []
    assert [e for e in ELEMSIZES if not hasattr(parpy.ElemSize, e)] == []
    assert [m for m in ELEMSIZE_METHODS if not callable(getattr(parpy.ElemSize.F32, m, None))] == []
    assert [t for t in TARGETS if not hasattr(parpy.Target, t)] == []


@pytest.mark.parametrize("module,names", [
    ("operators", OPERATORS), ("buffer", BUFFER), ("backend", BACKEND_MODULE),
    ("types", TYPES_MODULE)])
def test_module_names(module, names):
    mod = getattr(parpy, module)
    assert [n for n in names if not hasattr(mod, n)] == []


def test_buffer_methods():
    assert [m for m in BUFFER_METHODS if not callable(getattr(parpy.buffer.Buffer, m, None))] == []


@pytest.mark.skipif(not os.path.exists(SEED), reason="the seed is not beside this checkout")
def test_every_name_the_seed_shows_is_listed():
    text = open(SEED).read()
    # Signatures and code: "name(" at the start of a line, and CompileBackend.X / Target.X.
    shown = set(re.findall(r"^(\w+)\(", text, re.M))
    shown |= set(re.findall(r"CompileBackend\.(\w+)", text))
    shown |= set(re.findall(r"Target\.(\w+)", text))
    known = set(TOP + OPTIONS_FIELDS + BACKENDS + LOOPPAR_METHODS + ELEMSIZES + ELEMSIZE_METHODS
                + TARGETS + OPERATORS + BUFFER + BUFFER_METHODS + BACKEND_MODULE + TYPES_MODULE)
    assert shown - known == set(), shown - known
