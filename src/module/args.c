/* args.c - the arguments of a call become ArgSpecs (what the code is
 * specialised to) and slots (what the entry function receives).
 *
 * This runs on every call, so it touches no Python attribute it can avoid:
 * parpy buffers first (their C struct is read directly), exact-type checks
 * for Python scalars, the buffer protocol for arrays and
 * NumPy scalars, then PyTorch tensors (torch.c), and the interface dicts
 * only for objects without a buffer: __cuda_array_interface__ (cai.c),
 * __array_interface__, __dlpack__ (dlpack.c).  Nothing here needs CUDA
 * except reading the value of a 0-d array in GPU memory; what a call does
 * with arrays in GPU memory is decided in call.c, once the backend is known.
 * Memory comes from a per-call scratch (module.h). */
#include <math.h>
#include <string.h>

#include "args.h"

static PyObject *str_cai, *str_ai, *str_dlpack;

int args_init_strings(void) {
  str_cai = PyUnicode_InternFromString("__cuda_array_interface__");
  str_ai = PyUnicode_InternFromString("__array_interface__");
  str_dlpack = PyUnicode_InternFromString("__dlpack__");
  return str_cai && str_ai && str_dlpack ? 0 : -1;
}

int lookup_attr(PyObject *obj, PyObject *name, PyObject **out) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyObject_GetOptionalAttr(obj, name, out);
#else
  return _PyObject_LookupAttr(obj, name, out);
#endif
}

/* ---- scratch memory ---- */

void *scratch_alloc(Scratch *s, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (s->used + size <= sizeof s->buf) {
    void *p = s->buf + s->used;
    s->used += size;
    memset(p, 0, size);
    return p;
  }
  s->spilled = true;
  return arena_alloc(&s->arena, size);
}

void args_init(CallArgs *ca) {
  ca->n = ca->nslots = ca->nviews = ca->nrefs = ca->nholds = 0;
  ca->params = NULL;
  ca->nhost = ca->ndevice = ca->nhostbufs = 0;
  ca->specs = NULL;
  ca->slots = NULL;
  ca->info = NULL;
  ca->views = NULL;
  ca->refs = NULL;
  ca->holds = NULL;
  ca->nmps = 0;
  ca->mps = NULL;
  ca->stream_device = -2;
  ca->torch_stream = 0;
  ca->scratch.used = 0;
  ca->scratch.spilled = false;
  arena_init(&ca->scratch.arena);
}

bool args_writeback(CallArgs *ca) {
  for (int i = 0; i < ca->nmps; i++) {
    PyObject *r = PyObject_CallMethod(ca->mps[2 * i], "copy_", "O", ca->mps[2 * i + 1]);
    if (!r)
      return false;
    Py_DECREF(r);
  }
  return true;
}

void args_release(CallArgs *ca) {
  for (int i = 0; i < ca->nviews; i++)
    PyBuffer_Release(&ca->views[i]);
  ca->nviews = 0;
  for (int i = 0; i < ca->nrefs; i++)
    Py_DECREF(ca->refs[i]);
  ca->nrefs = 0;
  for (int i = 0; i < ca->nholds; i++)
    dlpack_release(&ca->holds[i]);
  ca->nholds = 0;
  for (int i = 0; i < 2 * ca->nmps; i++)
    Py_DECREF(ca->mps[i]);
  ca->nmps = 0;
  ca->nhost = ca->ndevice = ca->nhostbufs = 0;
  if (ca->scratch.spilled)
    arena_free(&ca->scratch.arena);
  ca->scratch.spilled = false;
  ca->scratch.used = 0;
}

/* ---- messages ---- */

static void where_str(const Where *w, Buf *b) {
  if (w->key)
    buf_printf(b, "field '%s' of ", w->key);
  buf_printf(b, "argument '%s' of %s", w->param, w->fname);
}

const char *arg_name(const Where *w) { return w->key ? w->key : w->param; }

bool arg_error(DiagKind kind, const Where *w, const char *fmt, ...) {
  Buf b;
  buf_init(&b);
  where_str(w, &b);
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(&b, fmt, ap);
  va_end(ap);
  pp_raise(kind, "%s", buf_cstr(&b));
  buf_free(&b);
  return false;
}

PyObject *args_count_error(const char *fname, int want, Py_ssize_t got) {
  return pp_raise(DIAG_TYPE, "%s() takes %d positional argument%s but %zd %s given", fname, want,
                  want == 1 ? "" : "s", got, got == 1 ? "was" : "were");
}

/* ---- element types ---- */

/* A PEP 3118 format such as "f", "<d", "=q", "?" -> Elem; -1 if unsupported.
 * Integer codes are sized by the itemsize, which is what the memory holds
 * ('l' is 8 bytes here but 4 with '<'). */
static int elem_of_format(const char *fmt, Py_ssize_t itemsize) {
  if (!fmt)
    return EL_U8; /* no format: unsigned bytes */
  if (*fmt == '<' || *fmt == '=' || *fmt == '@' || *fmt == '|')
    fmt++;
  if (!fmt[0] || fmt[1])
    return -1;
  static const Elem sints[] = {EL_I8, EL_I16, EL_COUNT, EL_I32, EL_COUNT, EL_COUNT, EL_COUNT,
                               EL_I64};
  static const Elem uints[] = {EL_U8, EL_U16, EL_COUNT, EL_U32, EL_COUNT, EL_COUNT, EL_COUNT,
                               EL_U64};
  switch (*fmt) {
  case '?': return itemsize == 1 ? EL_BOOL : -1;
  case 'e': return itemsize == 2 ? EL_F16 : -1;
  case 'f': return itemsize == 4 ? EL_F32 : -1;
  case 'd': return itemsize == 8 ? EL_F64 : -1;
  case 'b': case 'h': case 'i': case 'l': case 'q': case 'n':
    return itemsize >= 1 && itemsize <= 8 && sints[itemsize - 1] != EL_COUNT
               ? (int)sints[itemsize - 1] : -1;
  case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N':
    return itemsize >= 1 && itemsize <= 8 && uints[itemsize - 1] != EL_COUNT
               ? (int)uints[itemsize - 1] : -1;
  default: return -1;
  }
}

/* An __array_interface__ typestr such as "<f4", "|b1" -> Elem; -1 otherwise. */
int elem_of_typestr(const char *ts) {
  static const struct {
    const char *s;
    Elem e;
  } table[] = {
      {"b1", EL_BOOL}, {"i1", EL_I8},  {"i2", EL_I16}, {"i4", EL_I32},
      {"i8", EL_I64},  {"u1", EL_U8},  {"u2", EL_U16}, {"u4", EL_U32},
      {"u8", EL_U64},  {"f2", EL_F16}, {"f4", EL_F32}, {"f8", EL_F64},
  };
  if (!ts || (ts[0] != '<' && ts[0] != '|' && ts[0] != '='))
    return -1;
  for (size_t i = 0; i < PP_COUNT(table); i++)
    if (strcmp(ts + 1, table[i].s) == 0)
      return (int)table[i].e;
  return -1;
}

/* elem_of_typestr, and ml_dtypes' bfloat16, which NumPy describes as
 * "<V2" (raw bytes) with a dtype named bfloat16. */
int elem_of_iface(PyObject *obj, const char *ts) {
  int e = elem_of_typestr(ts);
  if (e >= 0 || !ts || strcmp(ts + (ts[0] != 0), "V2") != 0)
    return e;
  PyObject *dt = PyObject_GetAttrString(obj, "dtype");
  PyObject *name = dt ? PyObject_GetAttrString(dt, "name") : NULL;
  PyErr_Clear();
  if (name && PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "bfloat16") == 0)
    e = EL_BF16;
  Py_XDECREF(name);
  Py_XDECREF(dt);
  return e;
}

/* "dtype float32 > big-endian" in messages: prefer NumPy's own name. */
bool dtype_error(const Where *w, PyObject *obj, const char *fallback) {
  PyObject *dt = PyObject_GetAttrString(obj, "dtype");
  PyObject *s = dt ? PyObject_Str(dt) : NULL;
  PyErr_Clear();
  const char *name = s ? PyUnicode_AsUTF8(s) : NULL;
  PyErr_Clear();
  bool big = fallback && (fallback[0] == '>' || fallback[0] == '!');
  arg_error(DIAG_TYPE, w, " has dtype %s%s, which ParPy does not support (supported: bool, "
            "int8-64, uint8-64, float16-64, bfloat16)", name ? name : fallback ? fallback : "?",
            big ? " (big-endian)" : "");
  Py_XDECREF(s);
  Py_XDECREF(dt);
  return false;
}

static double half_to_double(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0)
    v = ldexp(man, -24);
  else if (exp == 31)
    v = man ? NAN : INFINITY;
  else
    v = ldexp(man | 0x400, exp - 25);
  return sign ? -v : v;
}

/* The value of one element in memory. */
static Value read_value(const void *p, Elem e) {
  Value v = {.elem = e};
  switch (e) {
  case EL_BOOL: v.b = *(const uint8_t *)p != 0; break;
  case EL_I8: v.i = *(const int8_t *)p; break;
  case EL_I16: { int16_t x; memcpy(&x, p, 2); v.i = x; break; }
  case EL_I32: { int32_t x; memcpy(&x, p, 4); v.i = x; break; }
  case EL_I64: memcpy(&v.i, p, 8); break;
  case EL_U8: v.u = *(const uint8_t *)p; break;
  case EL_U16: { uint16_t x; memcpy(&x, p, 2); v.u = x; break; }
  case EL_U32: { uint32_t x; memcpy(&x, p, 4); v.u = x; break; }
  case EL_U64: memcpy(&v.u, p, 8); break;
  case EL_F16: { uint16_t x; memcpy(&x, p, 2); v.f = half_to_double(x); break; }
  case EL_F32: { float x; memcpy(&x, p, 4); v.f = x; break; }
  case EL_F64: memcpy(&v.f, p, 8); break;
  case EL_BF16: { uint16_t x; memcpy(&x, p, 2); v.f = bf16_to_float(x); break; }
  default: break;
  }
  return v;
}

/* ---- leaves ---- */

static void *scalar_slot(Ctx *c, const void *bytes, size_t n) {
  uint64_t *cell = scratch_alloc(&c->ca->scratch, 8);
  memcpy(cell, bytes, n < 8 ? n : 8);
  return cell;
}

CallSlot *last_slot(Ctx *c) { return &c->ca->info[c->slot - 1]; }

bool put_array(Ctx *c, ArgSpec *s, const Where *w, Elem e, int rank, int64_t *dims, void *ptr,
               bool readonly, bool device) {
  int64_t bytes = elem_size(e);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0 || __builtin_mul_overflow(bytes, dims[i], &bytes))
      return arg_error(DIAG_VALUE, w, " has the shape entry %lld, which is %s",
                       (long long)dims[i], dims[i] < 0 ? "negative" : "too large");
  s->kind = ARG_ARRAY;
  s->elem = e;
  s->rank = rank;
  s->shape = dims;
  s->readonly = readonly;
  s->device = device;
  CallSlot *info = &c->ca->info[c->slot];
  info->kind = device ? SLOT_DEVICE : SLOT_HOST;
  info->writable = !readonly;
  info->device = -1;
  info->bytes = (size_t)bytes;
  info->param = w->param;
  info->key = w->key;
  if (device)
    c->ca->ndevice++;
  else
    c->ca->nhost++;
  c->ca->slots[c->slot++] = ptr;
  return true;
}

/* The value of a 0-d array in GPU memory, copied out after the work queued
 * before (which may be what computes it). */
static bool read_device(const Where *w, const void *ptr, size_t n, void *out) {
  const char *e;
  Py_BEGIN_ALLOW_THREADS
  e = rt_cuda_to_host(out, ptr, n);
  Py_END_ALLOW_THREADS
  if (e)
    return arg_error(DIAG_RUNTIME, w, " is a 0-d array in GPU memory, and reading its value "
                     "failed: %s", e);
  return true;
}

bool put_scalar(Ctx *c, ArgSpec *s, const Where *w, Elem e, const void *ptr, bool device) {
  uint64_t cell = 0;
  size_t n = (size_t)elem_size(e);
  if (!ptr)
    return arg_error(DIAG_TYPE, w, " has a NULL data pointer");
  if (c->zero_d) /* t[()] += x[i]: the array itself, which the function may write */
    return put_array(c, s, w, e, 0, NULL, (void *)ptr, c->readonly, device);
  if (device) {
    if (!read_device(w, ptr, n, &cell))
      return false;
    ptr = &cell;
  }
  s->kind = ARG_SCALAR;
  s->elem = e;
  s->val = read_value(ptr, e);
  c->ca->slots[c->slot++] = scalar_slot(c, ptr, n);
  return true;
}

int strides_contiguous(PyObject *strides, const int64_t *dims, int rank, int64_t itemsize) {
  if (strides == Py_None)
    return 1;
  for (int i = 0; i < rank; i++)
    if (dims[i] == 0)
      return 1; /* no element to lay out */
  if (!PyTuple_Check(strides) || PyTuple_GET_SIZE(strides) != rank)
    return 0;
  /* Contiguous row-major strides are accepted even when spelled out; the
   * stride of an extent-1 dimension does not matter. */
  int64_t want = itemsize;
  for (int i = rank - 1; i >= 0; i--) {
    long long st = PyLong_AsLongLong(PyTuple_GET_ITEM(strides, i));
    if (st == -1 && PyErr_Occurred())
      return -1;
    if (dims[i] > 1 && st != want)
      return 0;
    if (dims[i] > 0 && __builtin_mul_overflow(want, dims[i], &want))
      return 1; /* put_array rejects the shape */
  }
  return 1;
}

bool read_shape(Ctx *c, PyObject *shape, const Where *w, const char *what, int *rank,
                int64_t **dims) {
  if (!PyTuple_Check(shape))
    return arg_error(DIAG_TYPE, w, " has a %s whose shape is %s, not a tuple", what,
                     Py_TYPE(shape)->tp_name);
  int r = (int)PyTuple_GET_SIZE(shape);
  int64_t *d = scratch_alloc(&c->ca->scratch, sizeof(int64_t) * (size_t)(r ? r : 1));
  for (int i = 0; i < r; i++) {
    PyObject *v = PyTuple_GET_ITEM(shape, i);
    if (!PyLong_Check(v))
      return arg_error(DIAG_TYPE, w, " has a %s whose shape holds %s, not an int", what,
                       Py_TYPE(v)->tp_name);
    if ((d[i] = PyLong_AsLongLong(v)) == -1 && PyErr_Occurred())
      return false;
  }
  *rank = r;
  *dims = d;
  return true;
}

/* ---- host arrays: the buffer protocol and __array_interface__ ---- */

/* NumPy's datetime64 and timedelta64 scalars export their 8 bytes as
 * unsigned bytes ("B"); so may other objects with a non-numeric dtype.  An
 * object reporting a dtype must be uint8 for that format to be believed
 * (bytes, bytearray and friends have none). */
static bool is_really_bytes(PyObject *obj) {
  PyObject *dt = PyObject_GetAttrString(obj, "dtype");
  if (!dt) {
    PyErr_Clear();
    return true;
  }
  PyObject *kind = PyObject_GetAttrString(dt, "kind");
  PyErr_Clear();
  bool ok = !kind || (PyUnicode_Check(kind) && PyUnicode_CompareWithASCIIString(kind, "u") == 0);
  Py_XDECREF(kind);
  Py_DECREF(dt);
  return ok;
}

/* Through the buffer protocol.  An exporter may refuse (NumPy does for
 * datetimes): then *refused is set and the caller tries other ways. */
static bool classify_buffer(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w, bool *refused) {
  Py_buffer *view = &c->ca->views[c->ca->nviews];
  if (PyObject_GetBuffer(obj, view, PyBUF_RECORDS_RO) < 0) {
    PyErr_Clear();
    *refused = true;
    return false;
  }
  c->ca->nviews++;
  int e = elem_of_format(view->format, view->itemsize);
  if (e < 0 || (e == EL_U8 && !is_really_bytes(obj)))
    return dtype_error(w, obj, view->format);
  if (view->ndim == 0) {
    c->readonly = view->readonly;
    return put_scalar(c, s, w, (Elem)e, view->buf, false);
  }
  if (!PyBuffer_IsContiguous(view, 'C'))
    return arg_error(DIAG_VALUE, w, " is not contiguous; pass numpy.ascontiguousarray(%s)",
                     arg_name(w));
  int64_t *dims = scratch_alloc(&c->ca->scratch, sizeof(int64_t) * (size_t)view->ndim);
  for (int i = 0; i < view->ndim; i++)
    dims[i] = view->shape ? view->shape[i] : view->len / view->itemsize;
  return put_array(c, s, w, (Elem)e, view->ndim, dims, view->buf, view->readonly, false);
}

static PyObject *iface_get(PyObject *d, const char *key) {
  return PyDict_Check(d) ? PyDict_GetItemString(d, key) : NULL;
}

/* Objects with __array_interface__ but no buffer protocol. */
static bool classify_iface(Ctx *c, PyObject *obj, PyObject *iface, ArgSpec *s, const Where *w) {
  PyObject *typestr = iface_get(iface, "typestr"), *shape = iface_get(iface, "shape");
  PyObject *data = iface_get(iface, "data"), *strides = iface_get(iface, "strides");
  if (!typestr || !PyUnicode_Check(typestr) || !shape || !PyTuple_Check(shape) || !data ||
      !PyTuple_Check(data) || PyTuple_GET_SIZE(data) != 2)
    return arg_error(DIAG_TYPE, w, " (%s) has an __array_interface__ without typestr, shape and "
                     "a (pointer, read-only) data pair", Py_TYPE(obj)->tp_name);
  const char *ts = PyUnicode_AsUTF8(typestr);
  if (!ts)
    return false;
  int e = elem_of_iface(obj, ts);
  if (e < 0)
    return dtype_error(w, obj, ts);
  void *ptr = PyLong_AsVoidPtr(PyTuple_GET_ITEM(data, 0));
  int ro = PyObject_IsTrue(PyTuple_GET_ITEM(data, 1));
  if (PyErr_Occurred())
    return false;
  int rank;
  int64_t *dims;
  if (!read_shape(c, shape, w, "__array_interface__", &rank, &dims))
    return false;
  int contiguous = strides_contiguous(strides ? strides : Py_None, dims, rank, elem_size((Elem)e));
  if (contiguous < 0)
    return false;
  if (!contiguous)
    return arg_error(DIAG_VALUE, w, " is not contiguous; pass numpy.ascontiguousarray(%s)",
                     arg_name(w));
  if (rank == 0) {
    c->readonly = ro;
    return put_scalar(c, s, w, (Elem)e, ptr, false);
  }
  return put_array(c, s, w, (Elem)e, rank, dims, ptr, ro, false);
}

/* ---- parpy buffers ---- */

/* The memory is used in place on either backend: no interface to read, no
 * copy.  Which backend may take it is call.c's business (info->buffer). */
static bool classify_parpy_buffer(Ctx *c, const BufferObject *b, ArgSpec *s, const Where *w) {
  bool gpu = b->backend == BACKEND_CUDA;
  if (b->rank == 0) {
    c->readonly = b->readonly;
    return put_scalar(c, s, w, b->elem, b->data, gpu);
  }
  if (!put_array(c, s, w, b->elem, b->rank, b->dims, b->data, b->readonly, gpu))
    return false;
  CallSlot *info = last_slot(c);
  info->buffer = true;
  info->device = gpu ? b->device : -1;
  if (!gpu)
    c->ca->nhostbufs++;
  return true;
}

/* ---- Python scalars ---- */

static bool classify_int(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
  if (v == -1 && PyErr_Occurred())
    return false;
  if (overflow) {
    PyObject *r = PyObject_Repr(obj);
    const char *rs = r ? PyUnicode_AsUTF8(r) : NULL;
    PyErr_Clear();
    arg_error(DIAG_VALUE, w, " is %s, which does not fit in a 64-bit signed integer",
              rs ? rs : "too large");
    Py_XDECREF(r);
    return false;
  }
  s->kind = ARG_INT;
  s->val = (Value){.elem = EL_I64, .i = v};
  c->ca->slots[c->slot++] = scalar_slot(c, &s->val.i, 8);
  return true;
}

static bool classify_float(Ctx *c, PyObject *obj, ArgSpec *s) {
  double v = PyFloat_AsDouble(obj);
  if (v == -1.0 && PyErr_Occurred())
    return false;
  s->kind = ARG_FLOAT;
  s->val = (Value){.elem = EL_F64, .f = v};
  c->ca->slots[c->slot++] = scalar_slot(c, &s->val.f, 8);
  return true;
}

static bool classify_value(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w);

typedef struct Field {
  const char *key;
  PyObject *value;
} Field;

static int field_cmp(const void *a, const void *b) {
  return strcmp(((const Field *)a)->key, ((const Field *)b)->key);
}

static bool classify_dict(Ctx *c, PyObject *d, ArgSpec *s, const Where *w) {
  Py_ssize_t n = PyDict_GET_SIZE(d), pos = 0, i = 0;
  /* The dict's size was counted before classifying; Python code run since
   * (an __array_interface__ property) could have changed it. */
  if (c->slot + n > c->cap)
    return arg_error(DIAG_RUNTIME, w, " changed size during the call");
  Field *fs = scratch_alloc(&c->ca->scratch, sizeof(Field) * (size_t)(n ? n : 1));
  PyObject *k, *v;
  while (PyDict_Next(d, &pos, &k, &v)) {
    if (i >= n) /* cannot happen: PyDict_Next runs no Python code */
      return arg_error(DIAG_RUNTIME, w, " changed size during the call");
    if (!PyUnicode_Check(k)) {
      PyObject *r = PyObject_Repr(k);
      const char *rs = r ? PyUnicode_AsUTF8(r) : NULL;
      PyErr_Clear();
      arg_error(DIAG_TYPE_RT, w, " is a dict with the key %s of type %s; dict keys must be str",
                rs ? rs : "?", Py_TYPE(k)->tp_name);
      Py_XDECREF(r);
      return false;
    }
    if (!(fs[i].key = PyUnicode_AsUTF8(k)))
      return false;
    /* Hold key and value: classifying a value may run Python code (an
     * __array_interface__ property) that changes the dict. */
    Py_INCREF(k);
    c->ca->refs[c->ca->nrefs++] = k;
    Py_INCREF(v);
    c->ca->refs[c->ca->nrefs++] = v;
    fs[i++].value = v;
  }
  qsort(fs, (size_t)i, sizeof(Field), field_cmp);
  s->kind = ARG_DICT;
  s->nfields = (int)i;
  s->keys = scratch_alloc(&c->ca->scratch, sizeof(char *) * (size_t)(i ? i : 1));
  s->fields = scratch_alloc(&c->ca->scratch, sizeof(ArgSpec) * (size_t)(i ? i : 1));
  for (Py_ssize_t j = 0; j < i; j++) {
    Where fw = {w->fname, w->param, fs[j].key};
    s->keys[j] = fs[j].key;
    if (PyDict_Check(fs[j].value))
      return arg_error(DIAG_TYPE_RT, &fw, " is a dict; nested dictionary arguments are not supported");
    if (!classify_value(c, fs[j].value, &s->fields[j], &fw))
      return false;
  }
  return true;
}

static bool classify_value(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w) {
  PyTypeObject *t = Py_TYPE(obj);
  if (PyObject_TypeCheck(obj, &BufferType))
    return classify_parpy_buffer(c, (const BufferObject *)obj, s, w);
  if (t == &PyBool_Type) {
    s->kind = ARG_BOOL;
    s->val = (Value){.elem = EL_BOOL, .b = obj == Py_True};
    uint64_t one = obj == Py_True;
    c->ca->slots[c->slot++] = scalar_slot(c, &one, 8);
    return true;
  }
  if (t == &PyLong_Type)
    return classify_int(c, obj, s, w);
  if (t == &PyFloat_Type)
    return classify_float(c, obj, s);
  bool refused = false;
  if (PyObject_CheckBuffer(obj)) {
    bool ok = classify_buffer(c, obj, s, w, &refused);
    if (ok || !refused)
      return ok;
  }
  if (!refused && PyDict_Check(obj))
    return classify_dict(c, obj, s, w);
  int r = classify_torch(c, obj, s, w);
  if (r != 0)
    return r > 0;
  /* The interfaces, GPU first: an object offering several describes the
   * same memory through each. */
  PyObject *const names[] = {str_cai, str_ai, str_dlpack};
  for (size_t i = 0; i < PP_COUNT(names); i++) {
    PyObject *iface;
    int found = lookup_attr(obj, names[i], &iface);
    if (found < 0)
      return false;
    if (!found)
      continue;
    bool ok = i == 0   ? classify_cai(c, obj, iface, s, w)
              : i == 1 ? classify_iface(c, obj, iface, s, w)
                       : classify_dlpack(c, obj, iface, s, w);
    Py_DECREF(iface);
    return ok;
  }
  if (refused)
    return arg_error(DIAG_TYPE, w, " (%s) does not expose its memory (buffer protocol)",
                     t->tp_name);
  /* Subclasses of Python scalars (IntEnum, ...) are still weak scalars. */
  if (PyLong_Check(obj))
    return classify_int(c, obj, s, w);
  if (PyFloat_Check(obj))
    return classify_float(c, obj, s);
  s->kind = ARG_OPAQUE;
  s->what = t->tp_name;
  c->ca->slots[c->slot++] = NULL;
  return true;
}

bool args_classify(CallArgs *ca, PyObject *const *args, int n, const char *fname,
                   const char *const *names) {
  /* Every leaf takes one slot and at most one buffer view. */
  int leaves = 0;
  for (int i = 0; i < n; i++)
    leaves += PyDict_Check(args[i]) ? (int)PyDict_GET_SIZE(args[i]) : 1;
  ca->n = n;
  ca->specs = scratch_alloc(&ca->scratch, sizeof(ArgSpec) * (size_t)(n ? n : 1));
  ca->slots = scratch_alloc(&ca->scratch, sizeof(void *) * (size_t)(leaves ? leaves : 1));
  ca->views = scratch_alloc(&ca->scratch, sizeof(Py_buffer) * (size_t)(leaves ? leaves : 1));
  ca->refs = scratch_alloc(&ca->scratch, sizeof(PyObject *) * (size_t)(2 * leaves + 1));
  ca->mps = scratch_alloc(&ca->scratch, sizeof(PyObject *) * (size_t)(2 * leaves + 1));
  ca->info = scratch_alloc(&ca->scratch, sizeof(CallSlot) * (size_t)(leaves ? leaves : 1));
  Ctx c = {ca, 0, leaves};
  for (int i = 0; i < n; i++) {
    Where w = {fname, names && names[i] ? names[i] : "?", NULL};
    c.zero_d = ca->params && ca->params[i].zero_d;
    c.readonly = false;
    if (c.slot >= c.cap && !PyDict_Check(args[i]))
      return arg_error(DIAG_RUNTIME, &w, " changed during the call");
    if (!classify_value(&c, args[i], &ca->specs[i], &w))
      return false;
  }
  ca->nslots = c.slot;
  return true;
}

/* ---- copying into the compiler's arena ---- */

static void copy_spec(Arena *a, ArgSpec *dst, const ArgSpec *src) {
  *dst = *src;
  if (src->kind == ARG_ARRAY) {
    dst->shape = ARENA_ARRAY(a, int64_t, src->rank ? src->rank : 1);
    if (src->rank) /* a 0-d array's shape may be NULL */
      memcpy(dst->shape, src->shape, sizeof(int64_t) * (size_t)src->rank);
  } else if (src->kind == ARG_DICT) {
    dst->keys = ARENA_ARRAY(a, const char *, src->nfields ? src->nfields : 1);
    dst->fields = ARENA_ARRAY(a, ArgSpec, src->nfields ? src->nfields : 1);
    for (int i = 0; i < src->nfields; i++) {
      dst->keys[i] = intern(src->keys[i]);
      copy_spec(a, &dst->fields[i], &src->fields[i]);
    }
  } else if (src->kind == ARG_OPAQUE && src->what) {
    dst->what = arena_strdup(a, src->what);
  }
}

ArgSpec *args_copy(Arena *a, const ArgSpec *specs, int n) {
  ArgSpec *out = ARENA_ARRAY(a, ArgSpec, n ? n : 1);
  for (int i = 0; i < n; i++)
    copy_spec(a, &out[i], &specs[i]);
  return out;
}
