"""CompileOptions: defaults, validation on assignment, copies and the
fingerprint (_key) that the in-memory cache uses."""
from __future__ import annotations


import pytest

import parpy
from parpy import CompileBackend, CompileOptions, ElemSize

DEFAULTS = {
    "parallelize": {},
    "verbose_backend_resolution": False,
    "debug_print": False,
    "debug": False,
    "write_output": False,
    "backend": CompileBackend.Auto,
    "use_cuda_thread_block_clusters": False,
    "max_thread_blocks_per_cluster": 8,
    "use_cuda_graphs": False,
    "force_int_size": None,
    "force_float_size": None,
    "includes": [],
    "libs": [],
    "extra_flags": [],
}

# A valid non-default value for every field.
OTHER = {
    "parallelize": {"N": parpy.threads(32)},
    "verbose_backend_resolution": True,
    "debug_print": True,
    "debug": True,
    "write_output": True,
    "backend": CompileBackend.Cpu,
    "use_cuda_thread_block_clusters": True,
    "max_thread_blocks_per_cluster": 16,
    "use_cuda_graphs": True,
    "force_int_size": ElemSize.I32,
    "force_float_size": ElemSize.F32,
    "includes": ["/opt/include"],
    "libs": ["/opt/lib"],
    "extra_flags": ["-O2"],
}


@pytest.mark.parametrize("field", list(DEFAULTS))
def test_defaults(field):
    value = getattr(CompileOptions(), field)
    if field == "parallelize":
        assert dict(value) == {}
    elif field == "debug":  # PARPY_DEBUG=1 turns it on for the process
        assert value is parpy._options._debug_default()
    else:
        assert value == DEFAULTS[field]


@pytest.mark.parametrize("field", list(OTHER))
def test_set_and_get(field):
    opts = CompileOptions()
    setattr(opts, field, OTHER[field])
    value = getattr(opts, field)
    assert value == OTHER[field]
    if isinstance(OTHER[field], (list, dict)):
        assert type(value) in (list, dict) or isinstance(value, type(OTHER[field]))
        assert value is not OTHER[field]  # stored as a copy


BAD_TYPES = [
    ("parallelize", [("N", parpy.threads(2))]),
    ("parallelize", {"N": 32}),
    ("parallelize", {1: parpy.threads(2)}),
    ("debug_print", 1),
    ("write_output", "yes"),
    ("verbose_backend_resolution", None),
    ("use_cuda_graphs", 0),
    ("use_cuda_thread_block_clusters", 1.0),
    ("backend", "Cpu"),
    ("backend", 3),
    ("max_thread_blocks_per_cluster", 8.0),
    ("max_thread_blocks_per_cluster", True),
    ("force_int_size", "I32"),
    ("force_float_size", 4),
    ("includes", "/usr/include"),
    ("libs", [1]),
    ("extra_flags", None),
]


@pytest.mark.parametrize("field, value", BAD_TYPES)
def test_wrong_type(field, value):
    opts = CompileOptions()
    with pytest.raises(TypeError):
        setattr(opts, field, value)
    assert opts == CompileOptions()  # unchanged


BAD_VALUES = [
    ("max_thread_blocks_per_cluster", 0),
    ("max_thread_blocks_per_cluster", 6),
    ("max_thread_blocks_per_cluster", -8),
    ("force_int_size", ElemSize.F32),
    ("force_int_size", ElemSize.Bool),
    ("force_float_size", ElemSize.I64),
    ("force_float_size", ElemSize.Bool),
]


@pytest.mark.parametrize("field, value", BAD_VALUES)
def test_wrong_value(field, value):
    opts = CompileOptions()
    with pytest.raises(parpy.ParPyValueError):
        setattr(opts, field, value)


def test_power_of_two_message():
    with pytest.raises(ValueError, match="power of two"):
        CompileOptions().max_thread_blocks_per_cluster = 12


def test_unknown_field():
    with pytest.raises(AttributeError):
        CompileOptions().parallelise = {}
    with pytest.raises(TypeError):
        CompileOptions(bogus=1)


def test_keyword_constructor():
    opts = CompileOptions(backend=CompileBackend.Cpu, debug_print=True)
    assert opts.backend is CompileBackend.Cpu and opts.debug_print


def test_stored_as_copies():
    par = {"N": parpy.threads(4)}
    flags = ["-O1"]
    opts = CompileOptions()
    opts.parallelize = par
    opts.extra_flags = flags
    par["M"] = parpy.threads(8)
    flags.append("-g")
    assert dict(opts.parallelize) == {"N": parpy.threads(4)}
    assert opts.extra_flags == ["-O1"]


def test_copy_and_eq():
    opts = parpy.par({"N": parpy.threads(4)})
    opts.backend = CompileBackend.Cpu
    c = opts.copy()
    assert c == opts and c is not opts
    c.debug_print = True
    assert c != opts
    assert not opts.debug_print
    assert CompileOptions() == CompileOptions()


def test_repr():
    r = repr(parpy.par({"N": parpy.threads(4)}))
    assert r.startswith("CompileOptions(")
    assert "'N': threads(4)" in r and "backend=CompileBackend.Auto" in r


def test_key_is_cached_until_a_field_changes():
    opts = CompileOptions()
    k1 = opts._key
    assert isinstance(k1, bytes)
    assert opts._key is k1  # not recomputed
    opts.debug_print = True
    k2 = opts._key
    assert k2 != k1
    opts.debug_print = False
    assert opts._key == k1


@pytest.mark.parametrize("field", list(OTHER))
def test_key_covers_every_field(field):
    opts = CompileOptions()
    k = opts._key
    setattr(opts, field, OTHER[field])
    assert opts._key != k


def test_key_equal_options_equal_keys():
    a = parpy.par({"N": parpy.threads(4), "M": parpy.reduce()})
    b = parpy.par({"M": parpy.reduce(), "N": parpy.threads(4)})
    assert a._key == b._key


def test_key_includes_resolved_backend(monkeypatch):
    """Changing what Auto means (parpy.backend bumps a generation) changes the key."""
    from parpy import backend
    opts = CompileOptions()
    k = opts._key
    monkeypatch.setattr(backend, "_resolve_auto", lambda verbose: CompileBackend.Metal)
    parpy._options._backend_generation[0] += 1
    assert opts._key != k
    explicit = CompileOptions()
    explicit.backend = CompileBackend.Cpu
    assert explicit._key != k  # the field itself is part of the key too
    monkeypatch.undo()
    backend._reset()
    assert opts._key == k


def test_options_reach_the_compiler(backend):
    """A forced int size changes the generated code (needs the Cpu target)."""
    import numpy as np

    @parpy.jit
    def count(x, N):
        parpy.label("N")
        for i in range(N):
            x[i] = i

    opts = parpy.par({"N": parpy.threads(4)})
    opts.backend = backend
    code64 = parpy.print_compiled(count, [np.zeros(4, dtype=np.int64), 4], opts)
    opts.force_int_size = ElemSize.I32
    code32 = parpy.print_compiled(count, [np.zeros(4, dtype=np.int64), 4], opts)
    assert code64 != code32


def test_debug_print_goes_to_sys_stdout(backend, capsys):
    import numpy as np

    @parpy.jit
    def inc(x, N):
        parpy.label("N")
        for i in range(N):
            x[i] = x[i] + 1

    opts = parpy.par({"N": parpy.threads(2)})
    opts.backend = backend
    opts.debug_print = True
    x = np.zeros(4)
    inc(x, 4, opts=opts)
    out = capsys.readouterr().out
    assert "after resolve" in out and "inc" in out
    inc(x, 4, opts=opts)  # a cache hit compiles nothing, prints nothing
    assert capsys.readouterr().out == ""
    assert x.tolist() == [2.0] * 4


def test_verbose_backend_resolution(backend, capsys):
    import numpy as np

    @parpy.jit
    def inc(x):
        with parpy.gpu:
            x[0] = x[0] + 1

    opts = CompileOptions()
    opts.verbose_backend_resolution = True
    inc(np.zeros(1), opts=opts)
    out = capsys.readouterr().out
    assert "ParPy: backend Auto resolved to" in out


def test_copy_module_and_pickle():
    import copy
    import pickle

    opts = parpy.par({"N": parpy.threads(4)})
    for c in (copy.copy(opts), copy.deepcopy(opts), pickle.loads(pickle.dumps(opts))):
        assert c == opts
        c.parallelize = {"M": parpy.reduce()}
        assert dict(opts.parallelize) == {"N": parpy.threads(4)}
        assert c._key != opts._key
