/* parpy_sim_half.h - NumPy's float16 as a C++ struct, for the simulators
 * (parpy_cuda_sim.h and parpy_metal_sim.h), which run the generated GPU
 * code on the CPU where there is no `half` type.
 *
 * The struct stores the bits.  Conversions to half round to nearest even
 * from double, so that a double is rounded once.  The compound assignments
 * compute in PARPY_SIM_HALF_OP, which the including header defines: double
 * for CUDA (cuda_fp16's operations round the exact result once) and float
 * for Metal (which computes half arithmetic in float; the generated code
 * rounds back after every operation, as NumPy does). */
#ifndef PARPY_SIM_HALF_H
#define PARPY_SIM_HALF_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#ifndef PARPY_SIM_HALF_OP
#error "define PARPY_SIM_HALF_OP (the type half's compound assignments compute in) first"
#endif

struct half {
  uint16_t bits;
  half() : bits(0) {}
  template <typename T, typename = typename std::enable_if<std::is_arithmetic<T>::value>::type>
  half(T v) : bits(from_double((double)v)) {}
  operator float() const { return to_float(bits); }
  half &operator+=(half o) { return *this = half((PARPY_SIM_HALF_OP)*this + (PARPY_SIM_HALF_OP)o); }
  half &operator-=(half o) { return *this = half((PARPY_SIM_HALF_OP)*this - (PARPY_SIM_HALF_OP)o); }
  half &operator*=(half o) { return *this = half((PARPY_SIM_HALF_OP)*this * (PARPY_SIM_HALF_OP)o); }
  half &operator/=(half o) { return *this = half((PARPY_SIM_HALF_OP)*this / (PARPY_SIM_HALF_OP)o); }

  static float to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    float f;
    if (exp == 0x1f) {
      uint32_t w = sign | 0x7f800000u | (man << 13);
      std::memcpy(&f, &w, 4);
      return f;
    }
    f = exp == 0 ? std::ldexp((float)man, -24) : std::ldexp((float)(man | 0x400u), (int)exp - 25);
    return sign ? -f : f;
  }
  static uint16_t from_double(double d) {
    uint16_t sign = std::signbit(d) ? 0x8000u : 0;
    double a = std::fabs(d);
    if (std::isnan(d))
      return (uint16_t)(sign | 0x7e00u);
    if (a >= 65520.0) /* rounds to infinity */
      return (uint16_t)(sign | 0x7c00u);
    if (a < std::ldexp(1.0, -14)) /* subnormal: units of 2^-24 */
      return (uint16_t)(sign | (uint16_t)std::nearbyint(a * 16777216.0));
    int e;
    double m = std::frexp(a, &e); /* a = m * 2^e, 0.5 <= m < 1 */
    double units = std::nearbyint(m * 2048.0); /* 11 significant bits */
    if (units == 2048.0) {
      units = 1024.0;
      e++;
    }
    return (uint16_t)(sign | (uint16_t)((e + 14) << 10) | (uint16_t)((uint32_t)units - 1024u));
  }
};

#endif
