/* jitfn.c - JitFunction, what @parpy.jit returns, and print_compiled.
 *
 * A call is the hot path of the whole package, so it is one C function:
 * read the keywords, classify the arguments, look the specialisation up in
 * the function's own table and call the library's entry with the GIL
 * released.  Only a miss runs the compiler and the native build. */
#include <stddef.h>
#include <string.h>

#include "module.h"

#include <structmember.h>

typedef struct JitObject {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject *pyfunc;
  HandleObject *handle;
  PyObject *dict;
  PyObject *weakrefs;
  MemCache cache;
} JitObject;

static PyObject *resolve_fn, *str_opts, *str_seq, *str_key;

/* While a function runs in the interpreter (seq=True), the jitted functions
 * it calls run in the interpreter too: the body of a jitted function calls
 * other jitted functions without opts, and a helper returns a value only as
 * Python code.  Per thread, as each thread has its own Python stack. */
static _Thread_local int seq_depth;

/* What the interpreter gets for a parpy buffer: the Python function
 * indexes its arrays, so a Cpu buffer becomes the NumPy view of its memory
 * (written in place, as compiled code would); a Cuda buffer's elements are
 * out of the interpreter's reach.  Anything else is passed as it is.  New
 * reference, NULL with an exception. */
static PyObject *seq_value(JitObject *self, PyObject *v, Py_ssize_t i, PyObject *key) {
  if (!PyObject_TypeCheck(v, &BufferType))
    return Py_NewRef(v);
  if (((BufferObject *)v)->backend != BACKEND_CUDA) /* Cpu, Metal: host memory */
    return PyObject_CallMethod(v, "numpy", NULL);
  Func *f = self->handle->func;
  const char *param = i < f->nparams ? self->handle->names[i] : "?";
  const char *k = key ? PyUnicode_AsUTF8(key) : NULL;
  PyErr_Clear();
  return pp_raise(DIAG_TYPE, "%s(..., seq=True) runs in the Python interpreter, which cannot "
                  "read the elements of a Cuda buffer (%s%s%sargument '%s'); pass %s.numpy() "
                  "for a host copy", f->name, k ? "field '" : "", k ? k : "", k ? "' of " : "",
                  param, k ? k : param);
}

/* A dict argument with buffers among its values: a copy with them
 * replaced by seq_value (any other dict is passed as it is). */
static PyObject *seq_dict(JitObject *self, PyObject *d, Py_ssize_t i) {
  PyObject *k, *v;
  Py_ssize_t pos = 0;
  bool any = false;
  while (!any && PyDict_Next(d, &pos, &k, &v))
    any = PyObject_TypeCheck(v, &BufferType);
  if (!any)
    return Py_NewRef(d);
  PyObject *out = PyDict_New();
  pos = 0;
  while (out && PyDict_Next(d, &pos, &k, &v)) {
    PyObject *nv = seq_value(self, v, i, PyUnicode_Check(k) ? k : NULL);
    if (!nv || PyDict_SetItem(out, k, nv) < 0)
      Py_CLEAR(out);
    Py_XDECREF(nv);
  }
  return out;
}

static PyObject *run_python(JitObject *self, PyObject *const *args, Py_ssize_t nargs) {
  PyObject *few[8], **conv = nargs <= 8 ? few : PyMem_Calloc((size_t)nargs, sizeof(PyObject *));
  if (!conv)
    return PyErr_NoMemory();
  Py_ssize_t done = 0;
  PyObject *r = NULL;
  for (; done < nargs; done++)
    if (!(conv[done] = PyDict_Check(args[done]) ? seq_dict(self, args[done], done)
                                                : seq_value(self, args[done], done, NULL)))
      goto out;
  seq_depth++;
  r = PyObject_Vectorcall(self->pyfunc, conv, (size_t)nargs, NULL);
  seq_depth--;
out:
  for (Py_ssize_t i = 0; i < done; i++)
    Py_DECREF(conv[i]);
  if (conv != few)
    PyMem_Free(conv);
  return r;
}

static bool kw_is(PyObject *name, PyObject *interned) {
  return name == interned || PyUnicode_Compare(name, interned) == 0;
}

/* Look the free names up (parpy._resolve), once, on the first compile. */
static bool ensure_resolved(JitObject *self) {
  if (self->handle->func->resolved)
    return true;
  if (!pp_lookup(&resolve_fn, "parpy._resolve", "resolve"))
    return false;
  PyObject *r = PyObject_CallFunctionObjArgs(resolve_fn, self->pyfunc, self->handle, NULL);
  if (!r)
    return false;
  Py_DECREF(r);
  if (!self->handle->func->resolved) {
    pp_raise(DIAG_INTERNAL, "the globals of %s were not resolved", self->handle->func->name);
    return false;
  }
  return true;
}

/* The options' fingerprint: CompileOptions keeps it in its _key_cache slot,
 * valid while _key_gen equals the backend generation (a list in
 * parpy._options); reading those two slots here is cheaper than the _key
 * property, which computes it when it is missing. */
static PyObject *gen_list, *str_key_cache, *str_key_gen;

static PyObject *options_key(PyObject *opts) {
  if (!gen_list && !pp_lookup(&gen_list, "parpy._options", "_backend_generation"))
    return NULL;
  PyObject *cache = PyObject_GetAttr(opts, str_key_cache);
  if (!cache) {
    PyErr_Clear();
  } else if (PyBytes_Check(cache) && PyList_Check(gen_list) && PyList_GET_SIZE(gen_list) > 0) {
    PyObject *gen = PyObject_GetAttr(opts, str_key_gen);
    bool same = gen && PyObject_RichCompareBool(gen, PyList_GET_ITEM(gen_list, 0), Py_EQ) == 1;
    Py_XDECREF(gen);
    PyErr_Clear();
    if (same)
      return cache;
  }
  Py_XDECREF(cache);
  return PyObject_GetAttr(opts, str_key);
}

/* The in-memory cache key: the specialisation, then the options. */
static bool make_key(const CallArgs *ca, PyObject *opts, Buf *key) {
  PyObject *ok = options_key(opts);
  if (!ok)
    return options_bad_field(opts, "_key");
  if (!PyBytes_Check(ok)) {
    Py_DECREF(ok);
    pp_raise(DIAG_TYPE, "opts._key must be bytes");
    return false;
  }
  sig_key(ca->specs, ca->n, key);
  buf_put(key, PyBytes_AS_STRING(ok), (size_t)PyBytes_GET_SIZE(ok));
  Py_DECREF(ok);
  return true;
}

/* Miss: compile, build, load, remember.  *out: a reference for the caller. */
static bool compile_entry(JitObject *self, CallArgs *ca, PyObject *opts, const Buf *key,
                          uint64_t hash, LoadedLib **out) {
  Func *f = self->handle->func;
  Options opt;
  Arena a;
  arena_init(&a);
  Buf code, sig;
  buf_init(&code);
  buf_init(&sig);
  pp_stats.compiles++;
  Library lib;
  /* Arrays in GPU memory are refused before the (slow) native build. */
  bool ok = build_code(f, ca->specs, ca->n, opts, true, &opt, &a, &code, &sig) &&
            call_check_devices(ca, opt.backend, f->name);
  if (ok) {
    ok = build_load(&opt, buf_cstr(&code), f->name, "jit", buf_cstr(&sig), &lib);
    /* Never worse than nvcc: any failure of the NVRTC path (not Ctrl-C)
     * builds the nvcc form instead. */
    if (!ok && opt.cuda_nvrtc && PyErr_ExceptionMatches(PyExc_Exception))
      ok = build_with_nvcc(f, ca->specs, ca->n, opts, &opt, &a, &code, &sig, &lib);
    ok = ok && (*out = loaded_new(&lib)) != NULL;
  }
  if (ok)
    memcache_put(&self->cache, key->data, key->len, hash, *out, ca->nslots);
  buf_free(&code);
  buf_free(&sig);
  arena_free(&a);
  return ok;
}

/* ---- scalars that vary (module.h) ---- */

/* PP_RUNTIME_AFTER, or what a test set (-1: scalars are always specialised,
 * for the cache tests, which make specialisations out of scalar values). */
static int runtime_after = PP_RUNTIME_AFTER;

PyObject *mod_set_runtime_after(PyObject *self, PyObject *arg) {
  (void)self;
  long v = PyLong_AsLong(arg);
  if (v == -1 && PyErr_Occurred())
    return NULL;
  if (v < -1 || v > PP_RUNTIME_AFTER)
    return pp_raise(DIAG_VALUE, "_set_runtime_after takes -1 to %d", PP_RUNTIME_AFTER);
  int old = runtime_after;
  runtime_after = (int)v;
  return PyLong_FromLong(old);
}

static bool may_vary(const ArgSpec *a) {
  return a->kind == ARG_INT || a->kind == ARG_FLOAT ||
         (a->kind == ARG_SCALAR && a->elem != EL_BOOL && a->elem != EL_F16 &&
          a->elem != EL_BF16);
}

static uint64_t value_bits(const ArgSpec *a) {
  if (a->kind == ARG_FLOAT || (a->kind == ARG_SCALAR && elem_is_float(a->elem))) {
    uint64_t b;
    memcpy(&b, &a->val.f, sizeof b);
    return b;
  }
  return a->val.u;
}

static ScalarHistory *history(HandleObject *h) {
  int n = h->func->nparams;
  if (!h->scalars)
    h->scalars = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(ScalarHistory));
  return h->scalars; /* NULL (out of memory): everything stays specialised */
}

/* Marks the arguments taken at run time; `record` counts this call's
 * values (calls do, print_compiled does not).  True when any is marked. */
static bool mark_runtime(HandleObject *h, CallArgs *ca, bool record) {
  ScalarHistory *hs = history(h);
  bool any = false;
  for (int i = 0; hs && i < ca->n; i++) {
    ArgSpec *a = &ca->specs[i];
    ScalarHistory *s = &hs[i];
    if (!may_vary(a))
      continue;
    if (record && s->state == SC_COUNT && runtime_after >= 0) {
      uint64_t b = value_bits(a);
      bool seen = false;
      for (int k = 0; k < s->nseen && !seen; k++)
        seen = s->seen[k] == b;
      if (!seen && s->nseen < runtime_after)
        s->seen[s->nseen++] = b;
      else if (!seen)
        s->state = SC_RUNTIME;
    }
    a->runtime = s->state == SC_RUNTIME;
    any |= a->runtime;
  }
  return any;
}

/* The run-time version could not be compiled: specialise those for good. */
static void unmark_runtime(HandleObject *h, CallArgs *ca) {
  for (int i = 0; i < ca->n; i++)
    if (ca->specs[i].runtime) {
      ca->specs[i].runtime = false;
      if (h->scalars)
        h->scalars[i].state = SC_SPECIALISE;
    }
}

/* Finds or builds the library for the call's (marked) arguments. */
static bool find_entry(JitObject *self, CallArgs *ca, PyObject *opts, LoadedLib **lib) {
  Func *f = self->handle->func;
  Buf key;
  buf_init(&key);
  bool ok = make_key(ca, opts, &key);
  if (ok) {
    uint64_t hash = memcache_hash(key.data, key.len);
    CacheEntry *e = memcache_get(&self->cache, key.data, key.len, hash);
    if (e && e->nslots != ca->nslots) {
      pp_raise(DIAG_INTERNAL, "cached code of %s expects %d argument slots, got %d", f->name,
               e->nslots, ca->nslots);
      ok = false;
    } else if (e) {
      pp_stats.hits++;
      *lib = e->lib; /* held: the table may evict it while the GIL is released */
      (*lib)->refs++;
    } else {
      ok = compile_entry(self, ca, opts, &key, hash, lib);
    }
  }
  buf_free(&key);
  return ok;
}

static PyObject *jit_call(JitObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *opts) {
  Func *f = self->handle->func;
  if (!ensure_resolved(self) || !(opts = options_check(opts)))
    return NULL;
  if (nargs != f->nparams)
    return args_count_error(f->name, f->nparams, nargs);
  CallArgs ca;
  args_init(&ca);
  ca.params = f->params;
  PyObject *result = NULL;
  LoadedLib *lib;
  if (!args_classify(&ca, args, (int)nargs, f->name, self->handle->names))
    goto done;
  bool runtime = mark_runtime(self->handle, &ca, true);
  if (!find_entry(self, &ca, opts, &lib)) {
    /* Ctrl-C (KeyboardInterrupt) during the build stops the call. */
    if (!runtime || !PyErr_ExceptionMatches(PyExc_Exception))
      goto done;
    /* Never a wrong result: the specialised version decides (and reports
     * the user's error, if that is what it was). */
    PyErr_Clear();
    unmark_runtime(self->handle, &ca);
    if (!find_entry(self, &ca, opts, &lib))
      goto done;
  }
  result = call_library(&lib->lib, &ca, f->name);
  if (result && ca.nmps && !args_writeback(&ca))
    Py_CLEAR(result);
  loaded_release(lib);
done:
  args_release(&ca);
  return result;
}

static PyObject *jit_vectorcall(JitObject *self, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  PyObject *opts = NULL;
  int seq = 0;
  if (!self->pyfunc || !self->handle) /* cleared by the garbage collector */
    return pp_raise(DIAG_RUNTIME, "this jitted function has been destroyed");
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; i++) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, i), *value = args[nargs + i];
    if (kw_is(name, str_opts)) {
      opts = value;
    } else if (kw_is(name, str_seq)) {
      if ((seq = PyObject_IsTrue(value)) < 0)
        return NULL;
    } else {
      const char *kw = PyUnicode_AsUTF8(name);
      if (!kw)
        return NULL;
      return pp_raise(DIAG_TYPE, "%s() got an unexpected keyword argument '%s' (a jitted "
                      "function takes only opts= and seq=)", self->handle->func->name, kw);
    }
  }
  if (seq || seq_depth > 0)
    return run_python(self, args, nargs);
  return jit_call(self, args, nargs, opts);
}

static void copy_attr(PyObject *dict, PyObject *from, const char *name) {
  PyObject *v = PyObject_GetAttrString(from, name);
  if (!v || PyDict_SetItemString(dict, name, v) < 0)
    PyErr_Clear();
  Py_XDECREF(v);
}

static PyObject *jit_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  PyObject *pyfunc, *handle;
  if (kwds && PyDict_GET_SIZE(kwds)) {
    PyErr_SetString(PyExc_TypeError, "JitFunction takes no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(args, "OO!:JitFunction", &pyfunc, &HandleType, &handle))
    return NULL;
  JitObject *self = (JitObject *)type->tp_alloc(type, 0);
  if (!self)
    return NULL;
  self->vectorcall = (vectorcallfunc)jit_vectorcall;
  Py_INCREF(pyfunc);
  self->pyfunc = pyfunc;
  Py_INCREF(handle);
  self->handle = (HandleObject *)handle;
  if (!(self->dict = PyDict_New())) {
    Py_DECREF(self);
    return NULL;
  }
  /* What functools.wraps copies, so that help(), inspect and pickling by
   * name see the user's function. */
  if (PyDict_SetItemString(self->dict, "__wrapped__", pyfunc) < 0) {
    Py_DECREF(self);
    return NULL;
  }
  const char *names[] = {"__module__", "__name__", "__qualname__", "__doc__"};
  for (size_t i = 0; i < PP_COUNT(names); i++)
    copy_attr(self->dict, pyfunc, names[i]);
  return (PyObject *)self;
}

static int jit_traverse(JitObject *self, visitproc visit, void *arg) {
  Py_VISIT(self->pyfunc);
  Py_VISIT(self->handle);
  Py_VISIT(self->dict);
  return 0;
}

static int jit_clear(JitObject *self) {
  Py_CLEAR(self->pyfunc);
  Py_CLEAR(self->handle);
  Py_CLEAR(self->dict);
  return 0;
}

static void jit_dealloc(JitObject *self) {
  PyObject_GC_UnTrack(self);
  if (self->weakrefs)
    PyObject_ClearWeakRefs((PyObject *)self);
  jit_clear(self);
  memcache_free(&self->cache);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Methods: obj.f(x) passes obj as the first argument, as a plain function. */
static PyObject *jit_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
  (void)type;
  if (!obj) {
    Py_INCREF(self);
    return self;
  }
  return PyMethod_New(self, obj);
}

static PyObject *jit_repr(JitObject *self) {
  return PyUnicode_FromFormat("<parpy.jit function %s at %p>",
                              self->handle ? self->handle->func->name : "?", (void *)self);
}

static PyObject *jit_cache_size(JitObject *self, PyObject *unused) {
  (void)unused;
  return PyLong_FromSize_t(memcache_live(&self->cache));
}

static PyMethodDef jit_methods[] = {
    {"_cache_size", (PyCFunction)jit_cache_size, METH_NOARGS,
     "Number of live specialisations in the in-memory cache (for tests)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef jit_members[] = {
    {"_handle", T_OBJECT, offsetof(JitObject, handle), READONLY, "the parsed function"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef jit_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject JitType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parpy._core.JitFunction",
    .tp_basicsize = sizeof(JitObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function compiled by parpy.jit; call it like the original function, with "
              "opts= (a CompileOptions) or seq=True (run the Python code).",
    .tp_new = jit_new,
    .tp_dealloc = (destructor)jit_dealloc,
    .tp_traverse = (traverseproc)jit_traverse,
    .tp_clear = (inquiry)jit_clear,
    .tp_vectorcall_offset = offsetof(JitObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = jit_descr_get,
    .tp_repr = (reprfunc)jit_repr,
    .tp_dictoffset = offsetof(JitObject, dict),
    .tp_weaklistoffset = offsetof(JitObject, weakrefs),
    .tp_methods = jit_methods,
    .tp_members = jit_members,
    .tp_getset = jit_getset,
};

int jit_init_strings(void) {
  str_opts = PyUnicode_InternFromString("opts");
  str_seq = PyUnicode_InternFromString("seq");
  str_key = PyUnicode_InternFromString("_key");
  str_key_cache = PyUnicode_InternFromString("_key_cache");
  str_key_gen = PyUnicode_InternFromString("_key_gen");
  if (!str_key_cache || !str_key_gen)
    return -1;
  return str_opts && str_seq && str_key ? 0 : -1;
}

/* print_compiled(handle, args, opts) -> str: compile, never build or run. */
PyObject *mod_print_compiled(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *handle, *list, *opts;
  if (!PyArg_ParseTuple(args, "O!OO:print_compiled", &HandleType, &handle, &list, &opts))
    return NULL;
  HandleObject *h = (HandleObject *)handle;
  Func *f = h->func;
  if (!f->resolved)
    return pp_raise(DIAG_INTERNAL, "print_compiled: the globals of %s are not resolved", f->name);
  if (!(opts = options_check(opts)))
    return NULL;
  PyObject *seq = PySequence_Fast(list, "print_compiled expects a list of arguments");
  if (!seq)
    return NULL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  PyObject *result = NULL;
  CallArgs ca;
  args_init(&ca);
  ca.params = f->params;
  Options opt;
  Arena a;
  arena_init(&a);
  Buf code;
  buf_init(&code);
  if (n != f->nparams)
    args_count_error(f->name, f->nparams, n);
  else if (args_classify(&ca, PySequence_Fast_ITEMS(seq), (int)n, f->name, h->names)) {
    /* What a call with these arguments would run now (mark_runtime). */
    bool rt = mark_runtime(h, &ca, false);
    bool ok = build_code(f, ca.specs, (int)n, opts, false, &opt, &a, &code, NULL);
    if (!ok && rt) {
      PyErr_Clear();
      for (int i = 0; i < ca.n; i++)
        ca.specs[i].runtime = false;
      code.len = 0;
      ok = build_code(f, ca.specs, (int)n, opts, false, &opt, &a, &code, NULL);
    }
    if (ok)
      result = PyUnicode_FromString(buf_cstr(&code));
  }
  args_release(&ca);
  buf_free(&code);
  arena_free(&a);
  Py_DECREF(seq);
  return result;
}
