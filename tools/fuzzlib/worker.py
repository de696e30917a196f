"""Worker: runs programs, one JSON line per program on stdout."""
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

from .gen import Gen
from .reproducer import INJECTED

UBSAN_FLAGS = ["-fsanitize=undefined,float-cast-overflow"]


def load(path, modname):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def wrong_interpreter(kernel):
    """The kernel, but its interpreted run changes one element afterwards
    (--inject mismatch: the comparison must notice)."""
    def run(*args, seq=False, opts=None):
        if not seq:
            return kernel(*args, opts=opts)
        kernel(*args, seq=True)
        a = next(x for x in args if isinstance(x, np.ndarray))
        a.reshape(-1)[0] = not a.reshape(-1)[0] if a.dtype.kind == "b" else a.reshape(-1)[0] + 1
    return run


def worker(cfg):
    """Runs the programs whose indices arrive on stdin, one a line, until
    stdin closes; reports {"start": k} before and the outcome after each."""
    out = sys.stdout
    sys.stdout = sys.stderr   # programs' prints never reach the protocol stream
    skip = frozenset(cfg["skip"])
    work = cfg["work"]
    inject = cfg.get("inject") or {}
    for line in sys.stdin:
        index = int(line)
        out.write(json.dumps({"start": index}) + "\n")
        out.flush()
        out.write(json.dumps(run_one(cfg, skip, work, inject, index)) + "\n")
        out.flush()


def compile_only(mod, backend, path, how):
    """--compile-only (a Cuda check without a GPU): print the program's
    code and build it with nvcc -c as the Cuda target would (sm_90, no
    fused multiply-add); --print-only stops after printing.  Outcomes:
    compiled / rejected / error."""
    import parpy
    opts = parpy.par(dict(mod.PAR))
    opts.backend = getattr(parpy.CompileBackend, backend)
    try:
        code = parpy.print_compiled(mod.kernel, mod.make_args(), opts)
    except parpy.ParPyError as e:
        return "rejected", f"{type(e).__name__}: {e}"
    except Exception as e:
        return "error", f"print_compiled raised {type(e).__name__}: {e}"
    if backend != "Cuda" or how != "nvcc":
        return "compiled", ""
    inc = os.path.join(os.path.dirname(parpy.__file__), "include")
    src = path[:-3] + ".cu"
    with open(src, "w") as f:
        f.write(code)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    r = subprocess.run(["nvcc", "-std=c++17", "-O3", "-arch=sm_90", "--fmad=false", "-c",
                        f"-I{inc}", src, "-o", path[:-3] + ".o"],
                       capture_output=True, text=True, env=env)
    for ext in (".cu", ".o"):
        if os.path.exists(path[:-3] + ext) and r.returncode == 0:
            os.unlink(path[:-3] + ext)
    if r.returncode != 0:
        return "error", "nvcc failed:\n" + (r.stdout + r.stderr)[-1500:]
    return "compiled", ""


def run_one(cfg, skip, work, inject, index):
    path = os.path.join(work, f"prog_{index}.py")
    t0 = time.time()
    try:
        src = Gen(cfg["seed"], index, cfg["backend"], skip).program()
    except Exception as e:
        return {"index": index, "outcome": "generator", "features": [],
                "detail": f"generator raised {type(e).__name__}: {e}"}
    errpath = path[:-3] + ".stderr"
    with open(path, "w") as f:
        f.write(src)
    if inject.get(str(index)) == "mismatch":
        with open(path, "w") as f:   # a program known to match, made wrong below
            f.write(INJECTED)
    if inject.get(str(index)) == "crash":
        os.abort()   # --inject: the supervisor must report a crash
    if inject.get(str(index)) == "hang":
        time.sleep(3600)
    fd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    os.dup2(fd, 2)
    os.close(fd)
    features = []
    try:
        mod = load(path, f"fuzzprog_{index}")
        features = list(getattr(mod, "FEATURES", []))
        if inject.get(str(index)) == "mismatch":
            mod.kernel = wrong_interpreter(mod.kernel)
        if cfg.get("compile_only"):
            outcome, detail = compile_only(mod, cfg["backend"], path, cfg["compile_only"])
        else:
            outcome, detail = mod.run(cfg["backend"], UBSAN_FLAGS if cfg["ubsan"] else [],
                                      exact=None if cfg["exact"] else False)
    except Exception as e:  # a generator bug: the program does not even load
        outcome, detail = "generator", f"{type(e).__name__}: {e}"
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    with open(errpath, errors="replace") as f:
        err = f.read()
    if cfg["ubsan"] and "runtime error:" in err and outcome in ("match", "mismatch", "ub-cast"):
        line = next(ln for ln in err.splitlines() if "runtime error:" in ln)
        outcome, detail = "ubsan", line.split("runtime error:", 1)[1].strip() + "; " + detail
    sys.modules.pop(f"fuzzprog_{index}", None)
    return {"index": index, "outcome": outcome, "detail": detail[:2000], "features": features,
            "seconds": round(time.time() - t0, 3)}
