/* races.c - reject the races on arrays that the compiler can see.
 *
 * The iterations of a parallel loop (threads, not a reduction) run at once.
 * Python runs them one after another, so a program whose iterations touch
 * the same array element, one of them writing, computes something else in
 * parallel.  Three shapes are recognised and rejected, each with the fix:
 *
 *   - a write whose index does not depend on the loop variable
 *     (out[0] += x[i]): every iteration writes the same element;
 *   - an update of an element chosen by values read from an array
 *     (hist[data[i]] += 1): two iterations may pick the same element;
 *   - a read and a write of one array at indices that differ by a constant
 *     along the parallel dimension (y[i] = y[i - 1] + x[i]; seidel-2d with
 *     its row loop parallel): iteration i reads what iteration i - 1 writes.
 *
 * "Depends on the loop variable" is a small dataflow: the loop variable,
 * locals assigned in the body from values that depend on it (or under a
 * condition that does), and inner loops whose bounds do.  A write under an
 * `if` whose condition depends on it is not checked for the first shape
 * (`if i == 0: out[0] = ...` runs once).  Anything the analysis cannot
 * decide is accepted: it never rejects a race-free program it understands.
 *
 * `check_array_races` is the one entry point.  Reductions (`.reduce()`) are
 * not checked: their updates are combined or done atomically (parallel.c
 * marks the atomic ones, N_ASSIGN.atomic, and those are skipped here). */
#include <string.h>

#include "../ast.h"

typedef struct Races {
  Prog *p;
  Node *loop;     /* the parallel loop being checked */
  bool *dep;      /* by symbol id: depends on the loop variable */
  bool *indirect; /* by symbol id: computed from an array element */
  bool changed;
  /* every array access of the loop's body, for the shifted-index check */
  int nreads, nwrites, cap_r, cap_w;
  const Node **reads, **writes;
} Races;

static const char *loop_label(const Node *f) {
  return f->labels.n ? f->labels.names[0] : "?";
}

static const Node *peel_conv(const Node *n) {
  while (n && n->kind == N_CONVERT)
    n = n->lhs;
  return n;
}

/* ---- dependence on the loop variable ---- */

static bool mentions_dep(const Races *r, const Node *n) {
  if (!n)
    return false;
  if (n->kind == N_VAR && r->dep[n->sym->id])
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (mentions_dep(r, kids[i]))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (mentions_dep(r, a))
      return true;
  return false;
}

/* Is the value of `n` read from an array (directly or through a local)? */
static bool mentions_indirect(const Races *r, const Node *n) {
  if (!n)
    return false;
  if (n->kind == N_SUBSCRIPT && n->ty && n->ty->kind == TY_SCALAR)
    return true;
  if (n->kind == N_VAR && r->indirect[n->sym->id])
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (mentions_indirect(r, kids[i]))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (mentions_indirect(r, a))
      return true;
  return false;
}

static void set_flag(Races *r, bool *flags, const Sym *s) {
  if (!flags[s->id]) {
    flags[s->id] = true;
    r->changed = true;
  }
}

/* One round of the dataflow over `list`; `ctrl`: under a condition or in a
 * loop whose bounds depend on the loop variable. */
static void flow(Races *r, const Node *list, bool ctrl) {
  for (const Node *s = list; s; s = s->next) {
    switch (s->kind) {
    case N_ASSIGN:
      if (s->lhs->kind == N_VAR) {
        if (ctrl || mentions_dep(r, s->rhs))
          set_flag(r, r->dep, s->lhs->sym);
        if (mentions_indirect(r, s->rhs))
          set_flag(r, r->indirect, s->lhs->sym);
      }
      break;
    case N_FOR: {
      bool d = ctrl || mentions_dep(r, s->lo) || mentions_dep(r, s->hi);
      if (d)
        set_flag(r, r->dep, s->sym);
      if (mentions_indirect(r, s->lo) || mentions_indirect(r, s->hi))
        set_flag(r, r->indirect, s->sym);
      flow(r, s->body, d);
      break;
    }
    case N_WHILE: flow(r, s->body, ctrl || mentions_dep(r, s->cond)); break;
    case N_IF: {
      bool d = ctrl || mentions_dep(r, s->cond);
      flow(r, s->then, d);
      flow(r, s->els, d);
      break;
    }
    default:
      flow(r, s->body, ctrl);
      flow(r, s->then, ctrl);
      flow(r, s->els, ctrl);
      break;
    }
  }
}

/* ---- collecting accesses ---- */

static void push(Races *r, const Node ***arr, int *n, int *cap, const Node *x) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 16;
    const Node **na = ARENA_ARRAY(&r->p->arena, const Node *, c);
    if (*n)
      memcpy(na, *arr, sizeof(Node *) * (size_t)*n);
    *arr = na;
    *cap = c;
  }
  (*arr)[(*n)++] = x;
}

static void collect_reads(Races *r, const Node *n) {
  if (!n)
    return;
  if (n->kind == N_SUBSCRIPT && n->ty && n->ty->kind == TY_SCALAR)
    push(r, &r->reads, &r->nreads, &r->cap_r, n);
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    collect_reads(r, kids[i]);
  for (const Node *a = n->args; a; a = a->next)
    collect_reads(r, a);
}

/* ---- the three checks ---- */

static bool index_mentions_dep(const Races *r, const Node *sub) {
  for (const Node *a = sub->args; a; a = a->next)
    if (mentions_dep(r, a))
      return true;
  return false;
}

static const char *base_name(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  if (n && n->kind == N_VAR)
    return n->sym->name;
  if (n && n->kind == N_FIELD)
    return n->str;
  return "the array";
}

static bool reads_element(const Node *n, const Node *elem) {
  if (!n)
    return false;
  if (n->kind == N_SUBSCRIPT && expr_equal(n, elem))
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (reads_element(kids[i], elem))
      return true;
  for (const Node *a = n->args; a; a = a->next)
    if (reads_element(a, elem))
      return true;
  return false;
}

static bool check_write(Races *r, const Node *s, bool ctrl) {
  const Node *w = s->lhs;
  const char *label = loop_label(r->loop), *var = r->loop->sym->name;
  if (!ctrl && !index_mentions_dep(r, w))
    return err(r->p, DIAG_RUNTIME, s->span,
               "every iteration of the parallel loop labelled '%s' writes this element of '%s' "
               "(its index does not depend on the loop variable '%s'), so the iterations race "
               "and the result depends on which runs last. For a reduction into it use "
               "parpy.threads(n).reduce() on the label; otherwise keep the loop sequential",
               label, base_name(w), var);
  bool indirect = false;
  for (const Node *a = w->args; a; a = a->next)
    indirect |= mentions_indirect(r, a) && mentions_dep(r, a);
  if (indirect && reads_element(s->rhs, w))
    return err(r->p, DIAG_RUNTIME, s->span,
               "this statement updates an element of '%s' chosen by values read from an array, "
               "so two iterations of the parallel loop labelled '%s' may update the same "
               "element at once (a race). Put .reduce() on the label "
               "(parpy.threads(n).reduce()) to make such updates atomic, or keep the loop "
               "sequential",
               base_name(w), label);
  return true;
}

/* Is the statement `stmt` in `list` (nested statements too)? */
static bool contains_stmt(const Node *list, const Node *stmt) {
  for (const Node *s = list; s; s = s->next)
    if (s == stmt || contains_stmt(s->body, stmt) || contains_stmt(s->then, stmt) ||
        contains_stmt(s->els, stmt))
      return true;
  return false;
}

/* A local array created in the loop's body (np.zeros in the loop) belongs
 * to one iteration: writes to it cannot race. */
static bool private_array(const Races *r, const Node *w) {
  while (w && w->kind == N_SUBSCRIPT)
    w = w->lhs;
  return w && w->kind == N_VAR && w->sym->local_array &&
         contains_stmt(r->loop->body, w->sym->first_bind);
}

static bool check_writes(Races *r, const Node *list, bool ctrl) {
  for (const Node *s = list; s; s = s->next) {
    if (s->atomic)
      continue; /* an update of a .reduce() loop, done atomically */
    if (s->kind == N_ASSIGN && s->lhs->kind == N_SUBSCRIPT && private_array(r, s->lhs)) {
      collect_reads(r, s->rhs);
      continue;
    }
    if (s->kind == N_ASSIGN && s->lhs->kind == N_SUBSCRIPT) {
      push(r, &r->writes, &r->nwrites, &r->cap_w, s->lhs);
      if (!check_write(r, s, ctrl))
        return false;
    }
    collect_reads(r, s->rhs);
    collect_reads(r, s->cond);
    collect_reads(r, s->lo);
    collect_reads(r, s->hi);
    if (s->kind == N_ASSIGN && s->lhs->kind == N_SUBSCRIPT)
      for (const Node *a = s->lhs->args; a; a = a->next)
        collect_reads(r, a);
    bool c = ctrl;
    if (s->kind == N_IF || s->kind == N_WHILE)
      c |= mentions_dep(r, s->cond);
    if (s->kind == N_FOR)
      c |= mentions_dep(r, s->lo) || mentions_dep(r, s->hi);
    /* A nested parallel reduction's target is its own business. */
    if (!check_writes(r, s->body, c) || !check_writes(r, s->then, c) ||
        !check_writes(r, s->els, c))
      return false;
  }
  return true;
}

/* `n` as `base + c` with a constant c (base NULL for a constant). */
static void split_offset(const Node *n, const Node **base, int64_t *c) {
  n = peel_conv(n);
  int64_t v;
  *base = n;
  *c = 0;
  if (const_int(n, &v)) {
    *base = NULL;
    *c = v;
    return;
  }
  if (n->kind != N_BINARY || (n->op != OP_ADD && n->op != OP_SUB))
    return;
  if (const_int(n->rhs, &v)) {
    *base = peel_conv(n->lhs);
    *c = n->op == OP_ADD ? v : -v;
  } else if (n->op == OP_ADD && const_int(n->lhs, &v)) {
    *base = peel_conv(n->rhs);
    *c = v;
  }
}

/* Do a write and a read of one array touch, in different iterations, the
 * same element?  Every dimension must be indexed alike up to a constant;
 * the loop variable itself offset by a non-zero constant in one dimension
 * makes iteration i touch what another writes, while the loop variable
 * equal in a dimension keeps the iterations apart (each its own row). */
static bool shifted(const Races *r, const Node *w, const Node *rd) {
  bool along = false;
  const Node *a = w->args, *b = rd->args;
  for (; a && b; a = a->next, b = b->next) {
    const Node *ba, *bb;
    int64_t ca, cb;
    split_offset(a, &ba, &ca);
    split_offset(b, &bb, &cb);
    if (!expr_equal(ba, bb))
      return false;
    bool loop_var = ba && ba->kind == N_VAR && ba->sym == r->loop->sym;
    if (loop_var && ca == cb)
      return false;
    along |= loop_var && ca != cb;
  }
  return along && !a && !b;
}

static void print_access(const Node *n, Buf *out) { print_expr(n, out); }

static bool check_shifts(Races *r) {
  for (int i = 0; i < r->nwrites; i++)
    for (int j = 0; j < r->nreads; j++) {
      const Node *w = r->writes[i], *rd = r->reads[j];
      if (!arrays_may_alias(w, rd) || !shifted(r, w, rd))
        continue;
      Buf wb, rb;
      buf_init(&wb);
      buf_init(&rb);
      print_access(w, &wb);
      print_access(rd, &rb);
      err(r->p, DIAG_RUNTIME, rd->span,
          "the parallel loop labelled '%s' reads %s and writes %s: one iteration reads what "
          "another writes, and as they run at once the value read depends on timing (Python "
          "runs them in order). Keep the loop sequential, or write the results into another "
          "array",
          loop_label(r->loop), buf_cstr(&rb), buf_cstr(&wb));
      buf_free(&wb);
      buf_free(&rb);
      return false;
    }
  return true;
}

/* ---- driver ---- */

static bool check_loop(Prog *p, Node *f) {
  int n = p->next_sym_id;
  Races r = {.p = p, .loop = f};
  r.dep = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  r.indirect = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  memset(r.dep, 0, sizeof(bool) * (size_t)(n > 0 ? n : 1));
  memset(r.indirect, 0, sizeof(bool) * (size_t)(n > 0 ? n : 1));
  r.dep[f->sym->id] = true;
  do {
    r.changed = false;
    flow(&r, f->body, false);
  } while (r.changed);
  return check_writes(&r, f->body, false) && check_shifts(&r);
}

static bool check_list(Prog *p, Node *list) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_FOR && s->par.nthreads > 0 && !s->par.reduce && !check_loop(p, s))
      return false;
    if (!check_list(p, s->body) || !check_list(p, s->then) || !check_list(p, s->els))
      return false;
  }
  return true;
}

bool check_array_races(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next)
    if (!check_list(p, h->body))
      return false;
  return check_list(p, p->main->body);
}
