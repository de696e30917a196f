"""Session-wide test setup: a private disk cache and the default backend.

The disk cache goes to a fresh temporary directory (PARPY_CACHE_DIR), set
before parpy is imported, so that tests never touch the user's cache and
test_cache can empty it freely.  Differential-test fixtures live in
harness.py.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_CACHE_DIR = tempfile.mkdtemp(prefix="parpy-test-cache-")
os.environ["PARPY_CACHE_DIR"] = os.path.join(_CACHE_DIR, "cache")
# Small test inputs still run the Cpu backend's OpenMP code paths (by default
# nests under 32,768 iterations run serially: docs/internals.md).
os.environ.setdefault("PARPY_CPU_PARALLEL_MIN_WORK", "0")

import parpy  # noqa: E402  (after PARPY_CACHE_DIR is set)


@pytest.fixture(scope="session", autouse=True)
def _parpy_cache_dir():
    """The session's cache directory, removed at the end."""
    yield os.environ["PARPY_CACHE_DIR"]
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


@pytest.fixture
def backend() -> parpy.CompileBackend:
    """The backend end-to-end tests compile for."""
    return parpy.CompileBackend.Cpu


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under PARPY_TEST_BACKEND=Metal, a test failing only because the Metal
    backend refuses its program by design (float64, which Metal does not
    have; harness.METAL_REFUSALS) is reported as skipped, with the reason."""
    outcome = yield
    if call.when != "call" or call.excinfo is None:
        return
    sim = "does not simulate thread-block clusters"
    if (os.environ.get("PARPY_CUDA_SIM", "0") not in ("", "0") and
            call.excinfo.errisinstance(parpy.errors.ParPyError) and sim in str(call.excinfo.value)):
        # The CUDA simulator runs one block at a time (docs/gpu.md).
        rep = outcome.get_result()
        rep.outcome = "skipped"
        rep.longrepr = (str(item.path), item.location[1] or 0,
                        "Skipped: the CUDA simulator " + sim)
        return
    if os.environ.get("PARPY_TEST_BACKEND") != "Metal":
        return
    from harness import METAL_REFUSALS
    message = str(call.excinfo.value)
    for refusal in METAL_REFUSALS:
        if call.excinfo.errisinstance(parpy.errors.ParPyError) and refusal in message:
            rep = outcome.get_result()
            rep.outcome = "skipped"
            rep.longrepr = (str(item.path), item.location[1] or 0,
                            f"Skipped: refused by the Metal backend: {refusal}")


def pytest_collection_modifyitems(config, items):
    """PARPY_TEST_SAMPLE=k runs every k-th test, chosen by a hash of the test's
    id (stable across runs and machines, spread over every file and
    parameter; k:r takes the remainder r instead of 0): CI runs a sample of the differential suite on the simulated
    Metal backend, whose whole run is too long for it (docs/metal.md)."""
    sample = os.environ.get("PARPY_TEST_SAMPLE")  # "k", or "k:r" for remainder r
    if not sample:
        return
    import zlib
    k, _, r = sample.partition(":")
    k, r = int(k), int(r or 0)
    keep = [it for it in items if zlib.crc32(it.nodeid.encode()) % k == r]
    kept = set(id(it) for it in keep)
    config.hook.pytest_deselected(items=[it for it in items if id(it) not in kept])
    items[:] = keep
