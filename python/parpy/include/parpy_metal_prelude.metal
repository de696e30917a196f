/* parpy_metal_prelude.metal - Metal Shading Language functions that the
 * kernels ParPy generates call (with parpy_metal_math.metal, the MSL
 * counterpart of parpy_cuda.h).
 *
 * On macOS the runtime puts parpy_metal_math.metal and this text, after
 * `#include <metal_stdlib>` and `using namespace metal;`, before the kernels
 * of every library it compiles (Metal's runtime compiler has no include
 * path to find them).  In the simulator parpy_metal_sim.h includes both as
 * C++.  So this is written in the MSL subset documented there.
 *
 *  - atomic updates (the scatter updates of a .reduce() loop) of 32-bit
 *    elements, a compare-and-swap loop on the element's bits (the Metal
 *    target refuses other sizes: Metal has no 64-bit or sub-word CAS);
 *  - reductions of one value per thread over a SIMD-group (simd_sum and
 *    friends where Metal has one with NumPy's meaning, else a butterfly of
 *    simd_shuffle_xor) and over a threadgroup (one value per SIMD-group in
 *    threadgroup memory, then one SIMD-group).  Every Apple GPU has
 *    SIMD-groups of 32 threads; the runtime checks it. */
#ifndef PARPY_TG
#define PARPY_TG threadgroup
#endif

/* ---- reductions ---- */
struct parpy_add {
  template <typename T> T operator()(T a, T b) const { return (T)(a + b); }
};
struct parpy_mul {
  template <typename T> T operator()(T a, T b) const { return (T)(a * b); }
};
struct parpy_max {
  template <typename T> T operator()(T a, T b) const { return (a > b || a != a) ? a : b; }
};
struct parpy_min {
  template <typename T> T operator()(T a, T b) const { return (a < b || a != a) ? a : b; }
};
struct parpy_and {
  template <typename T> T operator()(T a, T b) const { return a && b; }
};
struct parpy_or {
  template <typename T> T operator()(T a, T b) const { return a || b; }
};
struct parpy_bitand {
  template <typename T> T operator()(T a, T b) const { return (T)(a & b); }
};
struct parpy_bitor {
  template <typename T> T operator()(T a, T b) const { return (T)(a | b); }
};
struct parpy_bitxor {
  template <typename T> T operator()(T a, T b) const { return (T)(a ^ b); }
};

/* simd_shuffle_xor moves 16- and 32-bit scalars (and vectors of them):
 * narrower types go as 16 bits, 64-bit ones as a uint2. */
template <typename T> inline T parpy_shfl_xor(T v, ushort mask) {
  return simd_shuffle_xor(v, mask);
}
inline bool parpy_shfl_xor(bool v, ushort mask) {
  return simd_shuffle_xor((ushort)v, mask) != 0;
}
inline int8_t parpy_shfl_xor(int8_t v, ushort mask) {
  return (int8_t)simd_shuffle_xor((short)v, mask);
}
inline uint8_t parpy_shfl_xor(uint8_t v, ushort mask) {
  return (uint8_t)simd_shuffle_xor((ushort)v, mask);
}
inline int64_t parpy_shfl_xor(int64_t v, ushort mask) {
  return as_type<int64_t>(simd_shuffle_xor(as_type<uint2>(v), mask));
}
inline uint64_t parpy_shfl_xor(uint64_t v, ushort mask) {
  return as_type<uint64_t>(simd_shuffle_xor(as_type<uint2>(v), mask));
}

/* The butterfly leaves the same value in every lane: each combines the
 * same pairs (a op b and b op a are equal for these operators). */
template <typename Op, typename T> struct parpy_simd {
  static T reduce(T v) {
    for (ushort mask = 16; mask > 0; mask >>= 1)
      v = Op()(v, parpy_shfl_xor(v, mask));
    return v;
  }
};

/* Metal's own SIMD-group reductions, where they mean what NumPy means (not
 * max/min of floats: NaN must win). */
#define PARPY_SIMD(OP, T, F)                                                                     \
  template <> struct parpy_simd<OP, T> {                                                         \
    static T reduce(T v) { return F(v); }                                                        \
  };
PARPY_SIMD(parpy_add, float, simd_sum)
PARPY_SIMD(parpy_add, half, simd_sum)
PARPY_SIMD(parpy_add, int32_t, simd_sum)
PARPY_SIMD(parpy_add, uint32_t, simd_sum)
PARPY_SIMD(parpy_mul, float, simd_product)
PARPY_SIMD(parpy_mul, half, simd_product)
PARPY_SIMD(parpy_mul, int32_t, simd_product)
PARPY_SIMD(parpy_mul, uint32_t, simd_product)
PARPY_SIMD(parpy_max, int32_t, simd_max)
PARPY_SIMD(parpy_max, uint32_t, simd_max)
PARPY_SIMD(parpy_min, int32_t, simd_min)
PARPY_SIMD(parpy_min, uint32_t, simd_min)
PARPY_SIMD(parpy_bitand, int32_t, simd_and)
PARPY_SIMD(parpy_bitand, uint32_t, simd_and)
PARPY_SIMD(parpy_bitor, int32_t, simd_or)
PARPY_SIMD(parpy_bitor, uint32_t, simd_or)
PARPY_SIMD(parpy_bitxor, int32_t, simd_xor)
PARPY_SIMD(parpy_bitxor, uint32_t, simd_xor)

/* Every thread of the SIMD-group calls it; each gets the total. */
template <typename Op, typename T> inline T parpy_simd_reduce(T v) {
  return parpy_simd<Op, T>::reduce(v);
}

/* The identity takes its type from the value, not from the literal. */
template <typename T> struct parpy_same {
  typedef T type;
};

/* Every thread of the threadgroup (`nthreads`, a multiple of 32) calls it
 * with the kernel's threadgroup array of 32 values; each gets the total. */
template <typename Op, typename T>
inline T parpy_threadgroup_reduce(T v, typename parpy_same<T>::type identity,
                                  PARPY_TG T *per_simd, uint tid, uint nthreads) {
  uint lane = tid % 32, simd = tid / 32;
  v = parpy_simd_reduce<Op>(v);
  threadgroup_barrier(mem_flags::mem_threadgroup); /* an earlier reduction may still read */
  if (lane == 0)
    per_simd[simd] = v;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  v = lane < nthreads / 32 ? per_simd[lane] : identity;
  return parpy_simd_reduce<Op>(v);
}

/* ---- atomic updates of 32-bit elements ---- */
template <typename T, typename F> inline void parpy_atomic_cas(device T *p, T v, F f) {
  device atomic_uint *a = (device atomic_uint *)p;
  uint old = atomic_load_explicit(a, memory_order_relaxed);
  for (;;) {
    T nv = f(as_type<T>(old), v);
    if (atomic_compare_exchange_weak_explicit(a, &old, as_type<uint>(nv), memory_order_relaxed,
                                              memory_order_relaxed))
      return;
  }
}

#define PARPY_ATOMIC(T, S, NAME, F)                                                              \
  inline void parpy_atomic_##NAME##_##S(device T *p, T v) { parpy_atomic_cas(p, v, F()); }
#define PARPY_ATOMIC_ARITH(T, S)                                                                 \
  PARPY_ATOMIC(T, S, add, parpy_add)                                                             \
  PARPY_ATOMIC(T, S, mul, parpy_mul)                                                             \
  PARPY_ATOMIC(T, S, max, parpy_max)                                                             \
  PARPY_ATOMIC(T, S, min, parpy_min)
#define PARPY_ATOMIC_BITS(T, S)                                                                  \
  PARPY_ATOMIC(T, S, and, parpy_bitand)                                                          \
  PARPY_ATOMIC(T, S, or, parpy_bitor)                                                            \
  PARPY_ATOMIC(T, S, xor, parpy_bitxor)

PARPY_ATOMIC_ARITH(int32_t, i32)
PARPY_ATOMIC_BITS(int32_t, i32)
PARPY_ATOMIC_ARITH(uint32_t, u32)
PARPY_ATOMIC_BITS(uint32_t, u32)
PARPY_ATOMIC_ARITH(float, f32)
