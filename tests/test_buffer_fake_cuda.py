"""parpy.buffer on the Cuda backend without a GPU: the extension is built
again with tests/c/fake_cuda.c in place of src/runtime/cuda.c, and
tests/fake_cuda_checks.py runs against it in a fresh process (the real
extension stays loaded in this one).  The same paths run on a real GPU in
the tests of test_buffer.py marked `cuda`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CC = os.environ.get("CC", "cc")
# Under PARPY_SANITIZE (CI's second pass, with the sanitizers preloaded) the
# fake build is instrumented too, as the real one is.
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer", "-g"] if os.environ.get("PARPY_SANITIZE") else []


def compile_one(src: Path, obj: Path) -> str:
    # Warnings are the real build's business (setup.py); the fake's are ours.
    warn = ["-Wall", "-Wextra", "-Werror"] if src.name == "fake_cuda.c" else ["-w"]
    cmd = [CC, "-std=gnu11", "-O0", "-fPIC", "-fvisibility=hidden", *warn, *SANITIZE,
           f"-I{ROOT / 'src'}",
           f"-I{sysconfig.get_paths()['include']}", '-DPARPY_VERSION="0.2.0"', "-c", str(src),
           "-o", str(obj)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return "" if r.returncode == 0 else f"{' '.join(cmd)}\n{r.stderr}"


@pytest.fixture(scope="module")
def fake_parpy(tmp_path_factory) -> Path:
    """A copy of the parpy package whose _core uses the fake CUDA runtime."""
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler ({CC})")
    top = tmp_path_factory.mktemp("fake-cuda")
    pkg = top / "parpy"
    shutil.copytree(ROOT / "python" / "parpy", pkg, ignore=shutil.ignore_patterns("*.so",
                                                                                  "__pycache__"))
    sources = [p for p in sorted((ROOT / "src").rglob("*.c")) if p.name != "cuda.c" or
               p.parent.name != "runtime"] + [ROOT / "tests" / "c" / "fake_cuda.c"]
    objs = [top / f"{i}.o" for i in range(len(sources))]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        errors = [e for e in ex.map(compile_one, sources, objs) if e]
    assert not errors, errors[0]
    lib = pkg / f"_core{sysconfig.get_config_var('EXT_SUFFIX')}"
    r = subprocess.run([CC, "-shared", *SANITIZE, *map(str, objs), "-o", str(lib), "-ldl",
                        "-lm", "-pthread"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return top


@pytest.mark.slow
def test_cuda_buffers_on_a_fake_runtime(fake_parpy: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(fake_parpy), PARPY_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("FAKE_CUDA_FAIL", None)
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "fake_cuda_checks.py"),
                        str(fake_parpy)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.endswith("ok\n"), r.stdout + r.stderr
