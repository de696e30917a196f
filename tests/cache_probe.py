"""Shared by the cache tests (test_cache_damage, test_cache_concurrency):
a compiler wrapper that logs and can be slowed down, the cache's libraries,
and subprocess probes (for what would crash, hang or need signals).

A probe script starts with `from cache_probe import *`, which gives it
parpy, numpy as np, _core, `cpu()` and the jitted `scale`."""
from __future__ import annotations

import os
import re
import stat  # noqa: F401 (for probes)
import subprocess
import sys
from pathlib import Path

import numpy as np  # noqa: F401 (for probes)

import parpy
from parpy import _core  # noqa: F401 (for probes)

__all__ = ["np", "os", "parpy", "stat", "_core", "cpu", "scale", "libraries", "fake_cc",
           "cc_runs", "run_probe", "probe_env", "plant"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY_LIB = re.compile(r"^[0-9a-f]{64}\.so$")



@parpy.jit
def scale(x, a, N):
    parpy.label("N")
    for i in range(N):
        x[i] = x[i] * a


def cpu(n=8):
    o = parpy.par({"N": parpy.threads(n)})
    o.backend = parpy.CompileBackend.Cpu
    return o


def fake_cc(where) -> str:
    """A `cc` wrapper: logs each run to cc.log beside it; with
    PARPY_TEST_CC_SLEEP=s it touches `started` (and writes its pid to
    cc.pid), then sleeps s seconds first; with PARPY_TEST_CC_AS_BUG=1 a
    build with -march=native fails like binutils 2.40 on AVX512-FP16; with
    PARPY_TEST_CC_LOSE=1 the first run removes its source (as a cleaner
    would) and fails."""
    where = Path(where)
    script = where / "fakecc"
    text = (f"""#!/bin/sh
echo "$$ $*" >> '{where}/cc.log'
if [ -n "$PARPY_TEST_CC_SLEEP" ]; then
  echo $$ > '{where}/cc.pid'; touch '{where}/started'; sleep "$PARPY_TEST_CC_SLEEP"
fi
if [ -n "$PARPY_TEST_CC_LOSE" ] && [ ! -e '{where}/lost' ]; then
  touch '{where}/lost'
  for a in "$@"; do case "$a" in *.c) rm -f "$a" ;; esac; done
  echo "cc1: fatal error: $a: No such file or directory"; exit 1
fi
if [ -n "$PARPY_TEST_CC_AS_BUG" ]; then
  for a in "$@"; do
    if [ "$a" = -march=native ]; then
      echo "/tmp/ccAbCdEf.s: Assembler messages:"
      echo "/tmp/ccAbCdEf.s:42: Error: unsupported masking for \\`vmovsh'"
      exit 1
    fi
  done
fi
exec cc "$@"
""")
    if not script.exists() or script.read_text() != text:  # its mtime is in the keys
        script.write_text(text)
        script.chmod(0o755)
    return str(script)


def cc_runs(where) -> int:
    log = Path(where) / "cc.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def libraries(cache) -> dict[str, Path]:
    """key -> path of every library in the cache directory."""
    cache = Path(cache)
    if not cache.is_dir():
        return {}
    return {f[:64]: cache / f for f in os.listdir(cache) if KEY_LIB.match(f)}


def plant(path, data: bytes) -> None:
    """Put `data` under `path` as a new file (never rewriting a file some
    process may have mapped: that crashes it, whatever parpy does)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".planting")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def probe_env(cache, env=None) -> dict:
    # The parpy this process imported (the in-place build, or CI's
    # sanitizer build), then what the environment had.
    paths = [str(Path(_core.__file__).resolve().parent.parent), str(HERE)]
    paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    e = dict(os.environ, PARPY_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join(paths))
    e.update(env or {})
    return e


def run_probe(tmp_path, code, cache=None, env=None, timeout=300):
    """Run `code` (a script) in a fresh Python with its own cache (or
    `cache`) and its own compiler wrapper unless env says otherwise."""
    tmp_path = Path(tmp_path)
    script = tmp_path / "probe.py"
    script.write_text(code)
    cache = cache or tmp_path / "cache"
    env = dict({"CC": fake_cc(tmp_path)}, **(env or {}))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=probe_env(cache, env), timeout=timeout, cwd=tmp_path)
