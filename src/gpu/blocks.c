/* blocks.c - `with parpy.gpu:` at host level becomes a parallel loop of one
 * iteration and one thread, so that it is a kernel like any other root; a
 * gpu block inside parallel code is already on the GPU and dissolves.  A
 * parallel reduction at host level gets the same one-thread loop around it,
 * so that its final combination (target = target op total) runs on the GPU
 * too. */
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
        Node *next = s->next;
        s->next = NULL;
        s->par_outer = false;
        Node *f = one_thread_loop(p, s, s->span);
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

bool gpu_blocks(Prog *p) {
  host_level(p, &p->main->body);
  return true;
}
