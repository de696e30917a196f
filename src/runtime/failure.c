/* failure.c - the error of a call whose entry returned non-zero: the
 * library's message, or, for code built in debug mode, the failed check
 * with its kind and Python position (parpy_debug.h, passes/checks.c). */
#include "internal.h"

/* The DiagKind of parpy_debug.h's PARPY_DBG_* kinds. */
static DiagKind check_kind(int32_t kind) {
  switch (kind) {
  case 1: return DIAG_INDEX;
  case 2: return DIAG_RACE;
  case 3: return DIAG_ZERO_DIV;
  case 4: return DIAG_OVERFLOW;
  case 5: return DIAG_VALUE; /* NaN to an integer: ValueError, as in Python */
  default: return DIAG_RUNTIME;
  }
}

void rt_entry_error(const Library *lib, int32_t rc, const char *fname, Diag *d, Arena *a) {
  const char *msg = lib->error ? lib->error() : NULL;
  const char *file = NULL, *func = NULL, *source = NULL;
  int32_t pos[3] = {0, 0, 0};
  int32_t kind = lib->error_at ? lib->error_at(&file, &func, pos, &source) : 0;
  if (kind && msg && pos[0] > 0) {
    /* diag_format quotes line `line` of the text: put the line there. */
    Source *src = ARENA_NEW(a, Source);
    Buf text;
    buf_init(&text);
    for (int i = 1; i < pos[0]; i++)
      buf_putc(&text, '\n');
    buf_puts(&text, source ? source : "");
    *src = (Source){.file = arena_strdup(a, file ? file : "?"),
                    .func = func ? arena_strdup(a, func) : NULL,
                    .text = arena_strdup(a, buf_cstr(&text))};
    buf_free(&text);
    Span at = {.line = pos[0], .col = pos[1], .end_line = pos[0], .end_col = pos[2], .src = src};
    diag_error(d, a, check_kind(kind), at, "%s: %s", fname, msg);
  } else if (msg && msg[0]) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s failed: %s", fname, msg);
  } else {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "the compiled code of %s failed with error code %d",
               fname, (int)rc);
  }
}
