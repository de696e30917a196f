#!/usr/bin/env bash
# One device call's worth of GPU checks, each step under its own time limit,
# so that a lease of a few minutes answers as much as it can.  Logs go to
# $OUT (at most 8 files come back from the device tool).
#
#   bash tools/gpu_session.sh STEP...      steps run in the order given
#
# Steps (seconds are each step's limit; LIMIT_<step>=N changes one):
#   build      the extension in place (python/parpy), 16 jobs           120
#   wheels     pip install --no-deps .gpu-wheels/*.whl (the device has no
#              network: carry=[".gpu-wheels"] brings e.g. ml_dtypes 0.7)   60
#              The image's ml_dtypes 0.6 is no bfloat16 oracle (tests skip);
#              fetch 0.7 here with: python3 -m pip download ml_dtypes==0.7.0
#              --no-deps --only-binary=:all: --python-version 3.12
#              --platform manylinux_2_28_x86_64 -d .gpu-wheels
#   marked     every test marked cuda                                   180
#   diff       the differential and semantic suites on Cuda             240
#   fuzz       tools/fuzz.py on Cuda (FUZZ_CUDA programs, default 2000)  120
#   fuzzcpu    tools/fuzz.py on Cpu (FUZZ_CPU programs, default 10000)   200
#   bench      bench/gpu.py --quick                                      200
#   debug      the differential programs in debug mode (PARPY_DEBUG=1)   200
#   hist       bench/histogram.py (HIST_ARGS, default --quick), shared memory on and off 120
#   debugcost  bench/debug_cost.py on Cpu and Cuda                       120
#   sanitizer  tools/sanitize_check.py under compute-sanitizer's tools   150
#   tests=A,B  pytest on the named tests, on Cuda                        200
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-logs}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
export PARPY_CACHE_DIR=${PARPY_CACHE_DIR:-/tmp/parpy-gpu-cache}
jobs=$(( $(nproc) > 16 ? 16 : $(nproc) ))
log=$out/session.log
exec > >(tee -a "$log") 2>&1
t_start=$SECONDS

limit() { local v="LIMIT_$1"; echo "${!v:-$2}"; }
step() {  # name default-limit command...
  local name=$1 lim; lim=$(limit "$1" "$2"); shift 2
  local t0=$SECONDS
  echo "== $name (limit $lim s) at +$((SECONDS - t_start)) s"
  # SIGINT first: pytest then still prints which tests failed (a step that
  # ran out of time on 2026-12-02 left seven failures without names)
  timeout -s INT -k 15 "$lim" bash -c '"$@"' _ "$@"   # bash: steps may be functions
  echo "   ($name: exit status $?, $((SECONDS - t0)) s)"
}
pytest_cuda() {  # log-name args...
  local name=$1; shift
  PARPY_TEST_BACKEND=Cuda python3 -m pytest -v -rfEs --tb=short -n "$jobs" \
    -p no:cacheprovider --timeout 120 "$@" > "$out/$name.log" 2>&1
  local rc=$?
  # -v: each result is a line as it comes ("[gw3] FAILED tests/...")
  grep -E "^(FAILED|ERROR|SKIPPED)|\] (FAILED|ERROR) " "$out/$name.log" | sort -u | head -60
  tail -3 "$out/$name.log"
  return $rc
}
export out jobs
export -f pytest_cuda

echo "== $(date -u) on $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -1
for s in "$@"; do
  case $s in
    build) step build 120 bash -c "python3 setup.py -q build_ext --inplace -j $jobs > /tmp/build.log 2>&1 || tail -40 /tmp/build.log";;
    wheels) step wheels 60 bash -c 'python3 -m pip install -q --no-deps --no-index .gpu-wheels/*.whl 2>&1 | tail -3';;
    marked) step marked 180 pytest_cuda marked -m cuda tests/;;
    diff) step diff 240 pytest_cuda diff tests/test_diff_*.py tests/test_debug.py \
            tests/test_repr.py tests/test_gpu_split_if.py tests/compat;;
    fuzz) step fuzz 120 python3 tools/fuzz.py --backend Cuda --count "${FUZZ_CUDA:-2000}" \
            --seed "${SEED:-20261202}" --start "${FUZZ_START:-0}" -j "$jobs" --timeout 60 --time-budget $(( $(limit fuzz 120) - 25 )) \
            --out /tmp/fuzz-cuda --quiet;
          cp /tmp/fuzz-cuda/summary_*.json "$out/fuzz_cuda.json" 2>/dev/null
          tar -czf "$out/fuzz_cuda.tar.gz" -C /tmp fuzz-cuda 2>/dev/null;;
    fuzzcpu) step fuzzcpu 200 python3 tools/fuzz.py --backend Cpu --count "${FUZZ_CPU:-10000}" \
            --seed "${SEED:-20261202}" -j "$jobs" --timeout 60 --time-budget $(( $(limit fuzzcpu 200) - 25 )) \
            --out /tmp/fuzz-cpu --quiet;
          cp /tmp/fuzz-cpu/summary_*.json "$out/fuzz_cpu.json" 2>/dev/null
          tar -czf "$out/fuzz_cpu.tar.gz" -C /tmp fuzz-cpu 2>/dev/null;;
    bench) step bench 200 python3 bench/gpu.py --quick --out "$out" --tag h200;;
    debug) step debug 200 env PARPY_DEBUG=1 bash -c 'pytest_cuda debug tests/test_diff_programs.py \
            tests/test_diff_atomics.py tests/test_diff_reduce.py tests/test_diff_loops.py \
            tests/test_diff_slices.py tests/test_diff_local_arrays.py tests/test_debug.py \
            -k "not differential_programs_in_debug_mode"';;
    hist) step hist 120 bash -c "python3 bench/histogram.py ${HIST_ARGS---quick};
            PARPY_CUDA_SHARED_HISTOGRAMS=0 python3 bench/histogram.py ${HIST_ARGS---quick}";;
    debugcost) step debugcost 120 python3 bench/debug_cost.py --backends Cpu Cuda;;
    sanitizer) step sanitizer 150 bash -c 'for t in memcheck racecheck initcheck synccheck; do
            echo "-- compute-sanitizer --tool $t"; compute-sanitizer --tool $t python3 tools/sanitize_check.py 2>&1 | tail -4; done';;
    tests=*) t=${s#tests=}; step tests 200 pytest_cuda tests ${t//,/ };;
    *) echo "unknown step $s";;
  esac
done
echo "== done at +$((SECONDS - t_start)) s"
