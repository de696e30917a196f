/* parpy_metal_math.h - the float math functions of Metal's namespace
 * `metal` (6.5 Math Functions of Apple's Metal Shading Language
 * specification), as C++ on the C library, so that
 * parpy_metal_math.metal compiles as C++: for the host code on every
 * platform, and for the kernels in the simulator.  Half precision goes
 * through float in generated code. */
#ifndef PARPY_METAL_MATH_H
#define PARPY_METAL_MATH_H

#include <cmath>
#include <cstdint>

namespace metal {
inline float exp(float x) { return ::expf(x); }
inline float log(float x) { return ::logf(x); }
inline float sin(float x) { return ::sinf(x); }
inline float cos(float x) { return ::cosf(x); }
inline float tan(float x) { return ::tanf(x); }
inline float sqrt(float x) { return ::sqrtf(x); }
inline float tanh(float x) { return ::tanhf(x); }
inline float atan2(float y, float x) { return ::atan2f(y, x); }
inline float floor(float x) { return ::floorf(x); }
inline float ceil(float x) { return ::ceilf(x); }
inline float pow(float x, float y) { return ::powf(x, y); }
inline float fabs(float x) { return ::fabsf(x); }
inline float fmod(float x, float y) { return ::fmodf(x, y); }
inline float copysign(float x, float y) { return ::copysignf(x, y); }
inline float log2(float x) { return ::log2f(x); }
inline float log10(float x) { return ::log10f(x); }
inline float exp2(float x) { return ::exp2f(x); }
inline float asin(float x) { return ::asinf(x); }
inline float acos(float x) { return ::acosf(x); }
inline float atan(float x) { return ::atanf(x); }
inline float sinh(float x) { return ::sinhf(x); }
inline float cosh(float x) { return ::coshf(x); }
inline float asinh(float x) { return ::asinhf(x); }
inline float acosh(float x) { return ::acoshf(x); }
inline float atanh(float x) { return ::atanhf(x); }
inline float rint(float x) { return ::rintf(x); }
inline float fmax(float x, float y) { return ::fmaxf(x, y); }
inline float fmin(float x, float y) { return ::fminf(x, y); }
inline float trunc(float x) { return ::truncf(x); }
inline bool isnan(float x) { return std::isnan(x); }
inline bool isinf(float x) { return std::isinf(x); }
inline bool isfinite(float x) { return std::isfinite(x); }

/* double, for the host code (C++ only: Metal has no double) */
inline double fmod(double x, double y) { return ::fmod(x, y); }
inline double floor(double x) { return ::floor(x); }
inline double copysign(double x, double y) { return ::copysign(x, y); }
} // namespace metal

#endif
