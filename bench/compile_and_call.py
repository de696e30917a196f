"""How long ParPy takes to get axpy running, and to call it again.

    python3 bench/compile_and_call.py [--backend Cpu] [--repeat 5]

Measures, each in a fresh Python process with its own empty cache directory:
  cold   first call with an empty disk cache (front end, compiler, C build, load)
  disk   first call in a new process that finds the library on disk
and, in one process:
  hit    a call that finds the compiled function in memory (median of many),
         next to a call of an empty jitted-nothing baseline: a plain Python
         function call, for scale.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import parpy
t_import = time.perf_counter() - t0

@parpy.jit
def axpy(a, x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = a * x[i] + y[i]

backend = getattr(parpy.CompileBackend, sys.argv[1])
n = int(sys.argv[2])
x = np.ones(n, np.float32)
y = np.ones(n, np.float32)
opts = parpy.par({'N': parpy.threads(1024)})
opts.backend = backend
t0 = time.perf_counter()
axpy(2.0, x, y, n, opts=opts)
first = time.perf_counter() - t0
assert np.all(y == 3.0), "wrong result"

hits = []
for _ in range(2000):
    t0 = time.perf_counter()
    axpy(2.0, x, y, n, opts=opts)
    hits.append(time.perf_counter() - t0)

def plain(a, x, y, N):
    pass
base = []
for _ in range(2000):
    t0 = time.perf_counter()
    plain(2.0, x, y, n)
    base.append(time.perf_counter() - t0)
hits.sort(); base.sort()
print(json.dumps({"import": t_import, "first": first, "hit": hits[len(hits) // 2],
                  "plain": base[len(base) // 2]}))
"""


def run_child(workdir: str, backend: str, n: int) -> dict:
    # The child is a file: ParPy reads a function's source, which `-c` lacks.
    script = os.path.join(workdir, "child.py")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(CHILD)
    env = dict(os.environ, PARPY_CACHE_DIR=os.path.join(workdir, "cache"))
    out = subprocess.run([sys.executable, script, backend, str(n)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="Cpu")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000, help="elements (small: we time overheads)")
    args = ap.parse_args()
    cold, disk, hit, plain = [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            r1 = run_child(d, args.backend, args.n)
            r2 = run_child(d, args.backend, args.n)
            cold.append(r1["first"])
            disk.append(r2["first"])
            hit.append(r2["hit"])
            plain.append(r2["plain"])
    med = statistics.median
    print(f"axpy, {args.backend} backend, n={args.n}, median of {args.repeat} runs")
    print(f"  first call, empty disk cache   {med(cold) * 1e3:8.1f} ms")
    print(f"  first call, library on disk    {med(disk) * 1e3:8.1f} ms")
    print(f"  call, compiled code in memory  {med(hit) * 1e6:8.2f} us")
    print(f"  (plain Python call, for scale  {med(plain) * 1e6:8.2f} us)")


if __name__ == "__main__":
    main()
