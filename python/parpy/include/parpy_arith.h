/* parpy_arith.h - Python's and NumPy's scalar arithmetic where C's differs,
 * shared by parpy_cpu.h (C) and parpy_cuda.h (CUDA C++, for host and device
 * code alike).  The includer first defines PARPY_FN, the qualifiers of every
 * function here ("static inline"; CUDA adds __host__ __device__), and
 * includes the fixed-width integers, bool and <math.h>.  Float functions are
 * macros, instantiated by each includer for the float types it has (half,
 * only when the code uses it on CUDA) and the math functions it calls. */
#ifndef PARPY_ARITH_H
#define PARPY_ARITH_H

/* ---- integers ---- */
#define PARPY_INT_OPS(T, S, IS_SIGNED)                                                           \
  PARPY_FN T parpy_floordiv_##S(T a, T b) {                                                      \
    if (b == 0)                                                                                  \
      return 0;                                                                                  \
    if (IS_SIGNED && b == (T)-1)                                                                 \
      return (T)(0 - (uint64_t)a); /* avoids the overflow of MIN / -1 */                        \
    T q = (T)(a / b);                                                                            \
    if (IS_SIGNED && (T)(a % b) != 0 && ((a < 0) != (b < 0)))                                    \
      q--;                                                                                       \
    return q;                                                                                    \
  }                                                                                              \
  PARPY_FN T parpy_mod_##S(T a, T b) {                                                           \
    if (b == 0 || (IS_SIGNED && b == (T)-1))                                                     \
      return 0;                                                                                  \
    T r = (T)(a % b);                                                                            \
    if (IS_SIGNED && r != 0 && ((r < 0) != (b < 0)))                                             \
      r = (T)(r + b);                                                                            \
    return r;                                                                                    \
  }                                                                                              \
  PARPY_FN T parpy_pow_##S(T a, T b) {                                                           \
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
  PARPY_FN T parpy_max_##S(T a, T b) { return a > b ? a : b; }                                   \
  PARPY_FN T parpy_min_##S(T a, T b) { return a < b ? a : b; }                                   \
  PARPY_FN T parpy_abs_##S(T a) { return (IS_SIGNED && a < (T)0) ? (T)(0 - a) : a; }

/* np.fmod (C's remainder; 0 for a zero divisor as NumPy gives), np.sign and
 * np.square, wrapping as NumPy does. */
#define PARPY_INT_MATH(T, S, IS_SIGNED)                                                          \
  PARPY_FN T parpy_fmod_##S(T a, T b) {                                                          \
    if (b == 0 || (IS_SIGNED && b == (T)-1))                                                     \
      return 0;                                                                                  \
    return (T)(a % b);                                                                           \
  }                                                                                              \
  PARPY_FN T parpy_sign_##S(T a) { return (T)((a > (T)0) - (IS_SIGNED && a < (T)0)); }           \
  PARPY_FN T parpy_square_##S(T a) { return (T)((uint64_t)a * (uint64_t)a); }

PARPY_INT_MATH(int8_t, i8, 1)
PARPY_INT_MATH(int16_t, i16, 1)
PARPY_INT_MATH(int32_t, i32, 1)
PARPY_INT_MATH(int64_t, i64, 1)
PARPY_INT_MATH(uint8_t, u8, 0)
PARPY_INT_MATH(uint16_t, u16, 0)
PARPY_INT_MATH(uint32_t, u32, 0)
PARPY_INT_MATH(uint64_t, u64, 0)

/* ---- bfloat16 ----
 * Stored as its 16 bits (the top half of a float32's) and computed in
 * float32: the compiler converts each operand to float and each result
 * back (src/passes/bfloat16.c), rounding to nearest even as PyTorch and
 * ml_dtypes do.  A NaN stays a NaN (quiet, with its sign).  The same code
 * runs on the Cpu, on CUDA devices and in the CUDA simulator, so the three
 * round alike. */
typedef struct parpy_bf16 {
  uint16_t bits;
} parpy_bf16;

PARPY_FN uint32_t parpy_f32_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  return u;
#endif
}

PARPY_FN float parpy_f32_from_bits(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
#endif
}

PARPY_FN float parpy_bf16_to_f32(parpy_bf16 x) { return parpy_f32_from_bits((uint32_t)x.bits << 16); }

PARPY_FN parpy_bf16 parpy_f32_to_bf16(float f) {
  uint32_t u = parpy_f32_bits(f);
  parpy_bf16 r;
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: quiet it, keep sign and top payload */
    r.bits = (uint16_t)((u >> 16) | 0x40u);
  else /* ties to even; a carry into the exponent rounds up to the next power (or inf) */
    r.bits = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  return r;
}

/* float64 (and integers, through float64) rounded once, as ml_dtypes does:
 * float32 rounded to odd keeps a sticky bit for the second rounding. */
PARPY_FN parpy_bf16 parpy_f64_to_bf16(double d) {
  float f = (float)d;
  if ((double)f != d && d == d) {
    uint32_t u = parpy_f32_bits(f);
    if (fabs((double)f) > fabs(d))
      u -= 1;
    f = parpy_f32_from_bits(u | 1);
  }
  return parpy_f32_to_bf16(f);
}

/* max/min of bools: True wins max, False wins min (NumPy: or, and). */
PARPY_FN bool parpy_max_bool(bool a, bool b) { return a || b; }
PARPY_FN bool parpy_min_bool(bool a, bool b) { return a && b; }

PARPY_INT_OPS(int8_t, i8, 1)
PARPY_INT_OPS(int16_t, i16, 1)
PARPY_INT_OPS(int32_t, i32, 1)
PARPY_INT_OPS(int64_t, i64, 1)
PARPY_INT_OPS(uint8_t, u8, 0)
PARPY_INT_OPS(uint16_t, u16, 0)
PARPY_INT_OPS(uint32_t, u32, 0)
PARPY_INT_OPS(uint64_t, u64, 0)

/* int64 against uint64 by value (-1, 0 or 1); C would convert the int64
 * to uint64, and NumPy's promotion, float64, rounds near 2**63. */
PARPY_FN int parpy_cmp_i64_u64(int64_t a, uint64_t b) {
  return a < 0 || (uint64_t)a < b ? -1 : (uint64_t)a > b;
}
PARPY_FN int parpy_cmp_u64_i64(uint64_t a, int64_t b) { return -parpy_cmp_i64_u64(b, a); }

/* ---- float to integer: NumPy's results on x86-64 ----
 * C leaves a conversion of an out-of-range float (or NaN) undefined; x86's
 * instructions, which NumPy's C casts compile to, give INT_MIN instead.
 * int8/int16/uint8/uint16 go through int32 and uint32 through int64 (as
 * compiled casts do), uint64 through int64 on each side of 2**63. */
PARPY_FN int64_t parpy_to_i64(double d) {
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : INT64_MIN;
}
PARPY_FN int32_t parpy_to_i32(double d) {
  return d > -2147483649.0 && d < 2147483648.0 ? (int32_t)d : INT32_MIN;
}
PARPY_FN int16_t parpy_to_i16(double d) { return (int16_t)parpy_to_i32(d); }
PARPY_FN int8_t parpy_to_i8(double d) { return (int8_t)parpy_to_i32(d); }
PARPY_FN uint32_t parpy_to_u32(double d) { return (uint32_t)parpy_to_i64(d); }
PARPY_FN uint16_t parpy_to_u16(double d) { return (uint16_t)parpy_to_i32(d); }
PARPY_FN uint8_t parpy_to_u8(double d) { return (uint8_t)parpy_to_i32(d); }
PARPY_FN uint64_t parpy_to_u64(double d) {
  if (d >= 9223372036854775808.0)
    return (uint64_t)parpy_to_i64(d - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
  return (uint64_t)parpy_to_i64(d);
}

/* ---- shifts: NumPy's results where C's are undefined ----
 * A count of the width or more, or a negative one, shifts everything out (0,
 * or -1 for a negative number shifted right); a negative number shifted
 * left shifts its bits as unsigned. */
#define PARPY_SHIFTS(T, UT, S, BITS, IS_SIGNED)                                                  \
  PARPY_FN T parpy_shl_##S(T a, T b) {                                                            \
    return (uint64_t)b < (BITS) ? (T)((UT)a << b) : (T)0;                                       \
  }                                                                                             \
  PARPY_FN T parpy_shr_##S(T a, T b) {                                                            \
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

/* ---- floats: NumPy's npy_divmod, computed in C (half: in float, rounded
 * once at the end, as NumPy's npy_half_divmod); FMOD, FLOOR and COPYSIGN
 * are the functions for C. ---- */
#define PARPY_FLOAT_OPS(T, S, C, FMOD, FLOOR, COPYSIGN)                                          \
  PARPY_FN T parpy_mod_##S(T a_, T b_) {                                                         \
    C a = (C)a_, b = (C)b_;                                                                      \
    if (b == 0)                                                                                  \
      return (T)FMOD(a, b);                                                                      \
    C mod = FMOD(a, b);                                                                          \
    if (mod != 0) {                                                                              \
      if ((b < 0) != (mod < 0))                                                                  \
        mod += b;                                                                                \
    } else {                                                                                     \
      mod = COPYSIGN((C)0, b);                                                                   \
    }                                                                                            \
    return (T)mod;                                                                               \
  }                                                                                              \
  PARPY_FN T parpy_floordiv_##S(T a_, T b_) {                                                    \
    C a = (C)a_, b = (C)b_;                                                                      \
    if (b == 0)                                                                                  \
      return (T)(a / b);                                                                         \
    C mod = FMOD(a, b);                                                                          \
    C div = (a - mod) / b;                                                                       \
    if (mod != 0 && ((b < 0) != (mod < 0)))                                                      \
      div -= 1;                                                                                  \
    C fd;                                                                                        \
    if (div != 0) {                                                                              \
      fd = FLOOR(div);                                                                           \
      if (div - fd > (C)0.5)                                                                     \
        fd += 1;                                                                                 \
    } else {                                                                                     \
      fd = COPYSIGN((C)0, a / b);                                                                \
    }                                                                                            \
    return (T)fd;                                                                                \
  }                                                                                              \
  PARPY_FN T parpy_max_##S(T a, T b) {                                                           \
    C x = (C)a, y = (C)b;                                                                        \
    return (x > y || x != x) ? a : b;                                                            \
  }                                                                                              \
  PARPY_FN T parpy_min_##S(T a, T b) {                                                           \
    C x = (C)a, y = (C)b;                                                                        \
    return (x < y || x != x) ? a : b;                                                            \
  }                                                                                              \
  /* Python's builtin max/min: a NaN is kept only when it comes first. */                       \
  PARPY_FN T parpy_pymax_##S(T a, T b) { return (C)b > (C)a ? b : a; }                           \
  PARPY_FN T parpy_pymin_##S(T a, T b) { return (C)b < (C)a ? b : a; }

/* np.sign (NaN stays NaN), square, reciprocal, and radians/degrees with
 * NumPy's constants in the type's own precision (half computes in float). */
#define PARPY_FLOAT_MATH(T, S, C)                                                                \
  PARPY_FN T parpy_sign_##S(T a_) {                                                              \
    C a = (C)a_;                                                                                 \
    return (T)(a > 0 ? (C)1 : a < 0 ? (C)-1 : a == 0 ? (C)0 : a);                                \
  }                                                                                              \
  PARPY_FN T parpy_square_##S(T a) { return (T)((C)a * (C)a); }                                  \
  PARPY_FN T parpy_reciprocal_##S(T a) { return (T)((C)1 / (C)a); }                              \
  PARPY_FN T parpy_radians_##S(T a) {                                                            \
    return (T)((C)a * ((C)3.141592653589793238462643383279502884 / (C)180));                     \
  }                                                                                              \
  PARPY_FN T parpy_degrees_##S(T a) {                                                            \
    return (T)((C)a * ((C)180 / (C)3.141592653589793238462643383279502884));                     \
  }

#endif
