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

/* The opened directory must be a directory of ours that nobody else can
 * write to: checked on the descriptor, so what is checked is what is used. */
static bool check_dir(int fd, const char *path, Diag *d, Arena *a) {
  struct stat st;
  if (fstat(fd, &st) != 0)
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

int rt_cache_open(const char **path, Diag *d, Arena *a) {
  Buf want;
  buf_init(&want);
  int fd = -1;
  bool created;
  if (wanted_dir(&want, d, a) && make_dirs(want.data, &created, d, a)) {
    if (created)
      chmod(want.data, 0700); /* whatever the umask took away */
    /* The path may lead through symbolic links (~/.cache on another disk);
     * what it leads to is checked. */
    fd = open(want.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      refuse(want.data, errno == ENOTDIR ? "it is not a directory" : strerror(errno), d, a);
    else if (!check_dir(fd, want.data, d, a)) {
      close(fd);
      fd = -1;
    }
  }
  *path = fd >= 0 ? arena_strdup(a, want.data) : NULL;
  buf_free(&want);
  return fd;
}

const char *rt_cache_dir(Diag *d, Arena *a) {
  const char *path;
  int fd = rt_cache_open(&path, d, a);
  if (fd >= 0)
    close(fd);
  return path;
}

/* Names parpy gives: <64 hex digits>.so and .lock, tmp-* (builds in
 * progress or killed) and kept-* (sources kept by write_output). */
static bool is_parpy_file(const char *name) {
  if (strncmp(name, "tmp-", 4) == 0 || strncmp(name, "kept-", 5) == 0)
    return true;
  for (int i = 0; i < 64; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
      return false;
  return strcmp(name + 64, ".so") == 0 || strcmp(name + 64, ".lock") == 0;
}

/* A lock or a temporary goes only when no live build owns it (they are
 * left alone quietly); a library always can (the build that made it holds
 * it open until it is loaded).  False with errno when removing failed. */
static bool remove_entry(int fd, const char *name) {
  size_t n = strlen(name);
  if (n == 69 && strcmp(name + 64, ".lock") == 0) {
    char key[65];
    memcpy(key, name, 64);
    key[64] = '\0';
    rt_remove_lock(fd, key);
    return true;
  }
  if (strncmp(name, "tmp-", 4) == 0 && n > 69 && name[68] == '-') {
    rt_remove_unowned(fd, name);
    return true;
  }
  return unlinkat(fd, name, 0) == 0 || errno == ENOENT;
}

bool rt_clear_disk_cache(Diag *d, Arena *a) {
  Buf want;
  buf_init(&want);
  bool exists = wanted_dir(&want, d, a) && access(want.data, F_OK) == 0;
  buf_free(&want);
  if (d->kind != DIAG_NONE || !exists)
    return d->kind == DIAG_NONE; /* clearing a directory that is gone is no error */
  const char *dir;
  int fd = rt_cache_open(&dir, d, a);
  if (fd < 0)
    return false;
  DIR *dp = fdopendir(dup(fd));
  if (!dp) {
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot read the ParPy cache directory %s: %s", dir,
               strerror(errno));
    close(fd);
    return false;
  }
  struct dirent *e;
  while ((e = readdir(dp))) {
    struct stat st;
    if (!is_parpy_file(e->d_name) || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (!remove_entry(fd, e->d_name))
      diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot remove %s/%s from the ParPy cache: %s",
                 dir, e->d_name, strerror(errno));
  }
  closedir(dp);
  close(fd);
  return d->kind == DIAG_NONE;
}
