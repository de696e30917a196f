/* dlpack.c - arrays exchanged through DLPack (__dlpack__, __dlpack_device__):
 * JAX, CuPy, PyTorch, NumPy, and anything else that speaks it.
 *
 * The C structs below are DLPack's ABI (dlpack.h, versions 0.8 and 1.x),
 * declared here so that building parpy needs no DLPack header.  The
 * protocol: ask the producer for a capsule named "dltensor" (or, offering
 * max_version, "dltensor_versioned"), take the tensor out, rename the
 * capsule "used_dltensor[_versioned]" so that its destructor leaves the
 * tensor alone, and call the tensor's deleter once done with the memory:
 * args_release, after the call. */
#include <string.h>

#include "args.h"

typedef struct DLDevice {
  int32_t device_type;
  int32_t device_id;
} DLDevice;

typedef struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct DLTensor {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape;
  int64_t *strides; /* in elements; NULL: row-major contiguous */
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;

typedef struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
} DLPackVersion;

typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void *manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned *self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;

enum { DL_CPU = 1, DL_CUDA = 2, DL_CUDA_HOST = 3, DL_CUDA_MANAGED = 13 };
enum { DL_INT = 0, DL_UINT = 1, DL_FLOAT = 2, DL_BFLOAT = 4, DL_COMPLEX = 5, DL_BOOL = 6 };
#define DL_FLAG_READ_ONLY 1ULL

static PyObject *str_device, *kw_stream, *kw_version, *kw_both, *max_version;

static bool init_strings(void) {
  if (kw_both)
    return true;
  str_device = PyUnicode_InternFromString("__dlpack_device__");
  kw_stream = Py_BuildValue("(s)", "stream");
  kw_version = Py_BuildValue("(s)", "max_version");
  max_version = Py_BuildValue("(ii)", 1, 0);
  kw_both = str_device && kw_stream && kw_version && max_version
                ? Py_BuildValue("(ss)", "stream", "max_version") : NULL;
  return kw_both != NULL;
}

/* A deleter may run Python code (NumPy's drops a reference; a ctypes one is
 * Python): keep a pending exception of the call out of its way. */
void dlpack_release(DLHold *h) {
#if PY_VERSION_HEX >= 0x030C0000
  PyObject *exc = PyErr_GetRaisedException();
#else
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
#endif
  if (h->versioned) {
    DLManagedTensorVersioned *m = h->managed;
    if (m && m->deleter)
      m->deleter(m);
  } else {
    DLManagedTensor *m = h->managed;
    if (m && m->deleter)
      m->deleter(m);
  }
  h->managed = NULL;
  if (PyErr_Occurred())
    PyErr_WriteUnraisable(NULL); /* a deleter must not fail; say so if it does */
#if PY_VERSION_HEX >= 0x030C0000
  PyErr_SetRaisedException(exc);
#else
  PyErr_Restore(type, value, tb);
#endif
}

static const char *device_name(int type) {
  switch (type) {
  case 4: return "OpenCL";
  case 7: return "Vulkan";
  case 8: return "Metal";
  case 10: return "ROCm";
  case 11: return "ROCm host";
  case 14: return "oneAPI";
  case 15: return "WebGPU";
  default: return "another device";
  }
}

static bool is_gpu(int type) { return type == DL_CUDA || type == DL_CUDA_MANAGED; }

/* __dlpack_device__() -> (device type, device id) */
static bool read_device(PyObject *obj, const Where *w, int *type) {
  PyObject *r = PyObject_CallMethodNoArgs(obj, str_device);
  if (!r)
    return false;
  bool ok = PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2 && PyLong_Check(PyTuple_GET_ITEM(r, 0));
  *type = ok ? (int)PyLong_AsLong(PyTuple_GET_ITEM(r, 0)) : 0;
  Py_DECREF(r);
  if (PyErr_Occurred())
    return false;
  if (!ok)
    return arg_error(DIAG_TYPE, w, " has a __dlpack_device__ that does not return a (device "
                     "type, device id) pair");
  if (!is_gpu(*type) && *type != DL_CPU && *type != DL_CUDA_HOST)
    return arg_error(DIAG_TYPE, w, " is in the memory of %s (DLPack device type %d); ParPy "
                     "takes arrays in host memory or on a CUDA device", device_name(*type),
                     *type);
  return true;
}

/* __dlpack__(stream=1, max_version=(1, 0)), then without max_version for
 * producers that predate it.  A CUDA producer must order its work before
 * the legacy default stream (1), the one we run on; a CPU one takes no
 * stream. */
static PyObject *export(PyObject *dlpack, bool gpu) {
  PyObject *one = PyLong_FromLong(1);
  if (!one)
    return NULL;
  PyObject *args[] = {NULL, one, max_version};
  PyObject *r = gpu ? PyObject_Vectorcall(dlpack, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET,
                                          kw_both)
                    : PyObject_Vectorcall(dlpack, args + 2, PY_VECTORCALL_ARGUMENTS_OFFSET,
                                          kw_version);
  if (!r && PyErr_ExceptionMatches(PyExc_TypeError)) {
    PyErr_Clear();
    r = gpu ? PyObject_Vectorcall(dlpack, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET, kw_stream)
            : PyObject_CallNoArgs(dlpack);
  }
  Py_DECREF(one);
  return r;
}

/* Take the tensor out of the capsule; from here on args_release owns it. */
static void *take(Ctx *c, PyObject *cap, bool *versioned, const Where *w) {
  *versioned = PyCapsule_IsValid(cap, "dltensor_versioned");
  const char *name = *versioned ? "dltensor_versioned" : "dltensor";
  if (!*versioned && !PyCapsule_IsValid(cap, name)) {
    bool used = PyCapsule_IsValid(cap, "used_dltensor") ||
                PyCapsule_IsValid(cap, "used_dltensor_versioned");
    arg_error(DIAG_TYPE, w, "'s __dlpack__ returned %s", used ? "a capsule that was already "
              "consumed" : "something other than a DLPack capsule");
    return NULL;
  }
  void *m = PyCapsule_GetPointer(cap, name);
  if (!m || PyCapsule_SetName(cap, *versioned ? "used_dltensor_versioned" : "used_dltensor") < 0)
    return NULL;
  CallArgs *ca = c->ca;
  if (!ca->holds)
    ca->holds = scratch_alloc(&ca->scratch, sizeof(DLHold) * (size_t)(c->cap ? c->cap : 1));
  ca->holds[ca->nholds++] = (DLHold){m, *versioned};
  return m;
}

static int elem_of_dtype(DLDataType t) {
  static const Elem ints[] = {EL_I8, EL_I16, EL_I32, EL_I64};
  static const Elem uints[] = {EL_U8, EL_U16, EL_U32, EL_U64};
  static const Elem floats[] = {EL_F16, EL_F32, EL_F64};
  int k = t.bits == 8 ? 0 : t.bits == 16 ? 1 : t.bits == 32 ? 2 : t.bits == 64 ? 3 : -1;
  if (t.lanes != 1 || k < 0)
    return -1;
  switch (t.code) {
  case DL_INT: return (int)ints[k];
  case DL_UINT: return (int)uints[k];
  case DL_FLOAT: return k >= 1 ? (int)floats[k - 1] : -1;
  case DL_BOOL: return k == 0 ? (int)EL_BOOL : -1;
  case DL_BFLOAT: return k == 1 ? (int)EL_BF16 : -1;
  default: return -1;
  }
}

/* For messages when the object has no .dtype of its own. */
static const char *dtype_name(DLDataType t, char *buf, size_t n) {
  static const char *const codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex",
                                      "bool"};
  const char *code = t.code < PP_COUNT(codes) ? codes[t.code] : "unknown";
  if (t.lanes != 1)
    snprintf(buf, n, "%s%dx%d", code, t.bits, t.lanes);
  else
    snprintf(buf, n, "%s%d", code, t.bits);
  return buf;
}

static bool classify_tensor(Ctx *c, PyObject *obj, const DLTensor *t, bool readonly,
                            ArgSpec *s, const Where *w) {
  int type = t->device.device_type;
  bool gpu = is_gpu(type);
  if (!gpu && type != DL_CPU && type != DL_CUDA_HOST)
    return arg_error(DIAG_TYPE, w, " is in the memory of %s (DLPack device type %d)",
                     device_name(type), type);
  int e = elem_of_dtype(t->dtype);
  if (e < 0) {
    char name[32];
    return dtype_error(w, obj, dtype_name(t->dtype, name, sizeof name));
  }
  if (t->ndim < 0 || (t->ndim > 0 && !t->shape))
    return arg_error(DIAG_TYPE, w, "'s DLPack tensor has no shape");
  int rank = t->ndim;
  int64_t *dims = scratch_alloc(&c->ca->scratch, sizeof(int64_t) * (size_t)(rank ? rank : 1));
  bool empty = false;
  for (int i = 0; i < rank; i++)
    empty |= (dims[i] = t->shape[i]) == 0;
  /* Strides count elements; contiguous row-major ones may be spelled out,
   * and the stride of an extent-1 dimension does not matter. */
  int64_t want = 1;
  for (int i = rank - 1; t->strides && !empty && i >= 0; i--) {
    if (dims[i] > 1 && t->strides[i] != want)
      return arg_error(DIAG_VALUE, w, " is not contiguous (its DLPack strides say so); pass a "
                       "contiguous copy of %s", arg_name(w));
    if (dims[i] > 0 && __builtin_mul_overflow(want, dims[i], &want))
      break; /* put_array rejects the shape */
  }
  void *ptr = (char *)t->data + t->byte_offset;
  if (rank == 0)
    return put_scalar(c, s, w, (Elem)e, ptr, gpu);
  if (!put_array(c, s, w, (Elem)e, rank, dims, ptr, readonly, gpu))
    return false;
  if (type == DL_CUDA)
    last_slot(c)->device = (int16_t)t->device.device_id;
  if (gpu)
    last_slot(c)->stream = 1; /* exported for the legacy default stream (export) */
  return true;
}

bool classify_dlpack(Ctx *c, PyObject *obj, PyObject *dlpack, ArgSpec *s, const Where *w) {
  int type;
  if (!init_strings() || !read_device(obj, w, &type))
    return false;
  PyObject *cap = export(dlpack, is_gpu(type));
  if (!cap)
    return false;
  bool versioned;
  void *m = take(c, cap, &versioned, w);
  Py_DECREF(cap);
  if (!m)
    return false;
  if (!versioned)
    return classify_tensor(c, obj, &((DLManagedTensor *)m)->dl_tensor, false, s, w);
  DLManagedTensorVersioned *mv = m;
  if (mv->version.major != 1)
    return arg_error(DIAG_TYPE, w, " was exported with DLPack %u.%u; ParPy reads version 1",
                     mv->version.major, mv->version.minor);
  return classify_tensor(c, obj, &mv->dl_tensor, mv->flags & DL_FLAG_READ_ONLY, s, w);
}
