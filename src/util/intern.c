/* intern.c - a process-wide open-addressing table of unique strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char **table;
static size_t cap, count;

static void grow(void) {
  size_t ncap = cap ? cap * 2 : 1024;
  const char **nt = calloc(ncap, sizeof *nt);
  if (!nt) {
    fputs("parpy: out of memory\n", stderr);
    abort();
  }
  for (size_t i = 0; i < cap; i++) {
    if (!table[i])
      continue;
    size_t h = fnv1a(table[i], strlen(table[i])) & (ncap - 1);
    while (nt[h])
      h = (h + 1) & (ncap - 1);
    nt[h] = table[i];
  }
  free(table);
  table = nt;
  cap = ncap;
}

const char *intern_n(const char *s, size_t n) {
  if (2 * (count + 1) > cap)
    grow();
  size_t h = fnv1a(s, n) & (cap - 1);
  while (table[h]) {
    if (strncmp(table[h], s, n) == 0 && table[h][n] == '\0')
      return table[h];
    h = (h + 1) & (cap - 1);
  }
  char *p = malloc(n + 1);
  if (!p) {
    fputs("parpy: out of memory\n", stderr);
    abort();
  }
  memcpy(p, s, n);
  p[n] = '\0';
  table[h] = p;
  count++;
  return p;
}

const char *intern(const char *s) { return intern_n(s, strlen(s)); }
