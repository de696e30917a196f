/* bfloat16.c - bfloat16 arithmetic becomes float32 arithmetic.
 *
 * No target computes in bfloat16 the way PyTorch and ml_dtypes define it:
 * each operation is done in float32 and its result rounded to bfloat16
 * (round to nearest even; a NaN stays a NaN).  So `a * b + c` on bfloat16
 * values rounds twice, after the product and after the sum, and this pass
 * says so in the tree:
 *
 *   a * b + c   ->   bf16(f32(bf16(f32(a) * f32(b))) + f32(c))
 *
 * Every operation (operator, comparison, math function) whose operand or
 * result is a bfloat16 scalar gets float32 operands and, when its result is
 * bfloat16, a conversion back around it.  What only moves a value (a load,
 * a store, a local, an argument of a helper, a branch of `a if c else b`)
 * keeps the bfloat16 as it is.  A conversion from bfloat16 goes through
 * float32 (exact); one to bfloat16 rounds once, as ml_dtypes does: from
 * float32, float16 and bool through float32, from float64 and integers
 * through float64 (parpy_f64_to_bf16 rounds that once; integers beyond
 * 2**53 round twice).  PyTorch rounds float64 through float32, which can
 * differ by one bfloat16 step in rare ties.  The printers are left with
 * parpy_bf16_to_f32, parpy_f32_to_bf16 and parpy_f64_to_bf16
 * (parpy_arith.h), and bfloat16 stored as its 16 bits.
 *
 * Not supported, with an error: a parallel reduction (.reduce()) or an
 * atomic update whose target is bfloat16 (accumulate into a float32 local
 * instead), and print() of a bfloat16 value.  Reductions of slices (sum,
 * prod, max, min, mean, ...) of bfloat16 accumulate in float32 (slices.c),
 * as PyTorch does.  Runs after `parallel`, which finds the reductions. */
#include "../ast.h"

typedef struct B {
  Prog *p;
} B;

static Arena *A(B *b) { return &b->p->arena; }

static bool is_bf16(const Node *n) {
  return n && n->ty && n->ty->kind == TY_SCALAR && n->ty->elem == EL_BF16;
}

static Type *f32(B *b) { return type_scalar(A(b), EL_F32, false); }

static Node *convert(B *b, Node *n, Elem e) {
  Node *c = new_node(A(b), N_CONVERT, n->span);
  c->lhs = n;
  c->ty = type_scalar(A(b), e, false);
  return c;
}

/* `n` (a bfloat16 value) as a float32 operand: exact.  A literal becomes
 * the float32 literal of its bfloat16 value. */
static Node *as_f32(B *b, Node *n) {
  if (n->kind == N_FLOAT || n->kind == N_INT || n->kind == N_BOOL) {
    double v = n->kind == N_FLOAT ? n->val.f : n->kind == N_BOOL ? (double)n->val.b
                                                                  : (double)n->val.i;
    Node *l = new_node(A(b), N_FLOAT, n->span);
    l->val = (Value){.elem = EL_F32, .f = (double)bf16_to_float(bf16_from_double(v))};
    l->ty = f32(b);
    return l;
  }
  return convert(b, n, EL_F32);
}

/* Replace *np, keeping its place in a list. */
static void replace(Node **np, Node *with) {
  with->next = (*np)->next;
  (*np)->next = NULL;
  *np = with;
}

static void operand_f32(B *b, Node **np) {
  if (*np && is_bf16(*np))
    replace(np, as_f32(b, *np));
}

static bool is_conversion(const Node *n) {
  if (n->kind == N_CONVERT)
    return true;
  return n->kind == N_BUILTIN && (n->builtin == B_CONVERT || n->builtin == B_INT ||
                                  n->builtin == B_FLOAT || n->builtin == B_BOOL);
}

static void lower_expr(B *b, Node **np);

static void lower_list(B *b, Node **list) {
  for (Node **a = list; *a; a = &(*a)->next)
    lower_expr(b, a);
}

/* A conversion between bfloat16 and another type goes through float32. */
static void lower_conversion(B *b, Node *n) {
  Node **arg = n->kind == N_CONVERT ? &n->lhs : &n->args;
  if (!*arg || !(*arg)->ty || (*arg)->ty->kind != TY_SCALAR || !n->ty || n->ty->kind != TY_SCALAR)
    return;
  Elem from = (*arg)->ty->elem, to = n->ty->elem;
  if (from == to || (from != EL_BF16 && to != EL_BF16))
    return;
  if (from == EL_BF16 && to != EL_F32)
    replace(arg, as_f32(b, *arg));
  else if (to == EL_BF16 && (from == EL_F16 || from == EL_BOOL)) /* exact in float32 */
    replace(arg, convert(b, *arg, EL_F32));
  else if (to == EL_BF16 && elem_is_int(from)) /* exact in float64 up to 2**53 */
    replace(arg, convert(b, *arg, EL_F64));
}

static void lower_expr(B *b, Node **np) {
  Node *n = *np;
  if (!n)
    return;
  lower_expr(b, &n->lhs);
  lower_expr(b, &n->rhs);
  lower_expr(b, &n->cond);
  lower_expr(b, &n->then);
  lower_expr(b, &n->els);
  lower_list(b, &n->args);
  switch (n->kind) {
  case N_CONVERT: lower_conversion(b, n); return;
  case N_IFEXP: operand_f32(b, &n->cond); return; /* the branches are values */
  case N_UNARY:
  case N_BINARY:
  case N_BUILTIN: break;
  default: return; /* loads, variables, literals, calls: values as they are */
  }
  if (is_conversion(n)) {
    lower_conversion(b, n);
    return;
  }
  operand_f32(b, &n->lhs);
  operand_f32(b, &n->rhs);
  for (Node **a = &n->args; *a; a = &(*a)->next)
    operand_f32(b, a);
  if (is_bf16(n)) {
    n->ty = f32(b);
    replace(np, convert(b, n, EL_BF16));
  }
}

static bool lower_stmts(B *b, Node *list);

static bool lower_stmt(B *b, Node *s) {
  switch (s->kind) {
  case N_ASSIGN:
    if (s->atomic && s->lhs->ty && s->lhs->ty->elem == EL_BF16)
      return err(b->p, DIAG_TYPE, s->span,
                 "an atomic update of a bfloat16 element is not supported; accumulate into a "
                 "float32 array and convert it afterwards");
    lower_expr(b, &s->lhs);
    lower_expr(b, &s->rhs);
    return true;
  case N_FOR:
    if (s->par.nthreads > 0 && s->par.reduce && s->red_target && s->red_target->ty &&
        s->red_target->ty->elem == EL_BF16)
      return err(b->p, DIAG_TYPE, s->span,
                 "the parallel reduction of the loop labelled '%s' accumulates into a bfloat16 "
                 "value, which is not supported; accumulate into a float32 local and convert "
                 "the result", s->labels.n ? s->labels.names[0] : "?");
    lower_expr(b, &s->lo);
    lower_expr(b, &s->hi);
    return lower_stmts(b, s->body);
  case N_PRINT:
    for (Node *a = s->args; a; a = a->next)
      if (is_bf16(a))
        return err(b->p, DIAG_TYPE, a->span,
                   "print() of a bfloat16 value is not supported; print float32(x) instead");
    lower_list(b, &s->args);
    return true;
  case N_WHILE:
  case N_IF:
    lower_expr(b, &s->cond);
    operand_f32(b, &s->cond);
    return lower_stmts(b, s->body) && lower_stmts(b, s->then) && lower_stmts(b, s->els);
  case N_RETURN:
  case N_EXPR:
    lower_expr(b, &s->lhs);
    return true;
  default:
    return lower_stmts(b, s->body) && lower_stmts(b, s->then) && lower_stmts(b, s->els);
  }
}

static bool lower_stmts(B *b, Node *list) {
  for (Node *s = list; s; s = s->next)
    if (!lower_stmt(b, s))
      return false;
  return true;
}

static bool sym_is_bf16(const Sym *s) {
  const Type *t = s ? s->ty : NULL;
  return t && (t->kind == TY_SCALAR || t->kind == TY_ARRAY || t->kind == TY_POINTER) &&
         t->elem == EL_BF16;
}

static const Sym *fn_bf16_sym(const Fn *f) {
  for (int i = 0; i < f->nsyms; i++)
    if (sym_is_bf16(f->syms[i]))
      return f->syms[i];
  return NULL;
}

const Sym *first_bf16_sym(const Prog *p) {
  const Sym *s = fn_bf16_sym(p->main);
  for (const Fn *h = p->helpers; h && !s; h = h->next)
    s = fn_bf16_sym(h);
  return s;
}

bool lower_bfloat16(Prog *p) {
  B b = {p};
  for (Fn *h = p->helpers; h; h = h->next)
    if (!lower_stmts(&b, h->body))
      return false;
  return lower_stmts(&b, p->main->body);
}
