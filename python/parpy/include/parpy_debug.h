/* parpy_debug.h - the run-time checks of ParPy's debug mode (opts.debug,
 * PARPY_DEBUG=1; docs/debugging.md), included by the generated code of the
 * Cpu backend (C11) and of the Cuda backend (CUDA C++) after its own header.
 *
 * The generated code holds a table of check sites made at compile time (the
 * array, its shape, the Python file, line and source line of each access),
 * and its checks pass only small integers: the site's number and the values
 * at hand.  The first check that fails in a call (first by an atomic
 * compare-and-swap, whichever thread it is) fills the record; every other
 * failure is dropped.  A failing access is redirected to the array's first
 * element so that the call ends without touching memory it does not own; the
 * entry then returns PARPY_DBG_FAILED and <f>__error()/<f>__error_at() give
 * the message and the position, which the runtime raises as IndexError,
 * ZeroDivisionError, OverflowError, ValueError or a race error.
 *
 * The record is per library; the entry holds a lock for the whole call (calls
 * of one checked function from several threads run one at a time) and copies
 * the record to the calling thread before releasing it. */
#ifndef PARPY_DEBUG_H
#define PARPY_DEBUG_H

/* Only headers without functions: the generated code may name its own
 * functions like libc's (select, time, strlen); libc is reached through
 * compiler builtins. */
#include <stddef.h>
#include <stdint.h>

#define PARPY_DBG_FAILED 2 /* the entry's return value when a check failed */
#define PARPY_DBG_MAXV 8   /* index values kept (the first 8 of a higher rank) */

enum {
  PARPY_DBG_INDEX = 1, /* an index out of bounds: IndexError */
  PARPY_DBG_RACE = 2,  /* two iterations wrote one element */
  PARPY_DBG_ZERO = 3,  /* integer division or modulo by zero */
  PARPY_DBG_RANGE = 4, /* a float out of the range of the integer type */
  PARPY_DBG_NAN = 5    /* NaN converted to an integer */
};

typedef struct parpy_dbg_site {
  int32_t kind;
  const char *what;  /* the expression as the compiler saw it: "x[i + 1]" */
  const char *array; /* INDEX, RACE: the array's name */
  int32_t write;     /* INDEX: the access stores */
  int32_t rank;      /* INDEX, RACE: the shape */
  int64_t shape[PARPY_DBG_MAXV];
  const char *extra; /* RACE: the loop variable; RANGE, NAN: the integer type */
  const char *file, *func;
  int32_t line, col, end_col; /* col, end_col: 0-based */
  const char *source;         /* the source line */
} parpy_dbg_site;

typedef struct parpy_dbg_rec {
  int32_t state; /* 0: nothing failed; 1: filled */
  int32_t site;
  int32_t n;
  int32_t axis;
  int64_t v[PARPY_DBG_MAXV];
  double f;
} parpy_dbg_rec;

/* ---- the record and the checks ---- */

#ifdef __CUDACC__
#define PARPY_DBG_FN static __host__ __device__ inline
#define PARPY_DBG_COLD static __host__ __device__ __noinline__
#define PARPY_DBG_LIKELY(x) (x)
#define PARPY_DBG_TLS thread_local
__device__ parpy_dbg_rec parpy_dbg_dev;
static parpy_dbg_rec parpy_dbg_host; /* helpers called on the host */
#else
#define PARPY_DBG_FN static inline
#define PARPY_DBG_COLD static __attribute__((noinline, cold))
#define PARPY_DBG_LIKELY(x) __builtin_expect(!!(x), 1)
#define PARPY_DBG_TLS _Thread_local
static parpy_dbg_rec parpy_dbg_host;
#endif

/* A check failed in this call: while-loops stop (their condition may
 * depend on a value that a failed check replaced). */
#ifdef __CUDA_ARCH__
#define PARPY_DBG_STOPPED (*(volatile int32_t *)&parpy_dbg_dev.state)
#else
#define PARPY_DBG_STOPPED (*(volatile int32_t *)&parpy_dbg_host.state)
#endif

/* Fill the record unless a check failed before (in any thread). */
PARPY_DBG_COLD void parpy_dbg_fail(int32_t site, int32_t axis, int32_t n, const int64_t *v,
                                   double f) {
#ifdef __CUDA_ARCH__
  parpy_dbg_rec *r = &parpy_dbg_dev;
  if (atomicCAS(&r->state, 0, 1) != 0)
    return;
#else
  parpy_dbg_rec *r = &parpy_dbg_host;
  int32_t expected = 0;
  if (!__atomic_compare_exchange_n(&r->state, &expected, 1, 0, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return;
#endif
  r->site = site;
  r->axis = axis;
  r->n = n < PARPY_DBG_MAXV ? n : PARPY_DBG_MAXV;
  for (int32_t i = 0; i < r->n; i++)
    r->v[i] = v[i];
  r->f = f;
}

/* The failing axis of an index check: the first index outside [0, n). */
PARPY_DBG_COLD int64_t parpy_dbg_index_fail(int32_t site, int32_t rank, const int64_t *idx,
                                            const int64_t *dims) {
  int32_t axis = 0;
  while (axis < rank - 1 && (uint64_t)idx[axis] < (uint64_t)dims[axis])
    axis++;
  parpy_dbg_fail(site, axis, rank, idx, 0.0);
  return 0;
}

/* An integer divisor, checked: the same value back. */
#define PARPY_DBG_NONZERO(T, S)                                                                 \
  PARPY_DBG_FN T parpy_dbg_nz_##S(T b, int32_t site) {                                          \
    if (!PARPY_DBG_LIKELY(b != 0)) {                                                            \
      int64_t v = 0;                                                                             \
      parpy_dbg_fail(site, 0, 1, &v, 0.0);                                                       \
    }                                                                                            \
    return b;                                                                                    \
  }
PARPY_DBG_NONZERO(int8_t, i8)
PARPY_DBG_NONZERO(int16_t, i16)
PARPY_DBG_NONZERO(int32_t, i32)
PARPY_DBG_NONZERO(int64_t, i64)
PARPY_DBG_NONZERO(uint8_t, u8)
PARPY_DBG_NONZERO(uint16_t, u16)
PARPY_DBG_NONZERO(uint32_t, u32)
PARPY_DBG_NONZERO(uint64_t, u64)

/* A float about to be converted to an integer type whose values truncate
 * from (LO, HI) (exclusive bounds), checked: the same value back. */
#define PARPY_DBG_FITS(S, LO, HI)                                                               \
  PARPY_DBG_FN double parpy_dbg_fits_##S(double d, int32_t site) {                              \
    if (!PARPY_DBG_LIKELY(d > (LO) && d < (HI)))                                                \
      parpy_dbg_fail(site, d != d, 0, 0, d);                                                     \
    return d;                                                                                    \
  }
PARPY_DBG_FITS(i8, -129.0, 128.0)
PARPY_DBG_FITS(i16, -32769.0, 32768.0)
PARPY_DBG_FITS(i32, -2147483649.0, 2147483648.0)
PARPY_DBG_FITS(i64, -9223372036854777856.0, 9223372036854775808.0)
PARPY_DBG_FITS(u8, -1.0, 256.0)
PARPY_DBG_FITS(u16, -1.0, 65536.0)
PARPY_DBG_FITS(u32, -1.0, 4294967296.0)
PARPY_DBG_FITS(u64, -1.0, 18446744073709551616.0)

/* A shadow element of an array written through an index array holds the
 * iteration (the value of the innermost parallel loop variable) that last
 * wrote the element, or PARPY_DBG_UNWRITTEN (memset's 0x80 bytes). */
#define PARPY_DBG_UNWRITTEN ((int64_t)0x8080808080808080ULL)

PARPY_DBG_FN void parpy_dbg_mark(int64_t *shadow, int64_t off, int64_t it, int32_t site) {
#ifdef __CUDA_ARCH__
  int64_t old = (int64_t)atomicExch((unsigned long long *)&shadow[off], (unsigned long long)it);
#else
  int64_t old = __atomic_exchange_n(&shadow[off], it, __ATOMIC_RELAXED);
#endif
  if (!PARPY_DBG_LIKELY(old == PARPY_DBG_UNWRITTEN || old == it)) {
    int64_t v[3] = {off, old, it};
    parpy_dbg_fail(site, 0, 3, v, 0.0);
  }
}

/* ---- after the call (host code only) ---- */

/* A spin lock: a second thread calling the same checked function waits. */
static int32_t parpy_dbg_lock;
static PARPY_DBG_TLS parpy_dbg_rec parpy_dbg_last;
static PARPY_DBG_TLS char parpy_dbg_text[2048];

static void parpy_dbg_begin(void) {
  while (__atomic_exchange_n(&parpy_dbg_lock, 1, __ATOMIC_ACQUIRE))
    ;
  __builtin_memset(&parpy_dbg_host, 0, sizeof parpy_dbg_host);
}

/* The entry's return value: `rc` unless it is 0 and a check failed. */
static int32_t parpy_dbg_end(int32_t rc, const parpy_dbg_rec *r) {
  parpy_dbg_last = *r;
  if (parpy_dbg_host.state && !parpy_dbg_last.state)
    parpy_dbg_last = parpy_dbg_host;
  __atomic_store_n(&parpy_dbg_lock, 0, __ATOMIC_RELEASE);
  return rc == 0 && parpy_dbg_last.state ? PARPY_DBG_FAILED : rc;
}

static void parpy_dbg_ints(char *out, size_t n, const int64_t *v, int32_t k) {
  size_t at = 0;
  at += (size_t)__builtin_snprintf(out + at, n - at, "(");
  for (int32_t i = 0; i < k && at < n; i++)
    at += (size_t)__builtin_snprintf(out + at, n - at, "%s%lld", i ? ", " : "", (long long)v[i]);
  if (at < n)
    __builtin_snprintf(out + at, n - at, k == 1 ? ",)" : ")");
}

/* The multi-index of a row-major offset. */
static void parpy_dbg_unflatten(const parpy_dbg_site *s, int64_t off, int64_t *idx) {
  for (int32_t i = s->rank - 1; i >= 0; i--) {
    int64_t d = s->shape[i] > 0 ? s->shape[i] : 1;
    idx[i] = off % d;
    off /= d;
  }
}

/* The message of the calling thread's last failed check, or `other` when
 * the call failed for another reason. */
static const char *parpy_dbg_message(const parpy_dbg_site *sites, int32_t nsites,
                                     const char *other) {
  const parpy_dbg_rec *r = &parpy_dbg_last;
  char *t = parpy_dbg_text;
  size_t n = sizeof parpy_dbg_text;
  if (!r->state)
    return other;
  if (r->site < 0 || r->site >= nsites)
    return "a debug check failed";
  const parpy_dbg_site *s = &sites[r->site];
  char shape[256], vals[256];
  parpy_dbg_ints(shape, sizeof shape, s->shape, s->rank);
  switch (s->kind == PARPY_DBG_RANGE && r->axis ? PARPY_DBG_NAN : s->kind) {
  case PARPY_DBG_INDEX: {
    int32_t ax = r->axis;
    parpy_dbg_ints(vals, sizeof vals, r->v, r->n);
    __builtin_snprintf(t, n,
             "%s %s: index %lld is out of bounds for axis %d with size %lld (indices %s, "
             "%s has shape %s)",
             s->write ? "write to" : "read of", s->what, (long long)r->v[ax], (int)ax,
             (long long)s->shape[ax], vals, s->array, shape);
    break;
  }
  case PARPY_DBG_RACE: {
    int64_t idx[PARPY_DBG_MAXV];
    parpy_dbg_unflatten(s, r->v[0], idx);
    parpy_dbg_ints(vals, sizeof vals, idx, s->rank);
    __builtin_snprintf(t, n,
             "write race: iterations %s = %lld and %s = %lld of a parallel loop both write "
             "element %s of '%s' in %s (write it in one iteration only, or use .reduce() for "
             "an update)",
             s->extra, (long long)r->v[1], s->extra, (long long)r->v[2], vals, s->array, s->what);
    break;
  }
  case PARPY_DBG_ZERO: __builtin_snprintf(t, n, "integer division or modulo by zero in %s", s->what); break;
  case PARPY_DBG_RANGE:
    __builtin_snprintf(t, n, "%.17g is out of the range of %s in %s", r->f, s->extra, s->what);
    break;
  case PARPY_DBG_NAN:
  default: __builtin_snprintf(t, n, "cannot convert float NaN to integer (%s) in %s", s->extra, s->what);
  }
  return t;
}

/* The kind of the calling thread's last failure (0: none) and its position. */
static int32_t parpy_dbg_where(const parpy_dbg_site *sites, int32_t nsites, const char **file,
                               const char **func, int32_t *pos, const char **source) {
  const parpy_dbg_rec *r = &parpy_dbg_last;
  if (!r->state || r->site < 0 || r->site >= nsites)
    return 0;
  const parpy_dbg_site *s = &sites[r->site];
  *file = s->file;
  *func = s->func;
  pos[0] = s->line;
  pos[1] = s->col;
  pos[2] = s->end_col;
  *source = s->source;
  if (s->kind == PARPY_DBG_RANGE && r->axis)
    return PARPY_DBG_NAN;
  return s->kind;
}

#endif
