/* cstmt.c - statements in C syntax: declarations, assignments, atomic
 * updates, print(), loops and ifs, and the constants that specialised
 * scalar parameters become. */
#include <inttypes.h>

#include "cprint.h"

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
  if (s->check)
    c_race_mark(c, s);
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
    if (c->d->while_loop && c->d->while_loop(c, s))
      return;
    c_line_start(c);
    buf_puts(o, "while (");
    /* debug mode: a failed check made an access harmless, not its value
     * right; a loop waiting for that value stops */
    if (c->p->opt.debug && c->p->opt.backend != BACKEND_METAL)
      buf_puts(o, "!PARPY_DBG_STOPPED && ");
    expr_prec(c, s->cond, P_AND + 1);
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
  case N_CHECK: c_check_reset(c, s); return;
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
