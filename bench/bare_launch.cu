// bare_launch.cu - the cost of launching an empty kernel from C, the floor
// that ParPy's call overhead is measured against (bench/call_overhead.py).
//
//   nvcc -O3 -arch=sm_90 bench/bare_launch.cu -o bare_launch
//   ./bare_launch NPTRS [LAUNCHES]
//
// Launches an empty kernel taking NPTRS (1 to 8) pointer arguments, with one
// block of 32 threads on the legacy default stream (as generated code does),
// LAUNCHES times, timing each launch on the host with the GPU idle (a
// cudaDeviceSynchronize between launches, not timed: back to back, launches
// would wait for a full queue and time the GPU instead).  Prints the median
// microseconds per launch, for the launch alone and for a launch followed by
// cudaGetLastError (what generated code does after each launch):
//   launch 2.41
//   launch_check 2.47
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>
#include <algorithm>

#include <cuda_runtime.h>

#define P float *__restrict__
__global__ void k1(P) {}
__global__ void k2(P, P) {}
__global__ void k3(P, P, P) {}
__global__ void k4(P, P, P, P) {}
__global__ void k5(P, P, P, P, P) {}
__global__ void k6(P, P, P, P, P, P) {}
__global__ void k7(P, P, P, P, P, P, P) {}
__global__ void k8(P, P, P, P, P, P, P, P) {}

static void launch(int n, float **p) {
  dim3 grid(1, 1, 1), block(32, 1, 1);
  switch (n) {
  case 1: k1<<<grid, block, 0, 0>>>(p[0]); break;
  case 2: k2<<<grid, block, 0, 0>>>(p[0], p[1]); break;
  case 3: k3<<<grid, block, 0, 0>>>(p[0], p[1], p[2]); break;
  case 4: k4<<<grid, block, 0, 0>>>(p[0], p[1], p[2], p[3]); break;
  case 5: k5<<<grid, block, 0, 0>>>(p[0], p[1], p[2], p[3], p[4]); break;
  case 6: k6<<<grid, block, 0, 0>>>(p[0], p[1], p[2], p[3], p[4], p[5]); break;
  case 7: k7<<<grid, block, 0, 0>>>(p[0], p[1], p[2], p[3], p[4], p[5], p[6]); break;
  default: k8<<<grid, block, 0, 0>>>(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]); break;
  }
}

static double now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static double median_launch(int nptrs, float **p, int launches, bool check) {
  std::vector<double> t(launches);
  for (int i = 0; i < launches; i++) {
    double t0 = now_us();
    launch(nptrs, p);
    if (check && cudaGetLastError() != cudaSuccess) {
      fprintf(stderr, "launch failed\n");
      exit(1);
    }
    t[i] = now_us() - t0;
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
      fprintf(stderr, "cudaDeviceSynchronize: %s\n", cudaGetErrorString(e));
      exit(1);
    }
  }
  std::nth_element(t.begin(), t.begin() + launches / 2, t.end());
  return t[launches / 2];
}

int main(int argc, char **argv) {
  int nptrs = argc > 1 ? atoi(argv[1]) : 2;
  int launches = argc > 2 ? atoi(argv[2]) : 20000;
  if (nptrs < 1 || nptrs > 8 || launches < 1) {
    fprintf(stderr, "usage: %s NPTRS(1-8) [LAUNCHES]\n", argv[0]);
    return 2;
  }
  float *p[8];
  for (int i = 0; i < 8; i++)
    if (cudaMalloc(&p[i], 1024) != cudaSuccess) {
      fprintf(stderr, "cudaMalloc failed: no usable GPU?\n");
      return 1;
    }
  median_launch(nptrs, p, 1000, true); /* warm-up: module loading, first launches */
  printf("launch %.3f\n", median_launch(nptrs, p, launches, false));
  printf("launch_check %.3f\n", median_launch(nptrs, p, launches, true));
  return 0;
}
