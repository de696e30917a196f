/* call.c - running a loaded library on the classified arguments.
 *
 * Which backend the library was built for decides what arrays in GPU
 * memory mean: the Cuda backend passes them as they are (and copies host
 * arrays in and out, runtime/cuda_call.c); any other backend cannot read
 * them, and a Cpu parpy buffer goes to no other backend.  A Cpu call never
 * touches CUDA. */
#include <stdio.h>
#include <string.h>

#include "module.h"

/* "f: argument 'x' " or "f: field 'k' of argument 'd' " */
static void where_prefix(Buf *b, const CallSlot *s, const char *fname) {
  buf_printf(b, "%s: ", fname);
  if (s->key)
    buf_printf(b, "field '%s' of ", s->key);
  buf_printf(b, "argument '%s' ", s->param);
}

static bool refuse(const CallSlot *s, Backend backend, const char *fname) {
  const char *name = s->key ? s->key : s->param;
  Buf b;
  buf_init(&b);
  where_prefix(&b, s, fname);
  if (s->buffer && s->kind == SLOT_HOST)
    buf_printf(&b, "is a parpy buffer of the Cpu backend, but the code runs on %s; copy it "
               "to the GPU once with parpy.buffer.from_array(%s, parpy.CompileBackend.Cuda), "
               "or pass %s.numpy() to have it copied in and out for this call",
               backend_name(backend), name, name);
  else if (s->buffer)
    buf_printf(&b, "is a parpy buffer in GPU memory (backend Cuda), but the code runs on %s; "
               "copy it to the host with %s.numpy() or use parpy.CompileBackend.Cuda",
               backend_name(backend), name);
  else
    buf_printf(&b, "is in GPU memory, but the backend is %s; copy it to the host (%s.cpu() "
               "for a torch tensor, cupy.asnumpy(%s) for CuPy) or use "
               "parpy.CompileBackend.Cuda", backend_name(backend), name, name);
  pp_raise(DIAG_TYPE, "%s", buf_cstr(&b));
  buf_free(&b);
  return false;
}

/* Arrays in GPU memory need the Cuda backend, and a buffer its own
 * backend: a Cpu buffer is not silently copied to the GPU on every call,
 * which would defeat its purpose. */
bool call_check_devices(const CallArgs *ca, Backend backend, const char *fname) {
  bool cuda = backend == BACKEND_CUDA;
  if (cuda ? ca->nhostbufs == 0 : ca->ndevice == 0)
    return true;
  for (int i = 0; i < ca->nslots; i++) {
    const CallSlot *s = &ca->info[i];
    if (cuda ? s->kind == SLOT_HOST && s->buffer : s->kind == SLOT_DEVICE)
      return refuse(s, backend, fname);
  }
  return true;
}

/* ---- arguments sharing memory ----
 * The compiled code reads and writes its arrays element by element, while
 * NumPy copies the right-hand side of a slice statement first: with the
 * same array (or overlapping views of one) passed as two arguments, one of
 * them written, the results differ.  Refused before anything runs. */

static bool overlaps(const CallArgs *ca, int i, int j) {
  const CallSlot *a = &ca->info[i], *b = &ca->info[j];
  if (a->kind == SLOT_OTHER || a->kind != b->kind || !a->bytes || !b->bytes)
    return false;
  uintptr_t pa = (uintptr_t)ca->slots[i], pb = (uintptr_t)ca->slots[j];
  return pa < pb + b->bytes && pb < pa + a->bytes;
}

static void slot_name(Buf *b, const CallSlot *s) {
  if (s->key)
    buf_printf(b, "'%s[\"%s\"]'", s->param, s->key);
  else
    buf_printf(b, "'%s'", s->param);
}

static bool check_overlap(const Library *lib, const CallArgs *ca, const char *fname) {
  if (!lib->access || ca->nhost + ca->ndevice < 2)
    return true; /* code without an access string says nothing of its writes */
  int n = (int)strlen(lib->access);
  n = n < ca->nslots ? n : ca->nslots;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      bool wi = lib->access[i] == 'w', wj = lib->access[j] == 'w';
      if ((!wi && !wj) || !overlaps(ca, i, j))
        continue;
      const CallSlot *w = wj ? &ca->info[j] : &ca->info[i];
      Buf b;
      buf_init(&b);
      buf_printf(&b, "%s: the arguments ", fname);
      slot_name(&b, &ca->info[i]);
      buf_puts(&b, " and ");
      slot_name(&b, &ca->info[j]);
      buf_puts(&b, " share memory (the same array, or overlapping views of one), and the "
                   "function writes ");
      slot_name(&b, w);
      buf_printf(&b, "; the compiled code would read elements it has already overwritten, "
                     "where NumPy reads the old values. Pass a copy (%s.copy())",
                 w->key ? w->key : w->param);
      pp_raise(DIAG_VALUE, "%s", buf_cstr(&b));
      buf_free(&b);
      return false;
    }
  return true;
}

static PyObject *call_cuda(const Library *lib, CallArgs *ca, const char *fname) {
  Diag d = {0};
  Arena a;
  arena_init(&a);
  bool ok;
  pp_stats.cuda_calls++;
  if (ca->ndevice)
    torch_streams(ca);
  pp_stats.copies_in += (uint64_t)ca->nhost;
  if (ca->nhost == 0) {
    /* Only launches, which return at once: releasing the GIL would cost
     * more than it gives. */
    ok = rt_cuda_call(lib, ca->slots, ca->info, ca->nslots, fname, &d, &a);
  } else {
    Py_BEGIN_ALLOW_THREADS
    ok = rt_cuda_call(lib, ca->slots, ca->info, ca->nslots, fname, &d, &a);
    Py_END_ALLOW_THREADS
  }
  if (!ok) {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &a, DIAG_INTERNAL, (Span){0}, "the call of %s failed", fname);
    raise_diag(&d);
  }
  arena_free(&a);
  if (!ok)
    return NULL;
  Py_RETURN_NONE;
}

PyObject *call_library(const Library *lib, CallArgs *ca, const char *fname) {
  if (!check_overlap(lib, ca, fname))
    return NULL;
  if (lib->backend == BACKEND_CUDA)
    return ca->nhostbufs && !call_check_devices(ca, lib->backend, fname)
               ? NULL : call_cuda(lib, ca, fname);
  if (!call_check_devices(ca, lib->backend, fname))
    return NULL;
  int32_t rc;
  void **slots = ca->slots;
  Diag d = {0};
  Arena a;
  Py_BEGIN_ALLOW_THREADS
  rc = lib->entry(slots);
  /* Read the message before another call can overwrite it. */
  if (rc != 0) {
    arena_init(&a);
    rt_entry_error(lib, rc, fname, &d, &a);
  }
  Py_END_ALLOW_THREADS
  if (rc == 0)
    Py_RETURN_NONE;
  raise_diag(&d);
  arena_free(&a);
  return NULL;
}
