/* externals.c - where externals may be called on a GPU, and how a
 * parallel external runs.
 *
 * Placement: a Device external runs on the GPU, so it may only be called in
 * parallel code (by now `with parpy.gpu` blocks are one-thread parallel
 * loops, blocks.c); a Host external only in host code.  A helper function
 * goes where the externals it calls go (Fn.calls_device, calls_host).
 *
 * A parallel external (parallelize=parpy.threads(n)) is a cooperative
 * function: n threads call it with the same arguments and work together,
 * say a warp reduction written with shuffles, and they must agree on the
 * result.  As in ParPy 0.1.3, an assignment calling one adds an innermost
 * parallel level of n threads to its nest.  We express that as a loop of
 * one iteration and n threads, marked `all_threads`, around the statement:
 *
 *   N { y[i] = warp_sum(x[i]) }
 *     -> N { all_threads(32) { value = warp_sum(x[i]); y[i] = value } }
 *
 * The other steps take it for an ordinary parallel loop: its level gets a
 * width and the threads of a block, its tpb joins the nest's, statements
 * around it run in all threads with their array writes done once, and
 * barriers order them.  The printer runs its body in every thread of the
 * level instead of giving its one iteration to the first, and kernels.c
 * guards the array writes inside it too.  That is why the value is first
 * computed into a local, which every thread does (so every thread calls the
 * external); one thread then stores it. */
#include <inttypes.h>

#include "gpu.h"

enum { WANT_DEVICE, WANT_HOST, WANT_PARALLEL };

/* The external of kind `want` that the call `n` reaches, if any. */
static Extern *reached(const Node *n, int want) {
  if (n->kind == N_EXTCALL) {
    const Extern *e = n->ext;
    bool hit = want == WANT_DEVICE ? e->device
               : want == WANT_HOST ? !e->device
                                   : e->par.nthreads > 0;
    return hit ? n->ext : NULL;
  }
  if (n->kind == N_FUNCALL)
    return want == WANT_DEVICE ? n->fn->calls_device
           : want == WANT_HOST ? n->fn->calls_host
                               : n->fn->calls_parallel;
  return NULL;
}

/* The first call in the expression `n` reaching an external of kind `want`. */
static const Node *find_call(const Node *n, int want, Extern **e) {
  if (!n)
    return NULL;
  if ((*e = reached(n, want)))
    return n;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++) {
    const Node *c = find_call(kids[i], want, e);
    if (c)
      return c;
  }
  for (const Node *a = n->args; a; a = a->next) {
    const Node *c = find_call(a, want, e);
    if (c)
      return c;
  }
  return NULL;
}

/* ---- placement ---- */

static bool misplaced(Prog *p, const Node *call, const Extern *e, bool device_code) {
  const char *where = device_code ? "cannot be called in parallel code or in a 'with parpy.gpu:' "
                                    "block, which run on the GPU"
                                  : "can only be called in parallel code or in a 'with "
                                    "parpy.gpu:' block";
  if (call->kind == N_FUNCALL)
    return err(p, DIAG_RUNTIME, call->span, "'%s' calls the %s external '%s', so it %s",
               call->fn->src->name, e->device ? "Device" : "Host", e->name, where);
  return err(p, DIAG_RUNTIME, call->span, "'%s' is a %s external, so it %s", e->name,
             e->device ? "Device" : "Host", where);
}

static bool place_expr(Prog *p, const Node *n, bool device_code) {
  Extern *e;
  const Node *call = find_call(n, device_code ? WANT_HOST : WANT_DEVICE, &e);
  return !call || misplaced(p, call, e, device_code);
}

static bool place_list(Prog *p, const Node *list, bool device_code) {
  for (const Node *s = list; s; s = s->next) {
    bool dev = device_code || gpu_is_par(s);
    const Node *exprs[] = {s->lhs, s->rhs, s->cond, s->lo, s->hi};
    for (size_t i = 0; i < PP_COUNT(exprs); i++)
      if (!place_expr(p, exprs[i], dev))
        return false;
    if (!place_list(p, s->body, dev) || !place_list(p, s->then, dev) ||
        !place_list(p, s->els, dev))
      return false;
  }
  return true;
}

/* ---- parallel externals ---- */

static Node *all_threads_loop(Prog *p, Extern *e, Node *body, Span span) {
  Type *int_t = type_scalar(&p->arena, p->opt.int_size, true);
  Sym *v = fn_temp(p, p->main, "all", int_t);
  v->kind = SYM_LOOP;
  Node *f = new_node(&p->arena, N_FOR, span);
  f->sym = v;
  f->lo = new_int(&p->arena, 0, span);
  f->hi = new_int(&p->arena, 1, span);
  f->lo->ty = f->hi->ty = int_t;
  f->lo->val.elem = f->hi->val.elem = p->opt.int_size;
  f->step = 1;
  f->par = e->par;
  f->par.reduce = false;
  f->all_threads = true;
  f->ext = e;
  f->body = body;
  return f;
}

/* `s` (an assignment calling the parallel external `e`) wrapped in an
 * all-threads loop; a store into an array first computes its value in
 * every thread. */
static Node *wrap(Prog *p, Node *s, Extern *e) {
  Node *body = s;
  if (s->lhs->kind != N_VAR) {
    Sym *v = fn_temp(p, p->main, "value", s->rhs->ty);
    Node *compute = new_node(&p->arena, N_ASSIGN, s->span);
    compute->lhs = new_var(p, v, s->span);
    compute->lhs->ty = v->ty;
    compute->rhs = s->rhs;
    s->rhs = new_var(p, v, s->span);
    s->rhs->ty = v->ty;
    compute->next = s;
    body = compute;
  }
  return all_threads_loop(p, e, body, s->span);
}

static bool not_here(Prog *p, const Node *call, const Extern *e, const char *why) {
  return err(p, DIAG_RUNTIME, call->span,
             "'%s' is a parallel external (%" PRId64 " threads call it together), so it %s",
             e->name, e->par.nthreads, why);
}

/* Wrap the assignments calling parallel externals in the parallel code
 * `*list`; `reduction` is the parallel reduction loop it is the body of. */
static bool wrap_list(Prog *p, Node **list, const Node *reduction) {
  for (Node **link = list; *link; link = &(*link)->next) {
    Node *s = *link;
    Extern *e;
    const Node *call;
    if (s->kind == N_ASSIGN) {
      if ((call = find_call(s->lhs, WANT_PARALLEL, &e)))
        return not_here(p, call, e,
                        "cannot be called in the index of an array store; compute the index "
                        "into a variable first");
      if (!(call = find_call(s->rhs, WANT_PARALLEL, &e)))
        continue;
      if (reduction)
        return not_here(p, call, e,
                        "cannot be called in the body of a parallel reduction; compute its "
                        "value into a variable before the reduction");
      Node *next = s->next;
      s->next = NULL;
      Node *w = wrap(p, s, e);
      w->next = next;
      *link = w;
      continue;
    }
    const Node *exprs[] = {s->cond, s->lo, s->hi, s->lhs, s->rhs};
    for (size_t i = 0; i < PP_COUNT(exprs); i++)
      if ((call = find_call(exprs[i], WANT_PARALLEL, &e)))
        return not_here(p, call, e,
                        "can only be called in an assignment (such as v = f(...)); assign its "
                        "value to a variable first");
    const Node *red = gpu_is_par(s) && s->par.reduce ? s : NULL;
    if (!wrap_list(p, &s->body, red) || !wrap_list(p, &s->then, reduction) ||
        !wrap_list(p, &s->els, reduction))
      return false;
  }
  return true;
}

/* The all-threads loops of a nest, with their depth. */
typedef struct Found {
  Node *loops[64];
  int depth[64];
  int n;
} Found;

static void collect(Node *list, int depth, Found *f) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s) && s->all_threads && f->n < (int)PP_COUNT(f->loops)) {
      f->loops[f->n] = s;
      f->depth[f->n++] = depth;
    }
    int inner = depth + (gpu_is_par(s) ? 1 : 0);
    collect(s->body, inner, f);
    collect(s->then, depth, f);
    collect(s->els, depth, f);
  }
}

static void set_tpb(Node *list, int64_t tpb) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s))
      s->par.tpb = tpb;
    set_tpb(s->body, tpb);
    set_tpb(s->then, tpb);
    set_tpb(s->els, tpb);
  }
}

/* The threads of a parallel external cooperate within a block: its level
 * must be the nest's innermost (the one on threadIdx.x), it must fit in a
 * block, and its tpb joins the nest's. */
static bool check_nest(Prog *p, Node *root) {
  Found f = {0};
  collect(root, 0, &f);
  if (f.n == 0)
    return true;
  int64_t n[GPU_MAX_LAYERS];
  int K = gpu_nest_widths(root, n);
  int64_t tpb = root->par.tpb;
  for (int i = 0; i < f.n; i++) {
    const Node *w = f.loops[i];
    const Extern *e = w->ext;
    if (f.depth[i] != K - 1)
      return err(p, DIAG_RUNTIME, w->span,
                 "'%s' is a parallel external, whose threads cooperate within a thread block, "
                 "so it must be called at the innermost parallel level of its nest; here "
                 "other parallel loops of the nest go deeper",
                 e->name);
    if (w->par.tpb != PP_DEFAULT_TPB) {
      if (tpb != PP_DEFAULT_TPB && tpb != w->par.tpb)
        return err(p, DIAG_RUNTIME, w->span,
                   "the parallel external '%s' asks for %" PRId64 " threads per block, but its "
                   "parallel nest uses %" PRId64 "; one nest runs with one block size",
                   e->name, w->par.tpb, tpb);
      tpb = w->par.tpb;
    }
  }
  for (int i = 0; i < f.n; i++) {
    const Node *w = f.loops[i];
    int64_t block = tpb;
    if (w->par.nthreads > block)
      return err(p, DIAG_RUNTIME, w->span,
                 "the parallel external '%s' asks for %" PRId64 " threads, more than a thread "
                 "block of this nest holds (%" PRId64 "); its threads must share a block",
                 w->ext->name, w->par.nthreads, block);
  }
  Node copy = *root;
  copy.next = NULL;
  set_tpb(&copy, tpb);
  root->par.tpb = tpb;
  return true;
}

static bool host_level(Prog *p, Node *list) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      const Node *red = s->par.reduce ? s : NULL;
      if (!wrap_list(p, &s->body, red) || !check_nest(p, s))
        return false;
      continue;
    }
    if (!host_level(p, s->body) || !host_level(p, s->then) || !host_level(p, s->els))
      return false;
  }
  return true;
}

bool gpu_externals(Prog *p) {
  if (p->nexts == 0)
    return true;
  return place_list(p, p->main->body, false) && host_level(p, p->main->body);
}
