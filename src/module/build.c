/* build.c - the steps a cache miss takes: compile the function for the
 * arguments, then build and load the code (call.c runs it).  Shared by
 * jitted calls, print_compiled and compile_string. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "module.h"

bool build_target_arch(Options *opt) {
  if (opt->backend != BACKEND_CUDA)
    return true;
  const char *arch;
  char why[1024] = "";
  /* The first use loads libcudart and starts the driver: not instant. */
  Py_BEGIN_ALLOW_THREADS
  arch = rt_cuda_arch();
  if (!arch && rt_cuda_usable(why, sizeof why))
    snprintf(why, sizeof why, "the CUDA runtime cannot read the current device's architecture");
  Py_END_ALLOW_THREADS
  if (!arch) {
    pp_raise(DIAG_RUNTIME, "the Cuda backend is not enabled: %s", why);
    return false;
  }
  opt->cuda_arch = arch;
  return true;
}

/* debug_print goes to sys.stdout, so that pytest's capsys and notebooks see
 * it, rather than to the C stdout. */
static void write_stdout(const char *s) {
  PyObject *out = PySys_GetObject("stdout");
  if (!out || out == Py_None || !*s)
    return;
  PyObject *str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
  if (!str || PyFile_WriteObject(str, out, Py_PRINT_RAW) < 0)
    PyErr_Clear();
  Py_XDECREF(str);
}

/* The NVRTC path (runtime/nvrtc.c) is the default for Cuda; a build that
 * fails on it is built again with nvcc (build_with_nvcc), which sets this
 * while it prints the code once more.  The GIL guards both. */
static bool force_nvcc;
static char fallback_reason[2048];

bool build_code(Func *func, const ArgSpec *specs, int n, PyObject *opts, bool strict,
                Options *opt, Arena *a, Buf *code, Buf *sig) {
  if (!options_from_py(opts, strict, opt, a) || (strict && !build_target_arch(opt)))
    return false;
  char why[512];
  opt->cuda_nvrtc =
      opt->backend == BACKEND_CUDA && !force_nvcc && rt_cuda_use_nvrtc(why, sizeof why);
  Prog p;
  prog_init(&p, func, opt);
  p.nargs = n;
  p.args = args_copy(&p.arena, specs, n);
  bool ok = compile_prog(&p, code);
  if (ok && sig) {
    /* What the printer wrote into <f>__signature (c_signature). */
    const char **names = ARENA_ARRAY(&p.arena, const char *, n > 0 ? n : 1);
    for (int i = 0; i < n && i < func->nparams; i++)
      names[i] = func->params[i].name;
    sig_format(names, p.args, p.nargs, sig);
  }
  if (opt->debug_print)
    write_stdout(buf_cstr(&p.debug));
  if (!ok || p.diag.kind != DIAG_NONE) {
    if (p.diag.kind == DIAG_NONE)
      diag_error(&p.diag, &p.arena, DIAG_INTERNAL, (Span){0},
                 "compilation of %s failed without a message", func->name ? func->name : "?");
    raise_diag(&p.diag);
    ok = false;
  }
  prog_free(&p);
  return ok;
}

/* The runtime's interrupt check (rt_set_interrupt), every 50 ms of a
 * build: Python's signal handlers run (in the main thread; elsewhere this
 * does nothing), and one that raises (KeyboardInterrupt) leaves its
 * exception set on the thread and ends the wait. */
static bool interrupted(void) {
  if (_Py_IsFinalizing())
    return false;
  PyGILState_STATE g = PyGILState_Ensure();
  bool stop = PyErr_CheckSignals() < 0;
  PyGILState_Release(g);
  return stop;
}

void build_init(void) {
  rt_set_interrupt(interrupted);
  const char *env = getenv("PARPY_MAX_SPECIALIZATIONS");
  char *end;
  long long n = env && *env ? strtoll(env, &end, 10) : 0;
  if (env && *env && !*end && n > 0)
    pp_memcache_limit = (size_t)n;
}

bool build_load(const Options *opt, const char *code, const char *fname, const char *origin,
                const char *expect_sig, Library *lib) {
  Diag d = {0};
  Arena a;
  arena_init(&a);
  bool ok;
  *lib = (Library){0};
  Py_BEGIN_ALLOW_THREADS
  ok = rt_load(opt, code, fname, origin, expect_sig, lib, &d, &a);
  Py_END_ALLOW_THREADS
  pp_stats.loads++;
  if (!ok && PyErr_Occurred()) { /* interrupted: the handler's exception */
    arena_free(&a);
    return false;
  }
  if (ok && !lib->entry) {
    diag_error(&d, &a, DIAG_INTERNAL, (Span){0}, "the library of %s has no entry point", fname);
    ok = false;
  }
  if (ok) {
    lib->backend = opt->backend;
    lib->access = dlsym(lib->handle, arena_printf(&a, "%s__access", fname));
    *(void **)&lib->set_stream = dlsym(lib->handle, arena_printf(&a, "%s__set_stream", fname));
  }
  if (!ok) {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &a, DIAG_INTERNAL, (Span){0}, "loading the code of %s failed", fname);
    raise_diag(&d);
  }
  arena_free(&a);
  return ok;
}

bool build_with_nvcc(Func *func, const ArgSpec *specs, int n, PyObject *opts, Options *opt,
                     Arena *a, Buf *code, Buf *sig, Library *lib) {
  /* What failed on the NVRTC path, kept for _core.cuda_compiler() and
   * shown with debug_print; the user sees only the nvcc build's outcome. */
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject *text = value ? PyObject_Str(value) : NULL;
  const char *msg = text ? PyUnicode_AsUTF8(text) : NULL;
  snprintf(fallback_reason, sizeof fallback_reason, "%s: %s", func->name ? func->name : "?",
           msg ? msg : "unknown error");
  PyErr_Clear();
  Py_XDECREF(text);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  if (opt->debug_print) {
    write_stdout("parpy: the NVRTC build of ");
    write_stdout(fallback_reason);
    write_stdout("\nparpy: building it with nvcc instead\n");
  }
  code->len = 0;
  if (sig)
    sig->len = 0;
  force_nvcc = true;
  bool ok = build_code(func, specs, n, opts, true, opt, a, code, sig);
  force_nvcc = false;
  return ok && build_load(opt, buf_cstr(code), func->name, "jit", sig ? buf_cstr(sig) : NULL, lib);
}

PyObject *mod_cuda_compiler(PyObject *self, PyObject *unused) {
  (void)self, (void)unused;
  char why[512] = "", load_why[512] = "";
  bool nvrtc, loads;
  Py_BEGIN_ALLOW_THREADS
  nvrtc = rt_cuda_use_nvrtc(why, sizeof why);
  loads = rt_nvrtc_loads(load_why, sizeof load_why);
  Py_END_ALLOW_THREADS
  PyObject *missing = loads ? Py_None : PyUnicode_FromString(load_why);
  if (loads)
    Py_INCREF(Py_None);
  return missing ? Py_BuildValue("(sssN)", nvrtc ? "nvrtc" : "nvcc", nvrtc ? "" : why,
                                 fallback_reason, missing)
                 : NULL;
}
