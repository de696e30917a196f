/* handle.c - FuncHandle: the Python object owning one decorated function's
 * tree (a Func), and _core.parse, which makes it.
 *
 * The Python layer reads the source and calls ast.parse; we hand the
 * FunctionDef to the front end.  Later the Python layer looks up the free
 * names the front end collected (handle.globals()) and gives us what they
 * are (handle.set_globals()); from then on the Func is self-contained, and
 * constants are frozen, as in Numba. */
#include "module.h"

/* Annotation codes shared with parpy/_source.py: -1 none, 0..11 an ElemSize
 * (a strong scalar), 0x100 | code a parpy.types.pointer. */
enum { ANNOT_NONE = -1, ANNOT_POINTER = 0x100 };

static bool annot_type(Arena *a, long code, Type **out) {
  *out = NULL;
  if (code == ANNOT_NONE)
    return true;
  long e = code & 0xff;
  if (e < 0 || e >= EL_COUNT || (code & ~(long)(0xff | ANNOT_POINTER)) != 0) {
    PyErr_Format(PyExc_ValueError, "invalid annotation code %ld", code);
    return false;
  }
  if (code & ANNOT_POINTER) {
    Type *t = ARENA_NEW(a, Type);
    t->kind = TY_POINTER;
    t->elem = (Elem)e;
    *out = t;
  } else {
    *out = type_scalar(a, (Elem)e, false);
  }
  return true;
}

static bool set_annotations(Func *f, PyObject *params, PyObject *ret) {
  if (!PyDict_Check(params)) {
    PyErr_SetString(PyExc_TypeError, "param_annots must be a dict name -> code");
    return false;
  }
  for (int i = 0; i < f->nparams; i++) {
    PyObject *code = f->params[i].name ? PyDict_GetItemString(params, f->params[i].name) : NULL;
    if (!code)
      continue;
    long c = PyLong_AsLong(code);
    if (c == -1 && PyErr_Occurred())
      return false;
    if (!annot_type(&f->arena, c, &f->params[i].annot))
      return false;
  }
  long c = ret == Py_None ? ANNOT_NONE : PyLong_AsLong(ret);
  if (c == -1 && PyErr_Occurred())
    return false;
  return annot_type(&f->arena, c, &f->ret_annot);
}

static HandleObject *handle_new(Func *f) {
  HandleObject *h = PyObject_GC_New(HandleObject, &HandleType);
  if (!h) {
    func_free(f);
    return NULL;
  }
  h->func = f;
  h->scalars = NULL;
  h->names = ARENA_ARRAY(&f->arena, const char *, f->nparams ? f->nparams : 1);
  for (int i = 0; i < f->nparams; i++)
    h->names[i] = f->params[i].name ? f->params[i].name : "?";
  h->refs = PyList_New(0);
  PyObject_GC_Track(h);
  if (!h->refs) {
    Py_DECREF(h);
    return NULL;
  }
  return h;
}

/* parse(fndef, file, text, line_off, col_off, name, param_annots, ret_annot) */
PyObject *mod_parse(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *fndef, *file, *text, *name, *params, *ret;
  int line_off, col_off;
  if (!PyArg_ParseTuple(args, "OOOiiOOO:parse", &fndef, &file, &text, &line_off, &col_off, &name,
                        &params, &ret))
    return NULL;
  const char *cfile = "<unknown>", *ctext = NULL;
  if (file != Py_None && !(cfile = PyUnicode_AsUTF8(file)))
    return NULL;
  if (text != Py_None && !(ctext = PyUnicode_AsUTF8(text)))
    return NULL;
  Diag d = {0};
  Arena da;
  arena_init(&da);
  Func *f = front_parse(fndef, cfile, ctext, line_off, col_off, &d, &da);
  if (!f) {
    if (!PyErr_Occurred()) {
      if (d.kind == DIAG_NONE)
        diag_error(&d, &da, DIAG_INTERNAL, (Span){0}, "the front end failed without a message");
      raise_diag(&d);
    }
    arena_free(&da);
    return NULL;
  }
  arena_free(&da);
  HandleObject *h = handle_new(f);
  if (!h)
    return NULL;
  /* The front end may keep pointers into these strings: keep them alive. */
  if (PyList_Append(h->refs, file) < 0 || PyList_Append(h->refs, text) < 0)
    goto fail;
  if (!f->src.func && PyUnicode_Check(name)) {
    const char *n = PyUnicode_AsUTF8(name);
    if (!n)
      goto fail;
    f->src.func = arena_strdup(&f->arena, n);
  }
  if (!set_annotations(f, params, ret))
    goto fail;
  return (PyObject *)h;
fail:
  Py_DECREF(h);
  return NULL;
}

/* ---- set_globals: what each free name turned out to be ---- */

static bool value_from_py(PyObject *o, int elem, Value *v, bool *weak) {
  *weak = elem < 0;
  if (elem < 0)
    elem = PyBool_Check(o) ? EL_BOOL : PyFloat_Check(o) ? EL_F64 : EL_I64;
  if (elem >= EL_COUNT) {
    PyErr_Format(PyExc_ValueError, "invalid element code %d", elem);
    return false;
  }
  v->elem = (Elem)elem;
  if (elem == EL_BOOL) {
    int t = PyObject_IsTrue(o);
    v->b = t > 0;
    return t >= 0;
  }
  if (elem_is_float((Elem)elem)) {
    v->f = PyFloat_AsDouble(o);
    return !(v->f == -1.0 && PyErr_Occurred());
  }
  if (elem_is_unsigned((Elem)elem)) {
    v->u = PyLong_AsUnsignedLongLong(o);
    return !(v->u == (uint64_t)-1 && PyErr_Occurred());
  }
  v->i = PyLong_AsLongLong(o);
  return !(v->i == -1 && PyErr_Occurred());
}

static const char *str_in(Arena *a, PyObject *o) {
  if (o == Py_None)
    return NULL;
  const char *s = PyUnicode_AsUTF8(o);
  return s ? arena_strdup(a, s) : NULL;
}

/* ("extern", name, ext_name, backend, device, header, (nthreads, reduce, tpb),
 *  [param codes], ret code) */
static bool extern_from_py(Arena *a, PyObject *t, Extern **out) {
  PyObject *name, *ext_name, *header, *par, *params, *ret, *tag;
  int backend, device;
  long long nthreads, tpb;
  int reduce;
  if (!PyArg_ParseTuple(t, "OOOipOOOO", &tag, &name, &ext_name, &backend, &device, &header, &par,
                        &params, &ret))
    return false;
  if (!PyArg_ParseTuple(par, "LpL", &nthreads, &reduce, &tpb))
    return false;
  Extern *e = ARENA_NEW(a, Extern);
  if (!(e->name = str_in(a, name)) || !(e->ext_name = str_in(a, ext_name)))
    return false;
  if (header != Py_None && !(e->header = str_in(a, header)))
    return false;
  e->backend = (Backend)backend;
  e->device = device;
  e->par = (LoopPar){nthreads, reduce, tpb};
  PyObject *seq = PySequence_Fast(params, "extern parameter codes must be a sequence");
  if (!seq)
    return false;
  e->nparams = (int)PySequence_Fast_GET_SIZE(seq);
  e->params = ARENA_ARRAY(a, Type *, e->nparams ? e->nparams : 1);
  for (int i = 0; i < e->nparams; i++) {
    long c = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    if ((c == -1 && PyErr_Occurred()) || !annot_type(a, c, &e->params[i])) {
      Py_DECREF(seq);
      return false;
    }
  }
  Py_DECREF(seq);
  long rc = ret == Py_None ? ANNOT_NONE : PyLong_AsLong(ret);
  if (rc == -1 && PyErr_Occurred())
    return false;
  if (!annot_type(a, rc, &e->ret))
    return false;
  *out = e;
  return true;
}

static bool kind_is(PyObject *tag, const char *s) {
  return PyUnicode_Check(tag) && PyUnicode_CompareWithASCIIString(tag, s) == 0;
}

static bool resolved_from_py(HandleObject *h, PyObject *t, Resolved *r) {
  Arena *a = &h->func->arena;
  Py_ssize_t n = PyTuple_Check(t) ? PyTuple_GET_SIZE(t) : 0;
  if (n < 1) {
    PyErr_SetString(PyExc_TypeError, "set_globals expects a list of tuples");
    return false;
  }
  PyObject *tag = PyTuple_GET_ITEM(t, 0);
  *r = (Resolved){0};
  if (kind_is(tag, "builtin")) {
    int code, elem, weak;
    PyObject *tg;
    if (!PyArg_ParseTuple(t, "Oiip", &tg, &code, &elem, &weak))
      return false;
    if (code <= B_NONE || code >= B_COUNT || elem >= EL_COUNT) {
      PyErr_Format(PyExc_ValueError, "invalid builtin code %d", code);
      return false;
    }
    r->kind = GK_BUILTIN;
    r->builtin = (Builtin)code;
    r->elem = elem < 0 ? EL_BOOL : (Elem)elem;
    r->weak_result = weak;
    return true;
  }
  if (kind_is(tag, "const")) {
    if (n != 2 && n != 3) {
      PyErr_SetString(PyExc_TypeError, "('const', value[, elem]) expected");
      return false;
    }
    int elem = -1;
    if (n == 3 && (elem = (int)PyLong_AsLong(PyTuple_GET_ITEM(t, 2))) == -1 && PyErr_Occurred())
      return false;
    r->kind = GK_CONST;
    return value_from_py(PyTuple_GET_ITEM(t, 1), elem, &r->val, &r->weak);
  }
  if (kind_is(tag, "func")) {
    PyObject *other = n == 2 ? PyTuple_GET_ITEM(t, 1) : NULL;
    if (!other || !PyObject_TypeCheck(other, &HandleType)) {
      PyErr_SetString(PyExc_TypeError, "('func', FuncHandle) expected");
      return false;
    }
    if (PyList_Append(h->refs, other) < 0)
      return false;
    r->kind = GK_FUNC;
    r->func = ((HandleObject *)other)->func;
    return true;
  }
  if (kind_is(tag, "type")) {
    int code;
    PyObject *tg;
    if (!PyArg_ParseTuple(t, "Oi", &tg, &code))
      return false;
    if (code < 0 || code >= EL_COUNT) {
      PyErr_Format(PyExc_ValueError, "invalid element code %d", code);
      return false;
    }
    r->kind = GK_TYPE;
    r->elem = (Elem)code;
    return true;
  }
  if (kind_is(tag, "extern")) {
    r->kind = GK_EXTERN;
    return extern_from_py(a, t, &r->ext);
  }
  bool undef = kind_is(tag, "undefined");
  if (undef || kind_is(tag, "other")) {
    const char *what = n == 2 ? str_in(a, PyTuple_GET_ITEM(t, 1)) : NULL;
    if (!what) {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "(kind, str) expected");
      return false;
    }
    r->kind = undef ? GK_UNDEFINED : GK_OTHER;
    r->what = what;
    return true;
  }
  PyErr_SetString(PyExc_ValueError, "unknown kind of global");
  return false;
}

static PyObject *handle_set_globals(HandleObject *h, PyObject *list) {
  Func *f = h->func;
  PyObject *seq = PySequence_Fast(list, "set_globals expects a list");
  if (!seq)
    return NULL;
  if (PySequence_Fast_GET_SIZE(seq) != f->nglobals) {
    PyErr_Format(PyExc_ValueError, "set_globals: %d globals expected, got %zd", f->nglobals,
                 PySequence_Fast_GET_SIZE(seq));
    Py_DECREF(seq);
    return NULL;
  }
  /* Fill a copy first, so that a bad entry leaves the Func unresolved. */
  Resolved *rs = ARENA_ARRAY(&f->arena, Resolved, f->nglobals ? f->nglobals : 1);
  for (int i = 0; i < f->nglobals; i++)
    if (!resolved_from_py(h, PySequence_Fast_GET_ITEM(seq, i), &rs[i])) {
      Py_DECREF(seq);
      return NULL;
    }
  Py_DECREF(seq);
  for (int i = 0; i < f->nglobals; i++)
    f->globals[i].res = rs[i];
  f->resolved = true;
  Py_RETURN_NONE;
}

static PyObject *handle_globals(HandleObject *h, PyObject *unused) {
  (void)unused;
  Func *f = h->func;
  PyObject *list = PyList_New(f->nglobals);
  for (int i = 0; list && i < f->nglobals; i++) {
    PyObject *s = PyUnicode_FromString(f->globals[i].chain ? f->globals[i].chain : "");
    if (!s) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, i, s);
  }
  return list;
}

static PyObject *handle_get_name(HandleObject *h, void *unused) {
  (void)unused;
  return PyUnicode_FromString(h->func->name ? h->func->name : "?");
}

static PyObject *handle_get_resolved(HandleObject *h, void *unused) {
  (void)unused;
  return PyBool_FromLong(h->func->resolved);
}

static PyObject *handle_get_params(HandleObject *h, void *unused) {
  (void)unused;
  Func *f = h->func;
  PyObject *t = PyTuple_New(f->nparams);
  for (int i = 0; t && i < f->nparams; i++) {
    PyObject *s = PyUnicode_FromString(f->params[i].name ? f->params[i].name : "?");
    if (!s) {
      Py_CLEAR(t);
      break;
    }
    PyTuple_SET_ITEM(t, i, s);
  }
  return t;
}

static int handle_traverse(HandleObject *h, visitproc visit, void *arg) {
  Py_VISIT(h->refs);
  return 0;
}

static int handle_clear(HandleObject *h) {
  Py_CLEAR(h->refs);
  return 0;
}

static void handle_dealloc(HandleObject *h) {
  PyObject_GC_UnTrack(h);
  handle_clear(h);
  if (h->func)
    func_free(h->func);
  PyMem_Free(h->scalars);
  PyObject_GC_Del(h);
}

static PyObject *handle_repr(HandleObject *h) {
  return PyUnicode_FromFormat("<parpy FuncHandle %s>", h->func->name ? h->func->name : "?");
}

static PyMethodDef handle_methods[] = {
    {"globals", (PyCFunction)handle_globals, METH_NOARGS,
     "The free names (dotted chains) the function refers to."},
    {"set_globals", (PyCFunction)handle_set_globals, METH_O,
     "Record what each free name resolved to (list of tuples, same order)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef handle_getset[] = {
    {"name", (getter)handle_get_name, NULL, "the function's name", NULL},
    {"resolved", (getter)handle_get_resolved, NULL, "whether set_globals ran", NULL},
    {"params", (getter)handle_get_params, NULL, "parameter names", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject HandleType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parpy._core.FuncHandle",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The parsed tree of one @parpy.jit function.",
    .tp_dealloc = (destructor)handle_dealloc,
    .tp_traverse = (traverseproc)handle_traverse,
    .tp_clear = (inquiry)handle_clear,
    .tp_repr = (reprfunc)handle_repr,
    .tp_methods = handle_methods,
    .tp_getset = handle_getset,
};
