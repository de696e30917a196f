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
 *  - atomic updates (the scatter updates of a .reduce() loop): Metal's
 *    native atomics where it has them, else a compare-and-swap loop on the
 *    32-bit word holding the element (the Metal target refuses 64-bit
 *    elements: Metal has no 64-bit compare-and-swap);
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

/* ---- atomic updates: the scatter updates of a .reduce() loop ----
 * Metal's atomics are relaxed operations on atomic_int and atomic_uint
 * (add, and, or, xor, max, min) and, from MSL 3.0, atomic_float (add).
 * Everything else is a compare-and-swap loop on a 32-bit word: the element
 * itself, or for 1- and 2-byte elements the aligned word holding it
 * (Metal buffers are aligned far beyond 4 bytes, so that word lies in the
 * buffer; Apple GPUs are little-endian, so the element's bits start at bit
 * 8 * (address mod 4)).  Metal has no 64-bit compare-and-swap: the Metal
 * target refuses atomic updates of 64-bit elements. */
#ifndef PARPY_MSL_VERSION
#define PARPY_MSL_VERSION __METAL_VERSION__ /* 300 for MSL 3.0 */
#endif

/* A 1- or 2-byte element's bits in the low bits of a uint, and back (the
 * second argument picks the type); bool as 0 or 1. */
inline uint parpy_to_bits(int8_t v) { return (uint)as_type<uchar>(v); }
inline uint parpy_to_bits(uint8_t v) { return (uint)v; }
inline uint parpy_to_bits(int16_t v) { return (uint)as_type<ushort>(v); }
inline uint parpy_to_bits(uint16_t v) { return (uint)v; }
inline uint parpy_to_bits(half v) { return (uint)as_type<ushort>(v); }
inline uint parpy_to_bits(bool v) { return v ? 1u : 0u; }
inline int8_t parpy_from_bits(uint b, int8_t) { return as_type<int8_t>((uchar)b); }
inline uint8_t parpy_from_bits(uint b, uint8_t) { return (uint8_t)b; }
inline int16_t parpy_from_bits(uint b, int16_t) { return as_type<int16_t>((ushort)b); }
inline uint16_t parpy_from_bits(uint b, uint16_t) { return (uint16_t)b; }
inline half parpy_from_bits(uint b, half) { return as_type<half>((ushort)b); }
inline bool parpy_from_bits(uint b, bool) { return b != 0; }

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

/* A 1- or 2-byte element: the other bytes of its word are kept as read. */
template <typename T, typename F> inline void parpy_atomic_cas_sub(device T *p, T v, F f) {
  ulong addr = (ulong)p;
  device atomic_uint *a = (device atomic_uint *)((device uchar *)p - (addr & 3));
  uint shift = (uint)(addr & 3) * 8;
  uint mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
  uint old = atomic_load_explicit(a, memory_order_relaxed);
  for (;;) {
    T nv = f(parpy_from_bits((old & mask) >> shift, v), v);
    uint word = (old & ~mask) | (parpy_to_bits(nv) << shift);
    if (atomic_compare_exchange_weak_explicit(a, &old, word, memory_order_relaxed,
                                              memory_order_relaxed))
      return;
  }
}

#define PARPY_ATOMIC(T, S, NAME, F, CAS)                                                         \
  inline void parpy_atomic_##NAME##_##S(device T *p, T v) { CAS(p, v, F()); }
#define PARPY_ATOMIC_NATIVE(T, S, NAME, FN, A)                                                   \
  inline void parpy_atomic_##NAME##_##S(device T *p, T v) {                                      \
    FN((device A *)p, v, memory_order_relaxed);                                                  \
  }
#define PARPY_ATOMIC_ARITH(T, S, CAS)                                                            \
  PARPY_ATOMIC(T, S, add, parpy_add, CAS)                                                        \
  PARPY_ATOMIC(T, S, mul, parpy_mul, CAS)                                                        \
  PARPY_ATOMIC(T, S, max, parpy_max, CAS)                                                        \
  PARPY_ATOMIC(T, S, min, parpy_min, CAS)
#define PARPY_ATOMIC_BITS(T, S, CAS)                                                             \
  PARPY_ATOMIC(T, S, and, parpy_bitand, CAS)                                                     \
  PARPY_ATOMIC(T, S, or, parpy_bitor, CAS)                                                       \
  PARPY_ATOMIC(T, S, xor, parpy_bitxor, CAS)
/* 32-bit integers: native but for multiplication. */
#define PARPY_ATOMIC_WORD(T, S, A)                                                               \
  PARPY_ATOMIC_NATIVE(T, S, add, atomic_fetch_add_explicit, A)                                   \
  PARPY_ATOMIC(T, S, mul, parpy_mul, parpy_atomic_cas)                                           \
  PARPY_ATOMIC_NATIVE(T, S, max, atomic_fetch_max_explicit, A)                                   \
  PARPY_ATOMIC_NATIVE(T, S, min, atomic_fetch_min_explicit, A)                                   \
  PARPY_ATOMIC_NATIVE(T, S, and, atomic_fetch_and_explicit, A)                                   \
  PARPY_ATOMIC_NATIVE(T, S, or, atomic_fetch_or_explicit, A)                                     \
  PARPY_ATOMIC_NATIVE(T, S, xor, atomic_fetch_xor_explicit, A)

PARPY_ATOMIC_WORD(int32_t, i32, atomic_int)
PARPY_ATOMIC_WORD(uint32_t, u32, atomic_uint)
#if PARPY_MSL_VERSION >= 300
PARPY_ATOMIC_NATIVE(float, f32, add, atomic_fetch_add_explicit, atomic_float)
#else
PARPY_ATOMIC(float, f32, add, parpy_add, parpy_atomic_cas)
#endif
/* max/min of floats keep NumPy's NaN propagation (parpy_max): CAS. */
PARPY_ATOMIC(float, f32, mul, parpy_mul, parpy_atomic_cas)
PARPY_ATOMIC(float, f32, max, parpy_max, parpy_atomic_cas)
PARPY_ATOMIC(float, f32, min, parpy_min, parpy_atomic_cas)

PARPY_ATOMIC_ARITH(int8_t, i8, parpy_atomic_cas_sub)
PARPY_ATOMIC_BITS(int8_t, i8, parpy_atomic_cas_sub)
PARPY_ATOMIC_ARITH(uint8_t, u8, parpy_atomic_cas_sub)
PARPY_ATOMIC_BITS(uint8_t, u8, parpy_atomic_cas_sub)
PARPY_ATOMIC_ARITH(int16_t, i16, parpy_atomic_cas_sub)
PARPY_ATOMIC_BITS(int16_t, i16, parpy_atomic_cas_sub)
PARPY_ATOMIC_ARITH(uint16_t, u16, parpy_atomic_cas_sub)
PARPY_ATOMIC_BITS(uint16_t, u16, parpy_atomic_cas_sub)
PARPY_ATOMIC_ARITH(half, f16, parpy_atomic_cas_sub)
/* bool: += is logical or (NumPy), max/min are or/and. */
PARPY_ATOMIC(bool, bool, add, parpy_or, parpy_atomic_cas_sub)
PARPY_ATOMIC(bool, bool, max, parpy_or, parpy_atomic_cas_sub)
PARPY_ATOMIC(bool, bool, min, parpy_and, parpy_atomic_cas_sub)
PARPY_ATOMIC_BITS(bool, bool, parpy_atomic_cas_sub)
