/* lower.c - the GPU steps in order (see gpu.h for the whole picture). */
#include "gpu.h"

bool gpu_lower(Prog *p) {
  return gpu_blocks(p) &&      /* gpu blocks and host reductions become roots */
         gpu_externals(p) &&   /* where externals run; parallel ones add a level */
         gpu_reductions(p) &&  /* per-thread accumulators; partials across blocks */
         gpu_split(p) &&       /* cut kernels where blocks depend on each other */
         gpu_temps(p) &&       /* locals across kernels; host code checks */
         gpu_kernels(p) &&     /* grids, parameters, guards, barriers */
         gpu_privatise(p);     /* small histograms in shared memory (Cuda) */
}
