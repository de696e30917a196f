"""ParPy's exceptions.

Every error ParPy reports is a ``ParPyError`` that is also an instance of the
built-in exception that fits (TypeError, NameError, ValueError, RuntimeError),
so ``except TypeError`` keeps working.  ``str(e)`` is the full text, with the
source excerpt when the error has a position; the attributes give the parts:

- ``message``: the text without the position,
- ``file``, ``line``, ``column``: where in the user's source (``column`` is
  1-based, as printed), or None when unknown.
"""
from __future__ import annotations


class ParPyError(Exception):
    """Base class of every exception raised by ParPy."""

    message: str
    file: str | None
    line: int | None
    column: int | None

    def __init__(self, text: str, message: str | None = None, file: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(text)
        self.message = text if message is None else message
        self.file = file
        self.line = line
        self.column = column


class ParPyTypeError(ParPyError, TypeError):
    """A type error: wrong kinds or dtypes of values, bad annotations, arity."""


class ParPyNameError(ParPyError, NameError):
    """A name that the function uses is not defined."""


class ParPyRuntimeError(ParPyError, RuntimeError):
    """Unsupported constructs, build failures and errors of compiled code."""


class ParPyValueError(ParPyError, ValueError):
    """Bad values: options, argument values, shapes."""


class ParPyRuntimeTypeError(ParPyTypeError, ParPyRuntimeError):
    """A type error that ParPy 0.1.3 raised as RuntimeError (bad external
    annotations, dict arguments with non-str or nested keys): code written
    for 0.1.3 catches RuntimeError, code written for us TypeError."""


class ParPyRuntimeValueError(ParPyValueError, ParPyRuntimeError):
    """A value error that ParPy 0.1.3 raised as RuntimeError (host externals
    on Cuda, parallel host externals, a cluster size that is not a power of
    two)."""


class ParPyRuntimeNameError(ParPyNameError, ParPyRuntimeError):
    """A name error that ParPy 0.1.3 raised as RuntimeError (a call to an
    unknown function)."""


class ParPyIndexError(ParPyError, IndexError):
    """Debug mode (``opts.debug``): an index outside its array's dimension."""


class ParPyZeroDivisionError(ParPyError, ZeroDivisionError):
    """Debug mode: integer division or modulo by zero."""


class ParPyOverflowError(ParPyError, OverflowError):
    """Debug mode: a float converted to an integer type that cannot hold it."""


class ParPyRaceError(ParPyRuntimeError):
    """Debug mode: two iterations of a parallel loop wrote the same element."""


__all__ = ["ParPyError", "ParPyTypeError", "ParPyNameError", "ParPyRuntimeError",
           "ParPyValueError", "ParPyRuntimeTypeError", "ParPyRuntimeValueError",
           "ParPyRuntimeNameError", "ParPyIndexError", "ParPyZeroDivisionError",
           "ParPyOverflowError", "ParPyRaceError"]
