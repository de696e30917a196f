/* types_call.c - typing calls: builtins and math functions, reductions,
 * mean/var/std/dot (rewritten into sums), and calls of helper functions
 * and externals (pointer arguments, elementwise calls). */
#include <inttypes.h>

#include "types.h"

/* ---- builtins ---- */

/* NumPy's result type of a float ufunc (exp, sin, ...) for an operand. */
/* The type x with a NumPy scalar's strength (a ufunc's result). */
static Type *strong(Typer *t, Type *x) {
  if (!x->weak)
    return x;
  return shaped(t, x, type_scalar(A(t), x->elem, false));
}

static Type *float_ufunc_type(Typer *t, const Type *s, bool weak_result) {
  Elem fs = t->p->opt.float_size;
  if (weak_result)
    return type_scalar(A(t), fs, true);
  if (elem_is_float(s->elem))
    return type_scalar(A(t), s->elem, false);
  if (s->weak && s->elem != EL_BOOL) /* np.exp(True) is float16, as of np.bool_ */
    return type_scalar(A(t), fs, false);
  Elem e = s->elem == EL_BOOL || elem_size(s->elem) == 1 ? EL_F16
           : elem_size(s->elem) == 2                     ? EL_F32
                                                         : EL_F64;
  return type_scalar(A(t), e, false);
}

/* python: Python's builtin sum, which adds to the int 0 one element at a
 * time (NEP 50: in the elements' type, so uint8 wraps; bools count as ints). */
static Elem reduce_elem(Builtin b, Elem e, bool python) {
  if (b == B_MAX || b == B_MIN || elem_is_float(e))
    return e;
  if (python && e != EL_BOOL)
    return e;
  if (e == EL_BOOL || elem_is_signed(e))
    return EL_I64;
  return EL_U64;
}

static Type *ty_reduction(Typer *t, Node *n, Type *a) {
  if (!is_array(a))
    return terr(t, DIAG_TYPE, n->span,
                "%s() reduces an array or a slice such as x[i, :]; got a %s", builtin_name(n->builtin),
                tstr(t, a));
  Elem e = reduce_elem(n->builtin, a->elem, n->weak_result);
  if (!n->has_axis) {
    if (type_numel(a) == 0 && (n->builtin == B_MAX || n->builtin == B_MIN))
      return terr(t, DIAG_VALUE, n->span, "zero-size array to reduction operation %s which has no identity",
                  builtin_name(n->builtin));
    return type_scalar(A(t), e, false);
  }
  int64_t ax = n->axis;
  if (ax < -a->rank || ax >= a->rank)
    return terr(t, DIAG_VALUE, n->span, "axis %" PRId64 " is out of bounds for array of dimension %d",
                ax, a->rank);
  if (ax < 0)
    ax += a->rank;
  if (t->final)
    n->axis = ax;
  if (a->shape[ax] == 0 && (n->builtin == B_MAX || n->builtin == B_MIN))
    return terr(t, DIAG_VALUE, n->span, "zero-size array to reduction operation %s which has no identity",
                builtin_name(n->builtin));
  if (a->rank == 1 && !n->keepdims)
    return type_scalar(A(t), e, false);
  int64_t shape[64];
  int r = 0;
  for (int k = 0; k < a->rank; k++)
    if (k != ax || n->keepdims) /* keepdims: extent 1, broadcasting along the axis */
      shape[r++] = k == ax ? 1 : a->shape[k];
  return type_array(A(t), e, r, shape);
}

static Type *ty_stats(Typer *t, Node **np);

static bool two_args(Builtin b) {
  return b == B_ATAN2 || b == B_HYPOT || b == B_COPYSIGN || b == B_FMOD || b == B_FMAX ||
         b == B_FMIN;
}

static bool float_unary(Builtin b) {
  return (b >= B_EXP && b <= B_TANH) || (b >= B_LOG2 && b <= B_RINT);
}

/* fmod, fmax, fmin: NumPy's promotion of the operands, floats or ints
 * (math.fmod: Python floats). */
static Type *ty_arith2(Typer *t, Node *n, Type *a, Type *b) {
  bool ok;
  const Type *shape = broadcast(t, a, b, n->span, &ok);
  if (!ok)
    return NULL;
  Type *r = promote(A(t), scalar_of(t, a), scalar_of(t, b));
  if (n->weak_result)
    r = type_scalar(A(t), t->p->opt.float_size, true);
  if (r->elem == EL_BOOL)
    return terr(t, DIAG_TYPE, n->span, "%s() of booleans is not supported", builtin_name(n->builtin));
  convert(t, &n->args, r);
  convert(t, &n->args->next, r);
  return shaped(t, shape, r);
}

/* sign, square, reciprocal, trunc/round (NumPy: same type; math.trunc and
 * Python's round(x): a Python int), isnan/isinf/isfinite (bool). */
static Type *ty_same(Typer *t, Node *n, Type *a, Type *s) {
  Builtin b = n->builtin;
  if (b == B_ISNAN || b == B_ISINF || b == B_ISFINITE)
    return shaped(t, a, type_scalar(A(t), EL_BOOL, n->weak_result));
  if (s->elem == EL_BOOL && b != B_TRUNC && b != B_ROUND)
    return terr(t, DIAG_TYPE, n->span, "%s() of booleans is not supported", builtin_name(b));
  if (b == B_RECIPROCAL && !elem_is_float(s->elem))
    return terr(t, DIAG_TYPE, n->span,
                "reciprocal() of integers is not supported (NumPy's integer reciprocal truncates "
                "to 0); write 1.0 / x");
  if ((b == B_TRUNC || b == B_ROUND) && n->weak_result) {
    if (is_array(a))
      return terr(t, DIAG_TYPE, n->span, "%s() of an array is not supported; use np.%s",
                  builtin_name(b), b == B_ROUND ? "round" : "trunc");
    return type_scalar(A(t), t->p->opt.int_size, true);
  }
  return a;
}

/* np.zeros(shape, dtype) / np.empty: an array of compile-time extents. */
static Type *ty_alloc(Typer *t, Node *n) {
  Node *sh = n->args;
  Node **dims = sh->kind == N_TUPLE ? &sh->args : &n->args;
  int64_t shape[8];
  int rank = 0;
  for (Node **d = dims; *d; d = &(*d)->next) {
    if (rank == 8)
      return terr(t, DIAG_TYPE, n->span, "a local array has at most 8 dimensions");
    Type *dt = ty_expr(t, d);
    int64_t v;
    if (!dt)
      return NULL;
    if (!is_scalar(dt) || !elem_is_int(dt->elem) || !const_int(*d, &v))
      return terr(t, DIAG_RUNTIME, (*d)->span,
                  "the shape of %s() must be made of compile-time integers (literals, scalar "
                  "arguments, x.shape[k]) so that the array can live in registers or on the stack",
                  builtin_name(n->builtin));
    if (v < 0)
      return terr(t, DIAG_VALUE, (*d)->span, "negative dimensions are not allowed");
    shape[rank++] = v;
    if (d == &n->args)
      break; /* a single extent, not a tuple */
  }
  return type_array(A(t), n->elem, rank, shape);
}

Type *ty_builtin(Typer *t, Node **np) {
  Node *n = *np;
  if (n->builtin >= B_MEAN && n->builtin <= B_DOT)
    return ty_stats(t, np);
  if (n->builtin == B_ZEROS || n->builtin == B_EMPTY)
    return ty_alloc(t, n);
  int nargs = list_len(n->args);
  int want = two_args(n->builtin) ? 2 : 1;
  if (nargs != want)
    return terr(t, DIAG_TYPE, n->span, "%s() takes %d argument%s, got %d", builtin_name(n->builtin),
                want, want == 1 ? "" : "s", nargs);
  if (n->has_axis && !(n->builtin >= B_SUM && n->builtin <= B_MIN))
    return terr(t, DIAG_TYPE, n->span, "%s() does not take axis=", builtin_name(n->builtin));
  Type *a = ty_expr(t, &n->args);
  Type *b = want == 2 ? ty_expr(t, &n->args->next) : NULL;
  if (!a || (want == 2 && !b))
    return NULL;
  if (!is_num(a) || (b && !is_num(b)))
    return terr(t, DIAG_TYPE, n->span, "%s() is not supported for %s", builtin_name(n->builtin),
                tstr(t, is_num(a) ? b : a));
  Type *s = scalar_of(t, a);
  if (float_unary(n->builtin)) {
    Type *r = float_ufunc_type(t, s, n->weak_result);
    convert(t, &n->args, r);
    return shaped(t, a, r);
  }
  if (n->builtin >= B_TRUNC && n->builtin <= B_ISFINITE)
    return ty_same(t, n, a, s);
  if (n->builtin == B_FMOD && !n->weak_result)
    return ty_arith2(t, n, a, b);
  if (n->builtin == B_FMAX || n->builtin == B_FMIN)
    return ty_arith2(t, n, a, b);
  switch (n->builtin) {
  case B_EXP:
  case B_LOG:
  case B_SIN:
  case B_COS:
  case B_TAN:
  case B_SQRT:
  case B_TANH: {
    Type *r = float_ufunc_type(t, s, n->weak_result);
    convert(t, &n->args, r);
    return shaped(t, a, r);
  }
  case B_FLOOR:
  case B_CEIL:
    if (n->weak_result && !elem_is_float(s->elem) && !s->weak && is_scalar(a)) {
      /* Python's math.floor of a NumPy integer converts it to float first
       * (it has no __floor__), so int64 values above 2**53 round: the same. */
      convert(t, &n->args, type_scalar(A(t), EL_F64, false));
      return type_scalar(A(t), t->p->opt.int_size, true);
    }
    if (!elem_is_float(s->elem)) /* np.floor(n) of a Python int is np.int64 */
      return n->weak_result ? type_scalar(A(t), t->p->opt.int_size, true) : strong(t, a);
    if (n->weak_result)
      return type_scalar(A(t), t->p->opt.int_size, true);
    return a;
  case B_ABS: /* Python's abs keeps a Python int weak; np.absolute's is np.int64 */
    return n->weak_result ? a : strong(t, a);
  case B_HYPOT:
  case B_COPYSIGN:
  case B_FMOD:
  case B_ATAN2: {
    bool ok;
    const Type *shape = broadcast(t, a, b, n->span, &ok);
    if (!ok)
      return NULL;
    Type *r = float_ufunc_type(t, promote(A(t), s, scalar_of(t, b)), n->weak_result);
    convert(t, &n->args, r);
    convert(t, &n->args->next, r);
    return shaped(t, shape, r);
  }
  case B_CONVERT: return shaped(t, a, type_scalar(A(t), n->elem, false));
  case B_INT:
  case B_FLOAT:
  case B_BOOL:
    if (is_array(a))
      return terr(t, DIAG_TYPE, n->span, "%s() of an array is not supported", builtin_name(n->builtin));
    return type_scalar(A(t),
                       n->builtin == B_INT     ? t->p->opt.int_size
                       : n->builtin == B_FLOAT ? t->p->opt.float_size
                                               : EL_BOOL,
                       true);
  case B_LEN: {
    Value v;
    if (!is_array(a) || !const_eval(n, &v))
      return terr(t, DIAG_TYPE, n->span, "len() needs an array");
    if (t->final)
      *np = literal_int(t, v.i, n->span, n->next);
    return type_scalar(A(t), t->p->opt.int_size, true);
  }
  case B_SUM:
  case B_PROD:
  case B_MAX:
  case B_MIN: return ty_reduction(t, n, a);
  default: return terr(t, DIAG_INTERNAL, n->span, "unexpected builtin %d", n->builtin);
  }
}

/* ---- mean, var, std, dot: rewritten into sums ---- */

static Node *mk_call(Typer *t, Builtin b, Node *arg, Span span) {
  Node *c = new_node(A(t), N_BUILTIN, span);
  c->builtin = b;
  c->args = arg;
  arg->next = NULL;
  return c;
}

static Node *mk_op(Typer *t, Op op, Node *l, Node *r) {
  Node *m = new_node(A(t), N_BINARY, l->span);
  m->op = op;
  m->lhs = l;
  m->rhs = r;
  l->next = r->next = NULL;
  return m;
}

/* sum(x)/n, as NumPy's mean: float64 for integers, the float type otherwise. */
static Node *mk_mean(Typer *t, Node *x, bool has_axis, int64_t axis, int64_t count, Span span) {
  Node *s = mk_call(t, B_SUM, x, span);
  s->has_axis = has_axis;
  s->axis = axis;
  if (count < 0) /* var(x, ddof=...) of fewer than ddof + 1 elements: NumPy divides by 0 */
    count = 0;
  Node *k = new_int(A(t), count, span);
  k->val.elem = t->p->opt.int_size;
  return mk_op(t, OP_DIV, s, k);
}

/* The argument's type, without the rewriting and errors of final mode. */
static Type *probe_type(Typer *t, Node *arg) {
  bool fin = t->final;
  t->final = false;
  Node *probe = clone_node(A(t), arg);
  Type *r = ty_expr(t, &probe);
  t->final = fin;
  return r;
}

/* mean(x) = sum(x)/n, var(x) = mean(square(x - mean(x))) (NumPy's own
 * two-pass formula; with ddof=d the last division is by n - d), std =
 * sqrt(var), dot(a, b) = sum(a * b) in the type of a * b.  Along an axis of
 * an N-d slice, the inner mean keeps the axis with extent 1 (keepdims), so
 * x - mean broadcasts along it, and slices.c computes it once per element
 * of the result.  Typed by typing the rewritten expression; final mode
 * installs it. */
static Type *ty_stats(Typer *t, Node **np) {
  Node *n = *np;
  Builtin b = n->builtin;
  int want = b == B_DOT ? 2 : 1, nargs = list_len(n->args);
  if (nargs != want)
    return terr(t, DIAG_TYPE, n->span, "%s() takes %d argument%s, got %d", builtin_name(b), want,
                want == 1 ? "" : "s", nargs);
  if (b == B_DOT && n->has_axis)
    return terr(t, DIAG_TYPE, n->span, "dot() does not take axis=");
  if (n->has_ddof && b != B_VAR && b != B_STD)
    return terr(t, DIAG_TYPE, n->span, "%s() does not take ddof=", builtin_name(b));
  if (n->has_ddof && (n->ddof > ((int64_t)1 << 62) || n->ddof < -((int64_t)1 << 62)))
    return terr(t, DIAG_VALUE, n->span, "ddof=%" PRId64 " is out of range", n->ddof);
  Type *at = probe_type(t, n->args);
  Type *bt = b == B_DOT ? probe_type(t, n->args->next) : NULL;
  if (!at || (b == B_DOT && !bt)) {
    if (t->final && ty_expr(t, &n->args) && (b != B_DOT || ty_expr(t, &n->args->next)))
      return terr(t, DIAG_INTERNAL, n->span, "the argument of %s() has no type", builtin_name(b));
    return NULL;
  }
  if (!is_array(at) || (bt && !is_array(bt)))
    return terr(t, DIAG_TYPE, n->span, "%s() needs an array or a slice such as x[i, :]; got %s",
                builtin_name(b), tstr(t, is_array(at) ? bt : at));
  Span sp = n->span;
  Node *x = t->final ? n->args : clone_node(A(t), n->args);
  Node *y = b == B_DOT ? (t->final ? n->args->next : clone_node(A(t), n->args->next)) : NULL;
  Node *tree;
  if (b == B_DOT) {
    if (at->rank != 1 || bt->rank != 1 || at->shape[0] != bt->shape[0])
      return terr(t, DIAG_VALUE, sp,
                  "dot() and @ take two 1-D slices of the same length here; got shapes %s and %s",
                  tstr(t, at), tstr(t, bt));
    if (at->elem == EL_BOOL || bt->elem == EL_BOOL)
      return terr(t, DIAG_TYPE, sp, "dot() of booleans is not supported");
    tree = mk_call(t, B_CONVERT, mk_call(t, B_SUM, mk_op(t, OP_MUL, x, y), sp), sp);
    tree->elem = promote_elem(at->elem, bt->elem);
  } else {
    /* NumPy sums integers and bools in float64 for these (np.mean(x) is
     * add.reduce(x, dtype=float64) / n), so large values do not wrap. */
    if (!elem_is_float(at->elem)) {
      x = mk_call(t, B_CONVERT, x, sp);
      x->elem = EL_F64;
    }
    int64_t ax = n->axis, count = type_numel(at);
    if (n->has_axis) {
      if (ax < -at->rank || ax >= at->rank)
        return terr(t, DIAG_VALUE, sp, "axis %" PRId64 " is out of bounds for array of dimension %d",
                    ax, at->rank);
      ax = ax < 0 ? ax + at->rank : ax;
      count = at->shape[ax];
    }
    if (b == B_MEAN) {
      tree = mk_mean(t, x, n->has_axis, ax, count, sp);
    } else {
      bool along = n->has_axis && at->rank > 1;
      Node *m = mk_mean(t, clone_node(A(t), x), along, ax, count, sp);
      m->lhs->keepdims = along;
      Node *sq = mk_call(t, B_SQUARE, mk_op(t, OP_SUB, x, m), sp);
      tree = mk_mean(t, sq, along, ax, count - (n->has_ddof ? n->ddof : 0), sp);
      if (b == B_STD)
        tree = mk_call(t, B_SQRT, tree, sp);
    }
  }
  Type *r = ty_expr(t, &tree);
  if (r && t->final) {
    tree->next = n->next;
    *np = tree;
  }
  return r;
}

/* An array passed to a pointer parameter is passed as the address of its
 * first element, and the callee indexes it linearly: that matches the view
 * only when the view is contiguous.  Integer indices on leading dimensions,
 * then at most one slice of step 1, then whole dimensions (x, x[i], x[i, :],
 * x[i, 2:5]).  Checked in final mode, where views are composed. */
bool contiguous_view(const Node *n) {
  if (n->kind != N_SUBSCRIPT)
    return true; /* a whole array or dict field */
  const Type *bt = n->lhs->ty;
  int k = 0;
  const Node *a = n->args;
  while (a && a->kind != N_SLICE)
    a = a->next, k++;
  if (!a)
    return true;
  if (a->sl_step != 1 && a->sl_len > 1)
    return false;
  for (a = a->next, k++; a; a = a->next, k++)
    if (a->kind != N_SLICE || a->sl_start != 0 || a->sl_step != 1 || a->sl_len != bt->shape[k])
      return false;
  return true;
}

static Type *ty_pointer_arg(Typer *t, Node *a, const Type *at, const Type *pt, int k,
                            const char *name) {
  bool elem_ok = (is_array(at) || at->kind == TY_POINTER) && at->elem == pt->elem;
  if (!elem_ok)
    return terr(t, DIAG_TYPE, a->span, "argument %d of %s() must be a %s array, got %s", k + 1,
                name, elem_name(pt->elem), tstr(t, at));
  if (t->final && !contiguous_view(a))
    return terr(t, DIAG_TYPE, a->span,
                "argument %d of %s() is passed as a pointer to its first element, so it must be "
                "a whole array or a contiguous part of one (such as x[i] or x[i, 2:]), not a "
                "strided view",
                k + 1, name);
  return (Type *)pt;
}

/* The arguments of a call against the parameter types: a pointer parameter
 * takes an array of its element type, passed whole; a scalar parameter
 * takes a scalar, converted to its type, or an array, and the call is then
 * elementwise over the broadcast shape of such arrays (*shape, NULL if
 * none).  `exact` (externals, whose C parameters are what they are) refuses
 * floats for integer parameters, which C would silently truncate. */
static bool ty_call_args(Typer *t, Node *n, const char *name, Type *const *params, int nparams,
                         bool exact, const Type **shape) {
  int nargs = list_len(n->args);
  *shape = NULL;
  if (nargs != nparams)
    return terr(t, DIAG_TYPE, n->span, "%s() takes %d argument%s but %d %s given", name, nparams,
                nparams == 1 ? "" : "s", nargs, nargs == 1 ? "was" : "were"),
           false;
  int k = 0;
  for (Node **ap = &n->args; *ap; ap = &(*ap)->next, k++) {
    Type *at = ty_expr(t, ap);
    const Type *pt = params[k];
    if (!at || !pt)
      return false;
    if (pt->kind == TY_POINTER) {
      if (!ty_pointer_arg(t, *ap, at, pt, k, name))
        return false;
      continue;
    }
    if (!is_num(at))
      return terr(t, DIAG_TYPE, (*ap)->span, "argument %d of %s() must be a %s, got %s", k + 1,
                  name, tstr(t, pt), tstr(t, at)),
             false;
    if (exact && elem_is_float(at->elem) && elem_is_int(pt->elem))
      return terr(t, DIAG_TYPE, (*ap)->span,
                  "argument %d of %s() is a %s, but the parameter is %s; convert it explicitly, "
                  "e.g. parpy.operators.%s(...)",
                  k + 1, name, tstr(t, at), elem_name(pt->elem), elem_name(pt->elem)),
             false;
    if (is_array(at)) {
      bool ok;
      *shape = broadcast(t, *shape ? *shape : at, at, (*ap)->span, &ok);
      if (!ok)
        return false;
    }
    convert(t, ap, pt);
  }
  return true;
}

Type *ty_funcall(Typer *t, Node **np) {
  Node *n = *np;
  Fn *f = n->fn;
  Type **params = ARENA_ARRAY(A(t), Type *, f->nparams > 0 ? f->nparams : 1);
  for (int k = 0; k < f->nparams; k++)
    params[k] = f->params[k]->ty;
  const Type *shape;
  if (!ty_call_args(t, n, f->name, params, f->nparams, false, &shape))
    return NULL;
  if (!f->ret)
    return terr(t, DIAG_TYPE, n->span, "the return type of '%s' is unknown", f->name);
  if (f->ret->kind == TY_VOID)
    return terr(t, DIAG_TYPE, n->span, "'%s' returns no value and cannot be used in an expression",
                f->name);
  return shaped(t, shape, f->ret);
}

/* A call of an external: its declared parameter types decide the
 * conversions and its declared result type (strong, as a NumPy scalar of
 * that type would be) the value's type. */
Type *ty_extcall(Typer *t, Node **np) {
  Node *n = *np;
  Extern *e = n->ext;
  const Type *shape;
  if (!ty_call_args(t, n, e->name, e->params, e->nparams, true, &shape))
    return NULL;
  if (!e->ret || e->ret->kind != TY_SCALAR)
    return terr(t, DIAG_TYPE, n->span, "the external '%s' has no scalar return type", e->name);
  return shaped(t, shape, e->ret);
}
