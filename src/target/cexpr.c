/* cexpr.c - expressions and literals in C syntax: operators print with
 * the fewest parentheses C needs, and Python semantics that C lacks go
 * through the small parpy_* functions of the target's header. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cprint.h"

/* ---- literals ---- */

static void print_float(CPrinter *c, double v, Elem e) {
  Buf *o = c->out;
  if (e == EL_BF16) { /* the float32 literal of its value, converted (exactly) */
    buf_puts(o, "parpy_f32_to_bf16(");
    print_float(c, (double)bf16_to_float(bf16_from_double(v)), EL_F32);
    buf_puts(o, ")");
    return;
  }
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

void print_literal(CPrinter *c, const Node *n) {
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

/* bfloat16 converts through float32 (the bfloat16 pass has made every
 * other type's value a float32 first; a cast covers any that is not). */
static void bf16_cast(CPrinter *c, Elem e, const Node *a) {
  Elem ae = ty_elem(a);
  if (e == EL_BF16) {
    bool wide = ae == EL_F64 || elem_is_int(ae); /* rounded once from double */
    buf_puts(c->out, wide ? "parpy_f64_to_bf16(" : "parpy_f32_to_bf16(");
    if (ae == EL_F32 || ae == EL_F64)
      expr_prec(c, a, P_COMMA + 1);
    else {
      buf_puts(c->out, wide ? "(double)" : "(float)");
      expr_prec(c, a, P_UNARY);
    }
    buf_puts(c->out, ")");
    return;
  }
  if (e != EL_F32)
    buf_printf(c->out, "(%s)", c->d->type_name(e));
  call1(c, "parpy_bf16_to_f32", a);
}

void print_cast(CPrinter *c, Elem e, const Node *a) {
  if ((e == EL_BF16) != (ty_elem(a) == EL_BF16)) {
    bf16_cast(c, e, a);
    return;
  }
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
void c_offset(CPrinter *c, const Node *n) {
  const Node *base = n->lhs;
  if (n->check) { /* debug mode (cchecks.c) */
    c_checked_offset(c, n);
    return;
  }
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
}

void print_subscript(CPrinter *c, const Node *n) {
  expr_prec(c, n->lhs, P_POSTFIX);
  buf_puts(c->out, "[");
  c_offset(c, n);
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

void expr_prec(CPrinter *c, const Node *n, int min_prec) {
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
  case N_CHECK: c_check_expr(c, n); return;
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
