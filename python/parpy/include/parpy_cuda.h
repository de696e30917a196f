/* parpy_cuda.h - included by the CUDA C++ that ParPy generates.
 *
 *  - Python's arithmetic where C's differs (parpy_arith.h, shared with
 *    parpy_cpu.h): // and % floor, integer division by zero gives 0, max/min
 *    propagate NaN, and integer ** integer stays an integer;
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
#elif defined(__CUDACC_RTC__)
/* NVRTC (runtime/nvrtc.c) compiles the kernels without the system's
 * headers, and CUDA's runtime header is host code: the few names used
 * below are declared here (math functions, printf and memcpy are NVRTC's
 * own).  Declaring them is also faster than parsing <cuda/std/...>. */
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long long int64_t;
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
#define INT8_MIN (-128)
#define INT16_MIN (-32767 - 1)
#define INT32_MIN (-2147483647 - 1)
#define INT64_MIN (-9223372036854775807LL - 1)
#define INT8_MAX 127
#define INT16_MAX 32767
#define INT32_MAX 2147483647
#define INT64_MAX 9223372036854775807LL
#define UINT8_MAX 255
#define UINT16_MAX 65535
#define UINT32_MAX 4294967295U
#define UINT64_MAX 18446744073709551615ULL
#ifndef NULL
#define NULL 0
#endif
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
namespace std {
template <bool B, class T, class F> struct conditional { typedef T type; };
template <class T, class F> struct conditional<false, T, F> { typedef F type; };
} // namespace std
#else
#include <cuda_runtime.h>
/* The generated host code launches kernels with PARPY_LAUNCH(k, grid,
 * block, shared bytes, stream)(arguments), which the simulator defines
 * as a call of its own. */
#define PARPY_LAUNCH(kernel, grid, block, shared, stream) kernel<<<grid, block, shared, stream>>>
#endif

#ifndef __CUDACC_RTC__
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#endif

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

#include "parpy_arith.h"

PARPY_FLOAT_MATH(float, f32, float)
PARPY_FLOAT_MATH(double, f64, double)
#ifdef PARPY_HALF
PARPY_FLOAT_MATH(half, f16, float)
#endif

PARPY_FLOAT_OPS(float, f32, float, fmod, floor, copysign)
PARPY_FLOAT_OPS(double, f64, double, fmod, floor, copysign)
#ifdef PARPY_HALF
PARPY_FLOAT_OPS(half, f16, float, fmod, floor, copysign)
#endif

/* x ** 0.5 as the C library's correctly rounded pow() gives it (NumPy's
 * scalars): sqrt, correctly rounded on CUDA, but inf for -inf and +0.0 for
 * -0.0.  CUDA's pow is an ulp or two off.  (+ 0.0 turns -0.0 into +0.0 and
 * is not folded without fast math.) */
PARPY_FN double parpy_pow_half(double x) { return x == -INFINITY ? INFINITY : sqrt(x) + 0.0; }
PARPY_FN float parpy_pow_half(float x) { return x == -INFINITY ? INFINITY : sqrtf(x) + 0.0f; }
#ifdef PARPY_HALF
PARPY_FN half parpy_pow_half(half x) { return (half)parpy_pow_half((float)x); }
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
#ifndef __CUDACC_RTC__ /* host code: on the NVRTC path, parpy_cuda_host.h */
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

#endif
