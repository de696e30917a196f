/* load.c - rt_load: from generated code to the entry points of a loaded
 * library, through the disk cache.  Libraries stay loaded for the life of
 * the process: they are small, and a function found in the cache must stay
 * callable. */
#include <dlfcn.h>
#include <unistd.h>

#include "internal.h"

/* The calling convention of target.h, for code that does not follow it
 * (hand-written code given to compile_string). */
static bool missing_symbol(const char *path, const char *sym, const char *f, Diag *d, Arena *a) {
  diag_error(d, a, DIAG_RUNTIME, (Span){0},
             "the compiled library %s does not define `%s`.\n"
             "A ParPy library must define\n"
             "  int32_t %s__entry(void **args);  /* one slot per argument, in order */\n"
             "  const char %s__signature[];      /* the arguments it was built for */\n"
             "and may define\n"
             "  const char *%s__error(void);     /* the message of a non-zero return */\n"
             "with C linkage; code given to compile_string must follow this convention.",
             path, sym, f, f, f);
  return false;
}

static bool find_symbols(void *h, const char *path, const char *f, Library *out, Diag *d,
                         Arena *a) {
  const char *entry = arena_printf(a, "%s__entry", f);
  const char *sig = arena_printf(a, "%s__signature", f);
  out->handle = h;
  out->entry = (EntryFn)dlsym(h, entry);
  out->signature = dlsym(h, sig);
  out->error = (ErrorFn)dlsym(h, arena_printf(a, "%s__error", f));
  if (!out->entry)
    return missing_symbol(path, entry, f, d, a);
  if (!out->signature)
    return missing_symbol(path, sig, f, d, a);
  return true;
}

static void *open_library(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }

bool rt_load(const Options *opt, const char *code, const char *fname, const char *origin,
             Library *out, Diag *d, Arena *a) {
  *out = (Library){0};
  const Target *t = target_get(opt->backend);
  if (!t) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0},
               "the %s backend is not supported by this build of ParPy",
               backend_name(opt->backend));
    return false;
  }
  const char *incdir, *version, *dir;
  if (!rt_settings(&incdir, &version, d, a) || !(dir = rt_cache_dir_checked(false, d, a)))
    return false;
  /* Placeholder paths: the key must not depend on temporary names. */
  char key[65];
  rt_cache_key(version, origin, code, t->build_cmd(opt, "SRC", "LIB", incdir, a), incdir, key);
  const char *lib = arena_printf(a, "%s/%s.so", dir, key);
  void *h = NULL;
  if (access(lib, F_OK) == 0 && !(h = open_library(lib)))
    unlink(lib); /* damaged (a full disk, a crash before it reached the disk): build again */
  if (!h) {
    /* About to write: the directory may have gone since it was first checked. */
    if (!rt_cache_dir_checked(true, d, a) || !rt_build(t, opt, code, dir, lib, incdir, d, a))
      return false;
    if (!(h = open_library(lib))) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "loading the compiled library %s failed: %s", lib,
                 dlerror());
      return false;
    }
  }
  if (find_symbols(h, lib, fname, out, d, a))
    return true;
  dlclose(h);
  *out = (Library){0};
  return false;
}
