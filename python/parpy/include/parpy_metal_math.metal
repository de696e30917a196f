/* parpy_metal_math.metal - Python's and NumPy's arithmetic where C's
 * differs, for the code ParPy generates for the Metal backend: // and %
 * floor, integer division by zero gives 0, max/min propagate NaN, integer
 * ** integer stays an integer, np.fmod/sign/square/..., and the functions of
 * C's math library that Metal lacks (log1p, expm1, cbrt, hypot, erf, erfc,
 * tgamma, lgamma), all computed in float.
 *
 * Written so that it is both Metal Shading Language and C++: the runtime
 * puts it before the kernels of every library (see
 * parpy_metal_prelude.metal); parpy_metal.h includes it as C++ for the host
 * code, and the simulator for the kernels, with the float functions of
 * namespace metal from parpy_metal_math.h.  No include guard: it is
 * included once per namespace. */
#ifndef INT64_MIN
#define INT64_MIN (-9223372036854775807L - 1L)
#endif
#ifndef UINT64_MAX
#define UINT64_MAX 18446744073709551615UL
#endif

/* ---- integers ---- */
#define PARPY_INT_OPS(T, S, IS_SIGNED)                                                           \
  inline T parpy_floordiv_##S(T a, T b) {                                                        \
    if (b == 0)                                                                                  \
      return 0;                                                                                  \
    if (IS_SIGNED && b == (T)-1)                                                                 \
      return (T)(0 - (uint64_t)a); /* avoids the overflow of MIN / -1 */                        \
    T q = (T)(a / b);                                                                            \
    if (IS_SIGNED && (T)(a % b) != 0 && ((a < 0) != (b < 0)))                                    \
      q--;                                                                                       \
    return q;                                                                                    \
  }                                                                                              \
  inline T parpy_mod_##S(T a, T b) {                                                             \
    if (b == 0 || (IS_SIGNED && b == (T)-1))                                                     \
      return 0;                                                                                  \
    T r = (T)(a % b);                                                                            \
    if (IS_SIGNED && r != 0 && ((r < 0) != (b < 0)))                                             \
      r = (T)(r + b);                                                                            \
    return r;                                                                                    \
  }                                                                                              \
  inline T parpy_pow_##S(T a, T b) {                                                             \
    T r = 1;                                                                                     \
    if (IS_SIGNED && b < (T)0)                                                                   \
      return 0;                                                                                  \
    while (b) {                                                                                  \
      if (b & 1)                                                                                 \
        r = (T)(r * a);                                                                          \
      a = (T)(a * a);                                                                            \
      b = (T)(b >> 1);                                                                           \
    }                                                                                            \
    return r;                                                                                    \
  }                                                                                              \
  inline T parpy_max_##S(T a, T b) { return a > b ? a : b; }                                     \
  inline T parpy_min_##S(T a, T b) { return a < b ? a : b; }                                     \
  inline T parpy_abs_##S(T a) { return (IS_SIGNED && a < (T)0) ? (T)(0 - a) : a; }

PARPY_INT_OPS(int8_t, i8, true)
PARPY_INT_OPS(int16_t, i16, true)
PARPY_INT_OPS(int32_t, i32, true)
PARPY_INT_OPS(int64_t, i64, true)
PARPY_INT_OPS(uint8_t, u8, false)
PARPY_INT_OPS(uint16_t, u16, false)
PARPY_INT_OPS(uint32_t, u32, false)
PARPY_INT_OPS(uint64_t, u64, false)

/* max and min of bools (Python's max(True, False)): or, and. */
inline bool parpy_max_bool(bool a, bool b) { return a || b; }
inline bool parpy_min_bool(bool a, bool b) { return a && b; }

/* int64 against uint64 by value (-1, 0 or 1). */
inline int parpy_cmp_i64_u64(int64_t a, uint64_t b) {
  return a < 0 || (uint64_t)a < b ? -1 : (uint64_t)a > b;
}
inline int parpy_cmp_u64_i64(uint64_t a, int64_t b) { return -parpy_cmp_i64_u64(b, a); }

/* Float to integer: NumPy's results on x86-64 (INT_MIN out of range).  The
 * kernels convert from float (Metal has no double), the host from double. */
#ifdef __METAL_VERSION__
#define PARPY_TO_FLOAT float
#else
#define PARPY_TO_FLOAT double
#endif
inline int64_t parpy_to_i64(PARPY_TO_FLOAT d) {
  return d >= (PARPY_TO_FLOAT)-9223372036854775808.0 && d < (PARPY_TO_FLOAT)9223372036854775808.0
             ? (int64_t)d
             : INT64_MIN;
}
inline int32_t parpy_to_i32(PARPY_TO_FLOAT d) {
  return d > (PARPY_TO_FLOAT)-2147483649.0 && d < (PARPY_TO_FLOAT)2147483648.0
             ? (int32_t)d
             : (int32_t)(-2147483647 - 1);
}
inline int16_t parpy_to_i16(PARPY_TO_FLOAT d) { return (int16_t)parpy_to_i32(d); }
inline int8_t parpy_to_i8(PARPY_TO_FLOAT d) { return (int8_t)parpy_to_i32(d); }
inline uint32_t parpy_to_u32(PARPY_TO_FLOAT d) { return (uint32_t)parpy_to_i64(d); }
inline uint16_t parpy_to_u16(PARPY_TO_FLOAT d) { return (uint16_t)parpy_to_i32(d); }
inline uint8_t parpy_to_u8(PARPY_TO_FLOAT d) { return (uint8_t)parpy_to_i32(d); }
inline uint64_t parpy_to_u64(PARPY_TO_FLOAT d) {
  if (d >= (PARPY_TO_FLOAT)9223372036854775808.0)
    return (uint64_t)parpy_to_i64(d - (PARPY_TO_FLOAT)9223372036854775808.0) ^ ((uint64_t)1 << 63);
  return (uint64_t)parpy_to_i64(d);
}

/* Shifts: NumPy's results where C's are undefined. */
#define PARPY_SHIFTS(T, UT, S, BITS, IS_SIGNED)                                                  \
  inline T parpy_shl_##S(T a, T b) { return (uint64_t)b < (BITS) ? (T)((UT)a << b) : (T)0; }     \
  inline T parpy_shr_##S(T a, T b) {                                                             \
    return (uint64_t)b < (BITS) ? (T)(a >> b) : (T)((IS_SIGNED) && a < (T)0 ? -1 : 0);           \
  }

PARPY_SHIFTS(int8_t, uint8_t, i8, 8, true)
PARPY_SHIFTS(int16_t, uint16_t, i16, 16, true)
PARPY_SHIFTS(int32_t, uint32_t, i32, 32, true)
PARPY_SHIFTS(int64_t, uint64_t, i64, 64, true)
PARPY_SHIFTS(uint8_t, uint8_t, u8, 8, false)
PARPY_SHIFTS(uint16_t, uint16_t, u16, 16, false)
PARPY_SHIFTS(uint32_t, uint32_t, u32, 32, false)
PARPY_SHIFTS(uint64_t, uint64_t, u64, 64, false)

/* ---- floats: NumPy's npy_divmod, computed in float ---- */
#define PARPY_FLOAT_OPS(T, S, C)                                                                    \
  inline T parpy_mod_##S(T a_, T b_) {                                                           \
    C a = (C)a_, b = (C)b_;                                                          \
    if (b == 0)                                                                                  \
      return (T)metal::fmod(a, b);                                                               \
    C mod = metal::fmod(a, b);                                                               \
    if (mod != 0) {                                                                              \
      if ((b < 0) != (mod < 0))                                                                  \
        mod += b;                                                                                \
    } else {                                                                                     \
      mod = metal::copysign((C)0, b);                                                            \
    }                                                                                            \
    return (T)mod;                                                                               \
  }                                                                                              \
  inline T parpy_floordiv_##S(T a_, T b_) {                                                      \
    C a = (C)a_, b = (C)b_;                                                          \
    if (b == 0)                                                                                  \
      return (T)(a / b);                                                                         \
    C mod = metal::fmod(a, b);                                                               \
    C div = (a - mod) / b;                                                                   \
    if (mod != 0 && ((b < 0) != (mod < 0)))                                                      \
      div -= 1;                                                                                  \
    C fd;                                                                                    \
    if (div != 0) {                                                                              \
      fd = metal::floor(div);                                                                    \
      if (div - fd > (C)0.5)                                                                       \
        fd += 1;                                                                                 \
    } else {                                                                                     \
      fd = metal::copysign((C)0, a / b);                                                         \
    }                                                                                            \
    return (T)fd;                                                                                \
  }                                                                                              \
  inline T parpy_max_##S(T a, T b) {                                                             \
    C x = (C)a, y = (C)b;                                                                        \
    return (x > y || x != x) ? a : b;                                                            \
  }                                                                                              \
  inline T parpy_min_##S(T a, T b) {                                                             \
    C x = (C)a, y = (C)b;                                                                        \
    return (x < y || x != x) ? a : b;                                                            \
  }                                                                                              \
  /* Python's builtin max/min: a NaN is kept only when it comes first. */                        \
  inline T parpy_pymax_##S(T a, T b) { return (C)b > (C)a ? b : a; }                             \
  inline T parpy_pymin_##S(T a, T b) { return (C)b < (C)a ? b : a; }

PARPY_FLOAT_OPS(float, f32, float)
PARPY_FLOAT_OPS(half, f16, float)

/* np.fmod (the sign of the dividend; 0 for a zero divisor), np.sign and
 * np.square of integers, wrapping as NumPy does. */
#define PARPY_INT_MATH(T, S, IS_SIGNED)                                                          \
  inline T parpy_fmod_##S(T a, T b) {                                                            \
    if (b == 0 || (IS_SIGNED && b == (T)-1))                                                     \
      return 0;                                                                                  \
    return (T)(a % b);                                                                           \
  }                                                                                              \
  inline T parpy_sign_##S(T a) { return (T)((a > (T)0) - (IS_SIGNED && a < (T)0)); }             \
  inline T parpy_square_##S(T a) { return (T)((uint64_t)a * (uint64_t)a); }

PARPY_INT_MATH(int8_t, i8, true)
PARPY_INT_MATH(int16_t, i16, true)
PARPY_INT_MATH(int32_t, i32, true)
PARPY_INT_MATH(int64_t, i64, true)
PARPY_INT_MATH(uint8_t, u8, false)
PARPY_INT_MATH(uint16_t, u16, false)
PARPY_INT_MATH(uint32_t, u32, false)
PARPY_INT_MATH(uint64_t, u64, false)

/* np.sign (NaN stays NaN), square, reciprocal, radians, degrees, in float. */
#define PARPY_FLOAT_MATH(T, S, C)                                                                   \
  inline T parpy_sign_##S(T a_) {                                                                \
    C a = (C)a_;                                                                                 \
    return (T)(a > 0 ? (C)1 : a < 0 ? (C)-1 : a == 0 ? (C)0 : a);                                \
  }                                                                                              \
  inline T parpy_square_##S(T a) { return (T)((C)a * (C)a); }                                    \
  inline T parpy_reciprocal_##S(T a) { return (T)((C)1 / (C)a); }                                \
  inline T parpy_radians_##S(T a) { return (T)((C)a * ((C)3.14159265358979323846 / (C)180)); } \
  inline T parpy_degrees_##S(T a) { return (T)((C)a * ((C)180 / (C)3.14159265358979323846)); }

PARPY_FLOAT_MATH(float, f32, float)
PARPY_FLOAT_MATH(half, f16, float)

#ifndef __METAL_VERSION__ /* C++ host code only: Metal has no double */
PARPY_FLOAT_OPS(double, f64, double)
PARPY_FLOAT_MATH(double, f64, double)
#endif

/* C's math functions that Metal's library lacks, in float. */
inline float parpy_log1p(float x) { /* Kahan: exact where 1 + x rounds */
  float u = 1.0f + x;
  return u == 1.0f ? x : metal::log(u) * (x / (u - 1.0f));
}
inline float parpy_expm1(float x) {
  float u = metal::exp(x);
  if (u == 1.0f)
    return x;
  float um1 = u - 1.0f;
  if (um1 == -1.0f || u == INFINITY)
    return um1;
  return um1 * (x / metal::log(u));
}
inline float parpy_cbrt(float x) {
  if (x == 0.0f || x != x || metal::fabs(x) == INFINITY)
    return x;
  float y = metal::copysign(metal::pow(metal::fabs(x), 1.0f / 3.0f), x);
  return y - (y * y * y - x) / (3.0f * y * y); /* one Newton step */
}
inline float parpy_hypot(float x, float y) {
  float a = metal::fabs(x), b = metal::fabs(y);
  if (a == INFINITY || b == INFINITY)
    return INFINITY;
  if (a != a || b != b)
    return a + b;
  float m = a > b ? a : b, r = (a > b ? b : a) / m;
  return m == 0.0f ? 0.0f : m * metal::sqrt(1.0f + r * r);
}
/* Numerical Recipes' erfcc (fractional error below 1.2e-7), and a Taylor
 * series for erf near 0, where 1 - erfc would cancel. */
inline float parpy_erfc(float x) {
  float z = metal::fabs(x), t = 1.0f / (1.0f + 0.5f * z);
  float p = -0.82215223f + t * 0.17087277f;
  p = 1.48851587f + t * p;
  p = -1.13520398f + t * p;
  p = 0.27886807f + t * p;
  p = -0.18628806f + t * p;
  p = 0.09678418f + t * p;
  p = 0.37409196f + t * p;
  p = 1.00002368f + t * p;
  float r = t * metal::exp(-z * z - 1.26551223f + t * p);
  return x >= 0.0f ? r : 2.0f - r;
}
inline float parpy_erf(float x) {
  if (metal::fabs(x) < 0.5f) {
    float x2 = x * x;
    float s = 1.0f / 1320.0f;
    s = 1.0f / 216.0f - x2 * s;
    s = 1.0f / 42.0f - x2 * s;
    s = 0.1f - x2 * s;
    s = 1.0f / 3.0f - x2 * s;
    s = 1.0f - x2 * s;
    return 1.1283791670955126f * x * s;
  }
  return 1.0f - parpy_erfc(x);
}
/* Lanczos (g = 7, 9 terms) for x >= 0.5, reflection below. */
inline float parpy_lanczos_sum(float x) { /* x: the argument minus 1 */
  float a = 0.99999999999980993f + 676.5203681218851f / (x + 1.0f);
  a += -1259.1392167224028f / (x + 2.0f);
  a += 771.32342877765313f / (x + 3.0f);
  a += -176.61502916214059f / (x + 4.0f);
  a += 12.507343278686905f / (x + 5.0f);
  a += -0.13857109526572012f / (x + 6.0f);
  a += 9.9843695780195716e-6f / (x + 7.0f);
  a += 1.5056327351493116e-7f / (x + 8.0f);
  return a;
}
inline float parpy_tgamma(float x) {
  if (x != x || x == -INFINITY)
    return NAN;
  if (x == INFINITY)
    return INFINITY;
  if (x == metal::floor(x) && x <= 0.0f)
    return x == 0.0f ? metal::copysign(INFINITY, x) : NAN;
  if (x < 0.5f)
    return 3.14159265358979f / (metal::sin(3.14159265358979f * x) * parpy_tgamma(1.0f - x));
  if (x > 35.1f)
    return INFINITY;
  float y = x - 1.0f, t = y + 7.5f, h = metal::pow(t, 0.5f * (y + 0.5f));
  return 2.5066282746310002f * h * (h * metal::exp(-t)) * parpy_lanczos_sum(y);
}
inline float parpy_lgamma(float x) {
  if (x != x)
    return x;
  if (metal::fabs(x) == INFINITY)
    return INFINITY;
  if (x == metal::floor(x) && x <= 0.0f)
    return INFINITY;
  if (x < 0.5f)
    return metal::log(3.14159265358979f / metal::fabs(metal::sin(3.14159265358979f * x))) -
           parpy_lgamma(1.0f - x);
  if (x < 8.0f) /* near the roots 1 and 2 the sum below would cancel */
    return metal::log(metal::fabs(parpy_tgamma(x)));
  float y = x - 1.0f, t = y + 7.5f;
  return 0.91893853320467274f + (y + 0.5f) * metal::log(t) - t +
         metal::log(parpy_lanczos_sum(y));
}

