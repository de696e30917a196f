"""Error reports in the terms of ParPy 0.1.3 (issue 10 items 8 and 11): our
messages start with the key phrase 0.1.3's users search for, with the same
exception class (ours derive from the built-in one 0.1.3 raised), statements
over several lines are shown whole ("lines A-B"), and the errors 0.1.3
reported when a function was decorated are reported there too."""
import numpy as np
import pytest

import parpy
from harness import marked_line, marked_lines

Cpu = parpy.CompileBackend.Cpu


def opts():
    o = parpy.par({'N': parpy.threads(4)})
    o.backend = Cpu
    return o


def plain_helper(x):
    return x


# ---- item 8: key phrases, classes, lines ----
# (function, argument shapes, 0.1.3's phrase, class 0.1.3 raised)

def for_else(x):
    parpy.label('N')
    for i in range(4):  # ERR
        x[i] = 1.0
    else:
        x[0] = 2.0


def while_else(x):
    with parpy.gpu:
        while x[0] < 1.0:  # ERR
            x[0] = 2.0
        else:
            x[0] = 3.0


def with_as(x):
    with parpy.gpu as g:  # ERR
        x[0] = 1.0


def with_two(x):
    with parpy.gpu, parpy.gpu:  # ERR
        x[0] = 1.0


def empty_return(x):
    with parpy.gpu:
        x[0] = 1.0
    return  # ERR


def call_target_assign(x):
    with parpy.gpu:
        a, *b = 1.0, 2.0  # ERR
        x[0] = a


def not_range(x):
    parpy.label('N')
    for i in [0, 1]:  # ERR
        x[i] = 1.0


def range_four(x):
    parpy.label('N')
    for i in range(0, 4, 1, 1):  # ERR
        x[i] = 1.0


def label_not_str(x):
    parpy.label(3)  # ERR
    for i in range(4):
        x[i] = 1.0


def label_no_arg(x):
    parpy.label()  # ERR
    for i in range(4):
        x[i] = 1.0


def bytes_literal(x):
    with parpy.gpu:
        x[0] = b'123'  # ERR


def unknown_keyword(x):
    with parpy.gpu:
        x[0] = parpy.operators.exp(x[0], foo=1)  # ERR


def axis_not_literal(x, y):
    with parpy.gpu:
        k = 0
        y[0] = parpy.operators.sum(x[:, :], axis=k)  # ERR


def in_operator(x):
    with parpy.gpu:
        x[0] = x[0] in x  # ERR


def is_operator(x):
    with parpy.gpu:
        if x[0] is x[1]:  # ERR
            x[0] = 1.0


def expr_statement(x):
    with parpy.gpu:
        x[0] + 1.0  # ERR


def break_statement(x):
    parpy.label('N')
    for i in range(4):
        break  # ERR


def lambda_expr(x):
    with parpy.gpu:
        x[0] = (lambda q: q)(1.0)  # ERR


def call_unknown(x):
    parpy.label('N')
    for i in range(4):
        x[i] = not_defined_anywhere(x[i])  # ERR


def call_target(x):
    with parpy.gpu:
        x[0] = x[1](x[0])  # ERR


def no_parallelism(x):  # ERR
    for i in range(4):
        x[i] = 1.0


def step_not_literal(x, s):
    parpy.label('N')
    for i in range(0, 4, s[0]):  # ERR
        x[i] = 1.0


CASES = [
    (for_else, "For-loops with an else-clause are not supported", RuntimeError),
    (while_else, "While-loops with an else-clause are not supported", RuntimeError),
    (with_as, "With statements using the 'as' keyword are not supported", RuntimeError),
    (with_two, "With statements using multiple items is not supported", RuntimeError),
    (empty_return, "Empty return statements are not supported", RuntimeError),
    (call_target_assign, "Unsupported form of assignment", RuntimeError),
    (not_range, "For-loop must iterate using the range builtin", RuntimeError),
    (range_four, "Invalid number of arguments passed to range", RuntimeError),
    (label_not_str, "First argument of parpy.label should be a string literal representing the "
     "label name", RuntimeError),
    (label_no_arg, "Label statement expects one argument", RuntimeError),
    (bytes_literal, "Unsupported literal value", RuntimeError),
    (unknown_keyword, "Unsupported keyword argument in call: foo", RuntimeError),
    (axis_not_literal, "Expected integer literal value for 'axis' keyword argument", RuntimeError),
    (in_operator, "Unsupported binary operation", RuntimeError),
    (is_operator, "Unsupported binary operation", RuntimeError),
    (expr_statement, "Unsupported expression statement", RuntimeError),
    (break_statement, "Unsupported statement", RuntimeError),
    (lambda_expr, "Unsupported expression", RuntimeError),
    (call_unknown, "Call to unknown function 'not_defined_anywhere'", RuntimeError),
    (call_target, "Unsupported call target type", RuntimeError),
    (no_parallelism, "does not contain any parallelism", RuntimeError),
    (step_not_literal, "Range step size must be an integer literal", RuntimeError),
]


def args_for(fn):
    if fn is axis_not_literal:
        return [np.zeros((4, 4)), np.zeros(1)]
    if fn is step_not_literal:
        return [np.zeros(4), np.ones(1, dtype=np.int64)]
    return [np.zeros(4)]


@pytest.mark.parametrize("fn,phrase,cls", CASES, ids=[c[0].__name__ for c in CASES])
def test_key_phrase_class_and_line(fn, phrase, cls):
    with pytest.raises(parpy.ParPyError) as info:
        parpy.jit(fn)(*args_for(fn), opts=opts())
    e = info.value
    assert isinstance(e, cls), type(e).__mro__
    assert phrase in e.message, e.message
    assert e.line == marked_line(fn), (e.line, str(e))


def test_unknown_function_is_also_a_name_error():
    with pytest.raises(NameError) as info:
        parpy.jit(call_unknown)(np.zeros(4), opts=opts())
    assert isinstance(info.value, parpy.ParPyRuntimeNameError)
    assert isinstance(info.value, RuntimeError)
    assert "name 'not_defined_anywhere' is not defined" in info.value.message


def multi_line(x):
    parpy.label('N')
    for i in range(4):
        x[i] = (x[i] +  # ERR
                undefined_in_a_long_statement  # ERR
                * 2.0)  # ERR


def test_multi_line_statement_shows_lines_a_b():
    with pytest.raises(NameError) as info:
        parpy.jit(multi_line)(np.zeros(4), opts=opts())
    text = str(info.value)
    # The name is on one line; its statement spans three: the excerpt is of the name.
    assert "line %d," % marked_lines(multi_line)[1] in text


def while_over_lines(x):
    with parpy.gpu:
        while x[0] < 1.0:  # ERR
            x[0] = 2.0  # ERR
        else:  # ERR
            x[0] = 3.0  # ERR


def test_compound_statement_shows_every_line():
    with pytest.raises(RuntimeError) as info:
        parpy.jit(while_over_lines)(np.zeros(4), opts=opts())
    first, *_, last = marked_lines(while_over_lines)
    text = str(info.value)
    assert f"lines {first}-{last}, column" in text, text
    for src in ("while x[0] < 1.0:", "x[0] = 2.0", "else:", "x[0] = 3.0"):
        assert "\n    " + src in text or "\n        " + src in text, text
    assert info.value.line == first


def test_single_line_statement_keeps_line_format():
    with pytest.raises(RuntimeError) as info:
        parpy.jit(in_operator)(np.zeros(4), opts=opts())
    assert f"line {marked_line(in_operator)}, column" in str(info.value)
    assert "lines " not in str(info.value)


# ---- item 11: errors at decoration ----

def test_undecorated_function_call_at_decoration():
    def calls_plain(x):
        parpy.label('N')
        for i in range(4):
            x[i] = plain_helper(x[i])  # ERR

    with pytest.raises(RuntimeError) as info:
        parpy.jit(calls_plain)  # no call needed
    e = info.value
    assert isinstance(e, parpy.ParPyRuntimeError)
    assert e.message.startswith("Call to unknown function 'plain_helper' (a function)")
    assert e.line == marked_line(calls_plain)
    assert "plain_helper(x[i])" in str(e) and "^^^^" in str(e)


def test_with_other_than_gpu_at_decoration():
    def with_open(x):
        with open("f"):  # ERR
            x[0] = 1.0

    def with_global(x):
        with np:  # ERR
            x[0] = 1.0

    for fn in (with_open, with_global):
        with pytest.raises(RuntimeError, match="With statements are only supported for "
                                               "'parpy.gpu'") as info:
            parpy.jit(fn)
        assert info.value.line == marked_line(fn)


def test_range_step_zero_at_decoration():
    def step_zero(x):
        parpy.label('N')
        for i in range(0, 4, 0):  # ERR
            x[i] = 1.0

    def step_minus_zero(x):
        parpy.label('N')
        for i in range(4, 0, -0):  # ERR
            x[i] = 1.0

    for fn in (step_zero, step_minus_zero):
        with pytest.raises(RuntimeError, match="Range step size must be non-zero") as info:
            parpy.jit(fn)
        assert info.value.line == marked_line(fn)


def test_recursion_at_decoration():
    def rec(x):
        with parpy.gpu:
            rec(x)  # ERR

    with pytest.raises(RuntimeError, match="'rec' calls itself; recursion is not supported") \
            as info:
        parpy.jit(rec)
    assert info.value.line == marked_line(rec)


def test_names_defined_later_are_left_for_the_call():
    """A helper defined after the decoration is found at the first call (and
    one that never appears is reported then)."""
    @parpy.jit
    def uses_later(x):
        parpy.label('N')
        for i in range(4):
            x[i] = later_helper(x[i])

    @parpy.jit
    def later_helper(v: parpy.types.F64) -> parpy.types.F64:
        return v + 1.0

    x = np.zeros(4)
    uses_later(x, opts=opts())
    assert (x == 1).all()


def test_shadowed_names_are_not_checked_early():
    def shadow(x, range):
        with parpy.gpu:
            x[0] = 1.0

    parpy.jit(shadow)  # a parameter named like a builtin is not an error here

    def local_called(x):
        with parpy.gpu:
            plain_helper = 1.0
            x[0] = plain_helper

    parpy.jit(local_called)


# ---- item 6: a float assigned in a branch that never runs ----

def float_in_dead_branch(G, out, N, flag):
    parpy.label('N')
    for k in range(N):
        x = 0
        if flag > 5:
            x = 1
        else:
            if flag > 10:
                x = 0.0  # ERR never runs, but makes x a float (NumPy typing)
        out[k] = G[k, x]


def test_float_index_points_at_the_assignment():
    with pytest.raises(parpy.ParPyTypeError) as info:
        parpy.jit(float_in_dead_branch)(np.zeros((4, 2)), np.zeros(4), 4, 1, opts=opts())
    e = info.value
    assert e.line == marked_line(float_in_dead_branch)
    assert "'x' is used as an index of 'G' on line" in e.message
    assert "because of this assignment" in e.message and "int(x)" in e.message
    assert "x = 0.0" in str(e)


def test_float_index_without_a_float_assignment_keeps_its_message():
    def f(G, out, v):
        with parpy.gpu:
            out[0] = G[v]  # ERR
    with pytest.raises(parpy.ParPyTypeError, match="array indices must be integers") as info:
        parpy.jit(f)(np.zeros(4), np.zeros(1), 1.5, opts=opts())
    assert info.value.line == marked_line(f)
