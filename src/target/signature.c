/* signature.c - the specialisation a library was built for, as text (stored
 * in every library as <f>__signature) and as a compact binary key (the
 * in-memory cache of a jitted function).
 *
 * Conventions for the scalar values of an ArgSpec (what sig_parse produces):
 * ARG_INT holds val.i with val.elem EL_I64, ARG_FLOAT val.f with EL_F64,
 * ARG_BOOL val.b with EL_BOOL; ARG_SCALAR holds its value in the member of
 * its elem (b, i, u or f; f16/f32 values widened to double), val.elem = elem.
 *
 * A NumPy bool scalar prints as `bool_=1`: `bool=1` is the Python bool, and
 * the two type differently (True + True is 2, np.True_ + np.True_ is True). */
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

enum { MAX_DEPTH = 32 }; /* nested dicts; deeper text is refused, not recursed */

/* ---- text form ----------------------------------------------------------- */

static bool is_plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static const char hexdig[] = "0123456789ABCDEF";

static void put_name(Buf *out, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (is_plain(*p)) {
      buf_putc(out, (char)*p);
    } else {
      char esc[3] = {'%', hexdig[*p >> 4], hexdig[*p & 15]};
      buf_put(out, esc, 3);
    }
  }
}

static uint64_t double_bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

#define MANT_BITS 52
#define MANT_MASK ((UINT64_C(1) << MANT_BITS) - 1)
#define QUIET_BIT (UINT64_C(1) << 51)

/* C99 hex float, exactly as glibc's "%a" prints it, but without printf so
 * that the locale's decimal point can never leak in.  A NaN other than the
 * default quiet one keeps its payload as nan(0x...), so the text round-trips
 * bit for bit. */
static void put_float(Buf *out, double x) {
  uint64_t u = double_bits(x), mant = u & MANT_MASK;
  int bexp = (int)((u >> MANT_BITS) & 0x7ff);
  if (u >> 63)
    buf_putc(out, '-');
  if (bexp == 0x7ff) {
    if (mant == 0)
      buf_puts(out, "inf");
    else if (mant == QUIET_BIT)
      buf_puts(out, "nan");
    else
      buf_printf(out, "nan(0x%" PRIx64 ")", mant);
    return;
  }
  if (bexp == 0 && mant == 0) {
    buf_puts(out, "0x0p+0");
    return;
  }
  buf_puts(out, bexp ? "0x1" : "0x0");
  if (mant) {
    int digits = 13;
    while ((mant & 15) == 0) {
      mant >>= 4;
      digits--;
    }
    char frac[14];
    for (int i = digits - 1; i >= 0; i--, mant >>= 4)
      frac[i] = "0123456789abcdef"[mant & 15];
    buf_putc(out, '.');
    buf_put(out, frac, (size_t)digits);
  }
  buf_printf(out, "p%+d", bexp ? bexp - 1023 : -1022);
}

static void put_value(Buf *out, Elem e, Value v) {
  if (e == EL_BOOL)
    buf_putc(out, v.b ? '1' : '0');
  else if (elem_is_float(e))
    put_float(out, v.f);
  else if (elem_is_unsigned(e))
    buf_printf(out, "%" PRIu64, v.u);
  else
    buf_printf(out, "%" PRId64, v.i);
}

static void put_spec(Buf *out, const ArgSpec *s) {
  switch (s->kind) {
  case ARG_INT:
    if (s->runtime)
      buf_puts(out, "int=?");
    else
      buf_printf(out, "int=%" PRId64, s->val.i);
    break;
  case ARG_FLOAT:
    buf_puts(out, "float=");
    if (s->runtime)
      buf_putc(out, '?');
    else
      put_float(out, s->val.f);
    break;
  case ARG_BOOL:
    buf_puts(out, s->val.b ? "bool=1" : "bool=0");
    break;
  case ARG_SCALAR:
    buf_puts(out, s->elem == EL_BOOL ? "bool_" : elem_short(s->elem));
    buf_putc(out, '=');
    if (s->runtime)
      buf_putc(out, '?');
    else
      put_value(out, s->elem, s->val);
    break;
  case ARG_ARRAY:
    buf_puts(out, elem_short(s->elem));
    buf_putc(out, '[');
    for (int i = 0; i < s->rank; i++)
      buf_printf(out, i ? ",%" PRId64 : "%" PRId64, s->shape[i]);
    buf_puts(out, s->readonly ? "]ro" : "]");
    break;
  case ARG_DICT:
    buf_putc(out, '{');
    for (int i = 0; i < s->nfields; i++) {
      if (i)
        buf_putc(out, ';');
      put_name(out, s->keys[i]);
      buf_putc(out, '=');
      put_spec(out, &s->fields[i]);
    }
    buf_putc(out, '}');
    break;
  case ARG_OPAQUE:
    buf_putc(out, '*');
    break;
  }
}

void sig_format(const char *const *names, const ArgSpec *specs, int n, Buf *out) {
  for (int i = 0; i < n; i++) {
    if (i)
      buf_putc(out, ' ');
    put_name(out, names[i]);
    buf_putc(out, ':');
    put_spec(out, &specs[i]);
  }
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct Parser {
  const char *text, *s;
  Arena *a;
  Diag *d;
} Parser;

static bool fail(Parser *p, const char *what) {
  diag_error(p->d, p->a, DIAG_VALUE, (Span){0},
             "malformed ParPy signature \"%.200s%s\": %s at offset %d", p->text,
             strlen(p->text) > 200 ? "..." : "", what, (int)(p->s - p->text));
  return false;
}

static bool accept(Parser *p, const char *lit) {
  size_t n = strlen(lit);
  if (strncmp(p->s, lit, n) != 0)
    return false;
  p->s += n;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* A percent-encoded name: plain characters and %XX escapes. */
static bool parse_name(Parser *p, const char **out) {
  Buf b;
  buf_init(&b);
  while (is_plain((unsigned char)*p->s) || *p->s == '%') {
    if (*p->s == '%') {
      int hi = hexval(p->s[1]), lo = hi < 0 ? -1 : hexval(p->s[2]);
      if (lo < 0 || (hi == 0 && lo == 0)) {
        buf_free(&b);
        return fail(p, "bad %-escape in a name");
      }
      buf_putc(&b, (char)(hi << 4 | lo));
      p->s += 3;
    } else {
      buf_putc(&b, *p->s++);
    }
  }
  if (b.len == 0) {
    buf_free(&b);
    return fail(p, "expected a name");
  }
  *out = arena_strndup(p->a, b.data, b.len);
  buf_free(&b);
  return true;
}

/* Errors about a value point at its start, where a reader looks. */
static bool fail_at(Parser *p, const char *start, const char *what) {
  p->s = start;
  return fail(p, what);
}

static bool parse_u64(Parser *p, uint64_t *out) {
  const char *start = p->s;
  if (*p->s < '0' || *p->s > '9')
    return fail(p, "expected a number");
  uint64_t v = 0;
  for (; *p->s >= '0' && *p->s <= '9'; p->s++) {
    unsigned dig = (unsigned)(*p->s - '0');
    if (v > (UINT64_MAX - dig) / 10)
      return fail_at(p, start, "number out of range");
    v = v * 10 + dig;
  }
  *out = v;
  return true;
}

static bool parse_i64(Parser *p, int64_t *out) {
  const char *start = p->s;
  bool neg = accept(p, "-");
  uint64_t v;
  if (!parse_u64(p, &v))
    return false;
  if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
    return fail_at(p, start, "number out of range");
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* strtod in the "C" locale whatever the process's locale is. */
static double strtod_c(const char *s, char **end) {
  locale_t c = c_locale();
  locale_t old = c ? uselocale(c) : (locale_t)0;
  double x = strtod(s, end);
  if (c)
    uselocale(old);
  return x;
}

/* A float: what put_float prints, or any decimal or hex float that strtod
 * reads (hand-written signatures of compile_string code). */
static bool parse_float(Parser *p, double *out) {
  bool neg = *p->s == '-';
  const char *start = p->s;
  p->s += neg;
  uint64_t bits = 0;
  if (accept(p, "inf")) {
    bits = UINT64_C(0x7ff) << MANT_BITS;
  } else if (accept(p, "nan")) {
    uint64_t mant = QUIET_BIT;
    if (accept(p, "(0x")) {
      mant = 0;
      int nd = 0;
      for (int h; (h = hexval(*p->s)) >= 0 && nd < 13; p->s++, nd++)
        mant = mant << 4 | (uint64_t)h;
      if (nd == 0 || mant == 0 || mant > MANT_MASK || !accept(p, ")"))
        return fail_at(p, start, "bad NaN payload");
    }
    bits = UINT64_C(0x7ff) << MANT_BITS | mant;
  } else {
    p->s = start;
    if (!((*p->s >= '0' && *p->s <= '9') || *p->s == '-' || *p->s == '.'))
      return fail(p, "expected a number");
    char *end;
    *out = strtod_c(p->s, &end);
    if (end == p->s)
      return fail(p, "expected a number");
    p->s = end;
    return true;
  }
  bits |= (uint64_t)neg << 63;
  memcpy(out, &bits, sizeof *out);
  return true;
}

static bool parse_elem(Parser *p, Elem *out) {
  for (int e = 0; e < EL_COUNT; e++) {
    const char *name = elem_short((Elem)e);
    size_t n = strlen(name);
    if (strncmp(p->s, name, n) == 0 && (p->s[n] == '=' || p->s[n] == '[')) {
      p->s += n;
      *out = (Elem)e;
      return true;
    }
  }
  return fail(p, "expected int=, float=, bool=, an element type, '{' or '*'");
}

/* The value of a 0-d array / NumPy scalar, range-checked for its type. */
static bool parse_value(Parser *p, Elem e, Value *v) {
  v->elem = e;
  if (e == EL_BOOL) {
    if (*p->s != '0' && *p->s != '1')
      return fail(p, "expected 0 or 1");
    v->b = *p->s++ == '1';
    return true;
  }
  if (elem_is_float(e))
    return parse_float(p, &v->f);
  const char *start = p->s;
  int bits = elem_size(e) * 8;
  if (elem_is_unsigned(e)) {
    if (!parse_u64(p, &v->u))
      return false;
    if (bits < 64 && v->u >> bits)
      return fail_at(p, start, "value out of range for its type");
    return true;
  }
  if (!parse_i64(p, &v->i))
    return false;
  if (bits < 64 && (v->i < -(INT64_C(1) << (bits - 1)) || v->i >= INT64_C(1) << (bits - 1)))
    return fail_at(p, start, "value out of range for its type");
  return true;
}

/* Items separated by `sep` before the `end` that closes this level. */
static int count_items(const char *s, char sep, char end) {
  if (*s == end)
    return 0;
  int n = 1, depth = 0;
  for (; *s; s++) {
    if (*s == '{')
      depth++;
    else if (*s == '}' && depth > 0)
      depth--;
    else if (depth == 0 && *s == end)
      break;
    else if (depth == 0 && *s == sep)
      n++;
  }
  return n;
}

static bool parse_array(Parser *p, ArgSpec *out) {
  out->kind = ARG_ARRAY;
  p->s++; /* '[' */
  out->rank = count_items(p->s, ',', ']');
  out->shape = ARENA_ARRAY(p->a, int64_t, out->rank);
  for (int i = 0; i < out->rank; i++) {
    if (i && !accept(p, ","))
      return fail(p, "expected ','");
    uint64_t dim;
    if (!parse_u64(p, &dim))
      return false;
    if (dim > (uint64_t)INT64_MAX)
      return fail(p, "extent out of range");
    out->shape[i] = (int64_t)dim;
  }
  if (!accept(p, "]"))
    return fail(p, "expected ']'");
  out->readonly = accept(p, "ro");
  return true;
}

static bool parse_spec(Parser *p, ArgSpec *out, int depth);

static bool parse_dict(Parser *p, ArgSpec *out, int depth) {
  if (depth >= MAX_DEPTH)
    return fail(p, "dicts nested too deeply");
  out->kind = ARG_DICT;
  p->s++; /* '{' */
  out->nfields = count_items(p->s, ';', '}');
  out->keys = ARENA_ARRAY(p->a, const char *, out->nfields);
  out->fields = ARENA_ARRAY(p->a, ArgSpec, out->nfields);
  for (int i = 0; i < out->nfields; i++) {
    if (i && !accept(p, ";"))
      return fail(p, "expected ';'");
    if (!parse_name(p, &out->keys[i]))
      return false;
    if (!accept(p, "="))
      return fail(p, "expected '=' after a key");
    if (!parse_spec(p, &out->fields[i], depth + 1))
      return false;
  }
  if (!accept(p, "}"))
    return fail(p, "expected '}'");
  return true;
}

static bool parse_spec(Parser *p, ArgSpec *out, int depth) {
  if (accept(p, "*")) {
    out->kind = ARG_OPAQUE;
    return true;
  }
  if (*p->s == '{')
    return parse_dict(p, out, depth);
  if (accept(p, "int=")) {
    out->kind = ARG_INT;
    out->val.elem = EL_I64;
    return (out->runtime = accept(p, "?")) || parse_i64(p, &out->val.i);
  }
  if (accept(p, "float=")) {
    out->kind = ARG_FLOAT;
    out->val.elem = EL_F64;
    return (out->runtime = accept(p, "?")) || parse_float(p, &out->val.f);
  }
  if (accept(p, "bool=")) {
    out->kind = ARG_BOOL;
    return parse_value(p, EL_BOOL, &out->val);
  }
  if (accept(p, "bool_=")) {
    out->kind = ARG_SCALAR;
    out->elem = EL_BOOL;
    return parse_value(p, EL_BOOL, &out->val);
  }
  if (!parse_elem(p, &out->elem))
    return false;
  if (*p->s == '[')
    return parse_array(p, out);
  if (out->elem == EL_BOOL)
    return fail(p, "a NumPy bool scalar is written bool_=");
  p->s++; /* '=' */
  out->kind = ARG_SCALAR;
  out->val.elem = out->elem;
  return (out->runtime = accept(p, "?")) || parse_value(p, out->elem, &out->val);
}

bool sig_parse(const char *text, Arena *a, const char ***names, ArgSpec **specs, int *n,
               Diag *d) {
  Parser p = {text, text, a, d};
  int count = count_items(text, ' ', '\0');
  const char **nm = ARENA_ARRAY(a, const char *, count);
  ArgSpec *sp = ARENA_ARRAY(a, ArgSpec, count);
  for (int i = 0; i < count; i++) {
    if (i && !accept(&p, " "))
      return fail(&p, "expected ' ' between parameters");
    if (!parse_name(&p, &nm[i]))
      return false;
    if (!accept(&p, ":"))
      return fail(&p, "expected ':' after a parameter name");
    if (!parse_spec(&p, &sp[i], 0))
      return false;
  }
  if (*p.s)
    return fail(&p, "unexpected text");
  *names = nm;
  *specs = sp;
  *n = count;
  return true;
}

/* ---- binary key (hot path: no allocation beyond the Buf, no printf) ------ */

static void key_u8(Buf *b, unsigned v) { buf_putc(b, (char)(unsigned char)v); }
static void key_u32(Buf *b, uint32_t v) { buf_put(b, &v, sizeof v); }
static void key_u64(Buf *b, uint64_t v) { buf_put(b, &v, sizeof v); }

/* The 8 bytes that decide a scalar, whatever the rest of the union holds. */
static uint64_t scalar_bits(Elem e, Value v) {
  if (e == EL_BOOL)
    return v.b ? 1 : 0;
  if (elem_is_float(e))
    return double_bits(v.f);
  return v.u;
}

static void key_spec(Buf *b, const ArgSpec *s) {
  key_u8(b, (unsigned)s->kind);
  if (s->runtime) { /* any value: only the kind and the type decide */
    key_u8(b, 0xff);
    key_u8(b, s->kind == ARG_SCALAR ? (unsigned)s->elem : 0u);
    return;
  }
  switch (s->kind) {
  case ARG_INT: key_u64(b, scalar_bits(EL_I64, s->val)); break;
  case ARG_FLOAT: key_u64(b, scalar_bits(EL_F64, s->val)); break;
  case ARG_BOOL: key_u8(b, (unsigned)scalar_bits(EL_BOOL, s->val)); break;
  case ARG_SCALAR:
    key_u8(b, (unsigned)s->elem);
    key_u64(b, scalar_bits(s->elem, s->val));
    break;
  case ARG_ARRAY:
    key_u8(b, (unsigned)s->elem);
    key_u8(b, s->readonly);
    key_u32(b, (uint32_t)s->rank);
    if (s->rank > 0)
      buf_put(b, s->shape, sizeof(int64_t) * (size_t)s->rank);
    break;
  case ARG_DICT:
    key_u32(b, (uint32_t)s->nfields);
    for (int i = 0; i < s->nfields; i++) {
      size_t len = strlen(s->keys[i]);
      key_u32(b, (uint32_t)len);
      buf_put(b, s->keys[i], len);
      key_spec(b, &s->fields[i]);
    }
    break;
  case ARG_OPAQUE: break; /* unused by the code, so any object will do */
  }
}

void sig_key(const ArgSpec *specs, int n, Buf *out) {
  key_u32(out, (uint32_t)n);
  for (int i = 0; i < n; i++)
    key_spec(out, &specs[i]);
}

int sig_nslots(const ArgSpec *specs, int n) {
  int slots = 0;
  for (int i = 0; i < n; i++)
    slots += specs[i].kind == ARG_DICT ? sig_nslots(specs[i].fields, specs[i].nfields) : 1;
  return slots;
}
