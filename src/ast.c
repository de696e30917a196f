/* ast.c - constructors and small helpers for nodes, types, symbols. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static const struct {
  const char *name, *shrt;
  int size;
} elems[EL_COUNT] = {
    [EL_BOOL] = {"bool", "bool", 1},   [EL_I8] = {"int8", "i8", 1},
    [EL_I16] = {"int16", "i16", 2},    [EL_I32] = {"int32", "i32", 4},
    [EL_I64] = {"int64", "i64", 8},    [EL_U8] = {"uint8", "u8", 1},
    [EL_U16] = {"uint16", "u16", 2},   [EL_U32] = {"uint32", "u32", 4},
    [EL_U64] = {"uint64", "u64", 8},   [EL_F16] = {"float16", "f16", 2},
    [EL_F32] = {"float32", "f32", 4},  [EL_F64] = {"float64", "f64", 8},
    [EL_BF16] = {"bfloat16", "bf16", 2},
};

int elem_size(Elem e) { return elems[e].size; }
bool elem_is_signed(Elem e) { return e >= EL_I8 && e <= EL_I64; }
bool elem_is_unsigned(Elem e) { return e >= EL_U8 && e <= EL_U64; }
bool elem_is_int(Elem e) { return elem_is_signed(e) || elem_is_unsigned(e); }
bool elem_is_float(Elem e) { return (e >= EL_F16 && e <= EL_F64) || e == EL_BF16; }

float bf16_to_float(uint16_t bits) {
  uint32_t u = (uint32_t)bits << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t bf16_from_float(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and payload's top, quiet */
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1); /* ties to even; a carry into the exponent is right */
  return (uint16_t)(u >> 16);
}

/* Rounding to float32 first would round twice (1 + 2**-8 + 2**-30 would
 * become 1, not 1 + 2**-7).  Rounded to odd instead, the float32 keeps a
 * sticky bit for what it lost, and its 16 spare bits make the second
 * rounding the one correct rounding of `d`. */
uint16_t bf16_from_double(double d) {
  float f = (float)d;
  if ((double)f != d && !isnan(d)) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (fabs((double)f) > fabs(d)) /* rounded away from zero: truncate */
      u -= 1;
    u |= 1;
    memcpy(&f, &u, sizeof f);
  }
  return bf16_from_float(f);
}
const char *elem_name(Elem e) { return e < EL_COUNT ? elems[e].name : "?"; }
const char *elem_short(Elem e) { return e < EL_COUNT ? elems[e].shrt : "?"; }

const char *backend_name(Backend b) {
  switch (b) {
  case BACKEND_AUTO: return "Auto";
  case BACKEND_CUDA: return "Cuda";
  case BACKEND_METAL: return "Metal";
  case BACKEND_CPU: return "Cpu";
  }
  return "?";
}

const char *builtin_name(Builtin b) {
  static const char *names[B_COUNT] = {
      [B_NONE] = "?",         [B_RANGE] = "range",     [B_LABEL] = "parpy.label",
      [B_GPU] = "parpy.gpu",  [B_EXP] = "exp",         [B_LOG] = "log",
      [B_SIN] = "sin",        [B_COS] = "cos",         [B_TAN] = "tan",
      [B_SQRT] = "sqrt",      [B_TANH] = "tanh",       [B_ATAN2] = "atan2",
      [B_ABS] = "abs",        [B_FLOOR] = "floor",     [B_CEIL] = "ceil",
      [B_MAXIMUM] = "max",    [B_MINIMUM] = "min",     [B_SUM] = "sum",
      [B_PROD] = "prod",      [B_MAX] = "max",         [B_MIN] = "min",
      [B_CONVERT] = "convert", [B_INT] = "int",        [B_FLOAT] = "float",
      [B_BOOL] = "bool",      [B_LEN] = "len",
      [B_LOG2] = "log2",      [B_LOG10] = "log10",     [B_LOG1P] = "log1p",
      [B_EXPM1] = "expm1",    [B_EXP2] = "exp2",       [B_ASIN] = "asin",
      [B_ACOS] = "acos",      [B_ATAN] = "atan",       [B_SINH] = "sinh",
      [B_COSH] = "cosh",      [B_ASINH] = "asinh",     [B_ACOSH] = "acosh",
      [B_ATANH] = "atanh",    [B_ERF] = "erf",         [B_ERFC] = "erfc",
      [B_GAMMA] = "gamma",    [B_LGAMMA] = "lgamma",   [B_CBRT] = "cbrt",
      [B_RADIANS] = "radians", [B_DEGREES] = "degrees", [B_RINT] = "rint",
      [B_HYPOT] = "hypot",    [B_COPYSIGN] = "copysign", [B_FMOD] = "fmod",
      [B_FMAX] = "fmax",      [B_FMIN] = "fmin",       [B_TRUNC] = "trunc",
      [B_ROUND] = "round",    [B_SIGN] = "sign",       [B_SQUARE] = "square",
      [B_RECIPROCAL] = "reciprocal", [B_ISNAN] = "isnan", [B_ISINF] = "isinf",
      [B_ISFINITE] = "isfinite", [B_ADD] = "add",      [B_SUBTRACT] = "subtract",
      [B_MULTIPLY] = "multiply", [B_DIVIDE] = "divide", [B_POWER] = "power",
      [B_MODULO] = "mod",     [B_FLOOR_DIVIDE] = "floor_divide", [B_NEGATIVE] = "negative",
      [B_LOGICAL_AND] = "logical_and", [B_LOGICAL_OR] = "logical_or",
      [B_LOGICAL_NOT] = "logical_not", [B_CLIP] = "clip", [B_WHERE] = "where",
      [B_DIVMOD] = "divmod",  [B_MEAN] = "mean",       [B_VAR] = "var",
      [B_STD] = "std",        [B_DOT] = "dot",         [B_ZEROS] = "zeros",
      [B_EMPTY] = "empty",    [B_PRINT] = "print",
  };
  return b < B_COUNT && names[b] ? names[b] : "?";
}

const char *builtin_supported_list(void) {
  return "abs, round, pow, divmod, min, max, sum, len, int, float, bool, range; "
         "math: exp exp2 expm1 log log2 log10 log1p sqrt cbrt sin cos tan asin acos atan atan2 "
         "sinh cosh tanh asinh acosh atanh erf erfc gamma lgamma hypot copysign fmod pow floor "
         "ceil trunc isnan isinf isfinite radians degrees inf; "
         "numpy (and parpy.operators): the ufuncs of the same names (arcsin, arccos, arctan, "
         "arctan2, arcsinh, arccosh, arctanh, absolute too) and rint round around sign square "
         "reciprocal deg2rad rad2deg add subtract multiply divide true_divide power mod remainder "
         "fmod floor_divide negative maximum minimum fmax fmin logical_and logical_or logical_not "
         "clip where sum prod max min mean var std dot zeros empty, the dtype conversions (np.float32(x), ...)";
}

const char *op_symbol(Op op) {
  switch (op) {
  case OP_NONE: return "?";
  case OP_NEG: return "-";
  case OP_POS: return "+";
  case OP_NOT: return "not";
  case OP_INVERT: return "~";
  case OP_ADD: return "+";
  case OP_SUB: return "-";
  case OP_MUL: return "*";
  case OP_DIV: return "/";
  case OP_FLOORDIV: return "//";
  case OP_MOD: return "%";
  case OP_POW: return "**";
  case OP_BITAND: return "&";
  case OP_BITOR: return "|";
  case OP_BITXOR: return "^";
  case OP_SHL: return "<<";
  case OP_SHR: return ">>";
  case OP_AND: return "and";
  case OP_OR: return "or";
  case OP_EQ: return "==";
  case OP_NE: return "!=";
  case OP_LT: return "<";
  case OP_LE: return "<=";
  case OP_GT: return ">";
  case OP_GE: return ">=";
  case OP_MAX: return "max";
  case OP_MIN: return "min";
  case OP_ATAN2: return "atan2";
  case OP_MATMUL: return "@";
  }
  return "?";
}

Node *new_node(Arena *a, NodeKind kind, Span span) {
  Node *n = ARENA_NEW(a, Node);
  n->kind = kind;
  n->span = span;
  n->par.tpb = PP_DEFAULT_TPB;
  return n;
}

Node *new_int(Arena *a, int64_t v, Span span) {
  Node *n = new_node(a, N_INT, span);
  n->val.elem = EL_I64;
  n->val.i = v;
  return n;
}

Node *new_var(Prog *p, Sym *s, Span span) {
  Node *n = new_node(&p->arena, N_VAR, span);
  n->sym = s;
  n->ty = s->ty;
  return n;
}

Node *clone_list(Arena *a, const Node *list) {
  Node head = {0}, *tail = &head;
  for (const Node *n = list; n; n = n->next)
    tail = tail->next = clone_node(a, n);
  return head.next;
}

Node *clone_node(Arena *a, const Node *n) {
  if (!n)
    return NULL;
  Node *c = ARENA_NEW(a, Node);
  *c = *n;
  c->next = NULL;
  c->lhs = clone_node(a, n->lhs);
  c->rhs = clone_node(a, n->rhs);
  c->cond = clone_node(a, n->cond);
  c->lo = clone_node(a, n->lo);
  c->hi = clone_node(a, n->hi);
  c->step_expr = clone_node(a, n->step_expr);
  c->red_target = NULL;
  c->then = clone_list(a, n->then);
  c->els = clone_list(a, n->els);
  c->body = clone_list(a, n->body);
  c->args = clone_list(a, n->args);
  if (n->labels.n) {
    c->labels.names = ARENA_ARRAY(a, const char *, n->labels.n);
    memcpy(c->labels.names, n->labels.names, sizeof(const char *) * (size_t)n->labels.n);
  }
  return c;
}

Sym *new_sym(Prog *p, const char *name, SymKind kind, Type *ty) {
  Sym *s = ARENA_NEW(&p->arena, Sym);
  s->name = intern(name);
  s->id = p->next_sym_id++;
  s->kind = kind;
  s->ty = ty;
  return s;
}

Type *type_scalar(Arena *a, Elem e, bool weak) {
  Type *t = ARENA_NEW(a, Type);
  t->kind = TY_SCALAR;
  t->elem = e;
  t->weak = weak;
  return t;
}

Type *type_array(Arena *a, Elem e, int rank, const int64_t *shape) {
  Type *t = ARENA_NEW(a, Type);
  t->kind = TY_ARRAY;
  t->elem = e;
  t->rank = rank;
  t->shape = ARENA_ARRAY(a, int64_t, rank > 0 ? rank : 1);
  if (rank > 0)
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)rank);
  return t;
}

Type *type_void(void) {
  static Type v = {.kind = TY_VOID};
  return &v;
}

bool type_equal(const Type *a, const Type *b) {
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind)
    return false;
  switch (a->kind) {
  case TY_VOID:
  case TY_STR: return true;
  case TY_SCALAR: return a->elem == b->elem && a->weak == b->weak;
  case TY_POINTER: return a->elem == b->elem;
  case TY_ARRAY:
  case TY_SHAPE:
    if (a->elem != b->elem || a->rank != b->rank)
      return false;
    return a->rank == 0 || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank) == 0;
  case TY_DICT:
    if (a->nfields != b->nfields)
      return false;
    for (int i = 0; i < a->nfields; i++)
      if (a->keys[i] != b->keys[i] || !type_equal(a->fields[i], b->fields[i]))
        return false;
    return true;
  }
  return false;
}

void type_str(const Type *t, Buf *out) {
  if (!t) {
    buf_puts(out, "unknown");
    return;
  }
  switch (t->kind) {
  case TY_VOID: buf_puts(out, "None"); break;
  case TY_STR: buf_puts(out, "str"); break;
  case TY_SCALAR:
    if (t->weak)
      buf_puts(out, t->elem == EL_BOOL ? "bool" : elem_is_float(t->elem) ? "float" : "int");
    else
      buf_puts(out, elem_name(t->elem));
    break;
  case TY_POINTER: buf_printf(out, "pointer(%s)", elem_name(t->elem)); break;
  case TY_ARRAY:
  case TY_SHAPE:
    buf_printf(out, "%s[", t->kind == TY_SHAPE ? "shape" : elem_name(t->elem));
    for (int i = 0; i < t->rank; i++)
      buf_printf(out, "%s%" PRId64, i ? ", " : "", t->shape[i]);
    buf_puts(out, "]");
    break;
  case TY_DICT:
    buf_puts(out, "dict{");
    for (int i = 0; i < t->nfields; i++) {
      buf_printf(out, "%s'%s': ", i ? ", " : "", t->keys[i]);
      type_str(t->fields[i], out);
    }
    buf_puts(out, "}");
    break;
  }
}

int64_t type_numel(const Type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->shape[i];
  return n;
}

bool is_lvalue(const Node *n) {
  return n->kind == N_VAR || n->kind == N_SUBSCRIPT || n->kind == N_FIELD;
}

int list_len(const Node *n) {
  int k = 0;
  for (; n; n = n->next)
    k++;
  return k;
}

Node **list_tail(Node **head) {
  while (*head)
    head = &(*head)->next;
  return head;
}

void value_str(Value v, Buf *out) {
  if (v.elem == EL_BOOL)
    buf_puts(out, v.b ? "True" : "False");
  else if (elem_is_float(v.elem)) {
    if (isinf(v.f))
      buf_puts(out, v.f > 0 ? "inf" : "-inf");
    else if (isnan(v.f))
      buf_puts(out, "nan");
    else {
      char tmp[64];
      /* In the "C" locale: generated code must not say 2,5 (the comma
       * operator) because the process's locale says so. */
      locale_t c = c_locale();
      locale_t old = c ? uselocale(c) : (locale_t)0;
      snprintf(tmp, sizeof tmp, "%.17g", v.f);
      /* Shortest form that reads back exactly, with a visible decimal point. */
      for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v.f);
        if (strtod(tmp, NULL) == v.f)
          break;
      }
      if (c)
        uselocale(old);
      buf_puts(out, tmp);
      if (!strpbrk(tmp, ".eEn"))
        buf_puts(out, ".0");
    }
  } else if (v.elem == EL_U64)
    buf_printf(out, "%" PRIu64, v.u);
  else
    buf_printf(out, "%" PRId64, v.i);
}

bool err(Prog *p, DiagKind kind, Span span, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&p->diag, &p->arena, kind, span, fmt, ap);
  va_end(ap);
  return false;
}

bool failed(const Prog *p) { return p->diag.kind != DIAG_NONE; }

bool expr_equal(const Node *a, const Node *b) {
  if (!a || !b)
    return a == b;
  if (a->kind != b->kind || a->op != b->op)
    return false;
  switch (a->kind) {
  case N_VAR: return a->sym == b->sym;
  case N_INT:
  case N_FLOAT:
  case N_BOOL: return a->val.i == b->val.i;
  case N_FIELD: return a->str == b->str && expr_equal(a->lhs, b->lhs);
  case N_SLICE:
    return a->sl_start == b->sl_start && a->sl_step == b->sl_step && a->sl_len == b->sl_len &&
           a->newaxis == b->newaxis;
  case N_CONVERT:
    return a->ty && b->ty && a->ty->elem == b->ty->elem && expr_equal(a->lhs, b->lhs);
  case N_BUILTIN:
    if (a->builtin != b->builtin || a->elem != b->elem)
      return false;
    break;
  case N_FUNCALL:
    if (a->fn != b->fn)
      return false;
    break;
  case N_EXTCALL:
    if (a->ext != b->ext)
      return false;
    break;
  default: break;
  }
  if (!expr_equal(a->lhs, b->lhs) || !expr_equal(a->rhs, b->rhs) ||
      !expr_equal(a->cond, b->cond) || !expr_equal(a->then, b->then) ||
      !expr_equal(a->els, b->els))
    return false;
  const Node *x = a->args, *y = b->args;
  for (; x && y; x = x->next, y = y->next)
    if (!expr_equal(x, y))
      return false;
  return !x && !y;
}

bool expr_mentions(const Node *n, const Sym *s) {
  if (!n)
    return false;
  if ((n->kind == N_VAR || n->kind == N_FOR || n->kind == N_DECL) && n->sym == s)
    return true;
  if (expr_mentions(n->lhs, s) || expr_mentions(n->rhs, s) || expr_mentions(n->cond, s) ||
      expr_mentions(n->lo, s) || expr_mentions(n->hi, s) || expr_mentions(n->step_expr, s) ||
      expr_mentions(n->partial_at, s))
    return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *a = lists[i]; a; a = a->next)
      if (expr_mentions(a, s))
        return true;
  return false;
}

/* The neutral element of a reduction with `op` over elements of `ty`:
 * 0 for +, |, ^; 1 for *; the type's lowest (highest) value, -inf (inf),
 * for max (min); all ones for &; True for `and`, False for `or`. */
Node *identity_of(Arena *a, Op op, Type *ty, Span span) {
  Elem e = ty->elem;
  bool fl = elem_is_float(e), un = elem_is_unsigned(e);
  int bits = 8 * elem_size(e);
  uint64_t umax = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
  Node *n = new_node(a, e == EL_BOOL ? N_BOOL : fl ? N_FLOAT : N_INT, span);
  n->ty = ty;
  n->val.elem = e;
  switch (op) {
  case OP_MUL:
    if (fl)
      n->val.f = 1.0;
    else
      n->val.i = 1;
    break;
  case OP_AND: n->val.b = true; break;
  case OP_BITAND:
    if (e == EL_BOOL)
      n->val.b = true;
    else if (un)
      n->val.u = umax;
    else
      n->val.i = -1;
    break;
  case OP_MAX:
  case OP_MIN: {
    bool max = op == OP_MAX;
    if (fl)
      n->val.f = max ? -INFINITY : INFINITY;
    else if (e == EL_BOOL)
      n->val.b = !max;
    else if (un)
      n->val.u = max ? 0 : umax;
    else
      n->val.i = max ? (bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1)))
                     : (bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1);
    break;
  }
  default: break; /* +, or, |, ^: zero (the node is zeroed) */
  }
  return n;
}

/* ---- arrays chosen at run time ---- */

static const Node *array_base(const Node *n) {
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  return n;
}

/* Calls `each` for every argument array (N_VAR of a parameter, or N_FIELD)
 * that the array expression `n` may refer to: itself, or through an array
 * local bound several times, any of its bindings.  `depth` bounds cycles
 * (a = b; b = a). */
static bool each_array_rec(const Node *n, bool (*each)(const Node *, void *), void *ctx,
                           int depth) {
  n = array_base(n);
  if (!n || depth > 16)
    return true;
  if (n->kind == N_VAR && n->sym->array_ref) {
    for (int i = 0; i < n->sym->nbinds; i++)
      if (!each_array_rec(n->sym->binds[i], each, ctx, depth + 1))
        return false;
    return true;
  }
  return each(n, ctx);
}

bool each_array_of(const Node *n, bool (*each)(const Node *, void *), void *ctx) {
  return each_array_rec(n, each, ctx, 0);
}

typedef struct AliasQuery {
  const Node *other;
  bool found;
} AliasQuery;

static bool seen_in_other(const Node *a, void *ctx);

static bool equal_base(const Node *b, void *ctx) {
  AliasQuery *q = ctx;
  if (expr_equal(b, q->other))
    q->found = true;
  return !q->found;
}

static bool seen_in_other(const Node *a, void *ctx) {
  AliasQuery *outer = ctx;
  AliasQuery q = {a, false};
  each_array_of(outer->other, equal_base, &q);
  outer->found |= q.found;
  return !outer->found;
}

bool arrays_may_alias(const Node *a, const Node *b) {
  AliasQuery q = {b, false};
  each_array_of(a, seen_in_other, &q);
  return q.found;
}

bool is_array_ref(const Node *n) {
  n = array_base(n);
  return n && n->kind == N_VAR && n->sym->array_ref;
}
