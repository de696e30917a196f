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
 * `slices` turns them into loops.
 *
 * The pass is split by what it types, all sharing types.h: this file has
 * the helpers, conversions, leaves, the expression dispatch and the
 * fixpoint; types_index.c subscripts, slices and views; types_ops.c
 * operators; types_call.c builtins, mean/var/std/dot and calls;
 * types_stmt.c statements and locals. */
#include "types.h"

/* ---- helpers ---- */

/* Errors are only reported in final mode; infer mode gives up quietly. */
Type *terr(Typer *t, DiagKind kind, Span span, const char *fmt, ...) {
  if (!t->final)
    return NULL;
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&t->p->diag, &t->p->arena, kind, span, fmt, ap);
  va_end(ap);
  return NULL;
}

const char *tstr(Typer *t, const Type *ty) {
  Buf b;
  buf_init(&b);
  type_str(ty, &b);
  char *s = arena_strdup(&t->p->arena, buf_cstr(&b));
  buf_free(&b);
  return s;
}

/* The element type of a scalar or array, as a scalar type (arrays are strong). */
Type *scalar_of(Typer *t, const Type *x) {
  if (x->kind == TY_SCALAR)
    return (Type *)x;
  return type_scalar(A(t), x->elem, false);
}

/* A scalar type `s` given the shape of `shape` (NULL or scalar: none). */
Type *shaped(Typer *t, const Type *shape, const Type *s) {
  if (!shape || shape->kind != TY_ARRAY)
    return (Type *)s;
  return type_array(A(t), s->elem, shape->rank, shape->shape);
}

/* NumPy broadcasting of two operand shapes.  Returns the array type giving
 * the result shape, or NULL when both are scalars; *ok false on mismatch. */
const Type *broadcast(Typer *t, const Type *a, const Type *b, Span span, bool *ok) {
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
bool broadcasts_into(const Type *from, const Type *to) {
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
bool int_fits(Value val, Elem e) {
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
void convert(Typer *t, Node **np, const Type *to) {
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

/* ---- leaves ---- */

Type *ty_literal(Typer *t, Node *n) {
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

Node *literal_int(Typer *t, int64_t v, Span span, Node *next) {
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

Type *ty_expr(Typer *t, Node **np) {
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
