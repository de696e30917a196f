/* temps.c - where the temporaries of slice statements live.
 *
 * A slice statement that reads the array it writes at other positions
 * (x[1:] = x[:-1]) computes its right-hand side into a temporary first, as
 * NumPy does; slices.c makes it a local array:
 *
 *   tmp = np.empty(n)   for d: tmp[d] = x[d]   for d: x[1 + d] = tmp[d]
 *
 * A local array is a stack array (per iteration inside loops) on the Cpu
 * and a per-thread array on a GPU.  That is wrong or impossible in two
 * cases, where the temporary becomes an array the host code allocates for
 * the call (Prog.temps), with one slice per iteration of the parallel loops
 * around the statement:
 *
 *   - on a GPU, when the statement's own loops are parallel: its threads
 *     share the temporary, so it cannot live in one of them;
 *   - when it is larger than a stack array may be (64 KiB).
 *
 *   P i: { tmp = np.empty(n); L d: tmp[d] = ...; L d: y[i, d] = tmp[d] }
 *     ->  P i: { L d: T[i, d] = ...; L d: y[i, d] = T[i, d] }     (T: m x n)
 *
 * The GPU lowering then orders the two loops as it orders any statements
 * that depend on each other (a barrier, or a kernel split). */
#include <inttypes.h>
#include <string.h>

#include "../ast.h"

enum { STACK_TEMP_MAX_BYTES = 64 * 1024, MAX_ENCLOSING = 16 };

Sym *prog_new_temp(Prog *p, const char *name, Elem e, int rank, const int64_t *shape) {
  Sym *s = fn_temp(p, p->main, name, type_array(&p->arena, e, rank, shape));
  Sym **ts = ARENA_ARRAY(&p->arena, Sym *, p->ntemps + 1);
  if (p->ntemps)
    memcpy(ts, p->temps, sizeof(Sym *) * (size_t)p->ntemps);
  ts[p->ntemps++] = s;
  p->temps = ts;
  return s;
}

typedef struct Temps {
  Prog *p;
  Fn *fn;
  Node *enc[MAX_ENCLOSING]; /* the parallel loops around the statement at hand */
  int nenc;
} Temps;

static bool is_par(const Node *s) { return s && s->kind == N_FOR && s->par.nthreads > 0; }

static bool has_par(const Node *list) {
  for (const Node *s = list; s; s = s->next)
    if (is_par(s) || has_par(s->body) || has_par(s->then) || has_par(s->els))
      return true;
  return false;
}

static bool trips_of(const Node *f, int64_t *trips) {
  int64_t lo, hi, st = f->step;
  if (!const_int(f->lo, &lo) || !const_int(f->hi, &hi))
    return false;
  if (st > 0)
    *trips = hi > lo ? (hi - lo + st - 1) / st : 0;
  else
    *trips = lo > hi ? (lo - hi - st - 1) / -st : 0;
  return true;
}

static Node *int_lit(Prog *p, int64_t v, Span span) {
  Node *n = new_int(&p->arena, v, span);
  n->val.elem = p->opt.int_size;
  n->ty = type_scalar(&p->arena, p->opt.int_size, true);
  return n;
}

static Node *int_op(Prog *p, Op op, Node *a, Node *b) {
  Node *n = new_node(&p->arena, N_BINARY, a->span);
  n->op = op; /* OP_DIV of integers that divide exactly: printed as C's / */
  n->lhs = a;
  n->rhs = b;
  n->ty = type_scalar(&p->arena, p->opt.int_size, true);
  return n;
}

/* The iteration of parallel loop `f`: (i - lo) / step. */
static Node *iteration(Prog *p, const Node *f, Span span) {
  Node *e = new_var(p, f->sym, span);
  int64_t lo = 0;
  if (!const_int(f->lo, &lo) || lo != 0)
    e = int_op(p, OP_SUB, e, clone_node(&p->arena, f->lo));
  if (f->step != 1)
    e = int_op(p, OP_DIV, e, int_lit(p, f->step, span));
  return e;
}

/* tmp[args] -> T[iterations of loops..., args] everywhere in `n`. */
static void retarget(Prog *p, Node *n, const Sym *tmp, Sym *T, Node **loops, int nl) {
  if (!n)
    return;
  if (n->kind == N_SUBSCRIPT && n->lhs->kind == N_VAR && n->lhs->sym == tmp) {
    Node head = {0}, *tail = &head;
    for (int k = 0; k < nl; k++)
      tail = tail->next = iteration(p, loops[k], n->span);
    tail->next = n->args;
    n->args = head.next;
    n->lhs = new_var(p, T, n->span);
    return;
  }
  Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->lo, n->hi};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    retarget(p, kids[i], tmp, T, loops, nl);
  Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (Node *x = lists[i]; x; x = x->next)
      if (x != n->then && x != n->els) /* single-node branches were visited above */
        retarget(p, x, tmp, T, loops, nl);
}

/* The temporary created by `decl`, used by the two statements after it:
 * false to keep it a local array, true once it is allocated by the host. */
static bool allocate(Temps *t, Node *decl, bool *moved) {
  Prog *p = t->p;
  Sym *tmp = decl->lhs->sym;
  Node *fill = decl->next, *store = fill ? fill->next : NULL;
  *moved = false;
  int64_t bytes = type_numel(tmp->ty) * elem_size(tmp->ty->elem);
  bool gpu = p->opt.backend == BACKEND_CUDA || p->opt.backend == BACKEND_METAL;
  bool shared = gpu && fill && has_par(fill);
  if (!store || (bytes <= STACK_TEMP_MAX_BYTES && !shared))
    return true;
  if (!t->fn->is_main)
    return err(p, DIAG_VALUE, decl->span,
               "this slice statement reads the array it writes, so NumPy's result needs a "
               "temporary copy of its right-hand side (%" PRId64 " bytes); in a function called "
               "in an expression it must fit the stack (%d KiB). Write the result to another "
               "array",
               bytes, STACK_TEMP_MAX_BYTES / 1024);
  Node *loops[MAX_ENCLOSING];
  int64_t shape[MAX_ENCLOSING + 8];
  int nl = 0;
  if (tmp->ty->rank > 8)
    return err(p, DIAG_RUNTIME, decl->span,
               "this slice statement reads the array it writes, and its temporary copy would "
               "have more than 8 dimensions; write the result to another array");
  for (int i = 0; i < t->nenc; i++) {
    int64_t trips;
    if (!trips_of(t->enc[i], &trips))
      return err(p, DIAG_RUNTIME, decl->span,
                 "this slice statement reads the array it writes, so NumPy's result needs a "
                 "temporary copy of its right-hand side for each iteration of the parallel loop "
                 "'%s', whose bounds are not constant. Write the result to another array",
                 t->enc[i]->sym->name);
    if (trips == 1)
      continue;
    loops[nl] = t->enc[i];
    shape[nl++] = trips;
  }
  for (int k = 0; k < tmp->ty->rank; k++)
    shape[nl + k] = tmp->ty->shape[k];
  Sym *T = prog_new_temp(p, "tmp", tmp->ty->elem, nl + tmp->ty->rank, shape);
  retarget(p, fill, tmp, T, loops, nl);
  retarget(p, store, tmp, T, loops, nl);
  *moved = true;
  return true;
}

static bool walk(Temps *t, Node **list) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR && s->lhs->sym->slice_temp &&
        s->lhs->sym->first_bind == s) {
      bool moved;
      if (!allocate(t, s, &moved))
        return false;
      if (moved) {
        *link = s->next; /* the host allocates it: no declaration here */
        continue;
      }
    }
    bool par = is_par(s) && t->nenc < MAX_ENCLOSING;
    if (is_par(s) && !par)
      return err(t->p, DIAG_RUNTIME, s->span, "parallel loops are nested too deeply");
    if (par)
      t->enc[t->nenc++] = s;
    bool ok = walk(t, &s->body) && walk(t, &s->then) && walk(t, &s->els);
    if (par)
      t->nenc--;
    if (!ok)
      return false;
    link = &s->next;
  }
  return true;
}

bool place_slice_temps(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next) {
    Temps t = {.p = p, .fn = h};
    if (!walk(&t, &h->body))
      return false;
  }
  Temps t = {.p = p, .fn = p->main};
  return walk(&t, &p->main->body);
}
