/* test_cuda_call.c - rt_cuda_call (runtime/cuda_call.c), the staging of a
 * Cuda call, against fake CUDA primitives: "device memory" is malloc'd
 * and every primitive appends to a log, so the order of allocations,
 * copies, the entry, copies back and frees can be checked on a machine
 * without a GPU.  Failures are injected per primitive. */
// SOURCES: src/util/*.c src/runtime/cuda_call.c src/runtime/failure.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "runtime/runtime.h"

static Arena A;
static char log_[4096]; /* "alloc(8) in(8) entry out(8) free ..." */
static const char *fail_alloc_at, *fail_to_host; /* inject: error at the n-th call */
static int allocs, frees, current_device, keeps;
static int ptr_device = 0;          /* what the pointer check reports */
static const char *ptr_error;       /* and whether it refuses */
static uintptr_t waited;            /* last stream waited for */

static void say(const char *fmt, size_t n) {
  size_t len = strlen(log_);
  snprintf(log_ + len, sizeof log_ - len, len ? " %s" : "%s", fmt);
  if (n != (size_t)-1) {
    len = strlen(log_);
    snprintf(log_ + len, sizeof log_ - len, "(%zu)", n);
  }
}

const char *rt_cuda_alloc(void **p, size_t bytes, bool *pooled) {
  say("alloc", bytes);
  if (fail_alloc_at && allocs == atoi(fail_alloc_at)) {
    *p = NULL;
    return "out of memory";
  }
  allocs++;
  *p = malloc(bytes);
  *pooled = true;
  return NULL;
}

const char *rt_cuda_free(void *p, bool pooled) {
  say(pooled ? "free" : "free-plain", (size_t)-1);
  frees++;
  free(p);
  return NULL;
}

const char *rt_cuda_to_device(void *dst, const void *src, size_t bytes) {
  say("in", bytes);
  memcpy(dst, src, bytes);
  return NULL;
}

const char *rt_cuda_to_host(void *dst, const void *src, size_t bytes) {
  say("out", bytes);
  if (fail_to_host)
    return fail_to_host;
  memcpy(dst, src, bytes);
  return NULL;
}

/* Before the entry, whatever the arrays: generated code allocates its
 * temporaries from the pool. */
void rt_cuda_keep_pool(void) { keeps++; }

const char *rt_cuda_sync(void) {
  say("sync", (size_t)-1);
  return NULL;
}

const char *rt_cuda_wait_stream(uintptr_t stream) {
  say("wait", (size_t)stream);
  waited = stream;
  return NULL;
}

static uintptr_t stream_now; /* what set_stream last set */

const char *rt_cuda_stream_wait(uintptr_t waiter, uintptr_t stream) {
  char what[64];
  snprintf(what, sizeof what, "wait-on-%#lx", (unsigned long)waiter);
  say(what, (size_t)stream);
  return NULL;
}

static void set_stream(void *s) {
  stream_now = (uintptr_t)s;
  say(s ? "stream" : "stream-reset", s ? (size_t)(uintptr_t)s : (size_t)-1);
}

const char *rt_cuda_check_pointer(const void *p, int *device) {
  (void)p;
  say("check", (size_t)-1);
  *device = ptr_device;
  return ptr_error;
}

int rt_cuda_device(void) { return current_device; }

/* ---- entries: what generated code would do ---- */

static void *seen[32]; /* the args the entry got */

/* y[i] = 2 * x[i] for 2 floats: x in slot 0, y in slot 1 (a third slot,
 * when there is one, is not looked at). */
static int32_t axpy_entry(void **args) {
  say("entry", (size_t)-1);
  memcpy(seen, args, sizeof(void *) * 2);
  float *x = args[0], *y = args[1];
  for (int i = 0; i < 2; i++)
    y[i] = 2 * x[i];
  return 0;
}

static int32_t failing_entry(void **args) {
  say("entry", (size_t)-1);
  float *y = args[1];
  y[0] = 99; /* must not reach the host */
  return 1;
}

static const char *failing_error(void) { return "launching kernel k_N failed: invalid argument"; }

static void reset(void) {
  log_[0] = '\0';
  fail_alloc_at = fail_to_host = ptr_error = NULL;
  allocs = frees = current_device = ptr_device = keeps = 0;
  waited = 0;
  memset(seen, 0, sizeof seen);
}

static CallSlot host(size_t bytes, bool writable, const char *name) {
  return (CallSlot){.kind = SLOT_HOST, .writable = writable, .device = -1, .bytes = bytes,
                    .param = name};
}

static CallSlot device(size_t bytes, int dev, const char *name) {
  return (CallSlot){.kind = SLOT_DEVICE, .writable = true, .device = (int16_t)dev,
                    .bytes = bytes, .param = name};
}

static bool call(const Library *lib, void **slots, const CallSlot *info, int n, Diag *d) {
  *d = (Diag){0};
  return rt_cuda_call(lib, slots, info, n, "axpy", d, &A);
}

static void test_host_arrays_copied_in_and_back(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  int64_t n = 2;
  void *slots[] = {x, y, &n};
  CallSlot info[] = {host(8, true, "x"), host(8, true, "y"), {SLOT_OTHER}};
  Library lib = {.entry = axpy_entry, .access = "rw-"};
  Diag d;
  CHECK(call(&lib, slots, info, 3, &d));
  /* x is only read: no copy back; y is written: copied back synchronously. */
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) in(8) entry out(8) free free");
  CHECK(y[0] == 2 && y[1] == 4);
  CHECK(seen[0] != x && seen[1] != y); /* the device copies */
  CHECK(slots[0] == x && slots[1] == y);                /* the caller's slots are intact */
  CHECK(allocs == frees);
}

static void test_without_access_every_writable_array_comes_back(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, true, "x"), host(8, true, "y")};
  Library lib = {.entry = axpy_entry, .access = NULL};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) in(8) entry out(8) out(8) free free");
  /* A short __access string leaves the rest conservative too. */
  reset();
  lib.access = "r";
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) in(8) entry out(8) free free");
}

static void test_read_only_arrays_are_not_copied_back(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, false, "x"), host(8, false, "y")};
  Library lib = {.entry = axpy_entry, .access = "rw"};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  /* Nothing copied back: wait for the GPU instead, since a copy from
   * page-locked memory may still read the caller's array. */
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) in(8) entry sync free free");
  CHECK(y[0] == 0);
}

static void test_device_arrays_pass_through(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {device(8, 0, "x"), device(8, -1, "y")};
  Library lib = {.entry = axpy_entry, .access = "rw"};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "entry"); /* no copy, no wait: the kernels run on */
  CHECK(keeps == 1);
  CHECK(seen[0] == x && seen[1] == y);
  CHECK(y[1] == 4);
}

static void test_mixed_host_and_device(void) {
  reset();
  float x[2] = {3, 4}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, true, "x"), device(8, 0, "y")};
  Library lib = {.entry = axpy_entry, .access = "rw"};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "alloc(8) in(8) entry sync free");
  CHECK(seen[1] == y && y[0] == 6);
}

static void test_entry_failure(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {5, 5};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, true, "x"), host(8, true, "y")};
  Library lib = {.entry = failing_entry, .error = failing_error, .access = "rw"};
  Diag d;
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK(d.kind == DIAG_RUNTIME);
  CHECK_STR(d.msg, "axpy failed: launching kernel k_N failed: invalid argument");
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) in(8) entry sync free free"); /* nothing back */
  CHECK(y[0] == 5);
  reset();
  lib.error = NULL;
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK_STR(d.msg, "the compiled code of axpy failed with error code 1");
}

static void test_allocation_failure_frees_the_rest(void) {
  reset();
  fail_alloc_at = "1";
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, true, "x"), {.kind = SLOT_HOST, .writable = true, .bytes = 8,
                                          .param = "d", .key = "k"}};
  Library lib = {.entry = axpy_entry};
  Diag d;
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK_STR(d.msg, "axpy: allocating 8 bytes of GPU memory for the copy of field 'k' of "
                   "argument 'd' of axpy failed: out of memory");
  CHECK_STR(log_, "alloc(8) in(8) alloc(8) sync free"); /* the entry never ran */
  CHECK(allocs == frees);
}

static void test_copy_back_failure(void) {
  reset();
  fail_to_host = "an illegal memory access was encountered";
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {host(8, true, "x"), host(8, true, "y")};
  Library lib = {.entry = axpy_entry, .access = "rw"};
  Diag d;
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK_HAS(d.msg, "axpy: copying argument 'y' of axpy back from the GPU failed: an illegal "
                   "memory access was encountered");
  CHECK(allocs == frees);
}

static int32_t record_entry(void **args) {
  say("entry", (size_t)-1);
  memcpy(seen, args, sizeof(void *) * 2);
  return 0;
}

static void test_empty_arrays(void) {
  reset();
  float y[2] = {0, 0};
  void *slots[] = {y, y};
  /* Nothing to copy for an empty host array (the code reads no element),
   * and an empty device array is not checked (device 3 does not exist). */
  CallSlot info[] = {host(0, true, "x"), device(0, 3, "y")};
  Library lib = {.entry = record_entry, .access = "ww"};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "entry sync");
  CHECK(seen[0] == NULL && seen[1] == y);
}

static void test_wrong_device(void) {
  reset();
  current_device = 0;
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {device(8, 0, "x"), device(8, 1, "y")};
  Library lib = {.entry = axpy_entry};
  Diag d;
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK(d.kind == DIAG_VALUE);
  CHECK_HAS(d.msg, "argument 'y' of axpy is on CUDA device 1, but the current device is 0");
  CHECK_STR(log_, ""); /* refused before anything ran */
}

static void test_pointer_checks(void) {
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {device(8, -1, "x"), device(8, -1, "y")};
  info[1].check_ptr = true;
  Library lib = {.entry = axpy_entry};
  Diag d;
  ptr_error = "it is host memory";
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK(d.kind == DIAG_VALUE);
  CHECK_HAS(d.msg, "argument 'y' of axpy says it is in GPU memory (__cuda_array_interface__), "
                   "but its data pointer");
  CHECK_HAS(d.msg, "cannot be used by the GPU: it is host memory");
  reset();
  ptr_device = 2; /* memory of another device */
  CHECK(!call(&lib, slots, info, 2, &d));
  CHECK_HAS(d.msg, "is on CUDA device 2, but the current device is 0");
  reset();
  ptr_device = -1; /* managed memory: any device may use it */
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "check entry");
}

static void test_streams(void) {
  /* Code without __set_stream: on the legacy default stream, after the
   * producers' streams; the caller's stream waits for it after. */
  reset();
  float x[2] = {1, 2}, y[2] = {0, 0};
  void *slots[] = {x, y};
  CallSlot info[] = {device(8, 0, "x"), device(8, 0, "y")};
  info[0].stream = 1; /* legacy default stream: ours */
  info[1].stream = 0xabc0;
  Library lib = {.entry = axpy_entry};
  Diag d;
  CHECK(call(&lib, slots, info, 2, &d));
  CHECK_STR(log_, "wait(43968) entry wait-on-0xabc0(0)");
  CHECK(waited == 0xabc0);

  /* Generated code: launched on the caller's stream (the first real one),
   * which first waits for the others' (legacy and another). */
  reset();
  lib.set_stream = set_stream;
  CallSlot three[] = {device(8, 0, "x"), device(8, 0, "y"), device(8, 0, "z")};
  three[0].stream = 1;
  three[1].stream = 0xabc0;
  three[2].stream = 0xdef0;
  void *slots3[] = {x, y, y};
  CHECK(call(&lib, slots3, three, 3, &d));
  CHECK_STR(log_, "wait-on-0xabc0(1) wait-on-0xabc0(57072) stream(43968) entry stream-reset");

  /* Arrays on one stream: no wait at all. */
  reset();
  three[0].stream = three[2].stream = 0xabc0;
  CHECK(call(&lib, slots3, three, 3, &d));
  CHECK_STR(log_, "stream(43968) entry stream-reset");

  /* No stream named (or only the legacy one): the legacy default stream. */
  reset();
  three[0].stream = three[1].stream = three[2].stream = 0;
  three[1].stream = 1;
  CHECK(call(&lib, slots3, three, 3, &d));
  CHECK_STR(log_, "stream-reset entry stream-reset");

  /* With host arrays: synchronous, on the legacy default stream, after
   * every stream named. */
  reset();
  float h[2] = {3, 4};
  CallSlot mixed[] = {host(8, false, "x"), device(8, 0, "y")};
  mixed[1].stream = 0xabc0;
  void *slots2[] = {h, y};
  CHECK(call(&lib, slots2, mixed, 2, &d));
  CHECK_HAS(log_, "wait(43968) stream-reset alloc(8) in(8) entry");
  CHECK(stream_now == 0);
}

/* More slots than the stack arrays hold. */
static int32_t many_entry(void **args) {
  say("entry", (size_t)-1);
  for (int i = 0; i < 20; i++)
    ((int32_t *)args[i])[0] += i;
  return 0;
}

static void test_many_slots(void) {
  reset();
  int32_t v[20];
  void *slots[20];
  CallSlot info[20];
  for (int i = 0; i < 20; i++) {
    v[i] = 100;
    slots[i] = &v[i];
    info[i] = i % 2 ? host(4, true, "h") : device(4, 0, "d");
  }
  Library lib = {.entry = many_entry};
  Diag d;
  CHECK(call(&lib, slots, info, 20, &d));
  for (int i = 0; i < 20; i++)
    CHECK(v[i] == 100 + i);
  CHECK(allocs == 10 && frees == 10);
}

int main(void) {
  arena_init(&A);
  test_host_arrays_copied_in_and_back();
  test_without_access_every_writable_array_comes_back();
  test_read_only_arrays_are_not_copied_back();
  test_device_arrays_pass_through();
  test_mixed_host_and_device();
  test_entry_failure();
  test_allocation_failure_frees_the_rest();
  test_copy_back_failure();
  test_empty_arrays();
  test_wrong_device();
  test_pointer_checks();
  test_streams();
  test_many_slots();
  arena_free(&A);
  return check_result("test_cuda_call");
}
