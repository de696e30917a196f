/* types.c - type every expression with NumPy 2 rules and make every
 * conversion explicit (N_CONVERT), so that later passes and the printers
 * never reason about types again.
 *
 * Python scalars (literals, scalar arguments, range variables) are "weak"
 * (NEP 50, promote.c).  A local's type is the promotion of every value
 * assigned to it, which needs a fixpoint: `s = 0.0; s = s + x_f32[i]` makes
 * s float32 only once the second assignment has been seen.  So each
 * function is walked in "infer" mode until its locals stop changing (no
 * rewriting, no errors, unknowns allowed), then once in "final" mode, which
 * reports errors and rewrites the tree: conversions, aliases of array views
 * substituted, constants (x.shape[0], dict scalars) folded to literals.
 *
 * Array-typed expressions are slices and views (x[i, :], row = x[i]); they
 * may only appear where NumPy would compute elementwise or reduce, and
 * `slices` turns them into loops. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "../ast.h"

typedef struct Typer {
  Prog *p;
  Fn *fn;
  bool final;
  bool changed;
  bool in_base; /* typing the base of a subscript */
} Typer;

static Type *ty_expr(Typer *t, Node **np);
static void ty_block(Typer *t, Node **list);

/* ---- helpers ---- */

/* Errors are only reported in final mode; infer mode gives up quietly. */
static Type *terr(Typer *t, DiagKind kind, Span span, const char *fmt, ...) PP_PRINTF(4, 5);
static Type *terr(Typer *t, DiagKind kind, Span span, const char *fmt, ...) {
  if (!t->final)
    return NULL;
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&t->p->diag, &t->p->arena, kind, span, fmt, ap);
  va_end(ap);
  return NULL;
}

static const char *tstr(Typer *t, const Type *ty) {
  Buf b;
  buf_init(&b);
  type_str(ty, &b);
  char *s = arena_strdup(&t->p->arena, buf_cstr(&b));
  buf_free(&b);
  return s;
}

static Arena *A(Typer *t) { return &t->p->arena; }
static bool is_num(const Type *x) { return x && (x->kind == TY_SCALAR || x->kind == TY_ARRAY); }
static bool is_scalar(const Type *x) { return x && x->kind == TY_SCALAR; }
static bool is_array(const Type *x) { return x && x->kind == TY_ARRAY; }
static int kind_of(Elem e) { return e == EL_BOOL ? 0 : elem_is_float(e) ? 2 : 1; }

/* The element type of a scalar or array, as a scalar type (arrays are strong). */
static Type *scalar_of(Typer *t, const Type *x) {
  if (x->kind == TY_SCALAR)
    return (Type *)x;
  return type_scalar(A(t), x->elem, false);
}

/* A scalar type `s` given the shape of `shape` (NULL or scalar: none). */
static Type *shaped(Typer *t, const Type *shape, const Type *s) {
  if (!shape || shape->kind != TY_ARRAY)
    return (Type *)s;
  return type_array(A(t), s->elem, shape->rank, shape->shape);
}

/* NumPy broadcasting of two operand shapes.  Returns the array type giving
 * the result shape, or NULL when both are scalars; *ok false on mismatch. */
static const Type *broadcast(Typer *t, const Type *a, const Type *b, Span span, bool *ok) {
  *ok = true;
  if (!is_array(a))
    return is_array(b) ? b : NULL;
  if (!is_array(b))
    return a;
  int rank = a->rank > b->rank ? a->rank : b->rank;
  int64_t shape[64];
  if (rank > 64) {
    *ok = false;
    return NULL;
  }
  for (int i = 0; i < rank; i++) {
    int ia = a->rank - rank + i, ib = b->rank - rank + i;
    int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      *ok = false;
      terr(t, DIAG_VALUE, span, "operands could not be broadcast together with shapes %s and %s",
           tstr(t, a), tstr(t, b));
      return NULL;
    }
    shape[i] = da == 1 ? db : da;
  }
  return type_array(A(t), a->elem, rank, shape);
}

/* Can a value of shape `from` be stored into shape `to` (NumPy assignment)? */
static bool broadcasts_into(const Type *from, const Type *to) {
  if (!is_array(from))
    return true;
  if (from->rank > to->rank)
    return false;
  for (int i = 0; i < from->rank; i++) {
    int64_t d = from->shape[from->rank - 1 - i], e = to->shape[to->rank - 1 - i];
    if (d != e && d != 1)
      return false;
  }
  return true;
}

/* Whether the integer literal `v` fits the type e (a Python int beyond
 * int64 is held as a uint64: val.elem EL_U64). */
static bool int_fits(Value val, Elem e) {
  if (val.elem == EL_U64)
    return e == EL_U64 || val.u <= (uint64_t)INT64_MAX;
  int64_t v = val.i;
  if (e == EL_U64)
    return v >= 0;
  if (e == EL_I64)
    return true;
  int bits = elem_size(e) * 8;
  if (elem_is_signed(e))
    return v >= -((int64_t)1 << (bits - 1)) && v < ((int64_t)1 << (bits - 1));
  return v >= 0 && v < ((int64_t)1 << bits);
}

/* Make `*np` have type `to` (scalar; arrays keep their shape): final mode
 * inserts an N_CONVERT, or retypes a literal in place. */
static void convert(Typer *t, Node **np, const Type *to) {
  Node *n = *np;
  if (!t->final || !n->ty || !is_num(n->ty))
    return;
  Type *target = shaped(t, n->ty, scalar_of(t, to));
  if (n->ty->elem == target->elem) {
    if (n->ty->weak && !target->weak && is_scalar(n->ty))
      n->ty = target;
    return;
  }
  bool literal = n->kind == N_INT || n->kind == N_FLOAT || n->kind == N_BOOL;
  if (literal && n->ty->weak) {
    if (n->kind == N_INT && elem_is_int(target->elem) && !int_fits(n->val, target->elem)) {
      Buf v;
      buf_init(&v);
      value_str(n->val, &v);
      terr(t, DIAG_VALUE, n->span, "Python integer %s out of bounds for %s", buf_cstr(&v),
           elem_name(target->elem));
      buf_free(&v);
      return;
    }
    if (n->kind == N_INT && elem_is_float(target->elem)) {
      n->kind = N_FLOAT;
      n->val.f = n->val.elem == EL_U64 ? (double)n->val.u : (double)n->val.i;
    } else if (n->kind == N_FLOAT && !elem_is_float(target->elem)) {
      goto wrap;
    }
    n->val.elem = target->elem;
    n->ty = target;
    return;
  }
wrap:;
  Node *c = new_node(A(t), N_CONVERT, n->span);
  c->lhs = n;
  c->ty = target;
  c->next = n->next;
  n->next = NULL;
  *np = c;
}

/* ---- locals ---- */

static void join_local(Typer *t, Sym *s, const Type *ty, Span at) {
  if (!ty || !is_scalar(ty))
    return;
  /* Remembered for index errors, which are far from the cause. */
  if (elem_is_float(ty->elem) && s->float_from.line == 0)
    s->float_from = at;
  if (!s->ty) {
    s->ty = (Type *)ty;
    t->changed = true;
    return;
  }
  if (!is_scalar(s->ty))
    return;
  Type *j = promote(A(t), s->ty, ty);
  if (!type_equal(j, s->ty)) {
    s->ty = j;
    t->changed = true;
  }
}

/* ---- leaves ---- */

static Type *ty_literal(Typer *t, Node *n) {
  if (n->ty)
    return n->ty; /* a strong constant (a NumPy scalar from the enclosing scope) */
  Elem e = n->kind == N_BOOL ? EL_BOOL : n->kind == N_FLOAT ? t->p->opt.float_size
                                                             : t->p->opt.int_size;
  /* A Python int beyond int64 (up to 2**64 - 1) is a weak uint64: NumPy 2
   * accepts it with uint64 operands (x & 18446744073709551615) and rejects
   * it with any other integer type, as convert() does. */
  if (n->kind == N_INT && n->val.elem == EL_U64)
    e = EL_U64;
  return type_scalar(A(t), e, true);
}

static Type *ty_var(Typer *t, Node **np) {
  Node *n = *np;
  Sym *s = n->sym;
  if (s->kind == SYM_PARAM && s->arg && s->arg->kind == ARG_OPAQUE)
    return terr(t, DIAG_TYPE, n->span,
                "argument '%s' is a %s object; ParPy functions accept ints, floats, bools, "
                "NumPy-like arrays and dicts of those",
                s->name, s->arg->what ? s->arg->what : "Python");
  if (s->alias && t->final) {
    /* A view local: its uses read through the aliased expression. */
    Node *c = clone_node(A(t), s->alias);
    c->next = n->next;
    *np = c;
    return c->ty;
  }
  if (!s->ty)
    return terr(t, DIAG_NAME, n->span, "variable '%s' is used before a value is assigned to it",
                s->name);
  if (s->kind == SYM_PARAM && is_array(s->ty) && s->ty->rank == 0 && !t->in_base) {
    /* a 0-d array argument the function writes (t[()] = ...): its value is
     * read from memory, so that it sees the function's own writes */
    Type *e = type_scalar(A(t), s->ty->elem, false);
    if (t->final) {
      Node *sub = new_node(A(t), N_SUBSCRIPT, n->span);
      sub->lhs = n;
      sub->next = n->next;
      n->next = NULL;
      n->ty = s->ty;
      sub->ty = e;
      *np = sub;
    }
    return e;
  }
  if (s->kind == SYM_PARAM && s->is_const && t->final && is_scalar(s->ty)) {
    /* Specialised scalars stay variables (printed as named constants). */
    return s->ty;
  }
  return s->ty;
}

static Node *literal_int(Typer *t, int64_t v, Span span, Node *next) {
  Node *n = new_int(A(t), v, span);
  n->ty = type_scalar(A(t), t->p->opt.int_size, true);
  n->val.elem = t->p->opt.int_size;
  n->next = next;
  return n;
}

static Type *ty_attr(Typer *t, Node **np) {
  Node *n = *np;
  Type *base = ty_expr(t, &n->lhs);
  if (!base)
    return NULL;
  if (is_array(base)) {
    if (n->name == intern("shape")) {
      Type *s = ARENA_NEW(A(t), Type);
      s->kind = TY_SHAPE;
      s->rank = base->rank;
      s->shape = base->shape;
      return s;
    }
    Value v;
    if (const_eval(n, &v)) {
      if (t->final)
        *np = literal_int(t, v.i, n->span, n->next);
      return type_scalar(A(t), t->p->opt.int_size, true);
    }
  }
  return terr(t, DIAG_TYPE, n->span,
              "the attribute '%s' of a %s is not supported (arrays have shape, ndim and size)",
              n->name, tstr(t, base));
}

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
static bool is_view_expr(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  return n && (n->kind == N_VAR || n->kind == N_FIELD);
}

static Type *ty_subscript(Typer *t, Node **np) {
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

/* ---- operators ---- */

/* The operand and result types of a binary operator on scalar types. */
static bool binary_types(Typer *t, Node *n, Type *a, Type *b, Type **operand, Type **result) {
  Arena *ar = A(t);
  Type *c = promote(ar, a, b);
  bool bools = a->elem == EL_BOOL && b->elem == EL_BOOL;
  Op op = n->op;
  *operand = *result = c;
  switch (op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
    if (bools) {
      /* Python's bools are ints; NumPy's add as `or` and multiply as
       * `and`, and refuse to subtract. */
      if (a->weak && b->weak) {
        *operand = *result = type_scalar(ar, t->p->opt.int_size, true);
        return true;
      }
      if (op != OP_SUB)
        return true;
      terr(t, DIAG_TYPE, n->span,
           "NumPy does not subtract booleans (use ^ or convert them with int(...) first)");
      return false;
    }
    return true;
  case OP_DIV:
    if (kind_of(c->elem) != 2)
      *operand = *result = type_scalar(ar, t->p->opt.float_size, a->weak && b->weak);
    return true;
  case OP_FLOORDIV:
  case OP_MOD:
  case OP_POW:
    if (bools) {
      /* Python: ints; NumPy: np.True_ // np.True_ is int8 */
      *operand = *result = a->weak && b->weak ? type_scalar(ar, t->p->opt.int_size, true)
                                              : type_scalar(ar, EL_I8, false);
      return true;
    }
    if (op == OP_POW && kind_of(c->elem) == 1) {
      int64_t e;
      if (const_int(n->rhs, &e) && e < 0) {
        terr(t, DIAG_VALUE, n->rhs->span,
             "integers to negative integer powers are not allowed (write a float, e.g. 2.0 ** -1)");
        return false;
      }
    }
    return true;
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR:
  case OP_SHL:
  case OP_SHR:
    if (kind_of(c->elem) == 2) {
      terr(t, DIAG_TYPE, n->span,
           "the operator %s needs integer or boolean operands, not %s and %s", op_symbol(op),
           tstr(t, a), tstr(t, b));
      return false;
    }
    if ((op == OP_SHL || op == OP_SHR) && c->elem == EL_BOOL)
      *operand = *result = type_scalar(ar, t->p->opt.int_size, c->weak);
    return true;
  case OP_MAX:
  case OP_MIN:
    /* NumPy's maximum/minimum give NumPy scalars, also of Python scalars
     * (np.maximum(n, 1) is np.int64); Python's max/min a Python scalar. */
    if (!n->weak_result && c->weak)
      *operand = *result = type_scalar(ar, c->elem, false);
    return true;
  case OP_AND:
  case OP_OR: return true;
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: *result = type_scalar(ar, EL_BOOL, a->weak && b->weak); return true;
  default:
    terr(t, DIAG_INTERNAL, n->span, "unexpected binary operator %d", op);
    return false;
  }
}

/* ---- comparisons of integers ----
 * NumPy 2 and Python compare integers by value: x_u16[i] < -1 is False and
 * x_u8[i] <= 300 True, although -1 and 300 are no uint8/uint16, and an
 * int64 against a uint64 is exact (the promotion, float64, is not). */

static bool is_cmp(Op op) { return op >= OP_EQ && op <= OP_GE; }

/* Whether the operand n of type x (scalar) holds only values of type c. */
static bool values_fit(const Node *n, const Type *x, Elem c) {
  if (!x->weak)
    return x->elem == c || promote_elem(x->elem, c) == c;
  if (n->kind == N_INT)
    return int_fits(n->val, c);
  int64_t v;
  if (x->elem != EL_U64 && const_int(n, &v))
    return int_fits((Value){.elem = EL_I64, .i = v}, c);
  return x->elem == c; /* a Python int known only at run time: any int64 */
}

/* The types to compare integers a and b in, when promote()'s type c cannot
 * hold both: int64 where no uint64 is involved, else each side's own 64-bit
 * type (the printer compares int64 with uint64 through parpy_cmp_*). */
static bool int_compare_types(Node *n, const Type *a, const Type *b, const Type *c, Elem *ta,
                              Elem *tb) {
  if (!is_cmp(n->op) || kind_of(a->elem) != 1 || kind_of(b->elem) != 1)
    return false;
  if (kind_of(c->elem) == 1 && values_fit(n->lhs, a, c->elem) && values_fit(n->rhs, b, c->elem))
    return false;
  bool ua = a->elem == EL_U64, ub = b->elem == EL_U64;
  if (!ua && !ub) {
    *ta = *tb = EL_I64;
    return true;
  }
  *ta = ua || (elem_is_unsigned(a->elem) && !a->weak) ? EL_U64 : EL_I64;
  *tb = ub || (elem_is_unsigned(b->elem) && !b->weak) ? EL_U64 : EL_I64;
  return true;
}

/* ---- arithmetic of Python int literals ----
 * Python computes `2147483647 * -8` exactly; printed as is, C would compute
 * it in 32-bit int.  So operations whose operands are all Python int
 * literals are folded here, exactly (in 128 bits), into one literal; a
 * result beyond [-2**63, 2**64) is an error (ParPy's ints have 64 bits).
 * Division by zero and negative shifts are left to run time. */
typedef __int128 i128;

static bool is_py_int(const Node *n) {
  return n->kind == N_INT && (!n->ty || n->ty->weak);
}

static i128 lit_value(const Node *n) {
  return n->val.elem == EL_U64 ? (i128)n->val.u : (i128)n->val.i;
}

static bool int_pow(i128 a, i128 b, i128 *r) {
  *r = 1;
  for (i128 k = 0; k < b; k++)
    if (__builtin_mul_overflow(*r, a, r))
      return false;
  return true;
}

/* r = a op b with Python's semantics; false where not folded or too large
 * for 128 bits (then surely too large for 64). */
static bool fold_int(Op op, i128 a, i128 b, i128 *r, bool *big) {
  *r = 0;
  *big = false;
  switch (op) {
  case OP_ADD: return !(*big = __builtin_add_overflow(a, b, r));
  case OP_SUB: return !(*big = __builtin_sub_overflow(a, b, r));
  case OP_MUL: return !(*big = __builtin_mul_overflow(a, b, r));
  case OP_FLOORDIV:
  case OP_MOD: {
    if (b == 0)
      return false;
    i128 q = a / b, m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) {
      q--;
      m += b;
    }
    *r = op == OP_MOD ? m : q;
    return true;
  }
  case OP_POW:
    if (b < 0 || (b > 200 && a != 0 && a != 1 && a != -1))
      return !(*big = b >= 0);
    return !(*big = !int_pow(a, b, r));
  case OP_BITAND: *r = a & b; return true;
  case OP_BITOR: *r = a | b; return true;
  case OP_BITXOR: *r = a ^ b; return true;
  case OP_SHL:
    if (b < 0)
      return false;
    if (a != 0 && b > 64)
      return !(*big = true);
    *r = a * ((i128)1 << b);
    return true;
  case OP_SHR:
    if (b < 0)
      return false;
    *r = b > 100 ? (a < 0 ? -1 : 0) : a >> b;
    return true;
  default: return false;
  }
}

/* Replace *np by the literal r (a Python int), or report it too large. */
static Type *int_literal_result(Typer *t, Node **np, i128 r, bool big) {
  Node *n = *np;
  if (big || r < (i128)INT64_MIN || r > (i128)UINT64_MAX)
    return terr(t, DIAG_VALUE, n->span,
                "this Python integer arithmetic gives a value outside the 64-bit range "
                "[-2**63, 2**64) that ParPy's integers have");
  Node *lit = new_node(A(t), N_INT, n->span);
  lit->next = n->next;
  if (r > (i128)INT64_MAX) {
    lit->val.elem = EL_U64;
    lit->val.u = (uint64_t)r;
  } else {
    lit->val.elem = EL_I64;
    lit->val.i = (int64_t)r;
  }
  *np = lit;
  return ty_literal(t, lit);
}

static Type *ty_binary(Typer *t, Node **np) {
  Node *n = *np;
  Type *a = ty_expr(t, &n->lhs), *b = ty_expr(t, &n->rhs);
  if (!a || !b)
    return NULL;
  if (!is_num(a) || !is_num(b))
    return terr(t, DIAG_TYPE, n->span, "the operator %s is not supported between %s and %s",
                op_symbol(n->op), tstr(t, a), tstr(t, b));
  if ((n->op == OP_AND || n->op == OP_OR) && (is_array(a) || is_array(b)))
    return terr(t, DIAG_VALUE, n->span,
                "'%s' on arrays is ambiguous; use & or | for elementwise logic", op_symbol(n->op));
  bool ok;
  const Type *shape = broadcast(t, a, b, n->span, &ok);
  if (!ok)
    return NULL;
  Type *operand, *result;
  if (!binary_types(t, n, scalar_of(t, a), scalar_of(t, b), &operand, &result))
    return NULL;
  i128 r = 0;
  bool big;
  if (is_py_int(n->lhs) && is_py_int(n->rhs) &&
      (fold_int(n->op, lit_value(n->lhs), lit_value(n->rhs), &r, &big) || big))
    return int_literal_result(t, np, r, big);
  Elem ta, tb;
  if (int_compare_types(n, scalar_of(t, a), scalar_of(t, b), operand, &ta, &tb)) {
    convert(t, &n->lhs, type_scalar(A(t), ta, false));
    convert(t, &n->rhs, type_scalar(A(t), tb, false));
    return shaped(t, shape, result);
  }
  convert(t, &n->lhs, operand);
  convert(t, &n->rhs, operand);
  return shaped(t, shape, result);
}

/* -b, +b, ~b of a Python bool: the operation on the int 0 or 1. */
static Type *python_bool_as_int(Typer *t, Node *n) {
  Type *i = type_scalar(A(t), t->p->opt.int_size, true);
  convert(t, &n->lhs, i);
  return i;
}

static Type *ty_unary(Typer *t, Node **np) {
  Node *n = *np;
  Type *a = ty_expr(t, &n->lhs);
  if (!a)
    return NULL;
  if (!is_num(a))
    return terr(t, DIAG_TYPE, n->span, "the operator %s is not supported for %s",
                op_symbol(n->op), tstr(t, a));
  Type *s = scalar_of(t, a);
  if (is_py_int(n->lhs) && n->op != OP_NOT) {
    i128 v = lit_value(n->lhs);
    return int_literal_result(t, np, n->op == OP_NEG ? -v : n->op == OP_POS ? v : -v - 1,
                              false);
  }
  switch (n->op) {
  case OP_NEG:
  case OP_POS:
    if (s->elem == EL_BOOL && !s->weak)
      return terr(t, DIAG_TYPE, n->span,
                  "NumPy does not support the unary %s operator for booleans; use 'not' or ~",
                  op_symbol(n->op));
    if (s->elem == EL_BOOL) /* a Python bool is the int 0 or 1 */
      return python_bool_as_int(t, n);
    return a;
  case OP_NOT:
    if (is_array(a))
      return terr(t, DIAG_VALUE, n->span,
                  "'not' on an array is ambiguous; use ~ for an elementwise negation");
    return type_scalar(A(t), EL_BOOL, true); /* `not` gives a Python bool */
  case OP_INVERT:
    if (elem_is_float(s->elem))
      return terr(t, DIAG_TYPE, n->span, "the operator ~ needs an integer or boolean operand");
    if (s->elem == EL_BOOL && s->weak) /* ~True is -2 in Python */
      return python_bool_as_int(t, n);
    return a;
  default: return terr(t, DIAG_INTERNAL, n->span, "unexpected unary operator");
  }
}

/* `a if c else b`, also over slices: elementwise as np.where (0.1.3 took
 * it so).  np.where(c, a, b) is the same node with a strong result. */
static Type *ty_ifexp(Typer *t, Node **np) {
  Node *n = *np;
  Type *c = ty_expr(t, &n->cond);
  Type *a = ty_expr(t, &n->then), *b = ty_expr(t, &n->els);
  if (!c || !a || !b)
    return NULL;
  if (!is_num(c) || !is_num(a) || !is_num(b))
    return terr(t, DIAG_TYPE, n->span,
                "conditional expressions need numbers, arrays or slices; got %s, %s and %s",
                tstr(t, c), tstr(t, a), tstr(t, b));
  bool ok;
  const Type *shape = broadcast(t, c, a, n->span, &ok);
  if (ok)
    shape = broadcast(t, shape, b, n->span, &ok);
  if (!ok)
    return NULL;
  Type *r = promote(A(t), scalar_of(t, a), scalar_of(t, b));
  if (n->where && r->weak)
    r = type_scalar(A(t), r->elem, false);
  convert(t, &n->then, r);
  convert(t, &n->els, r);
  return shaped(t, shape, r);
}

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
  if (a->rank == 1)
    return type_scalar(A(t), e, false);
  int64_t shape[64];
  int r = 0;
  for (int k = 0; k < a->rank; k++)
    if (k != ax)
      shape[r++] = a->shape[k];
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

static Type *ty_builtin(Typer *t, Node **np) {
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
 * two-pass formula), std = sqrt(var), dot(a, b) = sum(a * b) in the type of
 * a * b.  Typed by typing the rewritten expression; final mode installs it. */
static Type *ty_stats(Typer *t, Node **np) {
  Node *n = *np;
  Builtin b = n->builtin;
  int want = b == B_DOT ? 2 : 1, nargs = list_len(n->args);
  if (nargs != want)
    return terr(t, DIAG_TYPE, n->span, "%s() takes %d argument%s, got %d", builtin_name(b), want,
                want == 1 ? "" : "s", nargs);
  if (b == B_DOT && n->has_axis)
    return terr(t, DIAG_TYPE, n->span, "dot() does not take axis=");
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
    if (b != B_MEAN && n->has_axis && at->rank > 1)
      return terr(t, DIAG_RUNTIME, sp,
                  "%s() with axis= is supported on 1-D slices only; write a loop over the other "
                  "dimension with %s(x[i, :]) inside",
                  builtin_name(b), builtin_name(b));
    if (b == B_MEAN) {
      tree = mk_mean(t, x, n->has_axis, ax, count, sp);
    } else {
      Node *m = mk_mean(t, clone_node(A(t), x), false, 0, count, sp);
      Node *sq = mk_call(t, B_SQUARE, mk_op(t, OP_SUB, x, m), sp);
      tree = mk_mean(t, sq, false, 0, count, sp);
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
static bool contiguous_view(const Node *n) {
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

static Type *ty_funcall(Typer *t, Node **np) {
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
static Type *ty_extcall(Typer *t, Node **np) {
  Node *n = *np;
  Extern *e = n->ext;
  const Type *shape;
  if (!ty_call_args(t, n, e->name, e->params, e->nparams, true, &shape))
    return NULL;
  if (!e->ret || e->ret->kind != TY_SCALAR)
    return terr(t, DIAG_TYPE, n->span, "the external '%s' has no scalar return type", e->name);
  return shaped(t, shape, e->ret);
}

static Type *ty_expr(Typer *t, Node **np) {
  Node *n = *np;
  if (failed(t->p))
    return NULL;
  Type *r = NULL;
  switch (n->kind) {
  case N_INT:
  case N_FLOAT:
  case N_BOOL: r = ty_literal(t, n); break;
  case N_VAR: r = ty_var(t, np); break;
  case N_ATTR: r = ty_attr(t, np); break;
  case N_UNARY: r = ty_unary(t, np); break;
  case N_BINARY: r = ty_binary(t, np); break;
  case N_IFEXP: r = ty_ifexp(t, np); break;
  case N_SUBSCRIPT: r = ty_subscript(t, np); break;
  case N_BUILTIN: r = ty_builtin(t, np); break;
  case N_FUNCALL: r = ty_funcall(t, np); break;
  case N_EXTCALL: r = ty_extcall(t, np); break;
  case N_CONVERT: ty_expr(t, &n->lhs); r = n->ty; break;
  case N_FIELD: r = n->ty; break;
  case N_STR:
    return terr(t, DIAG_TYPE, n->span, "a string can only be used as a dict key or a label");
  case N_TUPLE:
    return terr(t, DIAG_TYPE, n->span, "tuples can only be used as array indices");
  case N_SLICE:
    return terr(t, DIAG_RUNTIME, n->span, "slices can only be used inside subscripts");
  default: return terr(t, DIAG_INTERNAL, n->span, "unexpected expression kind %d", n->kind);
  }
  if (r)
    (*np)->ty = r;
  return r;
}

/* ---- statements ---- */

/* The parameter an assignment target writes into, if any. */
static const Sym *target_param(const Node *n) {
  while (n && (n->kind == N_SUBSCRIPT || n->kind == N_FIELD))
    n = n->lhs;
  return n && n->kind == N_VAR && n->sym->kind == SYM_PARAM ? n->sym : NULL;
}


/* Final mode: a local bound to one view aliases it (its uses read through
 * the view); one bound several times is a pointer, so each binding must be
 * an address: a whole array or a contiguous view. */
static void bind_array_local(Typer *t, Sym *sym, Node *s) {
  if (!sym->array_ref) {
    sym->alias = s->rhs;
    return;
  }
  if (!contiguous_view(s->rhs)) {
    terr(t, DIAG_TYPE, s->rhs->span,
         "the array variable '%s' is bound more than once, so it is a pointer chosen at run "
         "time; each binding must be a whole array or a contiguous part of one (such as x or "
         "x[i]), not a strided view",
         sym->name);
    return;
  }
  Node **b = ARENA_ARRAY(A(t), Node *, sym->nbinds + 1);
  if (sym->nbinds)
    memcpy(b, sym->binds, sizeof(Node *) * (size_t)sym->nbinds);
  b[sym->nbinds++] = s->rhs;
  sym->binds = b;
  s->lhs->ty = sym->ty;
}

enum { LOCAL_ARRAY_MAX_BYTES = 64 * 1024 };

static bool is_alloc(const Node *n) {
  return n->kind == N_BUILTIN && (n->builtin == B_ZEROS || n->builtin == B_EMPTY);
}

/* `tmp = np.zeros(K)` or `e = np.exp(row - m)`: a local array of its own,
 * on the stack (Cpu) or in the thread's registers/local memory (GPU); per
 * iteration when bound inside a loop.  Final mode makes `e = <expression>`
 * `e = np.empty(...)` followed by the elementwise `e[:] = <expression>`. */
static void ty_local_array(Typer *t, Node *s, Sym *sym, Type *r) {
  if (sym->ty && (!sym->local_array || sym->first_bind != s)) {
    terr(t, DIAG_RUNTIME, s->span,
         "'%s' is a local array, which one statement must create (once per iteration when in "
         "a loop); assign into it (%s[:] = ...) instead of binding the name again",
         sym->name, sym->name);
    return;
  }
  Type *at = type_array(A(t), r->elem, r->rank, r->shape);
  if (type_numel(at) * elem_size(at->elem) > LOCAL_ARRAY_MAX_BYTES) {
    terr(t, DIAG_VALUE, s->span,
         "the local array '%s' (%s) is larger than %d KiB, too large for the stack or a "
         "thread's registers; pass an array argument for it instead",
         sym->name, tstr(t, at), LOCAL_ARRAY_MAX_BYTES / 1024);
    return;
  }
  if (!sym->ty) {
    t->changed = true;
    sym->first_bind = s;
    sym->local_array = true;
  }
  sym->ty = at;
}

/* Final mode, `e = <expression>` of a local array: `e = np.empty(...)`
 * then `e[:] = <expression>`, typed next as a statement of its own. */
static void split_local_array(Typer *t, Node *s, Sym *sym) {
  Type *at = sym->ty;
  Node *fill = new_node(A(t), N_ASSIGN, s->span);
  fill->lhs = new_node(A(t), N_SUBSCRIPT, s->span);
  fill->lhs->lhs = new_var(t->p, sym, s->span);
  Node **tail = &fill->lhs->args;
  for (int k = 0; k < at->rank; k++) {
    *tail = new_node(A(t), N_SLICE, s->span);
    tail = &(*tail)->next;
  }
  fill->rhs = s->rhs;
  fill->next = s->next;
  s->next = fill;
  Node *alloc = new_node(A(t), N_BUILTIN, s->span);
  alloc->builtin = B_EMPTY;
  alloc->elem = at->elem;
  alloc->ty = at;
  s->rhs = alloc;
  s->lhs->ty = at;
}

static void ty_assign_local(Typer *t, Node *s) {
  Sym *sym = s->lhs->sym;
  if (t->final && sym->local_array && sym->first_bind == s && !is_alloc(s->rhs)) {
    split_local_array(t, s, sym);
    return;
  }
  Type *r = ty_expr(t, &s->rhs);
  if (!r)
    return;
  if (is_array(r) && (sym->local_array || is_alloc(s->rhs) || !is_view_expr(s->rhs))) {
    ty_local_array(t, s, sym, r);
    return;
  }
  if (is_array(r)) {
    if (!is_view_expr(s->rhs)) {
      terr(t, DIAG_RUNTIME, s->span,
           "'%s = ...' would create a new array, which ParPy functions cannot do; assign into an "
           "existing array instead (%s[:] = ...)",
           sym->name, sym->name);
      return;
    }
    if (sym->ty && !is_array(sym->ty)) {
      terr(t, DIAG_RUNTIME, s->span,
           "'%s' holds a scalar and cannot also name an array", sym->name);
      return;
    }
    if (sym->ty && !type_equal(sym->ty, r)) {
      terr(t, DIAG_TYPE, s->span,
           "the array variable '%s' names a %s here but a %s elsewhere; an array variable "
           "bound more than once must name arrays of one dtype and shape",
           sym->name, tstr(t, r), tstr(t, sym->ty));
      return;
    }
    if (!sym->ty) {
      t->changed = true;
      sym->first_bind = s;
    } else if (s != sym->first_bind && !sym->array_ref) {
      sym->array_ref = true; /* chosen at run time: a pointer local */
      t->changed = true;
    }
    sym->ty = r;
    if (t->final)
      bind_array_local(t, sym, s);
    return;
  }
  if (!is_scalar(r)) {
    terr(t, DIAG_TYPE, s->span, "a %s cannot be assigned to a variable", tstr(t, r));
    return;
  }
  if (sym->ty && is_array(sym->ty)) {
    terr(t, DIAG_RUNTIME, s->span,
         "'%s' names an array view and cannot also be assigned a scalar", sym->name);
    return;
  }
  join_local(t, sym, r, s->span);
  if (t->final) {
    s->lhs->ty = sym->ty;
    convert(t, &s->rhs, sym->ty);
  }
}

static void ty_assign(Typer *t, Node *s) {
  Node *l = s->lhs;
  if (l->kind == N_VAR) {
    ty_assign_local(t, s);
    return;
  }
  if (l->kind != N_SUBSCRIPT) {
    terr(t, DIAG_RUNTIME, l->span, "only variables and array elements can be assigned to");
    return;
  }
  Type *lt = ty_expr(t, &s->lhs);
  Type *rt = ty_expr(t, &s->rhs);
  if (!lt || !rt)
    return;
  l = s->lhs;
  if (l->kind == N_FIELD || (!is_num(lt))) {
    terr(t, DIAG_RUNTIME, l->span, "cannot assign to a %s", tstr(t, lt));
    return;
  }
  const Sym *param = target_param(l);
  if (param && param->arg) {
    const ArgSpec *spec = param->arg;
    if (spec->kind == ARG_ARRAY && spec->readonly) {
      terr(t, DIAG_VALUE, l->span,
           "the array argument '%s' is read-only, but the function writes to it", param->name);
      return;
    }
    if (spec->kind == ARG_DICT && l->lhs && l->lhs->kind == N_FIELD) {
      for (int i = 0; i < spec->nfields; i++)
        if (intern(spec->keys[i]) == l->lhs->str && spec->fields[i].readonly) {
          terr(t, DIAG_VALUE, l->span, "the array '%s[\"%s\"]' is read-only, but the function writes to it",
               param->name, l->lhs->str);
          return;
        }
    }
  }
  if (!is_num(rt)) {
    terr(t, DIAG_TYPE, s->rhs->span, "cannot store a %s into an array", tstr(t, rt));
    return;
  }
  if (is_scalar(lt) && is_array(rt)) {
    terr(t, DIAG_VALUE, s->span, "cannot store an array of shape %s into a single element",
         tstr(t, rt));
    return;
  }
  if (is_array(lt) && !broadcasts_into(rt, lt)) {
    terr(t, DIAG_VALUE, s->span, "could not broadcast input array of shape %s into shape %s",
         tstr(t, rt), tstr(t, lt));
    return;
  }
  convert(t, &s->rhs, scalar_of(t, lt));
}

static void ty_cond(Typer *t, Node **cp, const char *what) {
  Type *c = ty_expr(t, cp);
  if (c && !is_scalar(c))
    terr(t, is_array(c) ? DIAG_VALUE : DIAG_TYPE, (*cp)->span,
         "the condition of %s must be a scalar, not a %s%s", what, tstr(t, c),
         is_array(c) ? " (the truth value of an array is ambiguous)" : "");
}

static void ty_for(Typer *t, Node *s) {
  Type *int_t = type_scalar(A(t), t->p->opt.int_size, true);
  Node **bounds[2] = {&s->lo, &s->hi};
  for (int i = 0; i < 2; i++) {
    Type *b = ty_expr(t, bounds[i]);
    if (!b)
      continue;
    if (!is_scalar(b) || elem_is_float(b->elem)) {
      terr(t, DIAG_TYPE, (*bounds[i])->span, "range() arguments must be integers, not %s",
           tstr(t, b));
      return;
    }
    convert(t, bounds[i], int_t);
  }
  if (s->step_expr) {
    Type *st = ty_expr(t, &s->step_expr);
    if (st && (!is_scalar(st) || elem_is_float(st->elem))) {
      terr(t, DIAG_TYPE, s->step_expr->span, "range() arguments must be integers, not %s",
           tstr(t, st));
      return;
    }
    int64_t step;
    if (!const_int(s->step_expr, &step)) {
      terr(t, DIAG_RUNTIME, s->step_expr->span,
           "Range step size must be an integer literal (or a constant: a scalar "
           "argument)");
      return;
    }
    if (step == 0) {
      terr(t, DIAG_RUNTIME, s->step_expr->span, "Range step size must be non-zero");
      return;
    }
    s->step = step;
  }
  s->sym->ty = int_t;
  ty_block(t, &s->body);
}

static void ty_return(Typer *t, Node *s) {
  Type *r = ty_expr(t, &s->lhs);
  if (!r)
    return;
  if (!is_scalar(r)) {
    terr(t, DIAG_TYPE, s->span, "a helper function can only return a scalar, not a %s", tstr(t, r));
    return;
  }
  Fn *f = t->fn;
  if (f->src->ret_annot) {
    convert(t, &s->lhs, f->ret);
    return;
  }
  Type *j = f->ret && f->ret->kind == TY_SCALAR ? promote(A(t), f->ret, r) : r;
  if (!f->ret || f->ret->kind != TY_SCALAR || !type_equal(j, f->ret)) {
    f->ret = j;
    t->changed = true;
  }
  convert(t, &s->lhs, f->ret);
}

static void ty_stmt(Typer *t, Node *s) {
  switch (s->kind) {
  case N_ASSIGN: ty_assign(t, s); break;
  case N_FOR: ty_for(t, s); break;
  case N_WHILE:
    ty_cond(t, &s->cond, "a while-loop");
    ty_block(t, &s->body);
    break;
  case N_IF:
    ty_cond(t, &s->cond, "an if-statement");
    ty_block(t, &s->then);
    ty_block(t, &s->els);
    break;
  case N_GPU: ty_block(t, &s->body); break;
  case N_RETURN: ty_return(t, s); break;
  case N_PRINT:
    for (Node **a = &s->args; *a; a = &(*a)->next) {
      if ((*a)->kind == N_STR)
        continue;
      Type *at = ty_expr(t, a);
      if (at && !is_scalar(at))
        terr(t, DIAG_TYPE, (*a)->span,
             "print() in a ParPy function prints strings and scalars, not a %s; print its "
             "elements", tstr(t, at));
    }
    break;
  default: terr(t, DIAG_INTERNAL, s->span, "unexpected statement kind %d in types", s->kind);
  }
}

static void ty_block(Typer *t, Node **list) {
  for (Node **link = list; *link && !failed(t->p);) {
    Node *s = *link;
    ty_stmt(t, s);
    /* A view definition (row = x[i]) disappears: its uses read through it. */
    if (t->final && s->kind == N_ASSIGN && s->lhs->kind == N_VAR && s->lhs->sym->alias) {
      *link = s->next;
      continue;
    }
    link = &s->next;
  }
}

static bool type_fn(Prog *p, Fn *fn) {
  Typer t = {.p = p, .fn = fn};
  if (!fn->is_main && !fn->ret)
    fn->ret = NULL;
  for (int round = 0; round < 64; round++) {
    t.changed = false;
    ty_block(&t, &fn->body);
    if (!t.changed)
      break;
  }
  if (!fn->is_main && !fn->ret)
    fn->ret = type_void();
  t.final = true;
  ty_block(&t, &fn->body);
  return !failed(p);
}

bool check_types(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next)
    if (!type_fn(p, h))
      return false;
  return type_fn(p, p->main);
}
