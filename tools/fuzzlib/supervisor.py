"""Supervisor: --jobs worker processes take the next program as soon as they
finish one (programs differ a lot in cost: a Cuda build takes seconds, an
invalid program milliseconds).  A worker that dies or hangs is replaced,
and the program it was running counts as a crash."""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

from .known_bugs import KNOWN_BUGS

# the command-line entry, which a worker process runs with --worker
ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz.py")

FAILURES = ("mismatch", "error", "crash", "ubsan", "generator")


class Worker:
    def __init__(self, sup, wid):
        self.sup, self.wid = sup, wid
        self.current = None    # index of the program it runs, once it said so
        self.sent = None       # index sent, not yet finished
        self.since = time.time()
        self.buf = b""         # bytes read from its stdout, not yet a whole line
        self.logpath = os.path.join(sup.work, f"worker_{wid}.log")
        cmd = [sys.executable, ENTRY, "--worker", json.dumps(sup.cfg)]
        if sup.args.nice:
            cmd = ["nice", "-n", str(sup.args.nice)] + cmd
        with open(self.logpath, "a") as log:
            self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=log, env=sup.env, text=True, bufsize=1)

    def lines(self):
        """The whole lines available now (read with os.read: a buffered
        readline could keep a second line in its buffer, where select()
        does not see it), or None at end of file."""
        data = os.read(self.p.stdout.fileno(), 1 << 16)
        if not data:
            return None
        self.buf += data
        *whole, self.buf = self.buf.split(b"\n")
        return [ln.decode() for ln in whole if ln.strip()]

    def send(self, index):
        self.sent, self.current, self.since = index, None, time.time()
        try:
            self.p.stdin.write(f"{index}\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass   # it died: its stdout's end of file reports it

    def close(self):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def log_tail(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()[-1500:]


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.skip = sorted(set(KNOWN_BUGS) - set(args.enable))
        self.work = tempfile.mkdtemp(prefix="parpy-fuzz-")
        self.env = dict(os.environ)
        self.env.update(dict(kv.split("=", 1) for kv in args.env))
        self.env.setdefault("PARPY_CACHE_DIR", os.path.join(self.work, "cache"))
        self.cfg = {"seed": args.seed, "backend": args.backend, "ubsan": args.ubsan,
                    "skip": self.skip, "work": self.work,
                    "inject": dict(x.split("@")[::-1] for x in args.inject),   # index -> kind
                    "exact": not args.no_exact,
                    "compile_only": "nvcc" if args.compile_only else
                                    "print" if args.print_only else None}
        os.makedirs(args.out, exist_ok=True)
        self.counts, self.by_feature, self.reasons = {}, {}, {}
        self.seconds = []
        self.tag = f"{args.backend.lower()}_s{args.seed}_{args.start}"
        self.results = open(os.path.join(args.out, f"results_{self.tag}.jsonl"), "w")
        self.todo = list(range(args.start + args.count - 1, args.start - 1, -1))   # a stack
        self.nworkers = 0

    def record(self, index, outcome, detail, features=(), seconds=None):
        a = self.args
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        for f in features or ["?"]:
            c = self.by_feature.setdefault(f, {})
            c[outcome] = c.get(outcome, 0) + 1
        if outcome in ("rejected", "invalid", "error", "generator", "crash"):
            # what the compiler rejects (or the interpreter refuses) most,
            # by the first line of the message without its names
            key = outcome + ": " + " ".join(w if "'" not in w else "'_'"
                                            for w in detail.splitlines()[0].split()[:14]) \
                if detail else outcome
            self.reasons[key] = self.reasons.get(key, 0) + 1
        if seconds is not None:
            self.seconds.append(seconds)
        self.results.write(json.dumps({"index": index, "outcome": outcome, "detail": detail,
                                       "features": list(features)}) + "\n")
        self.results.flush()
        saved = outcome in FAILURES or outcome == "ub-cast" and a.keep_ubcast
        if saved:
            src = os.path.join(self.work, f"prog_{index}.py")
            dst = os.path.join(a.out, f"{outcome}_s{a.seed}_{index}.py")
            if os.path.exists(src):
                with open(src) as f:
                    text = f.read()
                head = "".join(f"# {ln}\n" for ln in f"outcome: {outcome}: {detail}".splitlines())
                with open(dst, "w") as f:
                    f.write(head + text)
            if not a.quiet:
                print(f"[{index}] {outcome}: {detail}"[:3000], flush=True)
        for suffix in (".py", ".stderr"):
            p = os.path.join(self.work, f"prog_{index}{suffix}")
            if os.path.exists(p) and not saved:
                os.unlink(p)

    def spawn(self):
        self.nworkers += 1
        return Worker(self, self.nworkers)

    def feed(self, w, t0):
        """Give w its next program, or close it when none is left (or the
        time budget is spent)."""
        budget = self.args.time_budget
        if self.todo and not (budget and time.time() - t0 > budget):
            w.send(self.todo.pop())
        else:
            w.sent = w.current = None
            w.close()

    def run(self):
        a = self.args
        t0 = time.time()
        running = []
        for _ in range(max(1, min(a.jobs, a.count))):
            w = self.spawn()
            running.append(w)
            self.feed(w, t0)
        while running:
            fds = {w.p.stdout.fileno(): w for w in running}
            ready, _, _ = select.select(list(fds), [], [], 1.0)
            for fd in ready:
                w = fds[fd]
                lines = w.lines()
                if lines is None:
                    # the worker died: the program it was running crashed it
                    rc = w.p.wait()
                    running.remove(w)
                    if w.sent is not None:
                        self.record(w.sent, "crash", f"worker died with exit status {rc}\n"
                                    + w.log_tail())
                        nw = self.spawn()
                        running.append(nw)
                        self.feed(nw, t0)
                    continue
                for line in lines:
                    msg = json.loads(line)
                    if "start" in msg:
                        w.current, w.since = msg["start"], time.time()
                    else:
                        w.sent = w.current = None
                        self.record(msg["index"], msg["outcome"], msg["detail"],
                                    msg.get("features", []), msg.get("seconds"))
                        self.feed(w, t0)
            for w in list(running):
                if w.sent is not None and time.time() - w.since > a.timeout:
                    w.p.kill()
                    w.p.wait()
                    running.remove(w)
                    self.record(w.sent, "crash", f"hung for more than {a.timeout} s")
                    nw = self.spawn()
                    running.append(nw)
                    self.feed(nw, t0)
        return self.summary(t0)

    def summary(self, t0):
        a = self.args
        secs = sorted(self.seconds)
        ran = sum(self.counts.values())
        summary = {"seed": a.seed, "start": a.start, "count": a.count, "ran": ran,
                   "stopped_by_time_budget": ran < a.count,
                   "backend": a.backend, "ubsan": a.ubsan, "jobs": a.jobs,
                   "seconds": round(time.time() - t0, 1),
                   # CPU time of the workers and their compilers: what the
                   # run costs on an idle machine, whatever the load here
                   "cpu_seconds": round(cpu_seconds(), 1),
                   "seconds_per_program": {
                       "median": secs[len(secs) // 2] if secs else None,
                       "p90": secs[int(len(secs) * 0.9)] if secs else None,
                       "max": secs[-1] if secs else None},
                   "counts": dict(sorted(self.counts.items())),
                   "failures": sum(self.counts.get(k, 0) for k in FAILURES),
                   "skipped": self.skip}
        full = dict(summary)
        full["by_feature"] = {f: dict(sorted(c.items())) for f, c in sorted(self.by_feature.items())}
        full["top_reasons"] = dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])[:40])
        full["reproducers"] = sorted(f for f in os.listdir(a.out) if f.endswith(".py")
                                     and f"_s{a.seed}_" in f)
        with open(os.path.join(a.out, f"summary_{self.tag}.json"), "w") as f:
            json.dump(full, f, indent=1)
            f.write("\n")
        shutil.rmtree(self.work, ignore_errors=True)
        self.results.close()
        print(json.dumps(summary), flush=True)
        return summary


def cpu_seconds():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime
