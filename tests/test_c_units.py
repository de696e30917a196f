"""Builds and runs the C unit tests of tests/c: plain C programs over the
core's files, no Python involved.  Each test names the sources it links in a
`// SOURCES:` line.  PARPY_SANITIZE=1 builds them with AddressSanitizer and
UndefinedBehaviorSanitizer, as the extension is built then."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = sorted((ROOT / "tests" / "c").glob("test_*.c"))
CC = os.environ.get("CC", "cc")

FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers", "-g"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer"]


def sources_of(test: Path) -> list[str]:
    match = re.search(r"^// SOURCES:(.*)$", test.read_text(), re.M)
    assert match, f"{test.name} has no '// SOURCES:' line"
    found = []
    for pattern in match.group(1).split():
        files = sorted(ROOT.glob(pattern))
        assert files, f"{test.name}: {pattern} matches no file"
        found += [str(f) for f in files]
    return found


@pytest.mark.skipif(shutil.which(CC) is None, reason=f"no C compiler ({CC})")
@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.stem)
def test_c_unit(test: Path, tmp_path: Path) -> None:
    exe = tmp_path / test.stem
    flags = FLAGS + (SANITIZE if os.environ.get("PARPY_SANITIZE") else ["-O1"])
    cmd = [CC, *flags, f"-I{ROOT / 'src'}", f"-I{ROOT / 'tests' / 'c'}", str(test),
           *sources_of(test), "-o", str(exe), "-ldl", "-lm", "-pthread"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, f"building {test.name} failed:\n{' '.join(cmd)}\n" \
                                  f"{build.stdout}{build.stderr}"
    # A scratch cache directory; the compilers the tests start must not see
    # a sanitizer runtime preloaded for Python.
    env = dict(os.environ, TMPDIR=str(tmp_path), PARPY_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=300)
    assert run.returncode == 0, f"{test.name} failed (status {run.returncode}):\n" \
                                f"{run.stdout}{run.stderr}"
