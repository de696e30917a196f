/* build.c - the nvcc command line of the Cuda target.
 *
 * The library links the CUDA runtime dynamically (-cudart shared) rather
 * than statically, so that the generated code and parpy's own runtime
 * (runtime/cuda.c, which dlopens libcudart) share one copy of it: memory,
 * streams and the last error are then the same for both.  The rpath makes
 * the library find the toolkit's libcudart even when the loader's path does
 * not hold it. */
#include <stdlib.h>

#include "../../runtime/runtime.h"
#include "build.h"

/* PARPY_CUDA_SIM: the host's C++ compiler, the code as C++ against the
 * simulator's header (parpy_cuda.h includes it).  Floating-point
 * contraction stays off, as --fmad=false keeps it on the GPU. */
static const char **sim_build_cmd(const Options *opt, const char *src, const char *lib,
                                  const char *incdir, Arena *a) {
  int n = 16 + opt->nincludes + opt->nlibs;
  const char **argv = ARENA_ARRAY(a, const char *, n);
  int k = 0;
  const char *cxx = getenv("CXX");
  argv[k++] = cxx && cxx[0] ? cxx : "c++";
  argv[k++] = "-std=c++17";
  argv[k++] = "-O1";
  argv[k++] = "-ffp-contract=off";
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = "-DPARPY_CUDA_SIM";
  argv[k++] = arena_printf(a, "-I%s", incdir);
  for (int i = 0; i < opt->nincludes; i++)
    argv[k++] = arena_printf(a, "-I%s", opt->includes[i]);
  for (int i = 0; i < opt->nlibs; i++)
    argv[k++] = arena_printf(a, "-L%s", opt->libs[i]);
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k++] = "-x";
  argv[k++] = "c++";
  argv[k++] = src;
  argv[k] = NULL;
  return argv;
}

const char **cuda_build_cmd(const Options *opt, const char *src, const char *lib,
                            const char *incdir, Arena *a) {
  if (rt_cuda_sim())
    return sim_build_cmd(opt, src, lib, incdir, a);
  int n = 24 + opt->nincludes + opt->nlibs + opt->nextra_flags;
  const char **argv = ARENA_ARRAY(a, const char *, n);
  int k = 0;
  argv[k++] = "nvcc";
  argv[k++] = "-O3";
  /* nvcc 13 dropped the GPUs before Turing, so no fixed fallback is safe:
   * without a device, nvcc's own default is the one it supports. */
  if (opt->cuda_arch && opt->cuda_arch[0])
    argv[k++] = arena_printf(a, "-arch=%s", opt->cuda_arch);
  /* nvcc fuses a*b+c into one FMA by default; NumPy rounds twice, and
   * arithmetic must equal NumPy's bit for bit (docs/gpu.md, bench/fmad.py
   * for the cost).  extra_flags=["--fmad=true"] turns fusion back on. */
  argv[k++] = "--fmad=false";
  argv[k++] = "-shared";
  argv[k++] = "-Xcompiler";
  argv[k++] = "-fPIC";
  argv[k++] = "-cudart";
  argv[k++] = "shared";
  const char *libdir = rt_cuda_toolkit_libdir(a);
  if (libdir) {
    argv[k++] = "-Xlinker";
    argv[k++] = "-rpath";
    argv[k++] = "-Xlinker";
    argv[k++] = libdir;
  }
  argv[k++] = arena_printf(a, "-I%s", incdir);
  for (int i = 0; i < opt->nincludes; i++)
    argv[k++] = arena_printf(a, "-I%s", opt->includes[i]);
  for (int i = 0; i < opt->nlibs; i++)
    argv[k++] = arena_printf(a, "-L%s", opt->libs[i]);
  for (int i = 0; i < opt->nextra_flags; i++)
    argv[k++] = opt->extra_flags[i];
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k++] = src;
  argv[k] = NULL;
  return argv;
}
