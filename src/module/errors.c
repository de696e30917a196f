/* errors.c - diagnostics become Python exceptions.
 *
 * The exception classes live in parpy/errors.py (so they can be documented
 * and subclassed like any Python class) and are handed to us at import.
 * Each instance carries `message` (the text without the source excerpt) and
 * `file`, `line`, `column` (1-based, as printed; None when unknown). */
#include "module.h"

static PyObject *exc_types[DIAG_INTERNAL + 1], *exc_base;

bool pp_error_is_ours(void) { return exc_base && PyErr_ExceptionMatches(exc_base); }

PyObject *set_error_types(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *base, *type, *name, *runtime, *value, *type_rt, *value_rt, *name_rt;
  PyObject *index, *zero_div, *overflow, *race;
  if (!PyArg_ParseTuple(args, "OOOOOOOOOOOO:set_error_types", &base, &type, &name, &runtime,
                        &value, &type_rt, &value_rt, &name_rt, &index, &zero_div, &overflow,
                        &race))
    return NULL;
  PyObject *all[] = {base,     type,     name,  runtime,  value,    type_rt,
                     value_rt, name_rt,  index, zero_div, overflow, race};
  for (size_t i = 0; i < PP_COUNT(all); i++)
    if (!PyExceptionClass_Check(all[i])) {
      PyErr_SetString(PyExc_TypeError, "set_error_types expects exception classes");
      return NULL;
    }
  PyObject *by_kind[DIAG_INTERNAL + 1] = {
      [DIAG_NONE] = runtime, [DIAG_RUNTIME] = runtime, [DIAG_TYPE] = type,
      [DIAG_NAME] = name,    [DIAG_VALUE] = value,     [DIAG_INTERNAL] = runtime,
      [DIAG_TYPE_RT] = type_rt, [DIAG_VALUE_RT] = value_rt, [DIAG_NAME_RT] = name_rt,
      [DIAG_INDEX] = index,     [DIAG_ZERO_DIV] = zero_div, [DIAG_OVERFLOW] = overflow,
      [DIAG_RACE] = race,
  };
  Py_INCREF(base);
  Py_XSETREF(exc_base, base);
  for (int k = 0; k <= DIAG_INTERNAL; k++) {
    Py_INCREF(by_kind[k]);
    Py_XSETREF(exc_types[k], by_kind[k]);
  }
  Py_RETURN_NONE;
}

/* The class for a kind; the built-in one before set_error_types ran. */
static PyObject *exc_class(DiagKind kind) {
  if (kind < DIAG_NONE || kind > DIAG_INTERNAL)
    kind = DIAG_RUNTIME;
  if (exc_types[kind])
    return exc_types[kind];
  switch (kind) {
  case DIAG_TYPE:
  case DIAG_TYPE_RT: return PyExc_TypeError;
  case DIAG_NAME:
  case DIAG_NAME_RT: return PyExc_NameError;
  case DIAG_VALUE:
  case DIAG_VALUE_RT: return PyExc_ValueError;
  case DIAG_INDEX: return PyExc_IndexError;
  case DIAG_ZERO_DIV: return PyExc_ZeroDivisionError;
  case DIAG_OVERFLOW: return PyExc_OverflowError;
  default: return PyExc_RuntimeError;
  }
}

static PyObject *str_or_none(const char *s) {
  if (s)
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
  Py_RETURN_NONE;
}

static PyObject *int_or_none(int v, bool known) {
  if (known)
    return PyLong_FromLong(v);
  Py_RETURN_NONE;
}

/* Raise cls(text, message, file, line, column); our classes take those
 * arguments, the built-in fallbacks only the text. */
static PyObject *raise_with(DiagKind kind, const char *text, const char *message,
                            const char *file, int line, int column) {
  PyObject *cls = exc_class(kind);
  PyObject *inst = NULL;
  PyObject *t = str_or_none(text);
  if (!t)
    return NULL;
  if (exc_types[kind == DIAG_NONE ? DIAG_RUNTIME : kind]) {
    PyObject *m = str_or_none(message), *f = str_or_none(file);
    PyObject *l = int_or_none(line, line > 0), *c = int_or_none(column, line > 0);
    if (m && f && l && c)
      inst = PyObject_CallFunctionObjArgs(cls, t, m, f, l, c, NULL);
    Py_XDECREF(m);
    Py_XDECREF(f);
    Py_XDECREF(l);
    Py_XDECREF(c);
  } else {
    inst = PyObject_CallOneArg(cls, t);
  }
  Py_DECREF(t);
  if (!inst)
    return NULL;
  PyErr_SetObject((PyObject *)Py_TYPE(inst), inst);
  Py_DECREF(inst);
  return NULL;
}

PyObject *raise_diag(const Diag *d) {
  Buf text, msg;
  buf_init(&text);
  buf_init(&msg);
  diag_format(d, &text);
  if (d->kind == DIAG_INTERNAL)
    buf_puts(&msg, "internal compiler error (please report it): ");
  buf_puts(&msg, d->msg ? d->msg : "unknown error");
  const Span *s = &d->span;
  bool known = s->line > 0 && s->src;
  raise_with(d->kind, buf_cstr(&text), buf_cstr(&msg), known ? s->src->file : NULL,
             known ? s->line : 0, known ? s->col + 1 : 0);
  buf_free(&text);
  buf_free(&msg);
  return NULL;
}

PyObject *pp_raise(DiagKind kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  Buf b;
  buf_init(&b);
  buf_vprintf(&b, fmt, ap);
  va_end(ap);
  raise_with(kind, buf_cstr(&b), buf_cstr(&b), NULL, 0, 0);
  buf_free(&b);
  return NULL;
}
