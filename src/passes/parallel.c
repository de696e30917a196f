/* parallel.c - (stub) */
#include "../ast.h"

bool plan_parallel(Prog *p) {
  (void)p;
  return true;
}
