/* cuda.h - what the files of the Cuda target share (cuda.c: the file
 * layout, the calling convention and the target; kernels.c: the device
 * code; host.c: the host code launching it). */
#ifndef PARPY_TARGET_CUDA_H
#define PARPY_TARGET_CUDA_H

#include "../../gpu/gpu.h"
#include "../cprint.h"
#include "../gpuprint.h"

/* kernels.c: the device code. */
void cuda_print_kernel(CPrinter *c, Kernel *k);
/* Binary operators and print() as CUDA computes them (host code too). */
bool cuda_binary(CPrinter *c, const Node *n);
void cuda_print(CPrinter *c, const Node *s);
/* Whether main takes scalars at run time; the constants of `body`. */
bool cuda_runtime_scalars(const Fn *m);
void cuda_consts_of(CPrinter *c, const Node *body, bool runtime);

/* host.c: the host code. */
extern const CDialect cuda_host_dialect;
void cuda_print_main(CPrinter *c, Fn *m);

#endif
