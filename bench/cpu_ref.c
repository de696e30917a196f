/* cpu_ref.c - hand-written C + OpenMP versions of the kernels of
 * bench/cpu.py, the reference ParPy's Cpu backend is measured against.
 * bench/cpu.py builds this file with the flags ParPy builds its own code
 * with.  Each kernel means what the ParPy version in bench/cpu.py means:
 * where that reduces (a slice reduction or a `.reduce()` label, whose
 * order is free) this uses an `omp simd` reduction; where it runs a loop
 * the user wrote in order, so does this. */
#include <math.h>
#include <stdint.h>

void row_sum(const float *x, float *out, int64_t n, int64_t m) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < m; j++)
      s += x[i * m + j];
    out[i] = s;
  }
}

void softmax(const float *x, float *out, int64_t n, int64_t m) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * m;
    float *oi = out + i * m;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < m; j++)
      mx = xi[j] > mx ? xi[j] : mx;
    for (int64_t j = 0; j < m; j++)
      oi[j] = expf(xi[j] - mx);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < m; j++)
      s += oi[j];
    for (int64_t j = 0; j < m; j++)
      oi[j] = oi[j] / s;
  }
}

static void jacobi_sweep(const double *a, double *b, int64_t n) {
#pragma omp parallel for
  for (int64_t i = 1; i < n - 1; i++)
    for (int64_t j = 1; j < n - 1; j++)
      b[i * n + j] =
          0.2 * (a[i * n + j] + a[i * n + j - 1] + a[i * n + j + 1] + a[(i + 1) * n + j] +
                 a[(i - 1) * n + j]);
}

void jacobi(double *a, double *b, int64_t n, int64_t steps) {
  for (int64_t t = 0; t < steps; t++) {
    jacobi_sweep(a, b, n);
    jacobi_sweep(b, a, n);
  }
}

void histogram(const uint8_t *x, int64_t *hist, int64_t n) {
#pragma omp parallel for reduction(+ : hist[:256])
  for (int64_t i = 0; i < n; i++)
    hist[x[i]] += 1;
}

void nbody(const double *pos, const double *mass, double *acc, int64_t n) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++) {
    double ax = 0.0, ay = 0.0, az = 0.0;
    for (int64_t j = 0; j < n; j++) {
      double dx = pos[j * 3] - pos[i * 3];
      double dy = pos[j * 3 + 1] - pos[i * 3 + 1];
      double dz = pos[j * 3 + 2] - pos[i * 3 + 2];
      double r2 = dx * dx + dy * dy + dz * dz + 0.01;
      double s = mass[j] / (r2 * sqrt(r2));
      ax += dx * s;
      ay += dy * s;
      az += dz * s;
    }
    acc[i * 3] = ax;
    acc[i * 3 + 1] = ay;
    acc[i * 3 + 2] = az;
  }
}

void axpy(double a, const double *x, double *y, int64_t n) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++)
    y[i] = a * x[i] + y[i];
}

void spmv(const int64_t *rows, const int64_t *cols, const double *vals, const double *x, double *y,
          int64_t n) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++) {
    double s = 0.0;
    for (int64_t k = rows[i]; k < rows[i + 1]; k++)
      s += vals[k] * x[cols[k]];
    y[i] = s;
  }
}

void mandelbrot(int32_t *out, int64_t h, int64_t w, int64_t maxit) {
#pragma omp parallel for
  for (int64_t i = 0; i < h; i++)
    for (int64_t j = 0; j < w; j++) {
      double cr = -2.0 + 3.0 * (double)j / (double)w;
      double ci = -1.5 + 3.0 * (double)i / (double)h;
      double zr = 0.0, zi = 0.0;
      int64_t k = 0;
      while (k < maxit && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        k++;
      }
      out[i * w + j] = (int32_t)k;
    }
}

void matmul(const float *a, const float *b, float *c, int64_t n) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < n; j++)
      c[i * n + j] = 0.0f;
    for (int64_t k = 0; k < n; k++) {
      float aik = a[i * n + k];
      for (int64_t j = 0; j < n; j++)
        c[i * n + j] += aik * b[k * n + j];
    }
  }
}
