/* build.c - running the system compiler.  The code goes to a temporary
 * source file in the cache directory, the compiler writes a temporary
 * library beside it, and only a finished library is renamed into place: a
 * killed build never leaves a half-written file under a name that loads. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

enum { MAX_OUTPUT = 64 * 1024 }; /* of compiler messages kept for the error */

/* tmp-<pid>-<16 hex digits>: unique across processes and threads; O_EXCL
 * makes a clash a retry instead of two builds sharing a file. */
static int create_temp(const char *dir, const char *ext, char **src, char **lib, Diag *d,
                       Arena *a) {
  static atomic_uint_fast64_t counter;
  for (int tries = 0; tries < 100; tries++) {
    uint64_t seed[3] = {(uint64_t)getpid(), atomic_fetch_add(&counter, 1),
                        (uint64_t)(rt_now() * 1e9)};
    char *stem = arena_printf(a, "%s/tmp-%ld-%016" PRIx64, dir, (long)getpid(),
                              fnv1a(seed, sizeof seed));
    *src = arena_printf(a, "%s%s", stem, ext);
    *lib = arena_printf(a, "%s.so", stem);
    int fd = open(*src, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) {
      if (fd < 0)
        diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot write the generated code to %s: %s",
                   *src, strerror(errno));
      return fd;
    }
  }
  diag_error(d, a, DIAG_RUNTIME, (Span){0}, "found no free temporary file name in %s", dir);
  return -1;
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Run argv (the program found at `exe`) with stdin from /dev/null and
 * stdout+stderr into `out`; returns 0 or the errno of a failed start. */
static int run_captured(const char *exe, const char *const *argv, Buf *out, int *status) {
  /* Close-on-exec from the start, so that a child another thread starts
   * meanwhile does not hold the write end open and stall our read. */
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return errno;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  /* The compiler gets default signal handling whatever Python set up
   * (it ignores SIGPIPE; threads may block signals). */
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &fa, &attr, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc == 0) {
    char chunk[4096];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) != 0) {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      if (out->len < MAX_OUTPUT)
        buf_put(out, chunk, (size_t)n);
    }
    while (waitpid(pid, status, 0) < 0) {
      if (errno != EINTR) { /* reaped by someone else: the files will tell */
        *status = 0;
        break;
      }
    }
  }
  close(fds[0]);
  return rc;
}

static char *describe_status(int status, const char *argv0, Arena *a) {
  if (WIFSIGNALED(status))
    return arena_printf(a, "%s was killed by signal %d (%s)", argv0, WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
  return arena_printf(a, "%s exited with status %d", argv0, WEXITSTATUS(status));
}

/* The message of a failed build; the source stays for the user to look at
 * only when write_output asks for it. */
static void build_failed(const Options *opt, const char *src, const char *lib, Buf *msg,
                         Diag *d, Arena *a) {
  unlink(lib);
  while (msg->len > 0 && (msg->data[msg->len - 1] == '\n' || msg->data[msg->len - 1] == ' '))
    msg->data[--msg->len] = '\0';
  if (opt->write_output)
    buf_printf(msg, "\nThe code was kept in %s", src);
  else
    unlink(src);
  diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s", buf_cstr(msg));
}

bool rt_build(const Target *t, const Options *opt, const char *code, const char *dir,
              const char *lib, const char *incdir, Diag *d, Arena *a) {
  char *src, *tmplib;
  int fd = create_temp(dir, t->src_ext, &src, &tmplib, d, a);
  if (fd < 0)
    return false;
  bool written = write_all(fd, code, strlen(code));
  int werr = errno;
  if (close(fd) != 0 && written) {
    written = false;
    werr = errno;
  }
  if (!written) {
    unlink(src);
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot write the generated code to %s: %s", src,
               strerror(werr));
    return false;
  }
  const char **argv = t->build_cmd(opt, src, tmplib, incdir, a);
  const char *exe = rt_find_program(argv[0], a);
  Buf msg, output;
  buf_init(&msg);
  buf_init(&output);
  int status = 0, rc = exe ? run_captured(exe, argv, &output, &status) : 0;
  if (!exe) {
    buf_printf(&msg, "cannot start the %s compiler: `%s` is not an executable file%s", t->lang,
               argv[0], strchr(argv[0], '/') ? "" : " on PATH");
  } else if (rc != 0) {
    buf_printf(&msg, "cannot start the %s compiler `%s`: %s", t->lang, exe, strerror(rc));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    buf_printf(&msg, "compiling the generated %s code failed (%s):\n%s", t->lang,
               describe_status(status, argv[0], a),
               output.len ? buf_cstr(&output) : "(the compiler printed nothing)");
    if (output.len >= MAX_OUTPUT)
      buf_puts(&msg, "\n(compiler output truncated)");
  } else if (rename(tmplib, lib) != 0) {
    buf_printf(&msg, "%s reported success but its library %s cannot be moved to %s: %s\n%s",
               argv[0], tmplib, lib, strerror(errno), buf_cstr(&output));
  }
  bool ok = msg.len == 0;
  if (ok)
    unlink(src);
  else
    build_failed(opt, src, tmplib, &msg, d, a);
  buf_free(&output);
  buf_free(&msg);
  return ok;
}
