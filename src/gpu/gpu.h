/* gpu.h - lowering for the GPU targets: from parallel loops to kernels.
 *
 * Each outermost parallel loop (a "root") with everything inside it becomes
 * a kernel.  Its parallel loops form layers by depth: the innermost layer
 * runs on the threads of a block (and on several blocks when it has more
 * threads than fit one), the outer layers on grid dimensions y, z, then x.
 * Statements between parallel loops run in every thread of the layers below
 * them, so writes to arrays there are done by one thread, and statements
 * that depend on each other are separated by a barrier when the threads
 * involved share a block (or a cluster), and otherwise by splitting the
 * kernel in two (sequential loops in between then move to the host).
 * Locals that live across such a split become arrays in device memory.
 *
 * The steps run in this order (gpu_lower, lower.c), one file each. */
#ifndef PARPY_GPU_H
#define PARPY_GPU_H

#include "../ast.h"

enum { GPU_MAX_LAYERS = 8, GPU_MAX_GRID_YZ = 65535 };
#define GPU_MAX_GRID_X ((int64_t)2147483647)

/* One level of parallel loops of a kernel, outermost first. */
typedef struct Layer {
  int64_t n;       /* threads asked for: the most any loop of this level asked */
  int64_t T;       /* slots: indices 0..T-1 (innermost: rounded up to whole warps) */
  int64_t blocks;  /* blocks it spans along `dim` (a block layer: n) */
  char dim;        /* 'x', 'y' or 'z' */
  int64_t below;   /* blocks of the inner layers on the same dimension */
  bool top;        /* the outermost layer on its dimension */
} Layer;

/* An array whose atomic updates a kernel makes in a copy in shared memory,
 * merged into the array at the end of each block (privatise.c). */
typedef struct GpuPrivate {
  Sym *global; /* the argument array */
  Sym *copy;   /* the block's copy: same shape, maybe a wider or narrower counter type */
  int64_t numel;
} GpuPrivate;

struct Kernel {
  const char *name;
  Node *root;
  int nlayers;
  Layer layers[GPU_MAX_LAYERS];
  int64_t tpb;        /* threads per block actually launched */
  /* Cuda, a kernel of one level whose iterations are independent
   * (elementwise): each thread runs `coarsen` iterations, tpb apart, of
   * its block's chunk of coarsen * tpb; 0 for the ordinary mapping. */
  int64_t coarsen;
  int64_t trips;      /* ... the level's iterations (when coarsen) */
  /* Cuda: no two array parameters can name overlapping memory (each is a
   * distinct argument, which the runtime checks, or a temporary), so they
   * are printed __restrict__. */
  bool restrict_ok;
  bool *param_const;  /* by parameter: an array the kernel only reads */
  int64_t grid[3];
  int64_t cluster;    /* blocks per cluster, 0 for none */
  int nparams;
  Node **params;      /* N_VAR (arrays, host scalars, temporaries) or N_FIELD */
  int nprivate;       /* arrays updated in shared memory (privatise.c) */
  GpuPrivate *privates;
  Kernel *next;
};

/* ---- nest.c: facts about parallel nests shared by the steps ---- */
bool gpu_is_par(const Node *s);
/* The most threads asked for at each depth of the nest rooted at `root`. */
int gpu_nest_widths(const Node *root, int64_t *n);
/* The threads per block of a nest: its one non-default tpb, or the default. */
int64_t gpu_nest_tpb(const Node *root);
/* How many synchronisation units (blocks, or clusters when enabled) the
 * threads of layers `depth`.. span; 1 means a barrier can order them. */
int64_t gpu_units_below(const Options *o, const int64_t *n, int k, int depth, int64_t tpb);
/* Does the statement (or list) write an array that other threads may read? */
bool gpu_produces(const Node *s);
bool gpu_list_produces(const Node *list);
/* Threads of the innermost layer: a whole number of warps (1 stays 1). */
int64_t gpu_round_threads(int64_t n);
/* Blocks the innermost layer needs. */
int64_t gpu_inner_blocks(int64_t n, int64_t tpb);
/* Trip count of a loop with constant bounds; false otherwise. */
bool gpu_trips(const Node *f, int64_t *trips);

/* ---- the steps ---- */
bool gpu_blocks(Prog *p);     /* blocks.c: gpu blocks become 1-thread loops */
bool gpu_externals(Prog *p);  /* externals.c: placement; parallel externals as levels */
bool gpu_reductions(Prog *p); /* reduce.c: reductions into per-thread accumulators */
bool gpu_split(Prog *p);      /* split.c: kernels split at inter-block dependences */
bool gpu_temps(Prog *p);      /* temps.c: locals across kernels; host code checks */
bool gpu_kernels(Prog *p);    /* kernels.c: grids, parameters, guards, barriers */
bool gpu_privatise(Prog *p);  /* privatise.c: small histograms in shared memory (Cuda) */

bool gpu_lower(Prog *p);      /* lower.c: the steps above, in order */

/* ---- temporaries (temps.c) ---- */
/* A device array of `ty` the host allocates for the kernels. */
Sym *gpu_new_temp(Prog *p, const char *name, Elem e, int rank, const int64_t *shape);
/* Keep, of the enclosing parallel loops `enc`, those that index an array
 * kept per iteration: all but loops of exactly one iteration (a gpu block). */
int gpu_index_loops(Node **enc, int n, Node **out);
/* The row-major index of the iteration of `loops` (enclosing parallel loops
 * with constant bounds) as subscript arguments: (i - lo) / step each. */
Node *gpu_iteration_index(Prog *p, Node **loops, int n, Span span);

#endif
