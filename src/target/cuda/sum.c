/* sum.c - the per-thread part of a parallel float sum on a GPU.
 *
 * Each thread of a reduction adds the n / threads elements it visits, then
 * the threads' sums are combined as a tree (cuda.c's combine).  A running
 * sum of m values has an error growing like m * eps, and m is large when
 * few threads sum many elements (threads(1024) over 2^24 values: 16,384
 * each), far worse than NumPy's pairwise sum (about log2(n) * eps).  So the
 * thread's sum is compensated: each addition s + y also computes its exact
 * rounding error (Knuth's TwoSum, six additions, exact for any order of
 * magnitude of s and y) and the errors are summed on the side:
 *
 *     t = s + y;  b = t - s;  c += (s - (t - b)) + (y - b);  s = t;
 *
 * and c is added to s once at the end.  The thread's total is then within
 * about 2 eps of the exact sum of its elements, and the whole reduction
 * within about (2 + log2(threads)) * eps * sum(|x|).  The extra additions
 * are free next to the memory traffic of a sum.  float16 sums run in float
 * (NumPy too sums float16 in float).  When the sum overflows or meets an
 * infinity or NaN, c is not finite and is left out: s alone then is what a
 * plain sum gives.  c is also left out when it is 0, so that a sum whose
 * additions were exact (and the sign of a zero result) is unchanged.  The
 * code is built with --fmad=false and no fast-math, so nvcc keeps these
 * additions as written. */
#include "sum.h"

/* f's body is the single statement `acc = acc + e`, acc its target. */
static const Node *sum_value(const Node *f) {
  const Node *s = f->body, *t = f->red_target;
  if (!s || s->next || s->kind != N_ASSIGN || !t || t->kind != N_VAR || s->lhs->kind != N_VAR ||
      s->lhs->sym != t->sym)
    return NULL;
  const Node *r = s->rhs;
  if (r->kind != N_BINARY || r->op != OP_ADD || r->lhs->kind != N_VAR || r->lhs->sym != t->sym)
    return NULL;
  return r->rhs;
}

bool cuda_sum_begin(CPrinter *c, const Node *f, CudaSum *cs) {
  if (!f->par.reduce || f->red_op != OP_ADD || !f->red_target || !f->red_target->ty)
    return false;
  Elem e = f->red_target->ty->elem;
  if (e != EL_F16 && e != EL_F32 && e != EL_F64)
    return false;
  const Node *value = sum_value(f);
  if (!value)
    return false;
  Prog *p = c->p;
  cs->acc = f->red_target;
  cs->value = value;
  cs->elem = e;
  cs->wide = e == EL_F16 ? EL_F32 : e;
  Type *wt = type_scalar(&p->arena, cs->wide, false);
  const char *name = f->red_target->sym->name;
  cs->s = c_new_local(c, arena_printf(&p->arena, "%s_s", name), wt)->cname;
  cs->c = c_new_local(c, arena_printf(&p->arena, "%s_c", name), wt)->cname;
  const char *w = c_type_name(cs->wide);
  const char *acc = f->red_target->sym->cname;
  c_line_start(c);
  buf_printf(c->out, "{  /* compensated sum of this thread's elements (cuda/sum.c) */\n");
  c->depth++;
  c_line_start(c);
  if (cs->wide == e)
    buf_printf(c->out, "%s %s = %s, %s = 0;\n", w, cs->s, acc, cs->c);
  else
    buf_printf(c->out, "%s %s = (%s)%s, %s = 0;\n", w, cs->s, w, acc, cs->c);
  return true;
}

void cuda_sum_body(CPrinter *c, const CudaSum *cs) {
  Prog *p = c->p;
  Type *wt = type_scalar(&p->arena, cs->wide, false);
  const char *w = c_type_name(cs->wide);
  const char *base = cs->acc->sym->name;
  const char *y = c_new_local(c, arena_printf(&p->arena, "%s_y", base), wt)->cname;
  const char *t = c_new_local(c, arena_printf(&p->arena, "%s_t", base), wt)->cname;
  const char *b = c_new_local(c, arena_printf(&p->arena, "%s_b", base), wt)->cname;
  c->depth++;
  c_line_start(c);
  if (cs->wide == cs->elem) {
    buf_printf(c->out, "%s %s = ", w, y);
    c_expr(c, cs->value);
  } else {
    buf_printf(c->out, "%s %s = (%s)(", w, y, w);
    c_expr(c, cs->value);
    buf_puts(c->out, ")");
  }
  buf_puts(c->out, ";\n");
  c_line_start(c);
  buf_printf(c->out, "%s %s = %s + %s;\n", w, t, cs->s, y);
  c_line_start(c);
  buf_printf(c->out, "%s %s = %s - %s;\n", w, b, t, cs->s);
  c_line_start(c);
  buf_printf(c->out, "%s = %s + ((%s - (%s - %s)) + (%s - %s));\n", cs->c, cs->c, cs->s, t, b, y,
             b);
  c_line_start(c);
  buf_printf(c->out, "%s = %s;\n", cs->s, t);
  c->depth--;
}

void cuda_sum_end(CPrinter *c, const CudaSum *cs) {
  c_line_start(c);
  buf_printf(c->out, "if (%s != 0 && isfinite(%s)) %s = %s + %s;\n", cs->c, cs->c, cs->s, cs->s,
             cs->c);
  c_line_start(c);
  if (cs->wide == cs->elem)
    buf_printf(c->out, "%s = %s;\n", cs->acc->sym->cname, cs->s);
  else
    buf_printf(c->out, "%s = (%s)%s;\n", cs->acc->sym->cname, c_type_name(cs->elem), cs->s);
  c->depth--;
  c_line_start(c);
  buf_puts(c->out, "}\n");
}
