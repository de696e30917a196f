/* types_index.c - typing subscripts: indices checked and converted,
 * slices normalised (Python's slice.indices), views of views composed into
 * one subscript of the underlying array, dict fields resolved. */
#include <inttypes.h>

#include "types.h"

/* ---- subscripts ---- */

/* Python's slice.indices(): start, step and length of lo:hi:step on a
 * dimension of extent `dim`.  Final mode records them in the node. */
static bool slice_bound(Typer *t, Node **bp, int64_t *out) {
  Type *bt = ty_expr(t, bp);
  if (!bt)
    return false;
  if (!is_scalar(bt) || elem_is_float(bt->elem) || !const_int(*bp, out)) {
    terr(t, DIAG_RUNTIME, (*bp)->span,
         "the bounds and step of a slice must be integer constants (literals or scalar "
         "arguments)");
    return false;
  }
  return true;
}

static bool normalise_slice(Typer *t, Node *s, int64_t dim, int64_t *len) {
  if (s->sl_norm) {
    *len = s->sl_len;
    return true;
  }
  int64_t lo, hi, step = 1;
  if (s->step_expr && !slice_bound(t, &s->step_expr, &step))
    return false;
  if (step == 0)
    return terr(t, DIAG_VALUE, s->span, "slice step cannot be zero"), false;
  int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? dim - 1 : dim;
  if (s->lo) {
    if (!slice_bound(t, &s->lo, &lo))
      return false;
    lo = lo < 0 ? (lo + dim < lower ? lower : lo + dim) : (lo > upper ? upper : lo);
  } else
    lo = step < 0 ? upper : lower;
  if (s->hi) {
    if (!slice_bound(t, &s->hi, &hi))
      return false;
    hi = hi < 0 ? (hi + dim < lower ? lower : hi + dim) : (hi > upper ? upper : hi);
  } else
    hi = step < 0 ? lower : upper;
  *len = step < 0 ? (hi < lo ? (lo - hi - 1) / (-step) + 1 : 0)
                  : (lo < hi ? (hi - lo - 1) / step + 1 : 0);
  if (t->final) {
    s->sl_start = lo;
    s->sl_step = step;
    s->sl_len = *len;
    s->sl_norm = true;
  }
  return true;
}

/* The type of one scalar index; final mode converts it to the int size and
 * wraps or checks a constant against the dimension. */
static bool ty_index(Typer *t, Node **ip, int64_t dim, int axis, const char *what) {
  Type *it = ty_expr(t, ip);
  if (!it)
    return false;
  Node *i = *ip;
  if (is_scalar(it) && elem_is_float(it->elem) && i->kind == N_VAR &&
      i->sym->kind == SYM_LOCAL && i->sym->float_from.line > 0) {
    /* Point at the cause, perhaps a branch that never runs (NumPy typing). */
    terr(t, DIAG_TYPE, i->sym->float_from,
         "'%s' is used as an index of '%s' on line %d, but it is a %s because of this "
         "assignment: a variable's type is the promotion of every value assigned to it, even in "
         "a branch that does not run; assign an int here, or index with int(%s)",
         i->sym->name, what, i->span.line, tstr(t, it), i->sym->name);
    return false;
  }
  if (!is_scalar(it) || it->elem == EL_BOOL || elem_is_float(it->elem)) {
    terr(t, DIAG_TYPE, i->span,
         "array indices must be integers; this index of '%s' is a %s (convert it with int(...))",
         what, tstr(t, it));
    return false;
  }
  int64_t v;
  if (const_int(i, &v)) {
    if (v < -dim || v >= dim) {
      terr(t, DIAG_VALUE, i->span, "index %" PRId64 " is out of bounds for axis %d with size %" PRId64,
           v, axis, dim);
      return false;
    }
    if (v < 0 && t->final)
      *ip = literal_int(t, v + dim, i->span, i->next);
  }
  convert(t, ip, type_scalar(A(t), t->p->opt.int_size, false));
  return true;
}

static const char *base_name(const Node *n) {
  while (n && (n->kind == N_SUBSCRIPT || n->kind == N_FIELD))
    n = n->lhs;
  return n && n->kind == N_VAR ? n->sym->name : "array";
}

/* Index an array (or view) type: slices keep a dimension, integers drop it,
 * dimensions not indexed are kept whole. */
static Type *index_array(Typer *t, Node *n, const Type *base) {
  int nidx = 0, nnew = 0;
  for (const Node *a = n->args; a; a = a->next)
    a->kind == N_SLICE && a->newaxis ? nnew++ : nidx++;
  const char *name = base_name(n);
  if (nidx > base->rank)
    return terr(t, DIAG_TYPE, n->span,
                "too many indices for '%s': it is %d-dimensional, but %d were indexed", name,
                base->rank, nidx);
  int64_t shape[64];
  int rank = 0, k = 0;
  if (nnew && n->lhs->kind == N_SUBSCRIPT)
    return terr(t, DIAG_RUNTIME, n->span,
                "None (np.newaxis) is only supported in a subscript of an array or a variable, "
                "not of a view (x[i][:, None]); write x[i, :, None]");
  for (Node **ip = &n->args; *ip; ip = &(*ip)->next, k++) {
    if ((*ip)->kind == N_SLICE && (*ip)->newaxis) {
      Node *s = *ip;
      s->sl_start = s->sl_step = 0;
      s->sl_len = 1;
      s->sl_norm = true;
      shape[rank++] = 1;
      k--; /* consumes no dimension of the base */
    } else if ((*ip)->kind == N_SLICE) {
      if (!normalise_slice(t, *ip, base->shape[k], &shape[rank++]))
        return NULL;
    } else if (!ty_index(t, ip, base->shape[k], k, name))
      return NULL;
  }
  for (; k < base->rank; k++)
    shape[rank++] = base->shape[k];
  if (rank == 0)
    return type_scalar(A(t), base->elem, false);
  return type_array(A(t), base->elem, rank, shape);
}

/* Compose `view[args]` where `view` is itself a subscript, into a single
 * subscript of the underlying array (final mode).  The view's slices and
 * trailing whole dimensions are its dimensions, in order; each new index
 * replaces the next of them. */
static Node *compose(Typer *t, Node *outer, Node *inner_args, const Type *base_of_outer) {
  Arena *a = A(t);
  int rank = base_of_outer->rank;
  Node **dims = ARENA_ARRAY(a, Node *, rank);
  int nd = 0;
  for (Node *x = outer->args; x; x = x->next)
    dims[nd++] = x;
  for (int k = nd; k < rank; k++) {
    Node *s = new_node(a, N_SLICE, outer->span);
    s->sl_start = 0;
    s->sl_step = 1;
    s->sl_len = base_of_outer->shape[k];
    s->sl_norm = true;
    dims[nd++] = s;
  }
  int d = 0;
  for (Node *x = inner_args; x; x = x->next) {
    while (d < nd && dims[d]->kind != N_SLICE)
      d++;
    Node *s = dims[d];
    if (x->kind == N_SLICE) {
      Node *c = new_node(a, N_SLICE, x->span);
      c->sl_start = s->sl_start + s->sl_step * x->sl_start;
      c->sl_step = s->sl_step * x->sl_step;
      c->sl_len = x->sl_len;
      c->sl_norm = true;
      dims[d] = c;
    } else {
      /* start + step * index, folded where trivial */
      Node *idx = clone_node(a, x);
      if (s->sl_step != 1) {
        Node *m = new_node(a, N_BINARY, x->span);
        m->op = OP_MUL;
        m->lhs = literal_int(t, s->sl_step, x->span, NULL);
        m->rhs = idx;
        m->ty = idx->ty;
        idx = m;
      }
      if (s->sl_start != 0) {
        Node *p = new_node(a, N_BINARY, x->span);
        p->op = OP_ADD;
        p->lhs = literal_int(t, s->sl_start, x->span, NULL);
        p->rhs = idx;
        p->ty = idx->ty;
        idx = p;
      }
      dims[d] = idx;
    }
    d++;
  }
  /* Drop trailing whole slices we added that were not indexed. */
  while (nd > 0 && dims[nd - 1]->kind == N_SLICE && dims[nd - 1]->sl_start == 0 &&
         dims[nd - 1]->sl_step == 1 && dims[nd - 1]->sl_len == base_of_outer->shape[nd - 1] &&
         nd > list_len(outer->args))
    nd--;
  Node head = {0}, *tail = &head;
  for (int k = 0; k < nd; k++) {
    dims[k]->next = NULL;
    tail = tail->next = dims[k];
  }
  Node *c = new_node(a, N_SUBSCRIPT, outer->span);
  c->lhs = outer->lhs;
  c->args = head.next;
  return c;
}

static Type *ty_dict_field(Typer *t, Node **np, const Type *dt) {
  Node *n = *np;
  Node *key = n->args;
  if (list_len(key) != 1 || key->kind != N_STR)
    return terr(t, DIAG_TYPE, n->span, "a dict argument can only be indexed by a string literal");
  const char *k = intern(key->str);
  for (int i = 0; i < dt->nfields; i++) {
    if (dt->keys[i] != k)
      continue;
    const Type *ft = dt->fields[i];
    const Node *base = n->lhs;
    const ArgSpec *spec = base->kind == N_VAR && base->sym->arg ? &base->sym->arg->fields[i] : NULL;
    if (!ft)
      return terr(t, DIAG_TYPE, n->span, "the field '%s' holds a %s object, which is not supported",
                  k, spec && spec->what ? spec->what : "Python");
    if (is_scalar(ft) && spec && t->final) {
      /* Scalar fields are specialised like scalar arguments. */
      NodeKind k2 = ft->elem == EL_BOOL ? N_BOOL : elem_is_float(ft->elem) ? N_FLOAT : N_INT;
      Node *c = new_node(A(t), k2, n->span);
      c->val = spec->val;
      c->val.elem = ft->elem;
      c->ty = (Type *)ft;
      c->next = n->next;
      *np = c;
      return c->ty;
    }
    if (t->final) {
      Node *f = new_node(A(t), N_FIELD, n->span);
      f->lhs = n->lhs;
      f->str = k;
      f->ty = (Type *)ft;
      f->next = n->next;
      *np = f;
    }
    return (Type *)ft;
  }
  return terr(t, DIAG_TYPE, key->span, "the dict argument '%s' has no key '%s'", base_name(n), k);
}

/* An argument array, a view of one, or a local naming one. */
bool is_view_expr(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  return n && (n->kind == N_VAR || n->kind == N_FIELD);
}

Type *ty_subscript(Typer *t, Node **np) {
  Node *n = *np;
  bool in_base = t->in_base;
  t->in_base = true;
  Type *base = ty_expr(t, &n->lhs);
  t->in_base = in_base;
  if (!base)
    return NULL;
  if (base->kind == TY_DICT)
    return ty_dict_field(t, np, base);
  if (base->kind == TY_SHAPE) {
    Value v;
    if (!const_eval(n, &v))
      return terr(t, DIAG_TYPE, n->span, "shape indices must be constant and in range");
    if (t->final)
      *np = literal_int(t, v.i, n->span, n->next);
    return type_scalar(A(t), t->p->opt.int_size, true);
  }
  if (base->kind == TY_POINTER) {
    if (list_len(n->args) != 1 || n->args->kind == N_SLICE)
      return terr(t, DIAG_TYPE, n->span, "a pointer parameter takes exactly one integer index");
    if (!ty_index(t, &n->args, INT64_MAX, 0, base_name(n)))
      return NULL;
    return type_scalar(A(t), base->elem, false);
  }
  if (!is_array(base))
    return terr(t, DIAG_TYPE, n->span, "a %s cannot be indexed", tstr(t, base));
  if (!is_view_expr(n->lhs))
    return terr(t, DIAG_RUNTIME, n->span,
                "indexing or slicing the result of an array expression is not supported; index "
                "its operands instead (for example, (a[1:] + b[:-1])[1:-1] is a[2:-1] + "
                "b[1:-2])");
  Type *r = index_array(t, n, base);
  if (!r || !t->final)
    return r;
  if (n->lhs->kind == N_SUBSCRIPT) {
    /* view[...]: compose into one subscript of the underlying array */
    Node *outer = n->lhs;
    for (const Node *x = outer->args; x; x = x->next)
      if (x->kind == N_SLICE && x->newaxis)
        return terr(t, DIAG_RUNTIME, n->span,
                    "a view made with None (np.newaxis) cannot be indexed again; index the "
                    "array in one subscript");
    const Type *under = outer->lhs->ty;
    Node *c = compose(t, outer, n->args, under);
    c->next = n->next;
    c->ty = r;
    *np = c;
  }
  return r;
}
