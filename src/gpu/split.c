/* split.c - where statements of a parallel loop's body depend on each other
 * across thread blocks, the kernel is split.
 *
 * The body of a parallel loop P runs in every thread of the layers inside
 * P.  When those threads share a block (or a cluster), a barrier orders its
 * statements (kernels.c adds them).  When they span several blocks, nothing
 * inside one kernel can make all blocks wait, so P is split at each
 * statement whose writes the next statements may read:
 *
 *   P { a; Q; b }        ->   P { a; Q }   P { b }          (two kernels)
 *
 * and a sequential loop whose body must wait for itself moves out of P (its
 * iterations then launch kernels from the host):
 *
 *   P { a; for t: { Q; R }; b }  ->  P { a }  for t: { P { Q }  P { R } }  P { b }
 *
 * Moving the loop out is right because the iterations of a parallel loop
 * are independent.  An if-statement whose branches must be cut is
 * distributed over the pieces, its condition computed once before them
 * (temps.c keeps it per iteration between the kernels):
 *
 *   P { a; if c: { Q; R } else: { S } }  ->  P { a; k = c }  P { if k: Q }  P { if k: R }
 *                                            P { if not k: S }
 *  Splitting works from the innermost loops outwards, so a
 * split inside P also splits the parallel loops around P.  Locals that
 * cross a split are handled by temps.c. */
#include "gpu.h"

typedef struct Splitter {
  Prog *p;
  int64_t n[GPU_MAX_LAYERS];
  int k;
  int64_t tpb;
} Splitter;

static Node *split_loop(Splitter *sp, Node *P, int depth);

static bool is_mark(const Node *s) { return s->kind == N_SYNC && s->op == OP_NONE; }

/* A copy of loop P's header with another body. */
static Node *copy_loop(Prog *p, const Node *P, Node *body) {
  Node *c = new_node(&p->arena, N_FOR, P->span);
  *c = *P;
  c->next = NULL;
  c->body = body;
  return c;
}

static void append(Node ***tail, Node *s) {
  **tail = s;
  while (s->next)
    s = s->next;
  *tail = &s->next;
}

/* Replace the parallel loops at this depth (also those in sequential code
 * at this depth) by their split forms. */
static bool split_list(Splitter *sp, Node **list, int depth) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (gpu_is_par(s)) {
      Node *next = s->next;
      s->next = NULL;
      Node *r = split_loop(sp, s, depth);
      if (!r)
        return false;
      *link = r;
      link = list_tail(link);
      *link = next;
      continue;
    }
    if (!split_list(sp, &s->body, depth) || !split_list(sp, &s->then, depth) ||
        !split_list(sp, &s->els, depth))
      return false;
    link = &s->next;
  }
  return true;
}

/* A sequential loop whose iterations wait for each other across blocks
 * must leave the kernel (parallel loops are split, not moved). */
static bool must_leave(const Node *s) {
  if ((s->kind == N_FOR && !gpu_is_par(s)) || s->kind == N_WHILE)
    return gpu_list_produces(s->body);
  return false;
}

/* Would this list have to be cut into several kernels? */
static bool needs_cut(const Node *list) {
  for (const Node *s = list; s; s = s->next) {
    if (is_mark(s) || must_leave(s) || (gpu_produces(s) && s->next))
      return true;
    if (s->kind == N_IF && (needs_cut(s->then) || needs_cut(s->els)))
      return true;
  }
  return false;
}

static bool mentions_any_local_of(const Node *e, const Node *body) {
  /* Loop bounds moved out of P may not use what P's body computes. */
  for (const Node *s = body; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR && expr_mentions(e, s->lhs->sym))
      return true;
    if (mentions_any_local_of(e, s->body) || mentions_any_local_of(e, s->then) ||
        mentions_any_local_of(e, s->els))
      return true;
  }
  return false;
}

static Node *cut(Splitter *sp, Node *P, Node *body, int depth);

/* `cond` around the body of every copy of P in `list` (the copies, and
 * the host loops moved out of P around further copies). */
static void guard(Prog *p, Node *list, const Node *P, const Node *cond) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind != N_FOR)
      continue;
    if (s->sym != P->sym) {
      guard(p, s->body, P, cond);
      continue;
    }
    Node *g = new_node(&p->arena, N_IF, s->span);
    g->cond = clone_node(&p->arena, cond);
    g->then = s->body;
    s->body = g;
  }
}

/* if c: T else: E whose branches must be cut: `*set` is `k = c`, which
 * ends the current segment; the result is the pieces of T under `if k`,
 * then those of E under `if not k` (NULL with an error). */
static Node *cut_if(Splitter *sp, Node *P, Node *s, int depth, Node **set) {
  Prog *p = sp->p;
  Type *bt = type_scalar(&p->arena, EL_BOOL, false);
  Sym *k = fn_temp(p, p->main, "cond", bt);
  *set = new_node(&p->arena, N_ASSIGN, s->span);
  (*set)->lhs = new_var(p, k, s->span);
  (*set)->rhs = s->cond;
  Node *out = NULL, **otail = &out;
  for (int b = 0; b < 2; b++) {
    Node *branch = b == 0 ? s->then : s->els;
    if (!branch)
      continue;
    Node *pieces = cut(sp, P, branch, depth);
    if (!pieces)
      return NULL;
    Node *c = new_var(p, k, s->span);
    if (b == 1) {
      Node *n = new_node(&p->arena, N_UNARY, s->span);
      n->op = OP_NOT;
      n->lhs = c;
      n->ty = bt;
      c = n;
    }
    guard(p, pieces, P, c);
    append(&otail, pieces);
  }
  return out;
}

static Node *split_loop(Splitter *sp, Node *P, int depth) {
  Prog *p = sp->p;
  if (!split_list(sp, &P->body, depth + 1))
    return NULL;
  if (gpu_units_below(&p->opt, sp->n, sp->k, depth + 1, sp->tpb) <= 1)
    return P;
  return cut(sp, P, P->body, depth);
}

/* Cut `body` (of P, or of a branch in it) into segments; each becomes a
 * copy of P.  An empty body gives no copy: an empty list, not an error. */
static Node *cut(Splitter *sp, Node *P, Node *body, int depth) {
  Prog *p = sp->p;
  Node *out = NULL, **otail = &out;
  Node *seg = NULL, **stail = &seg;
  for (Node *s = body; s;) {
    Node *next = s->next;
    s->next = NULL;
    if (is_mark(s)) {
      if (seg)
        append(&otail, copy_loop(p, P, seg));
      seg = NULL;
      stail = &seg;
    } else if (must_leave(s)) {
      if (s->kind != N_FOR)
        return err(p, DIAG_RUNTIME, s->span,
                   "this while-loop inside the parallel loop '%s' would need all thread blocks "
                   "to wait for each other in each iteration; make it a for-loop with constant "
                   "bounds, or give the parallel loops inside it no more threads than one "
                   "block holds (tpb)",
                   P->sym->name),
               NULL;
      if (expr_mentions(s->lo, P->sym) || expr_mentions(s->hi, P->sym) ||
          mentions_any_local_of(s->lo, P->body) || mentions_any_local_of(s->hi, P->body))
        return err(p, DIAG_RUNTIME, s->span,
                   "this loop must run on the host (its iterations wait for all thread blocks), "
                   "but its bounds depend on the parallel loop '%s' around it",
                   P->sym->name),
               NULL;
      if (seg)
        append(&otail, copy_loop(p, P, seg));
      seg = NULL;
      stail = &seg;
      /* for t: { body } moves out of P; P goes around the body. */
      Node *inner = split_loop(sp, copy_loop(p, P, s->body), depth);
      if (!inner)
        return NULL;
      Node *hoisted = new_node(&p->arena, N_FOR, s->span);
      *hoisted = *s;
      hoisted->next = NULL;
      hoisted->body = inner;
      append(&otail, hoisted);
    } else if (s->kind == N_IF && (needs_cut(s->then) || needs_cut(s->els))) {
      Node *set = NULL;
      Node *pieces = cut_if(sp, P, s, depth, &set);
      if (!pieces)
        return NULL;
      append(&stail, set);
      append(&otail, copy_loop(p, P, seg));
      seg = NULL;
      stail = &seg;
      append(&otail, pieces);
    } else {
      append(&stail, s);
      if (gpu_produces(s) && next && !is_mark(next)) {
        append(&otail, copy_loop(p, P, seg));
        seg = NULL;
        stail = &seg;
      }
    }
    s = next;
  }
  if (seg)
    append(&otail, copy_loop(p, P, seg));
  return out;
}

static bool host_level(Prog *p, Node **list) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (gpu_is_par(s)) {
      Splitter sp = {.p = p};
      sp.k = gpu_nest_widths(s, sp.n);
      sp.tpb = gpu_nest_tpb(s);
      Node *next = s->next;
      s->next = NULL;
      Node *r = split_loop(&sp, s, 0);
      if (!r)
        return false;
      *link = r;
      link = list_tail(link);
      *link = next;
      continue;
    }
    if (!host_level(p, &s->body) || !host_level(p, &s->then) || !host_level(p, &s->els))
      return false;
    link = &s->next;
  }
  return true;
}

bool gpu_split(Prog *p) { return host_level(p, &p->main->body); }
