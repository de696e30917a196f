"""The differential fuzzer behind tools/fuzz.py (docs/fuzzing.md), one file a job:

    known_bugs.py   constructs of open bugs the generator avoids (--enable)
    dtypes.py       the type model: NumPy's result types, asked of NumPy
    model.py        what a program is made of: array arguments, scopes
    gen.py          Gen: one program of a seed and index, and its rendering
    exprs.py        Gen's expressions (operators, calls, casts, helpers)
    slices.py       elementwise slice expressions
    stmts.py        Gen's statements (locals, if, while, sequential for)
    blocks.py       Gen's blocks (parallel loops, slices, reductions, ...)
    reproducer.py   the runner embedded in every program (standalone replay)
    worker.py       a worker process: generates, runs and judges programs
    supervisor.py   the workers, their crashes and hangs, the summary
"""
