#!/usr/bin/env python3
"""Differential fuzzer: random well-typed ParPy programs, interpreted vs compiled.

    python3 tools/fuzz.py --count 1000 --seed 1 --jobs 2 --out /tmp/fuzz-out
    python3 tools/fuzz.py --count 200 --ubsan             # generated C under UBSan
    python3 tools/fuzz.py --backend Cuda --count 2000     # on a machine with a GPU

Each program is a Python module (jitted kernel, helpers, a `make_args(seed)`
and a small runner) written to a work directory and run in a worker
subprocess: first in the interpreter (`kernel(*args, seq=True)`), then
compiled, with write-only outputs poisoned (NaN / 0xA5 bytes / True).  The
outcome is one of

    match      same dtypes, shapes and values (floats: see `compare`)
    mismatch   compiled and interpreted results differ
    rejected   compilation raised a ParPyError (allowed, counted)
    invalid    the interpreter itself raised (the program is not valid
               Python/NumPy for these inputs, e.g. an int out of a dtype's range)
    ub-cast    a mismatch in a program that converts an out-of-range float to
               an integer (NumPy warns "invalid value encountered in cast"):
               undefined territory, issue 9 item 9, counted separately
    error      the compiled call raised something that is not a ParPyError
    crash      the worker process died (signal) or hung past --timeout
    ubsan      (--ubsan) the compiled code printed an UBSan "runtime error"
    compiled   (--compile-only / --print-only) the code printed (and built)

Every program that is not match/rejected/invalid is copied to --out as a
standalone reproducer: `python3 REPRO.py [--backend Cuda] [--ubsan]` runs it
again and prints the outcome.  docs/fuzzing.md describes what is generated
and what is skipped (KNOWN_BUGS) and why.
"""
from __future__ import annotations

import argparse
import json
import sys

from fuzzlib.gen import Gen
from fuzzlib.known_bugs import KNOWN_BUGS
from fuzzlib.supervisor import Supervisor
from fuzzlib.worker import worker


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="index of the first program")
    ap.add_argument("--backend", default="Cpu",
                    help="a parpy.CompileBackend name: Cpu, Cuda, or a simulator of the "
                         "GPU (a name containing 'Cuda' gets programs valid on a GPU)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in the workers' environment (e.g. a simulator's switch)")
    ap.add_argument("--out", default="fuzz-out", help="directory for reproducers and summaries")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--ubsan", action="store_true", help="build with -fsanitize=undefined")
    ap.add_argument("--timeout", type=float, default=120, help="seconds before a program counts as hung")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="start no program after this many seconds (0: no limit); "
                         "the summary says how many ran")
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--compile-only", action="store_true",
                    help="only print each program's code and build it (nvcc -c for Cuda): "
                         "a check of the Cuda printer on a machine without a GPU")
    ap.add_argument("--print-only", action="store_true",
                    help="only print each program's code (print_compiled)")
    ap.add_argument("--enable", action="append", default=[], choices=sorted(KNOWN_BUGS),
                    help="generate a known-bug construct anyway")
    ap.add_argument("--no-exact", action="store_true",
                    help="compare floats with a tolerance even where they should match bit for bit")
    ap.add_argument("--keep-ubcast", action="store_true", help="save ub-cast programs too")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--inject", action="append", default=[], metavar="KIND@INDEX",
                    help="self-test: make program INDEX crash, hang or mismatch")
    ap.add_argument("--print", type=int, metavar="INDEX", help="print program INDEX and exit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if args.print is not None:
        skip = frozenset(set(KNOWN_BUGS) - set(args.enable))
        sys.stdout.write(Gen(args.seed, args.print, args.backend, skip).program())
        return 0
    import parpy
    if not hasattr(parpy.CompileBackend, args.backend):
        ap.error(f"no backend {args.backend!r}: parpy.CompileBackend has "
                 f"{[n for n in dir(parpy.CompileBackend) if not n.startswith('_')]}")
    s = Supervisor(args).run()
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
