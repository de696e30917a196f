/* types_ops.c - typing operators: binary (with NumPy 2 promotion, exact
 * integer comparisons and folded Python int literal arithmetic), unary, and
 * conditional expressions. */
#include "types.h"

/* ---- operators ---- */

/* The operand and result types of a binary operator on scalar types. */
static bool binary_types(Typer *t, Node *n, Type *a, Type *b, Type **operand, Type **result) {
  Arena *ar = A(t);
  Type *c = promote(ar, a, b);
  bool bools = a->elem == EL_BOOL && b->elem == EL_BOOL;
  Op op = n->op;
  *operand = *result = c;
  switch (op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
    if (bools) {
      /* Python's bools are ints; NumPy's add as `or` and multiply as
       * `and`, and refuse to subtract. */
      if (a->weak && b->weak) {
        *operand = *result = type_scalar(ar, t->p->opt.int_size, true);
        return true;
      }
      if (op != OP_SUB)
        return true;
      terr(t, DIAG_TYPE, n->span,
           "NumPy does not subtract booleans (use ^ or convert them with int(...) first)");
      return false;
    }
    return true;
  case OP_DIV:
    if (kind_of(c->elem) != 2)
      *operand = *result = type_scalar(ar, t->p->opt.float_size, a->weak && b->weak);
    return true;
  case OP_FLOORDIV:
  case OP_MOD:
  case OP_POW:
    if (bools) {
      /* Python: ints; NumPy: np.True_ // np.True_ is int8 */
      *operand = *result = a->weak && b->weak ? type_scalar(ar, t->p->opt.int_size, true)
                                              : type_scalar(ar, EL_I8, false);
      return true;
    }
    if (op == OP_POW && kind_of(c->elem) == 1) {
      int64_t e;
      if (const_int(n->rhs, &e) && e < 0) {
        terr(t, DIAG_VALUE, n->rhs->span,
             "integers to negative integer powers are not allowed (write a float, e.g. 2.0 ** -1)");
        return false;
      }
    }
    return true;
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR:
  case OP_SHL:
  case OP_SHR:
    if (kind_of(c->elem) == 2) {
      terr(t, DIAG_TYPE, n->span,
           "the operator %s needs integer or boolean operands, not %s and %s", op_symbol(op),
           tstr(t, a), tstr(t, b));
      return false;
    }
    if ((op == OP_SHL || op == OP_SHR) && c->elem == EL_BOOL)
      *operand = *result = type_scalar(ar, t->p->opt.int_size, c->weak);
    return true;
  case OP_MAX:
  case OP_MIN:
    /* NumPy's maximum/minimum give NumPy scalars, also of Python scalars
     * (np.maximum(n, 1) is np.int64); Python's max/min a Python scalar. */
    if (!n->weak_result && c->weak)
      *operand = *result = type_scalar(ar, c->elem, false);
    return true;
  case OP_AND:
  case OP_OR: return true;
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: *result = type_scalar(ar, EL_BOOL, a->weak && b->weak); return true;
  default:
    terr(t, DIAG_INTERNAL, n->span, "unexpected binary operator %d", op);
    return false;
  }
}

/* ---- comparisons of integers ----
 * NumPy 2 and Python compare integers by value: x_u16[i] < -1 is False and
 * x_u8[i] <= 300 True, although -1 and 300 are no uint8/uint16, and an
 * int64 against a uint64 is exact (the promotion, float64, is not). */

static bool is_cmp(Op op) { return op >= OP_EQ && op <= OP_GE; }

/* Whether the operand n of type x (scalar) holds only values of type c. */
static bool values_fit(const Node *n, const Type *x, Elem c) {
  if (!x->weak)
    return x->elem == c || promote_elem(x->elem, c) == c;
  if (n->kind == N_INT)
    return int_fits(n->val, c);
  int64_t v;
  if (x->elem != EL_U64 && const_int(n, &v))
    return int_fits((Value){.elem = EL_I64, .i = v}, c);
  return x->elem == c; /* a Python int known only at run time: any int64 */
}

/* The types to compare integers a and b in, when promote()'s type c cannot
 * hold both: int64 where no uint64 is involved, else each side's own 64-bit
 * type (the printer compares int64 with uint64 through parpy_cmp_*). */
static bool int_compare_types(Node *n, const Type *a, const Type *b, const Type *c, Elem *ta,
                              Elem *tb) {
  if (!is_cmp(n->op) || kind_of(a->elem) != 1 || kind_of(b->elem) != 1)
    return false;
  if (kind_of(c->elem) == 1 && values_fit(n->lhs, a, c->elem) && values_fit(n->rhs, b, c->elem))
    return false;
  bool ua = a->elem == EL_U64, ub = b->elem == EL_U64;
  if (!ua && !ub) {
    *ta = *tb = EL_I64;
    return true;
  }
  *ta = ua || (elem_is_unsigned(a->elem) && !a->weak) ? EL_U64 : EL_I64;
  *tb = ub || (elem_is_unsigned(b->elem) && !b->weak) ? EL_U64 : EL_I64;
  return true;
}

/* ---- arithmetic of Python int literals ----
 * Python computes `2147483647 * -8` exactly; printed as is, C would compute
 * it in 32-bit int.  So operations whose operands are all Python int
 * literals are folded here, exactly (in 128 bits), into one literal; a
 * result beyond [-2**63, 2**64) is an error (ParPy's ints have 64 bits).
 * Division by zero and negative shifts are left to run time. */
typedef __int128 i128;

static bool is_py_int(const Node *n) {
  return n->kind == N_INT && (!n->ty || n->ty->weak);
}

static i128 lit_value(const Node *n) {
  return n->val.elem == EL_U64 ? (i128)n->val.u : (i128)n->val.i;
}

static bool int_pow(i128 a, i128 b, i128 *r) {
  *r = 1;
  for (i128 k = 0; k < b; k++)
    if (__builtin_mul_overflow(*r, a, r))
      return false;
  return true;
}

/* r = a op b with Python's semantics; false where not folded or too large
 * for 128 bits (then surely too large for 64). */
static bool fold_int(Op op, i128 a, i128 b, i128 *r, bool *big) {
  *r = 0;
  *big = false;
  switch (op) {
  case OP_ADD: return !(*big = __builtin_add_overflow(a, b, r));
  case OP_SUB: return !(*big = __builtin_sub_overflow(a, b, r));
  case OP_MUL: return !(*big = __builtin_mul_overflow(a, b, r));
  case OP_FLOORDIV:
  case OP_MOD: {
    if (b == 0)
      return false;
    i128 q = a / b, m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) {
      q--;
      m += b;
    }
    *r = op == OP_MOD ? m : q;
    return true;
  }
  case OP_POW:
    if (b < 0 || (b > 200 && a != 0 && a != 1 && a != -1))
      return !(*big = b >= 0);
    return !(*big = !int_pow(a, b, r));
  case OP_BITAND: *r = a & b; return true;
  case OP_BITOR: *r = a | b; return true;
  case OP_BITXOR: *r = a ^ b; return true;
  case OP_SHL:
    if (b < 0)
      return false;
    if (a != 0 && b > 64)
      return !(*big = true);
    *r = a * ((i128)1 << b);
    return true;
  case OP_SHR:
    if (b < 0)
      return false;
    *r = b > 100 ? (a < 0 ? -1 : 0) : a >> b;
    return true;
  default: return false;
  }
}

/* Replace *np by the literal r (a Python int), or report it too large. */
static Type *int_literal_result(Typer *t, Node **np, i128 r, bool big) {
  Node *n = *np;
  if (big || r < (i128)INT64_MIN || r > (i128)UINT64_MAX)
    return terr(t, DIAG_VALUE, n->span,
                "this Python integer arithmetic gives a value outside the 64-bit range "
                "[-2**63, 2**64) that ParPy's integers have");
  Node *lit = new_node(A(t), N_INT, n->span);
  lit->next = n->next;
  if (r > (i128)INT64_MAX) {
    lit->val.elem = EL_U64;
    lit->val.u = (uint64_t)r;
  } else {
    lit->val.elem = EL_I64;
    lit->val.i = (int64_t)r;
  }
  *np = lit;
  return ty_literal(t, lit);
}

Type *ty_binary(Typer *t, Node **np) {
  Node *n = *np;
  Type *a = ty_expr(t, &n->lhs), *b = ty_expr(t, &n->rhs);
  if (!a || !b)
    return NULL;
  if (!is_num(a) || !is_num(b))
    return terr(t, DIAG_TYPE, n->span, "the operator %s is not supported between %s and %s",
                op_symbol(n->op), tstr(t, a), tstr(t, b));
  if ((n->op == OP_AND || n->op == OP_OR) && (is_array(a) || is_array(b)))
    return terr(t, DIAG_VALUE, n->span,
                "'%s' on arrays is ambiguous; use & or | for elementwise logic", op_symbol(n->op));
  bool ok;
  const Type *shape = broadcast(t, a, b, n->span, &ok);
  if (!ok)
    return NULL;
  Type *operand, *result;
  if (!binary_types(t, n, scalar_of(t, a), scalar_of(t, b), &operand, &result))
    return NULL;
  i128 r = 0;
  bool big;
  if (is_py_int(n->lhs) && is_py_int(n->rhs) &&
      (fold_int(n->op, lit_value(n->lhs), lit_value(n->rhs), &r, &big) || big))
    return int_literal_result(t, np, r, big);
  Elem ta, tb;
  if (int_compare_types(n, scalar_of(t, a), scalar_of(t, b), operand, &ta, &tb)) {
    convert(t, &n->lhs, type_scalar(A(t), ta, false));
    convert(t, &n->rhs, type_scalar(A(t), tb, false));
    return shaped(t, shape, result);
  }
  convert(t, &n->lhs, operand);
  convert(t, &n->rhs, operand);
  return shaped(t, shape, result);
}

/* -b, +b, ~b of a Python bool: the operation on the int 0 or 1. */
static Type *python_bool_as_int(Typer *t, Node *n) {
  Type *i = type_scalar(A(t), t->p->opt.int_size, true);
  convert(t, &n->lhs, i);
  return i;
}

Type *ty_unary(Typer *t, Node **np) {
  Node *n = *np;
  Type *a = ty_expr(t, &n->lhs);
  if (!a)
    return NULL;
  if (!is_num(a))
    return terr(t, DIAG_TYPE, n->span, "the operator %s is not supported for %s",
                op_symbol(n->op), tstr(t, a));
  Type *s = scalar_of(t, a);
  if (is_py_int(n->lhs) && n->op != OP_NOT) {
    i128 v = lit_value(n->lhs);
    return int_literal_result(t, np, n->op == OP_NEG ? -v : n->op == OP_POS ? v : -v - 1,
                              false);
  }
  switch (n->op) {
  case OP_NEG:
  case OP_POS:
    if (s->elem == EL_BOOL && !s->weak)
      return terr(t, DIAG_TYPE, n->span,
                  "NumPy does not support the unary %s operator for booleans; use 'not' or ~",
                  op_symbol(n->op));
    if (s->elem == EL_BOOL) /* a Python bool is the int 0 or 1 */
      return python_bool_as_int(t, n);
    return a;
  case OP_NOT:
    if (is_array(a))
      return terr(t, DIAG_VALUE, n->span,
                  "'not' on an array is ambiguous; use ~ for an elementwise negation");
    return type_scalar(A(t), EL_BOOL, true); /* `not` gives a Python bool */
  case OP_INVERT:
    if (elem_is_float(s->elem))
      return terr(t, DIAG_TYPE, n->span, "the operator ~ needs an integer or boolean operand");
    if (s->elem == EL_BOOL && s->weak) /* ~True is -2 in Python */
      return python_bool_as_int(t, n);
    return a;
  default: return terr(t, DIAG_INTERNAL, n->span, "unexpected unary operator");
  }
}

/* `a if c else b`, also over slices: elementwise as np.where (0.1.3 took
 * it so).  np.where(c, a, b) is the same node with a strong result. */
Type *ty_ifexp(Typer *t, Node **np) {
  Node *n = *np;
  Type *c = ty_expr(t, &n->cond);
  Type *a = ty_expr(t, &n->then), *b = ty_expr(t, &n->els);
  if (!c || !a || !b)
    return NULL;
  if (!is_num(c) || !is_num(a) || !is_num(b))
    return terr(t, DIAG_TYPE, n->span,
                "conditional expressions need numbers, arrays or slices; got %s, %s and %s",
                tstr(t, c), tstr(t, a), tstr(t, b));
  bool ok;
  const Type *shape = broadcast(t, c, a, n->span, &ok);
  if (ok)
    shape = broadcast(t, shape, b, n->span, &ok);
  if (!ok)
    return NULL;
  Type *r = promote(A(t), scalar_of(t, a), scalar_of(t, b));
  if (n->where && r->weak)
    r = type_scalar(A(t), r->elem, false);
  convert(t, &n->then, r);
  convert(t, &n->els, r);
  return shaped(t, shape, r);
}
