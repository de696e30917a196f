/* slices.h - what the files of the slices pass share (slices.c: statements;
 * slices_expr.c: array expressions and reductions as scalar code;
 * slices_alias.c: does a slice statement read what it writes?).  Nothing
 * else includes it: the pass itself is lower_slices() of ast.h. */
#ifndef PARPY_SLICES_H
#define PARPY_SLICES_H

#include <stdint.h>

#include "../ast.h"

typedef struct Lower {
  Prog *p;
  Fn *fn;
  Labels red_labels; /* for the axis reduction of the statement being lowered */
  Sym **vars;        /* the loop variables of the slice statement being lowered */
  int nvars;
} Lower;

/* Where a scalarised expression's helper statements go: `outer` before the
 * whole loop nest of the statement, `inner` just before the element is used. */
typedef struct Pre {
  Node **outer;
  Node **inner;
  /* Inside the loop of a reduction along an axis: where statements go that
   * run before that loop (a keepdims reduction along the same axis, the
   * mean of var(x, axis=k), is computed there once, not per element). */
  Node ***before; /* the enclosing Pre's `inner` */
} Pre;

static inline Arena *A(Lower *L) { return &L->p->arena; }
static inline bool is_array(const Type *t) { return t && t->kind == TY_ARRAY; }

static inline Type *int_type(Lower *L) { return type_scalar(A(L), L->p->opt.int_size, true); }

static inline Node *lit(Lower *L, int64_t v, Span span) {
  Node *n = new_int(A(L), v, span);
  n->val.elem = L->p->opt.int_size;
  n->ty = int_type(L);
  return n;
}

static inline Node *binop(Lower *L, Op op, Node *a, Node *b, Type *ty) {
  Node *n = new_node(A(L), N_BINARY, a->span);
  n->op = op;
  n->lhs = a;
  n->rhs = b;
  n->ty = ty;
  return n;
}

static inline void append(Node ***tail, Node *s) {
  **tail = s;
  while (s->next)
    s = s->next;
  *tail = &s->next;
}

static inline Node *new_loop(Lower *L, Sym *v, int64_t extent, Node *body, Span span) {
  Node *f = new_node(A(L), N_FOR, span);
  f->sym = v;
  f->lo = lit(L, 0, span);
  f->hi = lit(L, extent, span);
  f->step = 1;
  f->body = body;
  return f;
}

static inline Sym *loop_var(Lower *L, const char *name) {
  Sym *s = fn_temp(L->p, L->fn, name, int_type(L));
  s->kind = SYM_LOOP;
  return s;
}

/* start + step * i, without the trivial parts. */
static inline Node *affine(Lower *L, int64_t start, int64_t step, Node *i) {
  Node *e = i;
  if (step != 1)
    e = binop(L, OP_MUL, lit(L, step, i->span), e, int_type(L));
  if (start != 0)
    e = binop(L, OP_ADD, lit(L, start, i->span), e, int_type(L));
  return e;
}

/* slices_expr.c: expressions. */
Node *assign(Lower *L, Node *lhs, Node *rhs);
Node *scalarise(Lower *L, Node *e, Node **idx, const int64_t *ext, int n, Pre *pre);
bool is_reduction(const Node *n);
bool hoist_labelled(Lower *L, Node **np, Node ***outer, Labels labels, Sym *into);
bool hoist(Lower *L, Node **np, Node ***outer);
int count_reductions(const Node *n);
int count_outer_reductions(const Node *n);

/* slices_alias.c: aliasing. */
bool overlaps(Lower *L, const Node *lhs, const Node *e);
bool list_overlaps(Lower *L, const Node *lhs, const Node *list);
int count_loops(const Node *list);
void collect_loops(const Node *list, Sym **out, int *n);

#endif
