/* sum.h - the per-thread part of a parallel float sum on a GPU (sum.c). */
#ifndef PARPY_TARGET_CUDA_SUM_H
#define PARPY_TARGET_CUDA_SUM_H

#include "../cprint.h"

typedef struct CudaSum {
  const Node *acc;   /* the thread's accumulator (the reduction's target) */
  const Node *value; /* e of `acc = acc + e` */
  Elem elem, wide;   /* the accumulator's type and the one the sum runs in */
  const char *s, *c; /* the running sum and its compensation */
} CudaSum;

/* If `f` is a float sum reduction whose threads each add several elements,
 * open a block declaring the running sum and compensation and return true;
 * print the loop with cuda_sum_body as its body, then cuda_sum_end. */
bool cuda_sum_begin(CPrinter *c, const Node *f, CudaSum *cs);
void cuda_sum_body(CPrinter *c, const CudaSum *cs);
void cuda_sum_end(CPrinter *c, const CudaSum *cs);

#endif
