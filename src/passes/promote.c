/* promote.c - NumPy 2 type promotion (np.promote_types) and NEP 50's rules
 * for "weak" Python scalars, which adopt the type of the array value they
 * meet: x_f32 * 2.0 is float32, x_i8 + 1 is int8, but x_i32 * 2.5 is
 * float64 because an integer dtype cannot hold 2.5. */
#include "../ast.h"

static Elem signed_of_size(int bytes) {
  switch (bytes) {
  case 1: return EL_I8;
  case 2: return EL_I16;
  case 4: return EL_I32;
  default: return EL_I64;
  }
}

/* The smallest float that holds every value of an integer (or bool). */
static Elem float_for_int(Elem e) {
  if (e == EL_BOOL || elem_size(e) == 1)
    return EL_F16;
  return elem_size(e) == 2 ? EL_F32 : EL_F64;
}

/* float16 and bfloat16 are of one size, below float32 and float64. */
static int float_rank(Elem e) { return e == EL_F64 ? 2 : e == EL_F32 ? 1 : 0; }

Elem promote_elem(Elem a, Elem b) {
  if (a == b)
    return a;
  if (a == EL_BOOL)
    return b;
  if (b == EL_BOOL)
    return a;
  if (elem_is_float(a) || elem_is_float(b)) {
    Elem fa = elem_is_float(a) ? a : float_for_int(a);
    Elem fb = elem_is_float(b) ? b : float_for_int(b);
    if (fa == fb || float_rank(fa) != float_rank(fb))
      return float_rank(fa) >= float_rank(fb) ? fa : fb;
    /* float16 against bfloat16: an int of one byte fits either, but
     * neither holds the other's values (ml_dtypes and PyTorch: float32). */
    if (!elem_is_float(a))
      return b;
    if (!elem_is_float(b))
      return a;
    return EL_F32;
  }
  bool sa = elem_is_signed(a), sb = elem_is_signed(b);
  if (sa == sb)
    return elem_size(a) >= elem_size(b) ? a : b;
  Elem s = sa ? a : b, u = sa ? b : a;
  if (elem_size(s) > elem_size(u))
    return s;
  if (u == EL_U64)
    return EL_F64;
  return signed_of_size(2 * elem_size(u));
}

/* 0 bool, 1 integer, 2 float: the kinds Python scalars are ordered by. */
static int kind_of(Elem e) { return e == EL_BOOL ? 0 : elem_is_float(e) ? 2 : 1; }

/* A weak scalar meeting a strong one.  `int_size`/`float_size` are the
 * types Python ints and floats become when the strong side cannot hold them. */
static Elem weak_with_strong(Elem weak, Elem strong, Elem int_size, Elem float_size) {
  int kw = kind_of(weak), ks = kind_of(strong);
  if (kw <= ks)
    return strong;
  return kw == 1 ? int_size : float_size;
}

Type *promote(Arena *a, const Type *x, const Type *y) {
  if (x->weak && y->weak)
    return type_scalar(a, kind_of(x->elem) >= kind_of(y->elem) ? x->elem : y->elem, true);
  if (x->weak || y->weak) {
    const Type *w = x->weak ? x : y, *s = x->weak ? y : x;
    /* The weak side's elem is already the configured size of its kind. */
    Elem int_size = kind_of(w->elem) == 1 ? w->elem : EL_I64;
    Elem float_size = kind_of(w->elem) == 2 ? w->elem : EL_F64;
    return type_scalar(a, weak_with_strong(w->elem, s->elem, int_size, float_size), false);
  }
  return type_scalar(a, promote_elem(x->elem, y->elem), false);
}
