/* module.c - the parpy._core extension module: initialisation, the tables
 * the Python layer shares with the core (BUILTINS), and the small module
 * functions.  The callable types live in jitfn.c and compiled.c. */
#include "../target/cuda/build.h"
#include "module.h"

uint64_t pp_generation = 1;
Stats pp_stats;

PyObject *pp_lookup(PyObject **cache, const char *module, const char *attr) {
  if (*cache)
    return *cache;
  PyObject *m = PyImport_ImportModule(module);
  if (!m)
    return NULL;
  *cache = PyObject_GetAttrString(m, attr);
  Py_DECREF(m);
  return *cache;
}

/* The C enum Builtin by name; parpy/_resolve.py maps Python objects to
 * these.  Keep in step with ast.h. */
static const struct {
  const char *name;
  Builtin code;
} builtins[] = {
    {"range", B_RANGE},     {"label", B_LABEL},     {"gpu", B_GPU},     {"exp", B_EXP},
    {"log", B_LOG},         {"sin", B_SIN},         {"cos", B_COS},     {"tan", B_TAN},
    {"sqrt", B_SQRT},       {"tanh", B_TANH},       {"atan2", B_ATAN2}, {"abs", B_ABS},
    {"floor", B_FLOOR},     {"ceil", B_CEIL},       {"maximum", B_MAXIMUM},
    {"minimum", B_MINIMUM}, {"sum", B_SUM},         {"prod", B_PROD},   {"max", B_MAX},
    {"min", B_MIN},         {"convert", B_CONVERT}, {"int", B_INT},     {"float", B_FLOAT},
    {"bool", B_BOOL},       {"len", B_LEN},
    {"log2", B_LOG2}, {"log10", B_LOG10}, {"log1p", B_LOG1P}, {"expm1", B_EXPM1},
    {"exp2", B_EXP2}, {"asin", B_ASIN}, {"acos", B_ACOS}, {"atan", B_ATAN},
    {"sinh", B_SINH}, {"cosh", B_COSH}, {"asinh", B_ASINH}, {"acosh", B_ACOSH},
    {"atanh", B_ATANH}, {"erf", B_ERF}, {"erfc", B_ERFC}, {"gamma", B_GAMMA},
    {"lgamma", B_LGAMMA}, {"cbrt", B_CBRT}, {"radians", B_RADIANS}, {"degrees", B_DEGREES},
    {"rint", B_RINT}, {"hypot", B_HYPOT}, {"copysign", B_COPYSIGN}, {"fmod", B_FMOD},
    {"fmax", B_FMAX}, {"fmin", B_FMIN}, {"trunc", B_TRUNC}, {"round", B_ROUND},
    {"sign", B_SIGN}, {"square", B_SQUARE}, {"reciprocal", B_RECIPROCAL}, {"isnan", B_ISNAN},
    {"isinf", B_ISINF}, {"isfinite", B_ISFINITE}, {"add", B_ADD}, {"subtract", B_SUBTRACT},
    {"multiply", B_MULTIPLY}, {"divide", B_DIVIDE}, {"power", B_POWER}, {"mod", B_MODULO},
    {"floor_divide", B_FLOOR_DIVIDE}, {"negative", B_NEGATIVE}, {"logical_and", B_LOGICAL_AND}, {"logical_or", B_LOGICAL_OR},
    {"logical_not", B_LOGICAL_NOT}, {"clip", B_CLIP}, {"where", B_WHERE}, {"divmod", B_DIVMOD},
    {"mean", B_MEAN}, {"var", B_VAR}, {"std", B_STD}, {"dot", B_DOT}, {"zeros", B_ZEROS}, {"empty", B_EMPTY}, {"print", B_PRINT},
};

static PyObject *builtins_dict(void) {
  PyObject *d = PyDict_New();
  for (size_t i = 0; d && i < PP_COUNT(builtins); i++) {
    PyObject *v = PyLong_FromLong(builtins[i].code);
    if (!v || PyDict_SetItemString(d, builtins[i].name, v) < 0)
      Py_CLEAR(d);
    Py_XDECREF(v);
  }
  return d;
}

static PyObject *mod_clear_memory_cache(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  pp_generation++;
  Py_RETURN_NONE;
}

/* _set_max_specializations(n) -> the previous limit (tests). */
static PyObject *mod_set_max_specializations(PyObject *self, PyObject *arg) {
  (void)self;
  Py_ssize_t n = PyLong_AsSsize_t(arg);
  if (n == -1 && PyErr_Occurred())
    return NULL;
  if (n < 1)
    return pp_raise(DIAG_VALUE, "the limit of specializations must be at least 1, not %zd", n);
  size_t old = pp_memcache_limit;
  pp_memcache_limit = (size_t)n;
  return PyLong_FromSize_t(old);
}

static PyObject *mod_clear_cache(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  pp_generation++;
  Diag d = {0};
  Arena a;
  arena_init(&a);
  bool ok;
  Py_BEGIN_ALLOW_THREADS
  ok = rt_clear_disk_cache(&d, &a);
  Py_END_ALLOW_THREADS
  if (!ok) {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &a, DIAG_RUNTIME, (Span){0}, "clearing the disk cache failed");
    raise_diag(&d);
  }
  arena_free(&a);
  if (!ok)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *mod_cache_dir(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  Diag d = {0};
  Arena a;
  arena_init(&a);
  const char *dir = rt_cache_dir(&d, &a);
  PyObject *r = NULL;
  if (dir)
    r = PyUnicode_DecodeFSDefault(dir);
  else {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &a, DIAG_RUNTIME, (Span){0}, "no usable cache directory");
    raise_diag(&d);
  }
  arena_free(&a);
  return r;
}

static PyObject *mod_has_target(PyObject *self, PyObject *name) {
  (void)self;
  const char *s = PyUnicode_AsUTF8(name);
  if (!s)
    return NULL;
  for (Backend b = BACKEND_CUDA; b <= BACKEND_CPU; b++)
    if (strcmp(s, backend_name(b)) == 0)
      return PyBool_FromLong(target_get(b) != NULL);
  Py_RETURN_FALSE;
}

static PyObject *mod_configure(PyObject *self, PyObject *args) {
  (void)self;
  const char *inc, *version;
  if (!PyArg_ParseTuple(args, "ss:configure", &inc, &version))
    return NULL;
  /* The runtime keeps the pointers: give it copies that live forever. */
  static char *kept_inc, *kept_version;
  char *i2 = strdup(inc), *v2 = strdup(version);
  if (!i2 || !v2) {
    free(i2);
    free(v2);
    return PyErr_NoMemory();
  }
  rt_configure(i2, v2);
  free(kept_inc);
  free(kept_version);
  kept_inc = i2;
  kept_version = v2;
  Py_RETURN_NONE;
}

static PyObject *mod_stats(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  return Py_BuildValue("{sKsKsKsKsKsKsK}", "buffers", (unsigned long long)pp_stats.buffers,
                       "compiles", (unsigned long long)pp_stats.compiles,
                       "loads", (unsigned long long)pp_stats.loads, "hits",
                       (unsigned long long)pp_stats.hits, "generation",
                       (unsigned long long)pp_generation, "cuda_calls",
                       (unsigned long long)pp_stats.cuda_calls, "copies_in",
                       (unsigned long long)pp_stats.copies_in);
}

/* ---- CUDA: what parpy.backend asks, and hooks for tests ---- */

static PyObject *mod_cuda_usable(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  char why[1024] = "";
  bool ok;
  Py_BEGIN_ALLOW_THREADS /* the first call loads libcudart and starts the driver */
  ok = rt_cuda_usable(why, sizeof why);
  Py_END_ALLOW_THREADS
  return Py_BuildValue("(Os)", ok ? Py_True : Py_False, ok ? "" : why);
}

static PyObject *mod_cuda_info(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  CudaInfo info;
  bool ok;
  Py_BEGIN_ALLOW_THREADS
  ok = rt_cuda_info(&info, NULL, 0);
  Py_END_ALLOW_THREADS
  if (!ok)
    Py_RETURN_NONE;
  char rt[32], drv[32];
  snprintf(rt, sizeof rt, "%d.%d", info.runtime_version / 1000, info.runtime_version % 1000 / 10);
  snprintf(drv, sizeof drv, "%d.%d", info.driver_version / 1000, info.driver_version % 1000 / 10);
  return Py_BuildValue("{sisiszszs(ii)ssssss}", "device", info.device, "device_count",
                       info.ndevices, "name", info.name, "arch", info.arch,
                       "compute_capability", info.cc_major, info.cc_minor, "runtime_version", rt,
                       "driver_version", drv, "runtime_path", info.runtime_path);
}

static PyObject *mod_cuda_runtime_path(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  const char *p = rt_cuda_runtime_path();
  if (!p)
    Py_RETURN_NONE;
  return PyUnicode_DecodeFSDefault(p);
}

/* _cuda_build_cmd(opts, arch, src, lib, incdir) -> [str]: the nvcc command
 * of a Cuda build with the includes, libs and flags of `opts`. */
static PyObject *mod_cuda_build_cmd(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *opts, *result = NULL;
  const char *arch, *src, *lib, *incdir;
  if (!PyArg_ParseTuple(args, "Ozsss:_cuda_build_cmd", &opts, &arch, &src, &lib, &incdir) ||
      !(opts = options_check(opts)))
    return NULL;
  Arena a;
  arena_init(&a);
  Options opt;
  if (!options_from_py(opts, false, &opt, &a))
    goto done;
  opt.cuda_arch = arch;
  const char **argv = cuda_build_cmd(&opt, src, lib, incdir, &a);
  if (!(result = PyList_New(0)))
    goto done;
  for (const char **p = argv; *p; p++) {
    PyObject *word = PyUnicode_DecodeFSDefault(*p);
    if (!word || PyList_Append(result, word) < 0) {
      Py_XDECREF(word);
      Py_CLEAR(result);
      goto done;
    }
    Py_DECREF(word);
  }
done:
  arena_free(&a);
  return result;
}

/* _classify(args): classify call arguments and release them, nothing more;
 * lets the overhead benchmarks time this part of a call on its own. */
static PyObject *mod_classify(PyObject *self, PyObject *args) {
  (void)self;
  Py_ssize_t n = PyTuple_GET_SIZE(args);
  const char **names = PyMem_Calloc((size_t)(n ? n : 1), sizeof(char *));
  if (!names)
    return PyErr_NoMemory();
  for (Py_ssize_t i = 0; i < n; i++)
    names[i] = "arg";
  CallArgs ca;
  args_init(&ca);
  bool ok = args_classify(&ca, &PyTuple_GET_ITEM(args, 0), (int)n, "_classify", names);
  args_release(&ca);
  PyMem_Free(names);
  if (!ok)
    return NULL;
  Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_classify", mod_classify, METH_VARARGS,
     "Classify arguments as a call would (for timing the call path)."},
    {"parse", mod_parse, METH_VARARGS,
     "parse(fndef, file, text, line_off, col_off, name, param_annots, ret_annot) -> FuncHandle"},
    {"print_compiled", mod_print_compiled, METH_VARARGS,
     "print_compiled(handle, args, opts) -> str"},
    {"compile_string", mod_compile_string, METH_VARARGS,
     "compile_string(name, code, opts) -> CompiledFunction"},
    {"clear_cache", mod_clear_cache, METH_NOARGS,
     "Forget every compiled function, in memory and on disk."},
    {"_set_max_specializations", mod_set_max_specializations, METH_O,
     "Set the most specializations one jitted function keeps; returns the old limit."},
    {"_set_runtime_after", mod_set_runtime_after, METH_O,
     "Tests: distinct values before a scalar is taken at run time (0..4; -1: never); "
     "returns the old setting."},
    {"_clear_memory_cache", mod_clear_memory_cache, METH_NOARGS,
     "Forget the in-memory cache only (tests)."},
    {"cache_dir", mod_cache_dir, METH_NOARGS, "The disk cache directory (created if needed)."},
    {"has_target", mod_has_target, METH_O, "Whether this build has a target for a backend name."},
    {"configure", mod_configure, METH_VARARGS, "configure(include_dir, version)"},
    {"set_error_types", set_error_types, METH_VARARGS,
     "set_error_types(base, type, name, runtime, value, type_rt, value_rt, name_rt, index, "
     "zero_div, overflow, race)"},
    {"_stats", mod_stats, METH_NOARGS,
     "Debug counters: compiles, loads, hits, generation, cuda_calls, copies_in, buffers "
     "(parpy.buffer allocations alive)."},
    {"cuda_sync", mod_cuda_sync, METH_NOARGS,
     "Wait until the current CUDA device has finished all its work (errors raise)."},
    {"cuda_compiler", mod_cuda_compiler, METH_NOARGS,
     "cuda_compiler() -> (name, why_not_nvrtc, last_fallback, nvrtc_missing): the compiler "
     "new Cuda code is built with ('nvrtc' or 'nvcc'; PARPY_CUDA_COMPILER), why not NVRTC, the "
     "last NVRTC build that fell back to nvcc with its error, and None when libnvrtc loads "
     "(else why not)."},
    {"_nvrtc_build", mod_nvrtc_build, METH_VARARGS,
     "Tests: _nvrtc_build(name, code, opts, arch) -> cubin size; builds NVRTC code without a GPU."},
    {"cuda_usable", mod_cuda_usable, METH_NOARGS,
     "cuda_usable() -> (bool, reason): whether the CUDA runtime loads and sees a device."},
    {"cuda_info", mod_cuda_info, METH_NOARGS,
     "cuda_info() -> dict of the current CUDA device (name, arch, versions), or None."},
    {"_cuda_runtime_path", mod_cuda_runtime_path, METH_NOARGS,
     "The libcudart the runtime loaded, or None (tests)."},
    {"_cuda_build_cmd", mod_cuda_build_cmd, METH_VARARGS,
     "_cuda_build_cmd(opts, arch, src, lib, incdir) -> the nvcc command line (tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "parpy._core",
    "The ParPy compiler and runtime, written in C.", -1, module_methods,
};

static int add_type(PyObject *m, PyTypeObject *t, const char *name) {
  if (PyType_Ready(t) < 0)
    return -1;
  Py_INCREF(t);
  if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
    Py_DECREF(t);
    return -1;
  }
  return 0;
}

#ifndef PARPY_VERSION
#define PARPY_VERSION "0.0.0"
#endif

PyMODINIT_FUNC PyInit__core(void) {
  PyObject *m = PyModule_Create(&core_module);
  if (!m)
    return NULL;
  build_init();
  if (jit_init_strings() < 0 || args_init_strings() < 0 || add_type(m, &HandleType, "FuncHandle") < 0 ||
      add_type(m, &JitType, "JitFunction") < 0 ||
      add_type(m, &CompiledType, "CompiledFunction") < 0 ||
      add_type(m, &BufferType, "BufferBase") < 0 ||
      PyModule_AddStringConstant(m, "VERSION", PARPY_VERSION) < 0 ||
      PyModule_AddStringConstant(m, "SUPPORTED_BUILTINS", builtin_supported_list()) < 0 ||
      PyModule_AddIntConstant(m, "ANNOT_POINTER", 0x100) < 0)
    goto fail;
  PyObject *b = builtins_dict();
  if (!b || PyModule_AddObject(m, "BUILTINS", b) < 0) {
    Py_XDECREF(b);
    goto fail;
  }
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
