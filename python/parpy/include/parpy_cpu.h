/* parpy_cpu.h - included by the C code ParPy generates for the Cpu backend.
 *
 * Python's and NumPy's arithmetic differs from C's in a few places; these
 * small functions give the generated code Python's meaning:
 *   - // and % round towards negative infinity (C truncates towards zero),
 *     and integer division by zero gives 0 as in NumPy instead of trapping;
 *   - max/min propagate NaN as numpy.maximum/minimum do (parpy_pymax/pymin
 *     compare as Python's builtin max/min do);
 *   - integer ** integer is an integer, as in NumPy.
 * Signed overflow wraps as in NumPy because the code is built with -fwrapv. */
#ifndef PARPY_CPU_H
#define PARPY_CPU_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef _Float16 half;

/* glibc has vector versions of these functions (libmvec), but its headers
 * only declare them with -ffast-math.  Declared here, the compiler calls
 * them in vectorised loops: 1 to 4 ulp like the scalar ones (NumPy's own
 * float32 exp and log are SIMD code of the same accuracy); the code is
 * built with -fno-math-errno, which they need. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 22)
#define PARPY_SIMD __attribute__((__simd__("notinbranch")))
PARPY_SIMD float expf(float);
PARPY_SIMD double exp(double);
PARPY_SIMD float logf(float);
PARPY_SIMD double log(double);
PARPY_SIMD float sinf(float);
PARPY_SIMD double sin(double);
PARPY_SIMD float cosf(float);
PARPY_SIMD double cos(double);
PARPY_SIMD float powf(float, float);
PARPY_SIMD double pow(double, double);
#if __GLIBC_PREREQ(2, 35)
PARPY_SIMD float tanf(float);
PARPY_SIMD double tan(double);
PARPY_SIMD float tanhf(float);
PARPY_SIMD double tanh(double);
PARPY_SIMD float atan2f(float, float);
PARPY_SIMD double atan2(double, double);
#endif
#undef PARPY_SIMD
#endif
#endif

/* ---- integers ---- */
#define PARPY_INT_OPS(T, S, MIN)                                                                 \
  static inline T parpy_floordiv_##S(T a, T b) {                                                 \
    if (b == 0)                                                                                  \
      return 0;                                                                                  \
    if ((MIN) != 0 && b == (T)-1)                                                                \
      return (T)(0 - (uint64_t)a); /* avoids the trap of MIN / -1 */                            \
    T q = (T)(a / b);                                                                            \
    if ((T)(a % b) != 0 && ((a < 0) != (b < 0)))                                                 \
      q--;                                                                                       \
    return q;                                                                                    \
  }                                                                                              \
  static inline T parpy_mod_##S(T a, T b) {                                                      \
    if (b == 0 || ((MIN) != 0 && b == (T)-1))                                                    \
      return 0;                                                                                  \
    T r = (T)(a % b);                                                                            \
    if (r != 0 && ((r < 0) != (b < 0)))                                                          \
      r = (T)(r + b);                                                                            \
    return r;                                                                                    \
  }                                                                                              \
  static inline T parpy_pow_##S(T a, T b) {                                                      \
    T r = 1;                                                                                     \
    if (b < 0)                                                                                   \
      return 0;                                                                                  \
    while (b) {                                                                                  \
      if (b & 1)                                                                                 \
        r = (T)(r * a);                                                                          \
      a = (T)(a * a);                                                                            \
      b = (T)(b >> 1);                                                                           \
    }                                                                                            \
    return r;                                                                                    \
  }                                                                                              \
  static inline T parpy_max_##S(T a, T b) { return a > b ? a : b; }                              \
  static inline T parpy_min_##S(T a, T b) { return a < b ? a : b; }                              \
  static inline T parpy_abs_##S(T a) { return a < 0 ? (T)(0 - a) : a; }

/* np.fmod (C's remainder, the sign of the dividend; 0 for a zero divisor as
 * NumPy gives), np.sign and np.square, wrapping as NumPy does. */
#define PARPY_INT_MATH(T, S, MIN)                                                                \
  static inline T parpy_fmod_##S(T a, T b) {                                                     \
    if (b == 0 || ((MIN) != 0 && b == (T)-1))                                                    \
      return 0;                                                                                  \
    return (T)(a % b);                                                                           \
  }                                                                                              \
  static inline T parpy_sign_##S(T a) { return (T)((a > 0) - (a < 0)); }                         \
  static inline T parpy_square_##S(T a) { return (T)((uint64_t)a * (uint64_t)a); }

PARPY_INT_MATH(int8_t, i8, INT8_MIN)
PARPY_INT_MATH(int16_t, i16, INT16_MIN)
PARPY_INT_MATH(int32_t, i32, INT32_MIN)
PARPY_INT_MATH(int64_t, i64, INT64_MIN)
PARPY_INT_MATH(uint8_t, u8, 0)
PARPY_INT_MATH(uint16_t, u16, 0)
PARPY_INT_MATH(uint32_t, u32, 0)
PARPY_INT_MATH(uint64_t, u64, 0)

PARPY_INT_OPS(int8_t, i8, INT8_MIN)
PARPY_INT_OPS(int16_t, i16, INT16_MIN)
PARPY_INT_OPS(int32_t, i32, INT32_MIN)
PARPY_INT_OPS(int64_t, i64, INT64_MIN)
PARPY_INT_OPS(uint8_t, u8, 0)
PARPY_INT_OPS(uint16_t, u16, 0)
PARPY_INT_OPS(uint32_t, u32, 0)
PARPY_INT_OPS(uint64_t, u64, 0)

/* max/min of bools: True wins max, False wins min (NumPy: or, and). */
static inline bool parpy_max_bool(bool a, bool b) { return a || b; }
static inline bool parpy_min_bool(bool a, bool b) { return a && b; }

/* int64 against uint64 by value (-1, 0 or 1); C would convert the int64
 * to uint64, and NumPy's promotion, float64, rounds near 2**63. */
static inline int parpy_cmp_i64_u64(int64_t a, uint64_t b) {
  return a < 0 || (uint64_t)a < b ? -1 : (uint64_t)a > b;
}
static inline int parpy_cmp_u64_i64(uint64_t a, int64_t b) { return -parpy_cmp_i64_u64(b, a); }

/* ---- float to integer: NumPy's results on x86-64 ----
 * C leaves a conversion of an out-of-range float (or NaN) undefined; x86's
 * instructions, which NumPy's C casts compile to, give INT_MIN instead.
 * int8/int16/uint8/uint16 go through int32 and uint32 through int64 (as
 * compiled casts do), uint64 through int64 on each side of 2**63. */
static inline int64_t parpy_to_i64(double d) {
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : INT64_MIN;
}
static inline int32_t parpy_to_i32(double d) {
  return d > -2147483649.0 && d < 2147483648.0 ? (int32_t)d : INT32_MIN;
}
static inline int16_t parpy_to_i16(double d) { return (int16_t)parpy_to_i32(d); }
static inline int8_t parpy_to_i8(double d) { return (int8_t)parpy_to_i32(d); }
static inline uint32_t parpy_to_u32(double d) { return (uint32_t)parpy_to_i64(d); }
static inline uint16_t parpy_to_u16(double d) { return (uint16_t)parpy_to_i32(d); }
static inline uint8_t parpy_to_u8(double d) { return (uint8_t)parpy_to_i32(d); }
static inline uint64_t parpy_to_u64(double d) {
  if (d >= 9223372036854775808.0)
    return (uint64_t)parpy_to_i64(d - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
  return (uint64_t)parpy_to_i64(d);
}

/* ---- shifts: NumPy's results where C's are undefined ----
 * A count of the width or more, or a negative one, shifts everything out (0,
 * or -1 for a negative number shifted right); a negative number shifted
 * left shifts its bits as unsigned. */
#define PARPY_SHIFTS(T, UT, S, BITS, IS_SIGNED)                                                  \
  static inline T parpy_shl_##S(T a, T b) {                                                            \
    return (uint64_t)b < (BITS) ? (T)((UT)a << b) : (T)0;                                       \
  }                                                                                             \
  static inline T parpy_shr_##S(T a, T b) {                                                            \
    return (uint64_t)b < (BITS) ? (T)(a >> b) : (T)((IS_SIGNED) && a < (T)0 ? -1 : 0);          \
  }

PARPY_SHIFTS(int8_t, uint8_t, i8, 8, 1)
PARPY_SHIFTS(int16_t, uint16_t, i16, 16, 1)
PARPY_SHIFTS(int32_t, uint32_t, i32, 32, 1)
PARPY_SHIFTS(int64_t, uint64_t, i64, 64, 1)
PARPY_SHIFTS(uint8_t, uint8_t, u8, 8, 0)
PARPY_SHIFTS(uint16_t, uint16_t, u16, 16, 0)
PARPY_SHIFTS(uint32_t, uint32_t, u32, 32, 0)
PARPY_SHIFTS(uint64_t, uint64_t, u64, 64, 0)

/* ---- floats: the algorithm of NumPy's npy_divmod ---- */
#define PARPY_FLOAT_OPS(T, S, FMOD, FLOOR, COPYSIGN)                                             \
  static inline T parpy_mod_##S(T a, T b) {                                                      \
    if (b == 0)                                                                                  \
      return (T)FMOD(a, b);                                                                      \
    T mod = (T)FMOD(a, b);                                                                       \
    if (mod != 0) {                                                                              \
      if ((b < 0) != (mod < 0))                                                                  \
        mod = (T)(mod + b);                                                                      \
    } else {                                                                                     \
      mod = (T)COPYSIGN(0, b);                                                                   \
    }                                                                                            \
    return mod;                                                                                  \
  }                                                                                              \
  static inline T parpy_floordiv_##S(T a, T b) {                                                 \
    if (b == 0)                                                                                  \
      return (T)(a / b);                                                                         \
    T mod = (T)FMOD(a, b);                                                                       \
    T div = (T)((a - mod) / b);                                                                  \
    if (mod != 0 && ((b < 0) != (mod < 0)))                                                      \
      div = (T)(div - 1);                                                                        \
    T floordiv;                                                                                  \
    if (div != 0) {                                                                              \
      floordiv = (T)FLOOR(div);                                                                  \
      if (div - floordiv > (T)0.5)                                                               \
        floordiv = (T)(floordiv + 1);                                                            \
    } else {                                                                                     \
      floordiv = (T)COPYSIGN(0, a / b);                                                          \
    }                                                                                            \
    return floordiv;                                                                             \
  }                                                                                              \
  static inline T parpy_max_##S(T a, T b) { return (a > b || a != a) ? a : b; }                  \
  static inline T parpy_min_##S(T a, T b) { return (a < b || a != a) ? a : b; }                  \
  /* Python's builtin max/min: the first argument unless the second compares \
   * greater (smaller), so a NaN is kept only when it comes first. */        \
  static inline T parpy_pymax_##S(T a, T b) { return b > a ? b : a; }                            \
  static inline T parpy_pymin_##S(T a, T b) { return b < a ? b : a; }

/* np.sign (NaN stays NaN), square, reciprocal, and radians/degrees with
 * NumPy's constants in the type's own precision (half computes in float). */
#define PARPY_FLOAT_MATH(T, S, C)                                                                \
  static inline T parpy_sign_##S(T a) {                                                          \
    return a > 0 ? (T)1 : a < 0 ? (T)-1 : a == 0 ? (T)0 : a;                                     \
  }                                                                                              \
  static inline T parpy_square_##S(T a) { return (T)((C)a * (C)a); }                             \
  static inline T parpy_reciprocal_##S(T a) { return (T)((C)1 / (C)a); }                         \
  static inline T parpy_radians_##S(T a) {                                                       \
    return (T)((C)a * ((C)3.141592653589793238462643383279502884 / (C)180));                     \
  }                                                                                              \
  static inline T parpy_degrees_##S(T a) {                                                       \
    return (T)((C)a * ((C)180 / (C)3.141592653589793238462643383279502884));                     \
  }

PARPY_FLOAT_MATH(float, f32, float)
PARPY_FLOAT_MATH(double, f64, double)
PARPY_FLOAT_MATH(half, f16, float)

PARPY_FLOAT_OPS(float, f32, fmodf, floorf, copysignf)
PARPY_FLOAT_OPS(double, f64, fmod, floor, copysign)
PARPY_FLOAT_OPS(half, f16, fmodf, floorf, copysignf)

/* ---- pairwise summation (float reductions) ----
 * A float sum runs in blocks of PARPY_SUM_BLOCK elements, each summed by an
 * `omp simd` reduction (a few lanes, so short chains of dependent adds);
 * the block sums are then added pairwise: part[k] holds the sum of 2^k
 * consecutive blocks, and pushing a block adds equal-sized sums together
 * as a binary counter carries.  The rounding error is then bounded by about
 * (PARPY_SUM_BLOCK / lanes + log2(lanes) + log2(blocks)) * eps * sum(|x|),
 * as for NumPy's pairwise summation, instead of n * eps for a running sum.
 * float16 sums are added in float, as NumPy does. */
#define PARPY_SUM_BLOCK 128

#define PARPY_PAIRWISE_SUM(T, S)                                                                 \
  typedef struct parpy_sum_##S {                                                                 \
    uint64_t n; /* blocks pushed */                                                             \
    T part[64];                                                                                  \
  } parpy_sum_##S;                                                                               \
  static inline void parpy_sum_init_##S(parpy_sum_##S *s) { s->n = 0; }                         \
  static inline void parpy_sum_push_##S(parpy_sum_##S *s, T v) {                                 \
    uint64_t n = s->n++;                                                                         \
    int k = 0;                                                                                   \
    for (; n & 1; n >>= 1, k++)                                                                  \
      v = s->part[k] + v;                                                                        \
    s->part[k] = v;                                                                              \
  }                                                                                              \
  static inline T parpy_sum_total_##S(const parpy_sum_##S *s) {                                  \
    T t = 0;                                                                                     \
    for (int k = 0; k < 64; k++)                                                                 \
      if ((s->n >> k) & 1)                                                                       \
        t = s->part[k] + t;                                                                      \
    return t;                                                                                    \
  }

PARPY_PAIRWISE_SUM(float, f32)
PARPY_PAIRWISE_SUM(double, f64)

/* ---- atomic updates: the scatter updates of a .reduce() loop ----
 * + * & | ^ through OpenMP's atomic update (native for every type GCC and
 * Clang know, _Float16 and bool included); max and min, which OpenMP 4.5
 * lacks, through a compare-and-swap loop with NumPy's NaN-propagating
 * maximum. */
#define PARPY_ATOMIC_CAS(T, S, NAME, F)                                                          \
  static inline void parpy_atomic_##NAME##_##S(T *p, T v) {                                     \
    T old, val;                                                                                  \
    __atomic_load(p, &old, __ATOMIC_RELAXED);                                                    \
    do {                                                                                         \
      val = F(old, v);                                                                           \
    } while (!__atomic_compare_exchange(p, &old, &val, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));  \
  }
#define PARPY_ATOMIC_OMP(T, S, NAME, OP)                                                         \
  static inline void parpy_atomic_##NAME##_##S(T *p, T v) {                                      \
    _Pragma("omp atomic update") *p OP v;                                                        \
  }
#define PARPY_ATOMIC_ARITH(T, S)                                                                 \
  PARPY_ATOMIC_OMP(T, S, add, +=)                                                                \
  PARPY_ATOMIC_OMP(T, S, mul, *=)                                                                \
  PARPY_ATOMIC_CAS(T, S, max, parpy_max_##S)                                                     \
  PARPY_ATOMIC_CAS(T, S, min, parpy_min_##S)
#define PARPY_ATOMIC_INT(T, S)                                                                   \
  PARPY_ATOMIC_ARITH(T, S)                                                                       \
  PARPY_ATOMIC_OMP(T, S, and, &=)                                                                \
  PARPY_ATOMIC_OMP(T, S, or, |=)                                                                 \
  PARPY_ATOMIC_OMP(T, S, xor, ^=)

PARPY_ATOMIC_INT(int8_t, i8)
PARPY_ATOMIC_INT(int16_t, i16)
PARPY_ATOMIC_INT(int32_t, i32)
PARPY_ATOMIC_INT(int64_t, i64)
PARPY_ATOMIC_INT(uint8_t, u8)
PARPY_ATOMIC_INT(uint16_t, u16)
PARPY_ATOMIC_INT(uint32_t, u32)
PARPY_ATOMIC_INT(uint64_t, u64)
PARPY_ATOMIC_ARITH(float, f32)
PARPY_ATOMIC_ARITH(double, f64)
PARPY_ATOMIC_ARITH(half, f16)
PARPY_ATOMIC_OMP(bool, bool, add, +=)
PARPY_ATOMIC_OMP(bool, bool, and, &=)
PARPY_ATOMIC_OMP(bool, bool, or, |=)
PARPY_ATOMIC_OMP(bool, bool, xor, ^=)

/* Parallel max/min of floats where cpu_reduction does not take the loop:
 * OpenMP's reduction(max:) compares with > and drops NaN; NumPy's max
 * propagates it.  max and min are idempotent, so each
 * thread's copy may start from the original value. */
#pragma omp declare reduction(parpy_max_f32 : float : omp_out = parpy_max_f32(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)
#pragma omp declare reduction(parpy_min_f32 : float : omp_out = parpy_min_f32(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)
#pragma omp declare reduction(parpy_max_f64 : double : omp_out = parpy_max_f64(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)
#pragma omp declare reduction(parpy_min_f64 : double : omp_out = parpy_min_f64(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)
#pragma omp declare reduction(parpy_max_f16 : half : omp_out = parpy_max_f16(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)
#pragma omp declare reduction(parpy_min_f16 : half : omp_out = parpy_min_f16(omp_out, omp_in)) \
    initializer(omp_priv = omp_orig)

/* ---- print(...) ----
 * A line is built in a buffer of the thread and written with one call, so
 * lines of different threads do not mix.  Floats print as Python and NumPy
 * print them: the shortest digits that read back as the same value of the
 * type, positional between 1e-4 and 1e16 (float32: 1e6, float16: 1e3). */
#ifdef PARPY_PRINT /* defined by code that prints: stdio's names are not reserved otherwise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PARPY_LINE = 4096 };
static _Thread_local char parpy_line[PARPY_LINE];
static _Thread_local int parpy_line_len, parpy_line_items;

static inline void parpy_print_begin(void) { parpy_line_len = parpy_line_items = 0; }

static inline void parpy_print_str(const char *s) {
  size_t n = strlen(s);
  if (parpy_line_items++ && parpy_line_len < PARPY_LINE - 1)
    parpy_line[parpy_line_len++] = ' ';
  if (n > (size_t)(PARPY_LINE - 1 - parpy_line_len))
    n = (size_t)(PARPY_LINE - 1 - parpy_line_len);
  memcpy(parpy_line + parpy_line_len, s, n);
  parpy_line_len += (int)n;
}

static inline void parpy_print_end(void) {
  parpy_line[parpy_line_len++] = '\n';
  fwrite(parpy_line, 1, (size_t)parpy_line_len, stdout);
  fflush(stdout);
}

static inline void parpy_print_i64(int64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%lld", (long long)v);
  parpy_print_str(b);
}
static inline void parpy_print_u64(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%llu", (unsigned long long)v);
  parpy_print_str(b);
}
static inline void parpy_print_bool(bool v) { parpy_print_str(v ? "True" : "False"); }

/* kind 0: float64 (Python's repr), 1: float32, 2: float16 */
static inline int parpy_reads_back(const char *s, double v, int kind) {
  double r = strtod(s, NULL);
  return kind == 2 ? (half)r == (half)v : kind == 1 ? (float)r == (float)v : r == v;
}

static inline void parpy_print_float(double v, int kind) {
  char e[40], out[48], *o = out;
  if (v != v) {
    parpy_print_str("nan");
    return;
  }
  if (isinf(v)) {
    parpy_print_str(v < 0 ? "-inf" : "inf");
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    if (parpy_reads_back(e, v, kind))
      break;
  }
  char d[24];
  int nd = 0;
  const char *q = e;
  if (*q == '-')
    *o++ = '-', q++;
  for (; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9')
      d[nd++] = *q;
  int x = atoi(q + 1);
  while (nd > 1 && d[nd - 1] == '0')
    nd--;
  double a = fabs(v), hi = kind == 2 ? 1e3 : kind == 1 ? 1e6 : 1e16;
  int positional = kind == 0 ? (x >= -4 && x < 16) : (a == 0 || (a >= 1e-4 && a < hi));
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
    o += snprintf(o, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
  }
  *o = 0;
  parpy_print_str(out);
}
static inline void parpy_print_f64(double v) { parpy_print_float(v, 0); }
static inline void parpy_print_f32(float v) { parpy_print_float(v, 1); }
static inline void parpy_print_f16(half v) { parpy_print_float((double)v, 2); }
#endif

#endif
