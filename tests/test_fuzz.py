"""The differential fuzzer (tools/fuzz.py, tools/fuzzlib/): a short seeded run must find no
mismatch and no crash; the supervisor must notice a crash, a hang and a
mismatch when they happen; reproducers replay on their own."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "tools", "fuzz.py")
FAILURES = ("mismatch", "error", "crash", "ubsan", "generator")


def generator():
    """tools/fuzzlib/gen.py's Gen, the program generator."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        from fuzzlib.gen import Gen
    finally:
        sys.path.pop(0)
    return Gen


def fuzz(tmp_path, *args, timeout=600):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, FUZZ, "--out", str(out), "--quiet", *args],
                       capture_output=True, text=True, timeout=timeout)
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    return summary, out


def assert_clean(summary, out):
    counts = summary["counts"]
    bad = {k: counts[k] for k in FAILURES if counts.get(k)}
    saved = sorted(os.listdir(out))
    assert not bad, f"fuzzer failures {bad}; reproducers in {out}: {saved}"
    # most programs must run: a generator that only produces rejected or
    # invalid programs tests nothing
    assert counts.get("match", 0) >= 0.8 * summary["count"], counts


def test_short_seeded_run(tmp_path):
    summary, out = fuzz(tmp_path, "--count", "100", "--seed", "20261201", "--jobs", "2")
    assert_clean(summary, out)


@pytest.mark.slow
def test_longer_seeded_run(tmp_path):
    summary, out = fuzz(tmp_path, "--count", "200", "--seed", "7", "--start", "1000",
                        "--jobs", "2")
    assert_clean(summary, out)


@pytest.mark.slow
def test_seeded_run_under_ubsan(tmp_path):
    summary, out = fuzz(tmp_path, "--count", "40", "--seed", "3", "--jobs", "2", "--ubsan")
    assert_clean(summary, out)


def test_supervisor_reports_crash_hang_and_mismatch(tmp_path):
    summary, out = fuzz(tmp_path, "--count", "5", "--seed", "1", "--jobs", "1",
                        "--timeout", "20", "--inject", "crash@1", "--inject", "hang@2",
                        "--inject", "mismatch@3")
    counts = summary["counts"]
    assert counts.get("crash") == 2 and counts.get("mismatch") == 1, counts
    saved = sorted(f for f in os.listdir(out) if f.endswith(".py"))
    assert saved == ["crash_s1_1.py", "crash_s1_2.py", "mismatch_s1_3.py"], saved
    # the programs after the crash and the hang still ran
    assert sum(counts.values()) == 5, counts


def test_reproducer_replays_alone(tmp_path):
    """A saved program is a standalone script: it runs both sides and exits 0
    when they agree."""
    prog = tmp_path / "prog.py"
    p = subprocess.run([sys.executable, FUZZ, "--print", "0", "--seed", "1"],
                       capture_output=True, text=True, check=True)
    prog.write_text(p.stdout)
    r = subprocess.run([sys.executable, str(prog)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split()[0] in ("match", "rejected", "invalid"), r.stdout


def test_generator_is_deterministic():
    Gen = generator()
    a = Gen(9, 42).program()
    assert a == Gen(9, 42).program()
    assert a != Gen(9, 43).program()


def test_summary_file_and_time_budget(tmp_path):
    """-j workers take programs as they finish; the summary (also a JSON
    file in --out) counts outcomes per kind of block; a time budget stops
    starting programs."""
    summary, out = fuzz(tmp_path, "--count", "6", "--seed", "3", "-j", "2")
    assert summary["ran"] == 6 and sum(summary["counts"].values()) == 6, summary
    full = json.loads((out / "summary_cpu_s3_0.json").read_text())
    assert full["counts"] == summary["counts"]
    per_feature = sum(sum(c.values()) for c in full["by_feature"].values())
    assert per_feature >= 6, full["by_feature"]
    lines = (out / "results_cpu_s3_0.jsonl").read_text().splitlines()
    assert sorted(json.loads(ln)["index"] for ln in lines) == list(range(6))
    summary, _ = fuzz(tmp_path, "--count", "50", "--seed", "3", "-j", "1",
                      "--time-budget", "0.001")
    assert summary["ran"] < 50 and summary["stopped_by_time_budget"], summary


def test_cuda_programs_print(tmp_path):
    """Programs generated for Cuda (array elements only in parallel code or
    `with parpy.gpu:`) print without a GPU, and few are rejected."""
    summary, out = fuzz(tmp_path, "--count", "60", "--seed", "11", "-j", "2",
                        "--backend", "Cuda", "--print-only")
    counts = summary["counts"]
    assert not any(counts.get(k) for k in FAILURES), (counts, sorted(os.listdir(out)))
    assert counts.get("compiled", 0) >= 0.85 * 60, counts


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cuda_programs_compile_with_nvcc(tmp_path):
    summary, out = fuzz(tmp_path, "--count", "12", "--seed", "12", "-j", "2",
                        "--backend", "Cuda", "--compile-only", timeout=900)
    counts = summary["counts"]
    assert not any(counts.get(k) for k in FAILURES), (counts, sorted(os.listdir(out)))
    assert counts.get("compiled", 0) >= 9, counts


def test_with_block_is_never_empty():
    """Seed 77, program 950 had a `with parpy.gpu:` whose one statement
    (a reduction into a local) was not generated: a syntax error."""
    import ast
    Gen = generator()
    ast.parse(Gen(77, 950).program())
    for k in range(300):
        ast.parse(Gen(5, k, "Cuda").program())
