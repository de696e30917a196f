/* parpy_cpu.h - included by the C code ParPy generates for the Cpu backend.
 *
 * Python's and NumPy's arithmetic differs from C's in a few places; these
 * small functions give the generated code Python's meaning:
 *   - // and % round towards negative infinity (C truncates towards zero),
 *     and integer division by zero gives 0 as in NumPy instead of trapping;
 *   - max/min propagate NaN as numpy.maximum/minimum do (parpy_pymax/pymin
 *     compare as Python's builtin max/min do);
 *   - integer ** integer is an integer, as in NumPy.
 * Those shared with the CUDA backend are in parpy_arith.h.
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

#define PARPY_FN static inline
#include "parpy_arith.h"

PARPY_FLOAT_MATH(float, f32, float)
PARPY_FLOAT_MATH(double, f64, double)
PARPY_FLOAT_MATH(half, f16, float)

PARPY_FLOAT_OPS(float, f32, float, fmodf, floorf, copysignf)
PARPY_FLOAT_OPS(double, f64, double, fmod, floor, copysign)
PARPY_FLOAT_OPS(half, f16, float, fmodf, floorf, copysignf) /* in float, as NumPy */

/* ---- `#pragma GCC unroll` inside OpenMP regions ----
 * gcc (12, at least) drops the unroll pragmas of the loops in the function
 * it outlines a parallel region into: the flag saying that the function has
 * some is not copied to it.  Inlining a function that has one sets the flag
 * again, so the Cpu printer calls this before each loop it asks to unroll;
 * the loop here runs no times and leaves no code. */
#ifndef __CUDACC__ /* (CUDA host code includes this file; nvcc warns of the pragma) */
static inline __attribute__((always_inline)) void parpy_unroll_here(int n) {
#pragma GCC unroll 2
  for (int i = 0; i < n; i++)
    __asm__ volatile("");
}
#endif

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
