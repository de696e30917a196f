/* lock.c - one build per key per machine, tidying, and the size limit.
 *
 * The process building <key>.so holds an exclusive flock on <key>.lock
 * beside it; a second process or thread wanting the same key waits for the
 * lock and then finds the library built.  flock locks belong to an open
 * file description, so threads of one process exclude one another too.
 * The holder removes the lock file before releasing it; a waiter that
 * wakes up holding a file that is no longer the one under the name (removed
 * or replaced) starts over, so two holders never coexist.
 *
 * The lock also tells whose temporaries are whose: tmp-<key>-* belong to a
 * live build exactly while <key>.lock is held, so clear_cache() and tidying
 * leave those alone and remove the rest (a build killed by SIGKILL). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static void lock_name(const char *key, char out[80]) { snprintf(out, 80, "%s.lock", key); }

static void nap(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

/* Whether `fd` is still the file under `name` (not removed or replaced). */
static bool still_there(int dirfd, const char *name, int fd) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rt_lock_key(int dirfd, const char *dir, const char *key, Diag *d, Arena *a) {
  char name[80];
  lock_name(key, name);
  for (;;) {
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot create the build lock %s/%s: %s", dir,
                 name, strerror(errno));
      return -1;
    }
    /* Polled rather than blocking, so that an interrupt is seen. */
    int rc;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
      if (rt_interrupted()) {
        close(fd);
        diag_error(d, a, DIAG_RUNTIME, (Span){0}, "interrupted");
        return -1;
      }
      nap();
    }
    if (rc != 0) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot lock %s/%s: %s", dir, name,
                 strerror(errno));
      close(fd);
      return -1;
    }
    if (still_there(dirfd, name, fd))
      return fd;
    close(fd); /* released by its last holder: take the new one */
  }
}

void rt_unlock_key(int dirfd, const char *key, int fd) {
  char name[80];
  lock_name(key, name);
  unlinkat(dirfd, name, 0);
  close(fd);
}

/* The lock of `key` if nobody holds it (-1 otherwise): a caller removing
 * what the key's builds leave behind holds it meanwhile. */
static int try_lock(int dirfd, const char *key) {
  char name[80];
  lock_name(key, name);
  int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return errno == ENOENT ? -2 : -1; /* -2: no lock file, so no build */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_there(dirfd, name, fd)) {
    close(fd);
    return -1;
  }
  return fd;
}

bool rt_key_busy(int dirfd, const char *key) {
  int fd = try_lock(dirfd, key);
  if (fd >= 0)
    close(fd);
  return fd == -1;
}

void rt_remove_lock(int dirfd, const char *key) {
  int fd = try_lock(dirfd, key);
  if (fd >= 0)
    rt_unlock_key(dirfd, key, fd);
}

static bool is_hex_key(const char *s) {
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* The key of tmp-<key>-..., or NULL (a name of an older ParPy). */
static const char *temp_key(const char *name, char key[65]) {
  if (strncmp(name, "tmp-", 4) != 0 || strlen(name) < 4 + 65 || !is_hex_key(name + 4) ||
      name[68] != '-')
    return NULL;
  memcpy(key, name + 4, 64);
  key[64] = '\0';
  return key;
}

bool rt_remove_unowned(int dirfd, const char *name) {
  char key[65];
  if (!temp_key(name, key))
    return false;
  int fd = try_lock(dirfd, key);
  if (fd == -1)
    return false; /* a live build's */
  bool gone = unlinkat(dirfd, name, 0) == 0 || errno == ENOENT;
  if (fd >= 0)
    rt_unlock_key(dirfd, key, fd);
  return gone;
}

uint64_t rt_cache_limit(void) {
  const char *env = getenv("PARPY_CACHE_SIZE");
  if (!env || !*env)
    return (uint64_t)1 << 30;
  char *end;
  unsigned long long v = strtoull(env, &end, 10);
  int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
              : *end == 'G' || *end == 'g' ? 30 : 0;
  if (end == env || (shift && end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
      || (!shift && *end))
    return (uint64_t)1 << 30; /* unreadable: the default */
  return v > (UINT64_MAX >> shift) ? UINT64_MAX : (uint64_t)v << shift;
}

typedef struct LibUse {
  char name[68];
  struct timespec used;
  off_t size;
} LibUse;

static int older(const void *x, const void *y) {
  const LibUse *a = x, *b = y;
  if (a->used.tv_sec != b->used.tv_sec)
    return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
  return a->used.tv_nsec < b->used.tv_nsec ? -1 : a->used.tv_nsec > b->used.tv_nsec;
}

static bool is_lib_name(const char *s) { return is_hex_key(s) && strcmp(s + 64, ".so") == 0; }

void rt_tidy(int dirfd, const char *keep) {
  int fd = dup(dirfd);
  DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
  if (!dp) {
    if (fd >= 0)
      close(fd);
    return;
  }
  uint64_t limit = rt_cache_limit(), total = 0;
  size_t n = 0, cap = 0;
  LibUse *libs = NULL;
  struct dirent *e;
  while ((e = readdir(dp))) {
    struct stat st;
    if (strncmp(e->d_name, "tmp-", 4) == 0) {
      rt_remove_unowned(dirfd, e->d_name);
    } else if (limit && is_lib_name(e->d_name) && strncmp(e->d_name, keep, 64) != 0 &&
               fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      total += (uint64_t)st.st_size;
      if (n == cap) {
        LibUse *more = realloc(libs, sizeof *libs * (cap = cap ? 2 * cap : 64));
        if (!more)
          break;
        libs = more;
      }
      memcpy(libs[n].name, e->d_name, 68); /* 64 hex digits, ".so", NUL */
      libs[n].used = st.st_atim;
      libs[n++].size = st.st_size;
    }
  }
  closedir(dp);
  /* The one just built counts too, but is never the one to go. */
  struct stat st;
  char kept[80];
  snprintf(kept, sizeof kept, "%s.so", keep);
  if (fstatat(dirfd, kept, &st, AT_SYMLINK_NOFOLLOW) == 0)
    total += (uint64_t)st.st_size;
  if (limit && total > limit && n) {
    qsort(libs, n, sizeof *libs, older);
    /* Removing a library another process has loaded is harmless: its
     * mapping outlives the name. */
    for (size_t i = 0; i < n && total > limit; i++)
      if (unlinkat(dirfd, libs[i].name, 0) == 0)
        total -= (uint64_t)libs[i].size;
  }
  free(libs);
}
