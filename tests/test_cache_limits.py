"""Both caches are bounded (issue 11, item 7): a function keeps at most
PARPY_MAX_SPECIALIZATIONS libraries loaded (least recently used evicted and
unloaded), and the disk cache stays under PARPY_CACHE_SIZE (least recently
used libraries removed first)."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import parpy
from parpy import _core

from cache_probe import cpu, fake_cc, libraries, run_probe, scale


@pytest.fixture(autouse=True)
def _scalars_stay_specialised():
    """These tests make specialisations out of scalar values: keep every
    value its own specialisation (no run-time scalars, issue 14 item 6)."""
    from parpy import _core as core
    old = core._set_runtime_after(-1)
    yield
    core._set_runtime_after(old)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("PARPY_CACHE_DIR", str(d))
    monkeypatch.setenv("CC", fake_cc(tmp_path))
    _core._clear_memory_cache()
    return d


@pytest.fixture
def limit4():
    old = _core._set_max_specializations(4)
    yield 4
    _core._set_max_specializations(old)


def mapped_from(cache) -> set[int]:
    """Inodes of files under `cache` mapped into this process."""
    inodes = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith(str(cache)):
                inodes.add(int(parts[4]))
    return inodes


def usage() -> tuple[int, int]:
    """Mappings and resident memory (KiB) of this process."""
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    return maps, rss


def test_eviction_unloads_least_recently_used(own_cache, limit4):
    for a in range(1, 13):
        x = np.ones(8)
        scale(x, float(a), 8, opts=cpu())
        assert x.tolist() == [float(a)] * 8
        assert scale._cache_size() <= 4
        assert len(mapped_from(own_cache)) <= 4, "evicted libraries are unloaded"
    assert len(libraries(own_cache)) == 12  # the disk keeps them all
    # The most recent four are hits; an evicted one compiles again in
    # memory, but its library comes from the disk.
    compiles, loads = _core._stats()["compiles"], _core._stats()["loads"]
    for a in (9, 10, 11, 12):
        scale(np.ones(8), float(a), 8, opts=cpu())
    assert _core._stats()["compiles"] == compiles
    x = np.ones(8)
    scale(x, 1.0, 8, opts=cpu())
    assert x.tolist() == [1.0] * 8
    assert _core._stats()["compiles"] == compiles + 1
    assert _core._stats()["loads"] == loads + 1
    assert len(libraries(own_cache)) == 12


def test_hits_keep_an_entry_alive(own_cache, limit4):
    for a in range(1, 9):
        scale(np.ones(8), float(a), 8, opts=cpu())
        scale(np.ones(8), 1.0, 8, opts=cpu())  # used after each new one: never evicted
    compiles = _core._stats()["compiles"]
    scale(np.ones(8), 1.0, 8, opts=cpu())
    assert _core._stats()["compiles"] == compiles


def test_many_specialisations_of_one_library_stay_bounded(own_cache, limit4):
    """Options that do not change the code (an unused label) make new
    specialisations of one library: over 3,000 of them the table stays at
    the limit, the library stays loaded while an entry uses it, and the
    process's mappings and memory stay flat (bench/cache_growth.py runs
    20,000)."""
    def opts(k):
        o = parpy.par({"N": parpy.threads(8), f"unused{k}": parpy.threads(2)})
        o.backend = parpy.CompileBackend.Cpu
        return o

    for k in range(40):
        x = np.ones(8)
        scale(x, 2.0, 8, opts=opts(k))
        assert x.tolist() == [2.0] * 8
    maps, rss = usage()
    for k in range(40, 3000):
        scale(x, 2.0, 8, opts=opts(k))
    assert scale._cache_size() == 4
    assert len(libraries(own_cache)) == 1
    assert len(mapped_from(own_cache)) == 1
    maps2, rss2 = usage()
    assert maps2 <= maps + 8, "mappings stay bounded"
    if not os.environ.get("PARPY_SANITIZE"):  # ASan keeps freed memory in quarantine
        assert rss2 - rss < 16 * 1024, "memory stays bounded (KiB)"


def test_eviction_never_unloads_a_running_call(own_cache, limit4):
    """Calls on other threads (GIL released) while new specialisations
    evict theirs: each finishes on its own code."""
    stop = threading.Event()
    errors = []

    def caller(a):
        try:
            while not stop.is_set():
                x = np.ones(8)
                scale(x, a, 8, opts=cpu())
                assert x.tolist() == [a] * 8
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=caller, args=(float(a),)) for a in (100, 200)]
    for t in threads:
        t.start()
    for a in range(1, 10):
        scale(np.ones(8), float(a), 8, opts=cpu())
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors


def test_limit_must_be_positive():
    with pytest.raises(parpy.ParPyError, match="at least 1"):
        _core._set_max_specializations(0)


def test_limit_from_the_environment(tmp_path):
    out = run_probe(tmp_path, "from cache_probe import *\n"
                    "for a in range(5): scale(np.ones(8), float(a), 8, opts=cpu())\n"
                    "print(scale._cache_size())\n", env={"PARPY_MAX_SPECIALIZATIONS": "2"})
    assert out.stdout.strip() == "2", out.stdout + out.stderr


# ---- the disk cache's size limit ----

def test_disk_cache_size_limit_removes_least_recently_used(own_cache, monkeypatch):
    scale(np.ones(8), 1.0, 8, opts=cpu())
    (first, path), = libraries(own_cache).items()
    size = path.stat().st_size
    monkeypatch.setenv("PARPY_CACHE_SIZE", str(3 * size + size // 2))
    order = [first]
    for a in (2.0, 3.0, 4.0, 5.0):
        before = set(libraries(own_cache))
        scale(np.ones(8), a, 8, opts=cpu())
        order += [k for k in libraries(own_cache) if k not in before]
        if a == 3.0:
            # Use the first again (from the disk): it becomes the most recent.
            _core._clear_memory_cache()
            scale(np.ones(8), 1.0, 8, opts=cpu())
        assert len(libraries(own_cache)) <= 3
    assert set(libraries(own_cache)) == {first, order[-2], order[-1]}


@pytest.mark.parametrize("value, n", [("0", 6), ("1K", 1), ("1G", 6), ("junk", 6)])
def test_disk_cache_size_setting(own_cache, monkeypatch, value, n):
    monkeypatch.setenv("PARPY_CACHE_SIZE", value)
    for a in range(6):
        scale(np.ones(8), float(a), 8, opts=cpu())
    assert len(libraries(own_cache)) == n  # the one just built always stays
