/* parpy_cuda.h - included by the CUDA C++ that ParPy generates.
 *
 *  - Python's arithmetic where C's differs (as in parpy_cpu.h): // and %
 *    floor, integer division by zero gives 0, max/min propagate NaN, and
 *    integer ** integer stays an integer;
 *  - reductions of one value per thread over a warp, a block or a cluster
 *    of blocks, after which every thread holds the total;
 *  - error reporting: the generated entry returns 1 and <f>__error()
 *    returns the message set here.
 * Half precision and thread-block clusters need headers that take seconds
 * to compile; the generated code asks for them by defining PARPY_HALF or
 * PARPY_CLUSTERS first. */
#ifndef PARPY_CUDA_H
#define PARPY_CUDA_H

#ifdef PARPY_CUDA_SIM
/* The CPU simulator (docs/gpu.md): CUDA's names over host memory and fibers. */
#include "parpy_cuda_sim.h"
#else
#include <cuda_runtime.h>
/* The generated host code launches kernels with PARPY_LAUNCH(k, grid,
 * block, shared bytes, stream)(arguments), which the simulator defines
 * as a call of its own. */
#define PARPY_LAUNCH(kernel, grid, block, shared, stream) kernel<<<grid, block, shared, stream>>>
#endif

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#if defined(PARPY_HALF) && !defined(PARPY_CUDA_SIM)
#include <cuda_fp16.h>
typedef __half half;
#endif
#if defined(PARPY_CLUSTERS) && !defined(PARPY_CUDA_SIM)
#include <cooperative_groups.h>
#endif

#define PARPY_FN static __host__ __device__ inline

/* ---- print(...) ----
 * Device code has no snprintf: numbers are formatted by parpy_repr.h as
 * Python prints them, into a line each thread writes with one printf. */
#ifdef PARPY_PRINT
#define PARPY_REPR_FN static __host__ __device__ inline
#include "parpy_repr.h"
PARPY_FN int parpy_put_str(char *o, const char *s) {
  int n = 0;
  while (s[n]) {
    o[n] = s[n];
    n++;
  }
  return n;
}
/* One printf per line keeps it whole; host code flushes, as the Cpu's does,
 * so that its lines come out in order with Python's. */
PARPY_FN void parpy_print_line(const char *s) {
  printf("%s\n", s);
#ifndef __CUDA_ARCH__
  fflush(stdout);
#endif
}
#endif

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

/* ---- floats: NumPy's npy_divmod ---- */
#define PARPY_FLOAT_OPS(T, S, C)                                                                 \
  PARPY_FN T parpy_mod_##S(T a_, T b_) {                                                         \
    C a = (C)a_, b = (C)b_;                                                                      \
    if (b == 0)                                                                                  \
      return (T)fmod(a, b);                                                                      \
    C mod = fmod(a, b);                                                                          \
    if (mod != 0) {                                                                              \
      if ((b < 0) != (mod < 0))                                                                  \
        mod += b;                                                                                \
    } else {                                                                                     \
      mod = copysign((C)0, b);                                                                   \
    }                                                                                            \
    return (T)mod;                                                                               \
  }                                                                                              \
  PARPY_FN T parpy_floordiv_##S(T a_, T b_) {                                                    \
    C a = (C)a_, b = (C)b_;                                                                      \
    if (b == 0)                                                                                  \
      return (T)(a / b);                                                                         \
    C mod = fmod(a, b);                                                                          \
    C div = (a - mod) / b;                                                                       \
    if (mod != 0 && ((b < 0) != (mod < 0)))                                                      \
      div -= 1;                                                                                  \
    C fd;                                                                                        \
    if (div != 0) {                                                                              \
      fd = floor(div);                                                                           \
      if (div - fd > (C)0.5)                                                                     \
        fd += 1;                                                                                 \
    } else {                                                                                     \
      fd = copysign((C)0, a / b);                                                                \
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

PARPY_FLOAT_MATH(float, f32, float)
PARPY_FLOAT_MATH(double, f64, double)
#ifdef PARPY_HALF
PARPY_FLOAT_MATH(half, f16, float)
#endif

PARPY_FLOAT_OPS(float, f32, float)
PARPY_FLOAT_OPS(double, f64, double)
#ifdef PARPY_HALF
PARPY_FLOAT_OPS(half, f16, float)
#endif

/* ---- reductions ----
 * The operators, then one value per thread combined over a warp (shuffles),
 * a block (a warp's result per slot of shared memory, then one warp) and a
 * cluster (each block's result read by all through distributed shared
 * memory, in rank order so that every block computes the same total). */
struct parpy_add {
  template <typename T> __device__ T operator()(T a, T b) const { return (T)(a + b); }
};
struct parpy_mul {
  template <typename T> __device__ T operator()(T a, T b) const { return (T)(a * b); }
};
struct parpy_max {
  template <typename T> __device__ T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};
struct parpy_min {
  template <typename T> __device__ T operator()(T a, T b) const {
    return (a < b || a != a) ? a : b;
  }
};
struct parpy_and {
  template <typename T> __device__ T operator()(T a, T b) const { return a && b; }
};
struct parpy_or {
  template <typename T> __device__ T operator()(T a, T b) const { return a || b; }
};
struct parpy_bitand {
  template <typename T> __device__ T operator()(T a, T b) const { return (T)(a & b); }
};
struct parpy_bitor {
  template <typename T> __device__ T operator()(T a, T b) const { return (T)(a | b); }
};
struct parpy_bitxor {
  template <typename T> __device__ T operator()(T a, T b) const { return (T)(a ^ b); }
};

/* ---- atomic updates: the scatter updates of a .reduce() loop ----
 * CUDA's native atomics where the GPU has them (add of 32/64-bit ints,
 * float, double and half; max/min/and/or/xor of 32/64-bit ints); any other
 * type and operator through a compare-and-swap loop on the element, or for
 * 1- and 2-byte elements on the aligned 32-bit word holding it (device
 * allocations are at least 256-byte aligned, so the word is allocated). */
template <typename T, typename F> __device__ void parpy_atomic_cas(T *p, T v, F f) {
  if constexpr (sizeof(T) == 4 || sizeof(T) == 8) {
    typedef typename std::conditional<sizeof(T) == 4, unsigned int, unsigned long long>::type W;
    W *a = (W *)p, old = *a, assumed;
    do {
      assumed = old;
      T cur, nv;
      memcpy(&cur, &assumed, sizeof(T));
      nv = f(cur, v);
      W bits;
      memcpy(&bits, &nv, sizeof(T));
      old = atomicCAS(a, assumed, bits);
    } while (old != assumed);
  } else {
    size_t addr = (size_t)p;
    unsigned int *w = (unsigned int *)(addr & ~(size_t)3);
    unsigned int shift = (unsigned int)(addr & 3) * 8;
    unsigned int mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      unsigned int bits = (assumed & mask) >> shift;
      T cur, nv;
      memcpy(&cur, &bits, sizeof(T));
      nv = f(cur, v);
      unsigned int nb = 0;
      memcpy(&nb, &nv, sizeof(T));
      old = atomicCAS(w, assumed, (assumed & ~mask) | (nb << shift));
    } while (old != assumed);
  }
}

#define PARPY_ATOMIC_CAS(T, S, NAME, F)                                                          \
  __device__ inline void parpy_atomic_##NAME##_##S(T *p, T v) { parpy_atomic_cas(p, v, F()); }
#define PARPY_ATOMIC_NATIVE(T, S, NAME, FN, W)                                                   \
  __device__ inline void parpy_atomic_##NAME##_##S(T *p, T v) { FN((W *)p, (W)v); }
#define PARPY_ATOMIC_ALL_CAS(T, S)                                                               \
  PARPY_ATOMIC_CAS(T, S, add, parpy_add)                                                         \
  PARPY_ATOMIC_CAS(T, S, mul, parpy_mul)                                                         \
  PARPY_ATOMIC_CAS(T, S, max, parpy_max)                                                         \
  PARPY_ATOMIC_CAS(T, S, min, parpy_min)
#define PARPY_ATOMIC_BITS_CAS(T, S)                                                              \
  PARPY_ATOMIC_CAS(T, S, and, parpy_bitand)                                                      \
  PARPY_ATOMIC_CAS(T, S, or, parpy_bitor)                                                        \
  PARPY_ATOMIC_CAS(T, S, xor, parpy_bitxor)
/* 32- and 64-bit integers: all native but multiplication (W: CUDA's type). */
#define PARPY_ATOMIC_WORD(T, S, W)                                                               \
  PARPY_ATOMIC_NATIVE(T, S, add, atomicAdd, W)                                                   \
  PARPY_ATOMIC_CAS(T, S, mul, parpy_mul)                                                         \
  PARPY_ATOMIC_NATIVE(T, S, max, atomicMax, W)                                                   \
  PARPY_ATOMIC_NATIVE(T, S, min, atomicMin, W)                                                   \
  PARPY_ATOMIC_NATIVE(T, S, and, atomicAnd, W)                                                   \
  PARPY_ATOMIC_NATIVE(T, S, or, atomicOr, W)                                                     \
  PARPY_ATOMIC_NATIVE(T, S, xor, atomicXor, W)

PARPY_ATOMIC_ALL_CAS(int8_t, i8)
PARPY_ATOMIC_BITS_CAS(int8_t, i8)
PARPY_ATOMIC_ALL_CAS(int16_t, i16)
PARPY_ATOMIC_BITS_CAS(int16_t, i16)
PARPY_ATOMIC_ALL_CAS(uint8_t, u8)
PARPY_ATOMIC_BITS_CAS(uint8_t, u8)
PARPY_ATOMIC_ALL_CAS(uint16_t, u16)
PARPY_ATOMIC_BITS_CAS(uint16_t, u16)
PARPY_ATOMIC_WORD(int32_t, i32, int)
PARPY_ATOMIC_WORD(uint32_t, u32, unsigned int)
PARPY_ATOMIC_WORD(uint64_t, u64, unsigned long long)
/* int64: add wraps alike in two's complement; max/min need the signed type. */
PARPY_ATOMIC_NATIVE(int64_t, i64, add, atomicAdd, unsigned long long)
PARPY_ATOMIC_CAS(int64_t, i64, mul, parpy_mul)
PARPY_ATOMIC_NATIVE(int64_t, i64, max, atomicMax, long long)
PARPY_ATOMIC_NATIVE(int64_t, i64, min, atomicMin, long long)
PARPY_ATOMIC_NATIVE(int64_t, i64, and, atomicAnd, unsigned long long)
PARPY_ATOMIC_NATIVE(int64_t, i64, or, atomicOr, unsigned long long)
PARPY_ATOMIC_NATIVE(int64_t, i64, xor, atomicXor, unsigned long long)
/* Floats: native add; max/min keep NumPy's NaN propagation through CAS. */
PARPY_ATOMIC_NATIVE(float, f32, add, atomicAdd, float)
PARPY_ATOMIC_NATIVE(double, f64, add, atomicAdd, double)
PARPY_ATOMIC_CAS(float, f32, mul, parpy_mul)
PARPY_ATOMIC_CAS(double, f64, mul, parpy_mul)
PARPY_ATOMIC_CAS(float, f32, max, parpy_max)
PARPY_ATOMIC_CAS(double, f64, max, parpy_max)
PARPY_ATOMIC_CAS(float, f32, min, parpy_min)
PARPY_ATOMIC_CAS(double, f64, min, parpy_min)
#ifdef PARPY_HALF
PARPY_ATOMIC_NATIVE(half, f16, add, atomicAdd, half)
PARPY_ATOMIC_CAS(half, f16, mul, parpy_mul)
PARPY_ATOMIC_CAS(half, f16, max, parpy_max)
PARPY_ATOMIC_CAS(half, f16, min, parpy_min)
#endif
PARPY_ATOMIC_CAS(bool, bool, add, parpy_or)
PARPY_ATOMIC_BITS_CAS(bool, bool)

/* Shuffles exist for 32- and 64-bit words and halves: move narrower types
 * as 32-bit ones. */
template <typename T> __device__ inline T parpy_shfl_xor(T v, int lane) {
  if constexpr (sizeof(T) == 8) {
    long long w;
    memcpy(&w, &v, 8);
    w = __shfl_xor_sync(0xffffffffu, w, lane);
    memcpy(&v, &w, 8);
    return v;
  } else if constexpr (sizeof(T) == 4) {
    int w;
    memcpy(&w, &v, 4);
    w = __shfl_xor_sync(0xffffffffu, w, lane);
    memcpy(&v, &w, 4);
    return v;
  } else {
    int w = 0;
    memcpy(&w, &v, sizeof(T));
    w = __shfl_xor_sync(0xffffffffu, w, lane);
    memcpy(&v, &w, sizeof(T));
    return v;
  }
}

/* The identity argument takes its type from the value, not from the literal. */
template <typename T> struct parpy_same {
  typedef T type;
};

template <typename Op, typename T> __device__ inline T parpy_warp_reduce(T v) {
  for (int lane = 16; lane > 0; lane >>= 1)
    v = Op()(v, parpy_shfl_xor(v, lane));
  return v;
}

/* Every thread of the block (a whole number of warps) calls it. */
template <typename Op, typename T>
__device__ inline T parpy_block_reduce(T v, typename parpy_same<T>::type identity) {
  __shared__ T per_warp[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = parpy_warp_reduce<Op>(v);
  __syncthreads(); /* per_warp may still be read by an earlier reduction */
  if (lane == 0)
    per_warp[warp] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x / 32) ? per_warp[lane] : identity;
  return parpy_warp_reduce<Op>(v);
}

#ifdef PARPY_CLUSTERS
/* Every thread of every block of the cluster calls it. */
template <typename Op, typename T>
__device__ inline T parpy_cluster_reduce(T v, typename parpy_same<T>::type identity) {
  namespace cg = cooperative_groups;
  __shared__ T per_block;
  v = parpy_block_reduce<Op>(v, identity);
  cg::cluster_group cluster = cg::this_cluster();
  if (threadIdx.x == 0)
    per_block = v;
  cluster.sync();
  T total = identity;
  unsigned n = cluster.num_blocks();
  for (unsigned r = 0; r < n; r++)
    total = Op()(total, *cluster.map_shared_rank(&per_block, r));
  cluster.sync(); /* no block may leave while others read its shared memory */
  return total;
}

__device__ inline void parpy_cluster_sync() { cooperative_groups::this_cluster().sync(); }
#endif

/* ---- errors ---- */
static char parpy_error[512];

#define PARPY_CHECK(call, what)                                                                  \
  do {                                                                                           \
    cudaError_t parpy_e = (call);                                                                \
    if (parpy_e != cudaSuccess) {                                                                \
      snprintf(parpy_error, sizeof parpy_error, "%s: %s", (what), cudaGetErrorString(parpy_e));  \
      (void)cudaGetLastError(); /* clear it: a later launch must not see it */                 \
      return 1;                                                                                  \
    }                                                                                            \
  } while (0)

#define PARPY_CHECK_LAUNCH(kernel) PARPY_CHECK(cudaGetLastError(), "launching the kernel " kernel)

/* 0.1.3's name, kept for hand-written code given to parpy.compile_string:
 * a failing CUDA call returns 1 from the enclosing function, and the call
 * raises RuntimeError with the call's text and CUDA's message (e.g.
 * "cudaMalloc(&p, (size_t)-1): out of memory"), provided the code defines
 * <f>__error returning parpy_error, as generated code does. */
#define parpy_cuda_check_error(call) PARPY_CHECK(call, #call)

#endif
