/* target.h - the interface every backend implements (as QBE's targets do).
 *
 * A target prints a compiled Prog as source text and says how to build that
 * text into a shared library.  Each target lives in its own folder.
 *
 * Calling convention of every generated library (all targets):
 *
 *   const char <f>__signature[];        the ArgSpecs it was specialised to,
 *                                       in the text form of sig_format()
 *   int32_t <f>__entry(void **args);    calls the readable entry function
 *                                       <f>(...) with the arguments unpacked
 *   const char *<f>__error(void);       optional: message for a non-zero return
 *   const char <f>__access[];           optional: one character per slot, 'r' for an
 *                                       array the code only reads, 'w' for one it
 *                                       writes, '-' for anything else (a GPU runtime
 *                                       copies back only what was written)
 *
 * In C++ (CUDA) all four are declared extern "C" (a const global would
 * otherwise have internal linkage).
 *
 * where <f> is the Python function's name and `args` holds one slot per
 * argument leaf, in parameter order, dict fields in sorted key order: an
 * array's data pointer, or a pointer to a scalar's 8-byte value (scalars are
 * baked into the code, so their slots are only there to keep positions). */
#ifndef PARPY_TARGET_H
#define PARPY_TARGET_H

#include "../ast.h"

typedef struct Target {
  Backend backend;
  const char *name;    /* "Cpu": as in CompileBackend */
  const char *lang;    /* "C", "CUDA C++": for messages */
  const char *src_ext; /* ".c", ".cu" */
  /* Target-specific lowering after the common passes (NULL: none); the GPU
   * targets form kernels here. */
  bool (*lower)(Prog *p);
  /* Print the program; false on error (p->diag). */
  bool (*emit)(Prog *p, Buf *out);
  /* The compiler command building `src` into the shared library `lib`:
   * a NULL-terminated argv allocated in `a`.  `incdir` holds parpy's headers. */
  const char **(*build_cmd)(const Options *opt, const char *src, const char *lib,
                            const char *incdir, Arena *a);
} Target;

/* The target of a backend, or NULL when this build has none for it. */
const Target *target_get(Backend b);

extern const Target target_cpu, target_cuda, target_metal;

/* ---- signature.c: the text form of a specialisation ----
 *
 *   sig   := param (' ' param)*
 *   param := name ':' spec
 *   spec  := 'int=' INT | 'float=' HEXFLOAT | 'bool=' ('0'|'1')   (Python scalars)
 *          | 'bool_=' ('0'|'1')                                   (NumPy bool scalar)
 *          | ELEM '=' VALUE                                       (0-d array, NumPy scalar)
 *          | ELEM '[' [INT (',' INT)*] ']' ['ro']                 (array; ro: read-only allowed)
 *          | '{' key '=' spec (';' key '=' spec)* '}'            (dict, keys sorted)
 *          | '*'                                                  (opaque, unused)
 *   ELEM  := bool i8 i16 i32 i64 u8 u16 u32 u64 f16 f32 f64
 * Names and keys are percent-encoded outside [A-Za-z0-9_]. */
void sig_format(const char *const *names, const ArgSpec *specs, int n, Buf *out);
/* Parse a signature; false on malformed text (message in *d). */
bool sig_parse(const char *text, Arena *a, const char ***names, ArgSpec **specs, int *n,
               Diag *d);
/* Compact binary key of a specialisation, for the in-memory cache. */
void sig_key(const ArgSpec *specs, int n, Buf *out);
/* Number of `args` slots (leaves) of a specialisation. */
int sig_nslots(const ArgSpec *specs, int n);

#endif
