/* resolve_call.c - the resolve pass (resolve.c) on calls in expressions:
 * builtins rewritten to their nodes, jit functions resolved into helper Fns,
 * externals checked against the backend and noted on the functions calling
 * them. */
#include <string.h>

#include "resolve.h"

/* ---- helpers called in expressions ---- */

Node *resolve_args(Resolver *r, const Node *args) {
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

Node *resolve_call(Resolver *r, const Node *n) {
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
