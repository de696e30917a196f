/* pyast.c - the front end: a CPython ast.FunctionDef to a Func.
 *
 * Walks the `ast` objects with the C API, the way CPython's Python/ast.c
 * does, and checks syntax only: what a name means is decided later, once the
 * Python layer has looked up the globals collected here.  This file has the
 * statements and the function; pyexpr.c the expressions, pyread.c the
 * defensive readers (a hand-built tree gets a Diag, never a crash). */
#include <string.h>

#include "pyread.h"

/* ---- local names ---------------------------------------------------------- */
static void collect_list(Conv *c, PyObject *o, const char *name, int depth);

static void collect_target(Conv *c, PyObject *s, const char *name) {
  PyObject *t = ast_opt(s, name);
  conv_add_local(c, ast_name_id(t));
  Py_XDECREF(t);
}

static void collect_elts(Conv *c, PyObject *tuple) {
  PyObject *es = ast_opt(tuple, "elts");
  PyObject *t = es ? PySequence_Tuple(es) : NULL;
  if (!t)
    PyErr_Clear();
  for (Py_ssize_t i = 0; t && i < PyTuple_GET_SIZE(t); i++)
    conv_add_local(c, ast_name_id(PyTuple_GET_ITEM(t, i)));
  Py_XDECREF(t);
  Py_XDECREF(es);
}

/* Python scoping: every name assigned anywhere in the body is local in the
 * whole body.  Tolerant of malformed trees: the conversion reports those. */
static void collect_locals(Conv *c, PyObject *s, int depth) {
  switch (ast_kind(s, STMTS)) {
  case K_Assign: {
    PyObject *ts = ast_opt(s, "targets");
    PyObject *t = ts ? PySequence_Tuple(ts) : NULL;
    if (!t)
      PyErr_Clear();
    for (Py_ssize_t i = 0; t && i < PyTuple_GET_SIZE(t); i++) {
      PyObject *ti = PyTuple_GET_ITEM(t, i);
      conv_add_local(c, ast_name_id(ti));
      if (ast_is(ti, K_Tuple) || ast_is(ti, K_List)) /* a, b = ... */
        collect_elts(c, ti);
    }
    Py_XDECREF(t);
    Py_XDECREF(ts);
    break;
  }
  case K_AugAssign:
  case K_AnnAssign: collect_target(c, s, "target"); break;
  case K_For: collect_target(c, s, "target"); /* fall through */
  case K_While:
  case K_If:
    collect_list(c, s, "body", depth + 1);
    collect_list(c, s, "orelse", depth + 1);
    break;
  case K_With: collect_list(c, s, "body", depth + 1); break;
  default: break;
  }
}

static void collect_list(Conv *c, PyObject *o, const char *name, int depth) {
  if (depth > MAX_DEPTH)
    return;
  PyObject *v = ast_opt(o, name);
  PyObject *t = v ? PySequence_Tuple(v) : NULL;
  if (!t)
    PyErr_Clear();
  for (Py_ssize_t i = 0; t && i < PyTuple_GET_SIZE(t); i++)
    collect_locals(c, PyTuple_GET_ITEM(t, i), depth);
  Py_XDECREF(t);
  Py_XDECREF(v);
}

/* ---- statements ----------------------------------------------------------- */
static Node *stmt_list(Conv *c, PyObject *o, const char *name, Span sp, bool func_body);

/* An assignment target: a variable, an element/slice or an attribute. */
static Node *target(Conv *c, PyObject *t, Span parent) {
  int k = ast_kind(t, EXPRS);
  if (k == K_Name || k == K_Subscript || k == K_Attribute)
    return conv_expr(c, t, parent);
  Span sp = ast_span(c, t, parent);
  if (k == K_Tuple || k == K_List || k == K_Starred)
    conv_error(c, DIAG_RUNTIME, sp,
               "Unsupported form of assignment: nested or starred tuple targets are not "
               "supported; assign each variable separately");
  else
    conv_error(c, DIAG_RUNTIME, sp, "Unsupported form of assignment: cannot assign to this "
               "expression");
  return NULL;
}

static Node *assign1(Conv *c, Node *lhs, Node *rhs, Span sp) {
  Node *n = conv_node(c, N_ASSIGN, sp);
  n->lhs = lhs;
  n->rhs = rhs;
  return n;
}

/* A fresh local for one value of a multiple assignment: `a'3` (no Python
 * name has a quote, and the C printer makes it a C name). */
static Node *temp_name(Conv *c, Node *target, Span sp) {
  Node *n = conv_node(c, N_NAME, sp);
  const char *base = target && target->kind == N_NAME ? target->name : "t";
  n->name = intern(arena_printf(c->a, "%s'%d", base, ++c->ntemps));
  conv_add_local(c, n->name);
  return n;
}

/* Is the Python call `o` divmod(a, b) (builtins.divmod or np.divmod)? */
static bool is_divmod(Conv *c, PyObject *o, Span sp) {
  if (!ast_is(o, K_Call))
    return false;
  PyObject *f = ast_opt(o, "func");
  const char *name = NULL;
  if (f && ast_is(f, K_Name))
    name = ast_name_id(f);
  else if (f && ast_is(f, K_Attribute))
    name = ast_str(c, f, "attr", sp);
  Py_XDECREF(f);
  return name && strcmp(name, "divmod") == 0 && !conv_is_local(c, name);
}

/* `a, b = e1, e2` (and `q, r = divmod(x, y)`): Python evaluates every value
 * before it assigns any, so each value goes to a fresh local first
 * (`a'1 = e1; b'2 = e2; a = a'1; b = b'2`), which makes swaps and
 * `a, b = b, a + b` right. */
static Node *tuple_assign(Conv *c, PyObject *t, PyObject *v, Span sp) {
  Span tsp = ast_span(c, t, sp), vsp = ast_span(c, v, sp);
  PyObject *elts = ast_list(c, t, "elts", tsp);
  Py_ssize_t n = elts ? PyTuple_GET_SIZE(elts) : 0;
  Node **targets = ARENA_ARRAY(c->a, Node *, n > 0 ? n : 1);
  Node **values = ARENA_ARRAY(c->a, Node *, n > 0 ? n : 1);
  for (Py_ssize_t i = 0; i < n && !c->failed; i++) {
    PyObject *e = PyTuple_GET_ITEM(elts, i);
    int k = ast_kind(e, EXPRS);
    if (k != K_Name && k != K_Subscript)
      conv_error(c, DIAG_RUNTIME, ast_span(c, e, tsp),
                 "Unsupported form of assignment: in a tuple assignment each target must be a "
                 "variable or an array element (no nested tuples or starred targets)");
    else
      targets[i] = conv_expr(c, e, tsp);
  }
  Py_XDECREF(elts);
  if (c->failed)
    return NULL;
  if (is_divmod(c, v, vsp) && n == 2) {
    PyObject *args = ast_list(c, v, "args", vsp);
    if (args && PyTuple_GET_SIZE(args) == 2) {
      Node *x = conv_expr(c, PyTuple_GET_ITEM(args, 0), vsp);
      Node *y = conv_expr(c, PyTuple_GET_ITEM(args, 1), vsp);
      if (!c->failed) {
        values[0] = conv_binary(c, OP_FLOORDIV, x, y, vsp);
        values[1] = conv_binary(c, OP_MOD, clone_node(c->a, x), clone_node(c->a, y), vsp);
      }
    } else if (!c->failed) {
      conv_error(c, DIAG_TYPE, vsp, "divmod() takes 2 arguments");
    }
    Py_XDECREF(args);
  } else if (ast_is(v, K_Tuple)) {
    PyObject *vals = ast_list(c, v, "elts", vsp);
    Py_ssize_t m = vals ? PyTuple_GET_SIZE(vals) : 0;
    if (vals && m != n)
      conv_error(c, DIAG_VALUE, vsp, "cannot unpack %d values into %d targets", (int)m, (int)n);
    for (Py_ssize_t i = 0; i < m && !c->failed; i++)
      values[i] = conv_expr(c, PyTuple_GET_ITEM(vals, i), vsp);
    Py_XDECREF(vals);
  } else if (!c->failed) {
    conv_error(c, DIAG_RUNTIME, vsp,
               "a tuple assignment needs a tuple of values ('a, b = b, a') or divmod(x, y) on "
               "the right");
  }
  if (c->failed)
    return NULL;
  Node *head = NULL, **tail = &head;
  Node **temps = ARENA_ARRAY(c->a, Node *, n);
  for (Py_ssize_t i = 0; i < n; i++) {
    temps[i] = temp_name(c, targets[i], sp);
    *tail = assign1(c, temps[i], values[i], sp);
    tail = &(*tail)->next;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    *tail = assign1(c, targets[i], clone_node(c->a, temps[i]), sp);
    tail = &(*tail)->next;
  }
  return head;
}

/* `a = b = e`: e once, then every target from left to right, as Python. */
static Node *chained_assign(Conv *c, PyObject *ts, PyObject *o, Span sp) {
  Py_ssize_t n = PyTuple_GET_SIZE(ts);
  Node *rhs = conv_expr_field(c, o, "value", sp);
  Node *first = NULL, **tail = &first;
  Node *tmp = NULL;
  if (rhs && rhs->kind != N_INT && rhs->kind != N_FLOAT && rhs->kind != N_BOOL) {
    tmp = temp_name(c, NULL, sp);
    *tail = assign1(c, tmp, rhs, sp);
    tail = &(*tail)->next;
  }
  for (Py_ssize_t i = 0; i < n && !c->failed; i++) {
    Node *t = target(c, PyTuple_GET_ITEM(ts, i), sp);
    if (!t)
      break;
    *tail = assign1(c, t, tmp ? clone_node(c->a, tmp) : clone_node(c->a, rhs), sp);
    (*tail)->implicit = tmp != NULL || i > 0; /* labels before it name it too (resolve) */
    tail = &(*tail)->next;
  }
  return c->failed ? NULL : first;
}

static Node *assign(Conv *c, PyObject *o, Span sp) {
  PyObject *ts = ast_list(c, o, "targets", sp);
  if (!ts)
    return NULL;
  Node *n = NULL;
  if (PyTuple_GET_SIZE(ts) > 1) {
    n = chained_assign(c, ts, o, sp);
  } else if (PyTuple_GET_SIZE(ts) == 0) {
    conv_malformed(c, sp, "Assign without targets");
  } else if (ast_is(PyTuple_GET_ITEM(ts, 0), K_Tuple) || ast_is(PyTuple_GET_ITEM(ts, 0), K_List)) {
    PyObject *v = ast_field(c, o, "value", sp);
    if (v)
      n = tuple_assign(c, PyTuple_GET_ITEM(ts, 0), v, sp);
    Py_XDECREF(v);
  } else {
    n = conv_node(c, N_ASSIGN, sp);
    n->lhs = target(c, PyTuple_GET_ITEM(ts, 0), sp);
    if (!c->failed)
      n->rhs = conv_expr_field(c, o, "value", sp);
  }
  Py_DECREF(ts);
  return c->failed ? NULL : n;
}

/* `t op= e` becomes `t = t op e`; the target is cloned. */
static Node *aug_assign(Conv *c, PyObject *o, Span sp) {
  PyObject *to = ast_field(c, o, "target", sp);
  Node *t = to ? target(c, to, sp) : NULL;
  Py_XDECREF(to);
  Op op = c->failed ? OP_NONE : ast_op_field(c, o, sp);
  Node *e = c->failed ? NULL : conv_expr_field(c, o, "value", sp);
  if (c->failed)
    return NULL;
  Node *n = conv_node(c, N_ASSIGN, sp);
  n->lhs = t;
  n->rhs = conv_binary(c, op, clone_node(c->a, t), e, sp);
  return n;
}

static bool has_items(Conv *c, PyObject *o, const char *name, Span sp) {
  PyObject *t = ast_list(c, o, name, sp);
  bool r = t && PyTuple_GET_SIZE(t) > 0;
  Py_XDECREF(t);
  return r;
}

static Node *for_stmt(Conv *c, PyObject *o, Span sp) {
  PyObject *t = ast_field(c, o, "target", sp);
  PyObject *it = c->failed ? NULL : ast_field(c, o, "iter", sp);
  Node *n = conv_node(c, N_FOR, sp);
  if (t && !ast_is(t, K_Name))
    conv_error(c, DIAG_RUNTIME, ast_span(c, t, sp),
               "a for-loop must assign to a single variable ('for i in range(n)')");
  else if (t)
    n->name = ast_str(c, t, "id", sp);
  if (it && !c->failed && !ast_is(it, K_Call))
    conv_error(c, DIAG_RUNTIME, ast_span(c, it, sp), "For-loop must iterate using the range builtin: for i in range(...)");
  if (it && !c->failed)
    n->rhs = conv_expr(c, it, sp);
  Py_XDECREF(t);
  Py_XDECREF(it);
  if (!c->failed)
    n->body = stmt_list(c, o, "body", sp, false);
  if (!c->failed && has_items(c, o, "orelse", sp))
    conv_error(c, DIAG_RUNTIME, sp,
               "For-loops with an else-clause are not supported; move the else-block after the "
               "loop");
  return c->failed ? NULL : n;
}

static Node *while_stmt(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_WHILE, sp);
  n->cond = conv_expr_field(c, o, "test", sp);
  if (!c->failed)
    n->body = stmt_list(c, o, "body", sp, false);
  if (!c->failed && has_items(c, o, "orelse", sp))
    conv_error(c, DIAG_RUNTIME, sp,
               "While-loops with an else-clause are not supported; move the else-block after "
               "the loop");
  return c->failed ? NULL : n;
}

/* `elif` arrives as an If nested in orelse and stays that way. */
static Node *if_stmt(Conv *c, PyObject *o, Span sp) {
  Node *n = conv_node(c, N_IF, sp);
  n->cond = conv_expr_field(c, o, "test", sp);
  if (!c->failed)
    n->then = stmt_list(c, o, "body", sp, false);
  if (!c->failed)
    n->els = stmt_list(c, o, "orelse", sp, false);
  return c->failed ? NULL : n;
}

static Node *with_stmt(Conv *c, PyObject *o, Span sp) {
  PyObject *items = ast_list(c, o, "items", sp);
  if (!items)
    return NULL;
  Node *n = conv_node(c, N_WITH, sp);
  if (PyTuple_GET_SIZE(items) != 1) {
    conv_error(c, DIAG_RUNTIME, sp,
               "With statements using multiple items is not supported; write one 'with "
               "parpy.gpu:'");
  } else {
    PyObject *item = PyTuple_GET_ITEM(items, 0);
    PyObject *as = ast_opt(item, "optional_vars");
    if (as)
      conv_error(c, DIAG_RUNTIME, ast_span(c, as, sp),
                 "With statements using the 'as' keyword are not supported; write 'with "
                 "parpy.gpu:'");
    Py_XDECREF(as);
    if (!c->failed)
      n->lhs = conv_expr_field(c, item, "context_expr", sp);
  }
  Py_DECREF(items);
  if (!c->failed)
    n->body = stmt_list(c, o, "body", sp, false);
  return c->failed ? NULL : n;
}

/* Does `e` hold a str constant (1), an Ellipsis (2) or something else (0)? */
static int constant_kind(PyObject *e) {
  if (!ast_is(e, K_Constant))
    return 0;
  PyObject *v = ast_opt(e, "value");
  int r = v && PyUnicode_Check(v) ? 1 : v == Py_Ellipsis ? 2 : 0;
  Py_XDECREF(v);
  return r;
}

/* An expression statement.  A docstring (first statement) and `...` are
 * no-ops in Python and leave no node, like `pass`. */
static Node *expr_stmt(Conv *c, PyObject *o, Span sp, bool first) {
  PyObject *v = ast_field(c, o, "value", sp);
  if (!v)
    return NULL;
  Node *n = NULL;
  int k = constant_kind(v);
  if (k == 1 && !first) {
    conv_error(c, DIAG_RUNTIME, sp,
               "a string is not a statement (only the first statement of the function may be "
               "a docstring)");
  } else if (k == 0) {
    n = conv_node(c, N_EXPR, sp);
    n->lhs = conv_expr(c, v, sp);
  }
  Py_DECREF(v);
  return c->failed ? NULL : n;
}

static Node *return_stmt(Conv *c, PyObject *o, Span sp) {
  PyObject *v = ast_opt(o, "value");
  if (!v) {
    conv_error(c, DIAG_RUNTIME, sp, "Empty return statements are not supported ('return' needs a value)");
    return NULL;
  }
  Node *n = conv_node(c, N_RETURN, sp);
  n->lhs = conv_expr(c, v, sp);
  Py_DECREF(v);
  return c->failed ? NULL : n;
}

static Node *stmt_kind(Conv *c, PyObject *o, int k, Span sp, bool first) {
  switch (k) {
  case K_Assign: return assign(c, o, sp);
  case K_AugAssign: return aug_assign(c, o, sp);
  case K_For: return for_stmt(c, o, sp);
  case K_While: return while_stmt(c, o, sp);
  case K_If: return if_stmt(c, o, sp);
  case K_With: return with_stmt(c, o, sp);
  case K_Expr: return expr_stmt(c, o, sp, first);
  case K_Return: return return_stmt(c, o, sp);
  case K_Pass: return NULL;
  }
  if (k >= 0 && ast_unsupported[k])
    conv_error(c, DIAG_RUNTIME, sp, "%s", ast_unsupported[k]);
  else if (ast_classes[K_stmt] && PyObject_IsInstance(o, ast_classes[K_stmt]) > 0)
    conv_error(c, DIAG_RUNTIME, sp, "'%s' statements are not supported in ParPy functions",
               ast_type_name(o));
  else
    conv_malformed(c, sp, "expected a statement, found %s", ast_type_name(o));
  return NULL;
}

static Node *stmt(Conv *c, PyObject *o, Span parent, bool first) {
  Span sp = ast_span(c, o, parent);
  if (++c->depth > MAX_DEPTH)
    conv_error(c, DIAG_RUNTIME, sp, "the code is nested too deeply (more than %d levels)",
               MAX_DEPTH);
  Node *n = c->failed ? NULL : stmt_kind(c, o, ast_kind(o, STMTS), sp, first);
  c->depth--;
  return c->failed ? NULL : n;
}

/* A statement list field; dropped statements (pass, docstring) leave no node. */
static Node *stmt_list(Conv *c, PyObject *o, const char *name, Span sp, bool func_body) {
  PyObject *t = ast_list(c, o, name, sp);
  Node *head = NULL, **tail = &head;
  for (Py_ssize_t i = 0; t && !c->failed && i < PyTuple_GET_SIZE(t); i++) {
    *tail = stmt(c, PyTuple_GET_ITEM(t, i), sp, func_body && i == 0);
    while (*tail) /* a tuple assignment is several statements */
      tail = &(*tail)->next;
  }
  Py_XDECREF(t);
  return c->failed ? NULL : head;
}

/* ---- the function ------------------------------------------------------------- */

/* The error for the first item of a list field, if it has any. */
static void reject_items(Conv *c, PyObject *args, const char *name, Span sp, const char *msg) {
  PyObject *t = ast_list(c, args, name, sp);
  if (t && PyTuple_GET_SIZE(t) > 0 && !c->failed) {
    PyObject *first = PyTuple_GET_ITEM(t, 0);
    conv_error(c, DIAG_RUNTIME, first == Py_None ? sp : ast_span(c, first, sp), "%s", msg);
  }
  Py_XDECREF(t);
}

static void add_params(Conv *c, PyObject *list, Span sp) {
  Func *f = c->f;
  Py_ssize_t n = PyTuple_GET_SIZE(list);
  Param *ps = ARENA_ARRAY(c->a, Param, f->nparams + n + 1);
  if (f->nparams)
    memcpy(ps, f->params, sizeof *ps * (size_t)f->nparams);
  f->params = ps;
  for (Py_ssize_t i = 0; i < n && !c->failed; i++) {
    PyObject *arg = PyTuple_GET_ITEM(list, i);
    Param *p = &f->params[f->nparams++];
    p->span = ast_span(c, arg, sp);
    p->name = ast_str(c, arg, "arg", p->span);
    conv_add_local(c, p->name);
  }
}

static void params(Conv *c, PyObject *fndef, Span sp) {
  PyObject *args = ast_field(c, fndef, "args", sp);
  if (!args)
    return;
  for (int i = 0; i < 2 && !c->failed; i++) {
    PyObject *t = ast_list(c, args, i == 0 ? "posonlyargs" : "args", sp);
    if (t)
      add_params(c, t, sp);
    Py_XDECREF(t);
  }
  reject_items(c, args, "defaults", sp, "default parameter values are not supported");
  PyObject *va = c->failed ? NULL : ast_opt(args, "vararg");
  if (va)
    conv_error(c, DIAG_RUNTIME, ast_span(c, va, sp), "'*args' parameters are not supported");
  Py_XDECREF(va);
  reject_items(c, args, "kwonlyargs", sp, "keyword-only parameters are not supported");
  PyObject *kw = c->failed ? NULL : ast_opt(args, "kwarg");
  if (kw)
    conv_error(c, DIAG_RUNTIME, ast_span(c, kw, sp), "'**kwargs' parameters are not supported");
  Py_XDECREF(kw);
  Py_DECREF(args);
}

static void function(Conv *c, PyObject *fndef) {
  Func *f = c->f;
  Span none = {0};
  int k = ast_kind(fndef, K_FunctionDef, K_AsyncFunctionDef);
  if (k == K_AsyncFunctionDef) {
    conv_error(c, DIAG_RUNTIME, ast_span(c, fndef, none), "async functions are not supported");
    return;
  }
  if (k != K_FunctionDef) {
    conv_malformed(c, none, "expected a FunctionDef, found %s", ast_type_name(fndef));
    return;
  }
  f->name = ast_str(c, fndef, "name", none);
  f->src.func = f->name;
  f->span = ast_span(c, fndef, none);
  if (c->failed)
    return;
  reject_items(c, fndef, "type_params", f->span,
               "type parameters ('def f[T](...)') are not supported");
  if (!c->failed)
    params(c, fndef, f->span);
  if (c->failed)
    return;
  collect_list(c, fndef, "body", 0);
  f->body = stmt_list(c, fndef, "body", f->span, true);
}

Func *front_parse(PyObject *fndef, const char *file, const char *text, int line_off, int col_off,
                  Diag *d, Arena *diag_arena) {
  Func *f = calloc(1, sizeof *f);
  if (!f) {
    diag_error(d, diag_arena, DIAG_INTERNAL, (Span){0}, "out of memory");
    return NULL;
  }
  arena_init(&f->arena);
  f->src.file = arena_strdup(&f->arena, file ? file : "<unknown>");
  f->src.text = text ? arena_strdup(&f->arena, text) : NULL;
  Conv c = {.f = f,
            .a = &f->arena,
            .d = d,
            .darena = diag_arena,
            .line_off = line_off,
            .col_off = col_off};
  if (ast_load_classes(&c))
    function(&c, fndef);
  if (!c.failed && PyErr_Occurred())
    conv_error(&c, DIAG_INTERNAL, f->span, "unexpected Python error while reading the ast");
  PyErr_Clear();
  if (c.failed) {
    func_free(f);
    return NULL;
  }
  return f;
}

void func_free(Func *f) {
  if (!f)
    return;
  arena_free(&f->arena);
  free(f);
}
