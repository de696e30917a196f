/* slices_alias.c - the slices pass (slices.c): does a slice statement
 * read elements it writes at other positions (y[1:] = y[:-1])?  Then NumPy
 * computes its right-hand side first, into a temporary. */
#include <stdint.h>
#include <string.h>

#include "slices.h"

/* ---- aliasing: y[1:] = y[:-1] ---- */

static const Node *base_of(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  return n;
}

/* Do two views through array variables chosen at run time read the same
 * elements when they name one array?  Only when every binding is a whole
 * array and the subscripts are equal. */
static bool binds_whole(const Node *n, int depth) {
  n = base_of(n);
  if (!n || n->kind != N_VAR || !n->sym->array_ref)
    return true;
  if (depth > 16)
    return false;
  for (int i = 0; i < n->sym->nbinds; i++)
    if (n->sym->binds[i]->kind == N_SUBSCRIPT || !binds_whole(n->sym->binds[i], depth + 1))
      return false;
  return true;
}

static bool same_elements(const Node *a, const Node *b) {
  if (!binds_whole(a, 0) || !binds_whole(b, 0))
    return false;
  const Node *x = a->kind == N_SUBSCRIPT ? a->args : NULL;
  const Node *y = b->kind == N_SUBSCRIPT ? b->args : NULL;
  for (; x && y; x = x->next, y = y->next)
    if (!expr_equal(x, y))
      return false;
  return !x && !y;
}

/* `i` as base + constant (base NULL for a constant), conversions aside. */
static void split_offset(const Node *i, const Node **base, int64_t *c) {
  while (i->kind == N_CONVERT)
    i = i->lhs;
  *base = i;
  *c = 0;
  if (i->kind == N_INT) {
    *base = NULL;
    *c = i->val.i;
  } else if (i->kind == N_BINARY && (i->op == OP_ADD || i->op == OP_SUB) && i->rhs &&
             i->rhs->kind == N_INT && i->rhs->val.i > INT32_MIN && i->rhs->val.i < INT32_MAX) {
    *base = i->lhs;
    *c = i->op == OP_ADD ? i->rhs->val.i : -i->rhs->val.i;
  }
}

static bool uses_slice_vars(Lower *L, const Node *i) {
  for (int k = 0; k < L->nvars; k++)
    if (expr_mentions(i, L->vars[k]))
      return true;
  return false;
}

/* Does the read `e` never touch an element the store `lhs` writes?  True
 * when in some dimension both indices stay fixed during the statement (no
 * slice loop variable in them) and differ by a constant that is not a
 * multiple of the extent: p[:, -1] = p[:, -2], y[:, j] = y[:, j - 1] * 2. */
static bool disjoint(Lower *L, const Node *lhs, const Node *e) {
  const Type *at = base_of(lhs) ? base_of(lhs)->ty : NULL;
  if (lhs->kind != N_SUBSCRIPT || e->kind != N_SUBSCRIPT || !at || at->kind != TY_ARRAY ||
      !binds_whole(lhs, 0) || !binds_whole(e, 0))
    return false;
  int k = 0;
  for (const Node *w = lhs->args, *r = e->args; w && r; w = w->next, r = r->next, k++) {
    if (k >= at->rank || uses_slice_vars(L, w) || uses_slice_vars(L, r))
      continue;
    const Node *bw, *br;
    int64_t cw, cr;
    split_offset(w, &bw, &cw);
    split_offset(r, &br, &cr);
    bool same_base = (!bw && !br) || (bw && br && expr_equal(bw, br));
    int64_t extent = at->shape[k];
    if (same_base && extent > 0 && (cw - cr) % extent != 0)
      return true;
  }
  return false;
}

/* NumPy computes the right-hand side of a slice statement before storing
 * it.  Elementwise that is the same unless the statement reads the array it
 * writes at another element (or, through array variables chosen at run
 * time, may): then the right-hand side goes through a temporary. */
bool overlaps(Lower *L, const Node *lhs, const Node *e) {
  if (!e)
    return false;
  if (e->kind == N_SUBSCRIPT && expr_equal(base_of(e), base_of(lhs)) && !expr_equal(e, lhs) &&
      !disjoint(L, lhs, e))
    return true;
  /* Through array variables chosen at run time the two may be one array
   * (or overlapping views of it); only the same elements are safe. */
  if (e->kind == N_SUBSCRIPT && !expr_equal(base_of(e), base_of(lhs)) &&
      (is_array_ref(e) || is_array_ref(lhs)) && arrays_may_alias(e, lhs) &&
      !same_elements(e, lhs))
    return true;
  if (e->kind == N_SUBSCRIPT) { /* its base was compared above: only the indices */
    for (const Node *a = e->args; a; a = a->next)
      if (overlaps(L, lhs, a))
        return true;
    return false;
  }
  if (overlaps(L, lhs, e->lhs) || overlaps(L, lhs, e->rhs) || overlaps(L, lhs, e->cond) ||
      overlaps(L, lhs, e->then) || overlaps(L, lhs, e->els))
    return true;
  for (const Node *a = e->args; a; a = a->next)
    if (overlaps(L, lhs, a))
      return true;
  return false;
}

bool list_overlaps(Lower *L, const Node *lhs, const Node *list) {
  for (const Node *st = list; st; st = st->next)
    if (overlaps(L, lhs, st->rhs) || overlaps(L, lhs, st->cond) || overlaps(L, lhs, st->lo) ||
        overlaps(L, lhs, st->hi) || list_overlaps(L, lhs, st->body) ||
        list_overlaps(L, lhs, st->then) || list_overlaps(L, lhs, st->els))
      return true;
  return false;
}

int count_loops(const Node *list) {
  int k = 0;
  for (const Node *st = list; st; st = st->next)
    k += (st->kind == N_FOR) + count_loops(st->body) + count_loops(st->then) +
         count_loops(st->els);
  return k;
}

void collect_loops(const Node *list, Sym **out, int *n) {
  for (const Node *st = list; st; st = st->next) {
    if (st->kind == N_FOR)
      out[(*n)++] = st->sym;
    collect_loops(st->body, out, n);
    collect_loops(st->then, out, n);
    collect_loops(st->els, out, n);
  }
}
