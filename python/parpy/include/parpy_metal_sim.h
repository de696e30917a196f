/* parpy_metal_sim.h - the subset of the Metal Shading Language (MSL) that
 * ParPy's Metal kernels use, as C++, so that the simulator can compile and
 * run them where there is no Metal (parpy_metal.h includes it off macOS).
 *
 * The subset is kept small on purpose: tests/test_metal.py checks that the
 * printed kernels and the prelude use nothing else, so that code this
 * header accepts is code Apple's compiler accepts.  Each construct names
 * the section of Apple's "Metal Shading Language Specification" (version
 * 3.1) defining it, by title: the numbers move between versions and no copy
 * of the specification was at hand to check them.
 *
 *   construct                                 MSL specification section
 *   ----------------------------------------  ------------------------------------------
 *   bool char short int long half float       Scalar Data Types
 *   uchar ushort uint ulong                   Scalar Data Types
 *   int8_t int16_t int32_t int64_t uint8_t    Scalar Data Types (the fixed-width
 *     uint16_t uint32_t uint64_t                  aliases of the types above)
 *   uint2 uint3 and their .x .y .z            Vector Data Types; Accessing Vector
 *                                                 Components
 *   as_type<T>(x)                             Type Conversions and Re-interpreting
 *                                                 Data: Reinterpreting Data
 *   device, constant, threadgroup             Device / Constant / Threadgroup Address
 *                                                 Space
 *   kernel                                    Kernel Functions
 *   [[max_total_threads_per_threadgroup(n)]]  Kernel Functions (attribute)
 *   [[buffer(i)]]                             Locating Buffer, Texture, and Sampler
 *                                                 Arguments
 *   [[thread_position_in_threadgroup]]        Kernel Function Input Attributes
 *   [[threadgroup_position_in_grid]]          Kernel Function Input Attributes
 *   metal:: exp log sin cos tan sqrt tanh     Math Functions
 *     atan2 floor ceil pow fabs fmod copysign
 *     log2 log10 exp2 asin acos atan sinh cosh
 *     asinh acosh atanh rint fmax fmin trunc
 *   INFINITY NAN                              Math Functions (constants)
 *   isnan isinf isfinite                      Relational Functions
 *   threadgroup_barrier(mem_flags::           Threadgroup and SIMD-group
 *     mem_device | mem_flags::mem_threadgroup)    Synchronization Functions
 *   simd_sum simd_product simd_max simd_min   SIMD-group Functions
 *     simd_and simd_or simd_xor
 *     simd_shuffle_xor
 *   atomic_int atomic_uint                    Atomic Data Types
 *   atomic_float                              Atomic Data Types (MSL 3.0 and later)
 *   memory_order_relaxed                      Atomic Functions: Memory Order
 *   atomic_load_explicit                      Atomic Functions: Atomic Load Functions
 *   atomic_compare_exchange_weak_explicit     Atomic Functions: Atomic Compare and
 *                                                 Exchange Functions
 *   atomic_fetch_add_explicit (atomic_int,    Atomic Functions: Atomic Fetch and
 *     atomic_uint, atomic_float)                  Modify Functions
 *   atomic_fetch_and_explicit, and the same   Atomic Functions: Atomic Fetch and
 *     with or, xor, max, min (atomic_int,         Modify Functions
 *     atomic_uint): atomic_fetch_or_explicit
 *     atomic_fetch_xor_explicit
 *     atomic_fetch_max_explicit
 *     atomic_fetch_min_explicit
 *   __METAL_VERSION__                         Compiler and Preprocessor (predefined
 *                                                 macros)
 *
 * Templates, structs with operator(), `inline` functions, casts and the
 * rest of plain C++14 are MSL too (Metal and C++14), with one conversion
 * worth naming: the prelude's atomic updates of 1- and 2-byte elements cast
 * a device pointer to ulong to find the word holding the element, which
 * rests on Clang's C++ (Apple's compiler is Clang) and is first checked on
 * a Mac by the macOS workflow.  What the simulator does not model (timing,
 * memory limits, the SIMD-group width of a real GPU, precision of Metal's
 * math functions) is listed in docs/metal.md.
 *
 * In C++ the address spaces mean nothing, except that a threadgroup
 * variable, which MSL allows only at kernel scope, is shared by the threads
 * of the threadgroup: `static` gives that, since the simulator runs one
 * threadgroup at a time.  Unknown attributes are ignored by C++.  The
 * keywords kernel, device, constant and threadgroup are macros from here
 * on: headers of host externals go before parpy_metal.h. */
#ifndef PARPY_METAL_SIM_H
#define PARPY_METAL_SIM_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "parpy_metal_math.h"

#ifdef __clang__
#pragma clang diagnostic ignored "-Wunknown-attributes"
#endif
#pragma GCC diagnostic ignored "-Wattributes"

/* half: NumPy's float16 (parpy_sim_half.h); its compound assignments
 * compute in float, as Metal's half arithmetic does (the generated code
 * rounds back after every operation, as NumPy does). */
#define PARPY_SIM_HALF_OP float
#include "parpy_sim_half.h"

#define kernel
#define device
#define constant
#define threadgroup static

namespace metal {
typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char uchar;
typedef unsigned long ulong;
using ::half;
struct uint2 {
  uint x, y;
};
struct uint3 {
  uint x, y, z;
};

template <typename T, typename U> inline T as_type(U u) {
  static_assert(sizeof(T) == sizeof(U), "as_type between types of different sizes");
  T t;
  std::memcpy((void *)&t, (const void *)&u, sizeof t);
  return t;
}

/* Atomics: fibers switch only at barriers and SIMD-group functions, so a
 * plain read-modify-write is atomic here. */
enum memory_order { memory_order_relaxed };
template <typename T> struct parpy_atomic {
  T value;
};
typedef parpy_atomic<int> atomic_int;
typedef parpy_atomic<uint> atomic_uint;
typedef parpy_atomic<float> atomic_float;
template <typename T> inline T atomic_load_explicit(parpy_atomic<T> *a, memory_order) {
  return a->value;
}
template <typename T>
inline bool atomic_compare_exchange_weak_explicit(parpy_atomic<T> *a, T *expected, T desired,
                                                  memory_order, memory_order) {
  /* A weak compare-and-swap may fail spuriously: every third one does here,
   * so that the callers' retry loops run. */
  static thread_local unsigned calls;
  if (++calls % 3 == 0) {
    *expected = a->value;
    return false;
  }
  if (a->value == *expected) {
    a->value = desired;
    return true;
  }
  *expected = a->value;
  return false;
}
#define PARPY_SIM_FETCH(NAME, EXPR)                                                              \
  template <typename T>                                                                          \
  inline T atomic_fetch_##NAME##_explicit(parpy_atomic<T> *a, T v, memory_order) {               \
    T old = a->value;                                                                            \
    a->value = (T)(EXPR);                                                                        \
    return old;                                                                                  \
  }
/* add wraps, as on the GPU (unsigned arithmetic for ints) */
template <typename T> inline T parpy_sim_wrap_add(T a, T b) {
  if constexpr (std::is_integral<T>::value)
    return (T)((typename std::make_unsigned<T>::type)a + (typename std::make_unsigned<T>::type)b);
  else
    return a + b;
}
PARPY_SIM_FETCH(add, parpy_sim_wrap_add(old, v))
PARPY_SIM_FETCH(and, old & v)
PARPY_SIM_FETCH(or, old | v)
PARPY_SIM_FETCH(xor, old ^ v)
PARPY_SIM_FETCH(max, old > v ? old : v)
PARPY_SIM_FETCH(min, old < v ? old : v)
#undef PARPY_SIM_FETCH

enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline mem_flags operator|(mem_flags a, mem_flags b) { return (mem_flags)((int)a | (int)b); }
} // namespace metal

/* ---- the simulator's side of barriers and SIMD-group functions ---- */
namespace parpy_sim {
enum { LANE_BYTES = 16 };
/* Combines the values of the lanes of a SIMD-group that arrived (active);
 * `param` is each lane's extra operand (the mask of a shuffle). */
typedef void (*Combine)(const unsigned char (*in)[LANE_BYTES], unsigned char (*out)[LANE_BYTES],
                        const uint32_t *param, const bool *active);
/* parpy_metal_sim.cpp: wait for the threads of the threadgroup, or for the
 * lanes of the SIMD-group, which then exchange their values. */
void barrier();
void simd_collective(const void *in, void *out, size_t size, uint32_t param, Combine f);

template <typename T, typename Op>
void reduce_lanes(const unsigned char (*in)[LANE_BYTES], unsigned char (*out)[LANE_BYTES],
                  const uint32_t *, const bool *active) {
  T acc{};
  bool any = false;
  for (int l = 0; l < 32; l++) {
    if (!active[l])
      continue;
    T v;
    std::memcpy((void *)&v, in[l], sizeof v);
    acc = any ? Op()(acc, v) : v;
    any = true;
  }
  for (int l = 0; l < 32; l++)
    std::memcpy(out[l], (const void *)&acc, sizeof acc);
}

template <typename T>
void shuffle_xor_lanes(const unsigned char (*in)[LANE_BYTES], unsigned char (*out)[LANE_BYTES],
                       const uint32_t *param, const bool *active) {
  for (int l = 0; l < 32; l++) {
    int from = (int)((uint32_t)l ^ param[l]);
    std::memcpy(out[l], in[from < 32 && active[from] ? from : l], sizeof(T));
  }
}

template <typename T, typename Op> T simd_reduce(T v) {
  static_assert(sizeof(T) <= LANE_BYTES, "value too large for a SIMD-group function");
  T r;
  simd_collective((const void *)&v, (void *)&r, sizeof v, 0, reduce_lanes<T, Op>);
  return r;
}

struct Sum {
  template <typename T> T operator()(T a, T b) const { return (T)(a + b); }
};
struct Product {
  template <typename T> T operator()(T a, T b) const { return (T)(a * b); }
};
struct Max {
  template <typename T> T operator()(T a, T b) const { return a > b ? a : b; }
};
struct Min {
  template <typename T> T operator()(T a, T b) const { return a < b ? a : b; }
};
struct And {
  template <typename T> T operator()(T a, T b) const { return (T)(a & b); }
};
struct Or {
  template <typename T> T operator()(T a, T b) const { return (T)(a | b); }
};
struct Xor {
  template <typename T> T operator()(T a, T b) const { return (T)(a ^ b); }
};

/* A kernel called with the simulator's arguments: pointers for buffers,
 * references to the launch's copy for bytes, then the two positions. */
template <typename P> P arg(void *const *args, const uint32_t *pos, size_t i, size_t n) {
  if constexpr (std::is_same<P, metal::uint3>::value) {
    const uint32_t *p = pos + 3 * (i + 2 - n);
    return metal::uint3{p[0], p[1], p[2]};
  } else if constexpr (std::is_pointer<P>::value) {
    return (P)args[i];
  } else {
    return *(typename std::remove_reference<P>::type *)args[i];
  }
}

template <typename F> struct sig;
template <typename... P> struct sig<void (*)(P...)> {
  static const size_t arity = sizeof...(P);
  template <void (*K)(P...), size_t... I>
  static void run(void *const *args, const uint32_t *pos, std::index_sequence<I...>) {
    K(arg<P>(args, pos, I, sizeof...(P))...);
  }
};

template <auto K> void entry(void *const *args, const uint32_t *pos) {
  typedef sig<decltype(K)> S;
  S::template run<K>(args, pos, std::make_index_sequence<S::arity>{});
}
} // namespace parpy_sim

namespace metal {
inline void threadgroup_barrier(mem_flags) { parpy_sim::barrier(); }
template <typename T> T simd_sum(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Sum>(v); }
template <typename T> T simd_product(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Product>(v); }
template <typename T> T simd_max(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Max>(v); }
template <typename T> T simd_min(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Min>(v); }
template <typename T> T simd_and(T v) { return parpy_sim::simd_reduce<T, parpy_sim::And>(v); }
template <typename T> T simd_or(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Or>(v); }
template <typename T> T simd_xor(T v) { return parpy_sim::simd_reduce<T, parpy_sim::Xor>(v); }
template <typename T> T simd_shuffle_xor(T v, ushort mask) {
  static_assert(sizeof(T) <= parpy_sim::LANE_BYTES, "value too large for a SIMD-group function");
  T r;
  parpy_sim::simd_collective((const void *)&v, (void *)&r, sizeof v, mask,
                             parpy_sim::shuffle_xor_lanes<T>);
  return r;
}
} // namespace metal

/* The kernels' code sees what a Metal program sees after
 * `#include <metal_stdlib>` and `using namespace metal;`, and the runtime's
 * two files. */
#define PARPY_TG /* a threadgroup pointer is a plain pointer here */
#ifndef PARPY_MSL_VERSION
#define PARPY_MSL_VERSION 300 /* atomic_float (a test builds with 240: CAS) */
#endif
namespace parpy_msl {
using namespace metal;
#include "parpy_metal_math.metal"
#include "parpy_metal_prelude.metal"
} // namespace parpy_msl

#endif
