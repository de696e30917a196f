/* privatise.c - histograms in shared memory (Cuda): the atomic updates of a
 * kernel that go to a small array go to a copy of it in the block's shared
 * memory instead, and each block adds its copy to the array at the end with
 * one atomic update per element.
 *
 * `hist[b[i]] += 1` in a .reduce() loop is one global atomic per element of
 * the input, and with few bins every thread of the GPU fights over the same
 * few addresses.  The textbook kernel (and torch.bincount) counts in shared
 * memory, where atomics are cheap, and merges per block.  This does the
 * same whenever it is correct:
 *   - every use of the array in the kernel is an atomic `+=` (no read, no
 *     other write, no other operator), so the order of the additions is all
 *     that changes: exact for integers (wrap-around addition is
 *     associative), and the usual atomic nondeterminism for floats;
 *   - the array (its size is known: shapes are specialised) fits in a few
 *     KiB of shared memory;
 *   - the kernel does at least as many updates per block as the array has
 *     elements, when that can be counted (otherwise the merge would cost
 *     more than the contention it saves).
 * Shared memory has native atomic addition only for 32-bit integers (64-bit
 * integer and float additions there are compare-and-swap loops), so a
 * 64-bit integer count is kept in 32 bits when the number of updates per
 * block times the largest value added fits: `+= 1` of 2^28 elements on a
 * few thousand threads easily does.  8- and 16-bit counts are kept in 32
 * bits too (their sum wraps alike modulo 2^8 or 2^16) when the values added
 * are integers.
 *
 * The printer (cuda.c) declares the copy, zeroes it, and merges it around
 * the kernel's body, with a barrier on each side.
 *
 * On by default since it ran on an H200 (2026-12-02: a 256-bin histogram of
 * 16M bytes in 34-52 us, a hand-written CuPy kernel 39 us, torch.bincount
 * 140 us); PARPY_CUDA_SHARED_HISTOGRAMS=0 turns it off.  The printed code
 * differs, so the disk cache, keyed by the code, keeps the two apart. */
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

enum {
  SHARED_PER_ARRAY = 16 * 1024, /* bytes: small enough to keep several blocks per SM */
  SHARED_PER_KERNEL = 32 * 1024 /* static shared memory is at most 48 KiB */
};

static const Node *peel(const Node *n) {
  while (n && n->kind == N_CONVERT)
    n = n->lhs;
  return n;
}

/* The array an atomic update writes, when it is a whole argument array. */
static Sym *atomic_target(const Node *s) {
  const Node *t = s->lhs;
  if (!s->atomic || t->kind != N_SUBSCRIPT || !t->lhs || t->lhs->kind != N_VAR)
    return NULL;
  Sym *a = t->lhs->sym;
  if (a->kind != SYM_PARAM || !a->ty || a->ty->kind != TY_ARRAY || a->alias || a->array_ref)
    return NULL;
  return a;
}

static bool any_mentions(const Node *list, const Sym *a) {
  for (const Node *n = list; n; n = n->next)
    if (expr_mentions(n, a))
      return true;
  return false;
}

/* Is every use of `a` in the statements `list` an atomic add into it? */
static bool only_adds(const Node *list, const Sym *a) {
  for (const Node *s = list; s; s = s->next) {
    if (atomic_target(s) == a) {
      const Node *u = peel(s->rhs);
      if (s->op != OP_ADD || a->ty->elem == EL_BOOL || any_mentions(s->lhs->args, a) ||
          expr_mentions(u->rhs, a))
        return false;
      continue;
    }
    switch (s->kind) {
    case N_FOR:
      if (expr_mentions(s->lo, a) || expr_mentions(s->hi, a) || !only_adds(s->body, a))
        return false;
      break;
    case N_WHILE:
    case N_IF:
      if (expr_mentions(s->cond, a) || !only_adds(s->body, a) || !only_adds(s->then, a) ||
          !only_adds(s->els, a))
        return false;
      break;
    case N_BLOCK:
    case N_GPU:
      if (!only_adds(s->body, a))
        return false;
      break;
    default:
      if (expr_mentions(s, a))
        return false;
    }
  }
  return true;
}

/* An upper bound of the updates of `a` one thread makes in `list`, each
 * loop counted by the iterations a thread runs; false when unknown (a while
 * loop, bounds known only at run time) or absurdly large. */
static bool updates_per_thread(const Kernel *k, const Node *list, const Sym *a, int64_t *n) {
  const int64_t cap = (int64_t)1 << 40;
  int64_t total = 0;
  for (const Node *s = list; s; s = s->next) {
    int64_t sub = 0, sub2 = 0, trips;
    switch (s->kind) {
    case N_ASSIGN: sub = atomic_target(s) == a; break;
    case N_FOR:
      if (!gpu_trips(s, &trips) || !updates_per_thread(k, s->body, a, &sub))
        return false;
      if (s->par.nthreads > 0 && !s->all_threads) {
        int64_t T = k->layers[s->layer].T;
        trips = (trips + T - 1) / T;
      }
      if (sub && trips > cap / sub)
        return false;
      sub *= trips;
      break;
    case N_WHILE:
      /* a count that cannot be bounded */
      if (!updates_per_thread(k, s->body, a, &sub) || sub)
        return false;
      break;
    case N_IF:
      if (!updates_per_thread(k, s->then, a, &sub) || !updates_per_thread(k, s->els, a, &sub2))
        return false;
      sub += sub2;
      break;
    case N_BLOCK:
    case N_GPU:
      if (!updates_per_thread(k, s->body, a, &sub))
        return false;
      break;
    default: break;
    }
    total += sub;
    if (total > cap)
      return false;
  }
  *n = total;
  return true;
}

/* The largest magnitude of a value added, and whether it may be negative:
 * false unless it is an integer known to be small (a literal, or an
 * element of a type of at most 16 bits, maybe widened). */
static bool value_bound(const Node *v, int64_t *mag, bool *neg) {
  int64_t c;
  if (const_int(v, &c) && v->ty && !elem_is_float(v->ty->elem)) {
    *neg = c < 0;
    *mag = c < 0 ? (c == INT64_MIN ? INT64_MAX : -c) : c;
    return true;
  }
  while (v->kind == N_CONVERT && v->ty && v->lhs->ty && !elem_is_float(v->lhs->ty->elem) &&
         elem_size(v->lhs->ty->elem) <= elem_size(v->ty->elem))
    v = v->lhs;
  if (!v->ty || v->ty->kind != TY_SCALAR)
    return false;
  Elem e = v->ty->elem;
  *neg = elem_is_signed(e);
  switch (e) {
  case EL_BOOL: *mag = 1; return true;
  case EL_U8: *mag = 255; return true;
  case EL_I8: *mag = 128; return true;
  case EL_U16: *mag = 65535; return true;
  case EL_I16: *mag = 32768; return true;
  default: return false;
  }
}

/* Are all the values added to `a` integers (of any width)? */
static bool int_values(const Node *list, const Sym *a) {
  for (const Node *s = list; s; s = s->next) {
    if (atomic_target(s) == a) {
      const Node *v = peel(s->rhs)->rhs;
      while (v->kind == N_CONVERT && v->ty && !elem_is_float(v->ty->elem))
        v = v->lhs;
      if (!v->ty || elem_is_float(v->ty->elem))
        return false;
    }
    if (!int_values(s->body, a) || !int_values(s->then, a) || !int_values(s->els, a))
      return false;
  }
  return true;
}

/* The bound of every value added to `a`: false if one is not bounded. */
static bool values_bound(const Node *list, const Sym *a, int64_t *mag, bool *neg) {
  for (const Node *s = list; s; s = s->next) {
    if (atomic_target(s) == a) {
      int64_t m;
      bool n;
      if (!value_bound(peel(s->rhs)->rhs, &m, &n))
        return false;
      *mag = m > *mag ? m : *mag;
      *neg |= n;
    }
    if (!values_bound(s->body, a, mag, neg) || !values_bound(s->then, a, mag, neg) ||
        !values_bound(s->els, a, mag, neg))
      return false;
  }
  return true;
}

/* The type of the shared copy's elements (EL_COUNT: keep it global). */
static Elem counter_type(const Kernel *k, const Sym *a, bool counted, int64_t per_block) {
  Elem e = a->ty->elem;
  switch (e) {
  case EL_I32:
  case EL_U32:
  case EL_F16:
  case EL_F32:
  case EL_F64: return e;
  case EL_I8:
  case EL_I16:
  case EL_U8:
  case EL_U16: return int_values(k->root->body, a) ? EL_U32 : EL_COUNT;
  case EL_I64:
  case EL_U64: {
    int64_t mag = 0;
    bool neg = false;
    if (counted && values_bound(k->root->body, a, &mag, &neg) &&
        (mag == 0 || per_block <= (neg ? INT32_MAX : UINT32_MAX) / mag))
      return neg ? EL_I32 : EL_U32;
    return e;
  }
  default: return EL_COUNT;
  }
}

/* Point every atomic update of `a` in `list` at the shared copy. */
static void retarget(Prog *p, Node *list, const Sym *a, Sym *copy) {
  for (Node *s = list; s; s = s->next) {
    if (atomic_target(s) == a) {
      Node *t = clone_node(&p->arena, s->lhs);
      t->lhs = new_var(p, copy, t->lhs->span);
      t->ty = type_scalar(&p->arena, copy->ty->elem, false);
      s->lhs = t;
    }
    retarget(p, s->body, a, copy);
    retarget(p, s->then, a, copy);
    retarget(p, s->els, a, copy);
  }
}

static void collect(Node *list, Sym **found, int *n, int max) {
  for (Node *s = list; s; s = s->next) {
    Sym *a = atomic_target(s);
    bool seen = !a;
    for (int i = 0; i < *n && !seen; i++)
      seen = found[i] == a;
    if (!seen && *n < max)
      found[(*n)++] = a;
    collect(s->body, found, n, max);
    collect(s->then, found, n, max);
    collect(s->els, found, n, max);
  }
}

static void privatise_kernel(Prog *p, Kernel *k) {
  Sym *found[8];
  int n = 0;
  collect(k->root->body, found, &n, 8);
  int64_t used = 0;
  for (int i = 0; i < n; i++) {
    Sym *a = found[i];
    int64_t numel = type_numel(a->ty);
    if (numel <= 0 || !only_adds(k->root->body, a))
      continue;
    int64_t per_thread = 0;
    Node root = *k->root; /* the root loop itself (its iterations per thread), alone */
    root.next = NULL;
    bool counted = updates_per_thread(k, &root, a, &per_thread);
    int64_t per_block = counted ? per_thread * k->tpb : 0;
    if (counted && per_block < numel)
      continue;
    Elem ce = counter_type(k, a, counted, per_block);
    if (ce == EL_COUNT)
      continue;
    int64_t bytes = numel * elem_size(ce);
    if (bytes > SHARED_PER_ARRAY || used + bytes > SHARED_PER_KERNEL)
      continue;
    used += bytes;
    Sym *copy = fn_temp(p, p->main, arena_printf(&p->arena, "%s_block", a->name),
                        type_array(&p->arena, ce, a->ty->rank, a->ty->shape));
    retarget(p, k->root->body, a, copy);
    GpuPrivate *pv = ARENA_ARRAY(&p->arena, GpuPrivate, k->nprivate + 1);
    if (k->nprivate)
      memcpy(pv, k->privates, sizeof *pv * (size_t)k->nprivate);
    pv[k->nprivate++] = (GpuPrivate){.global = a, .copy = copy, .numel = numel};
    k->privates = pv;
  }
}

static bool enabled(void) {
  const char *env = getenv("PARPY_CUDA_SHARED_HISTOGRAMS");
  return !env || strcmp(env, "0") != 0;
}

bool gpu_privatise(Prog *p) {
  if (p->opt.backend != BACKEND_CUDA || !enabled())
    return true;
  for (Kernel *k = p->kernels; k; k = k->next)
    privatise_kernel(p, k);
  return true;
}
