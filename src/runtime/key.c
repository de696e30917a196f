/* key.c - the name of a library in the disk cache: a SHA-256 over
 * everything that decides the library's bytes.  Computing it starts no
 * process (a cache hit must cost microseconds, not a `cc --version`), so
 * the compiler is identified by the file it runs: path, size and mtime. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

#define KEY_FORMAT "parpy-disk-cache-1" /* bump when the key's recipe changes */

/* Every field is length-prefixed, so no two lists of fields hash alike. */
static void put(Sha256 *s, const void *p, size_t n) {
  unsigned char len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)((uint64_t)n >> (8 * i));
  sha256_update(s, len, sizeof len);
  sha256_update(s, p, n);
}

static void put_str(Sha256 *s, const char *str) { put(s, str, strlen(str)); }

static void finish_hex(Sha256 *s, char out[65]) {
  unsigned char digest[32];
  sha256_final(s, digest);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static bool read_file(const char *path, Buf *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char chunk[65536];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0)
    buf_put(out, chunk, (size_t)n);
  close(fd);
  return n == 0;
}

static bool is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *rt_find_program(const char *argv0, Arena *a) {
  if (strchr(argv0, '/'))
    return is_executable(argv0) ? arena_strdup(a, argv0) : NULL;
  const char *path = getenv("PATH");
  if (!path)
    path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;; p++) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *cand = n ? arena_printf(a, "%.*s/%s", (int)n, p, argv0) : arena_strdup(a, argv0);
    if (is_executable(cand))
      return cand;
    if (!end)
      return NULL;
    p = end;
  }
}

static void put_compiler(Sha256 *s, const char *argv0) {
  Arena a;
  arena_init(&a);
  char *exe = rt_find_program(argv0, &a), real[PATH_MAX];
  struct stat st;
  if (exe && realpath(exe, real) && stat(real, &st) == 0) {
    char id[64];
    snprintf(id, sizeof id, "%lld %lld.%09ld", (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    put_str(s, real);
    put_str(s, id);
  } else {
    put_str(s, "(not found)"); /* the build will fail and say so */
    put_str(s, argv0);
  }
  arena_free(&a);
}

static int cmp_names(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Names and contents of the files under `dir`, in sorted order. */
static void hash_tree(Sha256 *s, const char *dir, const char *rel, int depth, Arena *a) {
  DIR *dp = opendir(dir);
  if (!dp)
    return;
  int n = 0, cap = 16;
  char **names = malloc(sizeof *names * (size_t)cap);
  struct dirent *e;
  while (names && (e = readdir(dp))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      char **more = realloc(names, sizeof *names * (size_t)(cap *= 2));
      if (!more)
        break;
      names = more;
    }
    names[n++] = arena_strdup(a, e->d_name);
  }
  closedir(dp);
  if (names)
    qsort(names, (size_t)n, sizeof *names, cmp_names);
  for (int i = 0; i < n; i++) {
    char *path = arena_printf(a, "%s/%s", dir, names[i]);
    char *name = arena_printf(a, "%s%s", rel, names[i]);
    struct stat st;
    if (stat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode) && depth < 4) {
      put_str(s, name);
      hash_tree(s, path, arena_printf(a, "%s/", name), depth + 1, a);
    } else if (S_ISREG(st.st_mode)) {
      Buf text;
      buf_init(&text);
      read_file(path, &text);
      put_str(s, name);
      put(s, buf_cstr(&text), text.len);
      buf_free(&text);
    }
  }
  free(names);
}

/* parpy's headers change only with parpy, so hash them once per process. */
static char *inc_dir, inc_hash[65];

static void put_includes(Sha256 *s, const char *incdir) {
  pthread_mutex_lock(&rt_lock);
  if (!inc_dir || strcmp(inc_dir, incdir) != 0) {
    Sha256 h;
    Arena a;
    sha256_init(&h);
    arena_init(&a);
    hash_tree(&h, incdir, "", 0, &a);
    arena_free(&a);
    finish_hex(&h, inc_hash);
    free(inc_dir);
    inc_dir = strdup(incdir);
  }
  put_str(s, inc_hash);
  pthread_mutex_unlock(&rt_lock);
}

/* The first CPU's model and features, for builds with -march=native. */
static void hash_cpu(Sha256 *s) {
  static const char *const keys[] = {"model name", "flags", "Features", "CPU implementer",
                                     "CPU part"};
  Buf info;
  buf_init(&info);
  read_file("/proc/cpuinfo", &info);
  const char *p = buf_cstr(&info);
  while (*p && *p != '\n') { /* up to the blank line after the first CPU */
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    for (size_t k = 0; k < PP_COUNT(keys); k++) {
      size_t kl = strlen(keys[k]);
      if (len > kl && strncmp(p, keys[k], kl) == 0 && (p[kl] == ' ' || p[kl] == '\t' ||
                                                        p[kl] == ':'))
        put(s, p, len);
    }
    p += len + (eol != NULL);
  }
  buf_free(&info);
}

static bool cpu_done;
static char cpu_hash[65];

static void put_machine(Sha256 *s, const char *const *argv) {
  struct utsname u;
  put_str(s, uname(&u) == 0 ? u.machine : "?");
  bool native = false;
  for (const char *const *p = argv; *p; p++)
    native |= strstr(*p, "=native") != NULL; /* -march=, -mcpu=, -mtune=native */
  if (!native) {
    put_str(s, "");
    return;
  }
  pthread_mutex_lock(&rt_lock);
  if (!cpu_done) {
    Sha256 h;
    sha256_init(&h);
    hash_cpu(&h);
    finish_hex(&h, cpu_hash);
    cpu_done = true;
  }
  put_str(s, cpu_hash);
  pthread_mutex_unlock(&rt_lock);
}

static const char *next_line(const char *p) {
  const char *nl = strchr(p, '\n');
  return nl && nl[1] ? nl + 1 : NULL;
}

/* The headers the code includes from the user's include directories
 * (opts.includes: the -I flags other than parpy's own), and the headers
 * those include in turn: an external's header decides the library's bytes
 * as much as the code does, so editing it, or a header it includes, must
 * rebuild.  Headers found nowhere in those directories (the system's) are
 * left out; a quoted name is looked for beside the including header first,
 * as the compiler does.  Bounded, so that a pathological tree cannot make a
 * call slow. */
enum { MAX_HEADERS = 256, MAX_DEPTH = 16 };

typedef struct Headers {
  Sha256 *s;
  const char *const *argv;
  const char *incdir;
  const char *seen[MAX_HEADERS];
  int nseen;
  Arena a;
} Headers;

/* The file `name` names, or NULL: beside the includer (`dir`, for a quoted
 * name), then in each user include directory. */
static const char *find_header(Headers *h, const char *name, const char *dir) {
  struct stat st;
  if (dir) {
    const char *path = arena_printf(&h->a, "%s/%s", dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      return path;
  }
  for (const char *const *arg = h->argv; *arg; arg++) {
    if (strncmp(*arg, "-I", 2) != 0 || strcmp(*arg + 2, h->incdir) == 0)
      continue;
    const char *path = arena_printf(&h->a, "%s/%s", *arg + 2, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      return path;
  }
  return NULL;
}

/* The name of an `#include "x"` or `#include <x>` line, or NULL; *quoted
 * says which form. */
static char *include_name(Arena *a, const char *line, bool *quoted) {
  const char *q = line;
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q++ != '#')
    return NULL;
  while (*q == ' ' || *q == '\t')
    q++;
  if (strncmp(q, "include", 7) != 0)
    return NULL;
  q += 7;
  while (*q == ' ' || *q == '\t')
    q++;
  char close = *q == '"' ? '"' : *q == '<' ? '>' : 0;
  const char *end = close ? strchr(q + 1, close) : NULL;
  const char *eol = strchr(q, '\n');
  if (!end || (eol && end > eol))
    return NULL;
  *quoted = close == '"';
  return arena_strndup(a, q + 1, (size_t)(end - q - 1));
}

static void scan_headers(Headers *h, const char *text, const char *dir, int depth) {
  for (const char *p = text; p; p = next_line(p)) {
    bool quoted;
    char *name = include_name(&h->a, p, &quoted);
    const char *path = name ? find_header(h, name, quoted ? dir : NULL) : NULL;
    if (!path)
      continue;
    bool seen = false;
    for (int i = 0; i < h->nseen && !seen; i++)
      seen = strcmp(h->seen[i], path) == 0;
    if (seen || h->nseen == MAX_HEADERS)
      continue;
    h->seen[h->nseen++] = path;
    Buf body;
    buf_init(&body);
    read_file(path, &body);
    put_str(h->s, path);
    put(h->s, buf_cstr(&body), body.len);
    if (depth < MAX_DEPTH) {
      char *here = arena_strdup(&h->a, path);
      *strrchr(here, '/') = '\0'; /* path is "<dir>/<name>" */
      scan_headers(h, buf_cstr(&body), here, depth + 1);
    }
    buf_free(&body);
  }
}

static void put_user_headers(Sha256 *s, const char *code, const char *const *argv,
                             const char *incdir) {
  Headers h = {.s = s, .argv = argv, .incdir = incdir};
  arena_init(&h.a);
  scan_headers(&h, code, NULL, 0);
  arena_free(&h.a);
}

void rt_cache_key(const char *version, const char *origin, const char *code,
                  const char *const *argv, const char *incdir, char out[65]) {
  Sha256 s;
  sha256_init(&s);
  put_str(&s, KEY_FORMAT);
  put_str(&s, version);
  put_str(&s, origin);
  put_str(&s, code);
  int argc = 0;
  while (argv[argc])
    argc++;
  char count[16];
  snprintf(count, sizeof count, "%d", argc); /* where the command ends */
  put_str(&s, count);
  for (int i = 0; i < argc; i++)
    put_str(&s, argv[i]);
  put_compiler(&s, argv[0]);
  put_includes(&s, incdir);
  put_user_headers(&s, code, argv, incdir);
  put_machine(&s, argv);
  finish_hex(&s, out);
}
