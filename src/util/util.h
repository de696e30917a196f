/* util.h - the utility layer: arenas, string buffers, interned names,
 * diagnostics, hashing.  Plain C11, no CPython.  Every other layer builds on
 * these; nothing here knows about Python or about the compiler's trees. */
#ifndef PARPY_UTIL_H
#define PARPY_UTIL_H

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define PP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PP_PRINTF(a, b)
#endif

/* ---- arena.c: bump allocation, freed all at once ------------------------
 * A compilation allocates every tree, type and string in one arena and frees
 * it in one call; nothing is freed node by node. */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *head;
  size_t used_total;
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t size); /* zeroed, 16-byte aligned */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) PP_PRINTF(2, 3);
#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* ---- buf.c: growable byte strings (malloc'd) ----------------------------- */
typedef struct Buf {
  char *data; /* always NUL-terminated when len > 0 or after buf_cstr */
  size_t len, cap;
} Buf;

void buf_init(Buf *b);
void buf_free(Buf *b);
void buf_clear(Buf *b);
void buf_put(Buf *b, const void *p, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) PP_PRINTF(2, 3);
void buf_vprintf(Buf *b, const char *fmt, va_list ap);
void buf_indent(Buf *b, int depth); /* two spaces per level */
const char *buf_cstr(Buf *b);         /* "" for an empty buffer */
char *buf_detach(Buf *b);             /* caller frees; buffer is reset */

/* ---- intern.c: process-wide interned names -------------------------------
 * Names are compared by pointer.  The table lives for the whole process
 * (names are few and shared by every compilation). */
/* The "C" locale (locale.c), for uselocale around printf/strtod of numbers;
 * (locale_t)0 if it cannot be made, which uselocale reads as "no change". */
locale_t c_locale(void);

const char *intern(const char *s);
const char *intern_n(const char *s, size_t n);

/* ---- diag.c: diagnostics ---------------------------------------------------
 * The first error of a compilation stops it and becomes a Python exception
 * of the matching kind.  Spans are absolute file positions: 1-based lines,
 * 0-based columns (as CPython's ast reports them). */

typedef enum DiagKind {
  DIAG_NONE,
  DIAG_RUNTIME, /* RuntimeError: structure, unsupported constructs */
  DIAG_TYPE,    /* TypeError: types, arity, kinds of arguments */
  DIAG_NAME,    /* NameError: unknown names */
  DIAG_VALUE,   /* ValueError: bad values (options, shapes, bounds) */
  DIAG_TYPE_RT,  /* TypeError that is also a RuntimeError: 0.1.3 raised RuntimeError */
  DIAG_VALUE_RT, /* ValueError that is also a RuntimeError, likewise */
  DIAG_NAME_RT,  /* NameError that is also a RuntimeError, likewise */
  /* failed run-time checks of the debug mode (passes/checks.c) */
  DIAG_INDEX,    /* IndexError: an index out of bounds */
  DIAG_ZERO_DIV, /* ZeroDivisionError: integer division or modulo by zero */
  DIAG_OVERFLOW, /* OverflowError: a float out of an integer type's range */
  DIAG_RACE,     /* RuntimeError: two iterations of a parallel loop wrote one element */
  DIAG_INTERNAL /* a compiler bug: RuntimeError with "internal error" */
} DiagKind;

/* Where the source text of the function being compiled lives, so that an
 * error can quote the line and put a caret under the construct. */
typedef struct Source {
  const char *file;  /* path as Python reports it */
  const char *func;  /* function name, for "in f" */
  const char *text;  /* the whole file text, or NULL if unreadable */
} Source;

/* A source range; `src` says which function's file it is in (a span of an
 * inlined callee points into the callee's file). */
typedef struct Span {
  int line, col, end_line, end_col;
  const Source *src;
} Span;

typedef struct Diag {
  DiagKind kind;
  char *msg;       /* arena-allocated message, without position */
  Span span;       /* line == 0 or src == NULL: no position */
} Diag;

/* Report an error.  Only the first report sticks; later ones are ignored so
 * that a pass may keep walking after an error without caring. */
void diag_error(Diag *d, Arena *a, DiagKind kind, Span span, const char *fmt, ...)
    PP_PRINTF(5, 6);
void diag_verror(Diag *d, Arena *a, DiagKind kind, Span span, const char *fmt, va_list ap);
/* Render "message\n\n  File "f", line L, column C, in fn\n    source\n    ^^^" */
void diag_format(const Diag *d, Buf *out);
/* Line `line` (1-based) of `text` and its length, or NULL. */
const char *diag_line(const char *text, int line, size_t *len);

/* ---- hash.c: SHA-256 (disk cache keys) and FNV-1a (in-memory tables) ---- */
typedef struct Sha256 {
  uint32_t h[8];
  uint64_t len;
  unsigned char block[64];
  size_t fill;
} Sha256;
void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *p, size_t n);
void sha256_final(Sha256 *s, unsigned char out[32]);
void sha256_hex(const void *p, size_t n, char out[65]);
uint64_t fnv1a(const void *p, size_t n);

#define PP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
