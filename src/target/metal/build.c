/* build.c - the compiler command of the Metal target.
 *
 * macOS: the system clang++ builds the host code together with the
 * Objective-C++ runtime (parpy_metal_runtime.mm, the one file that touches
 * Apple's API) against the Metal and Foundation frameworks; the kernels are
 * compiled by Metal when the library is first used.
 * Elsewhere: the C++ compiler ($CXX, else c++) builds the whole file, the
 * kernels included, with the simulator (parpy_metal_sim.cpp). */
#include <stdlib.h>

#include "metal.h"

const char **metal_build_cmd(const Options *opt, const char *src, const char *lib,
                             const char *incdir, Arena *a) {
  int n = 32 + opt->nincludes + opt->nlibs + opt->nextra_flags;
  const char **argv = ARENA_ARRAY(a, const char *, n);
  int k = 0;
#ifdef __APPLE__
  argv[k++] = "clang++";
  argv[k++] = "-std=c++17";
  argv[k++] = "-O2";
  argv[k++] = "-fobjc-arc";
  argv[k++] = "-dynamiclib";
  argv[k++] = "-fPIC";
  argv[k++] = "-ffp-contract=off";
  /* the runtime reads its MSL files there when it compiles the kernels */
  argv[k++] = arena_printf(a, "-DPARPY_METAL_INCLUDE=\"%s\"", incdir);
#else
  const char *cxx = getenv("CXX");
  argv[k++] = cxx && *cxx ? cxx : "c++";
  argv[k++] = "-std=c++17";
  argv[k++] = "-O2";
  argv[k++] = "-fwrapv";          /* NumPy's integers wrap; so do Metal's */
  argv[k++] = "-ffp-contract=off"; /* a*b+c rounds twice, as in NumPy */
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = "-pthread";
#endif
  argv[k++] = arena_printf(a, "-I%s", incdir);
  for (int i = 0; i < opt->nincludes; i++)
    argv[k++] = arena_printf(a, "-I%s", opt->includes[i]);
  for (int i = 0; i < opt->nlibs; i++)
    argv[k++] = arena_printf(a, "-L%s", opt->libs[i]);
  for (int i = 0; i < opt->nextra_flags; i++)
    argv[k++] = opt->extra_flags[i];
  argv[k++] = src;
#ifdef __APPLE__
  argv[k++] = arena_printf(a, "%s/parpy_metal_runtime.mm", incdir);
  argv[k++] = "-framework";
  argv[k++] = "Metal";
  argv[k++] = "-framework";
  argv[k++] = "Foundation";
#else
  argv[k++] = arena_printf(a, "%s/parpy_metal_sim.cpp", incdir);
#endif
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k] = NULL;
  return argv;
}
