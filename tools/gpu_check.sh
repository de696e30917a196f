#!/usr/bin/env bash
# The GPU checks of issues 3 and 4, in one go, on a machine with an NVIDIA
# GPU (the lent device machine).  Logs go to $OUT (or ./gpu-logs).
#   tools/gpu_check.sh [tests|bench|all]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-logs}
mkdir -p "$out"
what=${1:-all}
export PYTHONUNBUFFERED=1 PARPY_CACHE_DIR=${PARPY_CACHE_DIR:-/tmp/parpy-gpu-cache}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee "$out/gpu.txt"
nvcc --version | tail -2 | tee -a "$out/gpu.txt"
python3 -m pip install -q --no-build-isolation -e . > "$out/install.log" 2>&1 || { tail -30 "$out/install.log"; exit 1; }
python3 -c "import parpy, parpy.backend as b; print('Auto ->', b.resolve(parpy.CompileBackend.Auto, True))"
jobs=$(( $(nproc) > 16 ? 16 : $(nproc) ))
if [ "$what" = tests ] || [ "$what" = all ]; then
  echo "== tests marked cuda"
  timeout 400 python3 -m pytest -q -rs -n "$jobs" -m cuda -p no:cacheprovider tests/ 2>&1 | tee "$out/cuda_marked.log" | tail -25
  echo "== examples (Auto picks Cuda here)"
  for e in examples/*.py; do timeout 120 python3 "$e" > "$out/example_$(basename "$e" .py).log" 2>&1 \
    && echo "ok   $e" || { echo "FAIL $e"; tail -5 "$out/example_$(basename "$e" .py).log"; }; done
  echo "== differential suite on Cuda"
  PARPY_TEST_BACKEND=Cuda timeout 500 python3 -m pytest -q -n "$jobs" -p no:cacheprovider \
    tests/test_diff_*.py 2>&1 | tee "$out/diff_cuda.log" | tail -40
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  echo "== call overhead"
  timeout 200 python3 bench/call_overhead.py 2>&1 | tee "$out/call_overhead.log" | tail -20
  echo "== reductions"
  timeout 300 python3 bench/reductions.py 2>&1 | tee "$out/reductions.log" | tail -20
fi
