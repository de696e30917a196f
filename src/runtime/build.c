/* build.c - running the system compiler.  The code goes to a temporary
 * source file in the cache directory, the compiler writes a temporary
 * library beside it, and only a finished, sealed library is renamed into
 * place: a killed build never leaves a half-written file under a name that
 * loads.  The caller holds the key's lock (lock.c), which marks the
 * temporaries tmp-<key>-* as those of a live build.
 *
 * The compiler runs in its own process group, watched every 50 ms: an
 * interrupt (rt_interrupted) ends the whole group (gcc's cc1 and as too)
 * and removes the temporaries. */
#define _GNU_SOURCE /* pipe2 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

enum { MAX_OUTPUT = 64 * 1024, /* of compiler messages kept for the error */
       ATTEMPTS = 3 };        /* builds whose files were taken away */

typedef struct Temp {
  const char *src, *lib; /* names in the directory */
  const char *src_path, *lib_path;
} Temp;

/* tmp-<key>-<pid>-<16 hex digits>: unique across processes and threads;
 * O_EXCL makes a clash a retry instead of two builds sharing a file.  A
 * source kept for the user (write_output) is kept-<key><ext> instead, which
 * tidying leaves alone. */
static int create_temp(int dirfd, const char *dir, const char *key, const char *ext, bool keep,
                       Temp *t, Diag *d, Arena *a) {
  static atomic_uint_fast64_t counter;
  for (int tries = 0; tries < 100; tries++) {
    uint64_t seed[3] = {(uint64_t)getpid(), atomic_fetch_add(&counter, 1),
                        (uint64_t)(rt_now() * 1e9)};
    char *stem = arena_printf(a, "tmp-%s-%ld-%016" PRIx64, key, (long)getpid(),
                              fnv1a(seed, sizeof seed));
    t->src = keep ? arena_printf(a, "kept-%s%s", key, ext) : arena_printf(a, "%s%s", stem, ext);
    t->lib = arena_printf(a, "%s.so", stem);
    t->src_path = arena_printf(a, "%s/%s", dir, t->src);
    t->lib_path = arena_printf(a, "%s/%s", dir, t->lib);
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (keep ? O_TRUNC : O_EXCL);
    int fd = openat(dirfd, t->src, flags, 0600);
    if (fd >= 0 || errno != EEXIST) {
      if (fd < 0)
        diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot write the generated code to %s: %s",
                   t->src_path, strerror(errno));
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

/* End the compiler's process group: SIGTERM lets gcc remove its own
 * temporaries; what still runs 100 ms later gets SIGKILL. */
static void stop_group(pid_t pid, int *status) {
  kill(-pid, SIGTERM);
  for (int i = 0; i < 20; i++) {
    if (waitpid(pid, status, WNOHANG) == pid)
      goto done;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(-pid, SIGKILL);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
done:
  kill(-pid, SIGKILL); /* grandchildren that ignored SIGTERM */
}

static void read_output(int fd, Buf *out, bool *eof) {
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n > 0 && out->len < MAX_OUTPUT)
    buf_put(out, chunk, (size_t)n);
  *eof = n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

/* Work done in this thread while the compiler runs (NVRTC). */
typedef struct Meanwhile {
  const char *code;
  const char *const *nvrtc; /* NULL: nothing to do */
  Buf *cubin, *msg;
  bool ok;
} Meanwhile;

/* Run argv (the program found at `exe`) with stdin from /dev/null and
 * stdout+stderr into `out`; returns 0, the errno of a failed start, or
 * EINTR when interrupted (the compiler is stopped then).  `mw` (or NULL)
 * runs once the compiler has started. */
static int run_captured(const char *exe, const char *const *argv, Buf *out, int *status,
                        Meanwhile *mw) {
  /* Close-on-exec from the start, so that a child another thread starts
   * meanwhile does not hold the write end open and stall our read. */
  int fds[2];
#ifdef __APPLE__ /* no pipe2 there: a narrow window in which a child may inherit it */
  if (pipe(fds) != 0)
    return errno;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#else
  if (pipe2(fds, O_CLOEXEC) != 0)
    return errno;
#endif
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  /* The compiler gets default signal handling whatever Python set up
   * (it ignores SIGPIPE; threads may block signals), and its own process
   * group, so that it can be stopped with everything it started. */
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &fa, &attr, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc == 0 && mw && mw->nvrtc)
    /* The compiler's output waits in the pipe meanwhile (or blocks it
     * when it is larger than the pipe: then the compiler finishes after). */
    mw->ok = rt_nvrtc_compile(mw->code, mw->nvrtc, mw->cubin, mw->msg);
  if (rc == 0) {
    bool eof = false;
    while (!eof) {
      struct pollfd p = {.fd = fds[0], .events = POLLIN};
      int r = poll(&p, 1, 50);
      if (r > 0)
        read_output(fds[0], out, &eof);
      else if ((r == 0 || errno == EINTR) && rt_interrupted()) {
        stop_group(pid, status);
        close(fds[0]);
        return EINTR;
      }
    }
    /* Output closed: the compiler is exiting (or closed it early). */
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

/* The command without -march=native, for a toolchain that cannot assemble
 * what its own compiler generates for this CPU (gcc 12.2 with binutils
 * 2.40 on AVX512-FP16: "unsupported masking for `vmovsh'"); NULL when the
 * command has no such flag. */
static const char **without_native(const char **argv, Arena *a) {
  int n = 0, k = 0;
  bool found = false;
  while (argv[n])
    found |= strcmp(argv[n++], "-march=native") == 0;
  if (!found)
    return NULL;
  const char **out = ARENA_ARRAY(a, const char *, n + 1);
  for (int i = 0; i < n; i++)
    if (strcmp(argv[i], "-march=native") != 0)
      out[k++] = argv[i];
  out[k] = NULL;
  return out;
}

static bool assembler_failed(const Buf *output) {
  return output->len && strstr(output->data, "Assembler messages:") != NULL;
}

typedef enum Outcome { BUILT, FAILED, LOST } Outcome;

/* Seal the library the compiler wrote (after the cubin, if any), load it,
 * and move it into place. */
static Outcome install(int dirfd, const Temp *tmp, const char *key, const Buf *cubin,
                       void **handle, Buf *msg) {
  int fd = openat(dirfd, tmp->lib, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return LOST;
    buf_printf(msg, "the compiler reported success but its library %s cannot be opened: %s",
               tmp->lib_path, strerror(errno));
    return FAILED;
  }
  bool sealed = (!cubin || rt_lib_append_cubin(fd, cubin->data, cubin->len)) &&
                rt_lib_seal(fd, key);
  int e = errno;
  close(fd);
  if (!sealed) {
    buf_printf(msg, "cannot write to the compiled library %s: %s", tmp->lib_path, strerror(e));
    return FAILED;
  }
  if (!(*handle = rt_lib_dlopen(dirfd, tmp->lib, tmp->lib_path))) {
    const char *why = dlerror();
    buf_printf(msg, "loading the compiled library %s failed: %s", tmp->lib_path,
               why ? why : "unknown error");
    return FAILED;
  }
  /* A library that cannot be moved into place (its directory is being
   * cleared) is still loaded: only the next process has to build it. */
  char name[80];
  snprintf(name, sizeof name, "%s.so", key);
  renameat(dirfd, tmp->lib, dirfd, name);
  return BUILT;
}

/* One run of the compiler over the source already written; on BUILT the
 * sealed library is in place under <key>.so and loaded as *handle. */
static Outcome compile(const Target *t, const char **argv, int dirfd, const Temp *tmp,
                       const char *key, Meanwhile *mw, void **handle, Buf *msg, Arena *a) {
  const char *exe = rt_find_program(argv[0], a);
  Buf output;
  buf_init(&output);
  int status = 0, rc = exe ? run_captured(exe, argv, &output, &status, mw) : 0;
  const char **plain;
  if (exe && rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0) &&
      assembler_failed(&output) && (plain = without_native(argv, a))) {
    output.len = 0;
    rc = run_captured(exe, plain, &output, &status, NULL);
  }
  const char *lang = mw->nvrtc ? "C (the host part of the CUDA code)" : t->lang;
  Outcome out = FAILED;
  struct stat st;
  if (!exe) {
    buf_printf(msg, "cannot start the %s compiler: `%s` is not an executable file%s", lang,
               argv[0], strchr(argv[0], '/') ? "" : " on PATH");
  } else if (rc == EINTR) {
    buf_puts(msg, "interrupted");
  } else if (rc != 0) {
    buf_printf(msg, "cannot start the %s compiler `%s`: %s", lang, exe, strerror(rc));
  } else if (fstatat(dirfd, tmp->src, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
    out = LOST; /* someone removed our files: the compiler's verdict means nothing */
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    buf_printf(msg, "compiling the generated %s code failed (%s):\n%s", lang,
               describe_status(status, argv[0], a),
               output.len ? buf_cstr(&output) : "(the compiler printed nothing)");
    if (output.len >= MAX_OUTPUT)
      buf_puts(msg, "\n(compiler output truncated)");
  } else if (mw->nvrtc && !mw->ok) {
    buf_puts(msg, buf_cstr(mw->msg));
  } else {
    out = install(dirfd, tmp, key, mw->nvrtc ? mw->cubin : NULL, handle, msg);
  }
  buf_free(&output);
  return out;
}

static bool write_source(int dirfd, const char *dir, const char *key, const Target *t,
                         const Options *opt, const char *code, Temp *tmp, Diag *d, Arena *a) {
  int fd = create_temp(dirfd, dir, key, t->src_ext, opt->write_output, tmp, d, a);
  if (fd < 0)
    return false;
  bool written = write_all(fd, code, strlen(code));
  int werr = errno;
  if (close(fd) != 0 && written) {
    written = false;
    werr = errno;
  }
  if (!written) {
    unlinkat(dirfd, tmp->src, 0);
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "cannot write the generated code to %s: %s",
               tmp->src_path, strerror(werr));
  }
  return written;
}

bool rt_build(const Target *t, const Options *opt, const char *code, const char *const *nvrtc,
              int dirfd, const char *dir, const char *key, const char *incdir, void **handle,
              Buf *cubin, Diag *d, Arena *a) {
  *handle = NULL;
  Buf msg;
  buf_init(&msg);
  Outcome out = LOST;
  Temp tmp;
  for (int attempt = 0; out == LOST && attempt < ATTEMPTS; attempt++) {
    if (!write_source(dirfd, dir, key, t, opt, code, &tmp, d, a)) {
      buf_free(&msg);
      return false;
    }
    const char **argv = nvrtc ? rt_nvrtc_host_cmd(tmp.src_path, tmp.lib_path, incdir, a)
                              : t->build_cmd(opt, tmp.src_path, tmp.lib_path, incdir, a);
    Buf nvmsg;
    buf_init(&nvmsg);
    if (cubin)
      cubin->len = 0;
    Meanwhile mw = {.code = code, .nvrtc = nvrtc, .cubin = cubin, .msg = &nvmsg};
    out = compile(t, argv, dirfd, &tmp, key, &mw, handle, &msg, a);
    buf_free(&nvmsg);
    unlinkat(dirfd, tmp.lib, 0);
    /* The source stays for the user only when write_output asks for it
     * and the build failed (not when it was interrupted). */
    bool keep = out == FAILED && opt->write_output && strcmp(buf_cstr(&msg), "interrupted") != 0;
    if (!keep)
      unlinkat(dirfd, tmp.src, 0);
  }
  if (out == LOST)
    buf_printf(&msg, "the files of the build in %s kept disappearing (is something else "
               "clearing the ParPy cache?)", dir);
  if (out != BUILT) {
    while (msg.len > 0 && (msg.data[msg.len - 1] == '\n' || msg.data[msg.len - 1] == ' '))
      msg.data[--msg.len] = '\0';
    if (out == FAILED && opt->write_output && strcmp(buf_cstr(&msg), "interrupted") != 0)
      buf_printf(&msg, "\nThe code was kept in %s", tmp.src_path);
    diag_error(d, a, DIAG_RUNTIME, (Span){0}, "%s", buf_cstr(&msg));
  }
  buf_free(&msg);
  return out == BUILT;
}
