/* cpu.c - (stub) the Cpu target: C11 with OpenMP. */
#include "../target.h"

static bool emit(Prog *p, Buf *out) {
  (void)p;
  buf_puts(out, "/* nothing yet */\n");
  return true;
}

static const char **build_cmd(const Options *opt, const char *src, const char *lib,
                              const char *incdir, Arena *a) {
  (void)opt;
  const char **argv = ARENA_ARRAY(a, const char *, 16);
  int k = 0;
  argv[k++] = "cc";
  argv[k++] = "-O3";
  argv[k++] = "-fopenmp";
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = arena_printf(a, "-I%s", incdir);
  argv[k++] = src;
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k++] = "-lm";
  argv[k] = NULL;
  return argv;
}

const Target target_cpu = {BACKEND_CPU, "Cpu", "C", ".c", emit, build_cmd};
