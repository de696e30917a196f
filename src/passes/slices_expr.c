/* slices_expr.c - the slices pass (slices.c) on expressions: an array
 * expression's element as scalar code, NumPy's broadcasting, reductions as
 * loops, and scalar reductions hoisted out of the expressions using them. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "slices.h"

/* ---- scalarising array expressions ---- */

/* The index of view dimension `k` of an operand of rank `rank`, within a
 * nest of `n` loops: aligned from the right; extent 1 broadcasts. */
static Node *dim_index(Lower *L, Node **idx, const int64_t *ext, int n, int rank, int k,
                       int64_t extent, Span span) {
  int j = n - rank + k;
  if (extent == 1 && ext[j] != 1)
    return lit(L, 0, span);
  return clone_node(A(L), idx[j]);
}

static Node *scalarise_view(Lower *L, Node *e, Node **idx, const int64_t *ext, int n) {
  const Type *t = e->ty;
  Node *base = e;
  Node *args = NULL;
  if (e->kind == N_SUBSCRIPT) {
    base = e->lhs;
    args = e->args;
  }
  const Type *bt = base->ty;
  Node head = {0}, *tail = &head;
  int k = 0, b = 0; /* k: view dimension, b: base dimension */
  for (Node *a = args; a; a = a->next, b++) {
    Node *c;
    if (a->kind == N_SLICE && a->newaxis) { /* a dimension of extent 1 of the view only */
      k++;
      b--;
      continue;
    }
    if (a->kind == N_SLICE) {
      Node *i = dim_index(L, idx, ext, n, t->rank, k, t->shape[k], a->span);
      c = affine(L, a->sl_start, a->sl_step, i);
      k++;
    } else {
      c = clone_node(A(L), a);
    }
    tail = tail->next = c;
  }
  for (; b < bt->rank; b++, k++)
    tail = tail->next = dim_index(L, idx, ext, n, t->rank, k, t->shape[k], e->span);
  Node *s = new_node(A(L), N_SUBSCRIPT, e->span);
  s->lhs = base;
  s->args = head.next;
  s->ty = type_scalar(A(L), t->elem, false);
  return s;
}

static Op reduce_op(Builtin b) {
  switch (b) {
  case B_SUM: return OP_ADD;
  case B_PROD: return OP_MUL;
  case B_MAX: return OP_MAX;
  default: return OP_MIN;
  }
}

static Node *convert_to(Lower *L, Node *e, Type *ty) {
  if (e->ty && e->ty->elem == ty->elem)
    return e;
  Node *c = new_node(A(L), N_CONVERT, e->span);
  c->lhs = e;
  c->ty = ty;
  return c;
}

/* The type a reduction of `e` elements accumulates in: bfloat16 in float32,
 * as PyTorch does (the result is rounded to bfloat16 once, at the end). */
static Elem acc_elem(Elem e) { return e == EL_BF16 ? EL_F32 : e; }

/* acc = acc op elem; `py`: Python's builtin max/min, whose comparisons let a
 * NaN elem lose (parpy_pymax). */
static Node *accumulate(Lower *L, Sym *acc, Builtin b, Node *elem, bool py) {
  Node *s = new_node(A(L), N_ASSIGN, elem->span);
  s->lhs = new_var(L->p, acc, elem->span);
  s->rhs = binop(L, reduce_op(b), new_var(L->p, acc, elem->span), convert_to(L, elem, acc->ty),
                 acc->ty);
  s->rhs->weak_result = py;
  return s;
}

Node *assign(Lower *L, Node *lhs, Node *rhs) {
  Node *s = new_node(A(L), N_ASSIGN, rhs->span);
  s->lhs = lhs;
  s->rhs = rhs;
  return s;
}

/* The statements computing a reduction of `arg` (its elements indexed by
 * `prefix` loops plus its own dimensions) into `acc`.  With `flatten` the
 * reduction runs as one loop over all elements (what a label parallelises);
 * otherwise as one loop per dimension. */
static Node *reduction_loops(Lower *L, Sym *acc, Builtin b, Node *arg, Labels labels,
                             bool flatten, bool py, Node ***outer) {
  const Type *t = arg->ty;
  int r = t->rank;
  Node **idx = ARENA_ARRAY(A(L), Node *, r);
  int64_t *ext = t->shape;
  Node *body = NULL, **btail = &body;
  Pre pre = {*outer, &body, NULL};
  Node *loop;
  if (flatten && r > 1) {
    Sym *v = loop_var(L, "r");
    Node *rv = new_var(L->p, v, arg->span);
    int64_t stride = 1;
    for (int k = r - 1; k >= 0; k--) {
      Node *q = stride == 1 ? rv : binop(L, OP_FLOORDIV, rv, lit(L, stride, arg->span), int_type(L));
      idx[k] = k == 0 ? q : binop(L, OP_MOD, q, lit(L, ext[k], arg->span), int_type(L));
      rv = new_var(L->p, v, arg->span);
      stride *= ext[k];
    }
    Node *elem = scalarise(L, arg, idx, ext, r, &pre);
    *outer = pre.outer;
    btail = list_tail(&body);
    append(&btail, accumulate(L, acc, b, elem, py));
    loop = new_loop(L, v, stride, body, arg->span);
    loop->labels = labels;
    loop->red_op = reduce_op(b);
    return loop;
  }
  Sym **vars = ARENA_ARRAY(A(L), Sym *, r);
  for (int k = 0; k < r; k++) {
    vars[k] = loop_var(L, r == 1 ? "r" : arena_printf(A(L), "r%d", k));
    idx[k] = new_var(L->p, vars[k], arg->span);
  }
  Node *elem = scalarise(L, arg, idx, ext, r, &pre);
  *outer = pre.outer;
  btail = list_tail(&body);
  append(&btail, accumulate(L, acc, b, elem, py));
  loop = body;
  for (int k = r - 1; k >= 0; k--) {
    loop = new_loop(L, vars[k], ext[k], loop, arg->span);
    loop->red_op = reduce_op(b);
  }
  loop->labels = labels;
  return loop;
}

/* A reduction along one axis, evaluated for the element `idx` of its result:
 * statements into pre->inner, the value in a fresh accumulator. */
static Node *scalarise_axis_reduction(Lower *L, Node *e, Node **idx, const int64_t *ext, int n,
                                      Pre *pre, Labels labels) {
  Node *arg = e->args;
  const Type *at = arg->ty;
  int ax = (int)e->axis;
  Pre hoisted;
  Node ***back = NULL;
  if (e->keepdims && pre->before) { /* independent of the enclosing reduction's loop */
    back = pre->before;
    hoisted = (Pre){pre->outer, *back, NULL};
    pre = &hoisted;
  }
  Type *acc_ty = type_scalar(A(L), acc_elem(e->ty->elem), false);
  Sym *acc = fn_temp(L->p, L->fn, "acc", acc_ty);
  Sym *r = loop_var(L, "r");
  /* The argument's index: the result's indices with the reduced one inserted. */
  int ar = at->rank;
  Node **aidx = ARENA_ARRAY(A(L), Node *, ar);
  int64_t *aext = ARENA_ARRAY(A(L), int64_t, ar);
  int rr = e->keepdims ? ar : ar - 1; /* rank of the result */
  for (int k = 0, j = 0; k < ar; k++) {
    if (k == ax) {
      aidx[k] = new_var(L->p, r, e->span);
      aext[k] = at->shape[k];
      j += e->keepdims; /* the result's own index there is 0 (extent 1) */
      continue;
    }
    int lj = n - rr + j;
    aidx[k] = at->shape[k] == 1 && ext[lj] != 1 ? lit(L, 0, e->span) : clone_node(A(L), idx[lj]);
    aext[k] = at->shape[k];
    j++;
  }
  Node *body = NULL;
  Pre inner = {pre->outer, &body, &pre->inner};
  Node *elem = scalarise(L, arg, aidx, aext, ar, &inner);
  Node **btail = list_tail(&body);
  append(&btail, accumulate(L, acc, e->builtin, elem, false));
  Node *loop = new_loop(L, r, at->shape[ax], body, e->span);
  loop->red_op = reduce_op(e->builtin);
  loop->labels = labels;
  append(&pre->inner, assign(L, new_var(L->p, acc, e->span), identity_of(A(L), reduce_op(e->builtin), acc_ty, e->span)));
  append(&pre->inner, loop);
  if (back)
    *back = pre->inner;
  return convert_to(L, new_var(L->p, acc, e->span), e->ty);
}

/* NumPy computes `array ** scalar` with a ufunc chosen by the exponent's
 * value (fast_scalar_power): 0.5 is np.sqrt, 2 np.square, -1 np.reciprocal.
 * They differ from pow() for floats: (-inf) ** 0.5 is nan, not inf, and
 * (-0.0) ** 0.5 is -0.0; squares and reciprocals are correctly rounded.
 * Elementwise code follows it for a constant exponent.  (NumPy's scalars use
 * pow(), which is what an element-by-element `x[i] ** 0.5` prints.) */
static Node *numpy_fast_power(Lower *L, Node *c) {
  /* The exponent may be a literal or a scalar parameter the call fixed;
   * np.power's own float32/float64 loops take the same fast paths, its
   * float16 loop does not (pow() in float). */
  Value rv;
  const Node *lit_rhs = c->rhs; /* -1.0 is a negation of 1.0, maybe converted */
  while (lit_rhs->kind == N_CONVERT || (lit_rhs->kind == N_UNARY && lit_rhs->op == OP_NEG))
    lit_rhs = lit_rhs->lhs;
  bool literal = lit_rhs->kind == N_FLOAT || lit_rhs->kind == N_INT;
  if (!elem_is_float(c->ty->elem) || (!literal && c->ty->elem == EL_F16) || c->ty->elem == EL_BF16 ||
      !const_eval(c->rhs, &rv) || !(elem_is_float(rv.elem) || elem_is_signed(rv.elem)))
    return c;
  double v = elem_is_float(rv.elem) ? rv.f : (double)rv.i;
  Node *x = convert_to(L, c->lhs, c->ty);
  if (v == 0.5) {
    Node *s = new_node(A(L), N_BUILTIN, c->span);
    s->builtin = B_SQRT;
    s->args = x;
    s->ty = c->ty;
    return s;
  }
  if (v == -1.0) {
    Node *one = new_node(A(L), N_FLOAT, c->span);
    one->val.elem = c->ty->elem;
    one->val.f = 1.0;
    one->ty = c->ty;
    return binop(L, OP_DIV, one, x, c->ty);
  }
  if (v == 2.0 && (x->kind == N_VAR || x->kind == N_SUBSCRIPT))
    return binop(L, OP_MUL, x, clone_node(A(L), x), c->ty);
  return c;
}

/* Element `idx` of the array expression `e` (or `e` itself if scalar). */
Node *scalarise(Lower *L, Node *e, Node **idx, const int64_t *ext, int n, Pre *pre) {
  if (!e || failed(L->p))
    return e;
  if (!is_array(e->ty)) {
    Node *c = e;
    hoist(L, &c, &pre->outer);
    return c;
  }
  switch (e->kind) {
  case N_VAR:
  case N_FIELD:
  case N_SUBSCRIPT: return scalarise_view(L, e, idx, ext, n);
  case N_BUILTIN:
    if (e->builtin >= B_SUM && e->builtin <= B_MIN) {
      Labels labels = L->red_labels;
      L->red_labels = (Labels){0};
      return scalarise_axis_reduction(L, e, idx, ext, n, pre, labels);
    }
    if (e->builtin == B_ZEROS || e->builtin == B_EMPTY) { /* y[:] = np.zeros(K) */
      Node *z = identity_of(A(L), OP_ADD, type_scalar(A(L), e->ty->elem, false), e->span);
      return z;
    }
    break;
  default: break;
  }
  /* Elementwise: scalarise the array operands, keep the scalar ones. */
  Node *c = ARENA_NEW(A(L), Node);
  *c = *e;
  c->next = NULL;
  c->lhs = scalarise(L, e->lhs, idx, ext, n, pre);
  c->rhs = scalarise(L, e->rhs, idx, ext, n, pre);
  c->cond = scalarise(L, e->cond, idx, ext, n, pre);
  c->then = scalarise(L, e->then, idx, ext, n, pre);
  c->els = scalarise(L, e->els, idx, ext, n, pre);
  Node head = {0}, *tail = &head;
  int k = 0;
  for (Node *a = e->args; a; a = a->next, k++) {
    /* An array passed to a pointer parameter is passed whole. */
    bool whole = (e->kind == N_FUNCALL && e->fn->params[k]->ty->kind == TY_POINTER) ||
                 (e->kind == N_EXTCALL && e->ext->params[k]->kind == TY_POINTER);
    Node *c2 = whole ? clone_node(A(L), a) : scalarise(L, a, idx, ext, n, pre);
    tail = tail->next = c2;
  }
  c->args = head.next;
  c->ty = type_scalar(A(L), e->ty->elem, false);
  if (c->kind == N_BINARY && c->op == OP_POW && !is_array(e->rhs->ty))
    return numpy_fast_power(L, c);
  return c;
}

/* ---- hoisting scalar reductions out of expressions ---- */

bool is_reduction(const Node *n) {
  return n->kind == N_BUILTIN && n->builtin >= B_SUM && n->builtin <= B_MIN;
}

/* acc = max(first element of arg, acc) with Python's comparisons (see
 * hoist_labelled); the first element's own statements, if any, first. */
static Node *first_meets_total(Lower *L, Sym *acc, Builtin b, Node *arg, Span span) {
  int r = arg->ty->rank;
  Node **idx0 = ARENA_ARRAY(A(L), Node *, r);
  for (int k = 0; k < r; k++)
    idx0[k] = lit(L, 0, span);
  Node *outer = NULL, *inner = NULL;
  Pre p0 = {&outer, &inner};
  Node *first = scalarise(L, arg, idx0, arg->ty->shape, r, &p0);
  Node *s = new_node(A(L), N_ASSIGN, span);
  s->lhs = new_var(L->p, acc, span);
  s->rhs = binop(L, reduce_op(b), convert_to(L, first, acc->ty), new_var(L->p, acc, span),
                 acc->ty);
  s->rhs->weak_result = true;
  Node *stmts = NULL, **tail = &stmts;
  if (outer)
    append(&tail, outer);
  if (inner)
    append(&tail, inner);
  append(&tail, s);
  return stmts;
}

/* Replace every scalar-valued reduction in *np by a temporary computed by
 * statements appended to *outer.  `labels` go to the (single) reduction
 * when the statement is a plain reduction statement. */
bool hoist_labelled(Lower *L, Node **np, Node ***outer, Labels labels, Sym *into) {
  Node *n = *np;
  if (!n || failed(L->p))
    return false;
  if (is_reduction(n) && !is_array(n->ty)) {
    Node *arg = n->args;
    Type *acc_ty = n->ty->elem == EL_BF16 ? type_scalar(A(L), EL_F32, false) : n->ty;
    Sym *acc = into ? into : fn_temp(L->p, L->fn, "acc", acc_ty);
    /* Python's builtin max/min of floats (the interpreter iterates the
     * array): the first element, then each later one that compares
     * greater (less).  A NaN is the result when it comes first and loses
     * everywhere else: the loop accumulates with Python's two-argument
     * max/min (a NaN element loses), and then the first element meets the
     * total the same way, max(first, total), which is NaN if first is. */
    bool py = n->weak_result && (n->builtin == B_MAX || n->builtin == B_MIN) &&
              elem_is_float(acc->ty->elem) && arg->ty->rank > 0;
    for (int k = 0; py && k < arg->ty->rank; k++)
      py = arg->ty->shape[k] > 0; /* an empty slice has no first element */
    append(outer, assign(L, new_var(L->p, acc, n->span), identity_of(A(L), reduce_op(n->builtin), acc->ty, n->span)));
    Node *loops = reduction_loops(L, acc, n->builtin, arg, labels, labels.n > 0, py, outer);
    if (py && !failed(L->p))
      loops->next = first_meets_total(L, acc, n->builtin, arg, n->span);
    if (failed(L->p))
      return false;
    append(outer, loops);
    Node *v = convert_to(L, new_var(L->p, acc, n->span), n->ty);
    v->next = n->next;
    *np = v;
    return true;
  }
  /* Only a statement with a single reduction has labels: pass them down. */
  Node **kids[] = {&n->lhs, &n->rhs, &n->cond, &n->then, &n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (*kids[i] && !hoist_labelled(L, kids[i], outer, labels, NULL) && failed(L->p))
      return false;
  for (Node **a = &n->args; *a; a = &(*a)->next)
    if (!hoist_labelled(L, a, outer, labels, NULL) && failed(L->p))
      return false;
  return !failed(L->p);
}

bool hoist(Lower *L, Node **np, Node ***outer) {
  Labels none = {0};
  return hoist_labelled(L, np, outer, none, NULL);
}

int count_reductions(const Node *n) {
  if (!n)
    return 0;
  int k = is_reduction(n) ? 1 : 0;
  k += count_reductions(n->lhs) + count_reductions(n->rhs) + count_reductions(n->cond) +
       count_reductions(n->then) + count_reductions(n->els);
  for (const Node *a = n->args; a; a = a->next)
    k += count_reductions(a);
  return k;
}

/* Reductions not inside another one's argument: the ones a statement's
 * label can go to (sum(max(x[:, :], axis=1)) has one, whose argument's
 * reduction runs per element inside it). */
int count_outer_reductions(const Node *n) {
  if (!n)
    return 0;
  if (is_reduction(n))
    return 1;
  int k = count_outer_reductions(n->lhs) + count_outer_reductions(n->rhs) +
          count_outer_reductions(n->cond) + count_outer_reductions(n->then) +
          count_outer_reductions(n->els);
  for (const Node *a = n->args; a; a = a->next)
    k += count_outer_reductions(a);
  return k;
}
