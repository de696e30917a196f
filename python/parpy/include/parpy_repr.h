/* parpy_repr.h - numbers as Python and NumPy print them, in code that has
 * no snprintf or strtod: CUDA device code (parpy_cuda.h includes it).
 *
 * Floats print with the shortest digits that read back as the same value
 * of their type, the last digit the closest (Python's repr of a float,
 * NumPy's of float32 and float16), found by Steele and White's free-format
 * algorithm as Burger and Dybvig state it, on exact big integers (about
 * 1,140 bits suffice for a double). parpy_cpu.h gets the same digits with
 * snprintf and strtod; tests/test_repr.py compares this file, compiled as
 * C, with Python's repr and NumPy's.
 *
 * The includer defines PARPY_REPR_FN (`static inline` for C, a device
 * function for CUDA) before including this file. */
#ifndef PARPY_REPR_H
#define PARPY_REPR_H

#ifndef PARPY_REPR_FN
#define PARPY_REPR_FN static inline
#endif

enum { PARPY_BIG_WORDS = 40, PARPY_REPR_MAX = 32 };

/* An unsigned integer of up to 1,280 bits, least significant word first. */
typedef struct parpy_big {
  uint32_t w[PARPY_BIG_WORDS];
  int n; /* words in use; w[n-1] != 0 unless n == 0 */
} parpy_big;

PARPY_REPR_FN void parpy_big_set(parpy_big *a, uint64_t v) {
  a->n = 0;
  while (v) {
    a->w[a->n++] = (uint32_t)v;
    v >>= 32;
  }
}

PARPY_REPR_FN void parpy_big_mul_small(parpy_big *a, uint32_t m) {
  uint64_t carry = 0;
  for (int i = 0; i < a->n; i++) {
    uint64_t t = (uint64_t)a->w[i] * m + carry;
    a->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  if (carry && a->n < PARPY_BIG_WORDS)
    a->w[a->n++] = (uint32_t)carry;
}

PARPY_REPR_FN void parpy_big_mul_pow10(parpy_big *a, int k) {
  for (; k >= 9; k -= 9)
    parpy_big_mul_small(a, 1000000000u);
  uint32_t m = 1;
  while (k-- > 0)
    m *= 10;
  if (m > 1)
    parpy_big_mul_small(a, m);
}

PARPY_REPR_FN void parpy_big_shl(parpy_big *a, int k) {
  int words = k / 32, bits = k % 32;
  if (a->n == 0)
    return;
  int n = a->n + words + 1;
  if (n > PARPY_BIG_WORDS)
    n = PARPY_BIG_WORDS;
  for (int i = n - 1; i >= 0; i--) {
    int s = i - words;
    uint64_t hi = s >= 0 && s < a->n ? a->w[s] : 0;
    uint64_t lo = s - 1 >= 0 && s - 1 < a->n ? a->w[s - 1] : 0;
    a->w[i] = bits ? (uint32_t)((hi << bits) | (lo >> (32 - bits))) : (uint32_t)hi;
  }
  a->n = n;
  while (a->n && a->w[a->n - 1] == 0)
    a->n--;
}

PARPY_REPR_FN int parpy_big_cmp(const parpy_big *a, const parpy_big *b) {
  if (a->n != b->n)
    return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->w[i] != b->w[i])
      return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}

/* r = a + b */
PARPY_REPR_FN void parpy_big_add(parpy_big *r, const parpy_big *a, const parpy_big *b) {
  int n = a->n > b->n ? a->n : b->n;
  uint64_t carry = 0;
  for (int i = 0; i < n; i++) {
    uint64_t t = carry + (i < a->n ? a->w[i] : 0) + (i < b->n ? b->w[i] : 0);
    r->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  r->n = n;
  if (carry && n < PARPY_BIG_WORDS)
    r->w[r->n++] = (uint32_t)carry;
}

/* a -= b, where a >= b */
PARPY_REPR_FN void parpy_big_sub(parpy_big *a, const parpy_big *b) {
  int64_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
    borrow = t < 0;
    a->w[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
  }
  while (a->n && a->w[a->n - 1] == 0)
    a->n--;
}

/* The shortest digits of f * 2^e (f > 0) that read back as it, for a type
 * of `p` bits of precision whose smallest exponent (of the last bit) is
 * `emin`; `d` gets the digits and the result is the decimal exponent k:
 * the value is 0.d1 d2 ... * 10^k. */
PARPY_REPR_FN int parpy_shortest(uint64_t f, int e, int p, int emin, char *d, int *nd) {
  parpy_big r, s, mp, mm, t;
  /* Normalised: p bits, unless subnormal. */
  while (f >= ((uint64_t)1 << p) || e < emin)
    f >>= 1, e++;
  while (f < ((uint64_t)1 << (p - 1)) && e > emin)
    f <<= 1, e--;
  bool unequal = f == ((uint64_t)1 << (p - 1)) && e > emin; /* the gap below is half */
  bool even = (f & 1) == 0; /* a tie reads back as the even neighbour: bounds included */
  parpy_big_set(&r, f);
  parpy_big_set(&s, 1);
  parpy_big_set(&mp, 1);
  parpy_big_set(&mm, 1);
  if (e >= 0) {
    parpy_big_shl(&r, e + 1 + unequal);
    parpy_big_shl(&s, 1 + unequal);
    parpy_big_shl(&mp, e + unequal);
    parpy_big_shl(&mm, e);
  } else {
    parpy_big_shl(&r, 1 + unequal);
    parpy_big_shl(&s, 1 - e + unequal);
    parpy_big_shl(&mp, unequal);
  }
  /* k: the least with (r + mp) / s <= 10^k (< when the bound is excluded),
   * from an estimate at most two too low: log10 of v's leading power of 2 */
  int bits = 0;
  for (uint64_t g = f; g; g >>= 1)
    bits++;
  double est = (e + bits - 1) * 0.30102999566398114 - 1e-9;
  int k = (int)est + (est > (int)est ? 1 : 0);
  if (k >= 0) {
    parpy_big_mul_pow10(&s, k);
  } else {
    parpy_big_mul_pow10(&r, -k);
    parpy_big_mul_pow10(&mp, -k);
    parpy_big_mul_pow10(&mm, -k);
  }
  for (;;) {
    parpy_big_add(&t, &r, &mp);
    int c = parpy_big_cmp(&t, &s);
    if (even ? c < 0 : c <= 0)
      break;
    k++;
    parpy_big_mul_small(&s, 10);
  }
  *nd = 0;
  for (;;) {
    parpy_big_mul_small(&r, 10);
    parpy_big_mul_small(&mp, 10);
    parpy_big_mul_small(&mm, 10);
    int digit = 0;
    while (parpy_big_cmp(&r, &s) >= 0) {
      parpy_big_sub(&r, &s);
      digit++;
    }
    int lo = parpy_big_cmp(&r, &mm);
    parpy_big_add(&t, &r, &mp);
    int hi = parpy_big_cmp(&t, &s);
    bool low = even ? lo <= 0 : lo < 0, high = even ? hi >= 0 : hi > 0;
    if (!low && !high && *nd < 17) {
      d[(*nd)++] = (char)('0' + digit);
      continue;
    }
    if (low && high) { /* both candidates read back: the closer, a tie to even */
      parpy_big_add(&t, &r, &r);
      int half = parpy_big_cmp(&t, &s);
      high = half > 0 || (half == 0 && (digit & 1));
    }
    d[(*nd)++] = (char)('0' + digit + (high ? 1 : 0));
    break;
  }
  return k;
}

/* Appends the repr of v to out (at least PARPY_REPR_MAX bytes free) and
 * returns the characters written.  kind 0: a double, as Python; 1: float32
 * and 2: float16 (v holds the value exactly), as NumPy prints them:
 * positional between 1e-4 and 1e16 (float32: 1e6, float16: 1e3). */
PARPY_REPR_FN int parpy_repr_float(char *out, double v, int kind) {
  char *o = out;
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  if (bits >> 63)
    *o++ = '-';
  int be = (int)((bits >> 52) & 0x7ff);
  uint64_t frac = bits & (((uint64_t)1 << 52) - 1);
  if (be == 0x7ff) {
    const char *w = frac ? "nan" : "inf";
    if (frac)
      o = out;
    while (*w)
      *o++ = *w++;
    return (int)(o - out);
  }
  char d[24];
  int nd = 1, x = 0;
  if (be == 0 && frac == 0) {
    d[0] = '0';
  } else {
    uint64_t f = be ? frac | ((uint64_t)1 << 52) : frac;
    int e = (be ? be : 1) - 1075;
    int p = kind == 2 ? 11 : kind == 1 ? 24 : 53;
    int emin = kind == 2 ? -24 : kind == 1 ? -149 : -1074;
    x = parpy_shortest(f, e, p, emin, d, &nd) - 1;
  }
  double a = v < 0 ? -v : v, hi = kind == 2 ? 1e3 : kind == 1 ? 1e6 : 1e16;
  bool positional = kind == 0 ? (x >= -4 && x < 16) : (a == 0 || (a >= 1e-4 && a < hi));
  if (positional && x >= 0) {
    for (int i = 0; i <= x; i++)
      *o++ = i < nd ? d[i] : '0';
    *o++ = '.';
    if (nd > x + 1)
      for (int i = x + 1; i < nd; i++)
        *o++ = d[i];
    else
      *o++ = '0';
  } else if (positional) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -x - 1; i++)
      *o++ = '0';
    for (int i = 0; i < nd; i++)
      *o++ = d[i];
  } else {
    *o++ = d[0];
    if (nd > 1) {
      *o++ = '.';
      for (int i = 1; i < nd; i++)
        *o++ = d[i];
    }
    *o++ = 'e';
    *o++ = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax >= 100)
      *o++ = (char)('0' + ax / 100);
    *o++ = (char)('0' + ax / 10 % 10);
    *o++ = (char)('0' + ax % 10);
  }
  return (int)(o - out);
}

/* Appends an integer in decimal. */
PARPY_REPR_FN int parpy_repr_u64(char *out, uint64_t v, bool neg) {
  char t[24];
  int n = 0, len = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg)
    out[len++] = '-';
  while (n)
    out[len++] = t[--n];
  return len;
}

PARPY_REPR_FN int parpy_repr_i64(char *out, int64_t v) {
  return parpy_repr_u64(out, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

#endif
