/* cnames.c - C names for the program's symbols and functions (Python
 * names where C allows them, never a keyword or a name of <math.h> or of
 * parpy's headers), and the C names of types. */
#include <ctype.h>
#include <string.h>

#include "cprint.h"

/* ---- names ---- */

/* C keywords, C++ keywords (the Cuda target prints C++), the names of
 * <math.h> (with their f and l variants) and of the headers we include. */
static const char *const reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "half", "main",
    "class", "new", "delete", "this", "template", "namespace", "operator", "private", "public",
    "protected", "virtual", "friend", "typename", "using", "try", "catch", "throw", "nullptr",
    "NAN", "INFINITY", "NULL", "errno", "args", "dim3", "threadIdx", "blockIdx", "blockDim",
    "gridDim", "warpSize", "abs", "labs", "llabs", "div", "malloc", "free", "exit", "printf",
    "memcpy", "memset", "isnan", "isinf", "isfinite", "signbit", "fpclassify", "isnormal",
    /* the Metal Shading Language's keywords and the names of its standard
     * library that generated code uses (the Metal target prints MSL) */
    "kernel", "device", "constant", "threadgroup", "thread", "metal", "uint", "ushort", "uchar",
    "ulong", "uint2", "uint3", "mem_flags", "threadgroup_barrier", "as_type",
};

static const char *const math_names[] = {
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "copysign",
    "cos", "cosh", "erf", "erfc", "exp", "exp2", "expm1", "fabs", "fdim", "floor", "fma",
    "fmax", "fmin", "fmod", "frexp", "hypot", "ilogb", "ldexp", "lgamma", "llrint", "llround",
    "log", "log10", "log1p", "log2", "logb", "lrint", "lround", "modf", "nan", "nearbyint",
    "nextafter", "nexttoward", "pow", "remainder", "remquo", "rint", "round", "scalbln",
    "scalbn", "sin", "sinh", "sqrt", "tan", "tanh", "tgamma", "trunc", "j0", "j1", "jn", "y0",
    "y1", "yn", "gamma", "drem", "significand", "exp10", "pow10", "sincos",
};

/* The math functions generated code calls: a local may not shadow them. */
static const char *const called[] = {
    "exp", "log", "sin", "cos", "tan", "sqrt", "tanh", "atan2", "floor", "ceil", "pow", "fabs",
    "fmod", "copysign",
};

static bool is_math_name(const char *s, const char *const *names, size_t count) {
  size_t n = strlen(s);
  for (size_t i = 0; i < count; i++) {
    size_t m = strlen(names[i]);
    if (strncmp(names[i], s, m) == 0 && (n == m || (n == m + 1 && (s[m] == 'f' || s[m] == 'l'))))
      return true;
  }
  return false;
}

/* Prefixes of names that are not ours to define: our header's (parpy),
 * the implementation's (__, _ and a capital), OpenMP's (the calls gcc
 * generates for a parallel loop would bind to a function of the same name
 * in the file), and the CUDA runtime's (called by the generated host code). */
static bool has_reserved_prefix(const char *s) {
  static const char *const prefixes[] = {"parpy", "__", "omp_", "GOMP_", "cuda"};
  for (size_t i = 0; i < PP_COUNT(prefixes); i++)
    if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  return s[0] == '_' && s[1] >= 'A' && s[1] <= 'Z';
}

bool c_is_reserved(const char *s, bool file_scope) {
  for (size_t i = 0; i < PP_COUNT(reserved); i++)
    if (strcmp(reserved[i], s) == 0)
      return true;
  if (file_scope ? is_math_name(s, math_names, PP_COUNT(math_names))
                 : is_math_name(s, called, PP_COUNT(called)))
    return true;
  return has_reserved_prefix(s);
}

/* The stem a reserved name is renamed from: a suffix cannot take a reserved
 * prefix away (renaming parpy_kernel to parpy_kernel_2 would clash again,
 * forever), so such names get the prefix py_ first. */
static const char *rename_stem(Arena *a, const char *name) {
  return has_reserved_prefix(name) ? arena_printf(a, "py_%s", name) : name;
}

/* A C identifier from a Python one: non-ASCII letters become '_'. */
static const char *sanitise(Arena *a, const char *name) {
  char *s = arena_strdup(a, name);
  for (char *q = s; *q; q++)
    if (!isalnum((unsigned char)*q) && *q != '_')
      *q = '_';
  if (isdigit((unsigned char)s[0]))
    return arena_printf(a, "_%s", s);
  return s;
}

static bool is_ext_name(const Prog *p, const char *name) {
  for (int i = 0; i < p->nexts; i++)
    if (strcmp(p->exts[i]->ext_name, name) == 0)
      return true;
  return false;
}

/* A C name for fn->syms[i] that no earlier symbol of `fn`, no reserved
 * name and no function it calls has. */
static const char *unique_cname(Prog *p, Fn *fn, int i) {
  Arena *a = &p->arena;
  const char *base = rename_stem(a, sanitise(a, fn->syms[i]->name));
  const char *name = base;
  for (int k = 2;; k++) {
    bool clash = c_is_reserved(name, false);
    for (int j = 0; j < i && !clash; j++)
      clash = fn->syms[j]->cname && strcmp(fn->syms[j]->cname, name) == 0;
    /* helpers and externals are C functions: a variable must not shadow
     * one it calls */
    for (Fn *h = p->helpers; h && !clash; h = h->next)
      clash = strcmp(h->name, name) == 0;
    clash = clash || is_ext_name(p, name);
    if (!clash)
      return name;
    name = arena_printf(a, "%s_%d", base, k);
  }
}

void c_assign_names(Prog *p, Fn *fn) {
  for (int i = 0; i < fn->nsyms; i++)
    fn->syms[i]->cname = unique_cname(p, fn, i);
}

Sym *c_new_local(CPrinter *c, const char *name, Type *ty) {
  Sym *s = fn_temp(c->p, c->fn, name, ty);
  s->cname = unique_cname(c->p, c->fn, c->fn->nsyms - 1);
  return s;
}

void c_name_functions(Prog *p) {
  Fn *all[256];
  int n = 0;
  for (Fn *h = p->helpers; h && n < 255; h = h->next)
    all[n++] = h;
  all[n++] = p->main;
  for (int i = 0; i < n; i++) {
    all[i]->name = rename_stem(&p->arena, all[i]->name);
    const char *base = arena_printf(&p->arena, "%s_", all[i]->name);
    for (int k = 2;; k++) {
      bool clash = c_is_reserved(all[i]->name, true) || is_ext_name(p, all[i]->name);
      for (int j = 0; j < i && !clash; j++)
        clash = strcmp(all[j]->name, all[i]->name) == 0;
      if (!clash)
        break;
      all[i]->name = k == 2 ? base : arena_printf(&p->arena, "%s%d", base, k);
    }
  }
}

const char *c_field_name(Prog *p, const Sym *dict, const char *key) {
  return arena_printf(&p->arena, "%s_%s", dict->cname, sanitise(&p->arena, key));
}

/* ---- types ---- */

const char *c_type_name(Elem e) {
  static const char *names[EL_COUNT] = {
      [EL_BOOL] = "bool",    [EL_I8] = "int8_t",   [EL_I16] = "int16_t",  [EL_I32] = "int32_t",
      [EL_I64] = "int64_t",  [EL_U8] = "uint8_t",  [EL_U16] = "uint16_t", [EL_U32] = "uint32_t",
      [EL_U64] = "uint64_t", [EL_F16] = "half",    [EL_F32] = "float",    [EL_F64] = "double",
      [EL_BF16] = "parpy_bf16", /* its bits (parpy_arith.h) */
  };
  return e < EL_COUNT ? names[e] : "void";
}

void c_type(CPrinter *c, const Type *t) {
  if (!t || t->kind == TY_VOID) {
    buf_puts(c->out, "void");
    return;
  }
  bool ptr = t->kind == TY_POINTER || t->kind == TY_ARRAY;
  if (ptr && c->d->pointer_type) {
    c->d->pointer_type(c, t->elem);
    return;
  }
  buf_puts(c->out, c->d->type_name(t->elem));
  if (ptr)
    buf_puts(c->out, " *");
}

void c_line_start(CPrinter *c) { buf_indent(c->out, c->depth); }
