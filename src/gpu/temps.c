/* temps.c - values that cross kernels, and what the host may do.
 *
 * After splitting, a local computed in one kernel may be read in another
 * (`s` below): it is stored in an array in device memory with one element
 * per iteration of the parallel loops around its definition.  The kernel
 * computing it keeps using its register (all its threads compute it; one
 * stores it), the later kernels read the array:
 *
 *   P { s = ...; Q }  P { ... s ... }  ->  P { s = ...; S[i] = s; Q }  P { ... S[i] ... }
 *
 * A local computed on the host and read in a kernel is a kernel parameter
 * (kernels.c).  The host cannot read GPU memory, so array elements, and
 * locals computed in kernels, cannot be used in host code. */
#include <string.h>

#include "gpu.h"

Sym *gpu_new_temp(Prog *p, const char *name, Elem e, int rank, const int64_t *shape) {
  Sym *s = fn_temp(p, p->main, name, type_array(&p->arena, e, rank, shape));
  Sym **ts = ARENA_ARRAY(&p->arena, Sym *, p->ntemps + 1);
  if (p->ntemps)
    memcpy(ts, p->temps, sizeof(Sym *) * (size_t)p->ntemps);
  ts[p->ntemps++] = s;
  p->temps = ts;
  return s;
}

static Node *int_node(Prog *p, int64_t v, Span span) {
  Node *n = new_int(&p->arena, v, span);
  n->val.elem = p->opt.int_size;
  n->ty = type_scalar(&p->arena, p->opt.int_size, true);
  return n;
}

static Node *int_op(Prog *p, Op op, Node *a, Node *b) {
  Node *n = new_node(&p->arena, N_BINARY, a->span);
  n->op = op; /* OP_DIV on integers: exact here, printed as C's / */
  n->lhs = a;
  n->rhs = b;
  n->ty = a->ty;
  return n;
}

int gpu_index_loops(Node **enc, int n, Node **out) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    int64_t trips;
    if (gpu_trips(enc[i], &trips) && trips == 1)
      continue;
    out[k++] = enc[i];
  }
  return k;
}

Node *gpu_iteration_index(Prog *p, Node **loops, int n, Span span) {
  Node head = {0}, *tail = &head;
  for (int i = 0; i < n; i++) {
    Node *f = loops[i];
    Node *e = new_var(p, f->sym, span);
    int64_t lo = 0;
    if (!const_int(f->lo, &lo) || lo != 0)
      e = int_op(p, OP_SUB, e, clone_node(&p->arena, f->lo));
    if (f->step != 1)
      e = int_op(p, OP_DIV, e, int_node(p, f->step, span));
    tail = tail->next = e;
  }
  return head.next;
}

/* ---- where each local is used ---- */

typedef struct Uses {
  int root;          /* kernel of the first use; -1 host; -2 none yet */
  bool multi;        /* used in more than one place (kernels, host) */
  bool host_use, host_def, kernel_def;
  int set_in;        /* the kernel in which it was surely assigned so far */
  bool exposed;      /* some kernel reads it before assigning it */
  Span host_span, def_span;
  Node *enc[GPU_MAX_LAYERS]; /* parallel loops around the first kernel definition */
  int nenc;
} Uses;

typedef struct Walker {
  Prog *p;
  Uses *uses;        /* by symbol id */
  int root;          /* current kernel, -1 on the host */
  Node *enc[GPU_MAX_LAYERS];
  int nenc;
  int cond;          /* inside code that may not run (if, while, sequential for) */
  Sym **temp_of;     /* by symbol id: the array replacing a local */
  int nsyms;         /* size of uses and temp_of (symbols made later are not in them) */
  bool *assigns;      /* by symbol id: the kernel being rewritten assigns it */
  bool *assigned_yet; /* ... and has done so before the statement at hand */
} Walker;

static bool tracked(const Sym *s) {
  return (s->kind == SYM_LOCAL || s->kind == SYM_TEMP) && !s->alias && s->ty &&
         s->ty->kind == TY_SCALAR;
}

static void note(Walker *w, Sym *s, bool def, Span span) {
  if (!tracked(s))
    return;
  Uses *u = &w->uses[s->id];
  if (u->root == -2)
    u->root = w->root;
  else if (u->root != w->root)
    u->multi = true;
  if (w->root < 0) {
    if (def)
      u->host_def = true;
    else if (!u->host_use) {
      u->host_use = true;
      u->host_span = span;
    }
    return;
  }
  /* Liveness: a read before any sure assignment in this kernel needs the
   * value from outside the kernel. */
  if (!def && u->set_in != w->root)
    u->exposed = true;
  if (def && w->cond == 0)
    u->set_in = w->root;
  if (def && !u->kernel_def) {
    u->kernel_def = true;
    u->def_span = span;
    u->nenc = gpu_index_loops(w->enc, w->nenc, u->enc);
  }
}

static void scan_expr(Walker *w, Node *n, bool def) {
  if (!n)
    return;
  if (n->kind == N_VAR)
    note(w, n->sym, def, n->span);
  scan_expr(w, n->lhs, false);
  scan_expr(w, n->rhs, false);
  scan_expr(w, n->cond, false);
  scan_expr(w, n->then, false);
  scan_expr(w, n->els, false);
  for (Node *a = n->args; a; a = a->next)
    scan_expr(w, a, false);
}

static void scan_list(Walker *w, Node *list, int *next_root);

static void scan_stmt(Walker *w, Node *s, int *next_root) {
  bool entering = w->root < 0 && gpu_is_par(s);
  if (entering)
    w->root = (*next_root)++;
  if (gpu_is_par(s) && w->nenc < GPU_MAX_LAYERS)
    w->enc[w->nenc++] = s;
  bool maybe = !gpu_is_par(s) && s->kind != N_ASSIGN; /* a body that may not run */
  switch (s->kind) {
  case N_ASSIGN:
    scan_expr(w, s->rhs, false);
    scan_expr(w, s->lhs, s->lhs->kind == N_VAR);
    break;
  case N_FOR:
    scan_expr(w, s->lo, false);
    scan_expr(w, s->hi, false);
    w->cond += maybe;
    scan_list(w, s->body, next_root);
    w->cond -= maybe;
    break;
  case N_WHILE:
  case N_IF:
    scan_expr(w, s->cond, false);
    w->cond++;
    scan_list(w, s->body, next_root);
    scan_list(w, s->then, next_root);
    scan_list(w, s->els, next_root);
    w->cond--;
    break;
  default: break;
  }
  if (gpu_is_par(s))
    w->nenc--;
  if (entering)
    w->root = -1;
}

static void scan_list(Walker *w, Node *list, int *next_root) {
  for (Node *s = list; s; s = s->next)
    scan_stmt(w, s, next_root);
}

/* ---- replacing locals by temporaries ---- */

static bool encloses(Walker *w, const Uses *u) {
  for (int i = 0; i < u->nenc; i++) {
    bool found = false;
    for (int j = 0; j < w->nenc; j++)
      found |= w->enc[j]->sym == u->enc[i]->sym;
    if (!found)
      return false;
  }
  return true;
}

/* S[iteration] for the kept local `s` (at a place its loops enclose). */
static Node *temp_at(Walker *w, const Sym *s, Span span) {
  const Uses *u = &w->uses[s->id];
  if (!encloses(w, u)) {
    err(w->p, DIAG_RUNTIME, span,
        "'%s' is computed in one kernel and used in another outside the parallel loops it "
        "was computed in",
        s->name);
    return NULL;
  }
  Node *sub = new_node(&w->p->arena, N_SUBSCRIPT, span);
  sub->lhs = new_var(w->p, w->temp_of[s->id], span);
  sub->args = gpu_iteration_index(w->p, (Node **)u->enc, u->nenc, span);
  if (!sub->args) /* defined outside every parallel loop: one element */
    sub->args = int_node(w->p, 0, span);
  sub->ty = s->ty;
  return sub;
}

static bool is_kept(const Walker *w, const Sym *s) {
  return s->id < w->nsyms && w->temp_of[s->id];
}

/* A kernel that assigns a kept local computes it in every thread, in a
 * register, as before; it only stores it for the later kernels.  A kernel
 * that does not assign it reads the stored value. */
static bool replace_expr(Walker *w, Node **np) {
  Node *n = *np;
  if (!n)
    return true;
  if (n->kind == N_VAR && is_kept(w, n->sym)) {
    Sym *s = n->sym;
    if (w->assigns[s->id]) {
      if (!w->assigned_yet[s->id])
        return err(w->p, DIAG_RUNTIME, n->span,
                   "'%s' is read here before this kernel assigns it, and also kept from an "
                   "earlier kernel; use two variables",
                   s->name);
      return true;
    }
    Node *sub = temp_at(w, s, n->span);
    if (!sub)
      return false;
    sub->next = n->next;
    *np = sub;
    return true;
  }
  Node **kids[] = {&n->lhs, &n->rhs, &n->cond, &n->then, &n->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (!replace_expr(w, kids[i]))
      return false;
  for (Node **a = &n->args; *a; a = &(*a)->next)
    if (!replace_expr(w, a))
      return false;
  return true;
}

/* The kept local a statement finishes computing: an assignment to it, or a
 * parallel reduction into it (stored after the loop, not in its body). */
static Sym *completes(const Walker *w, const Node *s) {
  if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR && is_kept(w, s->lhs->sym))
    return s->lhs->sym;
  if (gpu_is_par(s) && s->par.reduce && s->red_target && s->red_target->kind == N_VAR &&
      is_kept(w, s->red_target->sym))
    return s->red_target->sym;
  return NULL;
}

static bool replace_list(Walker *w, Node *list, bool in_reduction) {
  for (Node *s = list; s; s = s->next) {
    bool par = gpu_is_par(s) && w->nenc < GPU_MAX_LAYERS;
    if (par)
      w->enc[w->nenc++] = s;
    bool ok = replace_expr(w, &s->rhs) && replace_expr(w, &s->cond) &&
              replace_expr(w, &s->lo) && replace_expr(w, &s->hi);
    if (ok && s->kind == N_ASSIGN && s->lhs->kind == N_VAR && is_kept(w, s->lhs->sym))
      w->assigned_yet[s->lhs->sym->id] = true; /* the target keeps its register */
    else if (ok)
      ok = replace_expr(w, &s->lhs);
    bool reduction = in_reduction || (gpu_is_par(s) && s->par.reduce);
    ok = ok && replace_list(w, s->body, reduction) && replace_list(w, s->then, in_reduction) &&
         replace_list(w, s->els, in_reduction);
    if (par)
      w->nenc--;
    if (!ok)
      return false;
    Sym *done = in_reduction ? NULL : completes(w, s);
    if (done) {
      Node *store = new_node(&w->p->arena, N_ASSIGN, s->span);
      store->lhs = temp_at(w, done, s->span);
      store->rhs = new_var(w->p, done, s->span);
      if (!store->lhs)
        return false;
      store->next = s->next;
      s->next = store;
      s = store;
    }
  }
  return true;
}

static void assigned_in(const Node *list, bool *set, int n) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR && s->lhs->sym->id < n)
      set[s->lhs->sym->id] = true;
    assigned_in(s->body, set, n);
    assigned_in(s->then, set, n);
    assigned_in(s->els, set, n);
  }
}

/* Each kernel in turn (and the host, where nothing is kept). */
static bool replace_kernels(Walker *w, Node *list) {
  int n = w->nsyms;
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      memset(w->assigns, 0, sizeof(bool) * (size_t)n);
      memset(w->assigned_yet, 0, sizeof(bool) * (size_t)n);
      Node root = *s;
      root.next = NULL;
      assigned_in(&root, w->assigns, n);
      w->nenc = 0;
      if (!replace_list(w, &root, false))
        return false;
      s->body = root.body; /* the root itself only gains statements inside */
      continue;
    }
    if (!replace_kernels(w, s->body) || !replace_kernels(w, s->then) ||
        !replace_kernels(w, s->els))
      return false;
  }
  return true;
}

static bool make_temps(Walker *w) {
  Prog *p = w->p;
  Fn *m = p->main;
  bool any = false;
  for (int i = 0; i < m->nsyms; i++) {
    Sym *s = m->syms[i];
    if (s->id >= w->nsyms) /* made by this pass */
      continue;
    Uses *u = &w->uses[s->id];
    if (!tracked(s) || !u->multi || !u->kernel_def || !(u->exposed || u->host_use))
      continue;
    if (u->host_use)
      return err(p, DIAG_RUNTIME, u->host_span,
                 "'%s' is computed on the GPU, so the host cannot read it here; use it only "
                 "inside parallel loops or 'with parpy.gpu:' blocks",
                 s->name);
    if (u->host_def)
      return err(p, DIAG_RUNTIME, u->def_span,
                 "'%s' is assigned both on the host and on the GPU; assign it in one place",
                 s->name);
    int64_t shape[GPU_MAX_LAYERS];
    for (int k = 0; k < u->nenc; k++)
      if (!gpu_trips(u->enc[k], &shape[k]))
        return err(p, DIAG_RUNTIME, u->def_span,
                   "'%s' must be kept between two kernels, which needs the parallel loops "
                   "around it to have constant bounds",
                   s->name);
    int rank = u->nenc;
    if (rank == 0)
      shape[rank++] = 1;
    w->temp_of[s->id] = gpu_new_temp(p, s->name, s->ty->elem, rank, shape);
    any = true;
  }
  if (!any)
    return true;
  w->assigns = ARENA_ARRAY(&p->arena, bool, w->nsyms);
  w->assigned_yet = ARENA_ARRAY(&p->arena, bool, w->nsyms);
  return replace_kernels(w, m->body);
}

/* ---- locals each kernel computes for itself ----
 * A local assigned in several kernels but never carried between them is a
 * separate variable in each: give every kernel after the first its own
 * symbol, so that each kernel declares it. */

static void rename_node(Node *n, Sym **mine, Walker *w) {
  if (!n)
    return;
  if (n->kind == N_VAR) {
    Sym *s = n->sym;
    Uses *u = s->id < w->nsyms ? &w->uses[s->id] : NULL;
    if (u && tracked(s) && u->multi && !u->host_def && !u->host_use) {
      if (!mine[s->id]) {
        mine[s->id] = fn_temp(w->p, w->p->main, s->name, s->ty);
        mine[s->id]->kind = s->kind;
      }
      n->sym = mine[s->id];
      n->ty = n->sym->ty;
    }
    return;
  }
  Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->partial_at};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    rename_node(kids[i], mine, w);
  /* lists of arguments or statements (an if-expression's branches are
   * single nodes, which the same loop visits) */
  Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (Node *x = lists[i]; x; x = x->next)
      rename_node(x, mine, w);
}

static void split_locals(Walker *w, Node *list, int *root) {
  for (Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      if ((*root)++ > 0) {
        int n = w->p->next_sym_id;
        Sym **mine = ARENA_ARRAY(&w->p->arena, Sym *, n);
        rename_node(s, mine, w);
      }
      continue;
    }
    split_locals(w, s->body, root);
    split_locals(w, s->then, root);
    split_locals(w, s->els, root);
  }
}

/* ---- the host ---- */

static bool host_expr(Prog *p, const Node *n) {
  if (!n)
    return true;
  /* An array-valued subscript is an address (binding src = x[i]), no read. */
  bool address = n->ty && n->ty->kind == TY_ARRAY;
  if ((n->kind == N_SUBSCRIPT || n->kind == N_FIELD) && !address)
    return err(p, DIAG_RUNTIME, n->span,
               "array elements cannot be used outside parallel code on a GPU: the host cannot "
               "reach GPU memory. Put this statement in a parallel loop (a label with threads) "
               "or in a 'with parpy.gpu:' block");
  if (!host_expr(p, n->lhs) || !host_expr(p, n->rhs) || !host_expr(p, n->cond) ||
      !host_expr(p, n->then) || !host_expr(p, n->els))
    return false;
  for (const Node *a = n->args; a; a = a->next)
    if (!host_expr(p, a))
      return false;
  return true;
}

static bool host_list(Prog *p, const Node *list) {
  for (const Node *s = list; s; s = s->next) {
    if (gpu_is_par(s))
      continue;
    if (!host_expr(p, s->lhs) || !host_expr(p, s->rhs) || !host_expr(p, s->cond) ||
        !host_expr(p, s->lo) || !host_expr(p, s->hi) || !host_list(p, s->body) ||
        !host_list(p, s->then) || !host_list(p, s->els))
      return false;
  }
  return true;
}

bool gpu_temps(Prog *p) {
  if (!host_list(p, p->main->body))
    return false;
  int n = p->next_sym_id;
  Walker w = {.p = p, .root = -1, .nsyms = n};
  w.uses = ARENA_ARRAY(&p->arena, Uses, n);
  w.temp_of = ARENA_ARRAY(&p->arena, Sym *, n);
  for (int i = 0; i < n; i++)
    w.uses[i].root = w.uses[i].set_in = -2;
  int next_root = 0;
  scan_list(&w, p->main->body, &next_root);
  if (!make_temps(&w))
    return false;
  int root = 0;
  split_locals(&w, p->main->body, &root);
  return true;
}
