/* args.h - what the files classifying call arguments share: args.c (Python
 * scalars, buffers, __array_interface__, dicts), cai.c (the CUDA array
 * interface), dlpack.c (DLPack) and torch.c (PyTorch tensors, read through
 * their C-implemented attributes, which is much faster than their Python
 * __cuda_array_interface__ and __dlpack__).  Internal to src/module. */
#ifndef PARPY_MODULE_ARGS_H
#define PARPY_MODULE_ARGS_H

#include "module.h"

/* Where an argument sits, for messages: "argument 'x' of f" or, inside a
 * dict, "field 'k' of argument 'd' of f". */
typedef struct Where {
  const char *fname, *param, *key;
} Where;

typedef struct Ctx {
  CallArgs *ca;
  int slot; /* next slot to fill */
  int cap;  /* slots allocated (leaves counted before classifying) */
  bool zero_d; /* the parameter being classified is indexed with () or ... */
  bool readonly; /* the memory of the 0-d array being classified is read-only */
} Ctx;

void *scratch_alloc(Scratch *s, size_t size); /* zeroed */

/* Raise "<where><message>" as a ParPy exception of `kind`; returns false. */
PP_PRINTF(3, 4) bool arg_error(DiagKind kind, const Where *w, const char *fmt, ...);
/* The argument's own name ("x", or the dict key), for hints like "pass x.contiguous()". */
const char *arg_name(const Where *w);
/* "dtype float32 > big-endian": the object's own dtype name if it has one. */
bool dtype_error(const Where *w, PyObject *obj, const char *fallback);

/* An __array_interface__ typestr such as "<f4", "|b1" -> Elem; -1 otherwise. */
int elem_of_typestr(const char *ts);
/* elem_of_typestr, or EL_BF16 for "<V2" with a dtype named bfloat16 (ml_dtypes). */
int elem_of_iface(PyObject *obj, const char *ts);
/* Row-major contiguity of a strides tuple in bytes: 1 contiguous, 0 not,
 * -1 with an exception (not a tuple of ints of the right length is "not"). */
int strides_contiguous(PyObject *strides, const int64_t *dims, int rank, int64_t itemsize);
/* The extents of a shape tuple into `dims` (scratch); false with an error. */
bool read_shape(Ctx *c, PyObject *shape, const Where *w, const char *what, int *rank,
                int64_t **dims);

/* Record one leaf.  put_array fills the spec, the slot (the data pointer)
 * and the slot's CallSlot (host or device array, size); put_scalar reads
 * the value of a 0-d array, with a device->host copy when it is in GPU
 * memory (the value is part of the specialisation). */
bool put_array(Ctx *c, ArgSpec *s, const Where *w, Elem e, int rank, int64_t *dims, void *ptr,
               bool readonly, bool device);
bool put_scalar(Ctx *c, ArgSpec *s, const Where *w, Elem e, const void *ptr, bool device);
/* The CallSlot of the leaf put_array just recorded. */
CallSlot *last_slot(Ctx *c);

/* getattr without raising AttributeError: 1 found (*out new reference), 0
 * missing, -1 another error. */
int lookup_attr(PyObject *obj, PyObject *name, PyObject **out);

bool classify_cai(Ctx *c, PyObject *obj, PyObject *cai, ArgSpec *s, const Where *w);
bool classify_dlpack(Ctx *c, PyObject *obj, PyObject *dlpack, ArgSpec *s, const Where *w);
/* -1 error, 0 not a torch tensor (or torch not imported), 1 classified. */
int classify_torch(Ctx *c, PyObject *obj, ArgSpec *s, const Where *w);

#endif
