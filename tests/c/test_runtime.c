/* test_runtime.c - rt_load end to end, with a fake target whose compiler is
 * a shell script around cc: it logs every run (so a rebuild shows) and
 * misbehaves on request (FAKECC=kill|snapshot|slow).  Also the cache
 * directory's creation, refusals and clearing. */
// SOURCES: src/util/*.c src/ast.c src/target/signature.c src/runtime/*.c
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime/runtime.h"

static char root[PATH_MAX]; /* scratch directory of this run */
static const char *compiler; /* argv[0] of the fake target */
static Arena A;

static const char **fake_build_cmd(const Options *opt, const char *src, const char *lib,
                                   const char *incdir, Arena *a) {
  const char **argv = ARENA_ARRAY(a, const char *, 16 + opt->nextra_flags);
  int k = 0;
  argv[k++] = compiler;
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = arena_printf(a, "-I%s", incdir);
  for (int i = 0; i < opt->nextra_flags; i++)
    argv[k++] = opt->extra_flags[i];
  argv[k++] = src;
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k] = NULL;
  return argv;
}

static const Target fake = {.backend = BACKEND_CPU, .name = "Cpu", .lang = "C", .src_ext = ".c", .build_cmd = fake_build_cmd};

/* The real target table is not linked: rt_load sees only the fake. */
const Target *target_get(Backend b) { return b == BACKEND_CPU ? &fake : NULL; }

/* ---- helpers --------------------------------------------------------------- */

static char *path(const char *rel) { return arena_printf(&A, "%s/%s", root, rel); }

static void write_text(const char *file, const char *text) {
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static char *read_text(const char *file) {
  Buf b;
  buf_init(&b);
  FILE *f = fopen(file, "r");
  if (f) {
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
      buf_put(&b, chunk, n);
    fclose(f);
  }
  char *s = arena_strdup(&A, buf_cstr(&b));
  buf_free(&b);
  return s;
}

static int builds(void) { /* lines in the fake compiler's log */
  int n = 0;
  for (const char *p = read_text(path("cc.log")); *p; p++)
    n += *p == '\n';
  return n;
}

typedef struct Listing {
  int libs, tmps, other;
  const char *lib; /* the last <key>.so seen */
} Listing;

static bool is_key_lib(const char *name) {
  return strlen(name) == 67 && strspn(name, "0123456789abcdef") == 64 &&
         strcmp(name + 64, ".so") == 0;
}

static Listing list(const char *dir) {
  Listing l = {0};
  DIR *dp = opendir(dir);
  if (!dp)
    return l;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (is_key_lib(e->d_name)) {
      l.libs++;
      l.lib = arena_printf(&A, "%s/%s", dir, e->d_name);
    } else if (strncmp(e->d_name, "tmp-", 4) == 0) {
      l.tmps++;
    } else {
      l.other++;
    }
  }
  closedir(dp);
  return l;
}

static char *use_cache(const char *rel) {
  char *dir = path(rel);
  setenv("PARPY_CACHE_DIR", dir, 1);
  return dir;
}

static Options cpu_opts(void) { return (Options){.backend = BACKEND_CPU}; }

static bool load(const Options *opt, const char *code, const char *fname, Library *lib,
                 Diag *d) {
  *d = (Diag){0};
  return rt_load(opt, code, fname, "jit", NULL, lib, d, &A);
}

static const char *code_variant(int n) {
  return arena_printf(&A,
                      "#include <stdint.h>\n"
                      "#include \"parpy_test.h\" /* from the include directory */\n"
                      "/* variant %d */\n"
                      "const char add__signature[] = \"x:f64[4]\";\n"
                      "int32_t add__entry(void **args) {\n"
                      "  double *x = args[0];\n"
                      "  for (int i = 0; i < 4; i++)\n"
                      "    x[i] += ADD_AMOUNT;\n"
                      "  return x[0] > 100;\n"
                      "}\n"
                      "const char *add__error(void) { return \"too big\"; }\n",
                      n);
}

static void setup(void) {
  const char *tmp = getenv("TMPDIR");
  char *templ = arena_printf(&A, "%s/parpy-rt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  CHECK(mkdtemp(templ) != NULL);
  CHECK(realpath(templ, root) != NULL);
  mkdir(path("include"), 0755);
  write_text(path("include/parpy_test.h"), "#define ADD_AMOUNT 1.0\n");
  char *script = path("fakecc");
  write_text(script, arena_printf(&A,
                                  "#!/bin/sh\n"
                                  "echo \"$*\" >> '%s/cc.log'\n"
                                  "out=; prev=\n"
                                  "for a in \"$@\"; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n"
                                  "case \"$FAKECC\" in\n"
                                  "kill) printf half > \"$out\"; kill -9 $$ ;;\n"
                                  "snapshot) ls -A \"$(dirname \"$out\")\" > '%s/snapshot.txt' ;;\n"
                                  "slow) touch '%s/started'; sleep 1 ;;\n"
                                  "esac\n"
                                  "cc \"$@\"; st=$?\n"
                                  "[ \"$FAKECC\" = slow ] && touch '%s/finished'\n"
                                  "exit $st\n",
                                  root, root, root, root));
  chmod(script, 0755);
  compiler = script;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_unconfigured(void) {
  Options opt = cpu_opts();
  Library lib;
  Diag d;
  use_cache("unconfigured");
  CHECK(!load(&opt, code_variant(0), "add", &lib, &d));
  CHECK(d.kind == DIAG_INTERNAL);
  CHECK_HAS(d.msg, "rt_configure");
}

static void test_cache_dir(void) {
  Diag d = {0};
  /* Created with its parents, mode 0700. */
  char *dir = use_cache("new/a/b");
  CHECK_STR(rt_cache_dir(&d, &A), dir);
  struct stat st;
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  CHECK(stat(path("new"), &st) == 0 && (st.st_mode & 0777) == 0700);
  use_cache("new/a/b///"); /* trailing slashes do not matter */
  CHECK_STR(rt_cache_dir(&d, &A), dir);

  /* Group- or world-writable: refused, until fixed. */
  char *gw = use_cache("gw");
  mkdir(gw, 0700);
  chmod(gw, 0770);
  CHECK(rt_cache_dir(&d, &A) == NULL);
  CHECK(d.kind == DIAG_RUNTIME);
  CHECK_HAS(d.msg, "refusing to use the ParPy cache directory");
  CHECK_HAS(d.msg, gw);
  CHECK_HAS(d.msg, "group or other users can write to it (mode 770)");
  Options opt = cpu_opts();
  Library lib;
  CHECK(!load(&opt, code_variant(0), "add", &lib, &d));
  CHECK_HAS(d.msg, "mode 770");
  chmod(gw, 0702);
  d = (Diag){0};
  CHECK(rt_cache_dir(&d, &A) == NULL);
  CHECK_HAS(d.msg, "mode 702");
  chmod(gw, 0700);
  d = (Diag){0};
  CHECK_STR(rt_cache_dir(&d, &A), gw);

  /* Not a directory, or under a file. */
  write_text(path("file"), "x");
  use_cache("file");
  d = (Diag){0};
  CHECK(rt_cache_dir(&d, &A) == NULL);
  CHECK_HAS(d.msg, "it is not a directory");
  use_cache("file/sub");
  d = (Diag){0};
  CHECK(rt_cache_dir(&d, &A) == NULL);
  CHECK_HAS(d.msg, "cannot create the ParPy cache directory");

  /* Owned by someone else (only root can arrange that). */
  if (geteuid() == 0) {
    char *other = use_cache("other");
    mkdir(other, 0700);
    CHECK(chown(other, 65534, 65534) == 0);
    d = (Diag){0};
    CHECK(rt_cache_dir(&d, &A) == NULL);
    CHECK_HAS(d.msg, "it is owned by another user (uid 65534");
  }

  /* Fallbacks: XDG_CACHE_HOME (absolute only), then HOME; relative paths
   * are taken from the working directory. */
  char *saved_home = getenv("HOME") ? arena_strdup(&A, getenv("HOME")) : NULL;
  unsetenv("PARPY_CACHE_DIR");
  setenv("XDG_CACHE_HOME", path("xdg"), 1);
  d = (Diag){0};
  CHECK_STR(rt_cache_dir(&d, &A), path("xdg/parpy"));
  setenv("XDG_CACHE_HOME", "relative/xdg", 1);
  setenv("HOME", path("home"), 1);
  CHECK_STR(rt_cache_dir(&d, &A), path("home/.cache/parpy"));
  unsetenv("XDG_CACHE_HOME");
  if (saved_home)
    setenv("HOME", saved_home, 1);
  char cwd[PATH_MAX];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(chdir(root) == 0);
  setenv("PARPY_CACHE_DIR", "relcache", 1);
  CHECK_STR(rt_cache_dir(&d, &A), path("relcache"));
  CHECK(chdir(cwd) == 0);
  CHECK(d.kind == DIAG_NONE);
}

static void test_build_and_hit(void) {
  Options opt = cpu_opts();
  char *dir = use_cache("main");
  Library lib;
  Diag d;
  int before = builds();
  bool ok = load(&opt, code_variant(1), "add", &lib, &d);
  CHECK(ok);
  if (!ok) {
    fprintf(stderr, "  %s\n", d.msg);
    return;
  }
  CHECK(builds() == before + 1);
  CHECK(lib.handle && lib.entry && lib.error);
  CHECK_STR(lib.signature, "x:f64[4]");
  double x[4] = {1, 2, 3, 4};
  void *args[] = {x};
  CHECK(lib.entry(args) == 0 && x[0] == 2 && x[3] == 5);
  x[0] = 1000;
  CHECK(lib.entry(args) == 1);
  CHECK_STR(lib.error(), "too big");
  Listing l = list(dir);
  CHECK(l.libs == 1 && l.tmps == 0 && l.other == 0);

  /* A hit: no compiler run, the file untouched, and fast. */
  struct stat st1, st2;
  CHECK(stat(l.lib, &st1) == 0);
  double t0 = rt_now();
  Library again;
  CHECK(load(&opt, code_variant(1), "add", &again, &d));
  double dt = rt_now() - t0;
  CHECK(dt < 0.05);
  if (dt >= 0.05)
    fprintf(stderr, "  a cache hit took %.3f s\n", dt);
  CHECK(builds() == before + 1);
  CHECK(stat(l.lib, &st2) == 0 && st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
        st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec && st1.st_ino == st2.st_ino);
  CHECK(again.entry == lib.entry);

  /* A hit from a fresh process, which has not loaded the library yet. */
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    Library child;
    Diag cd;
    bool hit = load(&opt, code_variant(1), "add", &child, &cd) && builds() == before + 1;
    double y[4] = {0};
    void *cargs[] = {y};
    _exit(hit && child.entry(cargs) == 0 && y[1] == 1.0 ? 0 : 1);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* Everything in the key makes a new library. */
  int n = builds();
  Diag kd = {0};
  Library other;
  CHECK(rt_load(&opt, code_variant(1), "add", "string", NULL, &other, &kd, &A)); /* origin */
  CHECK(builds() == ++n);
  Options flagged = opt;
  const char *flags[] = {"-O1"};
  flagged.extra_flags = flags;
  flagged.nextra_flags = 1;
  CHECK(load(&flagged, code_variant(1), "add", &other, &d)); /* flags */
  CHECK(builds() == ++n);
  rt_configure(path("include"), "test-2"); /* version */
  CHECK(load(&opt, code_variant(1), "add", &other, &d));
  CHECK(builds() == ++n);
  rt_configure(path("include"), "test-1");
  CHECK(load(&opt, code_variant(1), "add", &other, &d)); /* back to a hit */
  CHECK(builds() == n);
  const char *native[] = {"-march=native"};
  flagged.extra_flags = native;
  CHECK(load(&flagged, code_variant(1), "add", &other, &d)); /* the CPU joins the key */
  CHECK(builds() == ++n);
  CHECK(load(&flagged, code_variant(1), "add", &other, &d));
  CHECK(builds() == n);
  CHECK(list(dir).libs == 5);

  /* A function without __error is fine. */
  CHECK(load(&opt,
             "#include <stdint.h>\nconst char g__signature[] = \"\";\n"
             "int32_t g__entry(void **a) { (void)a; return 0; }\n",
             "g", &other, &d));

  CHECK(other.error == NULL && other.entry(NULL) == 0);
}

static void test_compile_errors(void) {
  Options opt = cpu_opts();
  char *dir = use_cache("errors");
  Library lib;
  Diag d;
  const char *broken = "int broken( {\n";
  CHECK(!load(&opt, broken, "broken", &lib, &d));
  CHECK(d.kind == DIAG_RUNTIME);
  CHECK_HAS(d.msg, arena_printf(&A, "compiling the generated C code failed (%s exited with status 1):\n",
                                compiler));
  CHECK_HAS(d.msg, "error:");
  CHECK(!strstr(d.msg, "The code was kept"));
  Listing l = list(dir);
  CHECK(l.libs == 0 && l.tmps == 0);

  /* write_output keeps the source and says where. */
  opt.write_output = true;
  CHECK(!load(&opt, broken, "broken", &lib, &d));
  const char *kept = strstr(d.msg, "\nThe code was kept in ");
  CHECK(kept != NULL);
  if (kept) {
    const char *file = kept + strlen("\nThe code was kept in ");
    CHECK(strncmp(file, arena_printf(&A, "%s/kept-", dir), strlen(dir) + 6) == 0);
    CHECK_STR(read_text(file), broken);
    CHECK_HAS(d.msg, file); /* the compiler's messages name the same file */
  }
  l = list(dir);
  CHECK(l.libs == 0 && l.tmps == 0 && l.other == 1); /* kept-<key>.c */
  opt.write_output = false;

  /* A compiler that does not exist. */
  const char *saved = compiler;
  compiler = "/nonexistent/parpy-cc";
  CHECK(!load(&opt, code_variant(2), "add", &lib, &d));
  CHECK_HAS(d.msg, "cannot start the C compiler: `/nonexistent/parpy-cc` is not an executable file");
  compiler = "parpy-no-such-cc";
  CHECK(!load(&opt, code_variant(2), "add", &lib, &d));
  CHECK_HAS(d.msg, "`parpy-no-such-cc` is not an executable file on PATH");
  compiler = saved;

  /* An unsupported backend. */
  Options cuda = {.backend = BACKEND_CUDA};
  CHECK(!load(&cuda, code_variant(2), "add", &lib, &d));
  CHECK_HAS(d.msg, "the Cuda backend is not supported");

  /* Hand-written code that misses the calling convention. */
  CHECK(!load(&opt, "const char g__signature[] = \"\";\n", "g", &lib, &d));
  CHECK_HAS(d.msg, "does not define `g__entry`");
  CHECK_HAS(d.msg, "int32_t g__entry(void **args);");
  CHECK_HAS(d.msg, "const char g__signature[];");
  CHECK_HAS(d.msg, "compile_string");
  CHECK(!load(&opt, "int h__entry(void **a) { (void)a; return 0; }\n", "h", &lib, &d));
  CHECK_HAS(d.msg, "does not define `h__signature`");
  CHECK(lib.handle == NULL && lib.entry == NULL);
}

/* A build that dies never leaves a library under its final name. */
static void test_killed_builds(void) {
  Options opt = cpu_opts();
  Library lib;
  Diag d;

  /* While the compiler runs, only temporary names exist. */
  char *dir = use_cache("snapshot");
  setenv("FAKECC", "snapshot", 1);
  CHECK(load(&opt, code_variant(3), "add", &lib, &d));
  char *snap = read_text(path("snapshot.txt"));
  CHECK(*snap != '\0');
  for (char *line = strtok(snap, "\n"); line; line = strtok(NULL, "\n"))
    CHECK(strncmp(line, "tmp-", 4) == 0 || strstr(line, ".lock") != NULL); /* and the build lock */
  CHECK(list(dir).libs == 1);

  /* The compiler is killed after writing half a library. */
  dir = use_cache("killed");
  setenv("FAKECC", "kill", 1);
  CHECK(!load(&opt, code_variant(3), "add", &lib, &d));
  CHECK_HAS(d.msg, "was killed by signal 9");
  Listing l = list(dir);
  CHECK(l.libs == 0 && l.tmps == 0);

  /* Our own process is killed while its compiler runs; the compiler still
   * finishes, and nobody renames its output. */
  dir = use_cache("orphan");
  setenv("FAKECC", "slow", 1);
  unlink(path("started"));
  unlink(path("finished"));
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    Library child;
    Diag cd;
    load(&opt, code_variant(4), "add", &child, &cd);
    _exit(0);
  }
  struct stat st;
  for (int i = 0; i < 3000 && stat(path("started"), &st) != 0; i++)
    usleep(10000);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  for (int i = 0; i < 3000 && stat(path("finished"), &st) != 0; i++)
    usleep(10000);
  CHECK(stat(path("finished"), &st) == 0);
  l = list(dir);
  CHECK(l.libs == 0 && l.tmps == 2); /* tmp-*.c and tmp-*.so, never loaded */
  unsetenv("FAKECC");
  CHECK(load(&opt, code_variant(4), "add", &lib, &d)); /* builds afresh */
  CHECK(list(dir).libs == 1);
}

/* A damaged library on disk (a crash before it reached the disk) is
 * rebuilt rather than reported. */
static void test_damaged(void) {
  Options opt = cpu_opts();
  char *dir = use_cache("damaged");
  fflush(NULL);
  pid_t pid = fork(); /* build it in a process that then goes away */
  if (pid == 0) {
    Library child;
    Diag cd;
    _exit(load(&opt, code_variant(5), "add", &child, &cd) ? 0 : 1);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Listing l = list(dir);
  CHECK(l.libs == 1);
  if (l.libs != 1)
    return;
  write_text(l.lib, "not an ELF file");
  int n = builds();
  Library lib;
  Diag d;
  CHECK(load(&opt, code_variant(5), "add", &lib, &d));
  CHECK(builds() == n + 1);
  double x[4] = {0};
  void *args[] = {x};
  CHECK(lib.entry && lib.entry(args) == 0 && x[2] == 1.0);
}

static void test_clear(void) {
  Options opt = cpu_opts();
  char *dir = use_cache("clear");
  Library lib;
  Diag d;
  CHECK(load(&opt, code_variant(6), "add", &lib, &d));
  write_text(arena_printf(&A, "%s/tmp-1-abc.c", dir), "x");
  write_text(arena_printf(&A, "%s/notes.txt", dir), "mine");
  write_text(arena_printf(&A, "%s/abc.so", dir), "mine");
  mkdir(arena_printf(&A, "%s/tmp-dir", dir), 0700);
  write_text(arena_printf(&A, "%s/tmp-dir/inner", dir), "mine");
  CHECK(symlink(path("notes-outside"), arena_printf(&A, "%s/tmp-link", dir)) == 0);
  write_text(path("notes-outside"), "mine");
  Listing l = list(dir);
  CHECK(l.libs == 1 && l.tmps == 3 && l.other == 2);
  d = (Diag){0};
  CHECK(rt_clear_disk_cache(&d, &A));
  l = list(dir);
  CHECK(l.libs == 0 && l.tmps == 2 && l.other == 2); /* tmp-dir and tmp-link stay */
  CHECK_STR(read_text(arena_printf(&A, "%s/tmp-dir/inner", dir)), "mine");
  CHECK_STR(read_text(path("notes-outside")), "mine");
  /* The loaded library keeps working; loading again rebuilds. */
  double x[4] = {0};
  void *args[] = {x};
  CHECK(lib.entry(args) == 0 && x[0] == 1.0);
  int n = builds();
  CHECK(load(&opt, code_variant(6), "add", &lib, &d));
  CHECK(builds() == n + 1 && list(dir).libs == 1);
  /* Clearing a directory that is gone is not an error. */
  use_cache("never-made");
  CHECK(rt_clear_disk_cache(&d, &A));
}

/* rt_load runs with the GIL released: threads may race for one library. */
typedef struct Race {
  const char *code;
  bool ok;
  EntryFn entry;
} Race;

static void *race(void *arg) {
  Race *r = arg;
  Arena a;
  arena_init(&a);
  Options opt = cpu_opts();
  Library lib;
  Diag d = {0};
  r->ok = rt_load(&opt, r->code, "add", "jit", NULL, &lib, &d, &a);
  r->entry = lib.entry;
  arena_free(&a);
  return NULL;
}

static void test_threads(void) {
  char *dir = use_cache("threads");
  Race r[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (Race){.code = code_variant(7)};
    pthread_create(&th[i], NULL, race, &r[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK(r[i].ok && r[i].entry == r[0].entry);
  }
  Listing l = list(dir);
  CHECK(l.libs == 1 && l.tmps == 0);
}

static void test_clock(void) {
  double a = rt_now(), b = rt_now();
  CHECK(a > 0 && b >= a);
}

int main(void) {
  arena_init(&A);
  setup();
  test_unconfigured();
  rt_configure(path("include"), "test-1");
  test_cache_dir();
  test_build_and_hit();
  test_compile_errors();
  test_killed_builds();
  test_damaged();
  test_clear();
  test_threads();
  test_clock();
  arena_free(&A);
  return check_result("test_runtime");
}
