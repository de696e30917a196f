/* parpy_cuda_sim.h - the part of CUDA that ParPy's generated code uses,
 * simulated on the CPU, so that the Cuda lowering and printer can be
 * tested where there is no GPU (PARPY_CUDA_SIM=1; docs/gpu.md, "Testing
 * the Cuda lowering without a GPU").  parpy_cuda.h includes it instead of
 * <cuda_runtime.h> when PARPY_CUDA_SIM is defined; the generated file is
 * then compiled as C++ by the host compiler.  Each generated library has
 * its own copy of everything here (one translation unit, internal state).
 *
 * Memory: "device" memory is host memory (the runtime's side of the
 * simulator is src/runtime/cuda_sim.c); fresh allocations are filled with
 * the byte 0xA5, so that code reading memory it never wrote shows.
 *
 * A launch runs at once on the calling thread: its blocks one after
 * another, the threads of a block as fibers (ucontext).  A fiber runs until
 * it finishes or reaches __syncthreads() or a warp shuffle; when every
 * thread of the block still running waits at the barrier, all go on; when
 * every running lane of a warp (32 consecutive threads) waits in a
 * shuffle, the values are exchanged and the lanes go on.  Threads that can
 * never meet (some at a barrier, others of their warp in a shuffle) are an
 * error, reported as the launch's error.  `__shared__` variables are
 * `static`: one block runs at a time.  Atomics are plain operations: fibers
 * switch only at barriers and shuffles.
 *
 * CUDA graphs are simulated by recording the launches of a capture (and
 * keeping the memory it allocates for the graph's life); thread-block
 * clusters are not simulated (a compile error). */
#ifndef PARPY_CUDA_SIM_H
#define PARPY_CUDA_SIM_H

#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <ucontext.h>
#include <vector>

#ifdef PARPY_CLUSTERS
#error "the CUDA simulator does not simulate thread-block clusters (use_cuda_thread_block_clusters)"
#endif

#pragma GCC diagnostic ignored "-Wattributes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-function"

/* CUDA declares the classification functions at global scope, as C does. */
using std::isfinite;
using std::isinf;
using std::isnan;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

/* ---- types ---- */
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

typedef int cudaError_t;
enum {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNotSupported = 801,
  cudaErrorLaunchFailure = 719
};
struct parpy_sim_stream {
  bool capturing;
  struct parpy_sim_graph *graph;
};
typedef parpy_sim_stream *cudaStream_t;
enum { cudaStreamNonBlocking = 1 };
enum cudaStreamCaptureMode { cudaStreamCaptureModeThreadLocal = 1 };
enum cudaFuncAttribute { cudaFuncAttributeNonPortableClusterSizeAllowed = 1 };

/* half: NumPy's float16 (parpy_sim_half.h); its compound assignments
 * compute in double (cuda_fp16 rounds the exact result once). */
#define PARPY_SIM_HALF_OP double
#include "parpy_sim_half.h"
/* cuda_fp16's operations rounded once: exact in double, then to half. */
static inline half __hadd_rn(half a, half b) { return half((double)a + (double)b); }
static inline half __hsub_rn(half a, half b) { return half((double)a - (double)b); }
static inline half __hmul_rn(half a, half b) { return half((double)a * (double)b); }
static inline half __hdiv(half a, half b) { return half((double)a / (double)b); }

/* Adds a launch to the graph a stream is capturing (defined below). */
inline void parpy_sim_record(cudaStream_t s, std::function<void()> f);

namespace parpy_sim {

enum { STACK_BYTES = 128 * 1024, MAX_THREADS = 1024, WORD = 8 };
enum State { READY, RUNNING, AT_BARRIER, AT_SHUFFLE, DONE };

struct Fiber {
  ucontext_t ctx;
  char *stack;
  State state;
  bool started;
  uint3 tid;
};

struct Block {
  std::function<void()> *body;
  int nthreads;
  Fiber *fibers;
  ucontext_t scheduler;
  int current;
  unsigned char in[MAX_THREADS][WORD], out[MAX_THREADS][WORD];
  int lane_mask[MAX_THREADS];
};

static Block *blk;        /* the block running now */
static uint3 block_idx;   /* blockIdx of the block running now */
static dim3 block_dim, grid_dim;
static thread_local cudaError_t last_error = cudaSuccess;
static char error_text[512];

static inline void trampoline() {
  Block *b = blk;
  (*b->body)();
  b->fibers[b->current].state = DONE; /* uc_link returns to the scheduler */
}

static inline void wait_as(State s) {
  Block *b = blk;
  Fiber *f = &b->fibers[b->current];
  f->state = s;
  swapcontext(&f->ctx, &b->scheduler);
}

static inline bool resume(Block *b, int t) {
  Fiber *f = &b->fibers[t];
  b->current = t;
  if (!f->started) {
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = STACK_BYTES;
    f->ctx.uc_link = &b->scheduler;
    makecontext(&f->ctx, (void (*)())trampoline, 0);
    f->started = true;
  }
  f->state = RUNNING;
  swapcontext(&b->scheduler, &f->ctx);
  return true;
}

/* Exchange the values of every warp whose running lanes all wait in a
 * shuffle (lanes that finished take no part); true if any did. */
static inline bool finish_shuffles(Block *b) {
  bool any = false;
  for (int base = 0; base < b->nthreads; base += 32) {
    int end = base + 32 < b->nthreads ? base + 32 : b->nthreads;
    bool waiting = false, all = true;
    for (int t = base; t < end; t++) {
      waiting |= b->fibers[t].state == AT_SHUFFLE;
      all &= b->fibers[t].state == AT_SHUFFLE || b->fibers[t].state == DONE;
    }
    if (!waiting || !all)
      continue;
    for (int t = base; t < end; t++) {
      if (b->fibers[t].state != AT_SHUFFLE)
        continue;
      int from = base + ((t - base) ^ b->lane_mask[t]);
      bool there = from < end && b->fibers[from].state == AT_SHUFFLE;
      std::memcpy(b->out[t], b->in[there ? from : t], WORD);
    }
    for (int t = base; t < end; t++) /* after all exchanged: `there` reads the states */
      if (b->fibers[t].state == AT_SHUFFLE)
        b->fibers[t].state = READY;
    any = true;
  }
  return any;
}

static inline cudaError_t fail(const char *msg) {
  snprintf(error_text, sizeof error_text, "%s", msg);
  last_error = cudaErrorLaunchFailure;
  return last_error;
}

/* Run the block to its end. */
static inline bool run_block(Block *b) {
  for (int t = 0; t < b->nthreads; t++) {
    Fiber *f = &b->fibers[t];
    f->state = READY;
    f->started = false;
    f->tid = uint3{(unsigned)t, 0, 0};
  }
  for (;;) {
    for (int t = 0; t < b->nthreads; t++)
      if (b->fibers[t].state == READY)
        resume(b, t);
    if (finish_shuffles(b))
      continue;
    int alive = 0, at_barrier = 0;
    for (int t = 0; t < b->nthreads; t++) {
      alive += b->fibers[t].state != DONE;
      at_barrier += b->fibers[t].state == AT_BARRIER;
    }
    if (alive == 0)
      return true;
    if (at_barrier == alive) {
      for (int t = 0; t < b->nthreads; t++)
        if (b->fibers[t].state == AT_BARRIER)
          b->fibers[t].state = READY;
      continue;
    }
    fail("the CUDA simulator: threads of a block wait at a barrier while others of their warp "
         "wait in a shuffle (they could never meet on a GPU)");
    return false;
  }
}

static inline const char *launch_error(const dim3 &g, const dim3 &t) {
  unsigned long long threads = (unsigned long long)t.x * t.y * t.z;
  if (threads == 0 || threads > MAX_THREADS)
    return "invalid configuration argument";
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535 || g.x > 2147483647u)
    return "invalid configuration argument";
  return NULL;
}

/* Run `body` in every thread of the grid. */
static inline void run(std::function<void()> body, dim3 g, dim3 t) {
  if (launch_error(g, t)) {
    last_error = cudaErrorInvalidConfiguration;
    return;
  }
  Block *b = (Block *)calloc(1, sizeof(Block));
  int n = (int)(t.x * t.y * t.z);
  std::vector<Fiber> fibers((size_t)n);
  char *stacks = (char *)malloc((size_t)n * STACK_BYTES);
  if (!b || !stacks) {
    free(b);
    free(stacks);
    last_error = cudaErrorMemoryAllocation;
    return;
  }
  for (int i = 0; i < n; i++)
    fibers[(size_t)i].stack = stacks + (size_t)i * STACK_BYTES;
  b->body = &body;
  b->nthreads = n;
  b->fibers = fibers.data();
  Block *outer = blk;
  blk = b;
  grid_dim = g;
  block_dim = t;
  bool ok = true;
  for (unsigned z = 0; z < g.z && ok; z++)
    for (unsigned y = 0; y < g.y && ok; y++)
      for (unsigned x = 0; x < g.x && ok; x++) {
        block_idx = uint3{x, y, z};
        ok = run_block(b);
      }
  blk = outer;
  free(stacks);
  free(b);
}

static inline uint3 thread_idx() { return blk->fibers[blk->current].tid; }

/* A recorded CUDA graph: the launches of a capture, in order, and the
 * memory allocated during it (kept while the graph or its executable
 * lives, as a graph's memory nodes keep theirs). */
struct Graph {
  std::vector<std::function<void()>> launches;
  std::vector<std::shared_ptr<void>> memory;
};

/* PARPY_LAUNCH(k, grid, block, shared, stream)(args...). */
template <typename... P> struct Launcher {
  void (*kernel)(P...);
  dim3 g, t;
  cudaStream_t stream;
  template <typename... A> void operator()(A... args) const {
    std::tuple<P...> copied{(P)args...};
    void (*k)(P...) = kernel;
    std::function<void()> body = [k, copied]() { std::apply(k, copied); };
    dim3 gg = g, tt = t;
    if (stream && stream->capturing) {
      std::function<void()> later = [body, gg, tt]() { run(body, gg, tt); };
      if (launch_error(gg, tt)) {
        last_error = cudaErrorInvalidConfiguration;
        return;
      }
      parpy_sim_record(stream, later);
      return;
    }
    run(body, gg, tt);
  }
};
template <typename... P>
Launcher<P...> launcher(void (*k)(P...), dim3 g, dim3 t, cudaStream_t s) {
  return Launcher<P...>{k, g, t, s};
}

} // namespace parpy_sim

struct parpy_sim_graph {
  parpy_sim::Graph g;
};
typedef parpy_sim_graph *cudaGraph_t;
typedef parpy_sim_graph *cudaGraphExec_t;
struct cudaGraphExecUpdateResultInfo {
  int result;
};

inline void parpy_sim_record(cudaStream_t s, std::function<void()> f) {
  s->graph->g.launches.push_back(f);
}

#define PARPY_LAUNCH(kernel, grid, block, shared, stream)                                         \
  parpy_sim::launcher(kernel, grid, block, stream)
#define threadIdx (parpy_sim::thread_idx())
#define blockIdx (parpy_sim::block_idx)
#define blockDim (parpy_sim::block_dim)
#define gridDim (parpy_sim::grid_dim)

static inline void __syncthreads() { parpy_sim::wait_as(parpy_sim::AT_BARRIER); }

template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane) {
  static_assert(sizeof(T) <= parpy_sim::WORD, "shuffle of a value wider than 8 bytes");
  parpy_sim::Block *b = parpy_sim::blk;
  int t = b->current;
  std::memcpy(b->in[t], &v, sizeof v);
  b->lane_mask[t] = lane;
  parpy_sim::wait_as(parpy_sim::AT_SHUFFLE);
  std::memcpy(&v, b->out[t], sizeof v);
  return v;
}

/* ---- atomics: plain operations (fibers do not switch inside them) ---- */
template <typename T, typename U> static inline T atomicAdd(T *p, U v) {
  T old = *p;
  *p = (T)(old + (T)v);
  return old;
}
template <typename T, typename U> static inline T atomicMax(T *p, U v) {
  T old = *p;
  *p = (T)v > old ? (T)v : old;
  return old;
}
template <typename T, typename U> static inline T atomicMin(T *p, U v) {
  T old = *p;
  *p = (T)v < old ? (T)v : old;
  return old;
}
template <typename T, typename U> static inline T atomicAnd(T *p, U v) {
  T old = *p;
  *p = (T)(old & (T)v);
  return old;
}
template <typename T, typename U> static inline T atomicOr(T *p, U v) {
  T old = *p;
  *p = (T)(old | (T)v);
  return old;
}
template <typename T, typename U> static inline T atomicXor(T *p, U v) {
  T old = *p;
  *p = (T)(old ^ (T)v);
  return old;
}
template <typename T> static inline T atomicCAS(T *p, T expected, T desired) {
  T old = *p;
  if (old == expected)
    *p = desired;
  return old;
}

/* ---- the runtime API of the generated host code ---- */
static inline cudaError_t cudaGetLastError(void) {
  cudaError_t e = parpy_sim::last_error;
  parpy_sim::last_error = cudaSuccess;
  return e;
}
static inline const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorMemoryAllocation: return "out of memory";
  case cudaErrorNotSupported: return "operation not supported (by the CUDA simulator)";
  case cudaErrorLaunchFailure: return parpy_sim::error_text;
  default: return "an error of the CUDA simulator";
  }
}
static inline cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t s) {
  void *m = NULL;
  if (posix_memalign(&m, 256, bytes ? bytes : 1) != 0)
    return parpy_sim::last_error = cudaErrorMemoryAllocation;
  memset(m, 0xa5, bytes);
  *p = m;
  if (s && s->capturing) /* the graph owns it; its free is recorded as nothing */
    s->graph->g.memory.push_back(std::shared_ptr<void>(m, free));
  return cudaSuccess;
}
static inline cudaError_t cudaFreeAsync(void *p, cudaStream_t s) {
  if (!(s && s->capturing))
    free(p);
  return cudaSuccess;
}
static inline cudaError_t cudaFuncSetAttribute(const void *, cudaFuncAttribute, int) {
  return cudaSuccess;
}
template <typename F> static inline cudaError_t cudaFuncSetAttribute(F *, cudaFuncAttribute, int) {
  return cudaSuccess;
}
static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
  *s = new parpy_sim_stream{false, NULL};
  return cudaSuccess;
}
static inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
static inline cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
  s->capturing = true;
  s->graph = new parpy_sim_graph();
  return cudaSuccess;
}
static inline cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
  s->capturing = false;
  *g = s->graph;
  s->graph = NULL;
  return cudaSuccess;
}
static inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long) {
  *e = new parpy_sim_graph(*g);
  return cudaSuccess;
}
/* An update always "fails", so that a new capture is instantiated afresh. */
static inline cudaError_t cudaGraphExecUpdate(cudaGraphExec_t, cudaGraph_t,
                                              cudaGraphExecUpdateResultInfo *) {
  return parpy_sim::last_error = cudaErrorNotSupported;
}
static inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
  delete e;
  return cudaSuccess;
}
static inline cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}
static inline cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t) {
  for (auto &f : e->g.launches) {
    f();
    if (parpy_sim::last_error != cudaSuccess)
      return cudaGetLastError();
  }
  return cudaSuccess;
}

#endif
