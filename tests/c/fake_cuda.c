/* fake_cuda.c - the CUDA runtime of runtime.h (cuda.c's functions) faked
 * on the host, so that the Cuda paths of parpy.buffer can be tested on a
 * machine without a GPU: tests/test_buffer_fake_cuda.py builds the
 * extension with this file in place of src/runtime/cuda.c.
 *
 * "Device memory" is malloc'd and remembered, so that pointer checks tell
 * it from host memory; every primitive counts its calls, which the test
 * reads through ctypes (fake_cuda_count).  FAKE_CUDA_FAIL=alloc makes
 * allocations fail.  Not a unit test by itself (no main): test_c_units
 * only builds tests/c/test_*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

#define EXPORT __attribute__((visibility("default")))

enum { MAX_BLOCKS = 4096 };

static struct {
  void *p;
  size_t n;
} blocks[MAX_BLOCKS];

static struct {
  const char *name;
  int n;
} counts[] = {{"alloc", 0},   {"free", 0}, {"to_device", 0}, {"to_host", 0},
              {"zero", 0},    {"sync", 0}, {"device_sync", 0}, {"wait_stream", 0},
              {"check_pointer", 0}};

static void count(const char *name) {
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    if (strcmp(counts[i].name, name) == 0)
      counts[i].n++;
}

EXPORT int fake_cuda_count(const char *name) {
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    if (strcmp(counts[i].name, name) == 0)
      return counts[i].n;
  return -1;
}

/* Blocks of fake device memory alive. */
EXPORT int fake_cuda_live(void) {
  int n = 0;
  for (int i = 0; i < MAX_BLOCKS; i++)
    n += blocks[i].p != NULL;
  return n;
}

static int find_block(const void *p) {
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (blocks[i].p && (const char *)p >= (const char *)blocks[i].p &&
        (const char *)p < (const char *)blocks[i].p + (blocks[i].n ? blocks[i].n : 1))
      return i;
  return -1;
}

bool rt_cuda_usable(char *why, size_t n) {
  (void)why;
  (void)n;
  return true;
}

const char *rt_cuda_arch(void) { return "sm_90"; }
int rt_cuda_device(void) { return 0; }
int rt_cuda_device_count(void) { return 1; }
const char *rt_cuda_runtime_path(void) { return "fake-cudart"; }

const char *rt_cuda_toolkit_libdir(Arena *a) {
  (void)a;
  return NULL;
}

bool rt_cuda_info(CudaInfo *out, char *why, size_t n) {
  (void)why;
  (void)n;
  memset(out, 0, sizeof *out);
  out->ndevices = 1;
  snprintf(out->name, sizeof out->name, "fake GPU");
  snprintf(out->arch, sizeof out->arch, "sm_90");
  out->cc_major = 9;
  out->runtime_version = out->driver_version = 13000;
  out->runtime_path = "fake-cudart";
  return true;
}

void rt_cuda_keep_pool(void) {} /* the fake has no pools */

const char *rt_cuda_alloc(void **p, size_t bytes, bool *pooled) {
  count("alloc");
  *p = NULL;
  *pooled = true;
  const char *fail = getenv("FAKE_CUDA_FAIL");
  if (fail && strcmp(fail, "alloc") == 0)
    return "out of memory";
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (!blocks[i].p) {
      /* Poisoned, so that reading memory that was never written shows. */
      if (!(*p = malloc(bytes ? bytes : 1)))
        return "out of memory";
      memset(*p, 0xA5, bytes);
      blocks[i].p = *p;
      blocks[i].n = bytes;
      return NULL;
    }
  return "out of memory";
}

const char *rt_cuda_free(void *p, bool pooled) {
  count("free");
  if (!pooled)
    return "freed with the wrong flag";
  int i = find_block(p);
  if (i < 0 || blocks[i].p != p)
    return "invalid device pointer";
  free(p);
  blocks[i].p = NULL;
  return NULL;
}

/* The NVRTC path's host code allocates its temporaries on the call's
 * stream (runtime/nvrtc.c); the fake has one stream. */
const char *rt_cuda_malloc_async(void **p, size_t bytes, void *stream) {
  bool pooled;
  (void)stream;
  return rt_cuda_alloc(p, bytes, &pooled);
}

const char *rt_cuda_free_async(void *p, void *stream) {
  (void)stream;
  return rt_cuda_free(p, true);
}

/* Copies must stay inside one block of device memory. */
static const char *check_range(const void *dev, size_t bytes) {
  int i = find_block(dev);
  if (i < 0)
    return "invalid device pointer";
  if ((const char *)dev + bytes > (const char *)blocks[i].p + blocks[i].n)
    return "copy past the end of the allocation";
  return NULL;
}

const char *rt_cuda_to_device(void *dst, const void *src, size_t bytes) {
  count("to_device");
  const char *e = check_range(dst, bytes);
  if (!e)
    memcpy(dst, src, bytes);
  return e;
}

const char *rt_cuda_to_host(void *dst, const void *src, size_t bytes) {
  count("to_host");
  const char *e = check_range(src, bytes);
  if (!e)
    memcpy(dst, src, bytes);
  return e;
}

const char *rt_cuda_zero(void *dst, size_t bytes) {
  count("zero");
  const char *e = check_range(dst, bytes);
  if (!e)
    memset(dst, 0, bytes);
  return e;
}

const char *rt_cuda_sync(void) {
  count("sync");
  return NULL;
}

const char *rt_cuda_device_sync(void) {
  count("device_sync");
  const char *fail = getenv("FAKE_CUDA_FAIL");
  return fail && strcmp(fail, "sync") == 0 ? "an illegal memory access was encountered" : NULL;
}

const char *rt_cuda_stream_wait(uintptr_t waiter, uintptr_t stream) {
  (void)waiter;
  (void)stream;
  count("wait_stream");
  return NULL;
}

const char *rt_cuda_wait_stream(uintptr_t stream) {
  (void)stream;
  count("wait_stream");
  return NULL;
}

const char *rt_cuda_check_pointer(const void *p, int *device) {
  count("check_pointer");
  *device = -1;
  if (find_block(p) < 0)
    return "it is host memory";
  *device = 0;
  return NULL;
}

const char *rt_cuda_last_error(void) { return NULL; }
