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

const char *diag_line(const char *text, int line, size_t *len) {
  return text && line > 0 ? find_line(text, line, len) : NULL;
}

/* Excerpts of statements longer than this show their first lines and "...". */
enum { MAX_EXCERPT_LINES = 8 };

static size_t indent_of(const char *text, size_t len) {
  size_t n = 0;
  while (n < len && (text[n] == ' ' || text[n] == '\t'))
    n++;
  return n;
}

/* One line of the excerpt, without `skip` columns of indentation, and the
 * carets under columns [start, end) of the original line. */
static void excerpt_line(Buf *out, const char *text, size_t len, size_t skip, int start,
                         int end) {
  if (skip > indent_of(text, len))
    skip = indent_of(text, len);
  buf_puts(out, "\n    ");
  buf_put(out, text + skip, len - skip);
  start -= (int)skip;
  end -= (int)skip;
  if (start < 0)
    start = 0;
  if (end <= start)
    end = start + 1;
  buf_puts(out, "\n    ");
  for (int i = 0; i < start; i++)
    buf_putc(out, ' ');
  for (int i = start; i < end; i++)
    buf_putc(out, '^');
}

void diag_format(const Diag *d, Buf *out) {
  if (d->kind == DIAG_INTERNAL)
    buf_puts(out, "internal compiler error (please report it): ");
  buf_puts(out, d->msg ? d->msg : "unknown error");
  const Source *src = d->span.src;
  if (d->span.line <= 0 || !src)
    return;
  int first = d->span.line, last = d->span.end_line > first ? d->span.end_line : first;
  /* A statement over several lines is shown whole, as 0.1.3 did ("lines A-B"). */
  if (last > first)
    buf_printf(out, "\n\n  File \"%s\", lines %d-%d, column %d", src->file ? src->file : "?",
               first, last, d->span.col + 1);
  else
    buf_printf(out, "\n\n  File \"%s\", line %d, column %d", src->file ? src->file : "?", first,
               d->span.col + 1);
  if (src->func)
    buf_printf(out, ", in %s", src->func);
  size_t len;
  const char *text = src->text ? find_line(src->text, first, &len) : NULL;
  if (!text)
    return;
  /* Strip the first line's indentation so the excerpt reads like a traceback. */
  size_t skip = indent_of(text, len);
  for (int l = first; l <= last; l++) {
    if (l > first && !(text = find_line(src->text, l, &len)))
      return;
    if (l - first == MAX_EXCERPT_LINES && l < last) {
      buf_printf(out, "\n    ... (%d more lines)", last - l + 1);
      return;
    }
    int start = l == first ? d->span.col : (int)indent_of(text, len);
    int end = l == last ? d->span.end_col : (int)len;
    excerpt_line(out, text, len, skip, start, end);
  }
}
