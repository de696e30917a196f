/* consteval.c - evaluate compile-time constant expressions: literals,
 * specialised scalar parameters, array shapes, and arithmetic on them with
 * Python semantics (floor division, modulo with the divisor's sign).  Used
 * for range steps, slice bounds, literal indices and axis arguments; the
 * tree itself is left alone so that the printed code keeps the user's names. */
#include <math.h>

#include "../ast.h"

typedef __int128 i128;

static bool is_int_elem(Elem e) { return elem_is_int(e) || e == EL_BOOL; }

static i128 as_i128(Value v) {
  if (v.elem == EL_BOOL)
    return v.b;
  if (v.elem == EL_U64)
    return (i128)v.u;
  return v.i;
}

static double as_double(Value v) {
  if (elem_is_float(v.elem))
    return v.f;
  return (double)as_i128(v);
}

static Value mk_int(i128 x) {
  Value v = {.elem = EL_I64};
  v.i = (int64_t)x;
  return v;
}

static Value mk_float(double x) {
  Value v = {.elem = EL_F64};
  v.f = x;
  return v;
}

static Value mk_bool(bool b) {
  Value v = {.elem = EL_BOOL};
  v.b = b;
  return v;
}

static bool truthy(Value v) {
  return elem_is_float(v.elem) ? v.f != 0.0 : as_i128(v) != 0;
}

static i128 floordiv(i128 a, i128 b) {
  i128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static i128 floormod(i128 a, i128 b) {
  i128 r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

static bool eval_int_binary(Op op, i128 a, i128 b, Value *out) {
  switch (op) {
  case OP_ADD: *out = mk_int(a + b); return true;
  case OP_SUB: *out = mk_int(a - b); return true;
  case OP_MUL: *out = mk_int(a * b); return true;
  case OP_FLOORDIV:
    if (b == 0)
      return false;
    *out = mk_int(floordiv(a, b));
    return true;
  case OP_MOD:
    if (b == 0)
      return false;
    *out = mk_int(floormod(a, b));
    return true;
  case OP_DIV:
    if (b == 0)
      return false;
    *out = mk_float((double)a / (double)b);
    return true;
  case OP_POW: {
    if (b < 0 || b > 64)
      return false;
    i128 r = 1;
    for (i128 k = 0; k < b; k++)
      r *= a;
    *out = mk_int(r);
    return true;
  }
  case OP_BITAND: *out = mk_int(a & b); return true;
  case OP_BITOR: *out = mk_int(a | b); return true;
  case OP_BITXOR: *out = mk_int(a ^ b); return true;
  case OP_SHL:
    if (b < 0 || b > 63)
      return false;
    *out = mk_int(a << b);
    return true;
  case OP_SHR:
    if (b < 0)
      return false;
    *out = mk_int(b > 63 ? (a < 0 ? -1 : 0) : a >> b);
    return true;
  case OP_MAX: *out = mk_int(a > b ? a : b); return true;
  case OP_MIN: *out = mk_int(a < b ? a : b); return true;
  case OP_EQ: *out = mk_bool(a == b); return true;
  case OP_NE: *out = mk_bool(a != b); return true;
  case OP_LT: *out = mk_bool(a < b); return true;
  case OP_LE: *out = mk_bool(a <= b); return true;
  case OP_GT: *out = mk_bool(a > b); return true;
  case OP_GE: *out = mk_bool(a >= b); return true;
  default: return false;
  }
}

static bool eval_float_binary(Op op, double a, double b, Value *out) {
  switch (op) {
  case OP_ADD: *out = mk_float(a + b); return true;
  case OP_SUB: *out = mk_float(a - b); return true;
  case OP_MUL: *out = mk_float(a * b); return true;
  case OP_DIV:
    if (b == 0)
      return false;
    *out = mk_float(a / b);
    return true;
  case OP_MAX: *out = mk_float(a > b ? a : b); return true;
  case OP_MIN: *out = mk_float(a < b ? a : b); return true;
  case OP_EQ: *out = mk_bool(a == b); return true;
  case OP_NE: *out = mk_bool(a != b); return true;
  case OP_LT: *out = mk_bool(a < b); return true;
  case OP_LE: *out = mk_bool(a <= b); return true;
  case OP_GT: *out = mk_bool(a > b); return true;
  case OP_GE: *out = mk_bool(a >= b); return true;
  default: return false;
  }
}

static bool eval_binary(const Node *n, Value *out) {
  Value a, b;
  if (!const_eval(n->lhs, &a))
    return false;
  if (n->op == OP_AND || n->op == OP_OR) {
    bool t = truthy(a);
    if ((n->op == OP_AND && !t) || (n->op == OP_OR && t)) {
      *out = a;
      return true;
    }
    return const_eval(n->rhs, out);
  }
  if (!const_eval(n->rhs, &b))
    return false;
  if (is_int_elem(a.elem) && is_int_elem(b.elem))
    return eval_int_binary(n->op, as_i128(a), as_i128(b), out);
  return eval_float_binary(n->op, as_double(a), as_double(b), out);
}

static bool eval_unary(const Node *n, Value *out) {
  Value a;
  if (!const_eval(n->lhs, &a))
    return false;
  switch (n->op) {
  case OP_POS: *out = a; return true;
  case OP_NOT: *out = mk_bool(!truthy(a)); return true;
  case OP_NEG:
    *out = elem_is_float(a.elem) ? mk_float(-a.f) : mk_int(-as_i128(a));
    return true;
  case OP_INVERT:
    if (elem_is_float(a.elem))
      return false;
    *out = a.elem == EL_BOOL ? mk_bool(!a.b) : mk_int(~as_i128(a));
    return true;
  default: return false;
  }
}

/* The array type behind x in x.shape / x.ndim / x.size / len(x). */
static const Type *array_of(const Node *n) {
  return n && n->ty && n->ty->kind == TY_ARRAY ? n->ty : NULL;
}

static bool eval_attr(const Node *n, Value *out) {
  const Type *t = array_of(n->lhs);
  if (!t)
    return false;
  if (n->name == intern("ndim")) {
    *out = mk_int(t->rank);
    return true;
  }
  if (n->name == intern("size")) {
    *out = mk_int(type_numel(t));
    return true;
  }
  return false;
}

/* x.shape[k] */
static bool eval_shape_index(const Node *n, Value *out) {
  const Node *base = n->lhs;
  if (!base || base->kind != N_ATTR || base->name != intern("shape") || list_len(n->args) != 1)
    return false;
  const Type *t = array_of(base->lhs);
  int64_t k;
  if (!t || !const_int(n->args, &k))
    return false;
  if (k < 0)
    k += t->rank;
  if (k < 0 || k >= t->rank)
    return false;
  *out = mk_int(t->shape[k]);
  return true;
}

static bool eval_convert(Elem to, Value a, Value *out) {
  Value v = {.elem = to};
  if (to == EL_BOOL)
    v.b = truthy(a);
  else if (elem_is_float(to))
    v.f = as_double(a);
  else if (elem_is_float(a.elem)) {
    /* only what C converts exactly: the generated code's parpy_to_<t>
     * decides the rest (and the compiler must not do what C leaves undefined) */
    if (!(a.f > -9223372036854775808.0 && a.f < 9223372036854775808.0))
      return false;
    v.i = (int64_t)a.f;
  } else
    v.i = (int64_t)as_i128(a);
  *out = v;
  return true;
}

bool const_eval(const Node *n, Value *out) {
  if (!n)
    return false;
  switch (n->kind) {
  case N_INT:
  case N_FLOAT:
  case N_BOOL: *out = n->val; return true;
  case N_VAR:
    if (!n->sym->is_const)
      return false;
    *out = n->sym->val;
    return true;
  case N_UNARY: return eval_unary(n, out);
  case N_BINARY: return eval_binary(n, out);
  case N_IFEXP: {
    Value c;
    if (!const_eval(n->cond, &c))
      return false;
    return const_eval(truthy(c) ? n->then : n->els, out);
  }
  case N_CONVERT: {
    Value a;
    return n->ty && const_eval(n->lhs, &a) && eval_convert(n->ty->elem, a, out);
  }
  case N_ATTR: return eval_attr(n, out);
  case N_SUBSCRIPT: return eval_shape_index(n, out);
  case N_BUILTIN:
    if (n->builtin == B_LEN && array_of(n->args)) {
      *out = mk_int(array_of(n->args)->shape[0]);
      return true;
    }
    if ((n->builtin == B_INT || n->builtin == B_CONVERT) && n->args) {
      Value a;
      Elem to = n->builtin == B_INT ? EL_I64 : n->elem;
      return const_eval(n->args, &a) && eval_convert(to, a, out);
    }
    return false;
  default: return false;
  }
}

bool const_int(const Node *n, int64_t *out) {
  Value v;
  if (!const_eval(n, &v) || elem_is_float(v.elem))
    return false;
  *out = (int64_t)as_i128(v);
  return true;
}
