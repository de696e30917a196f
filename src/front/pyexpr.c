/* pyexpr.c - names and expressions of the front end.
 *
 * Python scoping decides what a name is: a local (assigned anywhere in the
 * body, or a parameter) becomes N_NAME; any other name, with the attribute
 * chain rooted at it ("np.exp"), becomes N_GLOBAL, for the Python layer to
 * look up before the first compilation. */
#include <string.h>

#include "pyread.h"

/* ---- names: locals and globals -------------------------------------------- */
bool conv_is_local(Conv *c, const char *name) {
  for (int i = 0; i < c->nlocals; i++)
    if (c->locals[i] == name)
      return true;
  return false;
}

void conv_add_local(Conv *c, const char *name) {
  if (!name || conv_is_local(c, name))
    return;
  if (c->nlocals == c->cap_locals) {
    int cap = c->cap_locals ? 2 * c->cap_locals : 16;
    const char **n = ARENA_ARRAY(c->a, const char *, cap);
    if (c->nlocals)
      memcpy(n, c->locals, sizeof *n * (size_t)c->nlocals);
    c->locals = n;
    c->cap_locals = cap;
  }
  c->locals[c->nlocals++] = name;
}

/* The name bound by an assignment target, or NULL. */
const char *ast_name_id(PyObject *t) {
  if (!ast_is(t, K_Name))
    return NULL;
  PyObject *id = ast_opt(t, "id");
  const char *s = id && PyUnicode_Check(id) ? PyUnicode_AsUTF8(id) : NULL;
  const char *r = s ? intern(s) : NULL;
  if (!s)
    PyErr_Clear();
  Py_XDECREF(id);
  return r;
}

static int global_index(Conv *c, const char *chain, Span sp) {
  Func *f = c->f;
  for (int i = 0; i < f->nglobals; i++)
    if (f->globals[i].chain == chain)
      return i;
  if (f->nglobals == c->cap_globals) {
    int cap = c->cap_globals ? 2 * c->cap_globals : 8;
    GlobalRef *n = ARENA_ARRAY(c->a, GlobalRef, cap);
    if (f->nglobals)
      memcpy(n, f->globals, sizeof *n * (size_t)f->nglobals);
    f->globals = n;
    c->cap_globals = cap;
  }
  GlobalRef *g = &f->globals[f->nglobals];
  g->chain = chain;
  g->span = sp;
  g->res.kind = GK_UNRESOLVED;
  return f->nglobals++;
}

/* Append the dotted chain of `o` to `out` if it is a free name or an
 * attribute chain rooted at one ("np.exp"); false otherwise. */
static bool global_chain(Conv *c, PyObject *o, Buf *out, int depth) {
  if (depth > MAX_DEPTH || c->failed)
    return false;
  if (ast_is(o, K_Name)) {
    const char *id = ast_name_id(o);
    if (!id || conv_is_local(c, id))
      return false;
    buf_puts(out, id);
    return true;
  }
  if (!ast_is(o, K_Attribute))
    return false;
  PyObject *v = ast_opt(o, "value");
  PyObject *at = ast_opt(o, "attr");
  bool ok = v && at && PyUnicode_Check(at) && global_chain(c, v, out, depth + 1);
  const char *s = ok ? PyUnicode_AsUTF8(at) : NULL;
  if (s) {
    buf_putc(out, '.');
    buf_puts(out, s);
  }
  PyErr_Clear();
  Py_XDECREF(v);
  Py_XDECREF(at);
  return s != NULL;
}

/* ---- expressions ------------------------------------------------------------ */
Node *conv_expr_field(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *v = ast_field(c, o, name, sp);
  if (!v)
    return NULL;
  Node *n = conv_expr(c, v, sp);
  Py_DECREF(v);
  return n;
}

/* An optional expression field (slice bounds): NULL when absent. */
static Node *opt_expr_field(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *v = ast_opt(o, name);
  if (!v)
    return NULL;
  Node *n = conv_expr(c, v, sp);
  Py_DECREF(v);
  return n;
}

Node *conv_binary(Conv *c, Op op, Node *l, Node *r, Span sp) {
  Node *n = conv_node(c, N_BINARY, sp);
  n->op = op;
  n->lhs = l;
  n->rhs = r;
  return n;
}

static Node *constant(Conv *c, PyObject *o, Span sp) {
  PyObject *v = ast_opt(o, "value");
  Node *n = NULL;
  if (!v || v == Py_None) {
    conv_error(c, DIAG_RUNTIME, sp, "the literal None is not supported");
  } else if (PyBool_Check(v)) {
    n = conv_node(c, N_BOOL, sp);
    n->val.elem = EL_BOOL;
    n->val.b = v == Py_True;
  } else if (PyLong_Check(v)) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    n = conv_node(c, N_INT, sp);
    n->val.elem = EL_I64;
    n->val.i = x;
    if (overflow > 0) {
      unsigned long long u = PyLong_AsUnsignedLongLong(v);
      n->val.elem = EL_U64;
      n->val.u = u;
      if (PyErr_Occurred())
        overflow = -1;
    }
    if (overflow < 0 || PyErr_Occurred()) {
      conv_error(c, DIAG_VALUE, sp, "the integer literal is too large: it does not fit in 64 bits");
      n = NULL;
    }
  } else if (PyFloat_Check(v)) {
    n = conv_node(c, N_FLOAT, sp);
    n->val.elem = EL_F64;
    n->val.f = PyFloat_AsDouble(v);
  } else if (PyUnicode_Check(v)) {
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(v, &len);
    if (!s || strlen(s) != (size_t)len) {
      conv_error(c, DIAG_RUNTIME, sp, "string literals with NUL characters are not supported");
    } else {
      n = conv_node(c, N_STR, sp);
      n->str = intern_n(s, (size_t)len);
    }
  } else if (PyBytes_Check(v)) {
    conv_error(c, DIAG_RUNTIME, sp, "Unsupported literal value: bytes literals are not supported");
  } else if (PyComplex_Check(v)) {
    conv_error(c, DIAG_RUNTIME, sp, "Unsupported literal value: complex literals are not supported");
  } else if (v == Py_Ellipsis) {
    conv_error(c, DIAG_RUNTIME, sp, "the literal '...' (Ellipsis) is not supported");
  } else {
    conv_error(c, DIAG_RUNTIME, sp, "literals of type '%s' are not supported", ast_type_name(v));
  }
  Py_XDECREF(v);
  return c->failed ? NULL : n;
}

static Node *name_expr(Conv *c, PyObject *o, Span sp) {
  const char *id = ast_str(c, o, "id", sp);
  if (!id)
    return NULL;
  if (conv_is_local(c, id)) {
    Node *n = conv_node(c, N_NAME, sp);
    n->name = id;
    return n;
  }
  Node *n = conv_node(c, N_GLOBAL, sp);
  n->gidx = global_index(c, id, sp);
  return n;
}

static Node *attribute(Conv *c, PyObject *o, Span sp) {
  Buf chain;
  buf_init(&chain);
  bool global = global_chain(c, o, &chain, 0);
  Node *n;
  if (global) {
    n = conv_node(c, N_GLOBAL, sp);
    n->gidx = global_index(c, intern(buf_cstr(&chain)), sp);
  } else {
    n = conv_node(c, N_ATTR, sp);
    n->lhs = conv_expr_field(c, o, "value", sp);
    n->name = ast_str(c, o, "attr", sp);
  }
  buf_free(&chain);
  return c->failed ? NULL : n;
}

static Node *unary(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_UNARY, sp);
  n->op = ast_op_field(c, o, sp);
  if (!c->failed)
    n->lhs = conv_expr_field(c, o, "operand", sp);
  return c->failed ? NULL : n;
}

static Node *binop(Conv *c, PyObject *o, Span sp) {
  Node *l = conv_expr_field(c, o, "left", sp);
  Op op = c->failed ? OP_NONE : ast_op_field(c, o, sp);
  Node *r = c->failed ? NULL : conv_expr_field(c, o, "right", sp);
  return c->failed ? NULL : conv_binary(c, op, l, r, sp);
}

/* `a and b and c` folds to the left: (a and b) and c. */
static Node *boolop(Conv *c, PyObject *o, Span sp) {
  Op op = ast_op_field(c, o, sp);
  PyObject *vs = c->failed ? NULL : ast_list(c, o, "values", sp);
  if (!vs)
    return NULL;
  Node *acc = NULL;
  if (PyTuple_GET_SIZE(vs) < 2)
    conv_malformed(c, sp, "BoolOp with fewer than two values");
  for (Py_ssize_t i = 0; !c->failed && i < PyTuple_GET_SIZE(vs); i++) {
    Node *v = conv_expr(c, PyTuple_GET_ITEM(vs, i), sp);
    acc = !acc ? v : conv_binary(c, op, acc, v, span_join(sp, v ? v->span : sp));
  }
  Py_DECREF(vs);
  return c->failed ? NULL : acc;
}

/* `a < b < c` means `a < b and b < c`; b is cloned (expressions of the
 * subset have no side effects, so evaluating it twice is harmless). */
static Node *compare(Conv *c, PyObject *o, Span sp) {
  Node *left = conv_expr_field(c, o, "left", sp);
  PyObject *ops = c->failed ? NULL : ast_list(c, o, "ops", sp);
  PyObject *rs = c->failed ? NULL : ast_list(c, o, "comparators", sp);
  Node *acc = NULL;
  if (ops && rs && (PyTuple_GET_SIZE(ops) != PyTuple_GET_SIZE(rs) || !PyTuple_GET_SIZE(ops)))
    conv_malformed(c, sp, "Compare with %d operators and %d operands", (int)PyTuple_GET_SIZE(ops),
                   (int)PyTuple_GET_SIZE(rs));
  for (Py_ssize_t i = 0; !c->failed && i < PyTuple_GET_SIZE(ops); i++) {
    Op op = ast_op(c, PyTuple_GET_ITEM(ops, i), sp);
    Node *r = c->failed ? NULL : conv_expr(c, PyTuple_GET_ITEM(rs, i), sp);
    if (c->failed)
      break;
    Node *cmp = conv_binary(c, op, left, r, span_join(left->span, r->span));
    acc = !acc ? cmp : conv_binary(c, OP_AND, acc, cmp, span_join(sp, r->span));
    left = clone_node(c->a, r);
  }
  Py_XDECREF(ops);
  Py_XDECREF(rs);
  return c->failed ? NULL : acc;
}

static Node *ifexp(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_IFEXP, sp);
  n->then = conv_expr_field(c, o, "body", sp);
  if (!c->failed)
    n->cond = conv_expr_field(c, o, "test", sp);
  if (!c->failed)
    n->els = conv_expr_field(c, o, "orelse", sp);
  return c->failed ? NULL : n;
}

/* One index of a subscript: an expression or a slice. */
/* Is `o` the literal None? */
static bool is_none(PyObject *o) {
  if (!ast_is(o, K_Constant))
    return false;
  PyObject *v = PyObject_GetAttrString(o, "value");
  if (!v)
    PyErr_Clear();
  bool r = v == Py_None;
  Py_XDECREF(v);
  return r;
}

static Node *index_expr(Conv *c, PyObject *o, Span parent) {
  if (is_none(o)) { /* x[:, None]: a new axis */
    Node *n = conv_node(c, N_SLICE, ast_span(c, o, parent));
    n->newaxis = true;
    return n;
  }
  if (!ast_is(o, K_Slice))
    return conv_expr(c, o, parent);
  Span sp = ast_span(c, o, parent);
  Node *n = conv_node(c, N_SLICE, sp);
  n->lo = opt_expr_field(c, o, "lower", sp);
  if (!c->failed)
    n->hi = opt_expr_field(c, o, "upper", sp);
  if (!c->failed)
    n->step_expr = opt_expr_field(c, o, "step", sp);
  return c->failed ? NULL : n;
}

/* t[()] or t[...] of a parameter: a 0-d array argument for it is passed as
 * an array, which the function may write (args.c). */
static void note_zero_d(Conv *c, const Node *base) {
  if (!base || base->kind != N_NAME)
    return;
  for (int i = 0; i < c->f->nparams; i++)
    if (c->f->params[i].name == base->name)
      c->f->params[i].zero_d = true;
}

static bool is_ellipsis(PyObject *o) {
  if (!ast_is(o, K_Constant))
    return false;
  PyObject *v = PyObject_GetAttrString(o, "value");
  if (!v)
    PyErr_Clear();
  bool r = v == Py_Ellipsis;
  Py_XDECREF(v);
  return r;
}

static Node *subscript(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_SUBSCRIPT, sp);
  n->lhs = conv_expr_field(c, o, "value", sp);
  PyObject *ix = c->failed ? NULL : ast_field(c, o, "slice", sp);
  if (!ix)
    return NULL;
  if (is_ellipsis(ix)) {
    note_zero_d(c, n->lhs); /* t[...]: all of a 0-d array, as t[()] */
  } else if (ast_is(ix, K_Tuple)) {
    Span tsp = ast_span(c, ix, sp);
    PyObject *elts = ast_list(c, ix, "elts", tsp);
    Node **tail = &n->args;
    for (Py_ssize_t i = 0; elts && !c->failed && i < PyTuple_GET_SIZE(elts); i++) {
      *tail = index_expr(c, PyTuple_GET_ITEM(elts, i), tsp);
      if (*tail)
        tail = &(*tail)->next;
    }
    Py_XDECREF(elts);
    if (!n->args)
      note_zero_d(c, n->lhs);
  } else {
    n->args = index_expr(c, ix, sp);
  }
  Py_DECREF(ix);
  return c->failed ? NULL : n;
}

/* The literal value of `axis=` or `ddof=`: an int or a negated int. */
static void int_kwarg(Conv *c, Node *call, PyObject *v, Span sp, bool ddof) {
  bool neg = false;
  PyObject *lit = NULL;
  if (ast_is(v, K_UnaryOp)) {
    PyObject *op = ast_opt(v, "op");
    neg = ast_is(op, K_USub);
    Py_XDECREF(op);
    if (neg)
      lit = ast_opt(v, "operand");
  } else {
    lit = Py_NewRef(v);
  }
  PyObject *val = ast_is(lit, K_Constant) ? ast_opt(lit, "value") : NULL;
  bool is_int = val && PyLong_Check(val) && !PyBool_Check(val);
  int overflow = 0;
  long long x = is_int ? PyLong_AsLongLongAndOverflow(val, &overflow) : 0;
  PyErr_Clear();
  Py_XDECREF(val);
  Py_XDECREF(lit);
  const char *kw = ddof ? "ddof" : "axis";
  if (!is_int || overflow) {
    if (is_int)
      conv_error(c, DIAG_RUNTIME, sp, "the value of '%s=' is out of range", kw);
    else
      conv_error(c, DIAG_RUNTIME, sp, "Expected integer literal value for '%s' keyword argument",
                 kw);
    return;
  }
  if (ddof) {
    if (call->has_ddof)
      conv_error(c, DIAG_RUNTIME, sp, "'ddof=' is given twice");
    call->has_ddof = true;
    call->ddof = neg ? -x : x;
    return;
  }
  if (call->has_axis)
    conv_error(c, DIAG_RUNTIME, sp, "'axis=' is given twice");
  call->has_axis = true;
  call->axis = neg ? -x : x;
}

static void keywords(Conv *c, PyObject *o, Node *call, Span sp) {
  PyObject *kws = ast_list(c, o, "keywords", sp);
  for (Py_ssize_t i = 0; kws && !c->failed && i < PyTuple_GET_SIZE(kws); i++) {
    PyObject *kw = PyTuple_GET_ITEM(kws, i);
    Span ksp = ast_span(c, kw, sp);
    PyObject *arg = ast_opt(kw, "arg");
    PyObject *v = ast_field(c, kw, "value", ksp);
    const char *name = arg && PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    PyErr_Clear();
    if (!v) /* reported */
      name = NULL;
    else if (!arg)
      conv_error(c, DIAG_RUNTIME, ksp, "'**' argument unpacking is not supported in calls");
    else if (!name)
      conv_malformed(c, ksp, "keyword name is not a string");
    else if (strcmp(name, "axis") == 0 || strcmp(name, "ddof") == 0)
      int_kwarg(c, call, v, ksp, name[0] == 'd');
    else if (strcmp(name, "dtype") == 0) { /* np.zeros(K, dtype=...): the second argument */
      Node *d = conv_expr(c, v, ksp);
      if (d)
        *list_tail(&call->args) = d;
    }
    else
      conv_error(c, DIAG_RUNTIME, ksp,
                 "Unsupported keyword argument in call: %s (keyword arguments are not supported; "
                 "pass arguments by position; only reductions accept 'axis=', np.var and "
                 "np.std 'ddof=', and np.zeros/np.empty 'dtype=')",
                 name);
    Py_XDECREF(arg);
    Py_XDECREF(v);
  }
  Py_XDECREF(kws);
}

static Node *call(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_CALL, sp);
  n->lhs = conv_expr_field(c, o, "func", sp);
  PyObject *args = c->failed ? NULL : ast_list(c, o, "args", sp);
  Node **tail = &n->args;
  for (Py_ssize_t i = 0; args && !c->failed && i < PyTuple_GET_SIZE(args); i++) {
    PyObject *a = PyTuple_GET_ITEM(args, i);
    if (ast_is(a, K_Starred)) {
      conv_error(c, DIAG_RUNTIME, ast_span(c, a, sp),
                 "argument unpacking ('*args') is not supported in calls");
      break;
    }
    *tail = conv_expr(c, a, sp);
    if (*tail)
      tail = &(*tail)->next;
  }
  Py_XDECREF(args);
  if (!c->failed)
    keywords(c, o, n, sp);
  return c->failed ? NULL : n;
}

static Node *tuple(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_TUPLE, sp);
  PyObject *elts = ast_list(c, o, "elts", sp);
  Node **tail = &n->args;
  for (Py_ssize_t i = 0; elts && !c->failed && i < PyTuple_GET_SIZE(elts); i++) {
    *tail = conv_expr(c, PyTuple_GET_ITEM(elts, i), sp);
    if (*tail)
      tail = &(*tail)->next;
  }
  Py_XDECREF(elts);
  return c->failed ? NULL : n;
}

static Node *expr_kind(Conv *c, PyObject *o, int k, Span sp) {
  switch (k) {
  case K_Constant: return constant(c, o, sp);
  case K_Name: return name_expr(c, o, sp);
  case K_Attribute: return attribute(c, o, sp);
  case K_UnaryOp: return unary(c, o, sp);
  case K_BinOp: return binop(c, o, sp);
  case K_BoolOp: return boolop(c, o, sp);
  case K_Compare: return compare(c, o, sp);
  case K_IfExp: return ifexp(c, o, sp);
  case K_Subscript: return subscript(c, o, sp);
  case K_Call: return call(c, o, sp);
  case K_Tuple: return tuple(c, o, sp);
  }
  if (k >= 0 && ast_unsupported[k])
    conv_error(c, DIAG_RUNTIME, sp, "%s", ast_unsupported[k]);
  else if (ast_classes[K_expr] && PyObject_IsInstance(o, ast_classes[K_expr]) > 0)
    conv_error(c, DIAG_RUNTIME, sp, "'%s' expressions are not supported", ast_type_name(o));
  else
    conv_malformed(c, sp, "expected an expression, found %s", ast_type_name(o));
  return NULL;
}

Node *conv_expr(Conv *c, PyObject *o, Span parent) {
  if (c->failed)
    return NULL;
  Span sp = ast_span(c, o, parent);
  if (++c->depth > MAX_DEPTH)
    conv_error(c, DIAG_RUNTIME, sp, "the code is nested too deeply (more than %d levels)",
               MAX_DEPTH);
  Node *n = c->failed ? NULL : expr_kind(c, o, ast_kind(o, EXPRS), sp);
  c->depth--;
  return c->failed ? NULL : n;
}
