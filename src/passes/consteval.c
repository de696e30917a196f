/* consteval.c - (stub) */
#include "../ast.h"

bool const_eval(const Node *n, Value *out) {
  (void)n;
  (void)out;
  return false;
}

bool const_int(const Node *n, int64_t *out) {
  (void)n;
  (void)out;
  return false;
}
