/* check.c - what the Metal target refuses, after the GPU lowering has
 * decided which code runs on the device.
 *
 * Metal has no double-precision floating point: float64 anywhere in a
 * kernel, or in a helper function a kernel calls, is a TypeError at the
 * first place it shows.  The host code may use float64 (it is C++).
 * bfloat16 is refused anywhere: MSL has `bfloat` only from Metal 3.1 on,
 * and the Metal printer does not target it. */
#include "metal.h"

static const char *const no_f64 =
    "Metal does not support double-precision floating-point numbers (float64); use float32, "
    "or parpy.CompileBackend.Cpu";

static bool is_f64(const Type *t) {
  return t && (t->kind == TY_SCALAR || t->kind == TY_ARRAY || t->kind == TY_POINTER) &&
         t->elem == EL_F64;
}

/* The first node of the tree `n` (and its statement lists) typed float64. */
static const Node *find_f64(const Node *n) {
  for (; n; n = n->next) {
    if (is_f64(n->ty) || (n->sym && is_f64(n->sym->ty)))
      return n;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->partial_at,
                          n->args, n->body, n->then, n->els};
    for (size_t i = 0; i < PP_COUNT(kids); i++) {
      const Node *hit = find_f64(kids[i]);
      if (hit)
        return hit;
    }
  }
  return NULL;
}

/* Adds to `set` the helpers the tree `n` calls, directly or not. */
static void called_fns(const Node *n, Fn **set, int *count, int max) {
  for (; n; n = n->next) {
    if (n->kind == N_FUNCALL) {
      bool seen = false;
      for (int i = 0; i < *count && !seen; i++)
        seen = set[i] == n->fn;
      if (!seen && *count < max) {
        set[(*count)++] = n->fn;
        called_fns(n->fn->body, set, count, max);
      }
    }
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->partial_at,
                          n->args, n->body, n->then, n->els};
    for (size_t i = 0; i < PP_COUNT(kids); i++)
      called_fns(kids[i], set, count, max);
  }
}

int metal_device_fns(Prog *p, Fn **set, int max) {
  int count = 0;
  for (Kernel *k = p->kernels; k; k = k->next) {
    Node root = *k->root;
    root.next = NULL;
    called_fns(&root, set, &count, max);
  }
  return count;
}

/* A view of an array bound in host code (row = x[i], chosen at run time):
 * the host holds buffers, not addresses into them. */
static const Node *host_view(const Node *s) {
  for (; s; s = s->next) {
    if (s->kind == N_FOR && s->kernel)
      continue;
    if (s->kind == N_ASSIGN && s->rhs && s->rhs->kind == N_SUBSCRIPT && s->rhs->ty &&
        s->rhs->ty->kind == TY_ARRAY)
      return s;
    const Node *lists[] = {s->body, s->then, s->els};
    for (size_t i = 0; i < PP_COUNT(lists); i++) {
      const Node *hit = host_view(lists[i]);
      if (hit)
        return hit;
    }
  }
  return NULL;
}

/* An atomic update (a scatter update of a .reduce() loop) of a 64-bit
 * element: Metal's compare-and-swap works on 32-bit words only. */
static const Node *wide_atomic(const Node *s) {
  for (; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->atomic && s->lhs->ty && elem_size(s->lhs->ty->elem) > 4)
      return s;
    const Node *lists[] = {s->body, s->then, s->els};
    for (size_t i = 0; i < PP_COUNT(lists); i++) {
      const Node *hit = wide_atomic(lists[i]);
      if (hit)
        return hit;
    }
  }
  return NULL;
}

bool metal_check(Prog *p) {
  const Sym *bf = first_bf16_sym(p);
  if (bf)
    return err(p, DIAG_TYPE, p->func->span,
               "'%s' is bfloat16, which the Metal backend does not support (MSL has bfloat "
               "only from Metal 3.1 on); convert it to float32 or float16, or use "
               "parpy.CompileBackend.Cpu or Cuda", bf->name);
  for (Kernel *k = p->kernels; k; k = k->next) {
    Node root = *k->root;
    root.next = NULL;
    const Node *hit = wide_atomic(&root);
    if (hit) {
      Buf t;
      buf_init(&t);
      type_str(hit->lhs->ty, &t);
      err(p, DIAG_TYPE, hit->span,
          "the Metal backend does atomic updates of elements of at most 32 bits, not %s: "
          "Metal has no 64-bit compare-and-swap",
          buf_cstr(&t));
      buf_free(&t);
      return false;
    }
  }
  const Node *view = host_view(p->main->body);
  if (view)
    return err(p, DIAG_RUNTIME, view->rhs->span,
               "the Metal backend cannot bind a view of an array in host code (its arrays are "
               "Metal buffers); bind the whole array, or do it inside parallel code");
  for (Kernel *k = p->kernels; k; k = k->next) {
    for (int i = 0; i < k->nparams; i++)
      if (is_f64(k->params[i]->ty))
        return err(p, DIAG_TYPE, k->params[i]->span, "%s", no_f64);
    Node root = *k->root;
    root.next = NULL;
    const Node *hit = find_f64(&root);
    if (hit)
      return err(p, DIAG_TYPE, hit->span, "%s", no_f64);
  }
  Fn *fns[256];
  int n = metal_device_fns(p, fns, 256);
  for (int i = 0; i < n; i++) {
    const Node *hit = find_f64(fns[i]->body);
    if (hit) /* (a float64 parameter shows in the arguments of the call) */
      return err(p, DIAG_TYPE, hit->span, "%s", no_f64);
  }
  return true;
}
