/* buffer.c - BufferBase, the memory behind parpy.buffer.Buffer.
 *
 * A buffer is a C-contiguous array that lives where a backend computes:
 * host memory for Cpu, GPU memory for Cuda, page-aligned host memory for
 * Metal (which Apple GPUs share: the Metal runtime uses it in place).  Jitted functions take it as
 * it is (args.c reads the struct, module.h), so data can stay on the GPU
 * across calls without copies in and out.  Python code (parpy/buffer.py)
 * subclasses this type and adds the user's API; here is only what needs C:
 * allocating and freeing, the copies between host and device, views, and
 * the interfaces through which NumPy (buffer protocol, __array_interface__),
 * PyTorch and CuPy (__cuda_array_interface__) share the memory.
 *
 * Memory is freed with the last reference: a view holds its base (`owner`),
 * NumPy's view holds the buffer through the buffer protocol, torch and CuPy
 * hold the object whose __cuda_array_interface__ they read.  GPU memory is
 * freed on stream 0, after the work queued there; a failed free (a context
 * poisoned by a kernel fault, or torn down at exit) is ignored, as there is
 * nobody to tell. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

#include <structmember.h>

static BufferObject *self_of(PyObject *o) { return (BufferObject *)o; }

static bool on_gpu(const BufferObject *b) { return b->backend == BACKEND_CUDA; }

/* ---- element types in the interfaces' spellings ---- */

/* PEP 3118 formats, read back by args.c (elem_of_format) and NumPy. */
static const char *const formats[EL_COUNT] = {
    [EL_BOOL] = "?", [EL_I8] = "b",  [EL_I16] = "h", [EL_I32] = "i",
    [EL_I64] = "q",  [EL_U8] = "B",  [EL_U16] = "H", [EL_U32] = "I",
    [EL_U64] = "Q",  [EL_F16] = "e", [EL_F32] = "f", [EL_F64] = "d",
    [EL_BF16] = "H", /* PEP 3118 has no bfloat16: its bits (buffer.py views them) */
};

/* "<f4": the array interfaces' typestr (byte order, kind, size). */
static void typestr(Elem e, char out[8]) {
  static const char kinds[EL_COUNT] = {
      [EL_BOOL] = 'b', [EL_I8] = 'i',  [EL_I16] = 'i', [EL_I32] = 'i',
      [EL_I64] = 'i',  [EL_U8] = 'u',  [EL_U16] = 'u', [EL_U32] = 'u',
      [EL_U64] = 'u',  [EL_F16] = 'f', [EL_F32] = 'f', [EL_F64] = 'f',
      [EL_BF16] = 'u', /* the bits, as the buffer protocol's format */
  };
  int size = elem_size(e);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  char order = size == 1 ? '|' : '>';
#else
  char order = size == 1 ? '|' : '<';
#endif
  snprintf(out, 8, "%c%c%d", order, kinds[e], size);
}

/* ---- construction ---- */

static bool check_elem(long e) {
  if (e >= 0 && e < EL_COUNT)
    return true;
  pp_raise(DIAG_VALUE, "%ld is not an element type code (0 to %d)", e, EL_COUNT - 1);
  return false;
}

static bool check_backend(long b) {
  if (b == BACKEND_CPU || b == BACKEND_CUDA || b == BACKEND_METAL)
    return true;
  pp_raise(DIAG_VALUE, "buffers exist for the Cpu, Cuda and Metal backends, not %s",
           b >= BACKEND_AUTO && b <= BACKEND_CPU ? backend_name((Backend)b) : "this code");
  return false;
}

/* Raise about `shape` (kind and words), free `dims`; false. */
static bool bad_shape(int64_t *dims, PyObject *shape, DiagKind kind, const char *why) {
  PyMem_Free(dims);
  PyObject *r = PyObject_Repr(shape);
  const char *rs = r ? PyUnicode_AsUTF8(r) : NULL;
  PyErr_Clear();
  pp_raise(kind, "a buffer cannot have the shape %s: %s", rs ? rs : "?", why);
  Py_XDECREF(r);
  return false;
}

/* The extents of a shape tuple and the size in bytes of an array of them;
 * false with a ParPy exception for anything but non-negative ints whose
 * product fits in a Py_ssize_t. */
static bool read_extents(PyObject *shape, Elem e, int *rank, int64_t **dims, size_t *bytes) {
  if (!PyTuple_Check(shape)) {
    pp_raise(DIAG_TYPE, "a buffer's shape must be a tuple of ints, not %s",
             Py_TYPE(shape)->tp_name);
    return false;
  }
  Py_ssize_t r = PyTuple_GET_SIZE(shape);
  int64_t *d = PyMem_Malloc(sizeof(int64_t) * (size_t)(r ? r : 1));
  if (!d) {
    PyErr_NoMemory();
    return false;
  }
  if (r > 64)
    return bad_shape(d, shape, DIAG_VALUE, "a buffer has at most 64 dimensions");
  uint64_t total = (uint64_t)elem_size(e);
  bool too_large = false;
  for (Py_ssize_t i = 0; i < r; i++) {
    PyObject *v = PyTuple_GET_ITEM(shape, i);
    if (!PyLong_Check(v) || PyBool_Check(v))
      return bad_shape(d, shape, DIAG_TYPE, "the extents must be ints");
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
      PyMem_Free(d);
      return false;
    }
    if (overflow < 0 || (overflow == 0 && x < 0))
      return bad_shape(d, shape, DIAG_VALUE, "extents cannot be negative");
    /* Every prefix must fit, as args.c multiplies the extents in order. */
    too_large |= overflow > 0 || __builtin_mul_overflow(total, (uint64_t)x, &total) ||
                 total > (uint64_t)PY_SSIZE_T_MAX;
    d[i] = overflow ? INT64_MAX : x;
  }
  if (too_large)
    return bad_shape(d, shape, DIAG_VALUE, "it is too large");
  *rank = (int)r;
  *dims = d;
  *bytes = (size_t)total;
  return true;
}

/* A buffer object of type `cls` without memory: the caller sets data and
 * owns/owner.  Takes `dims`. */
static BufferObject *make(PyTypeObject *cls, int rank, int64_t *dims, size_t bytes, Elem e,
                          Backend backend) {
  Py_ssize_t *view = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(rank ? 2 * rank : 1));
  BufferObject *b = view ? (BufferObject *)cls->tp_alloc(cls, 0) : NULL;
  if (!b) {
    PyMem_Free(view);
    PyMem_Free(dims);
    return view ? NULL : (BufferObject *)PyErr_NoMemory();
  }
  Py_ssize_t stride = elem_size(e);
  for (int i = rank - 1; i >= 0; i--) {
    view[i] = (Py_ssize_t)dims[i];
    view[rank + i] = stride;
    stride *= view[i] ? view[i] : 1;
  }
  b->dims = dims;
  b->view = view;
  b->bytes = bytes;
  b->rank = rank;
  b->elem = e;
  b->backend = backend;
  b->device = -1;
  return b;
}

/* Fresh memory for b: zeroed when asked (Cuda: queued on stream 0). */
static bool allocate(BufferObject *b, bool zero) {
  if (!on_gpu(b)) {
    /* Never NULL, even when empty: NumPy and the entry expect a pointer.
     * 64 bytes: a cache line, and what SIMD loads like best.  Metal: whole
     * pages, which the Metal runtime shares with the GPU without a copy
     * (Apple's unified memory; parpy_metal_use). */
    size_t align = 64;
    if (b->backend == BACKEND_METAL) {
      long page = sysconf(_SC_PAGESIZE);
      align = page > 64 ? (size_t)page : 64;
    }
    size_t n = (b->bytes + align - 1) & ~(align - 1);
    if (posix_memalign(&b->data, align, n ? n : align) != 0) {
      b->data = NULL;
      PyErr_Format(PyExc_MemoryError, "cannot allocate a buffer of %zu bytes", b->bytes);
      return false;
    }
    if (zero)
      memset(b->data, 0, b->bytes);
  } else if (b->bytes > 0) {
    const char *e;
    Py_BEGIN_ALLOW_THREADS
    e = rt_cuda_alloc(&b->data, b->bytes, &b->pooled);
    if (!e && zero)
      e = rt_cuda_zero(b->data, b->bytes);
    Py_END_ALLOW_THREADS
    if (e) {
      if (b->data)
        rt_cuda_free(b->data, b->pooled);
      b->data = NULL;
      pp_raise(DIAG_RUNTIME, "allocating a buffer of %zu bytes in GPU memory failed: %s",
               b->bytes, e);
      return false;
    }
  }
  b->owns = true;
  if (on_gpu(b))
    b->device = (int16_t)rt_cuda_device();
  pp_stats.buffers++;
  return true;
}

/* BufferBase._alloc(shape, elem, backend, zero) -> a new buffer of cls */
static PyObject *buffer_alloc(PyObject *cls, PyObject *args) {
  PyObject *shape;
  long elem, backend;
  int zero;
  if (!PyArg_ParseTuple(args, "Ollp:_alloc", &shape, &elem, &backend, &zero) ||
      !check_elem(elem) || !check_backend(backend))
    return NULL;
  int rank;
  int64_t *dims;
  size_t bytes;
  if (!read_extents(shape, (Elem)elem, &rank, &dims, &bytes))
    return NULL;
  BufferObject *b = make((PyTypeObject *)cls, rank, dims, bytes, (Elem)elem, (Backend)backend);
  if (b && !allocate(b, zero))
    Py_CLEAR(b);
  return (PyObject *)b;
}

/* Work queued on a producer's stream comes before ours (CUDA array
 * interface 3); then the pointer must be GPU memory, whose device we
 * remember so that calls need not ask again. */
static bool adopt_gpu_memory(BufferObject *b, unsigned long long stream) {
  const char *e = NULL;
  int dev = b->device;
  Py_BEGIN_ALLOW_THREADS
  if (stream > 2)
    e = rt_cuda_wait_stream((uintptr_t)stream);
  if (!e && b->data && dev < 0)
    e = rt_cuda_check_pointer(b->data, &dev); /* -1 for managed memory: any device */
  Py_END_ALLOW_THREADS
  if (e) {
    pp_raise(DIAG_VALUE, "the array's data pointer %p cannot be used as GPU memory: %s",
             b->data, e);
    return false;
  }
  b->device = (int16_t)dev;
  return true;
}

/* BufferBase._wrap(ptr, shape, elem, device, readonly, stream, owner): a
 * Cuda buffer over GPU memory that `owner` keeps alive; device -1 when the
 * array does not say. */
static PyObject *buffer_wrap(PyObject *cls, PyObject *args) {
  PyObject *ptr, *shape, *owner;
  long elem;
  int device, readonly;
  unsigned long long stream;
  if (!PyArg_ParseTuple(args, "OOlipKO:_wrap", &ptr, &shape, &elem, &device, &readonly,
                        &stream, &owner) ||
      !check_elem(elem))
    return NULL;
  void *data = PyLong_AsVoidPtr(ptr);
  if (!data && PyErr_Occurred())
    return NULL;
  int rank;
  int64_t *dims;
  size_t bytes;
  if (!read_extents(shape, (Elem)elem, &rank, &dims, &bytes))
    return NULL;
  if (!data && bytes > 0) {
    PyMem_Free(dims);
    return pp_raise(DIAG_VALUE, "the array has a NULL data pointer");
  }
  BufferObject *b = make((PyTypeObject *)cls, rank, dims, bytes, (Elem)elem, BACKEND_CUDA);
  if (!b)
    return NULL;
  b->data = bytes ? data : NULL;
  b->device = (int16_t)(device >= 0 && device < INT16_MAX ? device : -1);
  b->readonly = readonly;
  Py_INCREF(owner);
  b->owner = owner;
  if (!adopt_gpu_memory(b, stream))
    Py_CLEAR(b);
  return (PyObject *)b;
}

/* b._view(shape, elem): the same memory seen with another shape or element
 * type of the same total size. */
static PyObject *buffer_view(PyObject *self, PyObject *args) {
  BufferObject *b = self_of(self);
  PyObject *shape;
  long elem;
  if (!PyArg_ParseTuple(args, "Ol:_view", &shape, &elem) || !check_elem(elem))
    return NULL;
  int rank;
  int64_t *dims;
  size_t bytes;
  if (!read_extents(shape, (Elem)elem, &rank, &dims, &bytes))
    return NULL;
  if (bytes != b->bytes) {
    PyMem_Free(dims);
    return pp_raise(DIAG_VALUE, "a view of a buffer of %zu bytes cannot have %zu bytes",
                    b->bytes, bytes);
  }
  BufferObject *v = make(Py_TYPE(self), rank, dims, bytes, (Elem)elem, b->backend);
  if (!v)
    return NULL;
  v->data = b->data;
  v->device = b->device;
  v->readonly = b->readonly;
  /* Hold what holds the memory, so that chains of views stay short. */
  PyObject *owner = b->owns ? self : b->owner;
  Py_INCREF(owner);
  v->owner = owner;
  return (PyObject *)v;
}

/* ---- copies between the buffer and host memory ---- */

/* A C-contiguous view of `obj` of exactly b->bytes bytes. */
static bool host_view(BufferObject *b, PyObject *obj, bool writable, Py_buffer *v) {
  int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(obj, v, flags) < 0)
    return false;
  if ((size_t)v->len != b->bytes) {
    pp_raise(DIAG_VALUE, "the host array has %zd bytes, the buffer %zu", v->len, b->bytes);
    PyBuffer_Release(v);
    return false;
  }
  return true;
}

/* Copy `n` bytes; GPU copies are synchronous, so the host side may go
 * away right after.  NULL or CUDA's message. */
static const char *copy_bytes(bool gpu, bool to_host, void *host, void *dev, size_t n) {
  if (n == 0)
    return NULL;
  if (!gpu) {
    to_host ? memcpy(host, dev, n) : memcpy(dev, host, n);
    return NULL;
  }
  if (to_host)
    return rt_cuda_to_host(host, dev, n);
  const char *e = rt_cuda_to_device(dev, host, n);
  return e ? e : rt_cuda_sync();
}

static PyObject *transfer(PyObject *self, PyObject *obj, bool to_host) {
  BufferObject *b = self_of(self);
  if (!to_host && b->readonly)
    return pp_raise(DIAG_VALUE, "the buffer wraps read-only memory");
  Py_buffer v;
  if (!host_view(b, obj, to_host, &v))
    return NULL;
  const char *e;
  Py_BEGIN_ALLOW_THREADS
  e = copy_bytes(on_gpu(b), to_host, v.buf, b->data, b->bytes);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&v);
  if (e)
    return pp_raise(DIAG_RUNTIME, "copying a buffer of %zu bytes %s the GPU failed: %s",
                    b->bytes, to_host ? "from" : "to", e);
  Py_RETURN_NONE;
}

/* b._to_host(array): copy the buffer into a writable contiguous array. */
static PyObject *buffer_to_host(PyObject *self, PyObject *dst) { return transfer(self, dst, true); }

/* b._from_host(array): copy a contiguous host array into the buffer. */
static PyObject *buffer_from_host(PyObject *self, PyObject *src) {
  return transfer(self, src, false);
}

/* ---- attributes and the array interfaces ---- */

static PyObject *get_shape(PyObject *self, void *unused) {
  (void)unused;
  BufferObject *b = self_of(self);
  PyObject *t = PyTuple_New(b->rank);
  for (int i = 0; t && i < b->rank; i++) {
    PyObject *d = PyLong_FromLongLong(b->dims[i]);
    if (!d)
      Py_CLEAR(t);
    else
      PyTuple_SET_ITEM(t, i, d);
  }
  return t;
}

static PyObject *get_elem(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromLong(self_of(self)->elem);
}

static PyObject *get_backend(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromLong(self_of(self)->backend);
}

static PyObject *get_ptr(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromVoidPtr(self_of(self)->data);
}

static PyObject *get_device(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromLong(self_of(self)->device);
}

static PyObject *get_nbytes(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromSize_t(self_of(self)->bytes);
}

static PyObject *get_owner(PyObject *self, void *unused) {
  (void)unused;
  PyObject *o = self_of(self)->owner ? self_of(self)->owner : Py_None;
  Py_INCREF(o);
  return o;
}

/* The dict both interfaces share (version 3); `stream` only for CUDA. */
static PyObject *interface(BufferObject *b) {
  char ts[8];
  typestr(b->elem, ts);
  PyObject *shape = get_shape((PyObject *)b, NULL);
  if (!shape)
    return NULL;
  PyObject *d = Py_BuildValue("{sNsss(NO)sOsi}", "shape", shape, "typestr", ts, "data",
                              PyLong_FromVoidPtr(b->data), b->readonly ? Py_True : Py_False,
                              "strides", Py_None, "version", 3);
  /* Our work is queued on the legacy default stream (1): a consumer on
   * another stream waits for it. */
  PyObject *one = d && on_gpu(b) ? PyLong_FromLong(1) : NULL;
  if (d && on_gpu(b) && (!one || PyDict_SetItemString(d, "stream", one) < 0))
    Py_CLEAR(d);
  Py_XDECREF(one);
  return d;
}

static PyObject *get_cai(PyObject *self, void *unused) {
  (void)unused;
  if (!on_gpu(self_of(self)))
    return PyErr_Format(PyExc_AttributeError, "a Cpu buffer has no __cuda_array_interface__ "
                        "(its memory is on the host)");
  return interface(self_of(self));
}

static PyObject *get_ai(PyObject *self, void *unused) {
  (void)unused;
  if (on_gpu(self_of(self)))
    return PyErr_Format(PyExc_AttributeError, "a Cuda buffer has no __array_interface__ (its "
                        "memory is on the GPU; b.numpy() copies it to the host)");
  return interface(self_of(self));
}

/* The buffer protocol, for host memory only: NumPy views Cpu buffers
 * through it, and memoryview works. */
static int buffer_getbuffer(PyObject *self, Py_buffer *v, int flags) {
  BufferObject *b = self_of(self);
  v->obj = NULL;
  if (on_gpu(b)) {
    PyErr_SetString(PyExc_BufferError, "a Cuda buffer's memory is on the GPU; b.numpy() "
                    "copies it to the host");
    return -1;
  }
  if ((flags & PyBUF_WRITABLE) && b->readonly) {
    PyErr_SetString(PyExc_BufferError, "the buffer is read-only");
    return -1;
  }
  v->buf = b->data;
  v->len = (Py_ssize_t)b->bytes;
  v->readonly = b->readonly;
  v->itemsize = elem_size(b->elem);
  v->format = (flags & PyBUF_FORMAT) ? (char *)formats[b->elem] : NULL;
  v->ndim = b->rank;
  /* A request without ND sees plain bytes; a 0-d array has no extents. */
  v->shape = (flags & PyBUF_ND) == PyBUF_ND && b->rank ? b->view : NULL;
  v->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES && b->rank ? b->view + b->rank : NULL;
  v->suboffsets = NULL;
  v->internal = NULL;
  if (!(flags & PyBUF_ND))
    v->ndim = 1;
  v->obj = Py_NewRef(self);
  return 0;
}

static PyBufferProcs buffer_as_buffer = {.bf_getbuffer = buffer_getbuffer};

/* ---- lifetime ---- */

static void release_memory(BufferObject *b) {
  if (!b->owns)
    return;
  b->owns = false;
  pp_stats.buffers--;
  if (!on_gpu(b))
    free(b->data);
  else if (b->data)
    rt_cuda_free(b->data, b->pooled); /* errors ignored: see the top of the file */
  b->data = NULL;
}

static int buffer_traverse(PyObject *self, visitproc visit, void *arg) {
  Py_VISIT(self_of(self)->owner);
  return 0;
}

/* No tp_clear: a buffer's owner must outlive its data pointer; a cycle
 * through a buffer is broken at the owner's side (a tensor's __dict__). */
static void buffer_dealloc(PyObject *self) {
  BufferObject *b = self_of(self);
  PyObject_GC_UnTrack(self);
  if (b->weakrefs)
    PyObject_ClearWeakRefs(self);
  release_memory(b);
  Py_CLEAR(b->owner);
  PyMem_Free(b->dims);
  PyMem_Free(b->view);
  Py_TYPE(self)->tp_free(self);
}

/* parpy.buffer.sync(Cuda): wait for the whole device; errors raise. */
PyObject *mod_cuda_sync(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  const char *e;
  Py_BEGIN_ALLOW_THREADS
  e = rt_cuda_device_sync();
  Py_END_ALLOW_THREADS
  if (e)
    return pp_raise(DIAG_RUNTIME, "synchronising the GPU failed: %s", e);
  Py_RETURN_NONE;
}

static PyMethodDef buffer_methods[] = {
    {"_alloc", buffer_alloc, METH_VARARGS | METH_CLASS,
     "_alloc(shape, elem, backend, zero) -> a buffer owning fresh memory"},
    {"_wrap", buffer_wrap, METH_VARARGS | METH_CLASS,
     "_wrap(ptr, shape, elem, device, readonly, stream, owner) -> a Cuda buffer over GPU "
     "memory that owner keeps alive"},
    {"_view", buffer_view, METH_VARARGS, "_view(shape, elem) -> a view of the same memory"},
    {"_to_host", buffer_to_host, METH_O, "_to_host(array): copy the data into a host array"},
    {"_from_host", buffer_from_host, METH_O, "_from_host(array): copy a host array in"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef buffer_getset[] = {
    {"shape", get_shape, NULL, "the extents, a tuple of ints", NULL},
    {"_elem", get_elem, NULL, "the element type's code (parpy.ElemSize value)", NULL},
    {"_backend", get_backend, NULL, "the backend's code (parpy.CompileBackend value)", NULL},
    {"_ptr", get_ptr, NULL, "the data pointer, an int", NULL},
    {"_device", get_device, NULL, "Cuda: the device holding the memory", NULL},
    {"_owner", get_owner, NULL, "what keeps the memory of a view or a wrapped array alive",
     NULL},
    {"nbytes", get_nbytes, NULL, "the size of the data in bytes", NULL},
    {"__cuda_array_interface__", get_cai, NULL, "Cuda buffers: the CUDA array interface", NULL},
    {"__array_interface__", get_ai, NULL, "Cpu buffers: NumPy's array interface", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parpy._core.BufferBase",
    .tp_basicsize = sizeof(BufferObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The memory of a parpy.buffer.Buffer; made by the functions of parpy.buffer.",
    .tp_dealloc = buffer_dealloc,
    .tp_traverse = buffer_traverse,
    .tp_as_buffer = &buffer_as_buffer,
    .tp_weaklistoffset = offsetof(BufferObject, weakrefs),
    .tp_methods = buffer_methods,
    .tp_getset = buffer_getset,
};
