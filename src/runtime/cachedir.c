/* cachedir.c - where the libraries live, and the checks that make it safe
 * to load what is found there: a library in a directory that someone else
 * can write to is code that someone else chose. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char *memo; /* the directory last found good (rt_lock) */

static const char *home_dir(char *pwbuf, size_t size) {
  const char *home = getenv("HOME");
  if (home && *home)
    return home;
  struct passwd pw, *res = NULL;
  if (getpwuid_r(geteuid(), &pw, pwbuf, size, &res) == 0 && res && res->pw_dir)
    return res->pw_dir;
  return NULL;
}

/* The directory the environment asks for: absolute, no trailing '/'. */
static bool wanted_dir(Buf *out, Diag *d, Arena *a) {
  const char *env = getenv("PARPY_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
  char pwbuf[4096];
  const char *home;
  if (env && *env) {
    buf_puts(out, env);
  } else if (xdg && xdg[0] == '/') { /* XDG says to ignore relative paths */
    buf_printf(out, "%s/parpy", xdg);
  } else if ((home = home_dir(pwbuf, sizeof pwbuf))) {
    buf_printf(out, "%s/.cache/parpy", home);
  } else {
    diag_error(d, a, DIAG_RUNTIME, (Span){0},
               "ParPy found no home directory for its cache; set PARPY_CACHE_DIR");
    return false;
  }
  if (out->data[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
      diag_error(d, a, DIAG_RUNTIME, (Span){0},
                 "cannot resolve the relative ParPy cache directory %s: %s", out->data,
                 strerror(errno));
      return false;
    }
    char *rel = buf_detach(out);
    buf_printf(out, "%s/%s", cwd, rel);
    free(rel);
  }
  while (out->len > 1 && out->data[out->len - 1] == '/')
    out->data[--out->len] = '\0';
  return true;
}

/* mkdir -p with mode 0700; true if `path` itself was created. */
static bool make_dirs(char *path, bool *created, Diag *d, Arena *a) {
  *created = false;
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    struct stat st;
    if (stat(path, &st) != 0) {
      if (errno != ENOENT || (mkdir(path, 0700) != 0 && errno != EEXIST)) {
        int e = errno;
        diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot create the ParPy cache directory %s: %s",
                   path, strerror(e));
        *p = c;
        return false;
      }
      *created = c == '\0';
    }
    *p = c;
    if (c == '\0')
      return true;
  }
}

static bool refuse(const char *path, const char *why, Diag *d, Arena *a) {
  diag_error(d, a, DIAG_RUNTIME, (Span){0},
             "refusing to use the ParPy cache directory %s: %s; set PARPY_CACHE_DIR to a "
             "directory that only you can write to",
             path, why);
  return false;
}

static bool prepare_dir(char *path, Diag *d, Arena *a) {
  bool created;
  if (!make_dirs(path, &created, d, a))
    return false;
  if (created)
    chmod(path, 0700); /* whatever the umask took away */
  struct stat st;
  if (stat(path, &st) != 0)
    return refuse(path, strerror(errno), d, a);
  if (!S_ISDIR(st.st_mode))
    return refuse(path, "it is not a directory", d, a);
  if (st.st_uid != geteuid()) {
    char why[96];
    snprintf(why, sizeof why, "it is owned by another user (uid %u; you are uid %u)",
             (unsigned)st.st_uid, (unsigned)geteuid());
    return refuse(path, why, d, a);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char why[96];
    snprintf(why, sizeof why, "its group or other users can write to it (mode %03o)",
             (unsigned)(st.st_mode & 0777));
    return refuse(path, why, d, a);
  }
  return true;
}

const char *rt_cache_dir_checked(bool recheck, Diag *d, Arena *a) {
  Buf want;
  buf_init(&want);
  if (!wanted_dir(&want, d, a)) {
    buf_free(&want);
    return NULL;
  }
  const char *dir = NULL;
  pthread_mutex_lock(&rt_lock);
  if (!recheck && memo && strcmp(memo, want.data) == 0)
    dir = arena_strdup(a, memo);
  pthread_mutex_unlock(&rt_lock);
  if (!dir && prepare_dir(want.data, d, a)) {
    dir = arena_strdup(a, want.data);
    char *copy = strdup(want.data);
    pthread_mutex_lock(&rt_lock);
    free(memo);
    memo = copy;
    pthread_mutex_unlock(&rt_lock);
  }
  buf_free(&want);
  return dir;
}

const char *rt_cache_dir(Diag *d, Arena *a) { return rt_cache_dir_checked(false, d, a); }

/* Only names parpy gives: <64 hex digits>.so and tmp-* (builds in progress
 * or killed, and sources kept by write_output). */
static bool is_parpy_file(const char *name) {
  if (strncmp(name, "tmp-", 4) == 0)
    return true;
  for (int i = 0; i < 64; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
      return false;
  return strcmp(name + 64, ".so") == 0;
}

bool rt_clear_disk_cache(Diag *d, Arena *a) {
  const char *dir = rt_cache_dir(d, a);
  if (!dir)
    return false;
  DIR *dp = opendir(dir);
  if (!dp) {
    if (errno == ENOENT)
      return true;
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot read the ParPy cache directory %s: %s", dir,
               strerror(errno));
    return false;
  }
  int fd = dirfd(dp);
  struct dirent *e;
  while ((e = readdir(dp))) {
    struct stat st;
    if (!is_parpy_file(e->d_name) || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT)
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot remove %s/%s from the ParPy cache: %s",
                 dir, e->d_name, strerror(errno));
  }
  closedir(dp);
  return d->kind == DIAG_NONE;
}
