/* cprint.c - expressions and statements in C syntax.  The code is meant to
 * be read: names come from the Python source, operators print with the
 * fewest parentheses C needs, and Python semantics that C lacks go through
 * the small parpy_* functions of the target's header. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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

/* ---- literals ---- */

static void print_float(CPrinter *c, double v, Elem e) {
  Buf *o = c->out;
  if (isnan(v)) {
    buf_puts(o, e == EL_F64 ? "(double)NAN" : e == EL_F32 ? "NAN" : "(half)NAN");
    return;
  }
  if (isinf(v)) {
    const char *sign = v < 0 ? "-" : "";
    if (e == EL_F64)
      buf_printf(o, "%s(double)INFINITY", sign);
    else if (e == EL_F32)
      buf_printf(o, "%sINFINITY", sign);
    else
      buf_printf(o, "%s(half)INFINITY", sign);
    return;
  }
  Value val = {.elem = EL_F64, .f = v};
  if (e == EL_F16)
    buf_puts(o, "(half)");
  value_str(val, o);
  if (e == EL_F32)
    buf_puts(o, "f");
}

static void print_int(CPrinter *c, Value v, Elem e) {
  Buf *o = c->out;
  if (e == EL_U64) {
    if (v.u == UINT64_MAX)
      buf_puts(o, "UINT64_MAX");
    else
      buf_printf(o, "%" PRIu64 "u", v.u);
    return;
  }
  if (elem_is_unsigned(e)) {
    buf_printf(o, "%" PRIu64 "u", v.u);
    return;
  }
  if (v.i == INT64_MIN)
    buf_puts(o, "INT64_MIN");
  else if (v.i < INT32_MIN || v.i > INT32_MAX)
    buf_printf(o, "%" PRId64 "%s", v.i, c->d->int64_suffix ? c->d->int64_suffix : "LL");
  else
    buf_printf(o, "%" PRId64, v.i);
}

static void print_literal(CPrinter *c, const Node *n) {
  Elem e = n->ty ? n->ty->elem : n->val.elem;
  if (e == EL_BOOL) {
    bool b = n->kind == N_BOOL ? n->val.b : n->val.i != 0;
    buf_puts(c->out, b ? "true" : "false");
  } else if (elem_is_float(e)) {
    double v = n->kind == N_FLOAT ? n->val.f : (double)n->val.i;
    print_float(c, v, e);
  } else {
    Value v = n->val;
    if (n->kind == N_BOOL)
      v.i = n->val.b;
    print_int(c, v, e);
  }
}

/* ---- expressions ---- */

/* C precedence levels (higher binds tighter). */
enum {
  P_COMMA = 1, P_TERNARY = 3, P_OR = 4, P_AND = 5, P_BITOR = 6, P_BITXOR = 7, P_BITAND = 8,
  P_EQ = 9, P_REL = 10, P_SHIFT = 11, P_ADD = 12, P_MUL = 13, P_UNARY = 14, P_POSTFIX = 15,
  P_ATOM = 16
};

static int binary_prec(Op op) {
  switch (op) {
  case OP_ADD:
  case OP_SUB: return P_ADD;
  case OP_MUL:
  case OP_DIV: return P_MUL;
  case OP_BITAND: return P_BITAND;
  case OP_BITOR: return P_BITOR;
  case OP_BITXOR: return P_BITXOR;
  case OP_SHL:
  case OP_SHR: return P_SHIFT;
  case OP_EQ:
  case OP_NE: return P_EQ;
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: return P_REL;
  default: return P_ATOM; /* printed as calls */
  }
}

static void expr_prec(CPrinter *c, const Node *n, int min_prec);

static Elem ty_elem(const Node *n) { return n->ty ? n->ty->elem : n->val.elem; }

/* Integer arithmetic narrower than int is done in int by C; NumPy wraps it
 * to the element type, so such results are cast back.  Likewise half
 * precision is computed in float: NumPy rounds after every operation. */
static bool needs_narrow_cast(const Node *n) {
  Elem e = ty_elem(n);
  return (elem_is_int(e) && elem_size(e) < 4) || e == EL_F16;
}

static void call1(CPrinter *c, const char *fn, const Node *a) {
  buf_printf(c->out, "%s(", fn);
  expr_prec(c, a, P_COMMA + 1);
  buf_puts(c->out, ")");
}

static void call2(CPrinter *c, const char *fn, const Node *a, const Node *b) {
  buf_printf(c->out, "%s(", fn);
  expr_prec(c, a, P_COMMA + 1);
  buf_puts(c->out, ", ");
  expr_prec(c, b, P_COMMA + 1);
  buf_puts(c->out, ")");
}

/* parpy_<op>_<type>(a, b) from the target header. */
static void helper2(CPrinter *c, const char *op, const Node *n) {
  char name[48];
  if (strcmp(op, "cmp") == 0) /* parpy_cmp_i64_u64: both types */
    snprintf(name, sizeof name, "parpy_%s_%s_%s", op, elem_short(ty_elem(n->lhs)),
             elem_short(ty_elem(n->rhs)));
  else
    snprintf(name, sizeof name, "parpy_%s_%s", op, elem_short(ty_elem(n->lhs)));
  call2(c, name, n->lhs, n->rhs);
}

/* The float version of the math function `fn`: expf, or the dialect's. */
static const char *float_math(CPrinter *c, const char *fn) {
  if (c->d->math_name)
    return c->d->math_name(fn);
  return arena_printf(&c->p->arena, "%sf", fn);
}

/* The C math function for a float type: exp, expf, or via float for half. */
static void math1(CPrinter *c, const char *fn, const Node *a, Elem e) {
  if (e == EL_F64) {
    call1(c, fn, a);
  } else if (e == EL_F32) {
    call1(c, float_math(c, fn), a);
  } else {
    buf_printf(c->out, "(half)%s((float)", float_math(c, fn));
    expr_prec(c, a, P_UNARY);
    buf_puts(c->out, ")");
  }
}

static void math2(CPrinter *c, const char *fn, const Node *a, const Node *b, Elem e) {
  if (e == EL_F64) {
    call2(c, fn, a, b);
  } else if (e == EL_F32) {
    call2(c, float_math(c, fn), a, b);
  } else {
    buf_printf(c->out, "(half)%s((float)", float_math(c, fn));
    expr_prec(c, a, P_UNARY);
    buf_puts(c->out, ", (float)");
    expr_prec(c, b, P_UNARY);
    buf_puts(c->out, ")");
  }
}

/* A float converted to an integer: parpy_to_<t> gives NumPy's result
 * where a C cast would be undefined (out of range, NaN). */
static void float_to_int(CPrinter *c, Elem e, Elem from, const Node *a, const char *math) {
  buf_printf(c->out, "parpy_to_%s(", elem_short(e));
  if (math && from == EL_F16) { /* in float: no half argument to convert */
    buf_printf(c->out, "%s((float)", float_math(c, math));
    expr_prec(c, a, P_UNARY);
    buf_puts(c->out, ")");
  } else if (math)
    math1(c, math, a, from);
  else if (from == EL_F16) {
    buf_puts(c->out, "(float)");
    expr_prec(c, a, P_UNARY);
  } else
    c_expr(c, a);
  buf_puts(c->out, ")");
}

static void print_cast(CPrinter *c, Elem e, const Node *a) {
  if (elem_is_int(e) && elem_is_float(ty_elem(a))) {
    float_to_int(c, e, ty_elem(a), a, NULL);
    return;
  }
  buf_printf(c->out, "(%s)", c->d->type_name(e));
  expr_prec(c, a, P_UNARY);
}

/* Whether C's shift means NumPy's: a constant count below the width, and
 * for <<, an unsigned operand (shifting a negative number left is UB). */
static bool plain_shift(const Node *n) {
  Elem e = ty_elem(n->lhs);
  int64_t k;
  if (!const_int(n->rhs, &k) || k < 0 || k >= 8 * elem_size(e))
    return false;
  return n->op == OP_SHR || elem_is_unsigned(e);
}

static void print_binary(CPrinter *c, const Node *n, int min_prec) {
  Elem oe = ty_elem(n->lhs);
  if (c->d->binary && c->d->binary(c, n))
    return;
  if ((n->op == OP_ADD || n->op == OP_MUL) && ty_elem(n) == EL_BOOL) {
    /* NumPy's bool + bool is `or` and bool * bool `and` (C would make 2) */
    int p = n->op == OP_MUL ? P_AND : P_OR;
    if (p < min_prec)
      buf_puts(c->out, "(");
    expr_prec(c, n->lhs, p);
    buf_puts(c->out, n->op == OP_MUL ? " && " : " || ");
    expr_prec(c, n->rhs, p + 1);
    if (p < min_prec)
      buf_puts(c->out, ")");
    return;
  }
  Elem re = ty_elem(n->rhs);
  if (n->op >= OP_EQ && n->op <= OP_GE &&
      ((oe == EL_I64 && re == EL_U64) || (oe == EL_U64 && re == EL_I64))) {
    /* int64 against uint64: C would compare as uint64 (-1 > 0) */
    buf_puts(c->out, "(");
    helper2(c, "cmp", n);
    buf_printf(c->out, " %s 0)", op_symbol(n->op));
    return;
  }
  switch (n->op) {
  case OP_FLOORDIV: helper2(c, "floordiv", n); return;
  case OP_MOD: helper2(c, "mod", n); return;
  case OP_SHL:
  case OP_SHR:
    if (!plain_shift(n)) {
      helper2(c, n->op == OP_SHL ? "shl" : "shr", n);
      return;
    }
    break;
  /* weak_result marks Python's builtin max/min, which differ from NumPy's
   * only when a float operand is NaN */
  case OP_MAX: helper2(c, n->weak_result && elem_is_float(oe) ? "pymax" : "max", n); return;
  case OP_MIN: helper2(c, n->weak_result && elem_is_float(oe) ? "pymin" : "min", n); return;
  case OP_POW:
    if (elem_is_float(oe))
      math2(c, "pow", n->lhs, n->rhs, oe);
    else
      helper2(c, "pow", n);
    return;
  case OP_ATAN2: math2(c, "atan2", n->lhs, n->rhs, oe); return;
  case OP_AND:
  case OP_OR:
    if (oe == EL_BOOL) {
      int p = n->op == OP_AND ? P_AND : P_OR;
      if (p < min_prec)
        buf_puts(c->out, "(");
      expr_prec(c, n->lhs, p);
      buf_puts(c->out, n->op == OP_AND ? " && " : " || ");
      expr_prec(c, n->rhs, p + 1);
      if (p < min_prec)
        buf_puts(c->out, ")");
    } else {
      /* Python: `a and b` is b if a is true, else a (and `or` the reverse). */
      buf_puts(c->out, "(");
      expr_prec(c, n->lhs, P_TERNARY + 1);
      buf_puts(c->out, " ? ");
      expr_prec(c, n->op == OP_AND ? n->rhs : n->lhs, P_TERNARY + 1);
      buf_puts(c->out, " : ");
      expr_prec(c, n->op == OP_AND ? n->lhs : n->rhs, P_TERNARY);
      buf_puts(c->out, ")");
    }
    return;
  default: break;
  }
  int p = binary_prec(n->op);
  bool narrow = needs_narrow_cast(n) && p >= P_SHIFT;
  if (narrow) {
    buf_printf(c->out, "(%s)(", c->d->type_name(ty_elem(n)));
  } else if (p < min_prec)
    buf_puts(c->out, "(");
  expr_prec(c, n->lhs, p);
  buf_printf(c->out, " %s ", op_symbol(n->op));
  expr_prec(c, n->rhs, p + 1);
  if (narrow || p < min_prec)
    buf_puts(c->out, ")");
}

static void print_unary(CPrinter *c, const Node *n, int min_prec) {
  Elem e = ty_elem(n);
  const char *op = n->op == OP_NEG ? "-" : n->op == OP_POS ? "+" : n->op == OP_NOT ? "!" : "~";
  if (n->op == OP_INVERT && e == EL_BOOL)
    op = "!";
  if (n->op == OP_POS) {
    expr_prec(c, n->lhs, min_prec);
    return;
  }
  bool narrow = needs_narrow_cast(n) && n->op != OP_NOT;
  if (narrow)
    buf_printf(c->out, "(%s)(", c->d->type_name(e));
  else if (P_UNARY < min_prec)
    buf_puts(c->out, "(");
  buf_puts(c->out, op);
  /* An operand printed with a leading sign (a negative literal, int(-12),
   * another negation) goes in parentheses: "--12" is a decrement in C. */
  Buf arg;
  buf_init(&arg);
  Buf *save = c->out;
  c->out = &arg;
  expr_prec(c, n->lhs, P_UNARY);
  c->out = save;
  bool sep = arg.len > 0 && (arg.data[0] == '-' || arg.data[0] == '+');
  buf_printf(c->out, sep ? "(%s)" : "%s", buf_cstr(&arg));
  buf_free(&arg);
  if (narrow || P_UNARY < min_prec)
    buf_puts(c->out, ")");
}

/* parpy_<fn>_<type>(a) from the target header. */
static void helper1(CPrinter *c, const char *fn, const Node *a, Elem e) {
  char name[48];
  snprintf(name, sizeof name, "parpy_%s_%s", fn, elem_short(e));
  call1(c, name, a);
}

/* The C spelling of the math library's float functions (math1/math2). */
static const char *math_c_name(Builtin b) {
  static const char *names[B_COUNT] = {
      [B_LOG2] = "log2",   [B_LOG10] = "log10", [B_LOG1P] = "log1p",   [B_EXPM1] = "expm1",
      [B_EXP2] = "exp2",   [B_ASIN] = "asin",   [B_ACOS] = "acos",     [B_ATAN] = "atan",
      [B_SINH] = "sinh",   [B_COSH] = "cosh",   [B_ASINH] = "asinh",   [B_ACOSH] = "acosh",
      [B_ATANH] = "atanh", [B_ERF] = "erf",     [B_ERFC] = "erfc",     [B_GAMMA] = "tgamma",
      [B_LGAMMA] = "lgamma", [B_CBRT] = "cbrt", [B_RINT] = "rint",     [B_HYPOT] = "hypot",
      [B_COPYSIGN] = "copysign", [B_FMOD] = "fmod", [B_FMAX] = "fmax", [B_FMIN] = "fmin",
      [B_TRUNC] = "trunc", [B_ROUND] = "rint",
  };
  return names[b];
}

/* isnan/isinf/isfinite: constants for integers, as NumPy's. */
static void print_predicate(CPrinter *c, const Node *n, const Node *a, Elem ae) {
  const char *fn = n->builtin == B_ISNAN ? "isnan" : n->builtin == B_ISINF ? "isinf" : "isfinite";
  if (!elem_is_float(ae)) {
    buf_puts(c->out, n->builtin == B_ISFINITE ? "true" : "false");
    return;
  }
  /* C's macros return any nonzero int (glibc's isinf gives -1 for -inf),
   * which would show when the bool is stored as a number. */
  buf_printf(c->out, "(%s(", fn);
  if (ae == EL_F16)
    buf_puts(c->out, "(float)");
  expr_prec(c, a, ae == EL_F16 ? P_UNARY : P_COMMA + 1);
  buf_puts(c->out, ") != 0)");
}

/* trunc and round (half to even: rint in the default rounding mode), of
 * the argument's type or, for math.trunc and Python's round, an int. */
static void print_rounding(CPrinter *c, const Node *n, const Node *a, Elem e, Elem ae) {
  if (!elem_is_float(ae)) {
    if (ae == e)
      expr_prec(c, a, P_UNARY);
    else
      print_cast(c, e, a);
    return;
  }
  if (e != ae)
    buf_printf(c->out, "(%s)", c->d->type_name(e));
  math1(c, math_c_name(n->builtin), a, ae);
}

/* The math library beyond the first functions: NULL-named ones are not. */
static bool print_mathlib(CPrinter *c, const Node *n, const Node *a, Elem e, Elem ae) {
  Builtin b = n->builtin;
  if (b == B_RADIANS || b == B_DEGREES) {
    helper1(c, b == B_RADIANS ? "radians" : "degrees", a, e);
    return true;
  }
  if (b == B_SIGN || b == B_SQUARE || b == B_RECIPROCAL) {
    helper1(c, b == B_SIGN ? "sign" : b == B_SQUARE ? "square" : "reciprocal", a, e);
    return true;
  }
  if (b == B_ISNAN || b == B_ISINF || b == B_ISFINITE) {
    print_predicate(c, n, a, ae);
    return true;
  }
  if (b == B_TRUNC || b == B_ROUND) {
    print_rounding(c, n, a, e, ae);
    return true;
  }
  if ((b == B_FMOD || b == B_FMAX || b == B_FMIN) && !elem_is_float(e)) {
    char name[48];
    snprintf(name, sizeof name, "parpy_%s_%s", b == B_FMOD ? "fmod" : b == B_FMAX ? "max" : "min",
             elem_short(e));
    call2(c, name, a, a->next);
    return true;
  }
  const char *fn = b < B_COUNT ? math_c_name(b) : NULL;
  if (!fn)
    return false;
  if (a->next)
    math2(c, fn, a, a->next, e);
  else
    math1(c, fn, a, e);
  return true;
}

static void print_builtin(CPrinter *c, const Node *n) {
  const Node *a = n->args;
  Elem e = ty_elem(n);
  Elem ae = ty_elem(a);
  if (print_mathlib(c, n, a, e, ae))
    return;
  switch (n->builtin) {
  case B_EXP: math1(c, "exp", a, e); return;
  case B_LOG: math1(c, "log", a, e); return;
  case B_SIN: math1(c, "sin", a, e); return;
  case B_COS: math1(c, "cos", a, e); return;
  case B_TAN: math1(c, "tan", a, e); return;
  case B_SQRT: math1(c, "sqrt", a, e); return;
  case B_TANH: math1(c, "tanh", a, e); return;
  case B_ATAN2: math2(c, "atan2", a, a->next, e); return;
  case B_FLOOR:
  case B_CEIL:
    if (!elem_is_float(ae)) {
      if (ae == e)
        expr_prec(c, a, P_UNARY);
      else
        print_cast(c, e, a);
      return;
    }
    if (elem_is_float(e)) {
      math1(c, n->builtin == B_FLOOR ? "floor" : "ceil", a, ae);
      return;
    }
    float_to_int(c, e, ae, a, n->builtin == B_FLOOR ? "floor" : "ceil");
    return;
  case B_ABS:
    if (ae == EL_BOOL || elem_is_unsigned(ae))
      expr_prec(c, a, P_UNARY);
    else if (elem_is_float(ae))
      math1(c, "fabs", a, ae);
    else {
      char name[32];
      snprintf(name, sizeof name, "parpy_abs_%s", elem_short(ae));
      call1(c, name, a);
    }
    return;
  case B_CONVERT:
  case B_INT:
  case B_FLOAT:
  case B_BOOL:
    if (ae == e)
      expr_prec(c, a, P_UNARY);
    else
      print_cast(c, e, a);
    return;
  default:
    buf_printf(c->out, "/* unsupported builtin %s */ 0", builtin_name(n->builtin));
    return;
  }
}

/* Row-major offset of the indices of a subscript into its base array. */
static void print_subscript(CPrinter *c, const Node *n) {
  const Node *base = n->lhs;
  expr_prec(c, base, P_POSTFIX);
  buf_puts(c->out, "[");
  const Type *bt = base->ty;
  if (bt && bt->kind == TY_ARRAY) {
    int k = 0;
    bool first = true;
    for (const Node *i = n->args; i; i = i->next, k++) {
      int64_t stride = 1, v;
      for (int j = k + 1; j < bt->rank; j++)
        stride *= bt->shape[j];
      if (i->kind == N_SLICE) { /* a view's first element (a pointer argument) */
        if (i->sl_start == 0)
          continue;
        if (!first)
          buf_puts(c->out, " + ");
        first = false;
        buf_printf(c->out, "%" PRId64, i->sl_start * stride);
        continue;
      }
      if (i->kind == N_INT && const_int(i, &v) && v == 0 && (i->next || !first))
        continue; /* a zero term adds nothing */
      if (!first)
        buf_puts(c->out, " + ");
      first = false;
      if (stride == 1) /* a sum of terms: + and - associate (wrapping integers) */
        expr_prec(c, i, P_ADD);
      else {
        expr_prec(c, i, P_MUL);
        buf_printf(c->out, " * %" PRId64, stride);
      }
    }
    if (first)
      buf_puts(c->out, "0");
  } else {
    expr_prec(c, n->args, P_COMMA + 1);
  }
  buf_puts(c->out, "]");
}

/* A call of a helper or an external.  After the slice pass an argument
 * that is still an array goes to a pointer parameter: a view (x[i]) is
 * passed as the address of its first element (types.c checked that it is
 * contiguous). */
static void print_call(CPrinter *c, const char *name, const Node *args) {
  buf_printf(c->out, "%s(", name);
  for (const Node *a = args; a; a = a->next) {
    if (a->kind == N_SUBSCRIPT && a->ty && a->ty->kind == TY_ARRAY) {
      buf_puts(c->out, "&");
      print_subscript(c, a);
    } else {
      expr_prec(c, a, P_COMMA + 1);
    }
    if (a->next)
      buf_puts(c->out, ", ");
  }
  buf_puts(c->out, ")");
}

static void expr_prec(CPrinter *c, const Node *n, int min_prec) {
  Buf *o = c->out;
  switch (n->kind) {
  case N_INT:
  case N_FLOAT:
  case N_BOOL: {
    size_t at = o->len;
    print_literal(c, n);
    /* a negative literal or a cast is not an atom */
    if (min_prec > P_UNARY && o->len > at && (o->data[at] == '-' || o->data[at] == '(')) {
      char *lit = arena_strndup(&c->p->arena, o->data + at, o->len - at);
      o->len = at;
      buf_printf(o, "(%s)", lit);
    }
    return;
  }
  case N_VAR: buf_puts(o, n->sym->cname ? n->sym->cname : n->sym->name); return;
  case N_FIELD: buf_puts(o, c_field_name(c->p, n->lhs->sym, n->str)); return;
  case N_SUBSCRIPT: print_subscript(c, n); return;
  case N_CONVERT:
    if (P_UNARY < min_prec)
      buf_puts(o, "(");
    print_cast(c, n->ty->elem, n->lhs);
    if (P_UNARY < min_prec)
      buf_puts(o, ")");
    return;
  case N_UNARY: print_unary(c, n, min_prec); return;
  case N_BINARY: print_binary(c, n, min_prec); return;
  case N_IFEXP:
    if (P_TERNARY < min_prec)
      buf_puts(o, "(");
    expr_prec(c, n->cond, P_OR);
    buf_puts(o, " ? ");
    expr_prec(c, n->then, P_TERNARY);
    buf_puts(o, " : ");
    expr_prec(c, n->els, P_TERNARY);
    if (P_TERNARY < min_prec)
      buf_puts(o, ")");
    return;
  case N_BUILTIN: print_builtin(c, n); return;
  case N_FUNCALL: print_call(c, n->fn->name, n->args); return;
  case N_EXTCALL: print_call(c, n->ext->ext_name, n->args); return;
  default:
    if (c->d->extra_expr) {
      c->d->extra_expr(c, n);
      return;
    }
    buf_printf(o, "/* unexpected node %d */ 0", n->kind);
    return;
  }
}

void c_expr(CPrinter *c, const Node *n) { expr_prec(c, n, P_COMMA); }

/* ---- statements ---- */

static const Node *peel(const Node *n) {
  while (n && n->kind == N_CONVERT)
    n = n->lhs;
  return n;
}

/* `t = t op e` prints as `t op= e` when C's compound assignment means the
 * same: no conversion in between, and an operator C has. */
static bool compound(const Node *s, const char **op) {
  const Node *r = s->rhs;
  if (r->kind != N_BINARY || !expr_equal(r->lhs, s->lhs))
    return false;
  if (!r->ty || !s->lhs->ty || r->ty->elem != s->lhs->ty->elem)
    return false;
  switch (r->op) {
  case OP_ADD: *op = "+="; return true;
  case OP_SUB: *op = "-="; return true;
  case OP_MUL: *op = "*="; return true;
  case OP_DIV: *op = "/="; return true;
  case OP_BITAND: *op = "&="; return true;
  case OP_BITOR: *op = "|="; return true;
  case OP_BITXOR: *op = "^="; return true;
  default: return false;
  }
}

/* "double x" or, for an array local chosen at run time, "double *src". */
static void print_decl(CPrinter *c, const Sym *s) {
  const Type *t = s->ty;
  if (t && t->kind == TY_ARRAY && c->d->pointer_type) {
    c->d->pointer_type(c, t->elem);
    buf_puts(c->out, s->cname);
  } else if (t && t->kind == TY_ARRAY)
    buf_printf(c->out, "%s *%s", c->d->type_name(t->elem), s->cname);
  else {
    c_type(c, t);
    buf_printf(c->out, " %s", s->cname);
  }
}

/* The value of an assignment; binding an array local takes the address of
 * a view's first element (types.c checked that the view is contiguous). */
static void print_rhs(CPrinter *c, const Node *rhs) {
  if (rhs->kind == N_SUBSCRIPT && rhs->ty && rhs->ty->kind == TY_ARRAY) {
    buf_puts(c->out, "&");
    print_subscript(c, rhs);
  } else {
    c_expr(c, rhs);
  }
}

/* An update of a .reduce() loop that is not one reduction:
 * parpy_atomic_<op>_<type>(&t, v) from the target header (omp atomic or a
 * compare-and-swap loop on Cpu; CUDA's atomics or a CAS loop on the GPU).
 * The value is converted to the element type first. */
static void print_atomic(CPrinter *c, const Node *s) {
  const Node *u = peel(s->rhs);
  const char *name = s->op == OP_ADD    ? "add"
                     : s->op == OP_MUL  ? "mul"
                     : s->op == OP_MAX  ? "max"
                     : s->op == OP_MIN  ? "min"
                     : s->op == OP_BITAND ? "and"
                     : s->op == OP_BITOR  ? "or"
                                          : "xor";
  Elem te = ty_elem(s->lhs);
  buf_printf(c->out, "parpy_atomic_%s_%s(&", name, elem_short(te));
  expr_prec(c, s->lhs, P_UNARY);
  buf_puts(c->out, ", ");
  if (ty_elem(u->rhs) != te)
    print_cast(c, te, u->rhs);
  else
    expr_prec(c, u->rhs, P_COMMA + 1);
  buf_puts(c->out, ");\n");
}

void c_string_contents(CPrinter *c, const char *s, bool percent) {
  for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
    if (*q == '"' || *q == '\\')
      buf_printf(c->out, "\\%c", *q);
    else if (*q == '%' && percent)
      buf_puts(c->out, "%%");
    else if (*q < 32 || *q >= 127)
      buf_printf(c->out, "\\%03o", *q);
    else
      buf_putc(c->out, (char)*q);
  }
}

/* print(a, b): one line built per thread and written at once (parpy_cpu.h),
 * each value formatted as Python prints it. */
static void print_print(CPrinter *c, const Node *s) {
  c_line_start(c);
  buf_puts(c->out, "parpy_print_begin();\n");
  for (const Node *a = s->args; a; a = a->next) {
    c_line_start(c);
    if (a->kind == N_STR) {
      buf_puts(c->out, "parpy_print_str(\"");
      c_string_contents(c, a->str, false);
      buf_puts(c->out, "\");\n");
      continue;
    }
    Elem e = ty_elem(a);
    const char *fn = e == EL_BOOL            ? "bool"
                     : elem_is_signed(e)     ? "i64"
                     : elem_is_unsigned(e)   ? "u64"
                     : e == EL_F16           ? "f16"
                     : e == EL_F32           ? "f32"
                                             : "f64";
    buf_printf(c->out, "parpy_print_%s(", fn);
    c_expr(c, a);
    buf_puts(c->out, ");\n");
  }
  c_line_start(c);
  buf_puts(c->out, "parpy_print_end();\n");
}

static void print_assign(CPrinter *c, const Node *s) {
  c_line_start(c);
  const char *op;
  if (s->lhs->kind == N_VAR && s->lhs->sym->local_array) {
    /* tmp = np.zeros(K): the array itself, here (per iteration in a loop) */
    const Sym *a = s->lhs->sym;
    buf_printf(c->out, "%s %s[%" PRId64 "]%s;\n", c->d->type_name(a->ty->elem), a->cname,
               type_numel(a->ty) > 0 ? type_numel(a->ty) : 1,
               s->rhs->builtin == B_ZEROS ? " = {0}" : "");
    return;
  }
  if (s->atomic) {
    print_atomic(c, s);
    return;
  }
  if (s->is_decl) {
    print_decl(c, s->lhs->sym);
    buf_puts(c->out, " = ");
    print_rhs(c, s->rhs);
  } else if (compound(s, &op)) {
    c_expr(c, s->lhs);
    buf_printf(c->out, " %s ", op);
    expr_prec(c, s->rhs->rhs, P_COMMA + 1);
  } else {
    c_expr(c, s->lhs);
    buf_puts(c->out, " = ");
    print_rhs(c, s->rhs);
  }
  buf_puts(c->out, ";\n");
  (void)peel;
}

void c_for_header(CPrinter *c, const Node *f) {
  Buf *o = c->out;
  const char *v = f->sym->cname;
  buf_puts(o, "for (");
  c_type(c, f->sym->ty);
  buf_printf(o, " %s = ", v);
  c_expr(c, f->lo);
  buf_printf(o, "; %s %s ", v, f->step > 0 ? "<" : ">");
  expr_prec(c, f->hi, P_REL + 1);
  if (f->step == 1)
    buf_printf(o, "; %s++)", v);
  else if (f->step == -1)
    buf_printf(o, "; %s--)", v);
  else if (f->step > 0)
    buf_printf(o, "; %s += %" PRId64 ")", v, f->step);
  else
    buf_printf(o, "; %s -= %" PRId64 ")", v, -f->step);
}

void c_for_loop(CPrinter *c, const Node *f) {
  c_line_start(c);
  c_for_header(c, f);
  buf_puts(c->out, " {");
  c_loop_comment(c, f);
  buf_puts(c->out, "\n");
  c_block(c, f->body);
  c_line_start(c);
  buf_puts(c->out, "}\n");
}

void c_loop_comment(CPrinter *c, const Node *f) {
  if (f->labels.n == 0)
    return;
  Buf *o = c->out;
  buf_puts(o, "  /* label ");
  for (int i = 0; i < f->labels.n; i++)
    buf_printf(o, "%s%s", i ? ", " : "", f->labels.names[i]);
  if (f->par.nthreads > 0) {
    buf_printf(o, ": threads(%" PRId64 ")", f->par.nthreads);
    if (f->par.reduce)
      buf_puts(o, ".reduce()");
    if (f->par.tpb != PP_DEFAULT_TPB)
      buf_printf(o, ".tpb(%" PRId64 ")", f->par.tpb);
  } else {
    buf_puts(o, ": sequential");
  }
  buf_puts(o, " */");
}

void c_block(CPrinter *c, const Node *list) {
  c->depth++;
  for (const Node *s = list; s; s = s->next)
    c_stmt(c, s);
  c->depth--;
}

static void print_if(CPrinter *c, const Node *s, bool chained) {
  if (!chained)
    c_line_start(c);
  buf_puts(c->out, "if (");
  c_expr(c, s->cond);
  buf_puts(c->out, ") {\n");
  c_block(c, s->then);
  c_line_start(c);
  buf_puts(c->out, "}");
  if (s->els && s->els->kind == N_IF && !s->els->next) {
    buf_puts(c->out, " else ");
    print_if(c, s->els, true);
    return;
  }
  if (s->els) {
    buf_puts(c->out, " else {\n");
    c_block(c, s->els);
    c_line_start(c);
    buf_puts(c->out, "}");
  }
  buf_puts(c->out, "\n");
}

void c_stmt(CPrinter *c, const Node *s) {
  Buf *o = c->out;
  switch (s->kind) {
  case N_ASSIGN: print_assign(c, s); return;
  case N_DECL:
    c_line_start(c);
    print_decl(c, s->sym);
    buf_puts(o, ";\n");
    return;
  case N_FOR: c->d->for_loop(c, s); return;
  case N_WHILE:
    c_line_start(c);
    buf_puts(o, "while (");
    c_expr(c, s->cond);
    buf_puts(o, ") {\n");
    c_block(c, s->body);
    c_line_start(c);
    buf_puts(o, "}\n");
    return;
  case N_IF: print_if(c, s, false); return;
  case N_GPU:
    if (s->implicit) { /* compiler-made: just its statements */
      c->depth--;
      c_block(c, s->body);
      c->depth++;
      return;
    }
    c_line_start(c);
    buf_puts(o, "{  /* with parpy.gpu */\n");
    c_block(c, s->body);
    c_line_start(c);
    buf_puts(o, "}\n");
    return;
  case N_RETURN:
    c_line_start(c);
    buf_puts(o, "return ");
    c_expr(c, s->lhs);
    buf_puts(o, ";\n");
    return;
  case N_PRINT:
    if (c->d->print_stmt)
      c->d->print_stmt(c, s);
    else
      print_print(c, s);
    return;
  case N_BLOCK:
    c_line_start(c);
    buf_puts(o, "{\n");
    c_block(c, s->body);
    c_line_start(c);
    buf_puts(o, "}\n");
    return;
  default:
    if (c->d->extra_stmt) {
      c->d->extra_stmt(c, s);
      return;
    }
    c_line_start(c);
    buf_printf(o, "/* unexpected statement %d */\n", s->kind);
    return;
  }
}

/* ---- specialised scalars ---- */

/* Does the code refer to `s` (not counting kernels launched from it)? */
static bool mentions_here(const Node *n, const Sym *s) {
  if (!n)
    return false;
  if (n->kind == N_FOR && n->kernel)
    return false;
  if (n->kind == N_VAR && n->sym == s)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->step_expr};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (mentions_here(kids[i], s))
      return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *a = lists[i]; a; a = a->next)
      if (mentions_here(a, s))
        return true;
  return false;
}

/* A scalar that has taken many values is read from the entry's slot (an
 * int64_t for a Python int, a double for a Python float, the NumPy type
 * for a NumPy scalar), so one library serves every value. */
static void runtime_param(CPrinter *c, const Sym *s) {
  const ArgSpec *a = s->arg;
  Elem slot = a->kind == ARG_INT ? EL_I64 : a->kind == ARG_FLOAT ? EL_F64 : a->elem;
  buf_puts(c->out, "const ");
  c_type(c, s->ty);
  buf_printf(c->out, " %s = (", s->cname);
  c_type(c, s->ty);
  buf_printf(c->out, ")*(const %s *)parpy_slots[%d]; /* run-time parameter '%s' */\n",
             c->d->type_name(slot), s->slot, s->name);
}

void c_const_params(CPrinter *c, const Node *body) {
  Fn *fn = c->fn;
  for (int i = 0; i < fn->nparams; i++) {
    Sym *s = fn->params[i];
    bool runtime = s->arg && s->arg->runtime;
    if ((!s->is_const && !runtime) || !s->ty || s->ty->kind != TY_SCALAR)
      continue;
    bool used = false;
    for (const Node *st = body; st && !used; st = st->next)
      used = mentions_here(st, s);
    if (!used)
      continue;
    c_line_start(c);
    if (runtime) {
      runtime_param(c, s);
      continue;
    }
    buf_puts(c->out, "const ");
    c_type(c, s->ty);
    buf_printf(c->out, " %s = ", s->cname);
    Node lit = {.kind = elem_is_float(s->val.elem) ? N_FLOAT
                        : s->val.elem == EL_BOOL   ? N_BOOL
                                                   : N_INT,
                .val = s->val,
                .ty = s->ty};
    print_literal(c, &lit);
    buf_puts(c->out, ";\n");
  }
}

/* ---- the calling convention's strings ---- */

/* The parameter (and dict key) an assignment target writes into. */
typedef struct WriteCtx {
  Prog *p;
  bool *written;
  int *base;
} WriteCtx;

static void mark_written(Prog *p, const Node *n, bool *written, int base_slot_of[]);

static bool mark_one(const Node *n, void *ctx) {
  WriteCtx *w = ctx;
  mark_written(w->p, n, w->written, w->base);
  return true;
}

static void mark_written(Prog *p, const Node *n, bool *written, int base_slot_of[]) {
  if (is_array_ref(n)) { /* a write through it may reach any of its bindings */
    WriteCtx w = {p, written, base_slot_of};
    each_array_of(n, mark_one, &w);
    return;
  }
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  if (!n)
    return;
  const Fn *m = p->main;
  if (n->kind == N_VAR && n->sym->kind == SYM_PARAM && n->sym->param < m->nparams)
    written[base_slot_of[n->sym->param]] = true;
  if (n->kind == N_FIELD && n->lhs->kind == N_VAR && n->lhs->sym->kind == SYM_PARAM) {
    const ArgSpec *a = n->lhs->sym->arg;
    int slot = base_slot_of[n->lhs->sym->param];
    for (int k = 0; k < a->nfields; k++)
      if (intern(a->keys[k]) == n->str)
        written[slot + k] = true;
  }
}

/* A callee may write through a pointer parameter: an array passed to one
 * counts as written (so that a GPU runtime copies it back), unless it is
 * read-only (then writing to it is the callee's bug, not ours to copy). */
static void find_pointer_args(Prog *p, const Node *n, bool *written, int *base) {
  if (!n)
    return;
  if (n->kind == N_FUNCALL || n->kind == N_EXTCALL)
    for (const Node *a = n->args; a; a = a->next)
      if (a->ty && a->ty->kind == TY_ARRAY)
        mark_written(p, a, written, base);
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->lo, n->hi};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    find_pointer_args(p, kids[i], written, base);
  for (const Node *a = n->args; a; a = a->next)
    find_pointer_args(p, a, written, base);
}

static void find_writes(Prog *p, const Node *list, bool *written, int *base) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind != N_VAR)
      mark_written(p, s->lhs, written, base);
    find_pointer_args(p, s->lhs, written, base);
    find_pointer_args(p, s->rhs, written, base);
    find_pointer_args(p, s->cond, written, base);
    find_pointer_args(p, s->lo, written, base);
    find_pointer_args(p, s->hi, written, base);
    find_writes(p, s->body, written, base);
    find_writes(p, s->then, written, base);
    find_writes(p, s->els, written, base);
  }
}

void c_access(Prog *p, Buf *out) {
  int n = sig_nslots(p->args, p->nargs);
  bool *written = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  bool *array = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  bool *readonly = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  int *base = ARENA_ARRAY(&p->arena, int, p->nargs > 0 ? p->nargs : 1);
  int slot = 0;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    base[i] = slot;
    if (a->kind == ARG_DICT) {
      for (int k = 0; k < a->nfields; k++, slot++) {
        array[slot] = a->fields[k].kind == ARG_ARRAY;
        readonly[slot] = array[slot] && a->fields[k].readonly;
      }
    } else {
      array[slot] = a->kind == ARG_ARRAY;
      readonly[slot++] = a->kind == ARG_ARRAY && a->readonly;
    }
  }
  find_writes(p, p->main->body, written, base);
  /* Stores into read-only arrays were refused by the types pass; what is
   * left came from pointer arguments, which must not be copied back. */
  for (int i = 0; i < n; i++)
    buf_putc(out, !array[i] ? '-' : written[i] && !readonly[i] ? 'w' : 'r');
}

void c_signature(Prog *p, Buf *out) {
  Fn *m = p->main;
  const char **names = ARENA_ARRAY(&p->arena, const char *, m->nparams > 0 ? m->nparams : 1);
  for (int i = 0; i < m->nparams; i++)
    names[i] = p->func->params[i].name;
  Buf sig;
  buf_init(&sig);
  sig_format(names, p->args, p->nargs, &sig);
  for (const char *q = buf_cstr(&sig); *q; q++) {
    if (*q == '"' || *q == '\\')
      buf_putc(out, '\\');
    buf_putc(out, *q);
  }
  buf_free(&sig);
}

/* ---- headers of externals ---- */

void c_ext_headers(const Prog *p, Buf *out) {
  bool any = false;
  for (int i = 0; i < p->nexts; i++) {
    const char *h = p->exts[i]->header;
    bool seen = !h;
    for (int j = 0; j < i && !seen; j++)
      seen = p->exts[j]->header && strcmp(p->exts[j]->header, h) == 0;
    if (seen)
      continue;
    if (h[0] == '<')
      buf_printf(out, "#include %s\n", h);
    else
      buf_printf(out, "#include \"%s\"\n", h);
    any = true;
  }
  if (any)
    buf_puts(out, "\n");
}

/* ---- which element types the program uses ---- */

static bool node_uses(const Node *n, Elem e) {
  if (!n)
    return false;
  if (n->ty && (n->ty->kind == TY_SCALAR || n->ty->kind == TY_ARRAY) && n->ty->elem == e)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->partial_at};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (node_uses(kids[i], e))
      return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *a = lists[i]; a; a = a->next)
      if (node_uses(a, e))
        return true;
  return false;
}

static bool fn_uses(const Fn *f, Elem e) {
  for (int i = 0; i < f->nsyms; i++) {
    const Type *t = f->syms[i]->ty;
    if (t && t->kind != TY_DICT && t->elem == e)
      return true;
  }
  for (const Node *s = f->body; s; s = s->next)
    if (node_uses(s, e))
      return true;
  return f->ret && f->ret->kind == TY_SCALAR && f->ret->elem == e;
}

static bool list_prints(const Node *list) {
  for (const Node *s = list; s; s = s->next)
    if (s->kind == N_PRINT || list_prints(s->body) || list_prints(s->then) ||
        list_prints(s->els))
      return true;
  return false;
}

bool c_uses_print(const Prog *p) {
  for (const Fn *h = p->helpers; h; h = h->next)
    if (list_prints(h->body))
      return true;
  return list_prints(p->main->body);
}

bool c_uses_elem(const Prog *p, Elem e) {
  for (const Fn *h = p->helpers; h; h = h->next)
    if (fn_uses(h, e))
      return true;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    if ((a->kind == ARG_ARRAY || a->kind == ARG_SCALAR) && a->elem == e)
      return true;
    for (int k = 0; a->kind == ARG_DICT && k < a->nfields; k++)
      if (a->fields[k].kind != ARG_DICT && a->fields[k].elem == e)
        return true;
  }
  return fn_uses(p->main, e);
}

/* ---- functions ---- */

/* A helper function, after `prefix` ("static inline ", ...). */
void c_helper(CPrinter *c, Fn *h, const char *prefix) {
  c->fn = h;
  Buf *o = c->out;
  buf_puts(o, prefix);
  c_type(c, h->ret);
  buf_printf(o, " %s(", h->name);
  for (int i = 0; i < h->nparams; i++) {
    Sym *s = h->params[i];
    if (i)
      buf_puts(o, ", ");
    c_type(c, s->ty);
    buf_printf(o, "%s%s", s->ty && s->ty->kind == TY_POINTER ? "" : " ", s->cname);
  }
  buf_puts(o, h->nparams ? ") {\n" : "void) {\n");
  c_block(c, h->body);
  buf_puts(o, "}\n\n");
}

int c_main_arrays(CPrinter *c, Fn *m, CEachArray each) {
  int slot = 0, n = 0;
  for (int i = 0; i < m->nparams; i++) {
    Sym *s = m->params[i];
    const ArgSpec *a = s->arg;
    bool dict = a->kind == ARG_DICT;
    int nslots = dict ? a->nfields : 1;
    for (int k = 0; k < nslots; k++, slot++) {
      const ArgSpec *f = dict ? &a->fields[k] : a;
      if (f->kind != ARG_ARRAY)
        continue;
      if (each)
        each(c, f->elem, dict ? c_field_name(c->p, s, a->keys[k]) : s->cname, slot, n);
      n++;
    }
  }
  return n;
}

static void param(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)slot;
  buf_printf(c->out, "%s%s *%s", nth ? ", " : "", c->d->type_name(e), name);
}

static void from_slot(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)name;
  buf_printf(c->out, "%s(%s *)args[%d]", nth ? ", " : "", c->d->type_name(e), slot);
}

static bool has_runtime(const Fn *m) {
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i]->arg && m->params[i]->arg->runtime)
      return true;
  return false;
}

/* "float *x, float *y" (or "void"): the array parameters of main, then the
 * entry's slots where scalars are taken at run time (c_const_params). */
void c_main_params(CPrinter *c, Fn *m) {
  int n = c_main_arrays(c, m, param);
  if (has_runtime(m))
    buf_puts(c->out, n ? ", void **parpy_slots" : "void **parpy_slots");
  else if (n == 0)
    buf_puts(c->out, "void");
}

/* "(float *)args[0], (float *)args[1]": main's arrays in the entry. */
void c_args_from_slots(CPrinter *c, Fn *m) {
  int n = c_main_arrays(c, m, from_slot);
  if (has_runtime(m))
    buf_puts(c->out, n ? ", args" : "args");
}
