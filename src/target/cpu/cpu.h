/* cpu.h - the parts of the Cpu target shared between its files. */
#ifndef PARPY_TARGET_CPU_H
#define PARPY_TARGET_CPU_H

#include "../cprint.h"

/* Print the reduction loop `f` (a `.reduce()` loop, or the loop a slice
 * reduction such as sum(x[i, :]) became) as SIMD code: `omp simd`
 * reductions, float sums added pairwise in blocks, float max/min with a NaN
 * flag; with `parallel`, shared among threads as well.  False (nothing
 * printed) when `f` is not a reduction of a form this handles. */
bool cpu_reduction(CPrinter *c, const Node *f, bool parallel);

/* `n` with every occurrence of the expression `target` replaced by `var`. */
Node *cpu_replace(Arena *a, const Node *n, const Node *target, Node *var);

/* Iterations of the loop `f` if known when printing, else -1. */
int64_t cpu_trip_count(const Node *f);

/* `n` calls no function that might do more than compute a value (so it
 * may be evaluated once more, or in any interleaving with others). */
bool cpu_simple_value(const Node *n);

/* The OpenMP reduction identifier of `op` ("+", "max", "&&", ...). */
const char *cpu_omp_op(Op op);

#endif
