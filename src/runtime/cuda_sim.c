/* cuda_sim.c - the CUDA runtime simulated on the CPU (PARPY_CUDA_SIM=1):
 * the few functions of libcudart that runtime/cuda.c calls, over host
 * memory, for one simulated device of compute capability 9.0.  The Cuda
 * target then builds generated code with the host's C++ compiler against
 * parpy_cuda_sim.h, which simulates the kernels and the generated host
 * code's own calls (docs/gpu.md, "Testing the Cuda lowering without a
 * GPU").  Only for testing the compiler where there is no GPU. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool rt_cuda_sim(void) {
  const char *e = getenv("PARPY_CUDA_SIM");
  return e && e[0] && strcmp(e, "0") != 0;
}

static int sim_count(int *n) { *n = 1; return 0; }
static int sim_device(int *d) { *d = 0; return 0; }

static int sim_attribute(int *v, int attr, int dev) {
  (void)dev;
  *v = attr == 75 ? 9 : 0; /* compute capability 9.0; no memory pools */
  return 0;
}

/* Fresh memory holds garbage, as a GPU's does: 0xA5 bytes. */
static int sim_malloc(void **p, size_t bytes) {
  void *m = NULL;
  if (posix_memalign(&m, 256, bytes ? bytes : 1) != 0)
    return 2; /* cudaErrorMemoryAllocation */
  memset(m, 0xa5, bytes);
  *p = m;
  return 0;
}

static int sim_free(void *p) { free(p); return 0; }

static int sim_memcpy(void *dst, const void *src, size_t n, int kind) {
  (void)kind;
  if (n)
    memmove(dst, src, n);
  return 0;
}

static int sim_memcpy_async(void *dst, const void *src, size_t n, int kind, void *s) {
  (void)s;
  return sim_memcpy(dst, src, n, kind);
}

static int sim_memset_async(void *dst, int v, size_t n, void *s) {
  (void)s;
  memset(dst, v, n);
  return 0;
}

static int sim_sync_stream(void *s) { (void)s; return 0; }
static int sim_sync(void) { return 0; }
static int sim_last_error(void) { return 0; }
static const char *sim_error_string(int e) {
  return e == 2 ? "out of memory (CUDA simulator)" : "an error of the CUDA simulator";
}
static int sim_version(int *v) { *v = 13000; return 0; }

static int sim_properties(void *props, int dev) {
  (void)dev;
  strcpy((char *)props, "CUDA simulator (CPU)"); /* the first field: the name */
  return 0;
}

const RtSimApi rt_sim_api = {
    .GetDeviceCount = sim_count,
    .GetDevice = sim_device,
    .DeviceGetAttribute = sim_attribute,
    .Malloc = sim_malloc,
    .Free = sim_free,
    .Memcpy = sim_memcpy,
    .MemcpyAsync = sim_memcpy_async,
    .MemsetAsync = sim_memset_async,
    .StreamSynchronize = sim_sync_stream,
    .DeviceSynchronize = sim_sync,
    .GetLastError = sim_last_error,
    .GetErrorString = sim_error_string,
    .RuntimeGetVersion = sim_version,
    .DriverGetVersion = sim_version,
    .GetDeviceProperties = sim_properties,
};
