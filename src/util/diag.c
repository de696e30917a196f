/* diag.c - diagnostics and their rendering, in the shape of a Python
 * traceback entry so that users recognise where to look. */
#include <stdio.h>
#include <string.h>

#include "util.h"

void diag_error(Diag *d, Arena *a, DiagKind kind, Span span, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, a, kind, span, fmt, ap);
  va_end(ap);
}

void diag_verror(Diag *d, Arena *a, DiagKind kind, Span span, const char *fmt, va_list ap) {
  if (d->kind != DIAG_NONE)
    return;
  Buf b;
  buf_init(&b);
  buf_vprintf(&b, fmt, ap);
  d->kind = kind;
  d->msg = arena_strdup(a, buf_cstr(&b));
  buf_free(&b);
  d->span = span;
}

/* Find the text of 1-based line `line`; returns its length via *len. */
static const char *find_line(const char *text, int line, size_t *len) {
  const char *p = text;
  for (int l = 1; l < line; l++) {
    p = strchr(p, '\n');
    if (!p)
      return NULL;
    p++;
  }
  const char *e = strchr(p, '\n');
  *len = e ? (size_t)(e - p) : strlen(p);
  return p;
}

void diag_format(const Diag *d, Buf *out) {
  if (d->kind == DIAG_INTERNAL)
    buf_puts(out, "internal compiler error (please report it): ");
  buf_puts(out, d->msg ? d->msg : "unknown error");
  const Source *src = d->span.src;
  if (d->span.line <= 0 || !src)
    return;
  buf_printf(out, "\n\n  File \"%s\", line %d, column %d", src->file ? src->file : "?",
             d->span.line, d->span.col + 1);
  if (src->func)
    buf_printf(out, ", in %s", src->func);
  size_t len;
  const char *text = src->text ? find_line(src->text, d->span.line, &len) : NULL;
  if (!text)
    return;
  /* Strip the common indentation so the excerpt reads like a traceback. */
  size_t skip = 0;
  while (skip < len && (text[skip] == ' ' || text[skip] == '\t'))
    skip++;
  buf_puts(out, "\n    ");
  buf_put(out, text + skip, len - skip);
  int start = d->span.col - (int)skip;
  if (start < 0)
    start = 0;
  int end = d->span.end_line == d->span.line ? d->span.end_col - (int)skip : (int)(len - skip);
  if (end <= start)
    end = start + 1;
  buf_puts(out, "\n    ");
  for (int i = 0; i < start; i++)
    buf_putc(out, ' ');
  for (int i = start; i < end; i++)
    buf_putc(out, '^');
}
