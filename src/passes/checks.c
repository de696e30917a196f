/* checks.c - the run-time checks of the debug mode (opts.debug).
 *
 * Runs last, on the program the printers will print, and only when the
 * options ask for it: the unchecked code never sees this pass.  It records a
 * CheckSite (what, where in the Python source) for every check and marks the
 * nodes to check:
 *
 *   - every subscript of an array of known shape (N_SUBSCRIPT.check): each
 *     index within [0, extent).  An index that is a loop variable whose
 *     compile-time bounds stay inside the extent needs no check, so the
 *     common `for i in range(N): x[i]` costs nothing when N fits x, and
 *     an argument shorter than N is caught at its first element past the end;
 *   - a write through an index array in a parallel loop without .reduce()
 *     (N_ASSIGN.check): a shadow array holds, per element, the iteration that
 *     wrote it; a second iteration writing the element is a race.  The
 *     shadow is reset (an N_CHECK statement) before the outermost parallel
 *     loop each time it starts;
 *   - the divisor of an integer // or % (and np.fmod) that is not a nonzero
 *     constant, and a float converted to an integer type: wrapped in an
 *     N_CHECK node that gives the value back after checking it.
 *
 * Updates that the printers recognise by their shape (`t = t op e` of a
 * reduction, atomic updates) keep their shape: no N_CHECK is put around an
 * expression that contains the updated target. */
#include <string.h>

#include "../ast.h"

typedef struct Checks {
  Prog *p;
  Fn *fn;
  /* the loops around the node being visited, innermost last */
  int nloops;
  const Node *loops[64];
  Node *outer_par;       /* the outermost parallel loop around it, if any */
  Node **outer_slot;     /* the list slot holding outer_par (for resets) */
  const Node *inner_par; /* the innermost parallel (non-reduce) loop */
  const Node *target;    /* the lhs of the statement being visited */
  bool *indirect;        /* by symbol id: a local computed from an array element */
  int cap;
} Checks;

static int add_site(Checks *k, CheckKind kind, const Node *n) {
  Prog *p = k->p;
  if (p->nchecks == k->cap) {
    int cap = k->cap ? 2 * k->cap : 32;
    CheckSite *grown = ARENA_ARRAY(&p->arena, CheckSite, cap);
    for (int i = 0; i < p->nchecks; i++)
      grown[i] = p->checks[i];
    p->checks = grown;
    k->cap = cap;
  }
  CheckSite *s = &p->checks[p->nchecks];
  *s = (CheckSite){.kind = kind, .span = n->span};
  Buf b;
  buf_init(&b);
  print_expr(n, &b);
  s->what = arena_strdup(&p->arena, buf_cstr(&b));
  buf_free(&b);
  return ++p->nchecks; /* Node.check: 1 + the index */
}

/* The array a subscript indexes, for messages: x, d["x"]. */
static const char *array_name(Prog *p, const Node *base) {
  Buf b;
  buf_init(&b);
  print_expr(base, &b);
  const char *s = arena_strdup(&p->arena, buf_cstr(&b));
  buf_free(&b);
  return s;
}

/* ---- indices that need no check ---- */

static const Node *loop_of(const Checks *k, const Sym *s) {
  for (int i = k->nloops - 1; i >= 0; i--)
    if (k->loops[i]->sym == s)
      return k->loops[i];
  return NULL;
}

/* The values an index expression takes, when the compiler can bound them:
 * constants, loop variables of loops with constant bounds (not assigned in
 * the body), and sums and differences of those.  Kept within +-2**31 so
 * that no arithmetic of the code (int32 under force_int_size) can wrap. */
enum { BOUND = 1 << 30 };

static bool interval(const Checks *k, const Node *n, int64_t *lo, int64_t *hi) {
  int64_t v, a, b, c, d;
  if (const_int(n, &v)) {
    *lo = *hi = v;
    return v > -BOUND && v < BOUND;
  }
  if (n->kind == N_VAR && n->sym->kind == SYM_LOOP && !n->sym->assigned) {
    const Node *f = loop_of(k, n->sym);
    int64_t l, h;
    if (!f || !const_int(f->lo, &l) || !const_int(f->hi, &h) || l <= -BOUND || l >= BOUND ||
        h <= -BOUND || h >= BOUND)
      return false;
    if (f->step > 0 ? l >= h : l <= h) { /* no iteration: any interval will do */
      *lo = *hi = 0;
      return true;
    }
    int64_t last = f->step > 0 ? l + (h - l - 1) / f->step * f->step
                               : l - (l - h - 1) / -f->step * -f->step;
    *lo = l < last ? l : last;
    *hi = l < last ? last : l;
    return true;
  }
  if (n->kind == N_BINARY && (n->op == OP_ADD || n->op == OP_SUB) && interval(k, n->lhs, &a, &b) &&
      interval(k, n->rhs, &c, &d)) {
    *lo = n->op == OP_ADD ? a + c : a - d;
    *hi = n->op == OP_ADD ? b + d : b - c;
    return *lo > -BOUND && *hi < BOUND;
  }
  return false;
}

/* Is `i` within [0, extent) whatever the run-time values? */
static bool in_range(const Checks *k, const Node *i, int64_t extent) {
  int64_t lo, hi;
  return interval(k, i, &lo, &hi) && lo >= 0 && hi < extent;
}

/* ---- walking ---- */

static void visit_expr(Checks *k, Node **slot, bool write);

static bool contains(const Node *n, const Node *target) {
  if (!n || !target)
    return false;
  if (expr_equal(n, target))
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (contains(kids[i], target))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (contains(a, target))
      return true;
  return false;
}

/* Wrap *slot (a divisor or a float about to become an integer) in a check. */
static void wrap(Checks *k, Node **slot, CheckKind kind, Elem e, const Node *site_of) {
  Node *n = *slot;
  if (contains(n, k->target))
    return; /* keeps the shape of `t = t op e` */
  Node *c = new_node(&k->p->arena, N_CHECK, n->span);
  c->lhs = n;
  c->ty = n->ty;
  c->next = n->next;
  n->next = NULL;
  c->check = add_site(k, kind, site_of);
  k->p->checks[c->check - 1].elem = e;
  *slot = c;
}

static Elem elem_of(const Node *n) { return n && n->ty ? n->ty->elem : EL_BOOL; }

static void check_subscript(Checks *k, Node *n, bool write) {
  const Type *bt = n->lhs->ty;
  if (!bt || bt->kind != TY_ARRAY)
    return;
  bool need = false;
  int d = 0, nidx = 0;
  for (const Node *i = n->args; i && d < bt->rank; i = i->next, d++) {
    nidx += i->kind != N_SLICE;
    if (i->kind != N_SLICE && !in_range(k, i, bt->shape[d]))
      need = true;
  }
  if (!need)
    return;
  n->check = add_site(k, CHECK_INDEX, n);
  CheckSite *s = &k->p->checks[n->check - 1];
  s->array = array_name(k->p, n->lhs);
  s->ty = bt;
  s->write = write;
  s->nidx = nidx;
}

static bool reads_array(const Checks *k, const Node *n) {
  if (!n)
    return false;
  if (n->kind == N_SUBSCRIPT && n->ty && n->ty->kind == TY_SCALAR)
    return true;
  if (n->kind == N_VAR && k->indirect[n->sym->id])
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (reads_array(k, kids[i]))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (reads_array(k, a))
      return true;
  return false;
}

/* The shadow array of `base` (one per argument array), made on first use. */
static Sym *shadow_of(Checks *k, const Node *base) {
  Prog *p = k->p;
  for (int i = 0; i < p->nchecks; i++) {
    CheckSite *s = &p->checks[i];
    if (s->kind == CHECK_RACE && s->shadow && s->shadow->alias &&
        expr_equal(s->shadow->alias, base))
      return s->shadow;
  }
  Type *t = type_array(&p->arena, EL_I64, base->ty->rank, base->ty->shape);
  Sym *sh = new_sym(p, "shadow", SYM_TEMP, t);
  sh->cname = arena_printf(&p->arena, "parpy_shadow_%d", p->nshadows);
  sh->alias = (Node *)base; /* which array it shadows (for the lookup above) */
  Sym **grown = ARENA_ARRAY(&p->arena, Sym *, p->nshadows + 1);
  for (int i = 0; i < p->nshadows; i++)
    grown[i] = p->shadows[i];
  grown[p->nshadows++] = sh;
  p->shadows = grown;
  return sh;
}

static bool gpu_backend(const Prog *p) { return p->opt.backend != BACKEND_CPU; }

/* The reset of `sh` before the outermost parallel loop, once per loop. */
static void reset_before_loop(Checks *k, Sym *sh) {
  for (Node *s = *k->outer_slot; s != k->outer_par; s = s->next)
    if (s->kind == N_CHECK && s->sym == sh)
      return;
  Node *r = new_node(&k->p->arena, N_CHECK, k->outer_par->span);
  r->sym = sh;
  r->next = *k->outer_slot;
  *k->outer_slot = r;
  k->outer_slot = &r->next;
}

/* A store through an index array in a parallel loop: checked for races
 * when the array is an argument (a local array is each iteration's own). */
static void check_race(Checks *k, Node *s) {
  Node *t = s->lhs;
  if (!k->inner_par || s->atomic || t->kind != N_SUBSCRIPT || !t->lhs->ty ||
      t->lhs->ty->kind != TY_ARRAY || is_array_ref(t->lhs))
    return;
  const Node *base = t->lhs;
  if (base->kind == N_VAR && base->sym->kind != SYM_PARAM)
    return;
  if (base->kind != N_VAR && base->kind != N_FIELD)
    return;
  bool indirect = false;
  for (const Node *a = t->args; a; a = a->next)
    indirect |= reads_array(k, a);
  /* A GPU resets the shadow from the host, before the loop's kernel. */
  if (!indirect || (gpu_backend(k->p) && !k->outer_par->kernel))
    return;
  Sym *sh = shadow_of(k, base);
  s->check = add_site(k, CHECK_RACE, t);
  CheckSite *site = &k->p->checks[s->check - 1];
  site->array = array_name(k->p, base);
  site->ty = base->ty;
  site->shadow = sh;
  site->iter = k->inner_par->sym;
  reset_before_loop(k, sh);
}

static void visit_list(Checks *k, Node **list, bool args);

static void visit_expr(Checks *k, Node **slot, bool write) {
  Node *n = *slot;
  if (!n)
    return;
  switch (n->kind) {
  case N_SUBSCRIPT:
    check_subscript(k, n, write);
    visit_expr(k, &n->lhs, false);
    visit_list(k, &n->args, true);
    return;
  case N_BINARY:
    visit_expr(k, &n->lhs, false);
    visit_expr(k, &n->rhs, false);
    if ((n->op == OP_FLOORDIV || n->op == OP_MOD) && elem_is_int(elem_of(n->rhs))) {
      int64_t v;
      if (!const_int(n->rhs, &v) || v == 0)
        wrap(k, &n->rhs, CHECK_ZERO, elem_of(n->rhs), n);
    }
    return;
  case N_CONVERT:
    visit_expr(k, &n->lhs, false);
    if (n->ty && elem_is_int(n->ty->elem) && elem_is_float(elem_of(n->lhs)))
      wrap(k, &n->lhs, CHECK_RANGE, n->ty->elem, n);
    return;
  case N_BUILTIN:
    visit_list(k, &n->args, true);
    if (n->builtin == B_FMOD && n->args && n->args->next && elem_is_int(elem_of(n->args->next))) {
      int64_t v;
      if (!const_int(n->args->next, &v) || v == 0)
        wrap(k, &n->args->next, CHECK_ZERO, elem_of(n->args->next), n);
    }
    if ((n->builtin == B_CONVERT || n->builtin == B_INT) && n->ty && elem_is_int(n->ty->elem) &&
        elem_is_float(elem_of(n->args)))
      wrap(k, &n->args, CHECK_RANGE, n->ty->elem, n);
    return;
  default:
    visit_expr(k, &n->lhs, false);
    visit_expr(k, &n->rhs, false);
    visit_expr(k, &n->cond, false);
    visit_expr(k, &n->then, false);
    visit_expr(k, &n->els, false);
    visit_list(k, &n->args, true);
    return;
  }
}

static void visit_stmts(Checks *k, Node **list);

/* Locals of a parallel loop's body computed from array elements (k = idx[i]). */
static void find_indirect(Checks *k, const Node *list, bool *changed) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR && !k->indirect[s->lhs->sym->id] &&
        reads_array(k, s->rhs)) {
      k->indirect[s->lhs->sym->id] = true;
      *changed = true;
    }
    find_indirect(k, s->body, changed);
    find_indirect(k, s->then, changed);
    find_indirect(k, s->els, changed);
  }
}

static void visit_for(Checks *k, Node **slot) {
  Node *f = *slot;
  visit_expr(k, &f->lo, false);
  visit_expr(k, &f->hi, false);
  visit_expr(k, &f->step_expr, false);
  bool par = f->par.nthreads > 0 && !f->par.reduce && !f->all_threads;
  Node *save_outer = k->outer_par, **save_slot = k->outer_slot;
  const Node *save_inner = k->inner_par;
  if (par) {
    if (!k->outer_par) {
      k->outer_par = f;
      k->outer_slot = slot;
      for (bool changed = true; changed;) {
        changed = false;
        find_indirect(k, f->body, &changed);
      }
    }
    k->inner_par = f;
  } else if (f->par.reduce) {
    k->inner_par = NULL; /* its updates are combined or atomic */
  }
  if (k->nloops < (int)PP_COUNT(k->loops))
    k->loops[k->nloops++] = f;
  visit_stmts(k, &f->body);
  if (k->nloops && k->loops[k->nloops - 1] == f)
    k->nloops--;
  k->outer_par = save_outer;
  k->outer_slot = save_slot;
  k->inner_par = save_inner;
}

static void visit_stmt(Checks *k, Node **slot) {
  Node *s = *slot;
  switch (s->kind) {
  case N_ASSIGN:
    k->target = s->lhs;
    check_race(k, s);
    visit_expr(k, &s->lhs, true);
    visit_expr(k, &s->rhs, false);
    k->target = NULL;
    return;
  case N_FOR: visit_for(k, slot); return;
  case N_CHECK: return;
  default:
    visit_expr(k, &s->lhs, false);
    visit_expr(k, &s->cond, false);
    visit_list(k, &s->args, true);
    visit_stmts(k, &s->body);
    visit_stmts(k, &s->then);
    visit_stmts(k, &s->els);
    return;
  }
}

static void visit_stmts(Checks *k, Node **list) {
  for (Node **slot = list; *slot; slot = &(*slot)->next) {
    Node *s = *slot;
    visit_stmt(k, slot);
    /* A reset inserted before s moved s down the list: step over it. */
    while (*slot != s)
      slot = &(*slot)->next;
  }
}

/* Arguments of a call or a subscript: expressions linked through `next`. */
static void visit_list(Checks *k, Node **list, bool args) {
  (void)args;
  for (Node **slot = list; *slot; slot = &(*slot)->next)
    visit_expr(k, slot, false);
}

bool insert_checks(Prog *p) {
  if (!p->opt.debug || p->opt.backend == BACKEND_METAL)
    return true; /* Metal: not yet (docs/debugging.md) */
  Checks k = {.p = p};
  k.indirect = ARENA_ARRAY(&p->arena, bool, p->next_sym_id + 1);
  memset(k.indirect, 0, sizeof(bool) * (size_t)(p->next_sym_id + 1));
  for (Fn *h = p->helpers; h; h = h->next) {
    k.fn = h;
    visit_stmts(&k, &h->body);
  }
  k.fn = p->main;
  visit_stmts(&k, &p->main->body);
  return !failed(p);
}
