/* promote.c - (stub) */
#include "../ast.h"

Elem promote_elem(Elem a, Elem b) { return a > b ? a : b; }
Type *promote(Arena *a, const Type *x, const Type *y) {
  return type_scalar(a, promote_elem(x->elem, y->elem), x->weak && y->weak);
}
