/* types_stmt.c - typing statements: assignments (locals joined over the
 * fixpoint, array locals and views bound, stores checked), loops, ifs,
 * returns and print. */
#include <string.h>

#include "types.h"

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

void ty_block(Typer *t, Node **list) {
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
