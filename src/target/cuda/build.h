/* build.h - how the Cuda target builds its code with nvcc.  The library
 * links the libcudart of nvcc's installation (rt_cuda_toolkit_libdir), the
 * one runtime/cuda.c loads, so that the process holds one copy of it. */
#ifndef PARPY_TARGET_CUDA_BUILD_H
#define PARPY_TARGET_CUDA_BUILD_H

#include "../target.h"

/* nvcc -O3 -arch=<opt->cuda_arch> -shared -Xcompiler -fPIC -cudart shared
 *      -Xlinker -rpath -Xlinker <cudart dir> -I<incdir> -I<includes>...
 *      -L<libs>... <extra_flags>... -o <lib> <src>
 * A NULL-terminated argv in `a`.  Without cuda_arch (code only printed, or
 * no device) -arch is left out and nvcc builds for its default GPU. */
const char **cuda_build_cmd(const Options *opt, const char *src, const char *lib,
                            const char *incdir, Arena *a);

#endif
