/* libfile.c - the library files of the disk cache: the trailer written at
 * build time, the checks made before a file is mapped, and dlopen of exactly
 * the file that was checked.
 *
 * dlopen maps a library without reading it: a file cut short (a full disk,
 * a killed copy, a bad backup) loads and then dies of SIGBUS at its first
 * use, and any file under a key's name would run as that key's code.  So a
 * library carries a trailer, [magic][key][SHA-256 of all bytes before the
 * hash], and nothing is mapped whose trailer does not match: the bytes that
 * were written are the bytes that load, and a library copied from another
 * key is refused.  The ELF loader ignores bytes after the last section. */
#define _GNU_SOURCE /* O_NOFOLLOW, UTIME_OMIT */
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char MAGIC[16] = "\0PARPY-LIBRARY1";
enum { HASH = 32, KEY = 64, TRAILER = 16 + KEY + HASH, MAX_LIB = 1 << 30 };

static bool read_at(int fd, void *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n, at);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    p = (char *)p + r;
    n -= (size_t)r;
    at += r;
  }
  return true;
}

static bool write_at(int fd, const void *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p = (const char *)p + w;
    n -= (size_t)w;
    at += w;
  }
  return true;
}

/* SHA-256 of the first `n` bytes of fd, then of `extra`. */
static bool hash_file(int fd, off_t n, const void *extra, size_t nextra, unsigned char out[32]) {
  Sha256 s;
  sha256_init(&s);
  char chunk[65536];
  for (off_t at = 0; at < n;) {
    size_t want = (size_t)(n - at) < sizeof chunk ? (size_t)(n - at) : sizeof chunk;
    if (!read_at(fd, chunk, want, at))
      return false;
    sha256_update(&s, chunk, want);
    at += (off_t)want;
  }
  sha256_update(&s, extra, nextra);
  sha256_final(&s, out);
  return true;
}

bool rt_lib_seal(int fd, const char *key) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return false;
  unsigned char t[TRAILER];
  memcpy(t, MAGIC, 16);
  memcpy(t + 16, key, KEY);
  if (!hash_file(fd, st.st_size, t, 16 + KEY, t + 16 + KEY))
    return false;
  return write_at(fd, t, sizeof t, st.st_size);
}

static const char CUBIN_MAGIC[8] = "PPCUBIN1";

bool rt_lib_append_cubin(int fd, const void *cubin, size_t n) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return false;
  unsigned char foot[16];
  for (int i = 0; i < 8; i++)
    foot[i] = (unsigned char)((uint64_t)n >> (8 * i));
  memcpy(foot + 8, CUBIN_MAGIC, 8);
  return write_at(fd, cubin, n, st.st_size) &&
         write_at(fd, foot, sizeof foot, st.st_size + (off_t)n);
}

bool rt_lib_read_cubin(int fd, Buf *out) {
  struct stat st;
  unsigned char foot[16];
  if (fstat(fd, &st) != 0 || st.st_size < TRAILER + 16)
    return false;
  off_t end = st.st_size - TRAILER - 16;
  if (!read_at(fd, foot, sizeof foot, end) || memcmp(foot + 8, CUBIN_MAGIC, 8) != 0)
    return false;
  uint64_t n = 0;
  for (int i = 0; i < 8; i++)
    n |= (uint64_t)foot[i] << (8 * i);
  if (n == 0 || n > (uint64_t)end)
    return false;
  char *p = malloc((size_t)n);
  bool ok = p && read_at(fd, p, (size_t)n, end - (off_t)n);
  if (ok)
    buf_put(out, p, (size_t)n);
  free(p);
  return ok;
}

/* Whether the open regular file is a sealed library of `key`. */
static bool sealed(int fd, off_t size, const char *key) {
  unsigned char t[TRAILER], h[HASH];
  if (size <= TRAILER || size > MAX_LIB || !read_at(fd, t, sizeof t, size - TRAILER))
    return false;
  if (memcmp(t, MAGIC, 16) != 0 || memcmp(t + 16, key, KEY) != 0)
    return false;
  return hash_file(fd, size - TRAILER, t, 16 + KEY, h) && memcmp(h, t + 16 + KEY, HASH) == 0;
}

/* Errors that say something about the process or the machine rather than
 * about the file. */
static bool resource_error(int e) {
  return e == EMFILE || e == ENFILE || e == ENOMEM || e == EINTR || e == EIO || e == EAGAIN;
}

LibState rt_lib_open(int dirfd, const char *dir, const char *key, int *fd, Diag *d, Arena *a) {
  char name[80];
  snprintf(name, sizeof name, "%s.so", key);
  /* O_NONBLOCK: a FIFO under the name would block open(); it is refused
   * below like anything that is not a regular file. */
  *fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (*fd < 0) {
    if (errno == ENOENT)
      return LIB_MISSING;
    if (resource_error(errno)) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot open the cached library %s/%s: %s", dir,
                 name, strerror(errno));
      return LIB_ERROR;
    }
    return LIB_INVALID; /* a symbolic link (ELOOP), unreadable, ... */
  }
  struct stat st;
  bool ok = fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            !(st.st_mode & (S_IWGRP | S_IWOTH));
  int e = errno;
  if (ok) {
    errno = 0;
    ok = sealed(*fd, st.st_size, key);
    e = errno;
  }
  if (ok)
    return LIB_OK;
  close(*fd);
  *fd = -1;
  if (resource_error(e)) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot read the cached library %s/%s: %s", dir,
               name, strerror(e));
    return LIB_ERROR;
  }
  return LIB_INVALID;
}

/* Libraries are unloaded (evicted), but what they brought in must stay:
 * libgomp's pooled threads keep running its code after the last library
 * using it is gone, and a CUDA runtime unloaded under its own callbacks
 * crashes.  So every shared object that is not one of ours is marked
 * never to be unloaded (RTLD_NOLOAD | RTLD_NODELETE changes only that). */
static bool ours(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  size_t n = strlen(base);
  return strncmp(name, "/proc/self/fd/", 14) == 0 || strncmp(base, "tmp-", 4) == 0 ||
         (n == 67 && strcmp(base + 64, ".so") == 0);
}

static _Atomic unsigned long long pinned_adds; /* dlpi_adds when last pinned */

/* The names to pin, gathered by one dl_iterate_phdr walk.  They are pinned
 * after the walk: dlopen inside its callback would take the loader's lock
 * while the walk holds the lock a dlopen in another thread waits for (two
 * threads loading libraries deadlocked that way). */
typedef struct {
  bool first;
  char **names;
  size_t n, cap;
} PinWalk;

static int gather(struct dl_phdr_info *info, size_t size, void *data) {
  PinWalk *w = data;
  if (w->first) {
    /* Only the library itself loaded since the last walk (or nothing: it
     * was loaded already): it brought no new dependency to pin. */
    w->first = false;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) && info->dlpi_adds - pinned_adds <= 1)
      return 1;
    pinned_adds = info->dlpi_adds;
  }
  if (!info->dlpi_name || !info->dlpi_name[0] || ours(info->dlpi_name))
    return 0;
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 32;
    char **more = realloc(w->names, cap * sizeof *more);
    if (!more)
      return 1; /* best effort: pin what was gathered */
    w->names = more;
    w->cap = cap;
  }
  char *copy = strdup(info->dlpi_name);
  if (copy)
    w->names[w->n++] = copy;
  return 0;
}

static void pin_dependencies(void) {
  PinWalk w = {.first = true};
  dl_iterate_phdr(gather, &w);
  for (size_t i = 0; i < w.n; i++) {
    void *h = dlopen(w.names[i], RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (h)
      dlclose(h); /* drops the reference just taken, not the mark */
    free(w.names[i]);
  }
  free(w.names);
}

/* The loader takes a name it has seen before for the library it loaded
 * then, so the name must say which library: /proc/self/fd/<n> alone would
 * be reused across files.  The directory's descriptor plus the key's file
 * name is unique per key (or per temporary) and resolves in the directory that was checked,
 * whatever its path now leads to. */
void *rt_lib_dlopen(int dirfd, const char *name, const char *path) {
  char proc[160];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
  if (access(proc, F_OK) == 0)
    path = proc;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h)
    pin_dependencies();
  return h;
}

void rt_lib_touch(int fd) {
  struct timespec t[2] = {{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}};
  futimens(fd, t); /* best effort: only the order of eviction depends on it */
}
