/* cuda.c - the CUDA runtime (libcudart), loaded with dlopen at first need.
 *
 * Nothing links against libcudart, so `import parpy` works without CUDA, and
 * the Cpu backend never touches it.  The library we load is the one the
 * generated code links against (the nvcc installation's, see
 * target/cuda/build.h), or a copy of it that the process already holds
 * (PyTorch brings one): generated code, parpy and the user's libraries then
 * share one runtime, and so one "last error".  We declare the few types and
 * constants we use ourselves; the values are CUDA's stable ABI.
 *
 * Everything runs on the legacy default stream (stream 0), the stream the
 * generated code launches on, so a copy queued here is ordered with the
 * kernels without any synchronisation. */
#define _GNU_SOURCE /* dlinfo, RTLD_DI_LINKMAP, RTLD_NOLOAD */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef int Err; /* cudaError_t; 0 is cudaSuccess */

enum {
  ERR_INSUFFICIENT_DRIVER = 35, /* cudaErrorInsufficientDriver */
  ERR_NO_DEVICE = 100,          /* cudaErrorNoDevice */
  ATTR_CC_MAJOR = 75,           /* cudaDevAttrComputeCapabilityMajor */
  ATTR_CC_MINOR = 76,
  ATTR_POOLS = 115,             /* cudaDevAttrMemoryPoolsSupported */
  POOL_RELEASE_THRESHOLD = 4,   /* cudaMemPoolAttrReleaseThreshold */
  COPY_H2D = 1,                 /* cudaMemcpyHostToDevice */
  COPY_D2H = 2,
  EVENT_NO_TIMING = 2,          /* cudaEventDisableTiming */
  MEM_HOST = 1, MEM_DEVICE = 2, MEM_MANAGED = 3, /* cudaMemoryType */
  MAX_DEVICES = 64
};

/* cudaPointerAttributes since CUDA 11 (older runtimes lack cudaMallocAsync
 * and are refused); the reserved tail grows, so leave room. */
typedef struct PointerAttributes {
  int type;
  int device;
  void *device_pointer;
  void *host_pointer;
  long reserved[32];
} PointerAttributes;

static struct Api {
  Err (*GetDeviceCount)(int *);
  Err (*GetDevice)(int *);
  Err (*DeviceGetAttribute)(int *, int, int);
  Err (*Malloc)(void **, size_t);
  Err (*Free)(void *);
  Err (*Memcpy)(void *, const void *, size_t, int);
  Err (*MemcpyAsync)(void *, const void *, size_t, int, void *);
  Err (*MemsetAsync)(void *, int, size_t, void *);
  Err (*StreamSynchronize)(void *);
  Err (*DeviceSynchronize)(void);
  Err (*GetLastError)(void);
  const char *(*GetErrorString)(Err);
  Err (*RuntimeGetVersion)(int *);
  Err (*DriverGetVersion)(int *);
  /* optional: */
  Err (*MallocAsync)(void **, size_t, void *);
  Err (*FreeAsync)(void *, void *);
  Err (*PointerGetAttributes)(PointerAttributes *, const void *);
  Err (*GetDeviceProperties)(void *, int);
  Err (*EventCreateWithFlags)(void **, unsigned);
  Err (*EventRecord)(void *, void *);
  Err (*StreamWaitEvent)(void *, void *, unsigned);
  Err (*EventDestroy)(void *);
  Err (*DeviceGetDefaultMemPool)(void **, int);
  Err (*MemPoolGetAttribute)(void *, int, void *);
  Err (*MemPoolSetAttribute)(void *, int, void *);
} api;

/* Written once by load() under pthread_once, read-only afterwards. */
static struct State {
  void *handle;
  bool loaded;   /* every required symbol resolved */
  bool usable;   /* and a device exists */
  int ndevices;
  int runtime_version;
  char path[PATH_MAX];
  char why[2 * PATH_MAX]; /* holds a path or two */
} st;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t arch_lock = PTHREAD_MUTEX_INITIALIZER;
static char archs[MAX_DEVICES][16];          /* "sm_90", under arch_lock */
static _Atomic signed char pools[MAX_DEVICES]; /* 0 unknown, 1 pooled, 2 plain */

static const char *err_str(Err e) {
  const char *s = api.GetErrorString ? api.GetErrorString(e) : NULL;
  return s ? s : "unknown CUDA error";
}

/* A failed call also sets the runtime's last error, which generated code
 * (sharing this runtime) checks after its launches: clear it, so that our
 * failure is not later reported as the kernel's. */
static const char *fail(Err e) {
  if (e == 0)
    return NULL;
  api.GetLastError();
  return err_str(e);
}

/* ---- the toolkit ---- */

/* `dir`, resolved, if it holds libcudart.so. */
static const char *with_cudart(const char *dir, Arena *a) {
  char real[PATH_MAX];
  if (access(arena_printf(a, "%s/libcudart.so", dir), R_OK) != 0 || !realpath(dir, real))
    return NULL;
  return arena_strdup(a, real);
}

/* <root>/targets/<triple>/lib, for toolkits without a lib64 link. */
static const char *in_targets(const char *root, Arena *a) {
  const char *tdir = arena_printf(a, "%s/targets", root);
  DIR *dp = opendir(tdir);
  if (!dp)
    return NULL;
  const char *found = NULL;
  struct dirent *e;
  while (!found && (e = readdir(dp)))
    if (e->d_name[0] != '.')
      found = with_cudart(arena_printf(a, "%s/%s/lib", tdir, e->d_name), a);
  closedir(dp);
  return found;
}

const char *rt_cuda_toolkit_libdir(Arena *a) {
  char real[PATH_MAX];
  char *nvcc = rt_find_program("nvcc", a);
  if (!nvcc || !realpath(nvcc, real))
    return NULL;
  for (int up = 0; up < 2; up++) { /* <root>/bin/nvcc -> <root> */
    char *slash = strrchr(real, '/');
    if (!slash)
      return NULL;
    *slash = '\0';
  }
  const char *root = real[0] ? real : "/";
  const char *dir = with_cudart(arena_printf(a, "%s/lib64", root), a);
  if (!dir)
    dir = in_targets(root, a);
  if (!dir)
    dir = with_cudart(arena_printf(a, "%s/lib", root), a);
  return dir;
}

/* ---- loading ---- */

/* The soname of a libcudart file: libcudart.so.13.0.88 -> libcudart.so.13. */
static bool soname_of(const char *file, char *out, size_t n) {
  char real[PATH_MAX];
  if (!realpath(file, real))
    return false;
  const char *base = strrchr(real, '/');
  base = base ? base + 1 : real;
  const char *stem = "libcudart.so.";
  size_t ls = strlen(stem);
  if (strncmp(base, stem, ls) != 0)
    return false;
  size_t len = ls + strspn(base + ls, "0123456789");
  if (len == ls || len >= n)
    return false;
  memcpy(out, base, len);
  out[len] = '\0';
  return true;
}

/* The toolkit's runtime, or the copy of it the process already holds. */
static void *open_toolkit(char *looked, size_t n) {
  Arena a;
  arena_init(&a);
  const char *dir = rt_cuda_toolkit_libdir(&a);
  void *h = NULL;
  if (dir) {
    char file[PATH_MAX], soname[64];
    snprintf(file, sizeof file, "%s/libcudart.so", dir);
    snprintf(looked, n, "looked for libcudart.so in %s, next to nvcc, and ", dir);
    if (soname_of(file, soname, sizeof soname))
      h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
      h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  } else {
    snprintf(looked, n, "nvcc is not on PATH; looked ");
  }
  arena_free(&a);
  return h;
}

static void *open_runtime(char *looked, size_t n) {
  void *h = open_toolkit(looked, n);
  static const char *const names[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
  for (size_t i = 0; !h && i < PP_COUNT(names); i++)
    h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  return h;
}

#define SYM(field, name) (*(void **)(&api.field) = dlsym(st.handle, name))

/* The first required symbol missing, or NULL. */
static const char *resolve(void) {
  SYM(MallocAsync, "cudaMallocAsync");
  SYM(FreeAsync, "cudaFreeAsync");
  SYM(PointerGetAttributes, "cudaPointerGetAttributes");
  /* CUDA 12 renamed it (its struct grew), 13 named it back. */
  if (!SYM(GetDeviceProperties, "cudaGetDeviceProperties_v2"))
    SYM(GetDeviceProperties, "cudaGetDeviceProperties");
  SYM(EventCreateWithFlags, "cudaEventCreateWithFlags");
  SYM(EventRecord, "cudaEventRecord");
  SYM(StreamWaitEvent, "cudaStreamWaitEvent");
  SYM(EventDestroy, "cudaEventDestroy");
  SYM(DeviceGetDefaultMemPool, "cudaDeviceGetDefaultMemPool");
  SYM(MemPoolGetAttribute, "cudaMemPoolGetAttribute");
  SYM(MemPoolSetAttribute, "cudaMemPoolSetAttribute");
  if (!SYM(GetDeviceCount, "cudaGetDeviceCount")) return "cudaGetDeviceCount";
  if (!SYM(GetDevice, "cudaGetDevice")) return "cudaGetDevice";
  if (!SYM(DeviceGetAttribute, "cudaDeviceGetAttribute")) return "cudaDeviceGetAttribute";
  if (!SYM(Malloc, "cudaMalloc")) return "cudaMalloc";
  if (!SYM(Free, "cudaFree")) return "cudaFree";
  if (!SYM(Memcpy, "cudaMemcpy")) return "cudaMemcpy";
  if (!SYM(MemcpyAsync, "cudaMemcpyAsync")) return "cudaMemcpyAsync";
  if (!SYM(MemsetAsync, "cudaMemsetAsync")) return "cudaMemsetAsync";
  if (!SYM(StreamSynchronize, "cudaStreamSynchronize")) return "cudaStreamSynchronize";
  if (!SYM(DeviceSynchronize, "cudaDeviceSynchronize")) return "cudaDeviceSynchronize";
  if (!SYM(GetLastError, "cudaGetLastError")) return "cudaGetLastError";
  if (!SYM(GetErrorString, "cudaGetErrorString")) return "cudaGetErrorString";
  if (!SYM(RuntimeGetVersion, "cudaRuntimeGetVersion")) return "cudaRuntimeGetVersion";
  if (!SYM(DriverGetVersion, "cudaDriverGetVersion")) return "cudaDriverGetVersion";
  return NULL;
}

static void remember_path(void) {
  struct link_map *lm = NULL;
  if (dlinfo(st.handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
    snprintf(st.path, sizeof st.path, "%s", lm->l_name);
  else
    snprintf(st.path, sizeof st.path, "libcudart");
}

/* Why cudaGetDeviceCount failed, in words for "Cuda is not enabled: ...". */
static void explain_count_error(Err e) {
  int v = st.runtime_version;
  if (e == ERR_INSUFFICIENT_DRIVER)
    snprintf(st.why, sizeof st.why,
             "no NVIDIA driver was found, or it is older than the CUDA %d.%d runtime (%s): "
             "cudaGetDeviceCount says \"%s\"", v / 1000, v % 1000 / 10, st.path, err_str(e));
  else if (e == ERR_NO_DEVICE)
    snprintf(st.why, sizeof st.why, "no CUDA device was found (cudaGetDeviceCount says \"%s\")",
             err_str(e));
  else
    snprintf(st.why, sizeof st.why,
             "the CUDA runtime (%s) cannot use the GPU: cudaGetDeviceCount failed with \"%s\" "
             "(error %d)", st.path, err_str(e), e);
}

/* PARPY_CUDA_SIM: the simulated runtime (cuda_sim.c) and its one device. */
static void load_sim(void) {
  const RtSimApi *s = &rt_sim_api;
  api.GetDeviceCount = s->GetDeviceCount;
  api.GetDevice = s->GetDevice;
  api.DeviceGetAttribute = s->DeviceGetAttribute;
  api.Malloc = s->Malloc;
  api.Free = s->Free;
  api.Memcpy = s->Memcpy;
  api.MemcpyAsync = s->MemcpyAsync;
  api.MemsetAsync = s->MemsetAsync;
  api.StreamSynchronize = s->StreamSynchronize;
  api.DeviceSynchronize = s->DeviceSynchronize;
  api.GetLastError = s->GetLastError;
  api.GetErrorString = s->GetErrorString;
  api.RuntimeGetVersion = s->RuntimeGetVersion;
  api.DriverGetVersion = s->DriverGetVersion;
  api.GetDeviceProperties = s->GetDeviceProperties;
  snprintf(st.path, sizeof st.path, "the CUDA simulator (PARPY_CUDA_SIM)");
  st.runtime_version = 13000;
  st.loaded = st.usable = true;
  st.ndevices = 1;
}

static void load(void) {
  char looked[PATH_MAX + 128] = "";
  if (rt_cuda_sim()) {
    load_sim();
    return;
  }
  st.handle = open_runtime(looked, sizeof looked);
  if (!st.handle) {
    snprintf(st.why, sizeof st.why,
             "the CUDA runtime library was not found (%sfor libcudart.so.13, libcudart.so.12 "
             "and libcudart.so on the library path)", looked);
    return;
  }
  remember_path();
  const char *missing = resolve();
  if (missing) {
    snprintf(st.why, sizeof st.why, "the CUDA runtime library %s has no %s", st.path, missing);
    return;
  }
  st.loaded = true;
  if (api.RuntimeGetVersion(&st.runtime_version) != 0)
    st.runtime_version = 0;
  int n = 0;
  Err e = api.GetDeviceCount(&n);
  if (e != 0) {
    explain_count_error(e);
    api.GetLastError();
    return;
  }
  if (n <= 0) {
    snprintf(st.why, sizeof st.why, "no CUDA device was found (cudaGetDeviceCount found 0)");
    return;
  }
  st.ndevices = n;
  st.usable = true;
}

int rt_cuda_device_count(void) {
  pthread_once(&once, load);
  return st.usable ? st.ndevices : 0;
}

/* NULL when the runtime can be used, else why not. */
static const char *unusable(void) {
  pthread_once(&once, load);
  return st.usable ? NULL : st.why;
}

/* ---- queries ---- */

bool rt_cuda_usable(char *why, size_t n) {
  const char *w = unusable();
  if (w && why && n)
    snprintf(why, n, "%s", w);
  return !w;
}

const char *rt_cuda_runtime_path(void) {
  pthread_once(&once, load);
  return st.handle ? st.path : NULL;
}

int rt_cuda_device(void) {
  int d;
  if (unusable() || fail(api.GetDevice(&d)))
    return -1;
  return d;
}

static bool capability(int dev, int *major, int *minor) {
  return !fail(api.DeviceGetAttribute(major, ATTR_CC_MAJOR, dev)) &&
         !fail(api.DeviceGetAttribute(minor, ATTR_CC_MINOR, dev));
}

const char *rt_cuda_arch(void) {
  int dev = rt_cuda_device(), major, minor;
  if (dev < 0 || dev >= MAX_DEVICES)
    return NULL;
  pthread_mutex_lock(&arch_lock);
  if (!archs[dev][0] && capability(dev, &major, &minor))
    snprintf(archs[dev], sizeof archs[dev], "sm_%d%d", major, minor);
  const char *r = archs[dev][0] ? archs[dev] : NULL;
  pthread_mutex_unlock(&arch_lock);
  return r;
}

/* The device's name: the first field of cudaDeviceProp, whose size changes
 * between CUDA versions; a buffer far larger than any of them holds it. */
static void device_name(int dev, char *out, size_t n) {
  snprintf(out, n, "CUDA device %d", dev);
  char *props = api.GetDeviceProperties ? calloc(1, 16384) : NULL;
  if (props && !fail(api.GetDeviceProperties(props, dev)) && props[0])
    snprintf(out, n, "%.255s", props);
  free(props);
}

bool rt_cuda_info(CudaInfo *out, char *why, size_t n) {
  memset(out, 0, sizeof *out);
  if (!rt_cuda_usable(why, n))
    return false;
  const char *arch = rt_cuda_arch();
  out->device = rt_cuda_device();
  if (!arch || out->device < 0 || !capability(out->device, &out->cc_major, &out->cc_minor)) {
    if (why && n)
      snprintf(why, n, "the CUDA runtime cannot read the properties of the current device");
    return false;
  }
  snprintf(out->arch, sizeof out->arch, "%s", arch);
  out->ndevices = st.ndevices;
  device_name(out->device, out->name, sizeof out->name);
  out->runtime_version = st.runtime_version;
  if (fail(api.DriverGetVersion(&out->driver_version)))
    out->driver_version = 0;
  out->runtime_path = st.path;
  return true;
}

/* ---- memory ---- */

/* Stream-ordered allocation needs memory pools.  The default pool gives
 * memory back to the system at every synchronisation unless told to keep
 * some; keep up to 1 GiB, so that the copies of host arrays in repeated
 * calls reuse their memory.  A threshold someone else set is left alone. */
static bool setup_pool(int dev) {
  int yes = 0;
  if (!api.MallocAsync || !api.FreeAsync || fail(api.DeviceGetAttribute(&yes, ATTR_POOLS, dev)) ||
      !yes)
    return false;
  void *pool = NULL;
  uint64_t now = 1, keep = (uint64_t)1 << 30;
  if (api.DeviceGetDefaultMemPool && api.MemPoolGetAttribute && api.MemPoolSetAttribute &&
      !fail(api.DeviceGetDefaultMemPool(&pool, dev)) &&
      !fail(api.MemPoolGetAttribute(pool, POOL_RELEASE_THRESHOLD, &now)) && now == 0)
    fail(api.MemPoolSetAttribute(pool, POOL_RELEASE_THRESHOLD, &keep));
  return true;
}

static bool pooled_on(int dev) {
  if (dev < 0 || dev >= MAX_DEVICES)
    return false;
  signed char s = atomic_load(&pools[dev]);
  if (s == 0) {
    s = setup_pool(dev) ? 1 : 2; /* two threads may both set up: harmless */
    atomic_store(&pools[dev], s);
  }
  return s == 1;
}

void rt_cuda_keep_pool(void) {
  int dev;
  if (!unusable() && !fail(api.GetDevice(&dev)))
    pooled_on(dev);
}

const char *rt_cuda_alloc(void **p, size_t bytes, bool *pooled) {
  *p = NULL;
  *pooled = false;
  const char *w = unusable();
  if (w)
    return w;
  int dev;
  const char *e = fail(api.GetDevice(&dev));
  if (e)
    return e;
  *pooled = pooled_on(dev);
  return *pooled ? fail(api.MallocAsync(p, bytes, NULL)) : fail(api.Malloc(p, bytes));
}

const char *rt_cuda_free(void *p, bool pooled) {
  const char *w = unusable();
  if (w || !p)
    return w;
  return pooled ? fail(api.FreeAsync(p, NULL)) : fail(api.Free(p));
}

const char *rt_cuda_malloc_async(void **p, size_t bytes, void *stream) {
  *p = NULL;
  const char *w = unusable();
  if (w)
    return w;
  if (!api.MallocAsync)
    return "this CUDA runtime has no cudaMallocAsync";
  return fail(api.MallocAsync(p, bytes, stream));
}

const char *rt_cuda_free_async(void *p, void *stream) {
  const char *w = unusable();
  if (w)
    return w;
  if (!api.FreeAsync)
    return "this CUDA runtime has no cudaFreeAsync";
  return fail(api.FreeAsync(p, stream));
}

const char *rt_cuda_to_device(void *dst, const void *src, size_t bytes) {
  const char *w = unusable();
  return w ? w : fail(api.MemcpyAsync(dst, src, bytes, COPY_H2D, NULL));
}

const char *rt_cuda_to_host(void *dst, const void *src, size_t bytes) {
  const char *w = unusable();
  return w ? w : fail(api.Memcpy(dst, src, bytes, COPY_D2H));
}

const char *rt_cuda_zero(void *dst, size_t bytes) {
  const char *w = unusable();
  return w ? w : fail(api.MemsetAsync(dst, 0, bytes, NULL));
}

const char *rt_cuda_sync(void) {
  const char *w = unusable();
  return w ? w : fail(api.StreamSynchronize(NULL));
}

const char *rt_cuda_device_sync(void) {
  const char *w = unusable();
  return w ? w : fail(api.DeviceSynchronize());
}

const char *rt_cuda_wait_stream(uintptr_t stream) {
  const char *w = unusable();
  if (w || stream == 0 || stream == 1) /* 1: the legacy default stream, ours */
    return w;
  void *s = (void *)stream, *ev = NULL;
  if (!api.EventCreateWithFlags || !api.EventRecord || !api.StreamWaitEvent || !api.EventDestroy)
    return fail(api.StreamSynchronize(s));
  const char *e = fail(api.EventCreateWithFlags(&ev, EVENT_NO_TIMING));
  if (e)
    return e;
  e = fail(api.EventRecord(ev, s));
  if (!e)
    e = fail(api.StreamWaitEvent(NULL, ev, 0));
  fail(api.EventDestroy(ev)); /* released once the wait is done */
  return e;
}

static uintptr_t legacy(uintptr_t s) { return s == 0 ? 1 : s; }

const char *rt_cuda_stream_wait(uintptr_t waiter, uintptr_t stream) {
  const char *w = unusable();
  if (w || legacy(waiter) == legacy(stream))
    return w;
  /* 1 and 2 are the runtime's own handles cudaStreamLegacy and
   * cudaStreamPerThread, valid wherever a stream is. */
  void *s = (void *)legacy(stream), *ws = (void *)legacy(waiter), *ev = NULL;
  if (!api.EventCreateWithFlags || !api.EventRecord || !api.StreamWaitEvent || !api.EventDestroy)
    return fail(api.StreamSynchronize(s));
  const char *e = fail(api.EventCreateWithFlags(&ev, EVENT_NO_TIMING));
  if (e)
    return e;
  e = fail(api.EventRecord(ev, s));
  if (!e)
    e = fail(api.StreamWaitEvent(ws, ev, 0));
  fail(api.EventDestroy(ev)); /* released once the wait is done */
  return e;
}

const char *rt_cuda_check_pointer(const void *p, int *device) {
  *device = -1;
  const char *w = unusable();
  if (w || !api.PointerGetAttributes)
    return w;
  PointerAttributes attr;
  memset(&attr, 0, sizeof attr);
  const char *e = fail(api.PointerGetAttributes(&attr, p));
  if (e)
    return e;
  if (attr.type == MEM_DEVICE) {
    *device = attr.device;
    return NULL;
  }
  if (attr.type == MEM_MANAGED)
    return NULL;
  return "it is host memory";
}

const char *rt_cuda_last_error(void) {
  if (unusable())
    return NULL;
  Err e = api.GetLastError();
  return e ? err_str(e) : NULL;
}
