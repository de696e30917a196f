/* load.c - rt_load: from generated code to the entry points of a loaded
 * library, through the disk cache (see runtime.h for what is checked). */
#include <dlfcn.h>
#include <string.h>
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
  out->error_at = (ErrorAtFn)dlsym(h, arena_printf(a, "%s__error_at", f));
  if (!out->entry)
    return missing_symbol(path, entry, f, d, a);
  if (!out->signature)
    return missing_symbol(path, sig, f, d, a);
  return true;
}

/* The symbols of a loaded library; *stale: it carries another signature
 * than `expect_sig` (a library of another specialisation put under this
 * key), to be rebuilt.  The handle is closed on failure. */
static bool take(void *h, const char *path, const char *fname, const char *expect_sig,
                 Library *out, bool *stale, Diag *d, Arena *a) {
  *stale = false;
  if (!find_symbols(h, path, fname, out, d, a)) {
    dlclose(h);
    *out = (Library){0};
    return false;
  }
  if (expect_sig && strcmp(out->signature, expect_sig) != 0) {
    *stale = true;
    diag_error(d, a, DIAG_INTERNAL, (Span){0},
               "the library built for %s carries the signature \"%s\", not \"%s\"", fname,
               out->signature, expect_sig);
    dlclose(h);
    *out = (Library){0};
    return false;
  }
  return true;
}

/* What the cache holds under `key`, loaded: 1 loaded, 0 to be built, -1
 * an error (*d).  A library that passed the checks but does not load is
 * sound: what failed is the process (memory, mappings) or a dependency,
 * and that is what the error says; the file stays. */
/* An NVRTC library's kernels (its cubin) handed to it; the library is
 * closed on failure. */
static bool bind(const char *fname, const Buf *cubin, Library *out, Diag *d, Arena *a) {
  if (!rt_nvrtc_bind(out->handle, fname, cubin->data, cubin->len, d, a)) {
    dlclose(out->handle);
    *out = (Library){0};
    return false;
  }
  out->nvrtc = true;
  return true;
}

static int lookup(int dirfd, const char *dir, const char *key, const char *fname,
                  const char *expect_sig, bool nvrtc, Library *out, Diag *d, Arena *a) {
  int fd;
  const char *path = arena_printf(a, "%s/%s.so", dir, key);
  switch (rt_lib_open(dirfd, dir, key, &fd, d, a)) {
  case LIB_OK: break;
  case LIB_ERROR: return -1;
  default: return 0;
  }
  Buf cubin;
  buf_init(&cubin);
  if (nvrtc && !rt_lib_read_cubin(fd, &cubin)) { /* sealed, yet no cubin: rebuild */
    close(fd);
    return 0;
  }
  void *h = rt_lib_dlopen(dirfd, arena_printf(a, "%s.so", key), path);
  if (!h) {
    const char *why = dlerror();
    diag_error(d, a, DIAG_RUNTIME, (Span){0},
               "loading the compiled library %s failed: %s (the library itself is sound; it "
               "was kept)", path, why ? why : "unknown error");
    close(fd);
    buf_free(&cubin);
    return -1;
  }
  rt_lib_touch(fd);
  close(fd);
  bool stale;
  Diag td = {0}; /* a stale library is no error: it is rebuilt */
  int found = -1;
  if (take(h, path, fname, expect_sig, out, &stale, &td, a))
    found = !nvrtc || bind(fname, &cubin, out, d, a) ? 1 : -1;
  else if (stale)
    found = 0;
  else
    *d = td;
  buf_free(&cubin);
  return found;
}

static bool build_and_load(const Target *t, const Options *opt, const char *code,
                           const char *const *nvrtc, const char *fname, const char *expect_sig,
                           int dirfd, const char *dir, const char *key, const char *incdir,
                           Library *out, Diag *d, Arena *a) {
  void *h;
  Buf cubin;
  buf_init(&cubin);
  bool stale;
  bool ok = rt_build(t, opt, code, nvrtc, dirfd, dir, key, incdir, &h, &cubin, d, a) &&
            take(h, arena_printf(a, "%s/%s.so", dir, key), fname, expect_sig, out, &stale, d,
                 a) &&
            (!nvrtc || bind(fname, &cubin, out, d, a));
  buf_free(&cubin);
  return ok;
}

/* The command that goes into the key of an NVRTC library: the C
 * compiler's, then NVRTC's identity and options (with their -I, whose
 * headers the key follows). */
static const char **nvrtc_key_cmd(const char *const *nvrtc, const char *incdir, Arena *a) {
  const char **host = rt_nvrtc_host_cmd("SRC", "LIB", incdir, a);
  int nh = 0, nn = 0;
  while (host[nh])
    nh++;
  while (nvrtc[nn])
    nn++;
  const char **argv = ARENA_ARRAY(a, const char *, nh + nn + 2);
  memcpy(argv, host, sizeof *argv * (size_t)nh);
  argv[nh] = "--nvrtc";
  memcpy(argv + nh + 1, nvrtc, sizeof *argv * (size_t)nn);
  argv[nh + nn + 1] = NULL;
  return argv;
}

bool rt_load(const Options *opt, const char *code, const char *fname, const char *origin,
             const char *expect_sig, Library *out, Diag *d, Arena *a) {
  *out = (Library){0};
  const Target *t = target_get(opt->backend);
  if (!t) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0},
               "the %s backend is not supported by this build of ParPy",
               backend_name(opt->backend));
    return false;
  }
  const char *incdir, *version, *dir;
  if (!rt_settings(&incdir, &version, d, a))
    return false;
  int dirfd = rt_cache_open(&dir, d, a);
  if (dirfd < 0)
    return false;
  /* Placeholder paths: the key must not depend on temporary names. */
  char key[65];
  const char *const *nvrtc =
      opt->backend == BACKEND_CUDA && rt_nvrtc_is_code(code) ? rt_nvrtc_options(opt, incdir, a)
                                                             : NULL;
  rt_cache_key(version, origin, code,
               nvrtc ? nvrtc_key_cmd(nvrtc, incdir, a)
                     : t->build_cmd(opt, "SRC", "LIB", incdir, a),
               incdir, key);
  bool nv = nvrtc != NULL;
  int found = lookup(dirfd, dir, key, fname, expect_sig, nv, out, d, a);
  if (found == 0) {
    /* Build it, unless another build of the key is running: then wait for
     * it and take its library. */
    int lock = rt_lock_key(dirfd, dir, key, d, a);
    if (lock >= 0) {
      found = lookup(dirfd, dir, key, fname, expect_sig, nv, out, d, a);
      if (found == 0) {
        found = build_and_load(t, opt, code, nvrtc, fname, expect_sig, dirfd, dir, key, incdir,
                               out, d, a) ? 1 : -1;
        rt_tidy(dirfd, key);
      }
      rt_unlock_key(dirfd, key, lock);
    } else {
      found = -1;
    }
  }
  close(dirfd);
  return found == 1;
}

void rt_unload(Library *lib) {
  if (lib->handle && lib->nvrtc)
    rt_nvrtc_release(lib->handle);
  if (lib->handle)
    dlclose(lib->handle);
  *lib = (Library){0};
}

bool rt_nvrtc_check_build(const Options *opt, const char *code, const char *fname,
                          size_t *cubin_size, Diag *d, Arena *a) {
  *cubin_size = 0;
  const Target *t = target_get(BACKEND_CUDA);
  const char *incdir, *version, *dir;
  if (!t || !rt_settings(&incdir, &version, d, a))
    return false;
  if (!rt_nvrtc_is_code(code)) {
    diag_error(d, a, DIAG_VALUE, (Span){0}, "the code is not printed for the NVRTC path");
    return false;
  }
  int dirfd = rt_cache_open(&dir, d, a);
  if (dirfd < 0)
    return false;
  const char *const *nvrtc = rt_nvrtc_options(opt, incdir, a);
  char key[65];
  rt_cache_key(version, "check", code, nvrtc_key_cmd(nvrtc, incdir, a), incdir, key);
  int lock = rt_lock_key(dirfd, dir, key, d, a);
  bool ok = false;
  if (lock >= 0) {
    void *h = NULL;
    Buf cubin;
    buf_init(&cubin);
    ok = rt_build(t, opt, code, nvrtc, dirfd, dir, key, incdir, &h, &cubin, d, a);
    const char *missing = NULL;
    static const char *const syms[] = {"__entry", "__signature", "__kernels", "__bind"};
    for (size_t i = 0; ok && !missing && i < PP_COUNT(syms); i++)
      if (!dlsym(h, arena_printf(a, "%s%s", fname, syms[i])))
        missing = syms[i];
    if (missing) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "the library defines no %s%s", fname, missing);
      ok = false;
    }
    /* A cubin is an ELF image. */
    if (ok && (cubin.len < 4 || memcmp(cubin.data, "\x7f" "ELF", 4) != 0)) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "NVRTC's output is no cubin");
      ok = false;
    }
    *cubin_size = cubin.len;
    if (h)
      dlclose(h);
    buf_free(&cubin);
    rt_unlock_key(dirfd, key, lock);
  }
  close(dirfd);
  return ok;
}
