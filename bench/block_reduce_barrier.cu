// block_reduce_barrier.cu - does the leading __syncthreads of
// parpy_block_reduce (python/parpy/include/parpy_cuda.h) cost anything?
// Row sums of 65536 x 1024 float32 as the Cuda backend prints them, with
// the header's block reduction (two barriers) and with a copy that drops the
// first barrier (safe only for a kernel's first reduction).  Measured on an
// H100 on 2026-11-24, the first barrier did not matter, so the header keeps it:
//   tpb  two-barriers  one-barrier (us)
//   1024    248.8    248.3
//   512     148.3    145.0
//   128      92.5     92.4
//
//   nvcc -O3 -arch=sm_90 -I python/parpy/include bench/block_reduce_barrier.cu -o brb && ./brb
#include <algorithm>
#include <cstdio>
#include <vector>

#include "parpy_cuda.h"

template <typename Op, typename T>
__device__ inline T block_reduce_one_barrier(T v, typename parpy_same<T>::type identity) {
  __shared__ T per_warp[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = parpy_warp_reduce<Op>(v);
  if (lane == 0)
    per_warp[warp] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x / 32) ? per_warp[lane] : identity;
  return parpy_warp_reduce<Op>(v);
}

template <int TPB, bool ONE>
__global__ void __launch_bounds__(TPB) row_sums(const float *x, float *out) {
  int64_t i = blockIdx.x;
  float acc = 0.0f;
  for (int64_t r = threadIdx.x; r < 1024; r += TPB)
    acc += x[i * 1024 + r];
  acc = ONE ? block_reduce_one_barrier<parpy_add>(acc, 0.0f)
            : parpy_block_reduce<parpy_add>(acc, 0.0f);
  if (threadIdx.x == 0)
    out[i] = acc;
}

typedef void (*Kernel)(const float *, float *);

/* Median microseconds over 50 launches (after 10), alternating two inputs. */
static float time_us(Kernel k, int tpb, float **xs, float *out) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> ts;
  for (int r = 0; r < 60; r++) {
    cudaEventRecord(a);
    k<<<65536, tpb>>>(xs[r % 2], out);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms;
    cudaEventElapsedTime(&ms, a, b);
    if (r >= 10)
      ts.push_back(ms * 1e3f);
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

int main() {
  float *xs[2], *out;
  size_t n = 65536L * 1024;
  for (auto &x : xs) {
    cudaMalloc(&x, n * 4);
    cudaMemset(x, 0, n * 4);
  }
  cudaMalloc(&out, 65536 * 4);
  printf("tpb  two-barriers  one-barrier (us)\n");
  printf("1024 %8.1f %8.1f\n", time_us(row_sums<1024, false>, 1024, xs, out),
         time_us(row_sums<1024, true>, 1024, xs, out));
  printf("512  %8.1f %8.1f\n", time_us(row_sums<512, false>, 512, xs, out),
         time_us(row_sums<512, true>, 512, xs, out));
  printf("128  %8.1f %8.1f\n", time_us(row_sums<128, false>, 128, xs, out),
         time_us(row_sums<128, true>, 128, xs, out));
  cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess)
    printf("error: %s\n", cudaGetErrorString(e));
  return e != cudaSuccess;
}
