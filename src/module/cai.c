/* cai.c - arrays described by __cuda_array_interface__ (CuPy, Numba, and
 * any other GPU library), versions 2 and 3.
 *
 * The data stays where it is: its pointer goes into the slot as is.  The
 * interface does not say which device the memory is on, so call.c has the
 * runtime check the pointer before a Cuda call (a kernel given another
 * device's memory, or host memory, would fault and poison the context). */
#include "args.h"

/* The interface's keys, interned once: PyDict_GetItemString makes a new
 * string at every lookup, half of the time we spend on a dict that the
 * producer (CuPy) already takes microseconds to build (issue 14 item 5). */
static PyObject *get(PyObject *d, const char *key) {
  static const char *const names[] = {"version", "data", "stream", "typestr",
                                      "shape",   "strides", "mask"};
  static PyObject *keys[PP_COUNT(names)];
  for (size_t i = 0; i < PP_COUNT(names); i++)
    if (strcmp(names[i], key) == 0) {
      if (!keys[i] && !(keys[i] = PyUnicode_InternFromString(key)))
        return NULL; /* out of memory: reported as a missing key */
      PyObject *v = PyDict_GetItemWithError(d, keys[i]);
      if (!v)
        PyErr_Clear(); /* a key of another type than str failing to compare */
      return v;
    }
  return PyDict_GetItemString(d, key);
}

/* The interface's version: 2 and 3 describe the same layout (3 adds
 * `stream`); 0 and 1 are from 2018 and have no producers left. */
static bool check_version(PyObject *cai, const Where *w) {
  PyObject *v = get(cai, "version");
  if (!v)
    return arg_error(DIAG_TYPE, w, " has a __cuda_array_interface__ without a 'version'");
  long version = PyLong_Check(v) ? PyLong_AsLong(v) : -1;
  if (version == -1 && PyErr_Occurred())
    return false;
  if (version != 2 && version != 3)
    return arg_error(DIAG_TYPE, w, " has a __cuda_array_interface__ of version %ld; ParPy reads "
                     "versions 2 and 3", version);
  return true;
}

/* (pointer, read-only) */
static bool read_data(PyObject *cai, const Where *w, void **ptr, bool *readonly) {
  PyObject *data = get(cai, "data");
  if (!data || !PyTuple_Check(data) || PyTuple_GET_SIZE(data) != 2 ||
      !PyLong_Check(PyTuple_GET_ITEM(data, 0)))
    return arg_error(DIAG_TYPE, w, " has a __cuda_array_interface__ whose 'data' is not a "
                     "(pointer, read-only) pair");
  *ptr = PyLong_AsVoidPtr(PyTuple_GET_ITEM(data, 0));
  int ro = PyObject_IsTrue(PyTuple_GET_ITEM(data, 1));
  if (PyErr_Occurred())
    return false;
  *readonly = ro;
  return true;
}

/* Version 3's stream: work queued on it must come before ours. */
static bool read_stream(PyObject *cai, const Where *w, uintptr_t *stream) {
  PyObject *st = get(cai, "stream");
  *stream = 0;
  if (!st || st == Py_None)
    return true;
  if (!PyLong_Check(st))
    return arg_error(DIAG_TYPE, w, " has a __cuda_array_interface__ whose 'stream' is %s, not "
                     "an int", Py_TYPE(st)->tp_name);
  *stream = (uintptr_t)PyLong_AsUnsignedLongLongMask(st);
  return !PyErr_Occurred();
}

bool classify_cai(Ctx *c, PyObject *obj, PyObject *cai, ArgSpec *s, const Where *w) {
  if (!PyDict_Check(cai))
    return arg_error(DIAG_TYPE, w, " (%s) has a __cuda_array_interface__ that is a %s, not a "
                     "dict", Py_TYPE(obj)->tp_name, Py_TYPE(cai)->tp_name);
  if (!check_version(cai, w))
    return false;
  PyObject *typestr = get(cai, "typestr"), *shape = get(cai, "shape");
  PyObject *strides = get(cai, "strides"), *mask = get(cai, "mask");
  if (!typestr || !PyUnicode_Check(typestr) || !shape)
    return arg_error(DIAG_TYPE, w, " has a __cuda_array_interface__ without a typestr and a "
                     "shape");
  if (mask && mask != Py_None)
    return arg_error(DIAG_TYPE, w, " is a masked array (its __cuda_array_interface__ has a "
                     "'mask'), which ParPy does not support");
  const char *ts = PyUnicode_AsUTF8(typestr);
  if (!ts)
    return false;
  int e = elem_of_iface(obj, ts);
  if (e < 0)
    return dtype_error(w, obj, ts);
  void *ptr = NULL;
  bool readonly = false;
  int rank = 0;
  int64_t *dims = NULL;
  uintptr_t stream = 0;
  if (!read_data(cai, w, &ptr, &readonly) ||
      !read_shape(c, shape, w, "__cuda_array_interface__", &rank, &dims) ||
      !read_stream(cai, w, &stream))
    return false;
  int contiguous = strides_contiguous(strides ? strides : Py_None, dims, rank, elem_size((Elem)e));
  if (contiguous < 0)
    return false;
  if (!contiguous)
    return arg_error(DIAG_VALUE, w, " is not contiguous (its __cuda_array_interface__ has "
                     "strides); pass a contiguous copy, such as cupy.ascontiguousarray(%s)",
                     arg_name(w));
  if (rank == 0)
    return put_scalar(c, s, w, (Elem)e, ptr, true);
  if (!put_array(c, s, w, (Elem)e, rank, dims, ptr, readonly, true))
    return false;
  CallSlot *info = last_slot(c);
  info->check_ptr = true;
  info->stream = stream;
  return true;
}
