/* build.c - the three steps a cache miss takes: compile the function for
 * the arguments, build and load the code, and call it.  Shared by jitted
 * calls, print_compiled and compile_string. */
#include <stdio.h>

#include "module.h"

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

bool build_code(Func *func, const ArgSpec *specs, int n, PyObject *opts, bool strict,
                Options *opt, Arena *a, Buf *code) {
  if (!options_from_py(opts, strict, opt, a))
    return false;
  Prog p;
  prog_init(&p, func, opt);
  p.nargs = n;
  p.args = args_copy(&p.arena, specs, n);
  bool ok = compile_prog(&p, code);
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

bool build_load(const Options *opt, const char *code, const char *fname, const char *origin,
                Library *lib) {
  Diag d = {0};
  Arena a;
  arena_init(&a);
  bool ok;
  *lib = (Library){0};
  Py_BEGIN_ALLOW_THREADS
  ok = rt_load(opt, code, fname, origin, lib, &d, &a);
  Py_END_ALLOW_THREADS
  pp_stats.loads++;
  if (ok && !lib->entry) {
    diag_error(&d, &a, DIAG_INTERNAL, (Span){0}, "the library of %s has no entry point", fname);
    ok = false;
  }
  if (!ok) {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &a, DIAG_INTERNAL, (Span){0}, "loading the code of %s failed", fname);
    raise_diag(&d);
  }
  arena_free(&a);
  return ok;
}

PyObject *build_call(const Library *lib, void **slots, const char *fname) {
  int32_t rc;
  char msg[1024] = "";
  Py_BEGIN_ALLOW_THREADS
  rc = lib->entry(slots);
  /* Read the message before another call can overwrite it. */
  if (rc != 0 && lib->error) {
    const char *m = lib->error();
    snprintf(msg, sizeof msg, "%s", m ? m : "");
  }
  Py_END_ALLOW_THREADS
  if (rc == 0)
    Py_RETURN_NONE;
  if (msg[0])
    return pp_raise(DIAG_RUNTIME, "%s failed: %s", fname, msg);
  return pp_raise(DIAG_RUNTIME, "the compiled code of %s failed with error code %d", fname,
                  (int)rc);
}
