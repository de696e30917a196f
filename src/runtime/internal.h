/* internal.h - what the runtime's files share with one another; not part of
 * the public interface (runtime.h). */
#ifndef PARPY_RUNTIME_INTERNAL_H
#define PARPY_RUNTIME_INTERNAL_H

#include <pthread.h>

#include "runtime.h"

/* config.c: process-wide state (settings, memoised hashes, the cache
 * directory) is touched only under this lock, since callers may run on
 * several threads with the GIL released. */
extern pthread_mutex_t rt_lock;

/* Copies of the rt_configure settings, in `a`; false (with *d filled) when
 * rt_configure was never called. */
bool rt_settings(const char **incdir, const char **version, Diag *d, Arena *a);

/* cachedir.c: the cache directory; `recheck` skips the per-process memo
 * (a build is about to write into it, so make sure it still exists). */
const char *rt_cache_dir_checked(bool recheck, Diag *d, Arena *a);

/* key.c */
/* The file a program name runs: argv0 itself when it has a '/', else the
 * first executable of that name on $PATH; NULL when there is none. */
char *rt_find_program(const char *argv0, Arena *a);
/* The disk-cache key (64 hex digits) of a library; `argv` is the build
 * command with placeholder paths. */
void rt_cache_key(const char *version, const char *origin, const char *code,
                  const char *const *argv, const char *incdir, char out[65]);

/* build.c: compile `code` with target `t` into the library `lib` inside
 * the cache directory `dir`, through a temporary name. */
bool rt_build(const Target *t, const Options *opt, const char *code, const char *dir,
              const char *lib, const char *incdir, Diag *d, Arena *a);

#endif
