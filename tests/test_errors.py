"""Error tests: every rejected construct raises the right ParPy exception, with
a message naming the construct and the absolute position of the offending line.

Each program is a nested, undecorated function; the offending line carries the
comment `# ERR` (a few deliberately ambiguous cases tag more than one
acceptable line).  `raises_at` decorates it with parpy.jit and, unless the
error must come at decoration, calls it, then checks the exception type (also
an instance of the built-in kind), a regex on `exc.message`, and `exc.file` /
`exc.line` / the source excerpt in `str(exc)`.
"""
import contextlib
import linecache
import os
import re

import numpy as np
import pytest

import parpy
from harness import marked_lines, options, source_file

BUILTIN_KIND = {
    parpy.ParPyRuntimeError: RuntimeError,
    parpy.ParPyTypeError: TypeError,
    parpy.ParPyNameError: NameError,
    parpy.ParPyValueError: ValueError,
}

NOT_A_GPU_CONTEXT = contextlib.nullcontext()

N = 10


def arrays(n=N, dtype=np.float64):
    return np.zeros(n, dtype), np.zeros(n, dtype)


PAR = {'N': parpy.threads(4)}


def raises_at(kind, pattern, fn, args=(), par=PAR, *, at="either", where=None,
              positioned=True):
    """Assert that jitting/calling `fn` raises `kind` matching `pattern`.

    at:         "decorate" (parpy.jit itself must raise), "call" (decoration
                must succeed, the first call raises) or "either".
    where:      the function whose source holds the `# ERR` tag (default fn).
    positioned: check exc.file/line against the tagged line(s)."""
    expected_lines = marked_lines(where or fn) if positioned else None
    if at == "decorate":
        with pytest.raises(kind) as info:
            parpy.jit(fn)
    elif at == "call":
        jitted = parpy.jit(fn)
        with pytest.raises(kind) as info:
            jitted(*args, opts=options(par))
    else:
        with pytest.raises(kind) as info:
            jitted = parpy.jit(fn)
            jitted(*args, opts=options(par))
    return check_exception(info.value, kind, pattern, where or fn, expected_lines)


def check_exception(exc, kind, pattern, where, expected_lines):
    """The checks of raises_at on a caught exception (expected_lines None: no position)."""
    assert isinstance(exc, parpy.ParPyError)
    assert isinstance(exc, BUILTIN_KIND[kind])
    assert isinstance(exc.message, str)
    assert re.search(pattern, exc.message, re.IGNORECASE | re.DOTALL), \
        f"message {exc.message!r} does not match {pattern!r}"
    if expected_lines is not None:
        assert exc.file is not None and os.path.realpath(exc.file) == source_file(where)
        assert exc.line in expected_lines, \
            f"error reported on line {exc.line}, expected one of {expected_lines}"
        assert isinstance(exc.column, int) and exc.column >= 0
        text = linecache.getline(source_file(where), exc.line).strip()
        assert text in str(exc), "str(exc) should show the offending source line"
    return exc


def test_exception_hierarchy():
    for kind, builtin in BUILTIN_KIND.items():
        assert issubclass(kind, parpy.ParPyError)
        assert issubclass(kind, builtin)


# ---------------------------------------------------------------------------
# Unsupported statements (found while parsing: raised by parpy.jit itself)

def test_break():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            if x[i] > 0.0:
                break  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bbreak\b", f, at="decorate")


def test_continue():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            if x[i] > 0.0:
                continue  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bcontinue\b", f, at="decorate")


def test_del():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t = x[i]
            del t  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bdel\b", f, at="decorate")


def test_assert():
    def f(x, y, N):
        assert N > 0  # ERR
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bassert\b", f, at="decorate")


def test_raise():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            if x[i] < 0.0:
                raise ValueError("negative")  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\braise\b", f, at="decorate")


def test_try():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            try:  # ERR
                y[i] = x[i]
            except IndexError:
                y[i] = 0.0
    raises_at(parpy.ParPyRuntimeError, r"\btry\b", f, at="decorate")


def test_import():
    def f(x, y, N):
        import math  # ERR
        parpy.label('N')
        for i in range(N):
            y[i] = math.exp(x[i])
    raises_at(parpy.ParPyRuntimeError, r"\bimport\b", f, at="decorate")


def test_global():
    def f(x, y, N):
        global COUNTER  # ERR
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bglobal\b", f, at="decorate")


def test_nested_def():
    def f(x, y, N):
        def twice(v):  # ERR
            return v * 2.0
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"function|\bdef\b", f, at="decorate")


def test_class_definition():
    def f(x, y, N):
        class Point:  # ERR
            pass
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bclass\b", f, at="decorate")


def test_annotated_assignment():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t: float = x[i]  # ERR
            y[i] = t
    raises_at(parpy.ParPyRuntimeError, r"annotat", f, at="decorate")


def test_for_else():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):  # ERR
            y[i] = x[i]
        else:
            y[0] = 1.0
    raises_at(parpy.ParPyRuntimeError, r"\bfor\b.*\belse\b|\belse\b.*\bfor\b", f,
              at="decorate")


def test_while_else():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            k = 0
            while k < 3:  # ERR
                k += 1
            else:
                y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bwhile\b.*\belse\b|\belse\b.*\bwhile\b", f,
              at="decorate")


def test_return_without_value():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
        return  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\breturn\b", f, at="decorate")


def test_nested_tuple_assignment():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            a, (b, c) = x[i], (y[i], x[i])  # ERR
            y[i] = a + b + c
    raises_at(parpy.ParPyRuntimeError, r"tuple assignment.*nested", f, at="decorate")


def test_tuple_assignment_of_wrong_length():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            a, b = x[i], y[i], 1.0  # ERR
            y[i] = a + b
    raises_at(parpy.ParPyValueError, r"unpack 3 values into 2", f, at="decorate")


def test_tuple_assignment_from_a_call():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            a, b = max(x[i], y[i])  # ERR
            y[i] = a + b
    raises_at(parpy.ParPyRuntimeError, r"tuple of values.*divmod", f, at="decorate")


def test_with_other_than_gpu():
    def f(x, y, N):
        with NOT_A_GPU_CONTEXT:  # ERR
            y[0] = x[0]
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bwith\b.*gpu|gpu.*\bwith\b", f, arrays() + (N,))


def test_with_as():
    def f(x, y, N):
        with parpy.gpu as g:  # ERR
            y[0] = x[0]
    raises_at(parpy.ParPyRuntimeError, r"\bas\b", f, at="decorate")


# ---------------------------------------------------------------------------
# Unsupported expressions

def test_lambda():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = (lambda v: v + 1.0)(x[i])  # ERR
    raises_at(parpy.ParPyRuntimeError, r"lambda", f, at="decorate")


def test_list_display():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = [x[i], 2.0][0]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\blist", f, at="decorate")


def test_dict_display():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = {"a": x[i]}["a"]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bdict", f, at="decorate")


def test_set_display():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = len({x[i], 2.0})  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bset\b", f, at="decorate")


def test_comprehension():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = sum([x[j] for j in range(N)])  # ERR
    raises_at(parpy.ParPyRuntimeError, r"comprehension", f, at="decorate")


def test_f_string():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            s = f"{i}"  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"f-?string|format", f, at="decorate")


def test_is_operator():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] is x[0]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bis\b", f, at="decorate")


def test_in_operator():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] in x  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bin\b", f, at="decorate")


def test_matmul_of_matrices():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x @ x  # ERR
    raises_at(parpy.ParPyValueError, r"@.*1-D slices.*\[10, 10\]", f,
              (np.zeros((N, N)), np.zeros(N), N), at="call")


def test_unsupported_function_lists_the_supported_ones():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = np.sinc(x[i])  # ERR
    # np.sinc is already bound when f is decorated: reported there (as 0.1.3 did).
    e = raises_at(parpy.ParPyRuntimeError, r"unknown function 'np.sinc'.*supported.*hypot.*"
                  r"Rewrite", f, (*arrays(), N), at="decorate")
    assert "@parpy.external" in e.message


def test_divmod_needs_a_tuple_assignment():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = divmod(x[i], 3.0)  # ERR
    raises_at(parpy.ParPyRuntimeError, r"divmod\(\) returns a pair.*q, r = divmod", f,
              (*arrays(), N), at="call")


def test_reciprocal_of_ints():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = np.reciprocal(x[i])  # ERR
    raises_at(parpy.ParPyTypeError, r"reciprocal\(\) of integers.*1.0 / x", f,
              (*arrays(dtype=np.int32), N), at="call")


def test_ddof_on_anything_but_var_and_std():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = np.mean(x[:], ddof=1)  # ERR
    raises_at(parpy.ParPyRuntimeError, r"ddof= is only allowed on np.var and np.std", f,
              (*arrays(), N), at="call")


def test_ddof_must_be_an_int_literal():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = np.var(x[:], ddof=N)  # ERR
    raises_at(parpy.ParPyRuntimeError, r"integer literal value for 'ddof'", f,
              (*arrays(), N), at="decorate")


def test_dot_of_different_lengths():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = np.dot(x[1:], x)  # ERR
    raises_at(parpy.ParPyValueError, r"same length.*\[9\].*\[10\]", f,
              (*arrays(), N), at="call")


def test_none_literal():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t = None  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"\bNone\b", f, at="decorate")


def test_walrus():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = (t := x[i]) + 1.0  # ERR
    raises_at(parpy.ParPyRuntimeError, r"walrus|:=|named expression|assignment expression", f,
              at="decorate")


def test_starred():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = max(*x)  # ERR
    raises_at(parpy.ParPyRuntimeError, r"star|\*", f, at="decorate")


# ---------------------------------------------------------------------------
# Loops, ranges and labels

def test_for_over_non_range():
    def f(x, y, N):
        parpy.label('N')
        for v in x:  # ERR
            y[0] = v
    raises_at(parpy.ParPyRuntimeError, r"\brange\b", f, arrays() + (N,))


def test_range_step_zero():
    def f(x, y, N):
        parpy.label('N')
        for i in range(0, N, 0):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"step", f, arrays() + (N,))


def test_range_step_not_constant():
    def f(x, y, s, N):
        parpy.label('N')
        for i in range(0, N, s[0]):  # ERR
            y[i] = x[i]
    x, y = arrays()
    raises_at(parpy.ParPyRuntimeError, r"step", f, (x, y, np.ones(1, np.int64), N))


def test_label_not_a_string_literal():
    def f(x, y, N):
        parpy.label(7)  # ERR
        for i in range(N):
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"label", f, arrays() + (N,))


# A label before an if/while: the label or the statement may be blamed.
def test_label_before_if():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
        parpy.label('M')  # ERR
        if N > 2:  # ERR
            y[0] = 1.0
    raises_at(parpy.ParPyRuntimeError, r"label", f, arrays() + (N,))


def test_label_before_while():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            k = 0
            parpy.label('M')  # ERR
            while k < 3:  # ERR
                k += 1
            y[i] = x[i] + k
    raises_at(parpy.ParPyRuntimeError, r"label", f, arrays() + (N,))


def test_trailing_label():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
            parpy.label('M')  # ERR
    raises_at(parpy.ParPyRuntimeError, r"label", f, arrays() + (N,))


def test_function_without_labels():
    # The position is the function: its def line or its first statement.
    def f(x, y, N):  # ERR
        for i in range(N):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"parallel", f, arrays() + (N,), at="call")


def test_no_label_in_the_parallel_specification():
    # The position is the first labelled statement; the message names both
    # sides (tests/test_errors_structure.py checks "did you mean").
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"parallelism: none of its labels \('N'\) is in "
              r"opts.parallelize, which names 'Other'", f, arrays() + (N,),
              par={'Other': parpy.threads(4)}, at="call")


def test_conflicting_thread_counts_on_one_loop():
    def f(x, y, N):
        parpy.label('A')  # ERR
        parpy.label('B')  # ERR
        for i in range(N):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"thread", f, arrays() + (N,),
              par={'A': parpy.threads(32), 'B': parpy.threads(64)}, at="call")


def test_conflicting_threads_per_block_in_one_nest():
    def f(x, y, N):
        parpy.label('A')
        for i in range(N):  # ERR
            parpy.label('B')
            for j in range(N):  # ERR
                y[j] = x[i]
    raises_at(parpy.ParPyRuntimeError, r"tpb|threads per block|block", f, arrays() + (N,),
              par={'A': parpy.threads(64).tpb(64), 'B': parpy.threads(128).tpb(128)},
              at="call")


def test_local_assigned_in_parallel_loop_read_after():
    # The write inside the loop and the read after it race; either may be blamed.
    def f(x, y, N):
        t = 0.0
        parpy.label('N')
        for i in range(N):
            t = x[i]  # ERR
        y[0] = t  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\bt\b|parallel|race", f, arrays() + (N,), at="call")


# ---------------------------------------------------------------------------
# Functions and calls

def test_return_in_main_function():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
        return y[0]  # ERR
    raises_at(parpy.ParPyRuntimeError, r"\breturn", f, arrays() + (N,), at="call")


def test_recursion():
    def rec(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i]
        if N > 1:
            rec(x, y, N - 1)  # ERR

    undecorated = rec
    expected_lines = marked_lines(undecorated)
    x, y = arrays()
    with pytest.raises(parpy.ParPyRuntimeError) as info:
        rec = parpy.jit(undecorated)  # the body's `rec` now names the jitted function
        rec(x, y, N, opts=options(PAR))
    check_exception(info.value, parpy.ParPyRuntimeError, r"recurs|\brec\b", undecorated,
                    expected_lines)


def plain_helper(v):
    return v * 2.0


def test_call_of_non_jitted_function():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = plain_helper(x[i])  # ERR
    raises_at(parpy.ParPyRuntimeError, r"plain_helper", f, arrays() + (N,))


def test_reduction_in_unsupported_position():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            while parpy.operators.sum(y[:]) < 3.0:  # ERR
                y[i] += 1.0
    raises_at(parpy.ParPyRuntimeError, r"reduc|\bsum\b", f, arrays() + (N,))


def test_unknown_name():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] + undefined_name[i]  # noqa: F821  # ERR
    raises_at(parpy.ParPyNameError, r"undefined_name", f, arrays() + (N,))


def test_helper_parameters_without_annotations():
    def add(a, b):  # ERR
        return a + b

    jitted_add = parpy.jit(add)

    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = jitted_add(x[i], y[i])
    raises_at(parpy.ParPyTypeError, r"annot", f, arrays() + (N,), where=add)


# ---------------------------------------------------------------------------
# Type errors in the body

def test_bitwise_op_on_floats():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] & 1  # ERR
    raises_at(parpy.ParPyTypeError, r"bitwise|&", f, arrays() + (N,), at="call")


def test_float_range_bound():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N / 2):  # ERR
            y[i] = x[i]
    raises_at(parpy.ParPyTypeError, r"\brange\b|integer|\bint", f, arrays() + (N,), at="call")


def test_float_index():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i / 2]  # ERR
    raises_at(parpy.ParPyTypeError, r"index|integer", f, arrays() + (N,), at="call")


def test_too_many_indices():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i, 0]  # ERR
    raises_at(parpy.ParPyTypeError, r"ind(ex|ices)|dimension", f, arrays() + (N,), at="call")


def test_missing_dict_key():
    def f(d, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = d["a"][i] + d["missing"][i]  # ERR
    d = {"a": np.zeros(N), "b": np.zeros(N)}
    raises_at(parpy.ParPyTypeError, r"missing", f, (d, np.zeros(N), N), at="call")


# ---------------------------------------------------------------------------
# Argument errors at the call (no source position)

def copy_kernel(x, y, N):
    parpy.label('N')
    for i in range(N):
        y[i] = x[i]


def test_wrong_argument_count():
    raises_at(parpy.ParPyTypeError, r"argument", copy_kernel, arrays(), at="call",
              positioned=False)


@pytest.mark.parametrize("bad,pattern", [
    ([1.0] * N, r"\blist\b"),
    ("abc", r"\bstr"),
    (None, r"\bNone"),
], ids=["list", "str", "None"])
def test_unsupported_argument_kinds(bad, pattern):
    raises_at(parpy.ParPyTypeError, pattern, copy_kernel, (bad, np.zeros(N), N), at="call",
              positioned=False)


def test_complex_dtype():
    x = np.zeros(N, np.complex128)
    y = np.zeros(N, np.complex128)
    raises_at(parpy.ParPyTypeError, r"complex", copy_kernel, (x, y, N), at="call", positioned=False)


def test_non_contiguous_array():
    x = np.zeros(2 * N)[::2]
    raises_at(parpy.ParPyValueError, r"contiguous", copy_kernel, (x, np.zeros(N), N), at="call",
              positioned=False)


def test_write_into_read_only_array():
    y = np.zeros(N)
    y.flags.writeable = False
    raises_at(parpy.ParPyValueError, r"read-?only|writ", copy_kernel, (np.zeros(N), y, N), at="call",
              positioned=False)


def test_read_only_input_is_accepted():
    x = np.arange(N, dtype=np.float64)
    x.flags.writeable = False
    y = np.zeros(N)
    parpy.jit(copy_kernel)(x, y, N, opts=options(PAR))
    np.testing.assert_array_equal(y, x)


def test_unused_none_argument_is_accepted():
    def f(x, y, unused, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[i] + 1.0
    x = np.arange(N, dtype=np.float64)
    y = np.zeros(N)
    parpy.jit(f)(x, y, None, N, opts=options(PAR))
    np.testing.assert_array_equal(y, x + 1.0)


# ---------------------------------------------------------------------------
# Value errors with a source position

def test_literal_index_out_of_bounds():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] = x[10]  # ERR
    raises_at(parpy.ParPyValueError, r"out of (range|bounds)|bound", f, arrays() + (N,),
              at="call")


def test_slice_shape_mismatch():
    def f(x, y, z):
        parpy.label('N')
        z[:] = x[:] + y[:]  # ERR
    raises_at(parpy.ParPyValueError, r"shape|broadcast", f,
              (np.zeros(10), np.zeros(12), np.zeros(10)), at="call")


def test_plain_store_in_a_loop_of_atomic_updates():
    """A .reduce() loop that is not one reduction does its updates atomically
    (y[i] += x[i] is fine); a plain store there has no atomic meaning."""
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            y[i] += x[i]
            x[i] = 0.0  # ERR
    raises_at(parpy.ParPyRuntimeError, r"atomically.*every array write.*hist\[b\[i\]\] \+= 1",
              f, arrays() + (N,), par={'N': parpy.threads(8).reduce()})


def test_local_array_shape_must_be_constant():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t = np.zeros(x[i])  # ERR
            y[i] = t[0]
    raises_at(parpy.ParPyRuntimeError, r"shape of zeros\(\) must be made of compile-time",
              f, (np.ones(N, np.int64), np.zeros(N), N), at="call")


def test_local_array_too_large():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t = np.zeros((1000, 1000))  # ERR
            y[i] = t[0, 0]
    raises_at(parpy.ParPyValueError, r"local array 't'.*larger than 64 KiB", f,
              (*arrays(), N), at="call")


def test_local_array_bound_twice():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            t = np.zeros(3)
            t = np.exp(x[0:3])  # ERR
            y[i] = t[0]
    raises_at(parpy.ParPyRuntimeError, r"'t' is a local array.*t\[:\] = \.\.\.", f,
              (*arrays(), N), at="call")


def test_local_array_outside_the_kernel_on_the_gpu():
    def f(x, y, N):
        acc = np.zeros(N)
        parpy.label('N')
        for i in range(N):
            y[i] = acc[i] + x[i]  # ERR
    opts = options(PAR)
    opts.backend = parpy.CompileBackend.Cuda
    with pytest.raises(parpy.ParPyRuntimeError) as info:
        parpy.print_compiled(f, [*arrays(), N], opts)
    check_exception(info.value, parpy.ParPyRuntimeError, r"local array 'acc'.*inside the loop",
                    f, marked_lines(f))


def test_new_axis_in_a_view_of_a_view():
    def f(x, y, N):
        parpy.label('N')
        for i in range(N):
            parpy.label('M')
            y[i, :, :] = x[i][:, None] * 2.0  # ERR
    raises_at(parpy.ParPyRuntimeError, r"None \(np.newaxis\).*x\[i, :, None\]", f,
              (np.zeros((N, 3)), np.zeros((N, 3, 1)), N), at="call")
