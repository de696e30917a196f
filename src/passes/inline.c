/* inline.c - replace statement calls of jit functions (N_INLINE) by the
 * callee's body, resolved in the caller with its parameters standing for the
 * arguments.  Inlined bodies may hold further calls; they are expanded in
 * turn.  `chain` holds the functions being expanded, to catch recursion
 * before it explodes. */
#include "../ast.h"

enum { MAX_INLINE_DEPTH = 64 };

typedef struct Chain {
  Func *funcs[MAX_INLINE_DEPTH];
  int depth;
} Chain;

static bool inline_block(Prog *p, Fn *fn, Node **list, Chain *c);

static bool inline_children(Prog *p, Fn *fn, Node *s, Chain *c) {
  return inline_block(p, fn, &s->body, c) && inline_block(p, fn, &s->then, c) &&
         inline_block(p, fn, &s->els, c);
}

static bool inline_block(Prog *p, Fn *fn, Node **list, Chain *c) {
  for (Node **link = list; *link;) {
    Node *s = *link;
    if (s->kind != N_INLINE) {
      if (!inline_children(p, fn, s, c))
        return false;
      link = &s->next;
      continue;
    }
    for (int i = 0; i < c->depth; i++)
      if (c->funcs[i] == s->func)
        return err(p, DIAG_RUNTIME, s->span, "'%s' calls itself; recursion is not supported",
                   s->func->name);
    if (c->depth == MAX_INLINE_DEPTH)
      return err(p, DIAG_RUNTIME, s->span, "calls of jit functions nest more than %d deep",
                 MAX_INLINE_DEPTH);
    Node *body = resolve_inlined(p, fn, s->func, s->args, s->span);
    if (failed(p))
      return false;
    c->funcs[c->depth++] = s->func;
    bool ok = inline_block(p, fn, &body, c);
    c->depth--;
    if (!ok)
      return false;
    /* Splice the body in place of the call. */
    Node *next = s->next;
    if (!body) {
      *link = next;
      continue;
    }
    *link = body;
    Node **tail = list_tail(link);
    *tail = next;
    link = tail;
  }
  return true;
}

bool inline_calls(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next) {
    Chain c = {.funcs = {h->src}, .depth = 1};
    if (!inline_block(p, h, &h->body, &c))
      return false;
  }
  Chain c = {.funcs = {p->func}, .depth = 1};
  return inline_block(p, p->main, &p->main->body, &c);
}
