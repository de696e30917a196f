/* arena.c - bump allocator.  Chunks grow geometrically; a request larger
 * than a chunk gets a chunk of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct ArenaChunk {
  ArenaChunk *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
};

enum { ARENA_MIN_CHUNK = 64 * 1024 };

void arena_init(Arena *a) {
  a->head = NULL;
  a->used_total = 0;
}

void arena_free(Arena *a) {
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->used_total = 0;
}

static ArenaChunk *new_chunk(size_t need, size_t prev) {
  size_t size = prev * 2;
  if (size < ARENA_MIN_CHUNK)
    size = ARENA_MIN_CHUNK;
  if (size < need)
    size = need;
  ArenaChunk *c = malloc(sizeof(ArenaChunk) + size);
  if (!c) {
    /* Out of memory inside the compiler: nothing sensible can continue. */
    fputs("parpy: out of memory\n", stderr);
    abort();
  }
  c->size = size;
  c->used = 0;
  c->next = NULL;
  return c;
}

void *arena_alloc(Arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0)
    size = 16;
  ArenaChunk *c = a->head;
  if (!c || c->size - c->used < size) {
    ArenaChunk *n = new_chunk(size, c ? c->size : 0);
    n->next = c;
    a->head = c = n;
  }
  void *p = c->data + c->used;
  c->used += size;
  a->used_total += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}
