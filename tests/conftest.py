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
