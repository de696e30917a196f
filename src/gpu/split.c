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
 * are independent.  Splitting works from the innermost loops outwards, so a
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

static Node *split_loop(Splitter *sp, Node *P, int depth) {
  Prog *p = sp->p;
  if (!split_list(sp, &P->body, depth + 1))
    return NULL;
  if (gpu_units_below(&p->opt, sp->n, sp->k, depth + 1, sp->tpb) <= 1)
    return P;
  /* Cut the body into segments; each becomes a copy of P. */
  Node *out = NULL, **otail = &out;
  Node *seg = NULL, **stail = &seg;
  for (Node *s = P->body; s;) {
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
      return err(p, DIAG_RUNTIME, s->span,
                 "inside this if-statement, statements depend on each other across thread "
                 "blocks of the parallel loop '%s', which needs the kernel to be split there; "
                 "move the parallel loops out of the if-statement or give them no more threads "
                 "than one block holds (tpb)",
                 P->sym->name),
             NULL;
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
