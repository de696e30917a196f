/* reduce.c - parallel reductions on a GPU.
 *
 *   for i (threads n, reduce): t = t op e
 * becomes
 *   acc = identity
 *   for i (threads n, reduce into acc): acc = acc op e
 *   t = t op acc
 * Each thread accumulates the iterations it runs into its own `acc`; the
 * printer then combines the accs of a block (warp shuffles and shared
 * memory) or of a cluster, after which every thread holds the total, and
 * the last statement is ordinary code again (done once if t is an array
 * element).  When the loop's threads span several blocks and no cluster can
 * hold them, each block stores its total in an array of partials and a
 * second reduction over those partials, in a kernel of its own, takes over:
 *   acc = identity
 *   for i (threads n, reduce into acc, partials P): acc = acc op e
 *   <split>
 *   acc = identity
 *   for b in range(blocks) (threads blocks, reduce): acc = acc op P[..., b]
 *   t = t op acc
 *   <split>
 * How many blocks a loop spans depends on the widest loop of its level in
 * the same kernel, so first every parallel loop of a nest is widened to the
 * widest of its level: then the count is known here and stays true after
 * the kernel is split. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gpu.h"

static const Node *peel(const Node *n) {
  while (n && n->kind == N_CONVERT)
    n = n->lhs;
  return n;
}

/* A point where the kernel must be split (see split.c). */
static Node *split_mark(Prog *p, Span span) {
  Node *m = new_node(&p->arena, N_SYNC, span);
  m->op = OP_NONE;
  return m;
}

static Node *assign(Prog *p, Node *lhs, Node *rhs) {
  Node *s = new_node(&p->arena, N_ASSIGN, rhs->span);
  s->lhs = lhs;
  s->rhs = rhs;
  return s;
}

static Node *binop(Prog *p, Op op, Node *a, Node *b, Type *ty) {
  Node *n = new_node(&p->arena, N_BINARY, a->span);
  n->op = op;
  n->lhs = a;
  n->rhs = b;
  n->ty = ty;
  return n;
}

typedef struct Reducer {
  Prog *p;
  Node *root;       /* the kernel root the loop is in */
  int64_t n[GPU_MAX_LAYERS];
  int k;
  int64_t tpb;
  Node *enclosing[GPU_MAX_LAYERS]; /* parallel loops around the current statement */
  int depth;
} Reducer;

/* A reduction loop over the `blocks` partials into `into`, and the
 * statements around it: reset, the loop, then `after` (the epilogue). */
static Node *second_pass(Reducer *r, Node *f, Sym *parts, Sym *into, int64_t blocks,
                         Node *after) {
  Prog *p = r->p;
  Span sp = f->span;
  Sym *b = fn_temp(p, p->main, "b", type_scalar(&p->arena, p->opt.int_size, true));
  b->kind = SYM_LOOP;
  Node *enc[GPU_MAX_LAYERS];
  int nenc = gpu_index_loops(r->enclosing, r->depth, enc);
  Node *idx = gpu_iteration_index(p, enc, nenc, sp);
  *list_tail(&idx) = new_var(p, b, sp);
  Node *elem = new_node(&p->arena, N_SUBSCRIPT, sp);
  elem->lhs = new_var(p, parts, sp);
  elem->args = idx;
  elem->ty = into->ty;
  Node *loop = new_node(&p->arena, N_FOR, sp);
  loop->sym = b;
  loop->lo = new_int(&p->arena, 0, sp);
  loop->hi = new_int(&p->arena, blocks, sp);
  loop->lo->ty = loop->hi->ty = b->ty;
  loop->step = 1;
  loop->labels = f->labels;
  loop->par = (LoopPar){blocks < r->tpb ? blocks : r->tpb, true, f->par.tpb};
  loop->red_op = f->red_op;
  loop->body = assign(p, new_var(p, into, sp),
                      binop(p, f->red_op, new_var(p, into, sp), elem, into->ty));
  loop->red_target = loop->body->lhs;
  Node *reset = assign(p, new_var(p, into, sp), identity_of(&p->arena, f->red_op, into->ty, sp));
  reset->next = loop;
  loop->next = after;
  return reset;
}

/* The loop f (reducing into acc) spans `blocks` blocks: each block stores
 * its total in P[outer iterations..., block]; then, in a kernel of its own,
 * `into` reduces the partials and `epilogue` follows.  Returns the
 * statements that follow f. */
static Node *across_blocks(Reducer *r, Node *f, Sym *into, int64_t blocks, Node *epilogue,
                           bool more) {
  Prog *p = r->p;
  Span sp = f->span;
  int64_t shape[GPU_MAX_LAYERS + 1];
  int rank = 0;
  Node *enc[GPU_MAX_LAYERS];
  int nenc = gpu_index_loops(r->enclosing, r->depth, enc);
  for (int i = 0; i < nenc; i++) {
    if (!gpu_trips(enc[i], &shape[rank]))
      return err(p, DIAG_RUNTIME, sp,
                 "this reduction spans several thread blocks inside a parallel loop whose bounds "
                 "are not constant; give that loop constant bounds or fewer threads"),
             NULL;
    rank++;
  }
  shape[rank++] = blocks;
  Sym *parts = gpu_new_temp(p, "partials", into->ty->elem, rank, shape);
  f->partials = parts;
  Node *blk = new_node(&p->arena, N_BLOCKIDX, sp);
  blk->layer = r->depth;
  blk->ty = type_scalar(&p->arena, p->opt.int_size, false);
  Node *at_idx = gpu_iteration_index(p, enc, nenc, sp);
  *list_tail(&at_idx) = blk;
  Node *at = new_node(&p->arena, N_SUBSCRIPT, sp);
  at->lhs = new_var(p, parts, sp);
  at->args = at_idx;
  at->ty = into->ty;
  f->partial_at = at;
  /* The second pass gets a kernel of its own (so that its width is its
   * own), ending before any parallel loop that follows. */
  Node *end = epilogue;
  if (more) {
    Node *mark = split_mark(p, sp);
    if (epilogue)
      epilogue->next = mark;
    else
      end = mark;
  }
  Node *start = split_mark(p, sp);
  start->next = second_pass(r, f, parts, into, blocks, end);
  return start;
}

/* Is `init` the statement `target = <the identity of op>`? */
static bool is_identity_value(const Node *init, const Node *target, Op op) {
  if (init->kind != N_ASSIGN || !expr_equal(init->lhs, target))
    return false;
  const Node *v = init->rhs;
  if (!(v->kind == N_INT || v->kind == N_FLOAT || v->kind == N_BOOL) || !v->ty ||
      !target->ty || v->ty->elem != target->ty->elem)
    return false;
  Arena a;
  arena_init(&a);
  Node *id = identity_of(&a, op, target->ty, init->span);
  bool same = id->kind == v->kind && memcmp(&id->val, &v->val, sizeof v->val) == 0;
  arena_free(&a);
  return same;
}

/* Rewrite one parallel reduction loop f (whose previous statement is
 * `prev`, followed by more parallel loops if `more`); returns the
 * statements replacing it. */
static Node *rewrite(Reducer *r, Node *f, Node *prev, bool more) {
  Prog *p = r->p;
  int layer = r->depth;
  if (layer != r->k - 1)
    return err(p, DIAG_RUNTIME, f->span,
               "on a GPU a parallel reduction must be the innermost parallel loop of its nest "
               "(another branch of the nest has deeper parallel loops)"),
           NULL;
  Node *s = f->body; /* the single update `t = t op e` (checked by parallel.c) */
  Node *bin = (Node *)peel(s->rhs);
  Type *ty = bin->ty;
  Node *first = NULL, *epilogue = NULL;
  Sym *acc;
  /* A local that was just set to the identity can gather the totals itself
   * (each thread starts from the identity); otherwise a fresh accumulator
   * does, and the original statement adds its total to the target once. */
  bool direct = s->lhs->kind == N_VAR && s->lhs->sym->kind != SYM_PARAM &&
                s->rhs == bin && s->lhs->ty && s->lhs->ty->elem == ty->elem &&
                prev && is_identity_value(prev, s->lhs, f->red_op);
  if (direct) {
    acc = s->lhs->sym;
    f->red_target = s->lhs;
  } else {
    acc = fn_temp(p, p->main, "acc", ty);
    first = assign(p, new_var(p, acc, f->span), identity_of(&p->arena, f->red_op, ty, f->span));
    Node *step = binop(p, f->red_op, new_var(p, acc, s->span), bin->rhs, ty);
    /* Python's builtin max/min (parpy_pymax) stay so per element: each
     * thread's partial then never is NaN, and the partials combine alike
     * with either semantics. */
    step->weak_result = bin->weak_result;
    f->body = assign(p, new_var(p, acc, s->span), step);
    f->red_target = f->body->lhs;
    bin->rhs = new_var(p, acc, s->span);
    epilogue = s;
  }
  int64_t blocks = gpu_inner_blocks(f->par.nthreads, r->tpb);
  if (blocks > 1 && p->opt.use_clusters && blocks <= p->opt.max_blocks_per_cluster) {
    f->cluster = true;
    blocks = 1;
  }
  if (blocks <= 1) {
    f->next = epilogue;
  } else {
    /* The second pass reduces into a fresh accumulator (or the local). */
    Sym *into = direct ? acc : fn_temp(p, p->main, "total", ty);
    if (!direct)
      bin->rhs = new_var(p, into, s->span);
    f->next = across_blocks(r, f, into, blocks, epilogue, more);
    if (failed(p))
      return NULL;
  }
  if (!first)
    return f;
  first->next = f;
  return first;
}

static bool has_par(const Node *list) {
  for (const Node *s = list; s; s = s->next)
    if (gpu_is_par(s) || has_par(s->body) || has_par(s->then) || has_par(s->els))
      return true;
  return false;
}

static bool rewrite_list(Reducer *r, Node **list) {
  Node *prev = NULL;
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (gpu_is_par(s) && s->par.reduce) {
      Node *next = s->next;
      s->next = NULL;
      Node *repl = rewrite(r, s, prev, has_par(next));
      if (!repl)
        return false;
      *link = repl;
      *list_tail(link) = next;
      /* Go on after the loop itself: a second pass over partials that
       * follows it is a reduction of its own and is rewritten in turn. */
      prev = s;
      link = &s->next;
      continue;
    }
    if (gpu_is_par(s)) {
      if (r->depth < GPU_MAX_LAYERS)
        r->enclosing[r->depth] = s;
      r->depth++;
      bool ok = rewrite_list(r, &s->body);
      r->depth--;
      if (!ok)
        return false;
    } else if (!rewrite_list(r, &s->body) || !rewrite_list(r, &s->then) ||
               !rewrite_list(r, &s->els)) {
      return false;
    }
    prev = s;
    link = &s->next;
  }
  return true;
}

/* Give every parallel loop of a nest the width of its level. */
static void widen(Node *list, const int64_t *n, int depth) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      if (depth < GPU_MAX_LAYERS)
        s->par.nthreads = n[depth];
      widen(s->body, n, depth + 1);
      continue;
    }
    widen(s->body, n, depth);
    widen(s->then, n, depth);
    widen(s->els, n, depth);
  }
}

static bool host_list(Prog *p, Node **list) {
  for (Node *s = *list; s; s = s->next) {
    if (gpu_is_par(s)) {
      /* blocks.c wrapped every root that is itself a reduction */
      Reducer r = {.p = p, .root = s, .depth = 1};
      r.k = gpu_nest_widths(s, r.n);
      r.tpb = gpu_nest_tpb(s);
      s->par.nthreads = r.n[0];
      widen(s->body, r.n, 1);
      r.enclosing[0] = s;
      if (!rewrite_list(&r, &s->body))
        return false;
      continue;
    }
    if (!host_list(p, &s->body) || !host_list(p, &s->then) || !host_list(p, &s->els))
      return false;
  }
  return true;
}

bool gpu_reductions(Prog *p) { return host_list(p, &p->main->body); }
