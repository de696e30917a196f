/* signature.c - (stub) */
#include "target.h"

void sig_format(const char *const *names, const ArgSpec *specs, int n, Buf *out) {
  (void)names; (void)specs; (void)n; (void)out;
}
bool sig_parse(const char *text, Arena *a, const char ***names, ArgSpec **specs, int *n, Diag *d) {
  (void)text; (void)a; (void)names; (void)specs; (void)n; (void)d;
  return false;
}
void sig_key(const ArgSpec *specs, int n, Buf *out) { (void)specs; (void)n; (void)out; }
int sig_nslots(const ArgSpec *specs, int n) { (void)specs; return n; }
