/* parpy_metal.h - included by the C++ that ParPy generates for the Metal
 * backend.  It declares the runtime API that the generated host code calls,
 * a small fixed set of functions implemented twice:
 *
 *   parpy_metal_runtime.mm   macOS: Metal through Objective-C++ (built with
 *                            the system clang++ and Apple's frameworks)
 *   parpy_metal_sim.cpp      elsewhere: a simulator running the kernels on
 *                            the CPU (threadgroups one after another, the
 *                            threads of one as fibers meeting at barriers)
 *
 * and says what PARPY_METAL_LIBRARY( ... ), the block holding the kernels in
 * the Metal Shading Language, means: on macOS the text of the block becomes
 * a string that the runtime compiles with Metal at the first call (after
 * parpy_metal_prelude.metal); elsewhere the block is C++ compiled against
 * the MSL subset of parpy_metal_sim.h.  The block is stringised by the
 * preprocessor, so it must hold no preprocessor directives.
 *
 * Every function returning int returns 0 on success, else 1 with a message
 * for parpy_metal_error() (per thread). */
#ifndef PARPY_METAL_H
#define PARPY_METAL_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

struct parpy_metal_buffer; /* device memory (an MTLBuffer on macOS) */

/* The kernels of one generated library: compiled once, at the first call
 * (parpy_metal_load), with their pipeline states cached by name. */
struct parpy_metal_library {
  const char *source; /* MSL text (macOS); NULL in the simulator */
  void *state;        /* the runtime's */
};

/* The simulator calls a kernel through this: the kernel's buffer and bytes
 * arguments, and the thread's position {tid.x, tid.y, tid.z, bid.x, bid.y,
 * bid.z} (thread_position_in_threadgroup, threadgroup_position_in_grid). */
typedef void (*parpy_metal_sim_fn)(void *const *args, const uint32_t *pos);

/* A kernel by name (and, in the simulator, its code). */
struct parpy_metal_kernel {
  const char *name;
  parpy_metal_sim_fn sim;
};

/* One argument of a launch: a buffer, or bytes copied at the launch (a
 * value of the host code: a `constant T &` parameter). */
struct parpy_metal_arg {
  parpy_metal_buffer *buffer;
  const void *bytes;
  size_t size;
};

static inline parpy_metal_arg parpy_metal_buffer_arg(parpy_metal_buffer *b) {
  parpy_metal_arg a = {b, NULL, 0};
  return a;
}

static inline parpy_metal_arg parpy_metal_bytes_arg(const void *p, size_t n) {
  parpy_metal_arg a = {NULL, p, n};
  return a;
}

/* Hidden: each generated library holds its own copy of the runtime. */
#define PARPY_METAL_API extern "C" __attribute__((visibility("hidden")))

/* Compile the library's kernels unless done (thread-safe). */
PARPY_METAL_API int parpy_metal_load(parpy_metal_library *lib);
/* A buffer of `bytes` bytes (shared storage); *b is NULL on failure. */
PARPY_METAL_API int parpy_metal_alloc(parpy_metal_buffer **b, size_t bytes);
/* Release a buffer (NULL: nothing), after the work queued on it. */
PARPY_METAL_API void parpy_metal_free(parpy_metal_buffer *b);
/* A buffer for the array at `host` (`bytes` bytes) for the length of a
 * call: the memory itself where the device can use it in place (*copied =
 * 0: page-aligned memory, which Apple's unified memory shares with the GPU;
 * the simulator follows the same rule), else a fresh buffer holding a copy
 * (*copied = 1: copy it back with parpy_metal_copy_out if the code writes
 * it).  parpy_metal_free releases the buffer, never the host memory. */
PARPY_METAL_API int parpy_metal_use(parpy_metal_buffer **b, void *host, size_t bytes,
                                    int *copied);
/* Host memory -> buffer, buffer -> host memory (after the queued work). */
PARPY_METAL_API int parpy_metal_copy_in(parpy_metal_buffer *b, const void *src, size_t bytes);
PARPY_METAL_API int parpy_metal_copy_out(void *dst, parpy_metal_buffer *b, size_t bytes);
/* Queue kernel `k` of `lib` over a grid of gx*gy*gz threadgroups of
 * tx*ty*tz threads, with args[i] bound at [[buffer(i)]]. */
PARPY_METAL_API int parpy_metal_launch(parpy_metal_library *lib, parpy_metal_kernel k,
                                       const parpy_metal_arg *args, int nargs, uint32_t gx,
                                       uint32_t gy, uint32_t gz, uint32_t tx, uint32_t ty,
                                       uint32_t tz);
/* Wait until the queued work is done; reports a failed kernel. */
PARPY_METAL_API int parpy_metal_sync(void);
PARPY_METAL_API const char *parpy_metal_error(void);

#define PARPY_METAL_CHECK(call)                                                                  \
  do {                                                                                           \
    if ((call) != 0)                                                                             \
      return 1;                                                                                  \
  } while (0)

/* The host code's arithmetic (// and % of Python, ...): the same file as
 * the kernels', as C++, at file scope.  (In the simulator, after the MSL
 * subset, which defines half.) */
#ifdef __APPLE__
typedef _Float16 half; /* for the host code; MSL has its own */
#else
#include "parpy_metal_sim.h"
#endif
#include "parpy_metal_math.h"
/* In a namespace of its own, made visible by a using-directive: kernels in
 * parpy_msl then find only their own copy (argument-dependent lookup on a
 * half argument would otherwise see both and call it ambiguous). */
namespace parpy_host {
#include "parpy_metal_math.metal"
} // namespace parpy_host
using namespace parpy_host;

#ifdef __APPLE__
#define PARPY_METAL_LIBRARY(...) static parpy_metal_library parpy_library = {#__VA_ARGS__, NULL};
#define PARPY_METAL_KERNEL(name) (parpy_metal_kernel{#name, NULL})
#else
#define PARPY_METAL_LIBRARY(...)                                                                 \
  namespace parpy_msl {                                                                          \
  __VA_ARGS__                                                                                    \
  }                                                                                              \
  static parpy_metal_library parpy_library = {NULL, NULL};
#define PARPY_METAL_KERNEL(name) (parpy_metal_kernel{#name, &parpy_sim::entry<&parpy_msl::name>})
#endif

#endif
