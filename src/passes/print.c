/* print.c - (stub) */
#include "../ast.h"

void print_fn(const Fn *f, Buf *out) { buf_printf(out, "def %s(...)\n", f->name); }
void print_expr(const Node *n, Buf *out) {
  (void)n;
  buf_puts(out, "?");
}
