"""What the compile options do (their validation is in test_options.py):
debug_print, write_output, verbose_backend_resolution, includes and
extra_flags."""
import os
import re

import numpy as np
import pytest

import parpy
from parpy import CompileBackend


@parpy.jit
def scale(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = 2.0 * x[i]


def cpu_opts(**fields) -> parpy.CompileOptions:
    opts = parpy.par({'N': parpy.threads(8)})
    opts.backend = CompileBackend.Cpu
    for k, v in fields.items():
        setattr(opts, k, v)
    return opts


def test_debug_print_shows_each_pass_with_timings(capsys):
    x = np.arange(5.0)
    y = np.zeros(5)
    scale(x, y, 5, opts=cpu_opts(debug_print=True))
    out = capsys.readouterr().out
    passes = re.findall(r"===== after (\w+) \((\d+) us\) =====", out)
    names = [p for p, _ in passes]
    assert names == ["resolve", "inline", "webs", "specialise", "types", "slices", "parallel",
                     "bfloat16", "races", "temps", "scopes"]
    times = [int(t) for _, t in passes]
    assert times == sorted(times), "timings are measured from the start of the compilation"
    assert "===== generated C code" in out
    assert "def scale(x: float64[5], y: float64[5], N: int):" in out
    np.testing.assert_array_equal(y, 2.0 * x)


def test_no_debug_output_by_default(capsys):
    x = np.arange(6.0)
    scale(x, np.zeros(6), 6, opts=cpu_opts())
    assert "=====" not in capsys.readouterr().out


BROKEN = """
#include "parpy_cpu.h"
int32_t broken(void) { return this_does_not_exist; }
"""


def test_write_output_keeps_failed_code_and_names_it():
    with pytest.raises(parpy.ParPyRuntimeError) as info:
        parpy.compile_string("broken", BROKEN, cpu_opts(write_output=True))
    msg = str(info.value)
    assert "this_does_not_exist" in msg, "the compiler's message is shown"
    path = re.search(r"The code was kept in (\S+)", msg)
    assert path, msg
    with open(path.group(1)) as f:
        assert "this_does_not_exist" in f.read()
    os.remove(path.group(1))


def test_failed_code_is_not_kept_without_write_output():
    with pytest.raises(parpy.ParPyRuntimeError) as info:
        parpy.compile_string("broken", BROKEN + "\n/* again */", cpu_opts())
    assert "this_does_not_exist" in str(info.value)
    assert "kept in" not in str(info.value)


def test_verbose_backend_resolution_says_why(capsys):
    parpy.backend._reset()
    try:
        chosen = parpy.backend.resolve(CompileBackend.Auto, True)
    finally:
        parpy.backend._reset()
    out = capsys.readouterr().out
    for b in parpy.backend.backends():
        if b is not chosen:
            assert re.search(rf"backend {b.name} is not enabled: \S", out), out
    assert chosen.name in out


def test_includes_and_extra_flags_reach_the_compiler(tmp_path):
    (tmp_path / "answer.h").write_text("#define ANSWER_BASE 40\n")
    code = parpy.print_compiled(scale, [np.zeros(3), np.zeros(3), 3], cpu_opts())
    code = code.replace('#include "parpy_cpu.h"',
                        '#include "parpy_cpu.h"\n#include "answer.h"')
    code = code.replace("2.0 * x[i]", "(ANSWER_BASE + EXTRA) * x[i]")
    opts = cpu_opts(includes=[str(tmp_path)], extra_flags=["-DEXTRA=2"])
    f = parpy.compile_string("scale", code, opts)
    x = np.arange(3.0)
    y = np.zeros(3)
    f(x, y, 3)
    np.testing.assert_array_equal(y, 42.0 * x)
