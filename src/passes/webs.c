/* webs.c - a local reused by several loops is a separate variable in each.
 *
 * Python has one `i` per function, but in
 *
 *     for ij in range(N * N):  i = ij // N; ...       (label 'N1')
 *     for ij in range(N * N):  i = ij // N; ...       (label 'N2')
 *
 * no value of `i` flows from one loop to the other (or out of either): each
 * loop assigns it before reading it, and nothing reads it afterwards.  Such
 * a loop gets its own symbol for the name (a "web" of definitions and uses
 * of its own), so that the later passes type it, declare it and check it for
 * races per loop, instead of seeing a variable shared by parallel loops.
 *
 * A loop qualifies for a local `v` when (1) its header does not mention `v`
 * and no iteration reads the value `v` had before it: the first mention of
 * `v` on every path through the body is an assignment `v = e` (e not
 * reading v), or is inside an inner loop that qualifies; and (2) `v` is dead
 * after the loop: every path from its end reaches such an assignment, or the
 * end of the function, before any read.  Both are checked conservatively (an
 * if-statement only kills `v` when both branches do). */
#include "../ast.h"

typedef enum Mention { M_NONE, M_KILL, M_USE } Mention;

/* The enclosing statements of the loop being considered, innermost last. */
typedef struct Outer {
  Node *stmt[256];
  int n;
} Outer;

static bool is_kill(const Node *st, const Sym *v) {
  return st->kind == N_ASSIGN && st->lhs && st->lhs->kind == N_VAR && st->lhs->sym == v &&
         !expr_mentions(st->rhs, v);
}

static bool header_mentions(const Node *loop, const Sym *v) {
  return expr_mentions(loop->lo, v) || expr_mentions(loop->hi, v) ||
         expr_mentions(loop->step_expr, v) || expr_mentions(loop->cond, v) ||
         (loop->kind == N_FOR && loop->sym == v);
}

static bool is_loop(const Node *st) { return st->kind == N_FOR || st->kind == N_WHILE; }

static Mention first_mention(const Node *list, const Sym *v, bool skip_regions);

/* A loop that never reads the value `v` had before it (each iteration
 * assigns `v` before reading it, or only inner regions use it). */
static bool is_region(const Node *st, const Sym *v) {
  return is_loop(st) && !header_mentions(st, v) && first_mention(st->body, v, true) != M_USE;
}

/* The first mention of `v` when `list` runs: M_KILL if it is an assignment
 * that runs whenever the list does.  With `skip_regions`, loops that are
 * regions of `v` are stepped over (they read no earlier value of it). */
static Mention first_mention(const Node *list, const Sym *v, bool skip_regions) {
  for (const Node *st = list; st; st = st->next) {
    if (!expr_mentions(st, v))
      continue;
    if (is_kill(st, v))
      return M_KILL;
    if (st->kind == N_GPU || st->kind == N_BLOCK) {
      Mention m = first_mention(st->body, v, skip_regions);
      if (m != M_NONE)
        return m;
      continue;
    }
    if (st->kind == N_IF && !expr_mentions(st->cond, v)) {
      Mention a = first_mention(st->then, v, skip_regions);
      Mention b = first_mention(st->els, v, skip_regions);
      if (a == M_KILL && b == M_KILL)
        return M_KILL;
      if (a == M_USE || b == M_USE)
        return M_USE;
      continue; /* killed on one path only: look further on the other */
    }
    if (skip_regions && is_region(st, v))
      continue;
    return M_USE;
  }
  return M_NONE;
}

/* Whether the value `v` has when `outer->stmt[level]` ends is never read. */
static bool dead_after(const Outer *outer, int level, const Sym *v) {
  for (; level >= 0; level--) {
    const Node *st = outer->stmt[level];
    Mention m = first_mention(st->next, v, true);
    if (m == M_KILL)
      return true;
    if (m == M_USE)
      return false;
    /* Falls off the end of its block: on to what follows the owner. */
    const Node *owner = level > 0 ? outer->stmt[level - 1] : NULL;
    if (owner && is_loop(owner) && !is_region(owner, v))
      return false; /* the next iteration may read it */
  }
  return true; /* the end of the function: locals are not results */
}

static void rename(Node *n, const Sym *from, Sym *to) {
  for (; n; n = n->next) {
    if ((n->kind == N_VAR || n->kind == N_DECL) && n->sym == from)
      n->sym = to;
    Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->step_expr, n->args};
    for (size_t i = 0; i < PP_COUNT(kids); i++)
      rename(kids[i], from, to);
    rename(n->body, from, to);
    rename(n->then, from, to);
    rename(n->els, from, to);
  }
}

/* Does a statement of `list` other than `skip` (nested ones included) mention `v`? */
static bool mentioned_outside(const Node *list, const Node *skip, const Sym *v) {
  for (const Node *st = list; st; st = st->next) {
    if (st == skip || !expr_mentions(st, v))
      continue;
    if (!st->body && !st->then && !st->els)
      return true;
    if (expr_mentions(st->lhs, v) || expr_mentions(st->rhs, v) || header_mentions(st, v) ||
        mentioned_outside(st->body, skip, v) || mentioned_outside(st->then, skip, v) ||
        mentioned_outside(st->els, skip, v))
      return true;
  }
  return false;
}

static void split_loop(Prog *p, Fn *fn, Node *loop, Outer *outer) {
  int nsyms = fn->nsyms; /* not the symbols made here */
  for (int i = 0; i < nsyms; i++) {
    Sym *v = fn->syms[i];
    if (v->kind != SYM_LOCAL || !expr_mentions(loop, v) || !is_region(loop, v) ||
        !dead_after(outer, outer->n - 1, v))
      continue;
    /* The only place it is used keeps the name (and the symbol). */
    if (!mentioned_outside(fn->body, loop, v))
      continue;
    Sym *own = fn_temp(p, fn, v->name, NULL);
    own->kind = SYM_LOCAL;
    own->assigned = v->assigned;
    rename(loop->body, v, own);
  }
}

static void split_block(Prog *p, Fn *fn, Node *list, Outer *outer) {
  if (outer->n == (int)PP_COUNT(outer->stmt))
    return; /* deeper nests keep their shared locals */
  for (Node *st = list; st; st = st->next) {
    outer->stmt[outer->n++] = st;
    if (is_loop(st))
      split_loop(p, fn, st, outer);
    split_block(p, fn, st->body, outer);
    split_block(p, fn, st->then, outer);
    split_block(p, fn, st->els, outer);
    outer->n--;
  }
}

bool split_webs(Prog *p) {
  Outer outer = {.n = 0};
  for (Fn *h = p->helpers; h; h = h->next)
    split_block(p, h, h->body, &outer);
  split_block(p, p->main, p->main->body, &outer);
  return true;
}
