/* cuda_call.c - one call of a library built for the Cuda backend.
 *
 * Arrays already in GPU memory are passed as they are, and a call of
 * those only runs on the caller's stream (runtime.h says which).  Host
 * arrays go through fresh device buffers: copied in on stream 0 before the
 * entry runs, copied back after it when the code writes them, freed on
 * stream 0; such a call runs on stream 0.
 * The copy back is synchronous, so the caller sees its results when the
 * call returns; a call that copies nothing back waits for the GPU instead,
 * since a copy from page-locked host memory may still be reading it.
 * Only the cuda.c primitives are used here, so this file can be tested
 * against fake ones on a machine without a GPU (tests/c). */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

enum { FEW = 16 }; /* slots handled without a heap allocation */

typedef struct Staged {
  void *dev;
  bool pooled, allocated;
} Staged;

/* "argument 'x' of f" / "field 'k' of argument 'd' of f" */
static const char *where(const CallSlot *s, const char *fname, Arena *a) {
  const char *param = s->param ? s->param : "?";
  if (s->key)
    return arena_printf(a, "field '%s' of argument '%s' of %s", s->key, param, fname);
  return arena_printf(a, "argument '%s' of %s", param, fname);
}

/* Device arrays must belong to the current device: a kernel given another
 * device's memory faults, and the fault poisons the whole context. */
static bool check_devices(void **slots, const CallSlot *info, int n, const char *fname,
                          Diag *d, Arena *a) {
  int current = -2;
  for (int i = 0; i < n; i++) {
    const CallSlot *s = &info[i];
    if (s->kind != SLOT_DEVICE || s->bytes == 0)
      continue;
    int dev = s->device;
    if (s->check_ptr) {
      const char *why = rt_cuda_check_pointer(slots[i], &dev);
      if (why) {
        diag_error(d, a, DIAG_VALUE, (Span){0},
                   "%s says it is in GPU memory (__cuda_array_interface__), but its data "
                   "pointer %p cannot be used by the GPU: %s", where(s, fname, a), slots[i], why);
        return false;
      }
    }
    if (dev < 0)
      continue;
    if (current == -2)
      current = rt_cuda_device();
    if (dev != current) {
      diag_error(d, a, DIAG_VALUE, (Span){0},
                 "%s is on CUDA device %d, but the current device is %d: make device %d "
                 "current (torch.cuda.set_device(%d), cupy.cuda.Device(%d).use()) or move the "
                 "array to device %d", where(s, fname, a), dev, current, dev, dev, dev, current);
      return false;
    }
  }
  return true;
}

/* The stream the call runs on: with device arrays only, the first real
 * stream (a handle, > 2) their producers named, else the legacy default
 * stream (0), which the per-thread default stream and blocking streams
 * already follow. */
static uintptr_t call_stream(const CallSlot *info, int n, bool host) {
  for (int i = 0; !host && i < n; i++)
    if (info[i].kind == SLOT_DEVICE && info[i].stream > 2)
      return info[i].stream;
  return 0;
}

/* Make `stream` wait for the streams of the arrays.  The legacy default
 * stream (0) already waits for 1 and 2; a stream of the caller's (> 2) may
 * be non-blocking and waits for anything else. */
static bool wait_for_producers(uintptr_t stream, const CallSlot *info, int n, const char *fname,
                               Diag *d, Arena *a) {
  for (int i = 0; i < n; i++) {
    const CallSlot *s = &info[i];
    if (s->kind != SLOT_DEVICE || s->stream == 0 || s->stream == stream ||
        (stream == 0 && s->stream <= 2))
      continue;
    bool seen = false; /* one wait per stream */
    for (int j = 0; j < i && !seen; j++)
      seen = info[j].kind == SLOT_DEVICE && info[j].stream == s->stream;
    const char *e = seen ? NULL
                    : stream == 0 ? rt_cuda_wait_stream(s->stream)
                                  : rt_cuda_stream_wait(stream, s->stream);
    if (e) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s: waiting for the stream of %s failed: %s",
                 fname, where(s, fname, a), e);
      return false;
    }
  }
  return true;
}

static bool call_entry(const Library *lib, void **args, const char *fname, Diag *d,
                       Arena *a) {
  int32_t rc = lib->entry(args);
  if (rc == 0)
    return true;
  /* Read the message at once: the next call may overwrite it. */
  rt_entry_error(lib, rc, fname, d, a);
  return false;
}

static bool stage_in(void **args, Staged *st, const CallSlot *info, int n, const char *fname,
                     Diag *d, Arena *a) {
  for (int i = 0; i < n; i++) {
    const CallSlot *s = &info[i];
    if (s->kind != SLOT_HOST)
      continue;
    if (s->bytes == 0) { /* nothing to copy: the code reads no element */
      args[i] = NULL;
      continue;
    }
    const char *e = rt_cuda_alloc(&st[i].dev, s->bytes, &st[i].pooled);
    if (e) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0},
                 "%s: allocating %zu bytes of GPU memory for the copy of %s failed: %s", fname,
                 s->bytes, where(s, fname, a), e);
      return false;
    }
    st[i].allocated = true;
    if ((e = rt_cuda_to_device(st[i].dev, args[i], s->bytes))) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s: copying %s to the GPU failed: %s", fname,
                 where(s, fname, a), e);
      return false;
    }
    args[i] = st[i].dev;
  }
  return true;
}

/* Whether the code may write the array of slot i: anything but an 'r' in
 * <f>__access, so that a library without it (or a short one) is safe. */
static bool writes(const char *access, size_t len, int i) {
  return !(access && (size_t)i < len && access[i] == 'r');
}

static bool copy_back(const Library *lib, void **slots, const Staged *st, const CallSlot *info,
                      int n, const char *fname, Diag *d, Arena *a) {
  size_t len = lib->access ? strlen(lib->access) : 0;
  bool copied = false;
  for (int i = 0; i < n; i++) {
    const CallSlot *s = &info[i];
    if (s->kind != SLOT_HOST || !st[i].allocated || !s->writable || !writes(lib->access, len, i))
      continue;
    const char *e = rt_cuda_to_host(slots[i], st[i].dev, s->bytes);
    if (e) {
      /* Kernels run asynchronously: their faults show up here. */
      diag_error(d, a, DIAG_RUNTIME, (Span){0},
                 "%s: copying %s back from the GPU failed: %s (an error of a kernel of %s "
                 "shows up here, when the copy waits for the kernels)", fname,
                 where(s, fname, a), e, fname);
      return false;
    }
    copied = true;
  }
  const char *e = copied ? NULL : rt_cuda_sync();
  if (e) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s: waiting for the GPU to finish failed: %s",
               fname, e);
    return false;
  }
  return true;
}

static void free_staged(const Staged *st, int n) {
  for (int i = 0; i < n; i++)
    if (st[i].allocated)
      rt_cuda_free(st[i].dev, st[i].pooled); /* after an error the context may be gone */
}

/* A call of device arrays only: queued on the caller's stream. */
static bool call_on_stream(const Library *lib, void **slots, const CallSlot *info, int n,
                           const char *fname, Diag *d, Arena *a) {
  uintptr_t want = call_stream(info, n, false);
  /* Code without <f>__set_stream (older, or written by hand) launches on
   * the legacy default stream: the caller's stream waits for it after. */
  uintptr_t stream = lib->set_stream ? want : 0;
  if (!wait_for_producers(stream, info, n, fname, d, a))
    return false;
  if (lib->set_stream)
    lib->set_stream((void *)stream);
  bool ok = call_entry(lib, slots, fname, d, a);
  if (lib->set_stream)
    lib->set_stream(NULL);
  const char *e = ok && stream != want ? rt_cuda_stream_wait(want, 0) : NULL;
  if (e) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s: ordering the caller's stream after the "
               "call failed: %s", fname, e);
    return false;
  }
  return ok;
}

bool rt_cuda_call(const Library *lib, void **slots, const CallSlot *info, int n,
                  const char *fname, Diag *d, Arena *a) {
  if (!check_devices(slots, info, n, fname, d, a))
    return false;
  rt_cuda_keep_pool();
  int nhost = 0;
  for (int i = 0; i < n; i++)
    nhost += info[i].kind == SLOT_HOST;
  if (nhost == 0)
    return call_on_stream(lib, slots, info, n, fname, d, a);
  if (!wait_for_producers(0, info, n, fname, d, a))
    return false;
  if (lib->set_stream)
    lib->set_stream(NULL); /* with host arrays: the legacy default stream */
  void *few_args[FEW];
  Staged few_st[FEW];
  void **args = n <= FEW ? few_args : malloc(sizeof *args * (size_t)n);
  Staged *st = n <= FEW ? few_st : malloc(sizeof *st * (size_t)n);
  bool ok = args && st;
  if (!ok) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s: out of memory", fname);
  } else {
    memcpy(args, slots, sizeof *args * (size_t)n);
    memset(st, 0, sizeof *st * (size_t)n);
    ok = stage_in(args, st, info, n, fname, d, a) && call_entry(lib, args, fname, d, a) &&
         copy_back(lib, slots, st, info, n, fname, d, a);
    if (!ok)
      rt_cuda_sync(); /* copies in may still read the caller's memory; errors are reported */
    free_staged(st, n);
  }
  if (args != few_args)
    free(args);
  if (st != few_st)
    free(st);
  return ok;
}
