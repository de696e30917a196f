/* module.h - the parpy._core extension module's internal interface.
 *
 * The module is the second of the two places (with front/) that include
 * Python.h.  It turns Python objects into the core's data structures
 * (ArgSpec, Options, GlobalRef results), runs the pipeline and the runtime,
 * and turns Diags back into Python exceptions.  The hot path of a jitted
 * call (jitfn.c) stays in C: classify the arguments, look the specialisation
 * up in a small per-function table, call the library's entry. */
#ifndef PARPY_MODULE_H
#define PARPY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../ast.h"
#include "../front/front.h"
#include "../runtime/runtime.h"
#include "../target/target.h"

/* ---- module.c: shared state ---------------------------------------------- */

/* Bumped by clear_cache(): in-memory cache entries of older generations are
 * dead, in every JitFunction at once, without walking them. */
extern uint64_t pp_generation;

/* Debug counters, read by _core._stats() (tests count compilations). */
typedef struct Stats {
  uint64_t compiles;   /* compile_prog runs for jitted calls */
  uint64_t loads;      /* rt_load calls */
  uint64_t hits;       /* in-memory cache hits */
  uint64_t cuda_calls; /* calls of Cuda libraries */
  uint64_t copies_in;  /* host arrays copied to the GPU for them */
  uint64_t buffers;    /* parpy.buffer allocations alive (buffer.c) */
} Stats;
extern Stats pp_stats;

/* A callable from a Python module of the package, imported on first use
 * and kept: "parpy._resolve", "resolve".  New reference is NOT returned. */
PyObject *pp_lookup(PyObject **cache, const char *module, const char *attr);

/* ---- errors.c: Diag -> exception ----------------------------------------- */
PyObject *set_error_types(PyObject *self, PyObject *args);
/* Raise the exception of a Diag; always returns NULL. */
PyObject *raise_diag(const Diag *d);
/* Whether the pending exception is a ParPyError. */
bool pp_error_is_ours(void);
/* Raise a ParPy exception of `kind` with no source position; returns NULL. */
PyObject *pp_raise(DiagKind kind, const char *fmt, ...) PP_PRINTF(2, 3);

/* ---- handle.c: FuncHandle, the decoration-time tree of one function ------ */
/* Scalars that vary (jitfn.c): a scalar parameter is specialised to its
 * value (a compile-time constant) until it has taken PP_RUNTIME_AFTER
 * distinct values; from the next new value on, the function takes it at
 * run time (one library for every value), unless that version cannot be
 * compiled (a value the compiler needs as a constant, Metal, CUDA graphs), in
 * which case the parameter is specialised for good. */
#define PP_RUNTIME_AFTER 4
enum { SC_COUNT, SC_RUNTIME, SC_SPECIALISE };
typedef struct ScalarHistory {
  uint8_t state;
  uint8_t nseen;
  uint64_t seen[PP_RUNTIME_AFTER]; /* the bits of the distinct values so far */
} ScalarHistory;

typedef struct HandleObject {
  PyObject_HEAD
  ScalarHistory *scalars; /* one per parameter, NULL until the first call */
  Func *func;
  const char **names; /* parameter names (in func's arena), for messages */
  PyObject *refs;     /* list: handles whose Funcs ours points to, file/text strs */
} HandleObject;

extern PyTypeObject HandleType;
PyObject *mod_parse(PyObject *self, PyObject *args);

/* ---- args.c: call arguments -> ArgSpecs and slots ------------------------ */

/* Per-call scratch: a small inline bump buffer that spills into an arena,
 * so a call with few arguments allocates nothing on the heap. */
typedef struct Scratch {
  _Alignas(16) unsigned char buf[4096];
  size_t used;
  Arena arena;
  bool spilled;
} Scratch;

/* A DLPack tensor taken from its capsule: its deleter runs in args_release,
 * after the call, since the memory is only ours until then. */
typedef struct DLHold {
  void *managed; /* DLManagedTensor or DLManagedTensorVersioned */
  bool versioned;
} DLHold;

typedef struct CallArgs {
  int n;           /* parameters */
  const Param *params; /* the function's, if known: a 0-d array argument of a
                          parameter indexed with () or ... is an array (ARG_ARRAY, rank 0) */
  ArgSpec *specs;  /* one per parameter */
  int nslots;
  void **slots;    /* the entry's `args` */
  CallSlot *info;  /* one per slot: arrays in host or GPU memory */
  int nhost, ndevice; /* arrays of each kind */
  int nhostbufs;      /* Cpu buffers among the host arrays (refused by Cuda) */
  int nviews;
  Py_buffer *views; /* released by args_release */
  int nrefs;
  PyObject **refs;  /* dict keys and values, held until args_release */
  int nholds;
  DLHold *holds;    /* DLPack tensors, released by args_release */
  int nmps;
  PyObject **mps;   /* pairs (PyTorch mps tensor, its CPU copy that the call
                       uses): copied back by args_writeback */
  int stream_device; /* torch.c: the device torch_stream is for; -2: none yet */
  uintptr_t torch_stream; /* PyTorch's current stream there (1: legacy) */
  Scratch scratch;
} CallArgs;

int args_init_strings(void); /* module init */
void args_init(CallArgs *ca);
/* After a call: the CPU copies of mps tensors back into them (false with
 * an exception). */
bool args_writeback(CallArgs *ca);
/* Classify `n` positional arguments for function `fname` whose parameter
 * names are `names` (for messages).  False with a Python exception set. */
bool args_classify(CallArgs *ca, PyObject *const *args, int n, const char *fname,
                   const char *const *names);
void args_release(CallArgs *ca);
/* Deep copy of ArgSpecs into an arena (the compiler keeps them). */
ArgSpec *args_copy(Arena *a, const ArgSpec *specs, int n);
/* Raise the arity TypeError ("f() takes 3 positional arguments but 2 were given"). */
PyObject *args_count_error(const char *fname, int want, Py_ssize_t got);

/* ---- buffer.c: the memory of parpy.buffer.Buffer ------------------------
 * BufferBase is the C part of parpy.buffer.Buffer (a Python subclass adds
 * the API): a contiguous array of `elem` with `rank` extents in host memory
 * (backend Cpu) or GPU memory (Cuda).  args.c reads these fields directly,
 * so a buffer costs a call no attribute lookup.  Shape and type never
 * change: reshape and with_type make new objects. */
typedef struct BufferObject {
  PyObject_HEAD
  void *data;       /* NULL only for an empty GPU buffer */
  int64_t *dims;    /* rank extents (PyMem) */
  Py_ssize_t *view; /* rank extents, then rank strides: the buffer protocol's */
  size_t bytes;
  int rank;
  Elem elem;
  Backend backend;  /* BACKEND_CPU, BACKEND_CUDA or BACKEND_METAL (host memory) */
  int16_t device;   /* Cuda: the device holding the memory; -1: any (managed) */
  bool owns;        /* data is ours to free: Cpu free(), Cuda rt_cuda_free */
  bool pooled;      /* how rt_cuda_alloc got it */
  bool readonly;    /* wraps read-only memory */
  PyObject *owner;  /* keeps data alive when !owns: the base buffer of a
                       view, or the wrapped GPU array */
  PyObject *weakrefs;
} BufferObject;

extern PyTypeObject BufferType;
PyObject *mod_cuda_sync(PyObject *self, PyObject *unused);

/* ---- options.c: CompileOptions -> Options -------------------------------- */
/* `strict`: an explicitly named backend must be usable (running); false for
 * print_compiled.  Strings are allocated in `a`.  False with an exception. */
bool options_from_py(PyObject *opts, bool strict, Options *out, Arena *a);
/* The object to use for opts=None (a shared CompileOptions()); borrowed. */
PyObject *options_default(void);
/* The pending exception of reading opts.<field> (a subclass returning junk)
 * becomes a ParPyTypeError naming the field, unless it is a ParPyError
 * already (or no Exception at all: KeyboardInterrupt).  Returns false. */
bool options_bad_field(PyObject *opts, const char *field);
/* Check that `opts` is a CompileOptions (or None -> default); borrowed. */
PyObject *options_check(PyObject *opts);

/* ---- build.c: one compilation -------------------------------------------- */
/* Compile `func` for the arguments; on success `code` holds the source,
 * `sig` (when not NULL) the signature written into it, and *opt (strings in
 * `a`) the options used.  False with an exception set. */
bool build_code(Func *func, const ArgSpec *specs, int n, PyObject *opts, bool strict,
                Options *opt, Arena *a, Buf *code, Buf *sig);
/* Build and load `code` with the GIL released; a library found with
 * another signature than `expect_sig` (when not NULL) is rebuilt.  An
 * interrupt (SIGINT) stops the build and raises KeyboardInterrupt.  False
 * with an exception. */
bool build_load(const Options *opt, const char *code, const char *fname, const char *origin,
                const char *expect_sig, Library *lib);
/* After build_load failed on the NVRTC path (opt->cuda_nvrtc), with its
 * exception set: keep the reason (debug_print shows it), print the code
 * for nvcc and build that. */
bool build_with_nvcc(Func *func, const ArgSpec *specs, int n, PyObject *opts, Options *opt,
                     Arena *a, Buf *code, Buf *sig, Library *lib);
/* _core.cuda_compiler() -> (compiler new Cuda code is printed for, why not
 * nvrtc, the last NVRTC build that fell back to nvcc and why, None when
 * libnvrtc loads else why not). */
PyObject *mod_cuda_compiler(PyObject *self, PyObject *unused);
/* _core._nvrtc_build(name, code, opts, arch) -> size of the cubin: builds
 * NVRTC code without loading it (rt_nvrtc_check_build), for tests. */
PyObject *mod_nvrtc_build(PyObject *self, PyObject *args);
/* Module init: the interrupt check of long builds (main thread). */
void build_init(void);
/* For a build (not for printing): the GPU architecture of a Cuda build,
 * from the current device.  False with an exception. */
bool build_target_arch(Options *opt);

/* ---- call.c: running a loaded library ------------------------------------ */
/* Arrays in GPU memory need the Cuda backend: false with a TypeError
 * naming the first one otherwise. */
bool call_check_devices(const CallArgs *ca, Backend backend, const char *fname);
/* Call a library's entry with the GIL released: on the Cuda backend through
 * rt_cuda_call (host arrays copied in and back).  NULL + exception on
 * failure, else a new reference to None. */
PyObject *call_library(const Library *lib, CallArgs *ca, const char *fname);

/* ---- torch.c: PyTorch's current stream, for the slots of torch tensors in
 * GPU memory (read only for a Cuda call: a stand-in torch need not have it). */
void torch_streams(CallArgs *ca);

/* ---- dlpack.c ------------------------------------------------------------ */
void dlpack_release(DLHold *h); /* runs the deleter; needs the GIL */

/* ---- memcache.c: the in-memory cache of one jitted function -------------- */

/* A loaded library shared by the cache and the calls running it: unloaded
 * when the last reference goes (eviction never pulls code from under a
 * call that released the GIL).  Only touched with the GIL held. */
typedef struct LoadedLib {
  Library lib;
  int refs;
} LoadedLib;

/* A new LoadedLib holding `lib` with one reference; NULL with MemoryError
 * (the library is unloaded then). */
LoadedLib *loaded_new(const Library *lib);
void loaded_release(LoadedLib *l);

typedef struct CacheEntry {
  char *key;    /* malloc'd; NULL: empty slot */
  size_t keylen;
  uint64_t hash;
  uint64_t gen; /* pp_generation when stored; 0: evicted */
  uint64_t used; /* MemCache.tick at the last hit, for eviction */
  LoadedLib *lib; /* a reference, or NULL once evicted */
  int nslots;
} CacheEntry;

typedef struct MemCache {
  CacheEntry *slots;
  size_t cap, used; /* open addressing, cap a power of two; used: non-empty */
  uint64_t tick;
} MemCache;

/* The most specialisations one function keeps loaded
 * ($PARPY_MAX_SPECIALIZATIONS, default 256): past it, the least recently
 * used is evicted and its library unloaded once no call runs it. */
extern size_t pp_memcache_limit;

uint64_t memcache_hash(const void *key, size_t len);
void memcache_free(MemCache *c);
/* The live entry for `key` (its use recorded), or NULL.  The pointer is
 * valid until the next memcache_put: take a reference to e->lib before
 * releasing the GIL. */
CacheEntry *memcache_get(MemCache *c, const void *key, size_t len, uint64_t hash);
/* Store `lib` (the cache takes its own reference), evicting the least
 * recently used entry when the function is at its limit. */
void memcache_put(MemCache *c, const void *key, size_t len, uint64_t hash, LoadedLib *lib,
                  int nslots);
size_t memcache_live(const MemCache *c);

/* ---- jitfn.c / compiled.c: the callable types ---------------------------- */
extern PyTypeObject JitType;
int jit_init_strings(void); /* module init */
extern PyTypeObject CompiledType;
PyObject *mod_print_compiled(PyObject *self, PyObject *args);
PyObject *mod_set_runtime_after(PyObject *self, PyObject *arg);
PyObject *mod_compile_string(PyObject *self, PyObject *args);

#endif
