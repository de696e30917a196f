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

#include "../ast.h"

typedef struct Binding {
  const char *name;
  Sym *sym;           /* a variable, or */
  const Node *subst;  /* an inlined callee's parameter: the caller's argument */
} Binding;

typedef struct Resolver Resolver;
struct Resolver {
  Prog *p;
  Fn *fn;
  Func *func;
  Binding *scope;
  int nscope, cap;
  Resolver *parent; /* the resolver of the caller, to detect recursion */
};

static Node *resolve_expr(Resolver *r, const Node *n);
static Node *resolve_block(Resolver *r, const Node *list);

/* ---- scopes ---- */

static void bind(Resolver *r, const char *name, Sym *sym, const Node *subst) {
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

static const Binding *lookup(Resolver *r, const char *name) {
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

static Sym *fn_sym(Resolver *r, const char *name, SymKind kind) {
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

static const Resolved *global_of(Resolver *r, const Node *n) {
  if (n->kind != N_GLOBAL || n->gidx < 0 || n->gidx >= r->func->nglobals)
    return NULL;
  return &r->func->globals[n->gidx].res;
}

static const char *global_name(Resolver *r, const Node *n) {
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

/* ---- helpers called in expressions ---- */

static Fn *resolve_helper(Resolver *r, Func *f, Span call);
static Fn *resolve_fn(Prog *p, Func *f, bool is_main, Resolver *parent);

static Node *resolve_args(Resolver *r, const Node *args) {
  Node head = {0}, *tail = &head;
  for (const Node *a = args; a; a = a->next) {
    Node *c = resolve_expr(r, a);
    if (!c)
      return NULL;
    tail = tail->next = c;
  }
  return head.next;
}

static Node *mk_binary(Arena *a, Op op, Node *l, Node *rhs, Span span) {
  Node *m = new_node(a, N_BINARY, span);
  m->op = op;
  m->lhs = l;
  m->rhs = rhs;
  l->next = rhs->next = NULL;
  return m;
}

/* bool(x) as NumPy's logical functions see their operands. */
static Node *mk_truth(Arena *a, Node *x) {
  Node *c = new_node(a, N_BUILTIN, x->span);
  c->builtin = B_CONVERT;
  c->elem = EL_BOOL;
  c->args = x;
  x->next = NULL;
  return c;
}

/* float(x), for math.pow. */
static Node *mk_float(Arena *a, Node *x) {
  Node *c = mk_truth(a, x);
  c->builtin = B_FLOAT;
  c->elem = EL_F64;
  return c;
}

/* The NumPy functions that are operators in disguise: np.add(a, b) is a + b
 * (the same ufunc, so the same typing), np.logical_and(a, b) is
 * bool(a) & bool(b), np.clip(x, lo, hi) is minimum(maximum(x, lo), hi) (as
 * NumPy defines it) and np.where(c, a, b) an elementwise `a if c else b`. */
static Node *rewrite_builtin(Resolver *r, const Node *n, const Resolved *g, Node *args) {
  Arena *a = &r->p->arena;
  Builtin b = g->builtin;
  int nargs = list_len(args);
  int want = b == B_NEGATIVE || b == B_LOGICAL_NOT ? 1 : b == B_CLIP || b == B_WHERE ? 3 : 2;
  if (n->has_axis)
    return err(r->p, DIAG_RUNTIME, n->span, "axis= is only allowed on reductions"), NULL;
  if (b == B_DIVMOD)
    return err(r->p, DIAG_RUNTIME, n->span,
               "divmod() returns a pair: use it in a tuple assignment, 'q, r = divmod(a, b)', or "
               "write a // b and a %% b"),
           NULL;
  if (nargs != want)
    return err(r->p, DIAG_TYPE, n->span, "%s() takes %d argument%s, got %d", builtin_name(b), want,
               want == 1 ? "" : "s", nargs),
           NULL;
  Node *x = args, *y = args->next, *z = y ? y->next : NULL;
  static const Op ops[] = {[B_ADD] = OP_ADD, [B_SUBTRACT] = OP_SUB, [B_MULTIPLY] = OP_MUL,
                           [B_DIVIDE] = OP_DIV, [B_POWER] = OP_POW, [B_MODULO] = OP_MOD,
                           [B_FLOOR_DIVIDE] = OP_FLOORDIV};
  switch (b) {
  case B_NEGATIVE:
  case B_LOGICAL_NOT: {
    Node *u = new_node(a, N_UNARY, n->span);
    u->op = b == B_NEGATIVE ? OP_NEG : OP_INVERT;
    u->lhs = b == B_NEGATIVE ? x : mk_truth(a, x);
    return u;
  }
  case B_LOGICAL_AND:
  case B_LOGICAL_OR:
    return mk_binary(a, b == B_LOGICAL_AND ? OP_BITAND : OP_BITOR, mk_truth(a, x), mk_truth(a, y),
                     n->span);
  case B_CLIP: {
    Node *lo = mk_binary(a, OP_MAX, x, y, n->span);
    z->next = NULL;
    return mk_binary(a, OP_MIN, lo, z, n->span);
  }
  case B_WHERE: {
    Node *w = new_node(a, N_IFEXP, n->span);
    w->cond = x;
    w->then = y;
    w->els = z;
    x->next = y->next = NULL;
    w->where = true;
    return w;
  }
  case B_POWER:
    if (g->weak_result) /* math.pow: float ** float */
      return mk_binary(a, OP_POW, mk_float(a, x), mk_float(a, y), n->span);
    return mk_binary(a, OP_POW, x, y, n->span);
  default: return mk_binary(a, ops[b], x, y, n->span);
  }
}

/* The dtype argument of np.zeros/np.empty: np.float32, parpy.types.F32 or
 * 'float32'; EL_COUNT when it is none of those. */
static Elem dtype_arg(Resolver *r, const Node *d) {
  if (d->kind == N_STR) {
    for (int e = 0; e < EL_COUNT; e++)
      if (strcmp(d->str, elem_name((Elem)e)) == 0)
        return (Elem)e;
    return EL_COUNT;
  }
  const Resolved *g = d->kind == N_GLOBAL ? global_of(r, d) : NULL;
  if (g && g->kind == GK_BUILTIN && g->builtin == B_CONVERT)
    return g->elem;
  if (g && g->kind == GK_BUILTIN && (g->builtin == B_FLOAT || g->builtin == B_INT))
    return g->builtin == B_FLOAT ? EL_F64 : EL_I64;
  if (g && g->kind == GK_BUILTIN && g->builtin == B_BOOL)
    return EL_BOOL;
  if (g && g->kind == GK_TYPE)
    return g->elem;
  return EL_COUNT;
}

/* np.zeros(shape[, dtype]) / np.empty: a local array, float64 by default. */
static Node *resolve_alloc(Resolver *r, const Node *n, Builtin b) {
  int nargs = list_len(n->args);
  if (nargs < 1 || nargs > 2 || n->has_axis)
    return err(r->p, DIAG_TYPE, n->span, "%s() takes a shape and a dtype, as np.%s((K, L), np.float32)",
               builtin_name(b), builtin_name(b)),
           NULL;
  Elem e = EL_F64;
  if (nargs == 2 && (e = dtype_arg(r, n->args->next)) == EL_COUNT)
    return err(r->p, DIAG_TYPE, n->args->next->span,
               "the dtype of %s() must be a NumPy type such as np.float32 (or its name as a string)",
               builtin_name(b)),
           NULL;
  Node *c = new_node(&r->p->arena, N_BUILTIN, n->span);
  c->builtin = b;
  c->elem = e;
  c->args = resolve_expr(r, n->args);
  return failed(r->p) ? NULL : c;
}

static Node *resolve_builtin_call(Resolver *r, const Node *n, const Resolved *g) {
  Arena *a = &r->p->arena;
  int nargs = list_len(n->args);
  Builtin b = g->builtin;
  if (b == B_LABEL || b == B_GPU || b == B_RANGE) {
    err(r->p, DIAG_RUNTIME, n->span, "%s can only be used %s", builtin_name(b),
        b == B_LABEL ? "as a statement before a for-loop or an assignment"
        : b == B_GPU ? "in a 'with parpy.gpu:' statement"
                     : "as the iterable of a for-loop");
    return NULL;
  }
  if (b == B_ZEROS || b == B_EMPTY)
    return resolve_alloc(r, n, b);
  if (b == B_PRINT)
    return err(r->p, DIAG_RUNTIME, n->span, "print() can only be used as a statement"), NULL;
  Node *args = resolve_args(r, n->args);
  if (failed(r->p))
    return NULL;
  /* Two-argument max/min are elementwise operators, not reductions. */
  if ((b == B_MAX || b == B_MIN || b == B_MAXIMUM || b == B_MINIMUM) && nargs == 2) {
    if (n->has_axis)
      return err(r->p, DIAG_RUNTIME, n->span, "axis= is only allowed on reductions"), NULL;
    Node *m = new_node(a, N_BINARY, n->span);
    m->op = (b == B_MAX || b == B_MAXIMUM) ? OP_MAX : OP_MIN;
    m->weak_result = g->weak_result; /* Python's builtin: Python's comparisons */
    m->lhs = args;
    m->rhs = args->next;
    m->lhs->next = NULL;
    return m;
  }
  if (b >= B_ADD && b <= B_DIVMOD)
    return rewrite_builtin(r, n, g, args);
  Node *c = new_node(a, N_BUILTIN, n->span);
  c->builtin = b;
  c->elem = g->elem;
  c->weak_result = g->weak_result;
  c->args = args;
  c->has_axis = n->has_axis;
  c->axis = n->axis;
  c->has_ddof = n->has_ddof;
  c->ddof = n->ddof;
  return c;
}

/* ---- externals ---- */

/* What a function calls, it calls for its callers too: a helper reaching a
 * device external can only run on the device, and a statement calling it
 * runs a parallel external if the helper does. */
static void inherit_externs(Fn *caller, const Fn *callee) {
  if (!caller->calls_device)
    caller->calls_device = callee->calls_device;
  if (!caller->calls_host)
    caller->calls_host = callee->calls_host;
  if (!caller->calls_parallel)
    caller->calls_parallel = callee->calls_parallel;
}

static void note_extern(Prog *p, Fn *fn, Extern *e) {
  if (e->device && !fn->calls_device)
    fn->calls_device = e;
  if (!e->device && !fn->calls_host)
    fn->calls_host = e;
  if (e->par.nthreads > 0 && !fn->calls_parallel)
    fn->calls_parallel = e;
  for (int i = 0; i < p->nexts; i++)
    if (p->exts[i] == e)
      return;
  Extern **es = ARENA_ARRAY(&p->arena, Extern *, p->nexts + 1);
  if (p->nexts)
    memcpy(es, p->exts, sizeof(Extern *) * (size_t)p->nexts);
  es[p->nexts++] = e;
  p->exts = es;
}

/* An external is code of one backend: compiling for another, it does not
 * exist (0.1.3 said "Call to unknown function"; we say why). */
static Node *resolve_extern_call(Resolver *r, const Node *n, Extern *e, const char *name) {
  if (!e)
    return err(r->p, DIAG_INTERNAL, n->span, "the external '%s' has no declaration", name), NULL;
  if (e->backend != r->p->opt.backend) {
    err(r->p, DIAG_RUNTIME, n->span,
        "'%s' is an external for the %s backend, but this compiles for %s; declare a version "
        "of it for %s with @parpy.external(..., parpy.CompileBackend.%s, ...)",
        name, backend_name(e->backend), backend_name(r->p->opt.backend),
        backend_name(r->p->opt.backend), backend_name(r->p->opt.backend));
    return NULL;
  }
  if (n->has_axis)
    return err(r->p, DIAG_RUNTIME, n->span, "axis= is only allowed on reductions"), NULL;
  Node *c = new_node(&r->p->arena, N_EXTCALL, n->span);
  c->ext = e;
  c->args = resolve_args(r, n->args);
  if (failed(r->p))
    return NULL;
  note_extern(r->p, r->fn, e);
  return c;
}

static Node *resolve_call(Resolver *r, const Node *n) {
  const Node *callee = n->lhs;
  const Resolved *g = callee ? global_of(r, callee) : NULL;
  if (!g) {
    const char *what = callee && callee->kind == N_NAME ? callee->name : "this expression";
    err(r->p, DIAG_RUNTIME, n->span,
        "Unsupported call target type: cannot call '%s': only functions decorated with "
        "@parpy.jit, parpy operators and math builtins can be called in a ParPy function",
        what);
    return NULL;
  }
  const char *name = global_name(r, callee);
  if (n->has_ddof && (g->kind != GK_BUILTIN || (g->builtin != B_VAR && g->builtin != B_STD)))
    return err(r->p, DIAG_RUNTIME, n->span, "ddof= is only allowed on np.var and np.std"), NULL;
  switch (g->kind) {
  case GK_BUILTIN: return resolve_builtin_call(r, n, g);
  case GK_FUNC: {
    if (n->has_axis)
      return err(r->p, DIAG_RUNTIME, n->span, "axis= is only allowed on reductions"), NULL;
    Fn *fn = resolve_helper(r, g->func, n->span);
    if (!fn)
      return NULL;
    Node *c = new_node(&r->p->arena, N_FUNCALL, n->span);
    c->fn = fn;
    c->args = resolve_args(r, n->args);
    inherit_externs(r->fn, fn);
    return failed(r->p) ? NULL : c;
  }
  case GK_EXTERN: return resolve_extern_call(r, n, g->ext, name);
  case GK_UNDEFINED:
  case GK_UNRESOLVED:
    err(r->p, DIAG_NAME_RT, callee->span, "Call to unknown function '%s': %s", name,
        g->what ? g->what : "name is not defined");
    return NULL;
  case GK_OTHER:
    err(r->p, DIAG_RUNTIME, n->span,
        "Call to unknown function '%s' (a %s): ParPy functions can call @parpy.jit functions, "
        "@parpy.external declarations and the supported builtins: %s. Rewrite the call with those "
        "(for example a loop, or np.where(c, a, b) for a selection), move it out of the "
        "jitted function, or declare the C function with @parpy.external",
        name, g->what ? g->what : "object", builtin_supported_list());
    return NULL;
  default:
    err(r->p, DIAG_RUNTIME, n->span,
        "Call to unknown function '%s': it is a %s; only functions decorated with @parpy.jit, "
        "parpy operators and math builtins can be called in a ParPy function",
        name, g->kind == GK_CONST ? "constant" : g->what ? g->what : "object");
    return NULL;
  }
}

/* ---- expressions ---- */

static Node *resolve_name(Resolver *r, const Node *n) {
  const Binding *b = lookup(r, n->name);
  if (!b) {
    err(r->p, DIAG_NAME, n->span,
        "name '%s' is not defined here (a loop variable exists only inside its loop)", n->name);
    return NULL;
  }
  if (b->subst)
    return clone_node(&r->p->arena, b->subst);
  return new_var(r->p, b->sym, n->span);
}

static Node *resolve_expr(Resolver *r, const Node *n) {
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
  bind(r, f->sym->name, f->sym, NULL);
  f->body = resolve_block(r, s->body);
  r->nscope = mark;
  return f;
}

static Node *resolve_assign(Resolver *r, const Node *s) {
  const Node *t = s->lhs;
  if (t->kind == N_NAME) {
    const Binding *b = lookup(r, t->name);
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

static Node *resolve_block(Resolver *r, const Node *list) {
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

/* ---- functions ---- */

static void bind_locals(Resolver *r, const Func *f) {
  const char **names = NULL;
  int n = 0;
  collect_assigned(f->body, &names, &n, &r->p->arena);
  for (int i = 0; i < n; i++)
    if (!is_param_name(f, names[i]) && !lookup(r, names[i]))
      bind(r, names[i], fn_sym(r, names[i], SYM_LOCAL), NULL);
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

static Fn *resolve_fn(Prog *p, Func *f, bool is_main, Resolver *parent) {
  Fn *fn = new_fn(p, f, is_main);
  Resolver r = {.p = p, .fn = fn, .func = f, .parent = parent};
  fn->nparams = f->nparams;
  fn->params = ARENA_ARRAY(&p->arena, Sym *, f->nparams > 0 ? f->nparams : 1);
  for (int i = 0; i < f->nparams; i++) {
    Sym *s = fn_sym(&r, f->params[i].name, SYM_PARAM);
    s->param = i;
    fn->params[i] = s;
    bind(&r, s->name, s, NULL);
  }
  bind_locals(&r, f);
  fn->body = resolve_block(&r, f->body);
  return failed(p) ? NULL : fn;
}

static Fn *resolve_helper(Resolver *r, Func *f, Span call) {
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
      bind(&r, name, s, NULL);
    } else {
      bind(&r, name, NULL, value);
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
