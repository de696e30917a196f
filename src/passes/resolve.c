/* resolve.c - clone the decorated function into the compilation and bind
 * every name: parameters, locals and loop variables become symbols, global
 * references become constants, builtins or callees, `parpy.label` statements
 * attach to the statement they name, `for ... in range` and `with parpy.gpu`
 * are recognised.  Statement calls of other jit functions are left as
 * N_INLINE for the next pass; expression calls resolve their callee into a
 * helper Fn of this Prog.
 *
 * Python scoping: a name assigned anywhere in a function is a local of the
 * whole function; a for-loop variable is scoped to its loop (as in ParPy
 * 0.1.3), so two loops over `i` are two symbols. */
#include <string.h>

#include "resolve.h"


/* ---- scopes ---- */

void bind_name(Resolver *r, const char *name, Sym *sym, const Node *subst) {
  if (r->nscope == r->cap) {
    int cap = r->cap ? r->cap * 2 : 32;
    Binding *nb = ARENA_ARRAY(&r->p->arena, Binding, cap);
    if (r->nscope)
      memcpy(nb, r->scope, sizeof(Binding) * (size_t)r->nscope);
    r->scope = nb;
    r->cap = cap;
  }
  r->scope[r->nscope++] = (Binding){name, sym, subst};
}

const Binding *lookup_name(Resolver *r, const char *name) {
  for (int i = r->nscope - 1; i >= 0; i--)
    if (r->scope[i].name == name)
      return &r->scope[i];
  return NULL;
}

static void add_sym(Fn *fn, Arena *a, Sym *s) {
  /* Grow by doubling; the array lives in the arena so old copies are simply
   * abandoned. */
  if ((fn->nsyms & (fn->nsyms - 1)) == 0) {
    int cap = fn->nsyms ? fn->nsyms * 2 : 16;
    Sym **ns = ARENA_ARRAY(a, Sym *, cap);
    if (fn->nsyms)
      memcpy(ns, fn->syms, sizeof(Sym *) * (size_t)fn->nsyms);
    fn->syms = ns;
  }
  fn->syms[fn->nsyms++] = s;
}

Sym *fn_sym(Resolver *r, const char *name, SymKind kind) {
  Sym *s = new_sym(r->p, name, kind, NULL);
  add_sym(r->fn, &r->p->arena, s);
  return s;
}

Sym *fn_temp(Prog *p, Fn *fn, const char *name, Type *ty) {
  Sym *s = new_sym(p, name, SYM_TEMP, ty);
  add_sym(fn, &p->arena, s);
  return s;
}

/* Names assigned anywhere in a block (targets of plain assignments). */
static void collect_assigned(const Node *list, const char ***names, int *n, Arena *a) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs && s->lhs->kind == N_NAME) {
      bool seen = false;
      for (int i = 0; i < *n; i++)
        seen |= (*names)[i] == s->lhs->name;
      if (!seen) {
        const char **nn = ARENA_ARRAY(a, const char *, *n + 1);
        if (*n)
          memcpy(nn, *names, sizeof(const char *) * (size_t)*n);
        nn[(*n)++] = s->lhs->name;
        *names = nn;
      }
    }
    collect_assigned(s->body, names, n, a);
    collect_assigned(s->then, names, n, a);
    collect_assigned(s->els, names, n, a);
  }
}

static bool is_param_name(const Func *f, const char *name) {
  for (int i = 0; i < f->nparams; i++)
    if (f->params[i].name == name)
      return true;
  return false;
}

/* ---- globals ---- */

const Resolved *global_of(Resolver *r, const Node *n) {
  if (n->kind != N_GLOBAL || n->gidx < 0 || n->gidx >= r->func->nglobals)
    return NULL;
  return &r->func->globals[n->gidx].res;
}

const char *global_name(Resolver *r, const Node *n) {
  return r->func->globals[n->gidx].chain;
}

static Node *const_node(Resolver *r, const Resolved *g, Span span) {
  Elem e = g->val.elem;
  NodeKind k = e == EL_BOOL ? N_BOOL : elem_is_float(e) ? N_FLOAT : N_INT;
  Node *n = new_node(&r->p->arena, k, span);
  n->val = g->val;
  if (!g->weak)
    n->ty = type_scalar(&r->p->arena, e, false);
  return n;
}

/* A global used as a value (not called). */
static Node *global_value(Resolver *r, const Node *n) {
  const Resolved *g = global_of(r, n);
  const char *name = global_name(r, n);
  switch (g->kind) {
  case GK_CONST: return const_node(r, g, n->span);
  case GK_UNDEFINED:
  case GK_UNRESOLVED:
    err(r->p, DIAG_NAME, n->span, "%s", g->what ? g->what : "name is not defined");
    return NULL;
  case GK_BUILTIN:
    err(r->p, DIAG_RUNTIME, n->span,
        "'%s' (the builtin %s) can only be called here, not used as a value", name,
        builtin_name(g->builtin));
    return NULL;
  case GK_FUNC:
    err(r->p, DIAG_RUNTIME, n->span,
        "the jit function '%s' can only be called here, not used as a value", name);
    return NULL;
  case GK_EXTERN:
    err(r->p, DIAG_RUNTIME, n->span,
        "the external function '%s' can only be called here, not used as a value", name);
    return NULL;
  case GK_TYPE:
  case GK_OTHER:
    if (g->kind == GK_OTHER && g->what && strcmp(g->what, "NoneType") == 0) {
      Node *s = new_node(&r->p->arena, N_SLICE, n->span); /* np.newaxis */
      s->newaxis = true;
      return s;
    }
    break;
  }
  err(r->p, DIAG_TYPE, n->span,
      "'%s' is a %s object, which a ParPy function cannot use; only int, float and bool "
      "constants, parpy operators and jit functions can be referred to from the enclosing scope",
      name, g->what ? g->what : "type");
  return NULL;
}

/* ---- expressions ---- */

static Node *resolve_name(Resolver *r, const Node *n) {
  const Binding *b = lookup_name(r, n->name);
  if (!b) {
    err(r->p, DIAG_NAME, n->span,
        "name '%s' is not defined here (a loop variable exists only inside its loop)", n->name);
    return NULL;
  }
  if (b->subst)
    return clone_node(&r->p->arena, b->subst);
  return new_var(r->p, b->sym, n->span);
}

Node *resolve_expr(Resolver *r, const Node *n) {
  Arena *a = &r->p->arena;
  if (!n || failed(r->p))
    return NULL;
  switch (n->kind) {
  case N_NAME: return resolve_name(r, n);
  case N_GLOBAL: return global_value(r, n);
  case N_CALL: return resolve_call(r, n);
  case N_INT:
  case N_FLOAT:
  case N_BOOL:
  case N_STR: {
    Node *c = new_node(a, n->kind, n->span);
    c->val = n->val;
    c->str = n->str;
    c->ty = n->ty;
    return c;
  }
  case N_BINARY:
    if (n->op == OP_MATMUL) { /* a @ b of two vectors: np.dot */
      Node *d = new_node(a, N_BUILTIN, n->span);
      d->builtin = B_DOT;
      d->args = resolve_expr(r, n->lhs);
      if (d->args)
        d->args->next = resolve_expr(r, n->rhs);
      return failed(r->p) ? NULL : d;
    }
    break;
  default: break;
  }
  /* Structural nodes: copy and resolve the children. */
  Node *c = ARENA_NEW(a, Node);
  *c = *n;
  c->next = NULL;
  c->lhs = n->lhs ? resolve_expr(r, n->lhs) : NULL;
  c->rhs = n->rhs ? resolve_expr(r, n->rhs) : NULL;
  c->cond = n->cond ? resolve_expr(r, n->cond) : NULL;
  c->then = n->then ? resolve_expr(r, n->then) : NULL;
  c->els = n->els ? resolve_expr(r, n->els) : NULL;
  c->lo = n->lo ? resolve_expr(r, n->lo) : NULL;
  c->hi = n->hi ? resolve_expr(r, n->hi) : NULL;
  c->step_expr = n->step_expr ? resolve_expr(r, n->step_expr) : NULL;
  c->args = n->args ? resolve_args(r, n->args) : NULL;
  return failed(r->p) ? NULL : c;
}

/* ---- functions ---- */

static void bind_locals(Resolver *r, const Func *f) {
  const char **names = NULL;
  int n = 0;
  collect_assigned(f->body, &names, &n, &r->p->arena);
  for (int i = 0; i < n; i++)
    if (!is_param_name(f, names[i]) && !lookup_name(r, names[i]))
      bind_name(r, names[i], fn_sym(r, names[i], SYM_LOCAL), NULL);
}

static bool check_resolved(Prog *p, Func *f, Span call) {
  if (f->resolved)
    return true;
  return err(p, DIAG_INTERNAL, call, "the globals of '%s' were not looked up", f->name);
}

static Fn *new_fn(Prog *p, Func *f, bool is_main) {
  Fn *fn = ARENA_NEW(&p->arena, Fn);
  fn->src = f;
  fn->name = f->name;
  fn->is_main = is_main;
  fn->ret = type_void();
  return fn;
}

Fn *resolve_fn(Prog *p, Func *f, bool is_main, Resolver *parent) {
  Fn *fn = new_fn(p, f, is_main);
  Resolver r = {.p = p, .fn = fn, .func = f, .parent = parent};
  fn->nparams = f->nparams;
  fn->params = ARENA_ARRAY(&p->arena, Sym *, f->nparams > 0 ? f->nparams : 1);
  for (int i = 0; i < f->nparams; i++) {
    Sym *s = fn_sym(&r, f->params[i].name, SYM_PARAM);
    s->param = i;
    fn->params[i] = s;
    bind_name(&r, s->name, s, NULL);
  }
  bind_locals(&r, f);
  fn->body = resolve_block(&r, f->body);
  return failed(p) ? NULL : fn;
}

Fn *resolve_helper(Resolver *r, Func *f, Span call) {
  Prog *p = r->p;
  for (Fn *h = p->helpers; h; h = h->next)
    if (h->src == f)
      return h;
  for (Resolver *up = r; up; up = up->parent)
    if (up->func == f)
      return err(p, DIAG_RUNTIME, call, "'%s' calls itself; recursion is not supported",
                 f->name),
             NULL;
  if (!check_resolved(p, f, call))
    return NULL;
  Fn *fn = resolve_fn(p, f, false, r);
  if (!fn)
    return NULL;
  /* Its own callees were appended while resolving it: callees come first. */
  Fn **tail = &p->helpers;
  while (*tail)
    tail = &(*tail)->next;
  *tail = fn;
  return fn;
}

bool resolve_names(Prog *p) {
  if (!check_resolved(p, p->func, p->func->span))
    return false;
  p->main = resolve_fn(p, p->func, true, NULL);
  return p->main != NULL;
}

/* ---- inlining support (used by inline.c) ----
 * Resolve a callee's body in the caller's function: its parameters stand
 * for the caller's argument expressions (call by name, as arrays are passed
 * by reference in Python), except a parameter the callee assigns, which
 * becomes a fresh local initialised from the argument (Python semantics). */
Node *resolve_inlined(Prog *p, Fn *caller, Func *callee, Node *args, Span call) {
  if (!check_resolved(p, callee, call))
    return NULL;
  int nargs = list_len(args);
  if (nargs != callee->nparams) {
    err(p, DIAG_TYPE, call, "%s() takes %d argument%s but %d %s given", callee->name,
        callee->nparams, callee->nparams == 1 ? "" : "s", nargs, nargs == 1 ? "was" : "were");
    return NULL;
  }
  Resolver r = {.p = p, .fn = caller, .func = callee};
  const char **assigned = NULL;
  int nassigned = 0;
  collect_assigned(callee->body, &assigned, &nassigned, &p->arena);
  Node head = {0}, *tail = &head;
  Node *arg = args;
  for (int i = 0; i < callee->nparams; i++, arg = arg->next) {
    const char *name = callee->params[i].name;
    bool is_assigned = false;
    for (int k = 0; k < nassigned; k++)
      is_assigned |= assigned[k] == name;
    Node *value = arg;
    if (is_assigned) {
      Sym *s = fn_sym(&r, name, SYM_LOCAL);
      s->assigned = true;
      Node *init = new_node(&p->arena, N_ASSIGN, arg->span);
      init->lhs = new_var(p, s, arg->span);
      init->rhs = value;
      tail = tail->next = init;
      bind_name(&r, name, s, NULL);
    } else {
      bind_name(&r, name, NULL, value);
    }
  }
  for (Node *a = args; a;) {
    Node *next = a->next;
    a->next = NULL;
    a = next;
  }
  bind_locals(&r, callee);
  tail->next = resolve_block(&r, callee->body);
  return failed(p) ? NULL : head.next;
}
