/* kernels.c - make each remaining root a kernel: map its layers onto the
 * grid, collect its parameters, and make its cooperative statements safe.
 *
 * Mapping (as in ParPy 0.1.3, with its bugs fixed): the innermost layer runs
 * on threadIdx.x, rounded up to whole warps, and on several blocks along x
 * when it has more threads than a block; each outer layer takes grid y,
 * then z, then shares x (its index is then (blockIdx.x / below) % n).
 *
 * A statement outside the innermost layer runs in every thread of the
 * layers inside it.  Locals are per thread, so computing them everywhere is
 * harmless; a write to an array is done by the first of those threads
 * only.  Where such statements depend on each other a barrier orders them
 * (split.c has already cut the kernel where a barrier would not reach).
 * The body of an all-threads loop (a parallel external, externals.c) is
 * run by every thread of its level, and is treated the same way. */
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

typedef struct Builder {
  Prog *p;
  Kernel *k;
  bool cluster_sync; /* the kernel's cooperative statements span a cluster */
} Builder;

/* ---- the grid ---- */

static bool map_layers(Prog *p, Kernel *k) {
  int64_t n[GPU_MAX_LAYERS];
  k->nlayers = gpu_nest_widths(k->root, n);
  int K = k->nlayers;
  int64_t tpb = gpu_nest_tpb(k->root);
  int64_t grid[3] = {1, 1, 1};
  bool used_y = false, used_z = false;
  Layer *in = &k->layers[K - 1];
  in->n = n[K - 1];
  in->T = gpu_round_threads(in->n);
  in->blocks = gpu_inner_blocks(in->n, tpb);
  if (in->blocks > 1)
    in->T = in->blocks * tpb;
  in->dim = 'x';
  in->below = 1;
  k->tpb = in->blocks > 1 ? tpb : in->T;
  grid[0] = in->blocks;
  for (int j = K - 2; j >= 0; j--) {
    Layer *l = &k->layers[j];
    l->n = l->T = l->blocks = n[j];
    if (l->n <= GPU_MAX_GRID_YZ && !used_y) {
      l->dim = 'y';
      used_y = true;
    } else if (l->n <= GPU_MAX_GRID_YZ && !used_z) {
      l->dim = 'z';
      used_z = true;
    } else {
      l->dim = 'x';
      l->below = grid[0];
      if (grid[0] > GPU_MAX_GRID_X / l->n)
        return err(p, DIAG_RUNTIME, k->root->span,
                   "this parallel nest needs more thread blocks than a GPU grid holds; ask "
                   "for fewer threads");
      grid[0] *= l->n;
      continue;
    }
    l->below = 1;
    grid[l->dim - 'x'] = l->n;
  }
  /* The outermost layer on each dimension needs no modulo. */
  for (int d = 0; d < 3; d++)
    for (int j = 0; j < K; j++)
      if (k->layers[j].dim == 'x' + d) {
        k->layers[j].top = true;
        break;
      }
  memcpy(k->grid, grid, sizeof grid);
  return true;
}

/* ---- fewer threads, each doing more (Cuda) ----
 * A thread that handles one element has one or two loads in flight; the
 * memory of a large GPU needs several per thread to be kept busy, and a
 * block of 1024 threads that reduces 1024 elements spends most of its time
 * in the combination.  The iterations of a parallel loop are independent,
 * so any number of threads runs them correctly: where a level would give
 * each thread about one iteration, it gets fewer threads.  Floating-point
 * reductions then add in another order (docs/gpu.md). */
enum {
  INNER_ITERS = 8,       /* iterations per thread a coarsened inner level aims at */
  INNER_MIN_THREADS = 128,
  ELEMENTWISE_ITERS = 4, /* iterations per thread of a coarsened one-level kernel */
  ELEMENTWISE_TPB = 256  /* its block, unless a label sets tpb */
};

static bool has_all_threads_or_sync(const Node *list) {
  for (const Node *s = list; s; s = s->next) {
    if ((gpu_is_par(s) && s->all_threads) || s->kind == N_SYNC)
      return true;
    if (has_all_threads_or_sync(s->body) || has_all_threads_or_sync(s->then) ||
        has_all_threads_or_sync(s->els))
      return true;
  }
  return false;
}

/* The most iterations of the parallel loops at `target` depth; false if one
 * of them has bounds that are not constant. */
static bool level_trips(const Node *list, int depth, int target, int64_t *most) {
  for (const Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      if (depth == target) {
        int64_t t;
        if (!gpu_trips(s, &t))
          return false;
        if (t > *most)
          *most = t;
        continue;
      }
      if (!level_trips(s->body, depth + 1, target, most))
        return false;
      continue;
    }
    if (!level_trips(s->body, depth, target, most) || !level_trips(s->then, depth, target, most) ||
        !level_trips(s->els, depth, target, most))
      return false;
  }
  return true;
}

/* The innermost level of a nest of several, within one block: about
 * INNER_ITERS iterations per thread, at least INNER_MIN_THREADS threads. */
static void coarsen_inner(Kernel *k, const Node *root) {
  int K = k->nlayers;
  Layer *in = &k->layers[K - 1];
  int64_t most = 0;
  if (K < 2 || in->blocks != 1 || !level_trips(root, 0, K - 1, &most))
    return;
  int64_t want = gpu_round_threads((most + INNER_ITERS - 1) / INNER_ITERS);
  if (want < INNER_MIN_THREADS)
    want = INNER_MIN_THREADS;
  if (want >= in->T)
    return;
  in->T = want;
  k->tpb = want;
}

/* A kernel of one level: ELEMENTWISE_ITERS iterations per thread, tpb
 * apart (each load of a warp stays one contiguous line), with the thread's
 * index in 32 bits. */
static void coarsen_elementwise(Kernel *k, Node *root) {
  int64_t trips, tpb = gpu_nest_tpb(root);
  if (k->nlayers != 1 || root->par.reduce || !gpu_trips(root, &trips))
    return;
  if (tpb == PP_DEFAULT_TPB)
    tpb = ELEMENTWISE_TPB;
  int64_t chunk = tpb * ELEMENTWISE_ITERS;
  int64_t blocks = (trips + chunk - 1) / chunk;
  if (trips <= tpb || blocks > INT32_MAX / chunk)
    return;
  k->coarsen = ELEMENTWISE_ITERS;
  k->trips = trips;
  k->tpb = tpb;
  k->grid[0] = blocks;
  k->layers[0].T = blocks * tpb;
  k->layers[0].blocks = blocks;
}

/* Not yet run on a GPU (the session that wrote it had none): opt-in with
 * PARPY_CUDA_COARSEN=1 until the GPU tests of tests/test_cuda_coarsen.py
 * have passed on one.  The generated code differs, so the cache key does. */
static bool coarsening_enabled(void) {
  const char *e = getenv("PARPY_CUDA_COARSEN");
  return e && e[0] && strcmp(e, "0") != 0;
}

static void coarsen(Prog *p, Kernel *k) {
  Node only = *k->root;
  only.next = NULL;
  if (p->opt.backend != BACKEND_CUDA || !coarsening_enabled() || has_all_threads_or_sync(&only))
    return;
  coarsen_inner(k, &only);
  coarsen_elementwise(k, k->root);
}

/* Each parallel loop learns its layer; reductions across a cluster give
 * the kernel its cluster size. */
static void set_layers(Builder *b, Node *list, int depth) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      s->layer = depth;
      if (s->cluster)
        b->k->cluster = b->k->layers[b->k->nlayers - 1].blocks;
      set_layers(b, s->body, depth + 1);
      continue;
    }
    set_layers(b, s->body, depth);
    set_layers(b, s->then, depth);
    set_layers(b, s->els, depth);
  }
}

/* ---- parameters ---- */

static void add_param(Builder *b, Node *n) {
  Kernel *k = b->k;
  for (int i = 0; i < k->nparams; i++)
    if (expr_equal(k->params[i], n))
      return;
  Node **ps = ARENA_ARRAY(&b->p->arena, Node *, k->nparams + 1);
  if (k->nparams)
    memcpy(ps, k->params, sizeof(Node *) * (size_t)k->nparams);
  Node *c = clone_node(&b->p->arena, n);
  c->next = NULL;
  ps[k->nparams++] = c;
  k->params = ps;
}

/* Parameters in a reading order: the function's arrays as it declares them,
 * then values from the host, then temporaries. */
static int64_t param_rank(const Node *n) {
  if (n->kind == N_FIELD)
    return (int64_t)n->lhs->sym->param << 20;
  const Sym *s = n->sym;
  if (s->kind == SYM_PARAM)
    return (int64_t)s->param << 20;
  bool temp = s->ty && s->ty->kind == TY_ARRAY;
  return ((int64_t)(temp ? 2 : 1) << 40) + s->id;
}

static void sort_params(Kernel *k) {
  for (int i = 1; i < k->nparams; i++)
    for (int j = i; j > 0; j--) {
      Node *a = k->params[j - 1], *b = k->params[j];
      bool swap = param_rank(a) > param_rank(b) ||
                  (param_rank(a) == param_rank(b) && a->kind == N_FIELD && b->kind == N_FIELD &&
                   strcmp(a->str, b->str) > 0);
      if (!swap)
        break;
      k->params[j - 1] = b;
      k->params[j] = a;
    }
}

/* Symbols defined inside the root (its loops' variables and assigned locals). */
static bool defined_inside(const Node *list, const Sym *s) {
  for (const Node *st = list; st; st = st->next) {
    if (st->kind == N_FOR && st->sym == s)
      return true;
    if (st->kind == N_ASSIGN && st->lhs->kind == N_VAR && st->lhs->sym == s)
      return true;
    if (defined_inside(st->body, s) || defined_inside(st->then, s) || defined_inside(st->els, s))
      return true;
  }
  return false;
}

static void params_expr(Builder *b, Node *n) {
  if (!n)
    return;
  if (n->kind == N_FIELD) {
    if (n->ty && n->ty->kind == TY_ARRAY)
      add_param(b, n);
    return;
  }
  if (n->kind == N_VAR) {
    Sym *s = n->sym;
    bool array = s->ty && s->ty->kind == TY_ARRAY;
    if (s->kind == SYM_PARAM) {
      /* arrays, and scalars taken at run time (passes/specialise.c) */
      if (array || (s->arg && s->arg->runtime))
        add_param(b, n);
    } else if (s->local_array) {
      /* np.zeros(K) lives in the registers or local memory of a thread */
      if (b->k->root->sym != s && !defined_inside(b->k->root->body, s))
        err(b->p, DIAG_RUNTIME, n->span,
            "the local array '%s' is created outside the parallel loop that uses it; on the GPU "
            "a local array lives in one thread, so create it inside the loop (per iteration), "
            "or pass an array argument for a buffer that the loop shares",
            s->name);
    } else if ((array && !s->array_ref) ||
               (b->k->root->sym != s && !defined_inside(b->k->root->body, s))) {
      /* a temporary array, or a value (or an array chosen) on the host */
      add_param(b, n);
    }
    return;
  }
  params_expr(b, n->lhs);
  params_expr(b, n->rhs);
  params_expr(b, n->cond);
  params_expr(b, n->then);
  params_expr(b, n->els);
  for (Node *a = n->args; a; a = a->next)
    params_expr(b, a);
}

static void params_list(Builder *b, Node *list) {
  for (Node *s = list; s; s = s->next) {
    params_expr(b, s->lhs);
    params_expr(b, s->rhs);
    params_expr(b, s->cond);
    params_expr(b, s->lo);
    params_expr(b, s->hi);
    params_expr(b, s->partial_at);
    if (s->kind == N_PRINT)
      for (Node *a = s->args; a; a = a->next)
        params_expr(b, a);
    params_list(b, s->body);
    params_list(b, s->then);
    params_list(b, s->els);
  }
}

/* ---- what the printer may promise nvcc about the parameters ---- */

/* Is `e` the parameter `prm` (an array variable or dict field)? */
static bool is_param(const Node *e, const Node *prm) {
  if (!e || e->kind != prm->kind)
    return false;
  return e->kind == N_VAR ? e->sym == prm->sym : expr_equal(e, prm);
}

/* Does the expression use `prm` other than by reading an element? */
static bool escapes(const Node *e, const Node *prm) {
  if (!e)
    return false;
  if (is_param(e, prm))
    return true; /* the array itself: a view, a pointer argument */
  if (e->kind == N_SUBSCRIPT && is_param(e->lhs, prm)) {
    if (!e->ty || e->ty->kind != TY_SCALAR)
      return true; /* a row of it */
    for (const Node *a = e->args; a; a = a->next)
      if (escapes(a, prm))
        return true;
    return false;
  }
  const Node *kids[] = {e->lhs, e->rhs, e->cond, e->then, e->els, e->lo, e->hi};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (escapes(kids[i], prm))
      return true;
  for (const Node *a = e->args; a; a = a->next)
    if (escapes(a, prm))
      return true;
  return false;
}

/* Is the target `t` (of a store) an element of `prm`? */
static bool stores_into(const Node *t, const Node *prm) {
  return t && t->kind == N_SUBSCRIPT && is_param(t->lhs, prm);
}

/* Does the kernel code `list` only read elements of `prm`? */
static bool only_reads(const Node *list, const Node *prm) {
  for (const Node *s = list; s; s = s->next) {
    if (stores_into(s->lhs, prm) || stores_into(s->partial_at, prm))
      return false;
    const Node *lhs = s->lhs && s->lhs->kind == N_SUBSCRIPT ? NULL : s->lhs;
    if (s->lhs && s->lhs->kind == N_SUBSCRIPT) {
      if (escapes(s->lhs->lhs, prm))
        return false;
      for (const Node *a = s->lhs->args; a; a = a->next)
        if (escapes(a, prm))
          return false;
    }
    const Node *exprs[] = {lhs, s->rhs, s->cond, s->lo, s->hi, s->partial_at};
    for (size_t i = 0; i < PP_COUNT(exprs); i++)
      if (escapes(exprs[i], prm))
        return false;
    if (s->kind == N_PRINT)
      for (const Node *a = s->args; a; a = a->next)
        if (escapes(a, prm))
          return false;
    if (!only_reads(s->body, prm) || !only_reads(s->then, prm) || !only_reads(s->els, prm))
      return false;
  }
  return true;
}

static bool mentions_array_ref(const Node *n) {
  if (!n)
    return false;
  if (n->kind == N_VAR && n->sym->array_ref)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->lo, n->hi, n->partial_at};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (mentions_array_ref(kids[i]))
      return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *x = lists[i]; x; x = x->next)
      if (mentions_array_ref(x))
        return true;
  return false;
}

static bool is_temp(const Prog *p, const Sym *s) {
  for (int i = 0; i < p->ntemps; i++)
    if (p->temps[i] == s)
      return true;
  return false;
}

/* Arrays the kernel only reads are const (loads through the read-only
 * path); when every array parameter is a distinct argument of the call
 * (the runtime refuses written arguments that share memory, call.c) or a
 * temporary of its own, and no pointer is chosen at run time, they are all
 * __restrict__, so nvcc may keep loads in flight across stores. */
static void param_promises(Prog *p, Kernel *k, const Node *code) {
  k->param_const = ARENA_ARRAY(&p->arena, bool, k->nparams > 0 ? k->nparams : 1);
  k->restrict_ok = p->opt.backend == BACKEND_CUDA && !mentions_array_ref(code);
  for (int i = 0; i < k->nparams; i++) {
    const Node *prm = k->params[i];
    const Type *t = prm->kind == N_FIELD ? prm->ty : prm->sym->ty;
    if (!t || t->kind != TY_ARRAY)
      continue;
    if (prm->kind != N_FIELD && prm->sym->kind != SYM_PARAM && !is_temp(p, prm->sym))
      k->restrict_ok = false;
    k->param_const[i] = p->opt.backend == BACKEND_CUDA && only_reads(code, prm);
  }
}

/* ---- guards and barriers ---- */

static Node *sync_node(Builder *b, Span span) {
  Node *s = new_node(&b->p->arena, N_SYNC, span);
  s->op = OP_ADD; /* a real barrier (OP_NONE marks a split point) */
  s->cluster = b->cluster_sync;
  return s;
}

static Node *guard(Builder *b, Node *s, int depth) {
  Node *first = new_node(&b->p->arena, N_FIRST, s->span);
  first->layer = depth;
  first->ty = type_scalar(&b->p->arena, EL_BOOL, false);
  Node *g = new_node(&b->p->arena, N_IF, s->span);
  g->cond = first;
  g->then = s;
  g->next = s->next;
  s->next = NULL;
  return g;
}

static bool is_guard(const Node *s) {
  return s->kind == N_IF && s->cond && s->cond->kind == N_FIRST;
}

static void cooperate(Builder *b, Node **list, int depth);

/* A list of statements run by the threads of layers depth.. (depth < K). */
static void cooperate(Builder *b, Node **list, int depth) {
  int K = b->k->nlayers;
  for (Node **link = list; *link; link = &(*link)->next) {
    Node *s = *link;
    if (s->kind == N_SYNC && s->op == OP_NONE) /* a split mark that needed no split */
      s->op = OP_ADD;
    if (gpu_is_par(s) && s->all_threads) {
      /* a parallel external's statement: every thread of this level runs
       * it, so its array writes are done once like those around it */
      cooperate(b, &s->body, depth);
    } else if (gpu_is_par(s)) {
      if (depth + 1 < K)
        cooperate(b, &s->body, depth + 1);
    } else if (s->kind == N_ASSIGN && s->lhs->kind == N_SUBSCRIPT && !is_guard(s)) {
      *link = s = guard(b, s, depth);
    } else if (!is_guard(s)) {
      cooperate(b, &s->body, depth);
      cooperate(b, &s->then, depth);
      cooperate(b, &s->els, depth);
      /* A sequential loop whose iterations write for the next ones. */
      if ((s->kind == N_FOR || s->kind == N_WHILE) && gpu_list_produces(s->body))
        *list_tail(&s->body) = sync_node(b, s->span);
    }
    if (s->next && gpu_produces(s) && s->next->kind != N_SYNC) {
      Node *y = sync_node(b, s->span);
      y->next = s->next;
      s->next = y;
    }
  }
}

/* Drop barriers that order nothing: twins, and the last statement of a
 * parallel loop's body (its iterations are independent). */
static void prune(Node **list, bool parallel_body) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    bool twin = s->kind == N_SYNC && s->next && s->next->kind == N_SYNC;
    bool last = s->kind == N_SYNC && !s->next && parallel_body;
    if (twin || last) {
      *link = s->next;
      continue;
    }
    prune(&s->body, gpu_is_par(s));
    prune(&s->then, false);
    prune(&s->els, false);
    link = &s->next;
  }
}

/* ---- kernels ---- */

static const char *kernel_name(Prog *p, const Node *root) {
  const char *base = arena_printf(&p->arena, "%s_%s", p->main->name, root->sym->name);
  const char *name = base;
  for (int i = 2;; i++) {
    bool clash = false;
    for (Kernel *k = p->kernels; k && !clash; k = k->next)
      clash = strcmp(k->name, name) == 0;
    if (!clash)
      return name;
    name = arena_printf(&p->arena, "%s_%d", base, i);
  }
}

static bool build(Prog *p, Node *root) {
  Kernel *k = ARENA_NEW(&p->arena, Kernel);
  k->root = root;
  k->name = kernel_name(p, root);
  root->kernel = k;
  if (!map_layers(p, k))
    return false;
  Builder b = {.p = p, .k = k};
  set_layers(&b, root, 0);
  coarsen(p, k);
  b.cluster_sync = k->cluster > 0 || (p->opt.use_clusters && k->layers[k->nlayers - 1].blocks > 1 &&
                                     k->layers[k->nlayers - 1].blocks <= p->opt.max_blocks_per_cluster);
  if (b.cluster_sync && !k->cluster)
    k->cluster = k->layers[k->nlayers - 1].blocks;
  if (k->nlayers > 1)
    cooperate(&b, &root->body, 1);
  prune(&root->body, true);
  Node only = *root; /* the kernel's code, not the statements after it */
  only.next = NULL;
  params_list(&b, &only);
  sort_params(k);
  param_promises(p, k, &only);
  Kernel **tail = &p->kernels;
  while (*tail)
    tail = &(*tail)->next;
  *tail = k;
  return true;
}

static bool host_list(Prog *p, Node *list) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      s->par_outer = true;
      if (!build(p, s))
        return false;
      continue;
    }
    if (!host_list(p, s->body) || !host_list(p, s->then) || !host_list(p, s->els))
      return false;
  }
  return true;
}

bool gpu_kernels(Prog *p) { return host_list(p, p->main->body); }
