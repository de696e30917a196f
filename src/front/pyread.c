/* pyread.c - reading CPython `ast` objects: the classes, fetched once per
 * process, the field readers, spans and errors.  See pyread.h. */
#include <string.h>

#include "pyread.h"

static const char *const class_names[K_COUNT] = {
#define X(n) #n,
    AST_CLASSES(X)
#undef X
};

PyObject *ast_classes[K_COUNT];
static bool classes_loaded;

/* In the user's terms. */
const char *const ast_unsupported[K_COUNT] = {
    [K_FunctionDef] = "nested function definitions are not supported; define the helper at "
                      "module level and decorate it with @parpy.jit",
    [K_AsyncFunctionDef] = "nested function definitions are not supported",
    [K_ClassDef] = "class definitions are not supported in ParPy functions",
    [K_Delete] = "'del' statements are not supported in ParPy functions",
    [K_AnnAssign] = "annotated assignments ('x: T = v') are not supported; write 'x = v'",
    [K_AsyncFor] = "'async for' loops are not supported in ParPy functions",
    [K_AsyncWith] = "'async with' statements are not supported in ParPy functions",
    [K_Match] = "'match' statements are not supported; use if/elif/else",
    [K_Raise] = "'raise' statements are not supported in ParPy functions",
    [K_Try] = "'try' statements are not supported in ParPy functions",
    [K_TryStar] = "'try' statements are not supported in ParPy functions",
    [K_Assert] = "'assert' statements are not supported in ParPy functions",
    [K_Import] = "'import' statements are not supported in ParPy functions; import at "
                 "module level",
    [K_ImportFrom] = "'import' statements are not supported in ParPy functions; import at "
                     "module level",
    [K_Global] = "'global' declarations are not supported in ParPy functions",
    [K_Nonlocal] = "'nonlocal' declarations are not supported in ParPy functions",
    [K_Break] = "Unsupported statement: 'break' statements are not supported in ParPy functions",
    [K_Continue] = "Unsupported statement: 'continue' statements are not supported in ParPy "
                    "functions",
    [K_TypeAlias] = "'type' alias statements are not supported in ParPy functions",
    [K_NamedExpr] = "assignment expressions ('x := e') are not supported; assign in a "
                    "separate statement",
    [K_Lambda] = "Unsupported expression: lambda expressions are not supported",
    [K_Dict] = "dict displays ('{k: v}') are not supported; pass dicts as arguments",
    [K_Set] = "set displays ('{a, b}') are not supported",
    [K_ListComp] = "list comprehensions are not supported; use a for-loop",
    [K_SetComp] = "set comprehensions are not supported; use a for-loop",
    [K_DictComp] = "dict comprehensions are not supported; use a for-loop",
    [K_GeneratorExp] = "generator expressions are not supported; use a for-loop",
    [K_Await] = "'await' expressions are not supported",
    [K_Yield] = "'yield' expressions are not supported (ParPy functions cannot be generators)",
    [K_YieldFrom] = "'yield from' expressions are not supported (ParPy functions cannot be "
                    "generators)",
    [K_FormattedValue] = "f-strings are not supported",
    [K_JoinedStr] = "f-strings are not supported",
    [K_TemplateStr] = "template strings are not supported",
    [K_Interpolation] = "template strings are not supported",
    [K_Starred] = "starred expressions ('*x') are not supported",
    [K_List] = "list displays ('[a, b]') are not supported",
    [K_Slice] = "slices ('a:b') are only allowed inside subscripts ('x[a:b]')",
    [K_Is] = "Unsupported binary operation: the 'is' operator is not supported; use '=='",
    [K_IsNot] = "Unsupported binary operation: the 'is not' operator is not supported; use '!='",
    [K_In] = "Unsupported binary operation: the 'in' operator is not supported",
    [K_NotIn] = "Unsupported binary operation: the 'not in' operator is not supported",
};

static const struct {
  AstKind k;
  Op op;
} op_table[] = {
    {K_Add, OP_ADD},       {K_Sub, OP_SUB},       {K_Mult, OP_MUL},     {K_Div, OP_DIV},
    {K_FloorDiv, OP_FLOORDIV}, {K_Mod, OP_MOD},   {K_Pow, OP_POW},      {K_BitAnd, OP_BITAND},
    {K_BitOr, OP_BITOR},   {K_BitXor, OP_BITXOR}, {K_LShift, OP_SHL},   {K_RShift, OP_SHR},
    {K_MatMult, OP_MATMUL},
    {K_And, OP_AND},       {K_Or, OP_OR},         {K_Eq, OP_EQ},        {K_NotEq, OP_NE},
    {K_Lt, OP_LT},         {K_LtE, OP_LE},        {K_Gt, OP_GT},        {K_GtE, OP_GE},
    {K_USub, OP_NEG},      {K_UAdd, OP_POS},      {K_Not, OP_NOT},      {K_Invert, OP_INVERT},
};

void conv_error(Conv *c, DiagKind kind, Span sp, const char *fmt, ...) {
  PyErr_Clear(); /* a failed C-API call may have left one */
  if (c->failed)
    return;
  c->failed = true;
  Source *s = ARENA_NEW(c->darena, Source);
  const Source *fs = &c->f->src;
  s->file = fs->file ? arena_strdup(c->darena, fs->file) : NULL;
  s->func = fs->func ? arena_strdup(c->darena, fs->func) : NULL;
  s->text = fs->text ? arena_strdup(c->darena, fs->text) : NULL;
  sp.src = s;
  Buf b;
  buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(&b, fmt, ap);
  va_end(ap);
  diag_error(c->d, c->darena, kind, sp, "%s", buf_cstr(&b));
  buf_free(&b);
}

const char *ast_type_name(PyObject *o) { return Py_TYPE(o)->tp_name; }

bool ast_load_classes(Conv *c) {
  if (classes_loaded)
    return true;
  PyObject *mod = PyImport_ImportModule("ast");
  if (!mod) {
    conv_error(c, DIAG_INTERNAL, (Span){0}, "cannot import the 'ast' module");
    return false;
  }
  for (int k = 0; k < K_COUNT; k++) {
    ast_classes[k] = PyObject_GetAttrString(mod, class_names[k]); /* kept for the process */
    if (!ast_classes[k])
      PyErr_Clear();
  }
  Py_DECREF(mod);
  classes_loaded = true;
  return true;
}

/* The kind of `o` among [lo, hi], or -1.  Exact types first: that is every
 * tree ast.parse makes; isinstance only for hand-built subclasses. */
int ast_kind(PyObject *o, int lo, int hi) {
  for (int k = lo; k <= hi; k++)
    if (ast_classes[k] && (PyObject *)Py_TYPE(o) == ast_classes[k])
      return k;
  for (int k = lo; k <= hi; k++) {
    if (!ast_classes[k])
      continue;
    int r = PyObject_IsInstance(o, ast_classes[k]);
    if (r < 0)
      PyErr_Clear();
    if (r > 0)
      return k;
  }
  return -1;
}

bool ast_is(PyObject *o, AstKind k) { return o && ast_kind(o, (int)k, (int)k) == (int)k; }

/* ---- reading fields -------------------------------------------------------- */

/* A field that may be missing or None (NULL then, with no error). */
PyObject *ast_opt(PyObject *o, const char *name) {
  PyObject *v = PyObject_GetAttrString(o, name);
  if (!v) {
    PyErr_Clear();
    return NULL;
  }
  if (v == Py_None) {
    Py_DECREF(v);
    return NULL;
  }
  return v;
}

PyObject *ast_field(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *v = ast_opt(o, name);
  if (!v)
    conv_malformed(c, sp, "%s node has no field '%s'", ast_type_name(o), name);
  return v;
}

/* A list field as a tuple: a copy, so that code run by a hand-built node
 * cannot change it under us.  Missing or None reads as empty. */
PyObject *ast_list(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *v = ast_opt(o, name);
  if (!v)
    return PyTuple_New(0);
  PyObject *t = PySequence_Tuple(v);
  Py_DECREF(v);
  if (!t)
    conv_malformed(c, sp, "field '%s' of %s is not a list", name, ast_type_name(o));
  return t;
}

const char *ast_str(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *v = ast_field(c, o, name, sp);
  if (!v)
    return NULL;
  Py_ssize_t n;
  const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, &n) : NULL;
  const char *r = s ? intern_n(s, (size_t)n) : NULL;
  if (!r)
    conv_malformed(c, sp, "field '%s' of %s is not a string", name, ast_type_name(o));
  Py_DECREF(v);
  return r;
}

/* An int position field; false when it is missing or None. */
static bool pos_field(Conv *c, PyObject *o, const char *name, int *out, Span sp) {
  PyObject *v = ast_opt(o, name);
  if (!v)
    return false;
  long x = PyLong_Check(v) ? PyLong_AsLong(v) : -1;
  if (x < 0 || x > 1000000000) {
    conv_malformed(c, sp, "field '%s' of %s is not a valid position", name, ast_type_name(o));
    x = 0;
  }
  Py_DECREF(v);
  *out = (int)x;
  return true;
}

/* The absolute file span of a node.  Nodes without a position (withitem,
 * keyword arguments of old versions, hand-built nodes) take the span of the
 * construct around them. */
Span ast_span(Conv *c, PyObject *o, Span parent) {
  int line, col, end_line, end_col;
  parent.src = &c->f->src;
  if (!pos_field(c, o, "lineno", &line, parent) || !pos_field(c, o, "col_offset", &col, parent))
    return parent;
  if (!pos_field(c, o, "end_lineno", &end_line, parent))
    end_line = line;
  if (!pos_field(c, o, "end_col_offset", &end_col, parent))
    end_col = col;
  return (Span){line + c->line_off, col + c->col_off, end_line + c->line_off,
                end_col + c->col_off, &c->f->src};
}

Op ast_op(Conv *c, PyObject *o, Span sp) {
  int k = ast_kind(o, OPS);
  if (k >= 0 && ast_unsupported[k]) {
    conv_error(c, DIAG_RUNTIME, sp, "%s", ast_unsupported[k]);
    return OP_NONE;
  }
  for (size_t i = 0; i < PP_COUNT(op_table); i++)
    if ((int)op_table[i].k == k)
      return op_table[i].op;
  conv_malformed(c, sp, "unknown operator %s", ast_type_name(o));
  return OP_NONE;
}

Op ast_op_field(Conv *c, PyObject *o, Span sp) {
  PyObject *v = ast_field(c, o, "op", sp);
  if (!v)
    return OP_NONE;
  Op op = ast_op(c, v, sp);
  Py_DECREF(v);
  return op;
}
