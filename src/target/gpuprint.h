/* gpuprint.h - what the printers of the GPU targets share (gpuprint.c).
 * The Cuda target (cuda/kernels.c) and the Metal target (metal/kernels.c)
 * print the kernels src/gpu formed the same way but for
 * their names of a thread's position, CUDA's threadIdx and blockIdx and
 * Metal's parameters parpy_tid and parpy_bid: a loop over layer j starts at
 * `lo + step * t`, t the thread's index in that layer, and strides by the
 * layer's size; a loop with no more iterations than threads prints as a
 * block that each thread runs at most once. */
#ifndef PARPY_TARGET_GPUPRINT_H
#define PARPY_TARGET_GPUPRINT_H

#include "../gpu/gpu.h"
#include "cprint.h"

typedef struct GpuNames {
  const char *thread; /* the thread's index in its block: "threadIdx", "parpy_tid" */
  const char *block;  /* the block's index in the grid: "blockIdx", "parpy_bid" */
  /* Whether `step * t` parenthesises t even where it is a bare index
   * ((int64_t)(parpy_tid.x)), as the Metal printer always has. */
  bool paren_index;
} GpuNames;

/* The index of this thread's block in layer `l`, and its index t in layer
 * `j` of kernel `k` (0 <= t < T). */
void gpu_block_index(CPrinter *c, const GpuNames *g, const Layer *l);
void gpu_layer_index(CPrinter *c, const GpuNames *g, const Kernel *k, int j);
/* The first iteration of the mapped loop `f` in this thread: lo + step * t
 * in int64 (the indices are unsigned, and a negative step must not wrap). */
void gpu_print_start(CPrinter *c, const GpuNames *g, const Kernel *k, const Node *f);
/* The "lo + ", "lo - " or "-" before |step| * t; returns |step|. */
int64_t gpu_start_prefix(CPrinter *c, const Node *f);

/* The mapped loop `f` (once: each thread runs at most one of its `trips`
 * iterations) up to its opening brace and comment; then the declaration of
 * its variable where a once-loop's body uses it. */
void gpu_mapped_open(CPrinter *c, const GpuNames *g, const Node *f, bool once, int64_t trips);
void gpu_mapped_var(CPrinter *c, const GpuNames *g, const Node *f, bool once);
/* Does the body of the loop `f` use its variable? */
bool gpu_body_uses_var(const Node *f);

/* The functor combining values by `op` (parpy_add, ...; the headers'). */
const char *gpu_red_functor(Op op);
/* A block's total of the reduction loop `f`, in `acc`, stored by its
 * first thread to f's partials (a second kernel combines them). */
void gpu_store_partial(CPrinter *c, const GpuNames *g, const Node *f, const char *acc);
/* A parallel external's statement (src/gpu/externals.c): every thread of
 * the level runs its one iteration, so that they call the external
 * together; no thread index selects one. */
void gpu_all_threads(CPrinter *c, const Node *f);
/* The kernels' own expressions: N_FIRST (is this the first thread of its
 * level, or of its block) and N_BLOCKIDX. */
void gpu_device_expr(CPrinter *c, const GpuNames *g, const Node *n);

/* The start of the calling convention of the C++ the GPU targets print
 * (C linkage): the comment, the signature and the access strings. */
void gpu_convention_strings(CPrinter *c);

#endif
