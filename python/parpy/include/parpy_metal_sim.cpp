/* parpy_metal_sim.cpp - the runtime API of parpy_metal.h, simulated on the
 * CPU where there is no Metal.  Built into every generated library (with
 * hidden symbols), so each library has its own copy of this state.
 *
 * Buffers are host memory.  A launch runs at once, under a lock: its
 * threadgroups one after another, and the threads of a threadgroup as
 * fibers (ucontext) on one OS thread.  A fiber runs until it finishes or
 * reaches a threadgroup_barrier or a SIMD-group function; then the next
 * one runs.  When every thread still running waits at the barrier, all go
 * on; when every lane still running of a SIMD-group (32 consecutive
 * threads, in the linear order of thread_position_in_threadgroup) waits in
 * a SIMD-group function, their values are combined and they go on.  Lanes
 * that finished take no part, as inactive lanes on a GPU.  Threads waiting
 * at different barriers, which a GPU may hang on, are an error here.
 *
 * Fibers rather than OS threads: a threadgroup may have 1024 threads and a
 * launch thousands of threadgroups, and switching fibers costs far less
 * than waking threads; the order in which fibers run does not matter to a
 * correct kernel, and barriers are where they meet. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* After the system headers: the MSL keywords are macros (parpy_metal_sim.h). */
#include "parpy_metal.h"

struct parpy_metal_buffer {
  void *data;
  size_t size;
  bool owned; /* false: host memory used in place (parpy_metal_use) */
};

namespace {

enum { MAX_THREADS = 1024, MAX_ARGS = 31, STACK_BYTES = 256 * 1024 };
enum State { READY, STARTED, AT_BARRIER, AT_SIMD, DONE };

struct Fiber {
  ucontext_t ctx;
  char *stack;
  State state;
  bool started;
  uint32_t pos[6];
};

struct Lanes {
  unsigned char in[32][parpy_sim::LANE_BYTES], out[32][parpy_sim::LANE_BYTES];
  uint32_t param[32];
  parpy_sim::Combine combine[32];
  size_t size[32];
};

/* The launch in progress (one at a time: `lock`). */
struct Launch {
  parpy_metal_sim_fn fn;
  void *const *args;
  int nthreads;
  Fiber fibers[MAX_THREADS];
  Lanes lanes[MAX_THREADS / 32];
  ucontext_t scheduler;
  int current;
  char *free_stacks[MAX_THREADS];
  int nfree;
};

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
Launch *launch_state;
thread_local char error_text[1024];

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_text, sizeof error_text, fmt, ap);
  va_end(ap);
  return 1;
}

/* A stack with a guard page below it; kept for later fibers of the
 * launch, unmapped at its end (release_stacks). */
char *take_stack(Launch *l) {
  if (l->nfree > 0)
    return l->free_stacks[--l->nfree];
  long page = sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, STACK_BYTES + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  mprotect(p, page, PROT_NONE);
  return (char *)p + page;
}

/* Every stack of a launch goes back to the system when it ends: each is two
 * mappings (the guard page splits it), and a process has at most
 * vm.max_map_count (65530) of them.  Kept per library, the stacks of a few
 * dozen libraries running 1024-thread kernels with barriers exhausted them
 * (mmap and dlopen then fail with ENOMEM). */
void release_stacks(Launch *l) {
  long page = sysconf(_SC_PAGESIZE);
  for (int i = 0; i < l->nfree; i++)
    munmap(l->free_stacks[i] - page, STACK_BYTES + page);
  l->nfree = 0;
}

void trampoline() {
  Launch *l = launch_state;
  Fiber *f = &l->fibers[l->current];
  l->fn(l->args, f->pos);
  f->state = DONE; /* uc_link returns to the scheduler */
}

/* Run fiber `t` until it finishes or waits. */
bool resume(Launch *l, int t) {
  Fiber *f = &l->fibers[t];
  l->current = t;
  if (!f->started) {
    f->stack = take_stack(l);
    if (!f->stack)
      return false;
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = STACK_BYTES;
    f->ctx.uc_link = &l->scheduler;
    makecontext(&f->ctx, trampoline, 0);
    f->started = true;
  }
  f->state = STARTED;
  swapcontext(&l->scheduler, &f->ctx);
  if (f->state == DONE)
    l->free_stacks[l->nfree++] = f->stack;
  return true;
}

/* The fiber running now stops until the scheduler wakes it. */
void wait_as(State s) {
  Launch *l = launch_state;
  Fiber *f = &l->fibers[l->current];
  f->state = s;
  swapcontext(&f->ctx, &l->scheduler);
}

/* Combine every SIMD-group whose running lanes all wait; true if any did. */
bool finish_simd(Launch *l, bool *mismatch) {
  bool any = false;
  for (int base = 0; base < l->nthreads; base += 32) {
    bool waiting = false, all = true, active[32] = {false};
    Lanes *s = &l->lanes[base / 32];
    int first = -1;
    for (int lane = 0; lane < 32 && base + lane < l->nthreads; lane++) {
      State st = l->fibers[base + lane].state;
      active[lane] = st == AT_SIMD;
      waiting |= active[lane];
      all &= st == AT_SIMD || st == DONE;
      if (active[lane] && first < 0)
        first = lane;
      if (active[lane] && (s->combine[lane] != s->combine[first] || s->size[lane] != s->size[first]))
        *mismatch = true;
    }
    if (!waiting || !all || *mismatch)
      continue;
    s->combine[first](s->in, s->out, s->param, active);
    for (int lane = 0; lane < 32 && base + lane < l->nthreads; lane++)
      if (active[lane])
        l->fibers[base + lane].state = READY;
    any = true;
  }
  return any;
}

/* After an error: the fibers still waiting are abandoned, their stacks
 * reused (and unmapped at the end of the launch). */
void abandon(Launch *l) {
  for (int t = 0; t < l->nthreads; t++)
    if (l->fibers[t].started && l->fibers[t].state != DONE) {
      l->free_stacks[l->nfree++] = l->fibers[t].stack;
      l->fibers[t].state = DONE;
    }
}

/* Run one threadgroup to its end; 0, or 1 with the error set. */
int run_group(Launch *l, const char *name, const uint32_t *bid, uint32_t tx, uint32_t ty) {
  for (int t = 0; t < l->nthreads; t++) {
    Fiber *f = &l->fibers[t];
    f->state = READY;
    f->started = false;
    f->pos[0] = (uint32_t)t % tx;
    f->pos[1] = (uint32_t)t / tx % ty;
    f->pos[2] = (uint32_t)t / (tx * ty);
    f->pos[3] = bid[0];
    f->pos[4] = bid[1];
    f->pos[5] = bid[2];
  }
  for (;;) {
    for (int t = 0; t < l->nthreads; t++)
      if (l->fibers[t].state == READY && !resume(l, t)) {
        abandon(l);
        return fail("the Metal simulator could not allocate a stack for kernel %s", name);
      }
    bool mismatch = false;
    if (finish_simd(l, &mismatch))
      continue;
    int alive = 0, at_barrier = 0;
    for (int t = 0; t < l->nthreads; t++) {
      alive += l->fibers[t].state != DONE;
      at_barrier += l->fibers[t].state == AT_BARRIER;
    }
    if (alive == 0)
      return 0;
    if (at_barrier == alive && !mismatch) {
      for (int t = 0; t < l->nthreads; t++)
        if (l->fibers[t].state == AT_BARRIER)
          l->fibers[t].state = READY;
      continue;
    }
    abandon(l);
    return fail("kernel %s, threadgroup (%u, %u, %u): %s", name, bid[0], bid[1], bid[2],
                mismatch ? "the lanes of a SIMD-group called different SIMD-group functions"
                         : "threads wait at different barriers (or some in a SIMD-group "
                           "function while others of its SIMD-group wait at a barrier)");
  }
}

} // namespace

void parpy_sim::barrier() { wait_as(AT_BARRIER); }

void parpy_sim::simd_collective(const void *in, void *out, size_t size, uint32_t param,
                                Combine f) {
  Launch *l = launch_state;
  int t = l->current;
  Lanes *s = &l->lanes[t / 32];
  std::memcpy(s->in[t % 32], in, size);
  s->param[t % 32] = param;
  s->combine[t % 32] = f;
  s->size[t % 32] = size;
  wait_as(AT_SIMD);
  std::memcpy(out, s->out[t % 32], size);
}

int parpy_metal_load(parpy_metal_library *lib) {
  (void)lib;
  return 0;
}

int parpy_metal_alloc(parpy_metal_buffer **b, size_t bytes) {
  *b = (parpy_metal_buffer *)calloc(1, sizeof **b);
  void *data = NULL;
  if (!*b || posix_memalign(&data, 64, bytes > 0 ? bytes : 1) != 0) {
    free(*b);
    *b = NULL;
    return fail("Buffer allocation failed (%zu bytes)", bytes);
  }
  /* Fresh device memory holds garbage: code reading it before writing it
   * should show it. */
  memset(data, 0xa5, bytes);
  (*b)->data = data;
  (*b)->size = bytes;
  (*b)->owned = true;
  return 0;
}

/* As on macOS: page-aligned memory in place, anything else copied. */
int parpy_metal_use(parpy_metal_buffer **b, void *host, size_t bytes, int *copied) {
  *copied = 0;
  if (bytes > 0 && (uintptr_t)host % (uintptr_t)sysconf(_SC_PAGESIZE) == 0) {
    *b = (parpy_metal_buffer *)calloc(1, sizeof **b);
    if (!*b)
      return fail("Buffer allocation failed");
    (*b)->data = host;
    (*b)->size = bytes;
    return 0;
  }
  *copied = 1;
  return parpy_metal_alloc(b, bytes) || parpy_metal_copy_in(*b, host, bytes);
}

void parpy_metal_free(parpy_metal_buffer *b) {
  if (b && b->owned)
    free(b->data);
  free(b);
}

int parpy_metal_copy_in(parpy_metal_buffer *b, const void *src, size_t bytes) {
  if (bytes > b->size)
    return fail("copying %zu bytes into a buffer of %zu", bytes, b->size);
  if (bytes)
    memcpy(b->data, src, bytes);
  return 0;
}

int parpy_metal_copy_out(void *dst, parpy_metal_buffer *b, size_t bytes) {
  if (bytes > b->size)
    return fail("copying %zu bytes out of a buffer of %zu", bytes, b->size);
  if (bytes)
    memcpy(dst, b->data, bytes);
  return 0;
}

int parpy_metal_launch(parpy_metal_library *lib, parpy_metal_kernel k,
                       const parpy_metal_arg *args, int nargs, uint32_t gx, uint32_t gy,
                       uint32_t gz, uint32_t tx, uint32_t ty, uint32_t tz) {
  (void)lib;
  uint64_t threads = (uint64_t)tx * ty * tz;
  if (threads == 0 || threads > MAX_THREADS)
    return fail("launching the kernel %s: %llu threads per threadgroup (at most %d)", k.name,
                (unsigned long long)threads, MAX_THREADS);
  if (nargs > MAX_ARGS)
    return fail("launching the kernel %s: %d buffers (at most %d)", k.name, nargs, MAX_ARGS);
  void *ptrs[MAX_ARGS + 1];
  unsigned char bytes[MAX_ARGS + 1][16];
  for (int i = 0; i < nargs; i++) {
    if (args[i].buffer) {
      ptrs[i] = args[i].buffer->data;
    } else if (args[i].size <= sizeof bytes[i]) {
      memcpy(bytes[i], args[i].bytes, args[i].size); /* as setBytes: copied now */
      ptrs[i] = bytes[i];
    } else {
      return fail("launching the kernel %s: argument %d has %zu bytes", k.name, i, args[i].size);
    }
  }
  /* The state of a launch (about 1 MiB) lives as long as the launch. */
  Launch *state = (Launch *)calloc(1, sizeof *state);
  if (!state)
    return fail("launching the kernel %s: out of memory", k.name);
  state->fn = k.sim;
  state->args = ptrs;
  state->nthreads = (int)threads;
  int status = 0;
  pthread_mutex_lock(&lock);
  launch_state = state;
  for (uint32_t z = 0; z < gz && status == 0; z++)
    for (uint32_t y = 0; y < gy && status == 0; y++)
      for (uint32_t x = 0; x < gx && status == 0; x++) {
        uint32_t bid[3] = {x, y, z};
        status = run_group(state, k.name, bid, tx, ty);
      }
  launch_state = NULL;
  pthread_mutex_unlock(&lock);
  release_stacks(state);
  free(state);
  return status;
}

int parpy_metal_sync(void) { return 0; }

const char *parpy_metal_error(void) { return error_text; }
