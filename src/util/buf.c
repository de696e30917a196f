/* buf.c - growable strings for printing code, keys and messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void buf_init(Buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_free(Buf *b) {
  free(b->data);
  buf_init(b);
}

void buf_clear(Buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

static void reserve(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap * 2 : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    fputs("parpy: out of memory\n", stderr);
    abort();
  }
  b->data = p;
  b->cap = cap;
}

void buf_put(Buf *b, const void *p, size_t n) {
  reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_putc(Buf *b, char c) { buf_put(b, &c, 1); }

void buf_vprintf(Buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(b, fmt, ap);
  va_end(ap);
}

void buf_indent(Buf *b, int depth) {
  for (int i = 0; i < depth; i++)
    buf_puts(b, "  ");
}

const char *buf_cstr(Buf *b) { return b->data ? b->data : ""; }

char *buf_detach(Buf *b) {
  char *p = b->data;
  if (!p) {
    p = malloc(1);
    if (p)
      p[0] = '\0';
  }
  buf_init(b);
  return p;
}
