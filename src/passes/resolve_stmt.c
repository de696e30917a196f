/* resolve_stmt.c - the resolve pass (resolve.c) on statements: loops,
 * assignments, `with parpy.gpu`, and the `parpy.label` statements attached
 * to the statement they name. */
#include <string.h>

#include "resolve.h"

/* ---- statements ---- */

typedef struct Pending {
  int n;
  const char *names[16];
  Span span;
} Pending;

static bool take_label(Resolver *r, Pending *pl, const Node *call) {
  const Node *arg = call->args;
  if (list_len(arg) != 1 || call->has_axis)
    return err(r->p, DIAG_RUNTIME, call->span, "Label statement expects one argument: parpy.label('N')");
  if (arg->kind != N_STR)
    return err(r->p, DIAG_RUNTIME, arg->span,
               "First argument of parpy.label should be a string literal representing the "
               "label name, such as parpy.label('N')");
  if (pl->n == (int)PP_COUNT(pl->names))
    return err(r->p, DIAG_RUNTIME, call->span, "too many labels on one statement");
  if (pl->n == 0)
    pl->span = call->span;
  pl->names[pl->n++] = intern(arg->str);
  return true;
}

static void attach_labels(Resolver *r, Pending *pl, Node *stmt) {
  if (pl->n == 0)
    return;
  stmt->labels.n = pl->n;
  stmt->labels.names = ARENA_ARRAY(&r->p->arena, const char *, pl->n);
  memcpy(stmt->labels.names, pl->names, sizeof(const char *) * (size_t)pl->n);
  pl->n = 0;
}

static Node *resolve_for(Resolver *r, const Node *s) {
  const Node *it = s->rhs;
  const Resolved *g = it && it->kind == N_CALL && it->lhs ? global_of(r, it->lhs) : NULL;
  if (!g || g->kind != GK_BUILTIN || g->builtin != B_RANGE) {
    err(r->p, DIAG_RUNTIME, it ? it->span : s->span,
        "For-loop must iterate using the range builtin: for-loops in a ParPy function "
        "iterate over range(...)");
    return NULL;
  }
  int nargs = list_len(it->args);
  if (nargs < 1 || nargs > 3 || it->has_axis) {
    err(r->p, DIAG_TYPE_RT, it->span,
        "Invalid number of arguments passed to range: it expects 1 to 3 arguments, got %d",
        nargs);
    return NULL;
  }
  Node *args = resolve_args(r, it->args);
  if (!args)
    return NULL;
  Node *f = new_node(&r->p->arena, N_FOR, s->span);
  if (nargs == 1) {
    f->lo = new_int(&r->p->arena, 0, it->span);
    f->hi = args;
  } else {
    f->lo = args;
    f->hi = args->next;
    f->step_expr = nargs == 3 ? args->next->next : NULL;
  }
  f->lo->next = f->hi->next = NULL;
  if (f->step_expr)
    f->step_expr->next = NULL;
  f->step = 1;
  /* The loop variable is a fresh symbol, visible in the body only. */
  f->sym = fn_sym(r, s->name, SYM_LOOP);
  int mark = r->nscope;
  bind_name(r, f->sym->name, f->sym, NULL);
  f->body = resolve_block(r, s->body);
  r->nscope = mark;
  return f;
}

static Node *resolve_assign(Resolver *r, const Node *s) {
  const Node *t = s->lhs;
  if (t->kind == N_NAME) {
    const Binding *b = lookup_name(r, t->name);
    if (b && (b->subst || b->sym->kind == SYM_PARAM)) {
      err(r->p, DIAG_RUNTIME, t->span,
          "assigning to the parameter '%s' is not supported; assign to a new variable instead",
          t->name);
      return NULL;
    }
    if (b && b->sym->kind == SYM_LOOP) {
      err(r->p, DIAG_RUNTIME, t->span,
          "assigning to the loop variable '%s' inside its loop is not supported", t->name);
      return NULL;
    }
  } else if (t->kind == N_GLOBAL) {
    err(r->p, DIAG_RUNTIME, t->span,
        "cannot assign to '%s' from the enclosing scope: ParPy functions cannot change globals",
        global_name(r, t));
    return NULL;
  }
  Node *c = new_node(&r->p->arena, N_ASSIGN, s->span);
  c->lhs = resolve_expr(r, t);
  c->rhs = resolve_expr(r, s->rhs);
  if (c->lhs && c->lhs->kind == N_VAR)
    c->lhs->sym->assigned = true;
  return failed(r->p) ? NULL : c;
}

/* An expression statement: a label, or a statement call of a jit function. */
static Node *resolve_expr_stmt(Resolver *r, const Node *s, Pending *pl) {
  const Node *e = s->lhs;
  const Resolved *g = e && e->kind == N_CALL && e->lhs ? global_of(r, e->lhs) : NULL;
  if (g && g->kind == GK_BUILTIN && g->builtin == B_LABEL) {
    take_label(r, pl, e);
    return NULL;
  }
  if (g && g->kind == GK_FUNC) {
    if (e->has_axis) {
      err(r->p, DIAG_RUNTIME, e->span, "axis= is only allowed on reductions");
      return NULL;
    }
    Node *c = new_node(&r->p->arena, N_INLINE, s->span);
    c->func = g->func;
    c->args = resolve_args(r, e->args);
    return c;
  }
  if (g && g->kind == GK_BUILTIN && g->builtin == B_PRINT) {
    if (e->has_axis)
      return err(r->p, DIAG_RUNTIME, e->span, "print() takes no axis="), NULL;
    Node *c = new_node(&r->p->arena, N_PRINT, s->span);
    c->args = resolve_args(r, e->args);
    return failed(r->p) ? NULL : c;
  }
  if (g && g->kind == GK_EXTERN) {
    err(r->p, DIAG_RUNTIME, e->span,
        "the external function '%s' can only be called in an expression whose value is used "
        "(such as y[i] = %s(...)), not as a statement",
        global_name(r, e->lhs), global_name(r, e->lhs));
    return NULL;
  }
  if (e && e->kind == N_CALL) {
    resolve_call(r, e); /* reports unknown callees precisely */
    if (!failed(r->p))
      err(r->p, DIAG_RUNTIME, s->span,
          "this call is a statement whose result is thrown away; only calls of jit functions "
          "and parpy.label can stand alone");
    return NULL;
  }
  err(r->p, DIAG_RUNTIME, s->span, "Unsupported expression statement: this expression statement has no effect");
  return NULL;
}

static Node *resolve_stmt(Resolver *r, const Node *s, Pending *pl) {
  Arena *a = &r->p->arena;
  if (pl->n && s->kind != N_FOR && s->kind != N_ASSIGN && s->kind != N_EXPR) {
    err(r->p, DIAG_RUNTIME, s->span,
        "a label must be followed by a for-loop or an assignment (label '%s')", pl->names[0]);
    return NULL;
  }
  switch (s->kind) {
  case N_ASSIGN: {
    Node *c = resolve_assign(r, s);
    if (c)
      attach_labels(r, pl, c);
    return c;
  }
  case N_FOR: {
    Pending mine = *pl;
    pl->n = 0;
    Node *c = resolve_for(r, s);
    if (c)
      attach_labels(r, &mine, c);
    return c;
  }
  case N_EXPR: {
    int before = pl->n;
    Node *c = resolve_expr_stmt(r, s, pl);
    if (c && before) {
      err(r->p, DIAG_RUNTIME, s->span,
          "a label must be followed by a for-loop or an assignment, not a call (label '%s')",
          pl->names[0]);
      return NULL;
    }
    return c;
  }
  case N_WHILE:
  case N_IF: {
    Node *c = new_node(a, s->kind, s->span);
    c->cond = resolve_expr(r, s->cond);
    c->body = resolve_block(r, s->body);
    c->then = resolve_block(r, s->then);
    c->els = resolve_block(r, s->els);
    return c;
  }
  case N_WITH: {
    const Resolved *g = s->lhs ? global_of(r, s->lhs) : NULL;
    if (!g || g->kind != GK_BUILTIN || g->builtin != B_GPU) {
      err(r->p, DIAG_RUNTIME, s->lhs ? s->lhs->span : s->span,
          "With statements are only supported for 'parpy.gpu'");
      return NULL;
    }
    Node *c = new_node(a, N_GPU, s->span);
    c->body = resolve_block(r, s->body);
    return c;
  }
  case N_RETURN: {
    if (r->fn->is_main) {
      err(r->p, DIAG_RUNTIME, s->span,
          "the function '%s' is called from Python and cannot return a value; write its results "
          "into an array argument instead",
          r->fn->name);
      return NULL;
    }
    Node *c = new_node(a, N_RETURN, s->span);
    c->lhs = resolve_expr(r, s->lhs);
    return c;
  }
  default:
    err(r->p, DIAG_INTERNAL, s->span, "unexpected statement kind %d in resolve", s->kind);
    return NULL;
  }
}

Node *resolve_block(Resolver *r, const Node *list) {
  Node head = {0}, *tail = &head;
  Pending pl = {0};
  Labels chain = {0};
  for (const Node *s = list; s && !failed(r->p); s = s->next) {
    Node *c = resolve_stmt(r, s, &pl);
    /* The targets of a chained assignment (y[:] = z[:] = 0.0) are
     * statements of their own that share the labels before it. */
    if (c && c->kind == N_ASSIGN && s->implicit && c->labels.n == 0)
      c->labels = chain;
    if (c && c->kind == N_ASSIGN)
      chain = c->labels;
    if (c)
      tail = tail->next = c;
  }
  if (pl.n && !failed(r->p))
    err(r->p, DIAG_RUNTIME, pl.span, "the label '%s' is not followed by a statement",
        pl.names[0]);
  return head.next;
}
