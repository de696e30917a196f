/* blocks.c - `with parpy.gpu:` at host level becomes a parallel loop of one
 * iteration and one thread, so that it is a kernel like any other root; a
 * gpu block inside parallel code is already on the GPU and dissolves.  A
 * parallel reduction at host level gets the same one-thread loop around it,
 * so that its final combination (target = target op total) runs on the GPU
 * too, and so does the assignment initialising a local it reduces into. */
#include "gpu.h"

static Node *one_thread_loop(Prog *p, Node *body, Span span) {
  Sym *v = fn_temp(p, p->main, "gpu", type_scalar(&p->arena, p->opt.int_size, true));
  v->kind = SYM_LOOP;
  Node *f = new_node(&p->arena, N_FOR, span);
  f->sym = v;
  f->lo = new_int(&p->arena, 0, span);
  f->hi = new_int(&p->arena, 1, span);
  f->lo->ty = f->hi->ty = v->ty;
  f->lo->val.elem = f->hi->val.elem = p->opt.int_size;
  f->step = 1;
  f->par = (LoopPar){1, false, PP_DEFAULT_TPB};
  f->par_outer = true;
  f->body = body;
  return f;
}

/* Inside parallel code: splice the bodies of gpu blocks in place. */
static void dissolve(Node **list) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (s->kind == N_GPU) {
      Node *body = s->body;
      if (!body) {
        *link = s->next;
        continue;
      }
      *list_tail(&body) = s->next;
      *link = body;
      continue; /* the spliced statements are visited next */
    }
    dissolve(&s->body);
    dissolve(&s->then);
    dissolve(&s->els);
    link = &s->next;
  }
}

/* Does a node of the expression `e` satisfy `hit`? */
static bool any_node(const Node *e, bool (*hit)(const Node *, const void *), const void *ctx) {
  if (!e)
    return false;
  if (hit(e, ctx))
    return true;
  const Node *kids[] = {e->lhs, e->rhs, e->cond, e->then, e->els};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (any_node(kids[i], hit, ctx))
      return true;
  for (const Node *a = e->args; a; a = a->next)
    if (any_node(a, hit, ctx))
      return true;
  return false;
}

/* An array element, or a variable that the statement `x` mentions. */
static bool element_or_var_of(const Node *e, const void *x) {
  return e->kind == N_SUBSCRIPT || (e->kind == N_VAR && expr_mentions(x, e->sym));
}

/* `s = e` (`init`) may move after the host statement `x` (to just before a
 * reduction into `s`) when `x` does not mention `s` and `e` reads nothing
 * `x` mentions, so both orders compute the same. */
static bool movable_past(const Node *x, const Node *init) {
  return !expr_mentions(x, init->lhs->sym) && !any_node(init->rhs, element_or_var_of, x);
}

/* The slot of the statement initialising the local `s` that the host-level
 * reduction `red` accumulates into (`s = 0.0` before the loop), or NULL.
 * The host cannot read what a kernel computes, so a local assigned on the
 * host and reduced into on the GPU could not be used in a later kernel
 * (`trace = 0.0`, a reduction into `trace`, then `out[i, :] = a[i, :] +
 * trace`: NPBench's go_fast).  Moving the initialiser into the reduction's
 * one-thread kernel makes the local the GPU's alone. */
static Node **init_link(Node **list, const Node *red) {
  const Node *t = red->red_target;
  if (!t || t->kind != N_VAR || !t->sym->ty || t->sym->ty->kind != TY_SCALAR)
    return NULL;
  Node **found = NULL;
  for (Node **l = list; *l && *l != red; l = &(*l)->next) {
    Node *x = *l;
    if (x->kind == N_ASSIGN && x->lhs->kind == N_VAR && x->lhs->sym == t->sym &&
        !expr_mentions(x->rhs, t->sym))
      found = l;
    else if (found && !movable_past(x, *found))
      found = NULL;
  }
  return found;
}

static void host_level(Prog *p, Node **list) {
  for (Node **link = list; *link; link = &(*link)->next) {
    Node *s = *link;
    if (s->kind == N_GPU) {
      dissolve(&s->body);
      Node *f = one_thread_loop(p, s->body, s->span);
      f->next = s->next;
      *link = f;
      continue;
    }
    if (gpu_is_par(s)) {
      dissolve(&s->body);
      if (s->par.reduce) {
        Node *body = s;
        Node **il = init_link(list, s);
        if (il) { /* unlink the initialiser; find the loop's slot again */
          body = *il;
          *il = body->next;
          body->next = s;
          for (link = list; *link != s; link = &(*link)->next)
            ;
        }
        Node *next = s->next;
        s->next = NULL;
        s->par_outer = false;
        Node *f = one_thread_loop(p, body, s->span);
        f->next = next;
        *link = f;
      }
      continue;
    }
    host_level(p, &s->body);
    host_level(p, &s->then);
    host_level(p, &s->els);
  }
}

/* ---- host assignments of values computed on the GPU ----
 * The host cannot read a local that a kernel computes.  A scalar
 * assignment on the host that reads one (`mean = s / n` after a reduction
 * into `s`) runs instead in a kernel of one thread, with the assignments
 * after it that read what it computes (`sd = sqrt(ss / n - mean * mean)`):
 * the locals they assign are then the GPU's too, kept for later kernels
 * (temps.c).  A host `if`, `while` or loop bound reading such a local stays
 * an error: the host would have to wait for the GPU. */

static void note_gpu_locals(const Node *list, bool *gpu) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR)
      gpu[s->lhs->sym->id] = true;
    note_gpu_locals(s->body, gpu);
    note_gpu_locals(s->then, gpu);
    note_gpu_locals(s->els, gpu);
  }
}

static void note_roots(const Node *list, bool *gpu) {
  for (const Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      note_gpu_locals(s->body, gpu);
      continue;
    }
    note_roots(s->body, gpu);
    note_roots(s->then, gpu);
    note_roots(s->els, gpu);
  }
}

/* A local that a kernel computes (`gpu`: indexed by symbol id). */
static bool gpu_local(const Node *e, const void *gpu) {
  return e->kind == N_VAR && ((const bool *)gpu)[e->sym->id];
}

static bool sinkable(const Node *s, const bool *gpu) {
  return s && s->kind == N_ASSIGN && s->lhs->kind == N_VAR && s->lhs->sym->ty &&
         s->lhs->sym->ty->kind == TY_SCALAR && s->lhs->sym->kind == SYM_LOCAL &&
         any_node(s->rhs, gpu_local, gpu);
}

/* One pass over host code; true when it moved something. */
static bool sink_host(Prog *p, Node **list, bool *gpu) {
  bool moved = false;
  for (Node **link = list; *link; link = &(*link)->next) {
    Node *s = *link;
    if (gpu_is_par(s))
      continue;
    if (sinkable(s, gpu)) {
      Node *last = s;
      gpu[s->lhs->sym->id] = true;
      while (sinkable(last->next, gpu)) {
        last = last->next;
        gpu[last->lhs->sym->id] = true;
      }
      Node *next = last->next;
      last->next = NULL;
      Node *f = one_thread_loop(p, s, s->span);
      f->next = next;
      *link = f;
      moved = true;
      continue;
    }
    moved |= sink_host(p, &s->body, gpu) | sink_host(p, &s->then, gpu) |
             sink_host(p, &s->els, gpu);
  }
  return moved;
}

bool gpu_blocks(Prog *p) {
  host_level(p, &p->main->body);
  bool *gpu = ARENA_ARRAY(&p->arena, bool, p->next_sym_id);
  note_roots(p->main->body, gpu);
  while (sink_host(p, &p->main->body, gpu)) /* a sunk local may feed an earlier statement */
    ;
  return true;
}
