/* target.c - the table of targets compiled into this build. */
#include "target.h"

const Target *target_get(Backend b) {
  switch (b) {
  case BACKEND_CPU: return &target_cpu;
  case BACKEND_CUDA: return &target_cuda;
  case BACKEND_METAL: return &target_metal;
  default: return NULL;
  }
}
