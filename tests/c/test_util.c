/* test_util.c - SHA-256 and FNV-1a vectors, arenas, buffers, interning and
 * diagnostics. */
// SOURCES: src/util/*.c
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "util/util.h"

static void hex_of(const char *msg, size_t n, char out[65]) { sha256_hex(msg, n, out); }

static void test_sha256_vectors(void) {
  char hex[65];
  hex_of("", 0, hex);
  CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_of("abc", 3, hex);
  CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of(two, strlen(two), hex);
  CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  /* Lengths around the padding boundaries (from Python's hashlib). */
  static const struct { size_t n; const char *hex; } as[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  char a[128];
  memset(a, 'a', sizeof a);
  for (size_t i = 0; i < PP_COUNT(as); i++) {
    hex_of(a, as[i].n, hex);
    CHECK_STR(hex, as[i].hex);
  }

  /* A million 'a's fed in uneven pieces: the incremental path. */
  Sha256 s;
  unsigned char d[32];
  sha256_init(&s);
  size_t left = 1000000, step = 1;
  while (left > 0) {
    size_t n = step < left ? step : left;
    n = n < sizeof a ? n : sizeof a;
    sha256_update(&s, a, n);
    left -= n;
    step = step * 7 % 127 + 1;
  }
  sha256_final(&s, d);
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", d[i]);
  CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_fnv(void) {
  CHECK(fnv1a("", 0) == UINT64_C(0xcbf29ce484222325));
  CHECK(fnv1a("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
  CHECK(fnv1a("foobar", 6) == UINT64_C(0x85944171f73967e8));
}

static void test_arena(void) {
  Arena a;
  arena_init(&a);
  for (size_t n = 0; n < 100; n++) {
    unsigned char *p = arena_alloc(&a, n * 37 % 61);
    CHECK(((uintptr_t)p & 15) == 0);
    int zero = 1;
    for (size_t i = 0; i < n * 37 % 61; i++)
      zero &= p[i] == 0;
    CHECK(zero);
    memset(p, 0xff, n * 37 % 61);
  }
  /* Larger than any chunk: gets its own, still zeroed and usable. */
  size_t big = 1 << 20;
  unsigned char *p = arena_alloc(&a, big);
  CHECK(p[0] == 0 && p[big - 1] == 0);
  memset(p, 1, big);
  int64_t *xs = ARENA_ARRAY(&a, int64_t, 1000);
  for (int i = 0; i < 1000; i++)
    xs[i] = i;
  CHECK(xs[999] == 999);
  CHECK(a.used_total >= big);
  CHECK_STR(arena_strdup(&a, "hello"), "hello");
  CHECK_STR(arena_strndup(&a, "hello", 3), "hel");
  CHECK_STR(arena_printf(&a, "%s-%d-%.1f", "x", 42, 2.5), "x-42-2.5");
  arena_free(&a);
  CHECK(a.head == NULL && a.used_total == 0);
  CHECK_STR(arena_strdup(&a, "again"), "again"); /* reusable after free */
  arena_free(&a);
}

static void test_buf(void) {
  Buf b;
  buf_init(&b);
  CHECK_STR(buf_cstr(&b), "");
  buf_puts(&b, "ab");
  buf_putc(&b, 'c');
  buf_printf(&b, "%d|%s", 12, "x");
  CHECK_STR(buf_cstr(&b), "abc12|x");
  CHECK(b.len == 7);
  for (int i = 0; i < 1000; i++)
    buf_printf(&b, "%04d", i);
  CHECK(b.len == 7 + 4000);
  CHECK(memcmp(b.data + b.len - 4, "0999", 4) == 0 && b.data[b.len] == '\0');
  buf_clear(&b);
  CHECK(b.len == 0);
  CHECK_STR(buf_cstr(&b), "");
  buf_put(&b, "a\0b", 3); /* embedded NUL counts */
  CHECK(b.len == 3 && b.data[2] == 'b');
  buf_clear(&b);
  buf_indent(&b, 2);
  buf_puts(&b, "x");
  CHECK_STR(buf_cstr(&b), "    x");
  char *s = buf_detach(&b);
  CHECK_STR(s, "    x");
  CHECK(b.data == NULL && b.len == 0);
  free(s);
  s = buf_detach(&b); /* empty: still a string */
  CHECK_STR(s, "");
  free(s);
  buf_free(&b);
}

static void test_intern(void) {
  char name[] = "label_N";
  const char *x = intern(name);
  name[0] = 'L';
  CHECK(intern("label_N") == x);
  CHECK(intern("Label_N") != x);
  CHECK(intern_n("label_Nxyz", 7) == x);
  for (int i = 0; i < 5000; i++) { /* growth keeps old pointers */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "n%d", i);
    intern(tmp);
  }
  CHECK(intern("label_N") == x);
}

static void test_diag(void) {
  Arena a;
  arena_init(&a);
  Source src = {"f.py", "f", "def f(x):\n    y = x +  z\n"};
  Diag d = {0};
  Span sp = {2, 12, 2, 13, &src};
  diag_error(&d, &a, DIAG_NAME, sp, "name '%s' is not defined", "z");
  diag_error(&d, &a, DIAG_TYPE, sp, "second"); /* ignored: the first sticks */
  CHECK(d.kind == DIAG_NAME);
  Buf b;
  buf_init(&b);
  diag_format(&d, &b);
  CHECK_STR(buf_cstr(&b), "name 'z' is not defined\n\n  File \"f.py\", line 2, column 13, in f\n"
                          "    y = x +  z\n            ^");
  buf_free(&b);
  arena_free(&a);
}

int main(void) {
  test_sha256_vectors();
  test_fnv();
  test_arena();
  test_buf();
  test_intern();
  test_diag();
  return check_result("test_util");
}
