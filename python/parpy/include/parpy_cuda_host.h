/* parpy_cuda_host.h - included by the host part of Cuda code built on the
 * NVRTC path (docs/gpu.md, "How the code is built").
 *
 * Such code is one file in two parts: NVRTC compiles the part under
 * `#ifdef __CUDACC_RTC__` (the kernels) to a cubin inside the process, and
 * the system's C compiler builds the rest, plain C, into the library.  The
 * host part launches through the small table of functions below, which the
 * ParPy runtime hands to the library (<f>__bind) with the kernels' handles
 * once it has loaded the cubin: the library itself links against nothing of
 * CUDA, so neither nvcc nor CUDA's headers take part in its build.
 *
 * Python's arithmetic on the host comes from parpy_cpu.h, as on the Cpu
 * backend. */
#ifndef PARPY_CUDA_HOST_H
#define PARPY_CUDA_HOST_H

#include <stddef.h>
#include <stdint.h>

/* Bump when the table changes: the runtime refuses a library built against
 * another version (<f>__bind returns it). */
#define PARPY_CUDA_API_VERSION 1

/* Every function returns NULL on success, else CUDA's message. */
typedef struct ParpyCudaApi {
  int version; /* PARPY_CUDA_API_VERSION */
  /* cuLaunchKernel of `function` (a CUfunction of the library's cubin) on
   * a grid of gx*gy*gz blocks of `block` threads, on `stream` (a
   * cudaStream_t; NULL: the legacy default stream); `args` holds the
   * address of each parameter's value. */
  const char *(*launch)(void *function, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t block,
                        void *stream, void **args);
  /* cudaMallocAsync and cudaFreeAsync on `stream`. */
  const char *(*alloc)(void **p, size_t bytes, void *stream);
  const char *(*release)(void *p, void *stream);
} ParpyCudaApi;

#ifndef PARPY_CUDA_API_ONLY /* the runtime includes the table only */
#include "parpy_cpu.h"

/* Not <stdio.h>, whose many names a program may use for its functions. */
int snprintf(char *, size_t, const char *, ...);
int printf(const char *, ...);

/* Half-precision arithmetic on the host, as the kernels do it: each
 * operation rounded to half (-fexcess-precision=standard). */
static inline half __hadd_rn(half a, half b) { return (half)(a + b); }
static inline half __hsub_rn(half a, half b) { return (half)(a - b); }
static inline half __hmul_rn(half a, half b) { return (half)(a * b); }
static inline half __hdiv(half a, half b) { return (half)(a / b); }

static const ParpyCudaApi *parpy_api;
static char parpy_error[512];

/* A failing call returns 1 from the enclosing function, leaving the message
 * for <f>__error. */
#define PARPY_CHECK(call, what)                                                                  \
  do {                                                                                           \
    const char *parpy_e = (call);                                                                \
    if (parpy_e) {                                                                               \
      snprintf(parpy_error, sizeof parpy_error, "%s: %s", (what), parpy_e);                      \
      return 1;                                                                                  \
    }                                                                                            \
  } while (0)
#endif

#endif
