/* front.h - the front end: CPython `ast` objects to a Func.
 *
 * One of the two places (with module/) that include Python.h.  It runs once
 * per decoration: the Python layer reads and dedents the source, calls
 * ast.parse, and hands the FunctionDef node here together with the position
 * offsets that map the parsed text back to the file.
 *
 * The front end checks syntax only.  Names are left as N_NAME (locals and
 * parameters) or N_GLOBAL (free names and attribute chains rooted at them,
 * collected in func->globals for the Python layer to look up).  Labels,
 * `with parpy.gpu`, `range` and builtins are recognised later by `resolve`,
 * once the globals are known. */
#ifndef PARPY_FRONT_H
#define PARPY_FRONT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../ast.h"

/* Convert an ast.FunctionDef.  `file` and `text` (whole file, may be NULL)
 * are kept for error excerpts; line_off is added to every ast line number and
 * col_off to every column (the dedent that was removed).  On error returns
 * NULL and fills *d, allocating its message in `diag_arena`. */
Func *front_parse(PyObject *fndef, const char *file, const char *text, int line_off,
                  int col_off, Diag *d, Arena *diag_arena);

/* Free a Func and everything it owns. */
void func_free(Func *f);

#endif
