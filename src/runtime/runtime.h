/* runtime.h - from source text to a loaded function: the compiler driver,
 * the disk cache and the dynamic loader.  Plain C (POSIX), no CPython, so it
 * can run with the GIL released.
 *
 * Disk cache (DESIGN.md section 7, docs/cache.md): $PARPY_CACHE_DIR, else
 * $XDG_CACHE_HOME/parpy, else ~/.cache/parpy; created 0700 and refused when
 * another user owns it or others may write it, checked at every lookup
 * through the descriptor that is then used.  A library's name is the
 * SHA-256 of everything that decides its contents: the code, the compiler
 * (path, size, mtime), every flag, the target architecture, parpy's headers
 * and version.  It is built under a temporary name, sealed with a trailer
 * (the key and a SHA-256 of its bytes) and renamed into place; only a
 * regular file of ours whose trailer matches is ever loaded, anything else
 * under the name is rebuilt.  One build per key per machine: the builder
 * holds <key>.lock, others wait.  A cache hit starts no process.
 *
 * The files: runtime/config.c (settings, clock, interrupts), cachedir.c
 * (the directory, its checks, clearing), key.c (the cache key), build.c
 * (running the compiler), libfile.c (trailer, checked open, dlopen),
 * lock.c (build locks, tidying, the size limit), load.c (rt_load).  Every
 * function here may be called from several threads at once. */
#ifndef PARPY_RUNTIME_H
#define PARPY_RUNTIME_H

#include "../target/target.h"

typedef int32_t (*EntryFn)(void **args);
typedef const char *(*ErrorFn)(void);
/* <f>__error_at of code built in debug mode: the kind of the calling
 * thread's last failed check (0: none; parpy_debug.h's PARPY_DBG_*) and its
 * place: pos = {line, column, end column} (columns 0-based). */
typedef int32_t (*ErrorAtFn)(const char **file, const char **func, int32_t *pos,
                             const char **source);

typedef struct Library {
  void *handle;
  EntryFn entry;
  const char *signature; /* inside the library */
  ErrorFn error;         /* NULL when the library has none */
  ErrorAtFn error_at;    /* NULL unless built in debug mode */
  /* Filled by the caller of rt_load (module/build.c), not by rt_load: */
  Backend backend;       /* what the code was built for */
  const char *access;    /* <f>__access, or NULL when the library has none */
  /* <f>__set_stream (Cuda code), or NULL: the stream the entry launches on,
   * for the calling thread. */
  void (*set_stream)(void *stream);
  /* Built on the NVRTC path: its kernels' module is bound to it (nvrtc.c)
   * and released with it. */
  bool nvrtc;
} Library;

/* Set once at import: the directory holding parpy's C headers, and the
 * package version that goes into every cache key.  Both are copied. */
void rt_configure(const char *include_dir, const char *version);

/* Build `code` for opt->backend unless the disk cache has it, load it and
 * look up <fname>__entry, <fname>__signature and <fname>__error.
 * `origin` ("jit" or "string") separates compile_string libraries in the key.
 * `expect_sig` (or NULL): the signature the library must carry; a library
 * found under the key with another one is rebuilt.
 * On failure fills *d (messages in `a`): a compiler error carries the
 * compiler's output, and with opt->write_output the path of the kept source;
 * a library without <fname>__entry or <fname>__signature is explained with
 * the calling convention of target.h; a library that is sound but cannot be
 * loaded (resources, a missing dependency) is reported as such and kept.
 * rt_unload undoes a successful rt_load. */
bool rt_load(const Options *opt, const char *code, const char *fname, const char *origin,
             const char *expect_sig, Library *out, Diag *d, Arena *a);
void rt_unload(Library *lib);

/* The error of an entry that returned `rc` != 0, in *d: a failed check of
 * the debug mode becomes its own kind (DIAG_INDEX, ...) at the Python line
 * of the check; anything else "<fname> failed: <f>__error()". */
void rt_entry_error(const Library *lib, int32_t rc, const char *fname, Diag *d, Arena *a);

/* The check long waits make (a build, another process's build of the same
 * key): true when the wait should stop (the caller then reports the
 * interrupt itself).  Set once; NULL: never interrupted. */
void rt_set_interrupt(bool (*check)(void));

/* The cache directory, creating it (0700) if needed; NULL on error. */
const char *rt_cache_dir(Diag *d, Arena *a);
/* Remove the files parpy put in the cache directory: libraries, sources
 * kept by write_output, and temporaries and locks of builds no longer
 * running (a build in progress keeps its files); nothing else, no
 * recursion. */
bool rt_clear_disk_cache(Diag *d, Arena *a);

/* Monotonic clock in seconds, for timings. */
double rt_now(void);

/* ---- cuda.c: the CUDA runtime -------------------------------------------
 * libcudart is loaded with dlopen at first need (nothing links against it,
 * so parpy imports on machines without CUDA): first the library of the nvcc
 * on PATH (the one generated code links against, see target/cuda/build.h),
 * else libcudart.so.13, .12 or libcudart.so by name.  Loading and the device
 * check happen once per process, thread-safely.  The primitives below
 * run on the legacy default stream (stream 0); generated code launches on
 * the caller's stream (rt_cuda_call).  Functions
 * returning `const char *` return NULL on success, else a message (CUDA's
 * error string, or why the runtime cannot be used). */

/* PARPY_CUDA_SIM is set (and not "0"): the CUDA runtime and device are
 * simulated on the CPU and the Cuda target builds with the host's C++
 * compiler (runtime/cuda_sim.c, include/parpy_cuda_sim.h).  For testing
 * the Cuda lowering where there is no GPU. */
bool rt_cuda_sim(void);
/* Whether the runtime was loaded and sees a device; `why` (when not NULL)
 * says what failed, in words fit for "backend Cuda is not enabled: ...". */
bool rt_cuda_usable(char *why, size_t n);
/* "sm_90": the architecture of the current device (cached); NULL when the
 * runtime is not usable. */
const char *rt_cuda_arch(void);
/* The current device, or -1 when the runtime is not usable. */
int rt_cuda_device(void);
/* How many CUDA devices there are (0 when the runtime is not usable). */
int rt_cuda_device_count(void);
/* The path of the loaded libcudart, or NULL when none could be loaded. */
const char *rt_cuda_runtime_path(void);
/* The directory holding the libcudart.so of the nvcc found on PATH
 * (<root>/lib64, <root>/targets/<triple>/lib or <root>/lib, symbolic links
 * resolved), in `a`; NULL when there is no nvcc or no such library.  The
 * Cuda target links generated code against it. */
const char *rt_cuda_toolkit_libdir(Arena *a);

typedef struct CudaInfo {
  int device, ndevices;
  char name[256];
  char arch[16];
  int cc_major, cc_minor;
  int runtime_version, driver_version; /* 13000 for 13.0 */
  const char *runtime_path;
} CudaInfo;
/* The current device; false (with `why`) when the runtime is not usable. */
bool rt_cuda_info(CudaInfo *out, char *why, size_t n);

/* Device memory.  Stream-ordered (cudaMallocAsync on stream 0) where the
 * device has memory pools; *pooled says which, and rt_cuda_free must be
 * given the same flag. */
const char *rt_cuda_alloc(void **p, size_t bytes, bool *pooled);
const char *rt_cuda_free(void *p, bool pooled);
/* Generated code allocates its temporaries (reduction partials, locals
 * that cross kernels) with cudaMallocAsync from the current device's
 * default pool, which returns its memory to the system at every
 * synchronisation unless told to keep it: a call whose arrays are all on
 * the GPU would then map fresh memory each time (tens of microseconds).
 * Tell it once per device, before the first call. */
void rt_cuda_keep_pool(void);
/* Host -> device, queued on stream 0. */
const char *rt_cuda_to_device(void *dst, const void *src, size_t bytes);
/* Device -> host, returning when the data is there (after the work queued
 * before it on stream 0). */
const char *rt_cuda_to_host(void *dst, const void *src, size_t bytes);
/* Zero `bytes` bytes of device memory, queued on stream 0. */
const char *rt_cuda_zero(void *dst, size_t bytes);
/* Wait until stream 0 is idle. */
const char *rt_cuda_sync(void);
/* Wait until the current device is idle, every stream (parpy.buffer.sync):
 * also reports an error of a kernel that already finished. */
const char *rt_cuda_device_sync(void);
/* Make stream 0 wait for the work queued so far on `stream`, a stream
 * handle as in the CUDA array interface and DLPack (1: legacy default
 * stream, nothing to do; 2: per-thread default stream). */
const char *rt_cuda_wait_stream(uintptr_t stream);
/* Make `waiter` wait for the work queued so far on `stream` (both stream
 * handles as above: 0 and 1 the legacy default stream, 2 the per-thread
 * default stream); nothing when they are the same stream. */
const char *rt_cuda_stream_wait(uintptr_t waiter, uintptr_t stream);
/* Whether `p` is memory the current device can use (device or managed);
 * *device is the device it belongs to (-1 for managed or unknown).  NULL
 * when it can, else why not ("host memory", or CUDA's error). */
const char *rt_cuda_check_pointer(const void *p, int *device);
/* cudaGetLastError, clearing it: NULL when there was none. */
const char *rt_cuda_last_error(void);

/* Stream-ordered allocation on `stream` (a cudaStream_t, NULL: the legacy
 * default stream), for the host code of the NVRTC path. */
const char *rt_cuda_malloc_async(void **p, size_t bytes, void *stream);
const char *rt_cuda_free_async(void *p, void *stream);

/* ---- nvrtc.c: the NVRTC path of the Cuda backend -------------------------
 * Code printed for it (target/cuda) holds the line RT_NVRTC_MARK: its
 * kernels, under `#ifdef __CUDACC_RTC__`, are compiled in the process by
 * NVRTC (libnvrtc, dlopen) to a cubin kept inside the library file; the
 * rest is plain C built by the system's C compiler at the same time; the
 * cubin is loaded with the driver API (libcuda.so.1, dlopen) and handed to
 * the library with a small launch table (parpy_cuda_host.h). */
#define RT_NVRTC_MARK "#define PARPY_NVRTC 1"
/* Whether new Cuda code should be printed for NVRTC: PARPY_CUDA_COMPILER
 * (nvrtc or nvcc; DEFAULT_COMPILER of nvrtc.c when unset, nvcc for now),
 * libnvrtc loads, and no earlier NVRTC build of the process failed to load
 * on the driver.  False with `why`. */
bool rt_cuda_use_nvrtc(char *why, size_t n);
/* Whether libnvrtc loads (whatever the choice); false with `why`. */
bool rt_nvrtc_loads(char *why, size_t n);
/* Whether `code` is printed for the NVRTC path. */
bool rt_nvrtc_is_code(const char *code);
/* Tests without a GPU (load.c): build NVRTC code as rt_load would (the C
 * host part and the cubin, for opt->cuda_arch, into the disk cache), check
 * the library's symbols and that NVRTC made a cubin (its size in
 * *cubin_size), without loading the kernels. */
bool rt_nvrtc_check_build(const Options *opt, const char *code, const char *fname,
                          size_t *cubin_size, Diag *d, Arena *a);

/* ---- cuda_call.c: calling a library built for the Cuda backend ----------
 * What the call needs to know of each slot of `args` (module/args.c fills
 * these while it classifies the arguments). */
typedef enum SlotKind {
  SLOT_OTHER,  /* a scalar, an unused object */
  SLOT_HOST,   /* an array in host memory: copied to the GPU and back */
  SLOT_DEVICE  /* an array in GPU memory: passed as is */
} SlotKind;

typedef struct CallSlot {
  uint8_t kind;       /* SlotKind */
  bool writable;      /* SLOT_HOST: results may be copied back into it */
  bool check_ptr;     /* SLOT_DEVICE: the pointer's device is not known
                         (CUDA array interface): check it before use */
  int16_t device;     /* SLOT_DEVICE: the device it says it is on; -1: unsaid */
  size_t bytes;       /* arrays: size of the data */
  uintptr_t stream;   /* SLOT_DEVICE: the stream the array's producer
                         queued its work on (PyTorch's current stream, CUDA
                         array interface 3's `stream`, 1 for DLPack, which
                         we ask for the legacy default stream); 0: unsaid */
  bool buffer;        /* a parpy buffer, which only its own backend takes */
  bool torch;         /* SLOT_DEVICE: a torch tensor, whose stream (PyTorch's
                         current one) the module fills in before the call */
  const char *param;  /* for messages: the parameter, and the dict key or NULL */
  const char *key;
} CallSlot;

/* Call the entry of a Cuda library with `slots` (not modified): check the
 * device arrays, copy the host arrays to fresh GPU buffers, call, and after
 * a zero return copy back every host array the code writes (lib->access,
 * or every writable one when the library does not say) before returning;
 * then free the buffers.  A call with host arrays returns when the GPU is
 * done; one with device arrays only returns once the kernels are queued.
 * False with *d filled (messages name `fname` and the argument): the
 * library's own message (<f>__error) for a non-zero return.  Runs without
 * the GIL.
 * Streams: a call with device arrays only runs on the caller's stream, the
 * first real stream (> 2) its arrays name, after making it wait for the
 * other streams named; with host arrays, on the legacy default stream,
 * after waiting for every stream named (the call is synchronous then).  A
 * library without <f>__set_stream runs on the legacy default stream, and
 * the caller's stream waits for it afterwards. */
bool rt_cuda_call(const Library *lib, void **slots, const CallSlot *info, int n,
                  const char *fname, Diag *d, Arena *a);

#endif
