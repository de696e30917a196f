/* slices.c - turn array-valued expressions into loops over their elements.
 *
 *   y[1:-1] = (x[:-2] + x[2:]) / 3.0   ->  for d0 in range(n-2): y[1+d0] = (x[d0] + x[2+d0]) / 3.0
 *   s = sum(x[i, :])                   ->  s = 0; for r in range(m): s = s + x[i, r]
 *   y[:] = max(x[:, :], axis=1)        ->  for d0: acc = -inf; for r: acc = max(acc, x[d0, r]); y[d0] = acc
 *
 * Operands broadcast as in NumPy: aligned from the right, and a dimension of
 * extent 1 repeats.  A reduction whose value is a scalar does not depend on
 * the loops of the statement it appears in, so it is computed once before
 * them (NumPy evaluates it once too).  Loops over the statement's slice
 * dimensions take its labels in order; the loop of a reduction is marked
 * with its operator (red_op), so that a label with threads makes it a
 * parallel reduction without the user writing .reduce(). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../ast.h"

typedef struct Lower {
  Prog *p;
  Fn *fn;
  Labels red_labels; /* for the axis reduction of the statement being lowered */
  Sym **vars;        /* the loop variables of the slice statement being lowered */
  int nvars;
} Lower;

/* Where a scalarised expression's helper statements go: `outer` before the
 * whole loop nest of the statement, `inner` just before the element is used. */
typedef struct Pre {
  Node **outer;
  Node **inner;
  /* Inside the loop of a reduction along an axis: where statements go that
   * run before that loop (a keepdims reduction along the same axis, the
   * mean of var(x, axis=k), is computed there once, not per element). */
  Node ***before; /* the enclosing Pre's `inner` */
} Pre;

static Node *scalarise(Lower *L, Node *e, Node **idx, const int64_t *ext, int n, Pre *pre);
static bool hoist(Lower *L, Node **np, Node ***outer);

static Arena *A(Lower *L) { return &L->p->arena; }
static bool is_array(const Type *t) { return t && t->kind == TY_ARRAY; }

static Type *int_type(Lower *L) { return type_scalar(A(L), L->p->opt.int_size, true); }

static Node *lit(Lower *L, int64_t v, Span span) {
  Node *n = new_int(A(L), v, span);
  n->val.elem = L->p->opt.int_size;
  n->ty = int_type(L);
  return n;
}

static Node *binop(Lower *L, Op op, Node *a, Node *b, Type *ty) {
  Node *n = new_node(A(L), N_BINARY, a->span);
  n->op = op;
  n->lhs = a;
  n->rhs = b;
  n->ty = ty;
  return n;
}

static void append(Node ***tail, Node *s) {
  **tail = s;
  while (s->next)
    s = s->next;
  *tail = &s->next;
}

static Node *new_loop(Lower *L, Sym *v, int64_t extent, Node *body, Span span) {
  Node *f = new_node(A(L), N_FOR, span);
  f->sym = v;
  f->lo = lit(L, 0, span);
  f->hi = lit(L, extent, span);
  f->step = 1;
  f->body = body;
  return f;
}

static Sym *loop_var(Lower *L, const char *name) {
  Sym *s = fn_temp(L->p, L->fn, name, int_type(L));
  s->kind = SYM_LOOP;
  return s;
}

/* start + step * i, without the trivial parts. */
static Node *affine(Lower *L, int64_t start, int64_t step, Node *i) {
  Node *e = i;
  if (step != 1)
    e = binop(L, OP_MUL, lit(L, step, i->span), e, int_type(L));
  if (start != 0)
    e = binop(L, OP_ADD, lit(L, start, i->span), e, int_type(L));
  return e;
}

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

static Node *assign(Lower *L, Node *lhs, Node *rhs) {
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
  Type *acc_ty = type_scalar(A(L), e->ty->elem, false);
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
  return new_var(L->p, acc, e->span);
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
  if (!elem_is_float(c->ty->elem) || (!literal && c->ty->elem == EL_F16) ||
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
static Node *scalarise(Lower *L, Node *e, Node **idx, const int64_t *ext, int n, Pre *pre) {
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

static bool is_reduction(const Node *n) {
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
static bool hoist_labelled(Lower *L, Node **np, Node ***outer, Labels labels, Sym *into) {
  Node *n = *np;
  if (!n || failed(L->p))
    return false;
  if (is_reduction(n) && !is_array(n->ty)) {
    Node *arg = n->args;
    Sym *acc = into ? into : fn_temp(L->p, L->fn, "acc", n->ty);
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
    Node *v = new_var(L->p, acc, n->span);
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

static bool hoist(Lower *L, Node **np, Node ***outer) {
  Labels none = {0};
  return hoist_labelled(L, np, outer, none, NULL);
}

static int count_reductions(const Node *n) {
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
static int count_outer_reductions(const Node *n) {
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

/* ---- aliasing: y[1:] = y[:-1] ---- */

static const Node *base_of(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  return n;
}

/* Do two views through array variables chosen at run time read the same
 * elements when they name one array?  Only when every binding is a whole
 * array and the subscripts are equal. */
static bool binds_whole(const Node *n, int depth) {
  n = base_of(n);
  if (!n || n->kind != N_VAR || !n->sym->array_ref)
    return true;
  if (depth > 16)
    return false;
  for (int i = 0; i < n->sym->nbinds; i++)
    if (n->sym->binds[i]->kind == N_SUBSCRIPT || !binds_whole(n->sym->binds[i], depth + 1))
      return false;
  return true;
}

static bool same_elements(const Node *a, const Node *b) {
  if (!binds_whole(a, 0) || !binds_whole(b, 0))
    return false;
  const Node *x = a->kind == N_SUBSCRIPT ? a->args : NULL;
  const Node *y = b->kind == N_SUBSCRIPT ? b->args : NULL;
  for (; x && y; x = x->next, y = y->next)
    if (!expr_equal(x, y))
      return false;
  return !x && !y;
}

/* `i` as base + constant (base NULL for a constant), conversions aside. */
static void split_offset(const Node *i, const Node **base, int64_t *c) {
  while (i->kind == N_CONVERT)
    i = i->lhs;
  *base = i;
  *c = 0;
  if (i->kind == N_INT) {
    *base = NULL;
    *c = i->val.i;
  } else if (i->kind == N_BINARY && (i->op == OP_ADD || i->op == OP_SUB) && i->rhs &&
             i->rhs->kind == N_INT && i->rhs->val.i > INT32_MIN && i->rhs->val.i < INT32_MAX) {
    *base = i->lhs;
    *c = i->op == OP_ADD ? i->rhs->val.i : -i->rhs->val.i;
  }
}

static bool uses_slice_vars(Lower *L, const Node *i) {
  for (int k = 0; k < L->nvars; k++)
    if (expr_mentions(i, L->vars[k]))
      return true;
  return false;
}

/* Does the read `e` never touch an element the store `lhs` writes?  True
 * when in some dimension both indices stay fixed during the statement (no
 * slice loop variable in them) and differ by a constant that is not a
 * multiple of the extent: p[:, -1] = p[:, -2], y[:, j] = y[:, j - 1] * 2. */
static bool disjoint(Lower *L, const Node *lhs, const Node *e) {
  const Type *at = base_of(lhs) ? base_of(lhs)->ty : NULL;
  if (lhs->kind != N_SUBSCRIPT || e->kind != N_SUBSCRIPT || !at || at->kind != TY_ARRAY ||
      !binds_whole(lhs, 0) || !binds_whole(e, 0))
    return false;
  int k = 0;
  for (const Node *w = lhs->args, *r = e->args; w && r; w = w->next, r = r->next, k++) {
    if (k >= at->rank || uses_slice_vars(L, w) || uses_slice_vars(L, r))
      continue;
    const Node *bw, *br;
    int64_t cw, cr;
    split_offset(w, &bw, &cw);
    split_offset(r, &br, &cr);
    bool same_base = (!bw && !br) || (bw && br && expr_equal(bw, br));
    int64_t extent = at->shape[k];
    if (same_base && extent > 0 && (cw - cr) % extent != 0)
      return true;
  }
  return false;
}

/* NumPy computes the right-hand side of a slice statement before storing
 * it.  Elementwise that is the same unless the statement reads the array it
 * writes at another element (or, through array variables chosen at run
 * time, may): then the right-hand side goes through a temporary. */
static bool overlaps(Lower *L, const Node *lhs, const Node *e) {
  if (!e)
    return false;
  if (e->kind == N_SUBSCRIPT && expr_equal(base_of(e), base_of(lhs)) && !expr_equal(e, lhs) &&
      !disjoint(L, lhs, e))
    return true;
  /* Through array variables chosen at run time the two may be one array
   * (or overlapping views of it); only the same elements are safe. */
  if (e->kind == N_SUBSCRIPT && !expr_equal(base_of(e), base_of(lhs)) &&
      (is_array_ref(e) || is_array_ref(lhs)) && arrays_may_alias(e, lhs) &&
      !same_elements(e, lhs))
    return true;
  if (e->kind == N_SUBSCRIPT) { /* its base was compared above: only the indices */
    for (const Node *a = e->args; a; a = a->next)
      if (overlaps(L, lhs, a))
        return true;
    return false;
  }
  if (overlaps(L, lhs, e->lhs) || overlaps(L, lhs, e->rhs) || overlaps(L, lhs, e->cond) ||
      overlaps(L, lhs, e->then) || overlaps(L, lhs, e->els))
    return true;
  for (const Node *a = e->args; a; a = a->next)
    if (overlaps(L, lhs, a))
      return true;
  return false;
}

static bool list_overlaps(Lower *L, const Node *lhs, const Node *list) {
  for (const Node *st = list; st; st = st->next)
    if (overlaps(L, lhs, st->rhs) || overlaps(L, lhs, st->cond) || overlaps(L, lhs, st->lo) ||
        overlaps(L, lhs, st->hi) || list_overlaps(L, lhs, st->body) ||
        list_overlaps(L, lhs, st->then) || list_overlaps(L, lhs, st->els))
      return true;
  return false;
}

static int count_loops(const Node *list) {
  int k = 0;
  for (const Node *st = list; st; st = st->next)
    k += (st->kind == N_FOR) + count_loops(st->body) + count_loops(st->then) +
         count_loops(st->els);
  return k;
}

static void collect_loops(const Node *list, Sym **out, int *n) {
  for (const Node *st = list; st; st = st->next) {
    if (st->kind == N_FOR)
      out[(*n)++] = st->sym;
    collect_loops(st->body, out, n);
    collect_loops(st->then, out, n);
    collect_loops(st->els, out, n);
  }
}

/* ---- statements ---- */

/* The statements computing a reduction run where the value is needed.  At
 * host level on a GPU that is a kernel of their own: wrap them in an
 * implicit `with parpy.gpu` (inside parallel code it dissolves, and the Cpu
 * target prints it as plain statements). */
static Node *on_device(Lower *L, Node *list, Span span) {
  if (!list)
    return list;
  Node *g = new_node(A(L), N_GPU, span);
  g->implicit = true;
  g->body = list;
  return g;
}

static Labels take(Labels l, int from, int n) {
  Labels r = {n, l.names + from};
  return r;
}

static Sym **slice_vars(Lower *L, int n) {
  Sym **vars = ARENA_ARRAY(A(L), Sym *, n > 0 ? n : 1);
  for (int k = 0; k < n; k++)
    vars[k] = loop_var(L, n == 1 ? "d" : arena_printf(A(L), "d%d", k));
  return vars;
}

/* for vars[0]: ... for vars[n-1]: body, the statement's labels in order. */
static Node *nest(Lower *L, Node *body, Sym **vars, const int64_t *shape, int n, Labels labels,
                  Span span) {
  for (int k = n - 1; k >= 0; k--) {
    body = new_loop(L, vars[k], shape[k], body, span);
    if (labels.n)
      body->labels = take(labels, k, 1);
  }
  return body;
}

/* The temporary a slice statement that reads what it writes computes its
 * right-hand side into, as NumPy does: a local array created by `*decl`
 * (on the stack, or per thread on a GPU).  The `temps` pass moves it to
 * memory the host allocates where it is too large or shared by threads. */
static Sym *slice_temp(Lower *L, Elem e, int n, const int64_t *shape, Span span, Node **decl) {
  Type *at = type_array(A(L), e, n, shape);
  Sym *tmp = fn_temp(L->p, L->fn, "tmp", at);
  tmp->local_array = true;
  tmp->slice_temp = true;
  Node *alloc = new_node(A(L), N_BUILTIN, span);
  alloc->builtin = B_EMPTY;
  alloc->elem = e;
  alloc->ty = at;
  Node *v = new_var(L->p, tmp, span);
  v->ty = at;
  *decl = assign(L, v, alloc);
  tmp->first_bind = *decl;
  return tmp;
}

static Node *temp_elem(Lower *L, Sym *tmp, Node **idx, int n, Span span) {
  Node *sub = new_node(A(L), N_SUBSCRIPT, span);
  sub->lhs = new_var(L->p, tmp, span);
  sub->lhs->ty = tmp->ty;
  Node head = {0}, *tail = &head;
  for (int k = 0; k < n; k++)
    tail = tail->next = clone_node(A(L), idx[k]);
  sub->args = head.next;
  sub->ty = type_scalar(A(L), tmp->ty->elem, false);
  return sub;
}

/* lhs[slices] = rhs: a loop nest over the slice dimensions of lhs. */
static Node *lower_mapping(Lower *L, Node *s) {
  const Type *t = s->lhs->ty;
  int n = t->rank;
  Node *rhs = s->rhs;
  while (rhs->kind == N_CONVERT) /* the store's conversion */
    rhs = rhs->lhs;
  bool axis_red = is_reduction(rhs) && is_array(rhs->ty);
  int argrank = axis_red ? rhs->args->ty->rank : -1;
  int nl = s->labels.n;
  Labels loop_labels = {0}, red_labels = {0};
  if (nl == n) {
    loop_labels = s->labels;
  } else if (axis_red && nl == argrank && nl > 0) {
    /* The label at the axis position goes to the reduction loop. */
    int ax = (int)rhs->axis;
    const char **names = ARENA_ARRAY(A(L), const char *, n > 0 ? n : 1);
    for (int k = 0, j = 0; k < nl; k++)
      if (k != ax)
        names[j++] = s->labels.names[k];
    loop_labels = (Labels){n, names};
    red_labels = take(s->labels, ax, 1);
  } else if (nl != 0) {
    err(L->p, DIAG_RUNTIME, s->span,
        "this slice statement has %d slice dimension%s, so it takes 0 or %d labels, not %d", n,
        n == 1 ? "" : "s", n, nl);
    return NULL;
  }
  Sym **vars = slice_vars(L, n);
  Node **idx = ARENA_ARRAY(A(L), Node *, n);
  for (int k = 0; k < n; k++)
    idx[k] = new_var(L->p, vars[k], s->span);
  Node *outer = NULL, **otail = &outer;
  Node *inner = NULL, **itail = &inner;
  Pre pre = {otail, itail, NULL};
  L->red_labels = red_labels;
  Node *r = scalarise(L, s->rhs, idx, t->shape, n, &pre);
  L->red_labels = (Labels){0};
  Node *l = scalarise(L, s->lhs, idx, t->shape, n, &pre);
  if (failed(L->p))
    return NULL;
  /* The reads of a per-element reduction are in its loops (`inner`),
   * whose variables vary during the statement too. */
  int ninner = count_loops(inner);
  Sym **all = ARENA_ARRAY(A(L), Sym *, n + ninner);
  memcpy(all, vars, sizeof(Sym *) * (size_t)n);
  int nall = n;
  collect_loops(inner, all, &nall);
  L->vars = all;
  L->nvars = nall;
  bool copy = overlaps(L, l, r) || list_overlaps(L, l, inner);
  L->vars = NULL;
  L->nvars = 0;
  Node *tmp_decl = NULL;
  Sym *tmp = NULL;
  if (copy) { /* tmp[d] = rhs for every d, then lhs[d] = tmp[d] */
    tmp = slice_temp(L, l->ty->elem, n, t->shape, s->span, &tmp_decl);
    l = temp_elem(L, tmp, idx, n, s->span);
  }
  itail = list_tail(&inner);
  append(&itail, assign(L, l, r));
  /* A reduction per element and its store run together on the device. */
  Node *body = inner->next ? on_device(L, inner, s->span) : inner;
  body = nest(L, body, vars, t->shape, n, loop_labels, s->span);
  if (copy) {
    Sym **vars2 = slice_vars(L, n);
    Node **idx2 = ARENA_ARRAY(A(L), Node *, n);
    for (int k = 0; k < n; k++)
      idx2[k] = new_var(L->p, vars2[k], s->span);
    Node *none = NULL;
    Pre nopre = {&none, &none}; /* a view: no statements */
    Node *l2 = scalarise(L, s->lhs, idx2, t->shape, n, &nopre);
    Node *store = nest(L, assign(L, l2, temp_elem(L, tmp, idx2, n, s->span)), vars2, t->shape,
                       n, loop_labels, s->span);
    body->next = store;
    tmp_decl->next = body;
    body = tmp_decl;
  }
  if (!outer)
    return body;
  otail = list_tail(&outer);
  append(&otail, body);
  return on_device(L, outer, s->span);
}

/* A scalar assignment whose right-hand side holds reductions. */
static Node *lower_scalar(Lower *L, Node *s) {
  int nred = count_outer_reductions(s->rhs);
  Node *pre = NULL, **tail = &pre;
  int nall = count_reductions(s->rhs);
  if (s->labels.n > 1) {
    err(L->p, DIAG_RUNTIME, s->span,
        "a reduction statement takes 0 or 1 labels (the label goes to the reduction), not %d",
        s->labels.n);
    return NULL;
  }
  if (s->labels.n == 1 && (nred != 1 || nall > 2)) {
    err(L->p, DIAG_RUNTIME, s->span,
        "this statement computes %d reductions, and its label can only go to one of them; "
        "compute them in separate statements, each with its own label",
        nred != 1 ? nred : nall);
    return NULL;
  }
  /* sum(max(x[:, :], axis=1)): a parallel reduction's body is one update,
   * so the label goes to the inner reduction, run for each element of the
   * outer one. */
  Labels labels = s->labels;
  if (labels.n == 1 && nall == 2) {
    L->red_labels = labels;
    labels = (Labels){0};
  }
  /* s = sum(...): accumulate straight into s when it is a plain local. */
  Sym *into = NULL;
  if (is_reduction(s->rhs) && s->lhs->kind == N_VAR && !expr_mentions(s->rhs, s->lhs->sym) &&
      s->lhs->sym->ty->elem == s->rhs->ty->elem)
    into = s->lhs->sym;
  bool ok = hoist_labelled(L, &s->rhs, &tail, labels, into);
  L->red_labels = (Labels){0};
  if (!ok)
    return NULL;
  if (into)
    return on_device(L, pre, s->span); /* the reduction already stored into the local */
  tail = list_tail(&pre);
  s->labels.n = 0;
  append(&tail, s);
  return on_device(L, pre, s->span);
}

/* ---- range() bounds: Python evaluates them once ---- */

/* Does a statement of `list` assign `s` (or run a loop over it)? */
static bool assigns_sym(const Node *list, const Sym *s) {
  for (const Node *st = list; st; st = st->next) {
    if (st->kind == N_ASSIGN && st->lhs->kind == N_VAR && st->lhs->sym == s)
      return true;
    if (st->kind == N_FOR && st->sym == s)
      return true;
    if (assigns_sym(st->body, s) || assigns_sym(st->then, s) || assigns_sym(st->els, s))
      return true;
  }
  return false;
}

static bool calls_any(const Node *n) {
  if (!n)
    return false;
  if (n->kind == N_FUNCALL || n->kind == N_EXTCALL)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->lo, n->hi};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (calls_any(kids[i]))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (calls_any(a))
      return true;
  return false;
}

/* Does a statement of `list` store into an array (or call a function,
 * which may write through a pointer)? */
static bool writes_arrays(const Node *list) {
  for (const Node *st = list; st; st = st->next) {
    if (st->kind == N_ASSIGN && st->lhs->kind != N_VAR)
      return true;
    if (calls_any(st->lhs) || calls_any(st->rhs) || calls_any(st->cond) ||
        calls_any(st->lo) || calls_any(st->hi))
      return true;
    if (writes_arrays(st->body) || writes_arrays(st->then) || writes_arrays(st->els))
      return true;
  }
  return false;
}

/* Is `e` the same before every iteration of the loop `f` (so that C's
 * condition, evaluated each time, sees what Python evaluated once)? */
static bool loop_invariant(const Node *e, const Node *f) {
  if (!e)
    return true;
  switch (e->kind) {
  case N_VAR: return e->sym != f->sym && !assigns_sym(f->body, e->sym);
  case N_SUBSCRIPT:
    if (writes_arrays(f->body))
      return false;
    break;
  case N_FUNCALL:
  case N_EXTCALL: return false;
  default: break;
  }
  if (!loop_invariant(e->lhs, f) || !loop_invariant(e->rhs, f) || !loop_invariant(e->cond, f) ||
      !loop_invariant(e->then, f) || !loop_invariant(e->els, f))
    return false;
  for (const Node *a = e->args; a; a = a->next)
    if (!loop_invariant(a, f))
      return false;
  return true;
}

/* for k in range(lo, hi): `hi` is computed once, before the loop, unless
 * nothing in the body can change it. */
static void hoist_bound(Lower *L, Node *f, Node ***outer) {
  if (loop_invariant(f->hi, f))
    return;
  Buf b;
  buf_init(&b);
  buf_printf(&b, "%s_stop", f->sym->name);
  Sym *t = fn_temp(L->p, L->fn, intern(buf_cstr(&b)), f->hi->ty);
  buf_free(&b);
  append(outer, assign(L, new_var(L->p, t, f->hi->span), f->hi));
  f->hi = new_var(L->p, t, f->hi->span);
  f->hi->ty = t->ty;
}

static bool lower_block(Lower *L, Node **list);

static Node *lower_stmt(Lower *L, Node *s) {
  Node *pre = NULL, **tail = &pre;
  switch (s->kind) {
  case N_ASSIGN:
    if (s->lhs->kind == N_VAR)
      ; /* binding an array local chosen at run time (src = a): a pointer */
    else if (is_array(s->lhs->ty))
      return lower_mapping(L, s);
    if (count_reductions(s->rhs))
      return lower_scalar(L, s);
    if (s->labels.n) {
      err(L->p, DIAG_RUNTIME, s->span,
          "the label '%s' is on an assignment that is neither a slice statement nor a "
          "reduction, so there is nothing for it to parallelise; put it before a for-loop, a "
          "slice statement (y[:] = ...) or a reduction (s = sum(x[:]))",
          s->labels.names[0]);
      return NULL;
    }
    return s;
  case N_FOR:
    if (!hoist(L, &s->lo, &tail) || !hoist(L, &s->hi, &tail) || !lower_block(L, &s->body))
      return NULL;
    hoist_bound(L, s, &tail);
    break;
  case N_IF:
    if (!hoist(L, &s->cond, &tail) || !lower_block(L, &s->then) || !lower_block(L, &s->els))
      return NULL;
    break;
  case N_WHILE:
    if (count_reductions(s->cond)) {
      err(L->p, DIAG_RUNTIME, s->cond->span,
          "reductions are not supported in the condition of a while-loop; compute the value "
          "into a variable before the loop and at the end of its body");
      return NULL;
    }
    if (!lower_block(L, &s->body))
      return NULL;
    return s;
  case N_GPU:
    if (!lower_block(L, &s->body))
      return NULL;
    return s;
  case N_RETURN:
    if (!hoist(L, &s->lhs, &tail))
      return NULL;
    break;
  default: return s;
  }
  tail = list_tail(&pre);
  append(&tail, s);
  return pre;
}

static bool lower_block(Lower *L, Node **list) {
  for (Node **link = list; *link;) {
    Node *s = *link, *next = s->next;
    s->next = NULL;
    Node *r = lower_stmt(L, s);
    if (failed(L->p))
      return false;
    if (!r) {
      *link = next;
      continue;
    }
    *link = r;
    link = list_tail(link);
    *link = next;
  }
  return true;
}

bool lower_slices(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next) {
    Lower L = {p, h};
    if (!lower_block(&L, &h->body))
      return false;
  }
  Lower L = {p, p->main};
  return lower_block(&L, &p->main->body);
}
