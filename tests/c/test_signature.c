/* test_signature.c - the text form of a specialisation round-trips exactly,
 * malformed text is refused with its offset, and binary keys are equal
 * exactly when the specialisations are. */
// SOURCES: src/util/*.c src/ast.c src/target/signature.c
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "target/target.h"

static Arena A;

static ArgSpec py_int(int64_t v) { return (ArgSpec){.kind = ARG_INT, .val = {EL_I64, .i = v}}; }
static ArgSpec py_float(double v) {
  return (ArgSpec){.kind = ARG_FLOAT, .val = {EL_F64, .f = v}};
}
static ArgSpec py_bool(bool v) { return (ArgSpec){.kind = ARG_BOOL, .val = {EL_BOOL, .b = v}}; }
static ArgSpec scalar(Elem e, Value v) {
  v.elem = e;
  return (ArgSpec){.kind = ARG_SCALAR, .elem = e, .val = v};
}
static ArgSpec array(Elem e, int rank, const int64_t *shape, bool ro) {
  int64_t *s = ARENA_ARRAY(&A, int64_t, rank);
  if (rank > 0)
    memcpy(s, shape, sizeof *s * (size_t)rank);
  return (ArgSpec){.kind = ARG_ARRAY, .elem = e, .rank = rank, .shape = s, .readonly = ro};
}
static ArgSpec dict(int n, const char **keys, const ArgSpec *fields) {
  ArgSpec d = {.kind = ARG_DICT, .nfields = n};
  d.keys = ARENA_ARRAY(&A, const char *, n);
  d.fields = ARENA_ARRAY(&A, ArgSpec, n);
  for (int i = 0; i < n; i++) {
    d.keys[i] = keys[i];
    d.fields[i] = fields[i];
  }
  return d;
}

static uint64_t bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
static double from_bits(uint64_t u) {
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* Equality in every field a signature carries (not OPAQUE's `what`). */
static bool spec_equal(const ArgSpec *x, const ArgSpec *y) {
  if (x->kind != y->kind)
    return false;
  switch (x->kind) {
  case ARG_INT: return x->val.i == y->val.i && x->val.elem == y->val.elem;
  case ARG_FLOAT: return bits(x->val.f) == bits(y->val.f) && x->val.elem == y->val.elem;
  case ARG_BOOL: return x->val.b == y->val.b && x->val.elem == y->val.elem;
  case ARG_SCALAR:
    if (x->elem != y->elem || x->val.elem != y->val.elem)
      return false;
    if (x->elem == EL_BOOL)
      return x->val.b == y->val.b;
    return elem_is_float(x->elem) ? bits(x->val.f) == bits(y->val.f) : x->val.u == y->val.u;
  case ARG_ARRAY:
    if (x->elem != y->elem || x->rank != y->rank || x->readonly != y->readonly)
      return false;
    for (int i = 0; i < x->rank; i++)
      if (x->shape[i] != y->shape[i])
        return false;
    return true;
  case ARG_DICT:
    if (x->nfields != y->nfields)
      return false;
    for (int i = 0; i < x->nfields; i++)
      if (strcmp(x->keys[i], y->keys[i]) != 0 || !spec_equal(&x->fields[i], &y->fields[i]))
        return false;
    return true;
  case ARG_OPAQUE: return true;
  }
  return false;
}

static char *format(const char **names, const ArgSpec *specs, int n) {
  Buf b;
  buf_init(&b);
  sig_format(names, specs, n, &b);
  char *s = arena_strdup(&A, buf_cstr(&b));
  buf_free(&b);
  return s;
}

static bool same_key(const ArgSpec *x, int nx, const ArgSpec *y, int ny) {
  Buf a, b;
  buf_init(&a);
  buf_init(&b);
  sig_key(x, nx, &a);
  sig_key(y, ny, &b);
  bool same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
  buf_free(&a);
  buf_free(&b);
  return same;
}

/* format -> parse -> equal specs, equal keys, and the same text again. */
static void round_trip(const char **names, const ArgSpec *specs, int n) {
  char *text = format(names, specs, n);
  Diag d = {0};
  const char **pn;
  ArgSpec *ps;
  int pcount = -1;
  bool ok = sig_parse(text, &A, &pn, &ps, &pcount, &d);
  CHECK(ok);
  if (!ok) {
    fprintf(stderr, "  %s\n  for %s\n", d.msg, text);
    return;
  }
  CHECK(pcount == n);
  for (int i = 0; i < n && i < pcount; i++) {
    CHECK_STR(pn[i], names[i]);
    bool eq = spec_equal(&specs[i], &ps[i]);
    CHECK(eq);
    if (!eq)
      fprintf(stderr, "  parameter %d of %s\n", i, text);
  }
  CHECK(same_key(specs, n, ps, pcount));
  CHECK_STR(format(pn, ps, pcount), text);
}

static void test_text(void) {
  int64_t s104[] = {10, 4}, s3[] = {3};
  const char *keys[] = {"a", "b"};
  ArgSpec inner[] = {array(EL_F64, 1, s3, true), py_int(2)};
  ArgSpec specs[] = {
      array(EL_F32, 2, s104, false),
      py_int(5),
      py_float(3.0),
      py_bool(true),
      scalar(EL_I8, (Value){.i = -3}),
      scalar(EL_BOOL, (Value){.b = true}),
      dict(2, keys, inner),
      {.kind = ARG_OPAQUE, .what = "str"},
      scalar(EL_U64, (Value){.u = UINT64_MAX}),
      scalar(EL_F32, (Value){.f = 0.1f}),
      array(EL_BOOL, 0, NULL, true),
  };
  const char *names[] = {"x", "n", "a", "b", "s", "t", "d", "o", "u", "f", "z"};
  CHECK_STR(format(names, specs, 11),
            "x:f32[10,4] n:int=5 a:float=0x1.8p+1 b:bool=1 s:i8=-3 t:bool_=1 "
            "d:{a=f64[3]ro;b=int=2} o:* u:u64=18446744073709551615 f:f32=0x1.99999ap-4 z:bool[]ro");
  round_trip(names, specs, 11);
  round_trip(NULL, NULL, 0);
  CHECK_STR(format(NULL, NULL, 0), "");

  /* Names outside [A-Za-z0-9_] are percent-encoded, UTF-8 byte by byte. */
  const char *odd[] = {"a b%", "\xc3\xa9t\xc3\xa9", "_x9"};
  ArgSpec three[] = {py_int(1), py_int(2), dict(1, (const char *[]){"k=;{}"}, (ArgSpec[]){py_int(0)})};
  CHECK_STR(format(odd, three, 3), "a%20b%25:int=1 %C3%A9t%C3%A9:int=2 _x9:{k%3D%3B%7B%7D=int=0}");
  round_trip(odd, three, 3);
}

static void test_floats(void) {
  static const uint64_t special[] = {
      0x0000000000000000, 0x8000000000000000, /* +-0 */
      0x0000000000000001, 0x000fffffffffffff, /* subnormals */
      0x0010000000000000, 0x7fefffffffffffff, /* smallest normal, largest */
      0x7ff0000000000000, 0xfff0000000000000, /* +-inf */
      0x7ff8000000000000, 0xfff8000000000000, /* quiet NaNs */
      0x7ff0000000000001, 0x7ff4000000000abc, /* signalling NaNs with payloads */
      0x3fb999999999999a,                     /* 0.1 */
  };
  const char *name[] = {"v"};
  for (size_t i = 0; i < PP_COUNT(special); i++) {
    ArgSpec s = py_float(from_bits(special[i]));
    round_trip(name, &s, 1);
  }
  /* Finite values print exactly as C's %a does. */
  srand(7);
  for (int i = 0; i < 2000; i++) {
    uint64_t u = 0;
    for (int k = 0; k < 4; k++)
      u = u << 16 | (uint64_t)(rand() & 0xffff);
    double x = from_bits(u);
    ArgSpec s = py_float(x);
    round_trip(name, &s, 1);
    if (!isfinite(x))
      continue;
    char want[64];
    snprintf(want, sizeof want, "v:float=%a", x);
    CHECK_STR(format(name, &s, 1), want);
  }
  /* Hand-written signatures (compile_string) may use decimals. */
  const char **pn;
  ArgSpec *ps;
  int n;
  Diag d = {0};
  CHECK(sig_parse("x:float=1.5 y:f32=-2.25e1 z:float=-inf", &A, &pn, &ps, &n, &d));
  CHECK(n == 3 && ps[0].val.f == 1.5 && ps[1].val.f == -22.5 && isinf(ps[2].val.f) &&
        ps[2].val.f < 0);
}

static void test_scalars(void) {
  const char *name[] = {"v"};
  static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1234567890123};
  for (size_t i = 0; i < PP_COUNT(ints); i++) {
    ArgSpec s = py_int(ints[i]);
    round_trip(name, &s, 1);
    s = scalar(EL_I64, (Value){.i = ints[i]});
    round_trip(name, &s, 1);
  }
  struct { Elem e; int64_t lo, hi; } lim[] = {
      {EL_I8, -128, 127}, {EL_I16, -32768, 32767}, {EL_I32, INT32_MIN, INT32_MAX},
      {EL_U8, 0, 255}, {EL_U16, 0, 65535}, {EL_U32, 0, UINT32_MAX}};
  for (size_t i = 0; i < PP_COUNT(lim); i++) {
    ArgSpec s = scalar(lim[i].e, (Value){.i = lim[i].lo});
    round_trip(name, &s, 1);
    s = scalar(lim[i].e, (Value){.i = lim[i].hi});
    round_trip(name, &s, 1);
  }
  ArgSpec s = scalar(EL_U64, (Value){.u = UINT64_MAX});
  round_trip(name, &s, 1);
  s = scalar(EL_F16, (Value){.f = 65504.0});
  round_trip(name, &s, 1);
  s = scalar(EL_BOOL, (Value){.b = false});
  round_trip(name, &s, 1);
  s = py_bool(false);
  round_trip(name, &s, 1);
}

/* Random specs, nested dicts included. */
static ArgSpec random_spec(int depth) {
  int kind = rand() % (depth < 3 ? 7 : 6);
  switch (kind) {
  case 0: return py_int((int64_t)rand() - RAND_MAX / 2);
  case 1: return py_float((double)rand() / 7.0 - 1000.0);
  case 2: return py_bool(rand() & 1);
  case 3: {
    Elem e = (Elem)(rand() % EL_COUNT);
    Value v = {0};
    if (e == EL_BOOL)
      v.b = rand() & 1;
    else if (elem_is_float(e))
      v.f = (double)(rand() % 1000) / 8.0;
    else
      v.i = rand() % 100;
    return scalar(e, v);
  }
  case 4: {
    int64_t shape[4];
    int rank = rand() % 5;
    for (int i = 0; i < rank; i++)
      shape[i] = rand() % 1000;
    return array((Elem)(rand() % EL_COUNT), rank, shape, rand() & 1);
  }
  case 5: return (ArgSpec){.kind = ARG_OPAQUE};
  default: {
    int n = rand() % 4;
    const char *keys[4];
    ArgSpec fields[4];
    for (int i = 0; i < n; i++) {
      keys[i] = arena_printf(&A, "k%d", i);
      fields[i] = random_spec(depth + 1);
    }
    return dict(n, keys, fields);
  }
  }
}

/* Damaged text is refused or read, never overrun (run under ASan). */
static void mutate(const char *text) {
  static const char alphabet[] = "x:=[]{};,% -0129abfinro*_.";
  size_t len = strlen(text);
  for (int t = 0; t < 8; t++) {
    char *m = arena_strdup(&A, text);
    if (len > 0 && t % 2 == 0)
      m[rand() % len] = alphabet[rand() % (sizeof alphabet - 1)];
    else if (len > 0)
      m[rand() % len] = '\0';
    const char **pn, **pn2;
    ArgSpec *ps, *ps2;
    int n, n2;
    Diag d = {0};
    if (!sig_parse(m, &A, &pn, &ps, &n, &d)) {
      CHECK(d.kind == DIAG_VALUE && d.msg);
      continue;
    }
    /* Whatever was read prints in the canonical form, which reads back. */
    char *canon = format(pn, ps, n);
    CHECK(sig_parse(canon, &A, &pn2, &ps2, &n2, &d));
    CHECK_STR(format(pn2, ps2, n2), canon);
  }
}

static void test_random(void) {
  srand(11);
  for (int t = 0; t < 500; t++) {
    int n = rand() % 6;
    const char *names[6];
    ArgSpec specs[6];
    for (int i = 0; i < n; i++) {
      names[i] = arena_printf(&A, "p%d", i);
      specs[i] = random_spec(0);
    }
    round_trip(names, specs, n);
    mutate(format(names, specs, n));
  }
}

static void malformed(const char *text, const char *what, int offset) {
  const char **pn;
  ArgSpec *ps;
  int n;
  Diag d = {0};
  bool ok = sig_parse(text, &A, &pn, &ps, &n, &d);
  CHECK(!ok);
  if (ok) {
    fprintf(stderr, "  accepted: %s\n", text);
    return;
  }
  CHECK(d.kind == DIAG_VALUE);
  CHECK_HAS(d.msg, "malformed ParPy signature");
  CHECK_HAS(d.msg, what);
  char at[32];
  snprintf(at, sizeof at, "at offset %d", offset);
  CHECK_HAS(d.msg, at);
}

static void test_malformed(void) {
  malformed("x", "expected ':'", 1);
  malformed(":int=1", "expected a name", 0);
  malformed("x:int=1 ", "expected a name", 8);
  malformed("x:int=1  y:int=2", "expected a name", 8);
  malformed("x:q=1", "expected int=", 2);
  malformed("x:int=", "expected a number", 6);
  malformed("x:int=12a", "unexpected text", 8);
  malformed("x:int=99999999999999999999", "out of range", 6);
  malformed("x:int=-9223372036854775809", "out of range", 6);
  malformed("x:i8=128", "out of range", 5);
  malformed("x:u8=-1", "expected a number", 5);
  malformed("x:u16=65536", "out of range", 6);
  malformed("x:bool=2", "expected 0 or 1", 7);
  malformed("x:bool=1.0", "unexpected text", 8);
  malformed("x:f32[10", "expected ']'", 8);
  malformed("x:f32[10,]", "expected a number", 9);
  malformed("x:f32[-1]", "expected a number", 6);
  malformed("x:f32[1]r", "unexpected text", 8);
  malformed("x:{a=int=1", "expected '}'", 10);
  malformed("x:{a=int=1;}", "expected a name", 11);
  malformed("x:{=int=1}", "expected a name", 3);
  malformed("x:{a}", "expected '='", 4);
  malformed("x%2:int=1", "bad %-escape", 1);
  malformed("x%00:int=1", "bad %-escape", 1);
  malformed("x:float=abc", "expected a number", 8);
  malformed("x:float=nan(0x0)", "bad NaN payload", 8);
  malformed("x:float=-nan(0x1", "bad NaN payload", 8);
  malformed("x:bool=", "expected 0 or 1", 7);
  malformed("x:float=1.5 x", "expected ':'", 13);
  char deep[200] = "x:";
  for (int i = 0; i < 40; i++)
    strcat(deep, "{a=");
  malformed(deep, "nested too deeply", 2 + 3 * 32);
  /* Long text is cut in the message, never overrun. */
  char *long_text = arena_alloc(&A, 5000);
  memset(long_text, 'x', 4999);
  malformed(long_text, "expected ':'", 4999);
}

static void test_keys(void) {
  int64_t s34[] = {3, 4}, s43[] = {4, 3}, s3[] = {3};
  ArgSpec a = array(EL_F32, 2, s34, false);
  ArgSpec b = array(EL_F32, 2, s34, false);
  CHECK(same_key(&a, 1, &b, 1));
  ArgSpec diff[] = {
      array(EL_F64, 2, s34, false), array(EL_F32, 2, s43, false), array(EL_F32, 2, s34, true),
      array(EL_F32, 1, s3, false),  py_int(3),                    {.kind = ARG_OPAQUE},
  };
  for (size_t i = 0; i < PP_COUNT(diff); i++)
    CHECK(!same_key(&a, 1, &diff[i], 1));

  /* Scalars: the value decides, not the bytes of the union it does not use. */
  ArgSpec t1 = py_bool(true), t2 = {.kind = ARG_BOOL, .val = {.elem = EL_BOOL, .i = 0x7f01}};
  CHECK(same_key(&t1, 1, &t2, 1));
  ArgSpec n1 = scalar(EL_BOOL, (Value){.i = 1}), n2 = scalar(EL_BOOL, (Value){.i = 0x100 | 1});
  CHECK(same_key(&n1, 1, &n2, 1));
  CHECK(!same_key(&t1, 1, &n1, 1)); /* Python bool vs NumPy bool */
  ArgSpec z = py_float(0.0), nz = py_float(-0.0);
  CHECK(!same_key(&z, 1, &nz, 1));
  ArgSpec i1 = py_int(1), f1 = py_float(from_bits(1));
  CHECK(!same_key(&i1, 1, &f1, 1));
  ArgSpec i8 = scalar(EL_I8, (Value){.i = 5}), i16 = scalar(EL_I16, (Value){.i = 5});
  CHECK(!same_key(&i8, 1, &i16, 1));
  ArgSpec v5 = py_int(5), v6 = py_int(6);
  CHECK(!same_key(&v5, 1, &v6, 1));

  /* Opaque objects: their type name is not part of the key. */
  ArgSpec o1 = {.kind = ARG_OPAQUE, .what = "str"}, o2 = {.kind = ARG_OPAQUE, .what = "list"};
  CHECK(same_key(&o1, 1, &o2, 1));

  /* Dicts: keys, values and nesting all count; the encoding is prefix-free. */
  ArgSpec f2[] = {py_int(1), py_int(2)};
  ArgSpec d1 = dict(2, (const char *[]){"a", "b"}, f2);
  ArgSpec d2 = dict(2, (const char *[]){"a", "c"}, f2);
  ArgSpec d3 = dict(2, (const char *[]){"ab", ""}, f2);
  ArgSpec d4 = dict(1, (const char *[]){"a"}, f2);
  CHECK(!same_key(&d1, 1, &d2, 1));
  CHECK(!same_key(&d1, 1, &d3, 1));
  CHECK(!same_key(&d1, 1, &d4, 1));
  ArgSpec two[] = {d4, py_int(2)};
  CHECK(!same_key(&d1, 1, two, 2));
  ArgSpec e1[] = {py_int(1)}, e2[] = {py_int(1), {.kind = ARG_OPAQUE}};
  CHECK(!same_key(e1, 1, e2, 2));
}

static void test_nslots(void) {
  int64_t s3[] = {3};
  ArgSpec inner[] = {py_int(1), array(EL_F32, 1, s3, false)};
  ArgSpec nested[] = {dict(2, (const char *[]){"a", "b"}, inner), py_int(2)};
  ArgSpec specs[] = {array(EL_F32, 1, s3, false), dict(2, (const char *[]){"a", "b"}, inner),
                     dict(0, NULL, NULL), py_float(1.0),
                     dict(2, (const char *[]){"x", "y"}, nested)};
  CHECK(sig_nslots(specs, 1) == 1);
  CHECK(sig_nslots(specs, 2) == 3);
  CHECK(sig_nslots(specs, 3) == 3);
  CHECK(sig_nslots(specs, 4) == 4);
  CHECK(sig_nslots(specs, 5) == 7);
  CHECK(sig_nslots(NULL, 0) == 0);
}

int main(void) {
  arena_init(&A);
  test_text();
  test_floats();
  test_scalars();
  test_random();
  test_malformed();
  test_keys();
  test_nslots();
  arena_free(&A);
  return check_result("test_signature");
}
