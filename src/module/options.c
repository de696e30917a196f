/* options.c - a parpy.CompileOptions becomes the core's Options.
 *
 * Runs only when a call misses the in-memory cache (the hit path only reads
 * opts._key), so it simply reads the public properties.  The Python class
 * validates every field (the lists and the dict again here, as they can
 * change in place); we check types again only so that a foreign object
 * cannot crash us. */
#include "module.h"

static PyObject *options_type, *default_options, *backend_resolve;

static bool load_options_type(void) {
  if (options_type)
    return true;
  PyObject *m = PyImport_ImportModule("parpy._options");
  if (!m)
    return false;
  options_type = PyObject_GetAttrString(m, "CompileOptions");
  Py_DECREF(m);
  return options_type != NULL;
}

PyObject *options_default(void) {
  if (!default_options && load_options_type())
    default_options = PyObject_CallNoArgs(options_type);
  return default_options;
}

PyObject *options_check(PyObject *opts) {
  if (!opts || opts == Py_None)
    return options_default();
  if (!load_options_type())
    return NULL;
  if ((PyObject *)Py_TYPE(opts) == options_type)
    return opts;
  int ok = PyObject_IsInstance(opts, options_type);
  if (ok < 0)
    return NULL;
  if (!ok)
    return pp_raise(DIAG_TYPE, "opts must be a parpy.CompileOptions (see parpy.par), not %s",
                    Py_TYPE(opts)->tp_name);
  return opts;
}

static bool get_bool(PyObject *o, const char *name, bool *out) {
  PyObject *v = PyObject_GetAttrString(o, name);
  if (!v)
    return false;
  int t = PyObject_IsTrue(v);
  Py_DECREF(v);
  *out = t > 0;
  return t >= 0;
}

static bool get_int(PyObject *o, const char *name, int64_t *out) {
  PyObject *v = PyObject_GetAttrString(o, name);
  if (!v)
    return false;
  *out = PyLong_AsLongLong(v);
  Py_DECREF(v);
  return !(*out == -1 && PyErr_Occurred());
}

/* An enum member's .value; -1 for None. */
static bool enum_value(PyObject *member, int *out) {
  if (member == Py_None) {
    *out = -1;
    return true;
  }
  PyObject *v = PyObject_GetAttrString(member, "value");
  if (!v)
    return false;
  *out = (int)PyLong_AsLong(v);
  Py_DECREF(v);
  return !(*out == -1 && PyErr_Occurred());
}

static bool get_strs(PyObject *o, const char *name, const char ***out, int *n, Arena *a) {
  PyObject *v = PyObject_GetAttrString(o, name);
  if (!v)
    return false;
  PyObject *seq = PySequence_Fast(v, "expected a sequence of str");
  Py_DECREF(v);
  if (!seq)
    return false;
  *n = (int)PySequence_Fast_GET_SIZE(seq);
  *out = ARENA_ARRAY(a, const char *, *n ? *n : 1);
  for (int i = 0; i < *n; i++) {
    const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
    if (!s) {
      Py_DECREF(seq);
      return false;
    }
    (*out)[i] = arena_strdup(a, s);
  }
  Py_DECREF(seq);
  return true;
}

static bool get_loop_par(PyObject *lp, LoopPar *out) {
  return get_int(lp, "nthreads", &out->nthreads) && get_bool(lp, "reduction", &out->reduce) &&
         get_int(lp, "threads_per_block", &out->tpb);
}

static bool get_parallelize(PyObject *o, Options *opt, Arena *a) {
  PyObject *m = PyObject_GetAttrString(o, "parallelize");
  if (!m)
    return false;
  PyObject *items = PyMapping_Items(m);
  Py_DECREF(m);
  if (!items)
    return false;
  /* Sorted by label so that equal options give identical Options. */
  if (PyList_Sort(items) < 0)
    PyErr_Clear(); /* equal labels cannot happen, so LoopPars are never compared */
  int n = (int)PyList_GET_SIZE(items);
  bool ok = true;
  opt->npar = n;
  opt->par = ARENA_ARRAY(a, LabelPar, n ? n : 1);
  for (int i = 0; ok && i < n; i++) {
    PyObject *kv = PyList_GET_ITEM(items, i);
    const char *label = PyTuple_Check(kv) && PyTuple_GET_SIZE(kv) == 2
                            ? PyUnicode_AsUTF8(PyTuple_GET_ITEM(kv, 0)) : NULL;
    if (!label) {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "parallelize must map str to LoopPar");
      ok = false;
      break;
    }
    opt->par[i].label = intern(label);
    ok = get_loop_par(PyTuple_GET_ITEM(kv, 1), &opt->par[i].par);
  }
  Py_DECREF(items);
  return ok;
}

static bool resolve_backend(PyObject *o, bool strict, Backend *out) {
  if (!pp_lookup(&backend_resolve, "parpy.backend", "resolve"))
    return false;
  PyObject *b = PyObject_GetAttrString(o, "backend");
  PyObject *verbose = b ? PyObject_GetAttrString(o, "verbose_backend_resolution") : NULL;
  PyObject *r = NULL;
  if (verbose) {
    PyObject *args[] = {b, verbose, strict ? Py_True : Py_False};
    PyObject *kw = Py_BuildValue("(s)", "strict");
    if (kw)
      r = PyObject_Vectorcall(backend_resolve, args, 2, kw);
    Py_XDECREF(kw);
  }
  Py_XDECREF(b);
  Py_XDECREF(verbose);
  if (!r)
    return false;
  int v;
  bool ok = enum_value(r, &v);
  Py_DECREF(r);
  if (ok && (v <= BACKEND_AUTO || v > BACKEND_CPU)) {
    PyErr_Format(PyExc_ValueError, "backend resolution returned %d", v);
    ok = false;
  }
  *out = (Backend)v;
  return ok;
}

/* Forced int/float sizes, or the backend's defaults. */
static bool get_sizes(PyObject *o, Options *opt) {
  bool metal = opt->backend == BACKEND_METAL;
  opt->int_size = metal ? EL_I32 : EL_I64;
  opt->float_size = metal ? EL_F32 : EL_F64;
  const char *names[] = {"force_int_size", "force_float_size"};
  Elem *dst[] = {&opt->int_size, &opt->float_size};
  for (int i = 0; i < 2; i++) {
    PyObject *v = PyObject_GetAttrString(o, names[i]);
    if (!v)
      return false;
    int code;
    bool ok = enum_value(v, &code);
    Py_DECREF(v);
    if (!ok)
      return false;
    if (code >= EL_COUNT) {
      PyErr_Format(PyExc_ValueError, "%s: invalid ElemSize %d", names[i], code);
      return false;
    }
    if (code >= 0)
      *dst[i] = (Elem)code;
  }
  return true;
}

/* The list and dict fields can change in place after they were set; the
 * class checks their items again here (as setting them would have). */
static bool validate(PyObject *o) {
  PyObject *r = PyObject_CallMethod(o, "_validate", NULL);
  Py_XDECREF(r);
  return r != NULL;
}

#define FIELD(name, call) ((call) || options_bad_field(o, name))

static bool options_rest(PyObject *o, Options *opt, Arena *a) {
  return FIELD("debug_print", get_bool(o, "debug_print", &opt->debug_print)) &&
         FIELD("debug", get_bool(o, "debug", &opt->debug)) &&
         FIELD("write_output", get_bool(o, "write_output", &opt->write_output)) &&
         FIELD("verbose_backend_resolution",
               get_bool(o, "verbose_backend_resolution", &opt->verbose_backend_resolution)) &&
         FIELD("use_cuda_thread_block_clusters",
               get_bool(o, "use_cuda_thread_block_clusters", &opt->use_clusters)) &&
         FIELD("use_cuda_graphs", get_bool(o, "use_cuda_graphs", &opt->use_graphs)) &&
         FIELD("max_thread_blocks_per_cluster",
               get_int(o, "max_thread_blocks_per_cluster", &opt->max_blocks_per_cluster)) &&
         FIELD("force_int_size/force_float_size", get_sizes(o, opt)) &&
         FIELD("includes", get_strs(o, "includes", &opt->includes, &opt->nincludes, a)) &&
         FIELD("libs", get_strs(o, "libs", &opt->libs, &opt->nlibs, a)) &&
         FIELD("extra_flags",
               get_strs(o, "extra_flags", &opt->extra_flags, &opt->nextra_flags, a));
}
/* A field that could not be read (a subclass or an object posing as
 * CompileOptions returning junk): a ParPyTypeError naming it, with the
 * original error as its cause. */
bool options_bad_field(PyObject *o, const char *field) {
  if (pp_error_is_ours() || !PyErr_ExceptionMatches(PyExc_Exception) ||
      PyErr_ExceptionMatches(PyExc_MemoryError))
    return false;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyObject *msg = value ? PyObject_Str(value) : NULL;
  const char *m = msg ? PyUnicode_AsUTF8(msg) : NULL;
  if (!m)
    PyErr_Clear();
  pp_raise(DIAG_TYPE, "opts.%s of this %s is not valid: %s: %s", field, Py_TYPE(o)->tp_name,
           type ? ((PyTypeObject *)type)->tp_name : "error", m ? m : "?");
  if (value) {
    PyObject *t2, *v2, *tb2;
    PyErr_Fetch(&t2, &v2, &tb2);
    PyErr_NormalizeException(&t2, &v2, &tb2);
    PyException_SetCause(v2, Py_NewRef(value));
    PyErr_Restore(t2, v2, tb2);
  }
  Py_XDECREF(msg);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return false;
}

bool options_from_py(PyObject *o, bool strict, Options *opt, Arena *a) {
  *opt = (Options){0};
  return FIELD("_validate()", validate(o)) && FIELD("parallelize", get_parallelize(o, opt, a)) &&
         FIELD("backend", resolve_backend(o, strict, &opt->backend)) &&
         options_rest(o, opt, a);
}

