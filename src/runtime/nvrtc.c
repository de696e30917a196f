/* nvrtc.c - the NVRTC path of the Cuda backend: the kernels are compiled
 * inside the process by NVRTC (libnvrtc, loaded with dlopen) to a cubin,
 * the host part is plain C built by the system's C compiler (build.c runs
 * both at once), and the cubin is loaded with the CUDA driver API
 * (libcuda.so.1, dlopen) when the library is.  Neither nvcc nor CUDA's
 * headers take part in the host build, which is what made a first call
 * cost over a second (docs/gpu.md, "How the code is built").
 *
 * The cubin travels inside the library file, between the ELF image and the
 * trailer (libfile.c), so the checks that protect a library protect it
 * too.  Types and constants of NVRTC and the driver are declared here; the
 * values are their stable ABI. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARPY_CUDA_API_ONLY
#include "../../python/parpy/include/parpy_cuda_host.h"
#include "internal.h"

/* The compiler used when PARPY_CUDA_COMPILER says nothing: the one line
 * to change to make NVRTC the default (with the fallback to nvcc that
 * module/jitfn.c makes on any failure).  nvcc until the NVRTC path has run
 * on a GPU: everything up to the cubin is tested without one, the loading
 * and launching through the driver API is not yet verified. */
#define DEFAULT_COMPILER "nvcc"

typedef int NvErr; /* nvrtcResult; 0 is NVRTC_SUCCESS */
typedef int CuErr; /* CUresult; 0 is CUDA_SUCCESS */

static struct {
  NvErr (*Version)(int *, int *);
  NvErr (*CreateProgram)(void **, const char *, const char *, int, const char *const *,
                         const char *const *);
  NvErr (*CompileProgram)(void *, int, const char *const *);
  NvErr (*GetProgramLogSize)(void *, size_t *);
  NvErr (*GetProgramLog)(void *, char *);
  NvErr (*GetCUBINSize)(void *, size_t *);
  NvErr (*GetCUBIN)(void *, char *);
  NvErr (*DestroyProgram)(void **);
  const char *(*GetErrorString)(NvErr);
} nv;

static struct {
  CuErr (*Init)(unsigned);
  CuErr (*GetErrorString)(CuErr, const char **);
  CuErr (*CtxGetCurrent)(void **);
  CuErr (*CtxSetCurrent)(void *);
  CuErr (*DeviceGet)(int *, int);
  CuErr (*DevicePrimaryCtxRetain)(void **, int);
  CuErr (*ModuleLoadData)(void **, const void *);
  CuErr (*ModuleUnload)(void *);
  CuErr (*ModuleGetFunction)(void **, void *, const char *);
  CuErr (*LaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                        unsigned, void *, void **, void **);
} cu;

/* Written once under pthread_once, read-only afterwards (but `broken`). */
static struct {
  bool loaded;
  char path[PATH_MAX];    /* libnvrtc, resolved */
  char include[PATH_MAX + 16]; /* CUDA's headers beside it (cuda_fp16.h), or "" */
  char identity[PATH_MAX + 96];
  char why[PATH_MAX + 256];
} nvs;
static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

static struct {
  bool loaded;
  char why[256];
} cus;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

/* Set after a failure of the driver side (the cubin does not load): every
 * later build of the process uses nvcc. */
static pthread_mutex_t broken_lock = PTHREAD_MUTEX_INITIALIZER;
static char broken[512];

/* ---- libnvrtc ---- */

/* <dir>/libnvrtc.so beside the toolkit's libcudart (the nvcc on PATH),
 * else by name. */
static void *open_nvrtc(void) {
  Arena a;
  arena_init(&a);
  const char *dir = rt_cuda_toolkit_libdir(&a);
  void *h = dir ? dlopen(arena_printf(&a, "%s/libnvrtc.so", dir), RTLD_NOW | RTLD_LOCAL) : NULL;
  arena_free(&a);
  static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  for (size_t i = 0; !h && i < PP_COUNT(names); i++)
    h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  return h;
}

#define NVSYM(field, name) (*(void **)(&nv.field) = dlsym(h, name))

/* Where the library is, and its identity for the cache key (a new NVRTC
 * may compile the same code differently): path, size, mtime, version. */
static void describe_nvrtc(void *h) {
  Dl_info info;
  char real[PATH_MAX] = "libnvrtc";
  if (dladdr(*(void **)&nv.Version, &info) && info.dli_fname && realpath(info.dli_fname, real))
    snprintf(nvs.path, sizeof nvs.path, "%s", real);
  else
    snprintf(nvs.path, sizeof nvs.path, "libnvrtc");
  (void)h;
  struct stat st = {0};
  stat(nvs.path, &st);
  int major = 0, minor = 0;
  nv.Version(&major, &minor);
  snprintf(nvs.identity, sizeof nvs.identity, "nvrtc %d.%d %s %lld %lld", major, minor, nvs.path,
           (long long)st.st_size, (long long)st.st_mtime);
  /* <root>/lib/libnvrtc.so.13 -> <root>/include/cuda_fp16.h */
  char *slash = strrchr(real, '/');
  if (slash) {
    *slash = '\0';
    slash = strrchr(real, '/');
  }
  if (slash) {
    *slash = '\0';
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/include/cuda_fp16.h", real);
    if (access(probe, R_OK) == 0)
      snprintf(nvs.include, sizeof nvs.include, "%s/include", real);
  }
}

static void load_nvrtc(void) {
  void *h = open_nvrtc();
  if (!h) {
    snprintf(nvs.why, sizeof nvs.why, "libnvrtc was not found (beside the nvcc on PATH, or "
             "libnvrtc.so.13, .12 or libnvrtc.so on the library path)");
    return;
  }
  bool all = NVSYM(Version, "nvrtcVersion") && NVSYM(CreateProgram, "nvrtcCreateProgram") &&
             NVSYM(CompileProgram, "nvrtcCompileProgram") &&
             NVSYM(GetProgramLogSize, "nvrtcGetProgramLogSize") &&
             NVSYM(GetProgramLog, "nvrtcGetProgramLog") &&
             NVSYM(GetCUBINSize, "nvrtcGetCUBINSize") && NVSYM(GetCUBIN, "nvrtcGetCUBIN") &&
             NVSYM(DestroyProgram, "nvrtcDestroyProgram") &&
             NVSYM(GetErrorString, "nvrtcGetErrorString");
  if (!all) {
    snprintf(nvs.why, sizeof nvs.why, "the libnvrtc found lacks the functions ParPy uses "
             "(nvrtcGetCUBIN needs CUDA 11.1 or newer)");
    return;
  }
  describe_nvrtc(h);
  nvs.loaded = true;
}

bool rt_nvrtc_loads(char *why, size_t n) {
  pthread_once(&nv_once, load_nvrtc);
  if (!nvs.loaded)
    snprintf(why, n, "%s", nvs.why);
  return nvs.loaded;
}

bool rt_cuda_use_nvrtc(char *why, size_t n) {
  const char *env = getenv("PARPY_CUDA_COMPILER");
  const char *want = env && *env ? env : DEFAULT_COMPILER;
  if (strcmp(want, "nvrtc") != 0) {
    if (env && *env)
      snprintf(why, n, "PARPY_CUDA_COMPILER is %s", strcmp(want, "nvcc") == 0 ? "nvcc" : "not nvrtc");
    else
      snprintf(why, n, "nvcc is the default (PARPY_CUDA_COMPILER=nvrtc selects NVRTC)");
    return false;
  }
  pthread_once(&nv_once, load_nvrtc);
  if (!nvs.loaded) {
    snprintf(why, n, "%s", nvs.why);
    return false;
  }
  pthread_mutex_lock(&broken_lock);
  bool ok = !broken[0];
  if (!ok)
    snprintf(why, n, "%s", broken);
  pthread_mutex_unlock(&broken_lock);
  return ok;
}

/* The rest of the process builds with nvcc: the driver cannot use what
 * NVRTC makes (an older driver, no libcuda), so every try would fail. */
static void give_up(const char *why) {
  pthread_mutex_lock(&broken_lock);
  if (!broken[0])
    snprintf(broken, sizeof broken, "an earlier NVRTC build could not be used: %s", why);
  pthread_mutex_unlock(&broken_lock);
}

bool rt_nvrtc_is_code(const char *code) {
  return strstr(code, "\n" RT_NVRTC_MARK "\n") != NULL;
}

const char **rt_nvrtc_options(const Options *opt, const char *incdir, Arena *a) {
  pthread_once(&nv_once, load_nvrtc);
  int n = 16 + opt->nincludes + opt->nextra_flags;
  const char **o = ARENA_ARRAY(a, const char *, n);
  int k = 0;
  o[k++] = nvs.loaded ? nvs.identity : "nvrtc (not loaded)";
  if (opt->cuda_arch && opt->cuda_arch[0])
    o[k++] = arena_printf(a, "-arch=%s", opt->cuda_arch);
  o[k++] = "-std=c++17";
  /* As on the nvcc path: no fused multiply-add (docs/gpu.md). */
  o[k++] = "--fmad=false";
  o[k++] = arena_printf(a, "-I%s", incdir);
  if (nvs.include[0])
    o[k++] = arena_printf(a, "-I%s", nvs.include);
  for (int i = 0; i < opt->nincludes; i++)
    o[k++] = arena_printf(a, "-I%s", opt->includes[i]);
  for (int i = 0; i < opt->nextra_flags; i++)
    o[k++] = opt->extra_flags[i];
  o[k] = NULL;
  return o;
}

/* NVRTC has no system headers.  The C and C++ headers a user's device
 * header commonly includes get stand-ins: the names they would declare are
 * NVRTC's own (printf, memcpy, the math functions) or parpy_cuda.h's (the
 * integer types, included before any user header).  A header needing more
 * fails to compile, and the build falls back to nvcc. */
static const char *const std_names[] = {"cstdint", "stdint.h", "cstddef", "stddef.h", "cstdio",
                                        "stdio.h", "cstring", "string.h", "cmath", "math.h",
                                        "climits", "limits.h"};
#define STANDIN "#pragma once\n/* ParPy's stand-in under NVRTC (runtime/nvrtc.c) */\n"
static const char *const std_bodies[] = {
    STANDIN "namespace std {\nusing ::int8_t; using ::int16_t; using ::int32_t; using ::int64_t;\n"
            "using ::uint8_t; using ::uint16_t; using ::uint32_t; using ::uint64_t;\n}\n",
    STANDIN, STANDIN, STANDIN, STANDIN, STANDIN, STANDIN, STANDIN, STANDIN, STANDIN, STANDIN,
    STANDIN};

bool rt_nvrtc_compile(const char *code, const char *const *options, Buf *cubin, Buf *msg) {
  if (!nvs.loaded) {
    buf_printf(msg, "NVRTC cannot be used: %s", nvs.why);
    return false;
  }
  int n = 0;
  while (options[n + 1])
    n++;
  const char *const *opts = options + 1; /* [0] is the identity, for the key */
  void *prog = NULL;
  NvErr e = nv.CreateProgram(&prog, code, "parpy.cu", (int)PP_COUNT(std_names), std_bodies,
                             std_names);
  if (e != 0) {
    buf_printf(msg, "NVRTC could not take the code: %s", nv.GetErrorString(e));
    return false;
  }
  e = nv.CompileProgram(prog, n, opts);
  size_t size = 0;
  if (e != 0) {
    buf_printf(msg, "NVRTC failed to compile the kernels (%s):\n", nv.GetErrorString(e));
    if (nv.GetProgramLogSize(prog, &size) == 0 && size > 1) {
      char *log = malloc(size);
      if (log && nv.GetProgramLog(prog, log) == 0)
        buf_puts(msg, log);
      free(log);
    }
  } else if ((e = nv.GetCUBINSize(prog, &size)) != 0 || size == 0) {
    buf_printf(msg, "NVRTC made no cubin (%s): is -arch a real GPU (sm_XY)?",
               e ? nv.GetErrorString(e) : "empty");
    e = e ? e : 1;
  } else {
    char *bin = malloc(size);
    if (!bin || (e = nv.GetCUBIN(prog, bin)) != 0) {
      buf_printf(msg, "NVRTC could not hand over the cubin: %s",
                 bin ? nv.GetErrorString(e) : "out of memory");
      e = e ? e : 1;
    } else {
      buf_put(cubin, bin, size);
    }
    free(bin);
  }
  nv.DestroyProgram(&prog);
  return e == 0;
}

/* ---- the driver ---- */

#define CUSYM(h, field, name) (*(void **)(&cu.field) = dlsym(h, name))

static void load_driver(void) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(cus.why, sizeof cus.why, "the CUDA driver library libcuda.so.1 was not found");
    return;
  }
  bool all = CUSYM(h, Init, "cuInit") && CUSYM(h, GetErrorString, "cuGetErrorString") &&
             CUSYM(h, CtxGetCurrent, "cuCtxGetCurrent") &&
             CUSYM(h, CtxSetCurrent, "cuCtxSetCurrent") && CUSYM(h, DeviceGet, "cuDeviceGet") &&
             CUSYM(h, DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") &&
             CUSYM(h, ModuleLoadData, "cuModuleLoadData") &&
             CUSYM(h, ModuleUnload, "cuModuleUnload") &&
             CUSYM(h, ModuleGetFunction, "cuModuleGetFunction") &&
             CUSYM(h, LaunchKernel, "cuLaunchKernel");
  if (!all) {
    snprintf(cus.why, sizeof cus.why, "libcuda.so.1 lacks the driver functions ParPy uses");
    return;
  }
  if (cu.Init(0) != 0) {
    snprintf(cus.why, sizeof cus.why, "cuInit failed");
    return;
  }
  cus.loaded = true;
}

static const char *cu_str(CuErr e) {
  const char *s = NULL;
  if (cu.GetErrorString && cu.GetErrorString(e, &s) == 0 && s)
    return s;
  return "unknown CUDA driver error";
}

/* The context the CUDA runtime uses on this thread: the current one, else
 * the primary context of the runtime's current device, made current (the
 * runtime itself would do the same at its next call). */
static const char *ensure_context(void **ctx) {
  CuErr e = cu.CtxGetCurrent(ctx);
  if (e != 0)
    return cu_str(e);
  if (*ctx)
    return NULL;
  int ordinal = rt_cuda_device(), dev = 0;
  if (ordinal < 0)
    return "the CUDA runtime has no current device";
  if ((e = cu.DeviceGet(&dev, ordinal)) != 0 || (e = cu.DevicePrimaryCtxRetain(ctx, dev)) != 0 ||
      (e = cu.CtxSetCurrent(*ctx)) != 0)
    return cu_str(e);
  return NULL;
}

static const char *api_launch(void *function, uint32_t gx, uint32_t gy, uint32_t gz,
                              uint32_t block, void *stream, void **args) {
  void *ctx;
  const char *w = ensure_context(&ctx);
  if (w)
    return w;
  CuErr e = cu.LaunchKernel(function, gx, gy, gz, block, 1, 1, 0, stream, args, NULL);
  return e ? cu_str(e) : NULL;
}

static const char *api_alloc(void **p, size_t bytes, void *stream) {
  return rt_cuda_malloc_async(p, bytes, stream);
}

static const char *api_release(void *p, void *stream) {
  return rt_cuda_free_async(p, stream);
}

static const ParpyCudaApi host_api = {.version = PARPY_CUDA_API_VERSION,
                                      .launch = api_launch,
                                      .alloc = api_alloc,
                                      .release = api_release};

/* One module per loaded library: dlopen hands out the same handle for a
 * library loaded twice (two functions with the same code), whose kernel
 * table must then stay valid until its last user is gone. */
typedef struct Bound {
  void *handle, *module;
  int refs;
  struct Bound *next;
} Bound;
static pthread_mutex_t bound_lock = PTHREAD_MUTEX_INITIALIZER;
static Bound *bound;

typedef int32_t (*BindFn)(const ParpyCudaApi *, void *const *);

/* Load the cubin, look up every kernel <f>__kernels names and hand them to
 * the library with the launch table. */
static const char *load_module(void *handle, const char *fname, const void *cubin, size_t n,
                               void **module, bool *driver, Arena *a) {
  const char *const *names = dlsym(handle, arena_printf(a, "%s__kernels", fname));
  BindFn bind;
  *(void **)&bind = dlsym(handle, arena_printf(a, "%s__bind", fname));
  *driver = false;
  if (!names || !bind)
    return arena_printf(a, "the library defines no %s__kernels or %s__bind", fname, fname);
  if (!cubin || n == 0)
    return "the library carries no cubin";
  *driver = true;
  pthread_once(&cu_once, load_driver);
  if (!cus.loaded)
    return cus.why;
  void *ctx;
  const char *w = ensure_context(&ctx);
  if (w)
    return arena_printf(a, "no CUDA context for the kernels: %s", w);
  CuErr e = cu.ModuleLoadData(module, cubin);
  if (e != 0)
    return arena_printf(a, "cuModuleLoadData refused the cubin: %s", cu_str(e));
  *driver = false;
  int count = 0;
  while (names[count])
    count++;
  void **fns = ARENA_ARRAY(a, void *, count + 1);
  for (int i = 0; i < count; i++)
    if ((e = cu.ModuleGetFunction(&fns[i], *module, names[i])) != 0) {
      cu.ModuleUnload(*module);
      return arena_printf(a, "the cubin has no kernel %s: %s", names[i], cu_str(e));
    }
  int32_t v = bind(&host_api, fns);
  if (v != PARPY_CUDA_API_VERSION) {
    cu.ModuleUnload(*module);
    return arena_printf(a, "the library was built for version %d of ParPy's launch table, "
                        "not %d", (int)v, PARPY_CUDA_API_VERSION);
  }
  return NULL;
}

bool rt_nvrtc_bind(void *handle, const char *fname, const void *cubin, size_t n, Diag *d,
                   Arena *a) {
  pthread_mutex_lock(&bound_lock);
  for (Bound *b = bound; b; b = b->next)
    if (b->handle == handle) {
      b->refs++;
      pthread_mutex_unlock(&bound_lock);
      return true;
    }
  void *module = NULL;
  bool driver;
  const char *why = load_module(handle, fname, cubin, n, &module, &driver, a);
  Bound *b = why ? NULL : malloc(sizeof *b);
  if (b) {
    *b = (Bound){.handle = handle, .module = module, .refs = 1, .next = bound};
    bound = b;
  } else if (!why) {
    cu.ModuleUnload(module);
    why = "out of memory";
  }
  pthread_mutex_unlock(&bound_lock);
  if (why) {
    if (driver)
      give_up(why);
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "loading the kernels of %s (NVRTC) failed: %s",
               fname, why);
  }
  return !why;
}

void rt_nvrtc_release(void *handle) {
  pthread_mutex_lock(&bound_lock);
  for (Bound **p = &bound; *p; p = &(*p)->next) {
    Bound *b = *p;
    if (b->handle != handle)
      continue;
    if (--b->refs == 0) {
      *p = b->next;
      cu.ModuleUnload(b->module); /* the caller synchronised the device */
      free(b);
    }
    break;
  }
  pthread_mutex_unlock(&bound_lock);
}

/* The host part as the Cpu backend builds its C (the same arithmetic: no
 * contraction, wrapping signed overflow), without OpenMP or -march=native:
 * it only computes scalars and launches. */
const char **rt_nvrtc_host_cmd(const char *src, const char *lib, const char *incdir, Arena *a) {
  const char **argv = ARENA_ARRAY(a, const char *, 24);
  int k = 0;
  const char *cc = getenv("CC");
  argv[k++] = cc && *cc ? cc : "cc";
  argv[k++] = "-std=gnu11";
  argv[k++] = "-O2";
  argv[k++] = "-fwrapv";
  argv[k++] = "-fexcess-precision=standard";
  argv[k++] = "-ffp-contract=off";
  argv[k++] = "-fno-math-errno";
  argv[k++] = "-fno-builtin-pow";
  argv[k++] = "-fno-builtin-powf";
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = arena_printf(a, "-I%s", incdir);
  argv[k++] = "-x";
  argv[k++] = "c";
  argv[k++] = src;
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k++] = "-lm";
  argv[k] = NULL;
  return argv;
}
