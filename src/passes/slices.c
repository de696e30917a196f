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

#include "slices.h"

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
      s->lhs->sym->ty->elem == s->rhs->ty->elem && s->rhs->ty->elem != EL_BF16)
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
