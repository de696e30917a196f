"""The in-memory cache (per jitted function) and the disk cache."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import parpy
from parpy import _core


@pytest.fixture(autouse=True)
def _scalars_stay_specialised():
    """These tests make specialisations out of scalar values: keep every
    value its own specialisation (no run-time scalars, issue 14 item 6)."""
    from parpy import _core as core
    old = core._set_runtime_after(-1)
    yield
    core._set_runtime_after(old)


def compiles() -> int:
    return _core._stats()["compiles"]


def libraries() -> dict[str, float]:
    d = _core.cache_dir()
    return {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)
            if f.endswith(".so")}


def opts(backend, n=8):
    o = parpy.par({"N": parpy.threads(n)})
    o.backend = backend
    return o


def make_scale():
    """A fresh jitted function (its own, empty in-memory cache)."""
    @parpy.jit
    def scale(x, a, N):
        parpy.label("N")
        for i in range(N):
            x[i] = x[i] * a

    return scale


C_CODE = """#include <stdint.h>
const char cached__signature[] = "x:f64[2]";
int32_t cached__entry(void **args) { ((double *)args[0])[0] += 1.0; return 0; }
"""


# ---- cache directory ----

def test_cache_dir_honours_env(_parpy_cache_dir):
    d = _core.cache_dir()
    assert os.path.realpath(d) == os.path.realpath(_parpy_cache_dir)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


def test_cache_dir_follows_env_changes(monkeypatch, tmp_path):
    target = tmp_path / "elsewhere"
    monkeypatch.setenv("PARPY_CACHE_DIR", str(target))
    assert os.path.realpath(_core.cache_dir()) == os.path.realpath(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700


def test_cache_dir_refused_when_others_can_write(monkeypatch, tmp_path):
    target = tmp_path / "open"
    target.mkdir()
    os.chmod(target, 0o777)
    monkeypatch.setenv("PARPY_CACHE_DIR", str(target))
    with pytest.raises(parpy.ParPyError):
        _core.cache_dir()


# ---- disk cache, through compile_string (no compiler needed) ----

def test_compile_string_reuses_the_disk_cache(backend):
    o = opts(backend)
    f = parpy.compile_string("cached", C_CODE, o)
    before = libraries()
    assert before
    g = parpy.compile_string("cached", C_CODE, o)
    assert libraries() == before  # found on disk, not rebuilt
    x = np.zeros(2)
    f(x)
    g(x)
    assert x[0] == 2.0


def test_clear_cache_empties_the_disk(backend):
    parpy.compile_string("cached", C_CODE, opts(backend))
    assert libraries()
    parpy.clear_cache()
    assert libraries() == {}
    # Functions loaded before stay callable.
    f = parpy.compile_string("cached", C_CODE, opts(backend))
    x = np.zeros(2)
    f(x)
    assert x[0] == 1.0


# ---- in-memory cache of jitted functions (need the Cpu target) ----

def test_hit_does_not_recompile(backend):
    scale = make_scale()
    x = np.ones(8)
    o = opts(backend)
    n0 = compiles()
    scale(x, 2.0, 8, opts=o)
    assert compiles() == n0 + 1
    hits = _core._stats()["hits"]
    scale(x, 2.0, 8, opts=o)
    scale(np.ones(8), 2.0, 8, opts=o)  # other data, same shape: same code
    assert compiles() == n0 + 1
    assert _core._stats()["hits"] == hits + 2
    assert scale._cache_size() == 1
    assert x.tolist() == [4.0] * 8


def test_equal_options_objects_share_entries(backend):
    scale = make_scale()
    x = np.ones(8)
    scale(x, 2.0, 8, opts=opts(backend))
    n = compiles()
    scale(x, 2.0, 8, opts=opts(backend))  # a new but equal CompileOptions
    assert compiles() == n


def test_specialisations_are_separate(backend):
    scale = make_scale()
    o = opts(backend)
    n0 = compiles()
    scale(np.ones(8), 2.0, 8, opts=o)
    scale(np.ones(8), 3.0, 8, opts=o)           # scalar value
    scale(np.ones(4), 2.0, 4, opts=o)           # shape and scalar
    scale(np.ones(8, np.float32), 2.0, 8, opts=o)  # dtype
    scale(np.ones(8), 2.0, 8, opts=opts(backend, 4))  # options
    assert compiles() == n0 + 5
    assert scale._cache_size() == 5
    x = np.ones(8)
    scale(x, 3.0, 8, opts=o)
    assert compiles() == n0 + 5
    assert x.tolist() == [3.0] * 8


def test_option_change_invalidates(backend):
    scale = make_scale()
    o = opts(backend)
    scale(np.ones(8), 2.0, 8, opts=o)
    n = compiles()
    o.parallelize = {"N": parpy.threads(2)}
    scale(np.ones(8), 2.0, 8, opts=o)
    assert compiles() == n + 1


def test_disk_cache_survives_memory_clear(backend):
    scale = make_scale()
    o = opts(backend)
    scale(np.ones(8), 2.0, 8, opts=o)
    before = libraries()
    _core._clear_memory_cache()
    assert scale._cache_size() == 0
    n = compiles()
    x = np.ones(8)
    scale(x, 2.0, 8, opts=o)
    assert compiles() == n + 1  # compiled again in memory ...
    assert libraries() == before  # ... but the library came from the disk
    assert x.tolist() == [2.0] * 8


def test_clear_cache_empties_both(backend):
    scale = make_scale()
    o = opts(backend)
    scale(np.ones(8), 2.0, 8, opts=o)
    assert scale._cache_size() == 1 and libraries()
    parpy.clear_cache()
    assert scale._cache_size() == 0
    assert libraries() == {}
    n = compiles()
    scale(np.ones(8), 2.0, 8, opts=o)
    assert compiles() == n + 1
    assert libraries()


def test_seq_does_not_compile(backend):
    scale = make_scale()
    n = compiles()
    x = np.ones(3)
    scale(x, 2.0, 3, seq=True)
    assert compiles() == n and scale._cache_size() == 0
    assert x.tolist() == [2.0] * 3


def test_many_specialisations(backend):
    """The table grows past its first size and keeps every entry."""
    scale = make_scale()
    o = opts(backend)
    for n in range(1, 21):
        scale(np.ones(n), 2.0, n, opts=o)
    assert scale._cache_size() == 20
    c = compiles()
    for n in range(1, 21):
        x = np.ones(n)
        scale(x, 2.0, n, opts=o)
        assert x[-1] == 2.0
    assert compiles() == c
