/* torch.c - PyTorch tensors, read through their C-implemented attributes.
 *
 * A tensor offers __cuda_array_interface__ and __dlpack__, but both are
 * Python code in torch that builds dicts or capsules and takes several
 * microseconds per tensor: more than the whole launch we aim for (DESIGN.md
 * section 9).  data_ptr(), dtype, shape and friends are C getters costing
 * tens of nanoseconds each.  torch is never imported here: a tensor can
 * only exist once the user has imported it, so we look in sys.modules.
 *
 * Like torch's own exporters we refuse tensors that require grad (we write
 * their memory behind autograd's back) and lazily negated views. */
#include <string.h>

#include "args.h"

static PyObject *tensor_type;              /* torch.Tensor */
static PyObject *dtypes[EL_COUNT];         /* torch.float32, ... by Elem */
static PyObject *s_requires_grad, *s_is_cuda, *s_is_cpu, *s_dtype, *s_shape, *s_is_contiguous,
    *s_data_ptr, *s_get_device, *s_device;

static bool init_strings(void) {
  if (s_device)
    return true;
  const char *names[] = {"requires_grad", "is_cuda",  "is_cpu",     "dtype", "shape",
                         "is_contiguous", "data_ptr", "get_device", "device"};
  PyObject **slots[] = {&s_requires_grad, &s_is_cuda,  &s_is_cpu,     &s_dtype, &s_shape,
                        &s_is_contiguous, &s_data_ptr, &s_get_device, &s_device};
  for (size_t i = 0; i < PP_COUNT(names); i++)
    if (!(*slots[i] = PyUnicode_InternFromString(names[i])))
      return false;
  return true;
}

/* torch.Tensor and its dtypes, once torch has been imported; 0 before. */
static int load_torch(void) {
  if (tensor_type)
    return 1;
  static PyObject *name;
  if (!name && !(name = PyUnicode_InternFromString("torch")))
    return -1;
  PyObject *torch = PyImport_GetModule(name);
  if (!torch)
    return PyErr_Occurred() ? -1 : 0;
  static const char *const elems[EL_COUNT] = {
      [EL_BOOL] = "bool",    [EL_I8] = "int8",       [EL_I16] = "int16",     [EL_I32] = "int32",
      [EL_I64] = "int64",    [EL_U8] = "uint8",      [EL_U16] = "uint16",    [EL_U32] = "uint32",
      [EL_U64] = "uint64",   [EL_F16] = "float16",   [EL_F32] = "float32",   [EL_F64] = "float64",
      [EL_BF16] = "bfloat16",
  };
  for (int e = 0; e < EL_COUNT; e++)
    if (!(dtypes[e] = PyObject_GetAttrString(torch, elems[e])))
      PyErr_Clear(); /* uint16-64 are recent */
  PyObject *t = PyObject_GetAttrString(torch, "Tensor");
  Py_DECREF(torch);
  if (!t || !PyType_Check(t)) {
    Py_XDECREF(t);
    PyErr_Clear(); /* a module named torch that is not PyTorch */
    return 0;
  }
  tensor_type = t;
  return init_strings() ? 1 : -1;
}

/* The descriptors of torch.Tensor's attributes, by interned name, looked
 * up once (issue 14 item 5): for a tensor of exactly that type, reading
 * through them skips the walk of the class hierarchy and, for methods, the
 * bound method made at each call -- a quarter of the classification of a
 * tensor.  The same C functions run, so torch function modes still apply.
 * Only data descriptors (which an instance's __dict__ cannot shadow) and
 * C methods are taken; anything else goes the generic way. */
enum { MAX_DESCRS = 16 };
static PyObject *descr_names[MAX_DESCRS], *descrs[MAX_DESCRS];
static int ndescrs;

static PyObject *descr_of(PyObject *name, bool call) {
  for (int i = 0; i < ndescrs; i++)
    if (descr_names[i] == name)
      return descrs[i];
  if (ndescrs == MAX_DESCRS)
    return NULL;
  PyObject *d = PyObject_GetAttr(tensor_type, name); /* the descriptor itself */
  if (!d)
    PyErr_Clear();
  bool usable = d && (call ? PyObject_TypeCheck(d, &PyMethodDescr_Type)
                           : Py_TYPE(d)->tp_descr_get && Py_TYPE(d)->tp_descr_set);
  if (!usable)
    Py_CLEAR(d);
  descr_names[ndescrs] = name;
  descrs[ndescrs++] = d; /* NULL: the generic way, for good */
  return d;
}

static PyObject *tensor_attr(PyObject *obj, PyObject *name, bool call) {
  PyObject *d = Py_TYPE(obj) == (PyTypeObject *)tensor_type ? descr_of(name, call) : NULL;
  if (d && call)
    return PyObject_Vectorcall(d, &obj, 1, NULL);
  if (d)
    return Py_TYPE(d)->tp_descr_get(d, obj, (PyObject *)Py_TYPE(obj));
  return call ? PyObject_CallMethodNoArgs(obj, name) : PyObject_GetAttr(obj, name);
}

/* getattr(obj, name) as a truth value: 1, 0, or -1 with an exception. */
static int truth(PyObject *obj, PyObject *name, bool call) {
  PyObject *v = tensor_attr(obj, name, call);
  if (!v)
    return -1;
  int r = PyObject_IsTrue(v);
  Py_DECREF(v);
  return r;
}

static long long integer(PyObject *obj, PyObject *name, bool *ok) {
  PyObject *v = tensor_attr(obj, name, true);
  long long r = v ? PyLong_AsLongLong(v) : -1;
  Py_XDECREF(v);
  *ok = !PyErr_Occurred();
  return r;
}

static int elem_of(PyObject *dtype) {
  for (int e = 0; e < EL_COUNT; e++)
    if (dtypes[e] && dtypes[e] == dtype)
      return e;
  return -1;
}

/* Where the tensor lives: 1 CUDA, 0 CPU, 2 mps (Apple's GPU), -1 with an
 * exception. */
static int on_cuda(PyObject *obj, const Where *w) {
  int cuda = truth(obj, s_is_cuda, false);
  if (cuda != 0)
    return cuda;
  int cpu = truth(obj, s_is_cpu, false);
  if (cpu < 0)
    return -1;
  if (cpu)
    return 0;
  PyObject *dev = PyObject_GetAttr(obj, s_device);
  PyObject *str = dev ? PyObject_Str(dev) : NULL;
  const char *name = str ? PyUnicode_AsUTF8(str) : NULL;
  PyErr_Clear();
  if (name && strncmp(name, "mps", 3) == 0) {
    Py_DECREF(str);
    Py_DECREF(dev);
    return 2;
  }
  arg_error(DIAG_TYPE, w, " is a torch tensor on the device '%s'; ParPy takes tensors on the "
            "CPU, on a CUDA device or on mps", name ? name : "?");
  Py_XDECREF(str);
  Py_XDECREF(dev);
  return -1;
}

/* Elem and shape; false with an exception. */
static bool read_type(Ctx *c, PyObject *obj, const Where *w, int *elem, int *rank,
                      int64_t **dims) {
  PyObject *dtype = tensor_attr(obj, s_dtype, false);
  if (!dtype)
    return false;
  *elem = elem_of(dtype);
  Py_DECREF(dtype);
  if (*elem < 0)
    return dtype_error(w, obj, NULL);
  PyObject *shape = tensor_attr(obj, s_shape, false); /* torch.Size, a tuple */
  if (!shape)
    return false;
  bool ok = read_shape(c, shape, w, "shape", rank, dims);
  Py_DECREF(shape);
  return ok;
}

/* Contiguous; false with an exception.  (Lazily negated or conjugated
 * views exist only for complex dtypes, which ParPy does not take.) */
static bool check_layout(PyObject *obj, const Where *w) {
  int contiguous = truth(obj, s_is_contiguous, true);
  if (contiguous < 0)
    return false;
  if (!contiguous)
    return arg_error(DIAG_VALUE, w, " is not contiguous; pass %s.contiguous()", arg_name(w));
  return true;
}

int classify_torch(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w) {
  int loaded = load_torch();
  if (loaded <= 0)
    return loaded;
  if (!PyObject_TypeCheck(obj, (PyTypeObject *)tensor_type))
    return 0;
  int grad = truth(obj, s_requires_grad, false);
  if (grad < 0)
    return -1;
  if (grad) {
    arg_error(DIAG_TYPE, w, " is a torch tensor that requires grad; pass %s.detach() (ParPy "
              "reads and writes its memory outside autograd)", arg_name(w));
    return -1;
  }
  int cuda = on_cuda(obj, w), elem, rank;
  if (cuda == 2) {
    /* An mps tensor: the call uses a CPU copy, copied back after it
     * (args_writeback).  Not in place: that would bind the MTLBuffer
     * behind the tensor, which no runtime call takes yet (docs/metal.md). */
    PyObject *host = PyObject_CallMethod(obj, "cpu", NULL);
    if (!host)
      return -1;
    CallArgs *ca = c->ca;
    Py_INCREF(obj);
    ca->mps[2 * ca->nmps] = obj;
    ca->mps[2 * ca->nmps + 1] = host;
    ca->nmps++;
    return classify_torch(c, host, s, w);
  }
  int64_t *dims;
  if (cuda < 0 || !read_type(c, obj, w, &elem, &rank, &dims) ||
      (rank > 0 && !check_layout(obj, w)))
    return -1;
  bool ok;
  void *ptr = (void *)(uintptr_t)integer(obj, s_data_ptr, &ok);
  if (!ok)
    return -1;
  if (rank == 0)
    return put_scalar(c, s, w, (Elem)elem, ptr, cuda) ? 1 : -1;
  /* With one GPU every CUDA tensor is on the current device. */
  long long device = cuda && rt_cuda_device_count() != 1 ? integer(obj, s_get_device, &ok) : -1;
  if (!ok || !put_array(c, s, w, (Elem)elem, rank, dims, ptr, false, cuda))
    return -1;
  last_slot(c)->device = (int16_t)device;
  last_slot(c)->torch = cuda;
  return 1;
}

/* PyTorch's current stream on `device` (-1: the current device), where
 * its work on the tensor is queued and where the call then runs: once per
 * call and device, through torch._C._cuda_getCurrentRawStream (a C
 * function), else torch.cuda.current_stream().cuda_stream.  Its default
 * stream, 0, is the legacy default stream (1), as is the answer of a
 * module posing as torch that cannot tell. */
static PyObject *raw_stream_fn, *current_stream_fn;

static uintptr_t current_stream(CallArgs *ca, int device) {
  if (device < 0)
    device = rt_cuda_device();
  if (ca->stream_device == device)
    return ca->torch_stream;
  if (!raw_stream_fn && !current_stream_fn) {
    PyObject *torch = PyImport_ImportModule("torch");
    if (!torch)
      return 1;
    PyObject *cmod = PyObject_GetAttrString(torch, "_C");
    raw_stream_fn = cmod ? PyObject_GetAttrString(cmod, "_cuda_getCurrentRawStream") : NULL;
    Py_XDECREF(cmod);
    PyErr_Clear();
    if (!raw_stream_fn) {
      PyObject *cuda = PyObject_GetAttrString(torch, "cuda");
      current_stream_fn = cuda ? PyObject_GetAttrString(cuda, "current_stream") : NULL;
      Py_XDECREF(cuda);
    }
    Py_DECREF(torch);
    if (!raw_stream_fn && !current_stream_fn)
      return 1;
  }
  PyObject *r;
  PyObject *dev = PyLong_FromLong(device);
  if (!dev) {
    r = NULL;
  } else if (raw_stream_fn) {
    r = PyObject_CallOneArg(raw_stream_fn, dev); /* no format string to parse per call */
  } else {
    PyObject *st = PyObject_CallOneArg(current_stream_fn, dev);
    r = st ? PyObject_GetAttrString(st, "cuda_stream") : NULL;
    Py_XDECREF(st);
  }
  Py_XDECREF(dev);
  unsigned long long v = r ? PyLong_AsUnsignedLongLongMask(r) : 0;
  Py_XDECREF(r);
  ca->stream_device = device;
  ca->torch_stream = v && !PyErr_Occurred() ? (uintptr_t)v : 1;
  return ca->torch_stream;
}

void torch_streams(CallArgs *ca) {
  for (int i = 0; i < ca->nslots; i++)
    if (ca->info[i].torch && ca->info[i].kind == SLOT_DEVICE)
      ca->info[i].stream = current_stream(ca, ca->info[i].device);
  /* Not knowing the stream is no error: the legacy default stream then,
   * as before streams were followed. */
  PyErr_Clear();
}
