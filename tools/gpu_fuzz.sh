#!/usr/bin/env bash
# The differential fuzzer at scale on a GPU machine (issue 9): 10,000 Cpu
# programs, then about 3,000 Cuda programs, 16 worker processes each, in
# about 6 minutes on 16 cores and one H200.  It installs nothing (when the
# extension is not built in python/parpy it is built there, in place).
#
#   bash tools/gpu_fuzz.sh OUT [CPU_COUNT] [CUDA_COUNT]
#
# OUT receives at most 8 plain files (what a device run brings back):
#   gpu_fuzz.log          everything printed, with both one-line summaries
#   summary_cpu.json      counts per outcome, per kind of block, top reasons
#   summary_cuda.json     the same for Cuda
#   fuzz_runs.tar.gz      reproducers (OUTCOME_sSEED_INDEX.py) and results_*.jsonl
# A phase stops starting programs when its time budget is spent (CPU_BUDGET,
# CUDA_BUDGET seconds); its summary then says how many ran ("ran").
set -uo pipefail
out=${1:?usage: bash tools/gpu_fuzz.sh OUT [CPU_COUNT] [CUDA_COUNT]}
ncpu=${2:-10000}
ncuda=${3:-3000}
jobs=${JOBS:-16}
seed=${SEED:-20261202}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/parpy-gpu-fuzz-XXXXXX)
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
log=$out/gpu_fuzz.log
exec > >(tee "$log") 2>&1

echo "== $(date -u) on $(nproc) cores; jobs=$jobs seed=$seed"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
python3 -c "import numpy; print('numpy', numpy.__version__)"
if ! python3 -c "import parpy._core" 2>/dev/null; then
  echo "== building the extension in place"
  python3 setup.py -q build_ext --inplace -j "$jobs" > "$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log"; exit 1; }
fi
python3 -c "import parpy; print('parpy from', parpy.__file__)"

phase() {  # name backend count budget
  local t0=$SECONDS
  [ "$3" -gt 0 ] || return 0
  echo "== $1: $3 programs, --backend $2, -j $jobs, time budget $4 s"
  timeout $(( $4 + 120 )) python3 tools/fuzz.py --backend "$2" --count "$3" --seed "$seed" \
    -j "$jobs" --timeout 60 --time-budget "$4" --out "$work/$1" --quiet
  echo "   ($1: exit status $?, $((SECONDS - t0)) s)"
  cp "$work/$1"/summary_*.json "$out/summary_$1.json" 2>/dev/null
}
phase cpu Cpu "$ncpu" "${CPU_BUDGET:-150}"
phase cuda Cuda "$ncuda" "${CUDA_BUDGET:-180}"

tar -czf "$out/fuzz_runs.tar.gz" -C "$work" cpu cuda 2>/dev/null
python3 - "$out" <<'EOF'
import json, os, sys
for name in ("cpu", "cuda"):
    p = os.path.join(sys.argv[1], f"summary_{name}.json")
    if not os.path.exists(p):
        print(f"{name}: no summary"); continue
    s = json.load(open(p))
    print(f"{name}: ran {s['ran']} of {s['count']} in {s['seconds']} s, "
          f"failures {s['failures']}: {s['counts']}")
    for r in s["reproducers"][:20]:
        print("   reproducer", r)
EOF
rm -rf "$work"
echo "== done $(date -u)"
