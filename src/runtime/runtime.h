/* runtime.h - from source text to a loaded function: the compiler driver,
 * the disk cache and the dynamic loader.  Plain C (POSIX), no CPython, so it
 * can run with the GIL released.
 *
 * Disk cache (DESIGN.md section 7): $PARPY_CACHE_DIR, else
 * $XDG_CACHE_HOME/parpy, else ~/.cache/parpy; created 0700 and refused when
 * another user owns it or others may write it.  A library is built under a
 * temporary name and renamed into place, so a killed build never leaves a
 * half-written library behind.  Its name is the SHA-256 of everything that
 * decides its contents: the code, the compiler (path, size, mtime), every
 * flag, the target architecture, parpy's headers and version.  A cache hit
 * starts no process.
 *
 * The files: runtime/config.c (settings, clock), cachedir.c (the directory,
 * its checks, clearing), key.c (the cache key), build.c (running the
 * compiler), load.c (rt_load, dlopen).  Every function here may be called
 * from several threads at once. */
#ifndef PARPY_RUNTIME_H
#define PARPY_RUNTIME_H

#include "../target/target.h"

typedef int32_t (*EntryFn)(void **args);
typedef const char *(*ErrorFn)(void);

typedef struct Library {
  void *handle;
  EntryFn entry;
  const char *signature; /* inside the library */
  ErrorFn error;         /* NULL when the library has none */
} Library;

/* Set once at import: the directory holding parpy's C headers, and the
 * package version that goes into every cache key.  Both are copied. */
void rt_configure(const char *include_dir, const char *version);

/* Build `code` for opt->backend unless the disk cache has it, load it and
 * look up <fname>__entry, <fname>__signature and <fname>__error.
 * `origin` ("jit" or "string") separates compile_string libraries in the key.
 * On failure fills *d (messages in `a`): a compiler error carries the
 * compiler's output, and with opt->write_output the path of the kept source;
 * a library without <fname>__entry or <fname>__signature is explained with
 * the calling convention of target.h.  Libraries are never unloaded. */
bool rt_load(const Options *opt, const char *code, const char *fname, const char *origin,
             Library *out, Diag *d, Arena *a);

/* The cache directory, creating it (0700) if needed; NULL on error. */
const char *rt_cache_dir(Diag *d, Arena *a);
/* Remove every file parpy put in the cache directory (<key>.so and tmp-*,
 * which includes sources kept by write_output); nothing else, no recursion. */
bool rt_clear_disk_cache(Diag *d, Arena *a);

/* Monotonic clock in seconds, for timings. */
double rt_now(void);

#endif
