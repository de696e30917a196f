/* reduce.c - reductions on the Cpu: SIMD, pairwise float sums, NaN flags.
 *
 * A reduction (a `.reduce()` loop, or the loop of a slice reduction such as
 * sum(x[i, :])) promises that its values may be combined in any order, so
 * it runs as an `omp simd` reduction: without that promise, and without
 * -ffast-math, the C compiler must add floats one after the other, a chain
 * of dependent adds several times slower than the memory feeding it.
 *
 * Float sums go further: NumPy sums pairwise, and a running sum of n
 * values has an error growing with n instead of log n.  Blocks of
 * PARPY_SUM_BLOCK elements are summed by `omp simd`, and the block sums are
 * added pairwise (parpy_sum_* in parpy_cpu.h); in a parallel loop each
 * thread keeps its own pairwise sums and OpenMP adds the threads' totals.
 * float16 is summed in float, as NumPy does.
 *
 * OpenMP's max/min reductions (and the x86 instructions under them) drop
 * NaN, but max/min here propagate it like numpy.maximum: the reduction
 * keeps a flag that any value was NaN beside a plain comparison max. */
#include "cpu.h"

/* `loop` is `for v: acc = acc op value`, acc a local, nothing else. */
typedef struct Red {
  const Node *loop;
  const Node *acc;
  Op op;
  const Node *value;
  Elem elem;
} Red;

const char *cpu_omp_op(Op op) {
  switch (op) {
  case OP_ADD: return "+";
  case OP_MUL: return "*";
  case OP_MAX: return "max";
  case OP_MIN: return "min";
  case OP_BITAND: return "&";
  case OP_BITOR: return "|";
  case OP_BITXOR: return "^";
  case OP_AND: return "&&";
  case OP_OR: return "||";
  default: return "?";
  }
}

Node *cpu_replace(Arena *a, const Node *n, const Node *target, Node *var) {
  if (!n)
    return NULL;
  if (expr_equal(n, target))
    return clone_node(a, var);
  Node *c = ARENA_NEW(a, Node);
  *c = *n;
  c->next = NULL;
  c->lhs = cpu_replace(a, n->lhs, target, var);
  c->rhs = cpu_replace(a, n->rhs, target, var);
  c->cond = cpu_replace(a, n->cond, target, var);
  c->then = cpu_replace(a, n->then, target, var);
  c->els = cpu_replace(a, n->els, target, var);
  Node head = {0}, *tail = &head;
  for (const Node *x = n->args; x; x = x->next)
    tail = tail->next = cpu_replace(a, x, target, var);
  c->args = head.next;
  return c;
}

/* No calls of functions that might do more than compute a value: the
 * iterations of an `omp simd` loop may run in any interleaving. */
bool cpu_simple_value(const Node *n) {
  if (!n)
    return true;
  if (n->kind == N_FUNCALL || n->kind == N_EXTCALL)
    return false;
  if (!cpu_simple_value(n->lhs) || !cpu_simple_value(n->rhs) || !cpu_simple_value(n->cond) ||
      !cpu_simple_value(n->then) || !cpu_simple_value(n->els))
    return false;
  for (const Node *x = n->args; x; x = x->next)
    if (!cpu_simple_value(x))
      return false;
  return true;
}

static bool simd_op(Op op, Elem e) {
  switch (op) {
  case OP_ADD:
  case OP_MUL: return e != EL_BOOL;
  case OP_MAX:
  case OP_MIN: return e != EL_BOOL;
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR: return elem_is_int(e) || e == EL_BOOL;
  case OP_AND:
  case OP_OR: return e == EL_BOOL;
  default: return false;
  }
}

/* The accumulation `acc = acc op value` in the type of acc throughout (a
 * conversion of the running value would round at every step, and that
 * order must stay). */
static bool match(const Node *f, Red *r) {
  const Node *s = f->body;
  if (!s || s->next || s->kind != N_ASSIGN || s->lhs->kind != N_VAR)
    return false;
  const Node *rhs = s->rhs, *acc = s->lhs;
  if (rhs->kind != N_BINARY || !expr_equal(rhs->lhs, acc) || !rhs->ty || !acc->ty ||
      rhs->ty->elem != acc->ty->elem || rhs->rhs->ty == NULL ||
      rhs->rhs->ty->elem != acc->ty->elem)
    return false;
  if (f->red_op != OP_NONE && rhs->op != f->red_op)
    return false;
  /* Python's builtin max/min (parpy_pymax: a NaN second operand loses)
   * must not become the NaN-propagating reduction below. */
  if (rhs->weak_result && (rhs->op == OP_MAX || rhs->op == OP_MIN) &&
      elem_is_float(acc->ty->elem))
    return false;
  if (!simd_op(rhs->op, acc->ty->elem) || !cpu_simple_value(rhs->rhs) ||
      expr_mentions(rhs->rhs, acc->sym) || expr_mentions(f->lo, acc->sym) ||
      expr_mentions(f->hi, acc->sym))
    return false;
  *r = (Red){.loop = f, .acc = acc, .op = rhs->op, .value = rhs->rhs, .elem = acc->ty->elem};
  return true;
}

/* ---- printing ---- */

static void line(CPrinter *c, const char *text) {
  c_line_start(c);
  buf_puts(c->out, text);
  buf_puts(c->out, "\n");
}

static void open_block(CPrinter *c) {
  line(c, "{");
  c->depth++;
}

static void close_block(CPrinter *c) {
  c->depth--;
  line(c, "}");
}

static const char *acc_name(const Red *r) { return r->acc->sym->cname; }

static Sym *local(CPrinter *c, const Red *r, const char *suffix, Elem e) {
  return c_new_local(c, arena_printf(&c->p->arena, "%s_%s", r->acc->sym->name, suffix),
                     type_scalar(&c->p->arena, e, false));
}

/* `pragma` and the header of the loop `f` with its label comment; the
 * caller prints the body and end_loop closes it. */
static void simd_loop(CPrinter *c, const Node *f, const char *pragma) {
  line(c, pragma);
  c_line_start(c);
  c_for_header(c, f);
  buf_puts(c->out, " {");
  c_loop_comment(c, f);
  buf_puts(c->out, "\n");
  c->depth++;
}

static void end_loop(CPrinter *c) {
  c->depth--;
  line(c, "}");
}

/* `var OP= value;`, `var = var && value;`, `var = parpy_max_i32(var, value);` */
static void accumulate(CPrinter *c, const Red *r, const char *var) {
  c_line_start(c);
  if (r->op == OP_MAX || r->op == OP_MIN)
    buf_printf(c->out, "%s = parpy_%s_%s(%s, ", var, r->op == OP_MAX ? "max" : "min",
               elem_short(r->elem), var);
  else if (r->op == OP_AND || r->op == OP_OR)
    buf_printf(c->out, "%s = %s %s ", var, var, r->op == OP_AND ? "&&" : "||");
  else
    buf_printf(c->out, "%s %s= ", var, op_symbol(r->op));
  c_expr(c, r->value);
  buf_puts(c->out, r->op == OP_MAX || r->op == OP_MIN ? ");\n" : ";\n");
}

static const char *omp_prefix(bool parallel) {
  return parallel ? "#pragma omp parallel for simd" : "#pragma omp simd";
}

/* Integers, bools, float products: OpenMP's own reduction. */
static void plain(CPrinter *c, const Red *r, bool parallel) {
  simd_loop(c, r->loop, arena_printf(&c->p->arena, "%s reduction(%s: %s)", omp_prefix(parallel),
                                     cpu_omp_op(r->op), acc_name(r)));
  accumulate(c, r, acc_name(r));
  end_loop(c);
}

/* Float max/min: a comparison max per lane (what the vectoriser knows) and
 * a flag that some value was NaN, which then is the result. */
static void nan_max(CPrinter *c, const Red *r, bool parallel) {
  Prog *p = c->p;
  const char *acc = acc_name(r);
  const char *flag = local(c, r, "nan", EL_BOOL)->cname;
  const char *v = local(c, r, "v", r->elem)->cname;
  open_block(c);
  c_line_start(c);
  buf_printf(c->out, "bool %s = %s != %s;\n", flag, acc, acc);
  simd_loop(c, r->loop, arena_printf(&p->arena, "%s reduction(%s: %s) reduction(|: %s)",
                                     omp_prefix(parallel), cpu_omp_op(r->op), acc, flag));
  c_line_start(c);
  buf_printf(c->out, "%s %s = ", c_type_name(r->elem), v);
  c_expr(c, r->value);
  buf_puts(c->out, ";\n");
  c_line_start(c);
  buf_printf(c->out, "%s |= %s != %s;\n", flag, v, v);
  c_line_start(c);
  buf_printf(c->out, "%s = %s %s %s ? %s : %s;\n", acc, v, r->op == OP_MAX ? ">" : "<", acc, v,
             acc);
  end_loop(c);
  c_line_start(c);
  buf_printf(c->out, "if (%s)\n", flag);
  c->depth++;
  c_line_start(c);
  buf_printf(c->out, "%s = NAN;\n", acc);
  c->depth--;
  close_block(c);
}

int64_t cpu_trip_count(const Node *f) {
  Value lo, hi;
  if (!const_eval(f->lo, &lo) || !const_eval(f->hi, &hi) || !elem_is_int(lo.elem) ||
      !elem_is_int(hi.elem) || elem_is_unsigned(lo.elem) || elem_is_unsigned(hi.elem))
    return -1;
  if (f->step > 0)
    return hi.i > lo.i ? (int64_t)(((uint64_t)hi.i - (uint64_t)lo.i - 1) / (uint64_t)f->step + 1) : 0;
  return lo.i > hi.i ? (int64_t)(((uint64_t)lo.i - (uint64_t)hi.i - 1) / (uint64_t)-f->step + 1)
                     : 0;
}

/* The block loop of a pairwise sum: block sums pushed into `sums`. */
static void sum_blocks(CPrinter *c, const Red *r, const char *sums, const char *w) {
  Prog *p = c->p;
  const Node *f = r->loop;
  const Type *it = f->sym->ty;
  Sym *b0 = c_new_local(c, arena_printf(&p->arena, "%s_blk", f->sym->name), (Type *)it);
  Sym *b1 = c_new_local(c, arena_printf(&p->arena, "%s_end", f->sym->name), (Type *)it);
  const char *blk = local(c, r, "blk", r->elem == EL_F16 ? EL_F32 : r->elem)->cname;
  c_line_start(c);
  buf_puts(c->out, "for (");
  c_type(c, it);
  buf_printf(c->out, " %s = ", b0->cname);
  c_expr(c, f->lo);
  buf_printf(c->out, "; %s < ", b0->cname);
  c_expr(c, f->hi);
  buf_printf(c->out, "; %s += PARPY_SUM_BLOCK) {\n", b0->cname);
  c->depth++;
  c_line_start(c);
  c_type(c, it);
  buf_printf(c->out, " %s = ", b1->cname);
  c_expr(c, f->hi);
  buf_printf(c->out, " - %s < PARPY_SUM_BLOCK ? ", b0->cname);
  c_expr(c, f->hi);
  buf_printf(c->out, " : %s + PARPY_SUM_BLOCK;\n", b0->cname);
  c_line_start(c);
  buf_printf(c->out, "%s %s = 0;\n", w, blk);
  line(c, arena_printf(&p->arena, "#pragma omp simd reduction(+: %s)", blk));
  c_line_start(c);
  buf_puts(c->out, "for (");
  c_type(c, it);
  buf_printf(c->out, " %s = %s; %s < %s; %s++) {", f->sym->cname, b0->cname, f->sym->cname,
             b1->cname, f->sym->cname);
  c_loop_comment(c, f);
  buf_puts(c->out, "\n");
  c->depth++;
  accumulate(c, r, blk);
  end_loop(c);
  c_line_start(c);
  buf_printf(c->out, "parpy_sum_push_%s(&%s, %s);\n", elem_short(r->elem == EL_F64 ? EL_F64 : EL_F32),
             sums, blk);
  end_loop(c);
}

static void float_sum(CPrinter *c, const Red *r, bool parallel) {
  Prog *p = c->p;
  const Node *f = r->loop;
  const char *acc = acc_name(r);
  Elem we = r->elem == EL_F64 ? EL_F64 : EL_F32; /* float16 adds in float */
  const char *w = c_type_name(we), *ws = elem_short(we);
  int64_t n = cpu_trip_count(f);
  if (f->step != 1 || (n >= 0 && n <= 128 && !parallel)) {
    /* One block: a simd sum (lanes of partial sums) added to acc. */
    const char *blk = local(c, r, "blk", we)->cname;
    open_block(c);
    c_line_start(c);
    buf_printf(c->out, "%s %s = 0;\n", w, blk);
    simd_loop(c, f, arena_printf(&p->arena, "%s reduction(+: %s)", omp_prefix(parallel), blk));
    accumulate(c, r, blk);
    end_loop(c);
    c_line_start(c);
    buf_printf(c->out, "%s = %s + %s;\n", acc, acc, blk);
    close_block(c);
    return;
  }
  const char *sums = local(c, r, "sums", we)->cname;
  open_block(c);
  const char *total = acc;
  if (parallel) {
    total = local(c, r, "total", we)->cname;
    c_line_start(c);
    buf_printf(c->out, "%s %s = 0;\n", w, total);
    line(c, arena_printf(&p->arena, "#pragma omp parallel reduction(+: %s)", total));
    open_block(c);
  }
  line(c, arena_printf(&p->arena, "parpy_sum_%s %s;", ws, sums));
  line(c, arena_printf(&p->arena, "parpy_sum_init_%s(&%s);", ws, sums));
  if (parallel)
    line(c, "#pragma omp for");
  sum_blocks(c, r, sums, w);
  c_line_start(c);
  if (parallel) {
    buf_printf(c->out, "%s += parpy_sum_total_%s(&%s);\n", total, ws, sums);
    close_block(c);
    c_line_start(c);
    buf_printf(c->out, "%s = %s + %s;\n", acc, acc, total);
  } else {
    buf_printf(c->out, "%s = %s + parpy_sum_total_%s(&%s);\n", acc, acc, ws, sums);
  }
  close_block(c);
}

static void print_red(CPrinter *c, const Red *r, bool parallel) {
  if (elem_is_float(r->elem) && r->op == OP_ADD)
    float_sum(c, r, parallel);
  else if (elem_is_float(r->elem) && (r->op == OP_MAX || r->op == OP_MIN))
    nan_max(c, r, parallel);
  else
    plain(c, r, parallel);
}

/* The reduction's target, if `f` reduces into a single one. */
static const Node *target_of(const Node *f) {
  if (f->par.reduce && f->red_target)
    return f->red_target;
  if (f->red_op != OP_NONE && f->body && !f->body->next && f->body->kind == N_ASSIGN)
    return f->body->lhs;
  return NULL;
}

bool cpu_reduction(CPrinter *c, const Node *f, bool parallel) {
  const Node *target = target_of(f);
  if (!target || expr_mentions(target, f->sym))
    return false; /* not one target for the whole loop */
  Red r;
  if (target->kind == N_VAR) {
    if (!match(f, &r))
      return false;
    print_red(c, &r, parallel);
    return true;
  }
  /* An array element: reduce into a local that starts from the element,
   * then store it (the element's index does not change in the loop). */
  Prog *p = c->p;
  Sym *acc = c_new_local(c, target->lhs->kind == N_VAR
                                ? arena_printf(&p->arena, "%s_acc", target->lhs->sym->name)
                                : "acc",
                         target->ty);
  Node *v = new_var(p, acc, f->span);
  Node *loop = ARENA_NEW(&p->arena, Node);
  *loop = *f;
  loop->body = cpu_replace(&p->arena, f->body, target, v);
  loop->red_target = v;
  if (!match(loop, &r))
    return false;
  open_block(c);
  c_line_start(c);
  c_type(c, acc->ty);
  buf_printf(c->out, " %s = ", acc->cname);
  c_expr(c, target);
  buf_puts(c->out, ";\n");
  print_red(c, &r, parallel);
  c_line_start(c);
  c_expr(c, target);
  buf_printf(c->out, " = %s;\n", acc->cname);
  close_block(c);
  return true;
}
