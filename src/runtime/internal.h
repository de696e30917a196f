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

/* cachedir.c: the cache directory, opened (created 0700 if missing) and
 * checked through the descriptor: a directory, ours, not writable by group
 * or others.  Every file operation of one lookup goes through this
 * descriptor, so swapping the path for a symbolic link after the check
 * changes nothing.  Returns the descriptor (close it) and its path in *path,
 * or -1 with *d filled. */
int rt_cache_open(const char **path, Diag *d, Arena *a);

/* key.c */
/* The file a program name runs: argv0 itself when it has a '/', else the
 * first executable of that name on $PATH; NULL when there is none. */
char *rt_find_program(const char *argv0, Arena *a);
/* The disk-cache key (64 hex digits) of a library; `argv` is the build
 * command with placeholder paths. */
void rt_cache_key(const char *version, const char *origin, const char *code,
                  const char *const *argv, const char *incdir, char out[65]);

/* libfile.c: the library files, <key>.so.  A library ends with a trailer
 * written when it was built (magic, the key, a SHA-256 of everything before
 * it), so a truncated, damaged or foreign file is recognised before dlopen
 * maps it (a truncated ELF file loads, then dies of SIGBUS). */
typedef enum LibState {
  LIB_OK,      /* *fd: the verified file, open */
  LIB_MISSING, /* no such file */
  LIB_INVALID, /* something else sits under the name: replace it */
  LIB_ERROR    /* the file could not be checked (resources): *d says why */
} LibState;
LibState rt_lib_open(int dirfd, const char *dir, const char *key, int *fd, Diag *d, Arena *a);
/* Append the trailer to the freshly built library open as `fd`. */
bool rt_lib_seal(int fd, const char *key);
/* dlopen the file `name` of the directory open as `dirfd` (through
 * /proc/self/fd when there is one, else `path`); NULL with dlerror(). */
void *rt_lib_dlopen(int dirfd, const char *name, const char *path);
/* Record a use of the library (its access time: least recently used
 * libraries go first when the cache is over its size limit). */
void rt_lib_touch(int fd);

/* lock.c: one build per key per machine.  <key>.lock beside the library
 * is held (flock) by the process building it; others wait for it.  The
 * same lock tells temporaries of live builds from those of dead ones. */
/* Wait for and take the lock of `key`: its descriptor, or -1 with *d
 * filled (an error, or an interrupt). */
int rt_lock_key(int dirfd, const char *dir, const char *key, Diag *d, Arena *a);
/* Release a lock taken by rt_lock_key (the file is removed first). */
void rt_unlock_key(int dirfd, const char *key, int fd);
/* Whether a build holds the lock of `key` now. */
bool rt_key_busy(int dirfd, const char *key);
/* Remove the lock file of `key` unless a build holds it. */
void rt_remove_lock(int dirfd, const char *key);
/* Remove the temporary `name` (tmp-<key>-*) unless a live build owns it;
 * true when it is gone. */
bool rt_remove_unowned(int dirfd, const char *name);
/* Remove temporaries (tmp-<key>-*) of builds that are no longer running,
 * and libraries least recently used while the cache is larger than its
 * limit (rt_cache_limit), never `keep`. */
void rt_tidy(int dirfd, const char *keep);
/* $PARPY_CACHE_SIZE in bytes (suffixes K, M, G), default 1 GiB; 0: none. */
uint64_t rt_cache_limit(void);

/* The interrupt check set by rt_set_interrupt (NULL: none): long waits
 * (a compiler, another build's lock) call it every few tens of ms. */
bool rt_interrupted(void);

/* build.c: compile `code` with target `t` into <key>.so inside the cache
 * directory (open as `dirfd`), through temporary names; on success
 * *handle is the new library, loaded before it was renamed into place (so
 * that a concurrent clear_cache cannot take it away first).  `argv` is the
 * compiler's command with the placeholders SRC and LIB.  With `nvrtc` (the
 * options of rt_nvrtc_options) the C compiler builds the host part
 * (rt_nvrtc_host_cmd) while NVRTC compiles the kernels in this thread, and
 * the cubin, also left in *cubin, goes into the file. */
bool rt_build(const Target *t, const Options *opt, const char *code, const char *const *nvrtc,
              int dirfd, const char *dir, const char *key, const char *incdir, void **handle,
              Buf *cubin, Diag *d, Arena *a);

/* libfile.c: the cubin of an NVRTC library, between the ELF image and the
 * trailer: [cubin][its size, 8 bytes little-endian]["PPCUBIN1"]. */
bool rt_lib_append_cubin(int fd, const void *cubin, size_t n);
/* The cubin of the checked library open as `fd`; false when it has none. */
bool rt_lib_read_cubin(int fd, Buf *out);

/* nvrtc.c */
/* The NVRTC options for `opt` (the first entry is NVRTC's identity, for
 * the cache key, not an option), NULL-terminated, in `a`. */
const char **rt_nvrtc_options(const Options *opt, const char *incdir, Arena *a);
/* Compile the code's device part to a cubin; false with the log in *msg. */
bool rt_nvrtc_compile(const char *code, const char *const *options, Buf *cubin, Buf *msg);
/* Load the cubin into the current context and hand its kernels to the
 * library (<f>__kernels, <f>__bind); once per loaded library, counted.  A
 * failure of the driver makes every later build of the process use nvcc. */
bool rt_nvrtc_bind(void *handle, const char *fname, const void *cubin, size_t n, Diag *d,
                   Arena *a);
/* Drop a reference taken by rt_nvrtc_bind; the last unloads the module. */
void rt_nvrtc_release(void *handle);
/* The C compiler's command for the host part, placeholders SRC and LIB. */
const char **rt_nvrtc_host_cmd(const char *src, const char *lib, const char *incdir, Arena *a);

/* cuda_sim.c: the functions of libcudart that cuda.c calls, simulated
 * on host memory (PARPY_CUDA_SIM=1). */
typedef struct RtSimApi {
  int (*GetDeviceCount)(int *);
  int (*GetDevice)(int *);
  int (*DeviceGetAttribute)(int *, int, int);
  int (*Malloc)(void **, size_t);
  int (*Free)(void *);
  int (*Memcpy)(void *, const void *, size_t, int);
  int (*MemcpyAsync)(void *, const void *, size_t, int, void *);
  int (*MemsetAsync)(void *, int, size_t, void *);
  int (*StreamSynchronize)(void *);
  int (*DeviceSynchronize)(void);
  int (*GetLastError)(void);
  const char *(*GetErrorString)(int);
  int (*RuntimeGetVersion)(int *);
  int (*DriverGetVersion)(int *);
  int (*GetDeviceProperties)(void *, int);
} RtSimApi;
extern const RtSimApi rt_sim_api;

#endif
