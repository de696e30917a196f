/* print.c - a Python-like dump of a Fn, for debug_print after every pass.
 *
 * The dump reads as Python where the tree still is Python, and stays
 * unambiguous everywhere: operators are parenthesised by Python's
 * precedence, a variable whose name is shared by another symbol (or that
 * the Fn does not list) is printed as name#id, and what the passes decided
 * (types of declarations, labels, the parallel plan) shows as annotations
 * and end-of-line comments. */
#include <inttypes.h>
#include <math.h>

#include "../ast.h"

typedef struct Printer {
  Buf *out;
  const Fn *fn; /* NULL when printing a lone expression */
} Printer;

/* Python's precedence levels, loosest first. */
enum {
  P_TOP,
  P_TEST, /* a if c else b */
  P_OR,
  P_AND,
  P_NOT,
  P_CMP,
  P_BOR,
  P_BXOR,
  P_BAND,
  P_SHIFT,
  P_ARITH, /* + - */
  P_TERM,  /* * / // % */
  P_UNARY, /* -x +x ~x */
  P_POW,
  P_PRIMARY, /* x[i] f(x) x.a */
  P_ATOM
};

static int binary_prec(Op op) {
  switch (op) {
  case OP_OR: return P_OR;
  case OP_AND: return P_AND;
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: return P_CMP;
  case OP_BITOR: return P_BOR;
  case OP_BITXOR: return P_BXOR;
  case OP_BITAND: return P_BAND;
  case OP_SHL:
  case OP_SHR: return P_SHIFT;
  case OP_ADD:
  case OP_SUB: return P_ARITH;
  case OP_MUL:
  case OP_DIV:
  case OP_FLOORDIV:
  case OP_MOD: return P_TERM;
  case OP_POW: return P_POW;
  default: return P_ATOM; /* max(a, b): printed as a call */
  }
}

static bool negative_literal(const Node *n) {
  if (n->kind == N_FLOAT)
    return signbit(n->val.f) && !isnan(n->val.f); /* -0.0 too */
  return n->kind == N_INT && !elem_is_unsigned(n->val.elem) && n->val.i < 0;
}

static int prec_of(const Node *n) {
  switch (n->kind) {
  case N_INT:
  case N_FLOAT: return negative_literal(n) ? P_UNARY : P_ATOM;
  case N_UNARY: return n->op == OP_NOT ? P_NOT : P_UNARY;
  case N_BINARY: return binary_prec(n->op);
  case N_IFEXP: return P_TEST;
  case N_ATTR:
  case N_SUBSCRIPT:
  case N_CALL:
  case N_FIELD: return P_PRIMARY;
  default: return P_ATOM;
  }
}

static void expr(Printer *pr, const Node *n, int prec);

static void args(Printer *pr, const Node *list) {
  for (const Node *a = list; a; a = a->next) {
    expr(pr, a, P_TEST);
    if (a->next)
      buf_puts(pr->out, ", ");
  }
}

static void quoted(Buf *out, const char *s) {
  buf_putc(out, '"');
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      buf_printf(out, "\\%c", ch);
    else if (ch == '\n')
      buf_puts(out, "\\n");
    else if (ch < 0x20 || ch == 0x7f)
      buf_printf(out, "\\x%02x", ch);
    else
      buf_putc(out, (char)ch);
  }
  buf_putc(out, '"');
}

/* The unique symbol of its name in the Fn prints plainly; others (shadowed
 * loop variables, temporaries, symbols the Fn does not list) get their id. */
static void var(Printer *pr, const Sym *s) {
  if (!s) {
    buf_puts(pr->out, "<no sym>");
    return;
  }
  const char *name = s->name ? s->name : "_";
  if (!pr->fn) { /* a lone expression, maybe for a message: keep it plain */
    buf_puts(pr->out, name);
    return;
  }
  int same = 0;
  bool listed = false;
  for (int i = 0; pr->fn->syms && i < pr->fn->nsyms; i++) {
    const Sym *t = pr->fn->syms[i];
    if (t && t->name == s->name) {
      same++;
      listed |= t == s;
    }
  }
  if (listed && same == 1)
    buf_puts(pr->out, name);
  else
    buf_printf(pr->out, "%s#%d", name, s->id);
}

/* A global reference prints as its chain when it belongs to this Fn's
 * source function (an inlined callee's node indexes another table). */
static void global(Printer *pr, const Node *n) {
  const Func *f = pr->fn ? pr->fn->src : NULL;
  if (f && n->span.src == &f->src && n->gidx >= 0 && n->gidx < f->nglobals)
    buf_puts(pr->out, f->globals[n->gidx].chain);
  else
    buf_printf(pr->out, "<global %d>", n->gidx);
}

static void type(Printer *pr, const Type *t) { type_str(t, pr->out); }

static void axis(Printer *pr, const Node *n) {
  if (n->has_axis)
    buf_printf(pr->out, "%saxis=%" PRId64, n->args ? ", " : "", n->axis);
}

static void builtin(Printer *pr, const Node *n) {
  if (n->builtin == B_CONVERT)
    buf_puts(pr->out, elem_name(n->elem));
  else
    buf_printf(pr->out, "%s%s", n->weak_result ? "math." : "", builtin_name(n->builtin));
  buf_putc(pr->out, '(');
  args(pr, n->args);
  axis(pr, n);
  buf_putc(pr->out, ')');
}

/* A normalised slice prints as the equivalent Python slice: start and stop
 * are then plain indices, and a negative stop means "to the beginning". */
static void norm_slice(Printer *pr, const Node *n) {
  int64_t stop = n->sl_start + n->sl_len * n->sl_step;
  buf_printf(pr->out, "%" PRId64 ":", n->sl_start);
  if (n->sl_len == 0)
    buf_printf(pr->out, "%" PRId64, n->sl_start);
  else if (stop >= 0)
    buf_printf(pr->out, "%" PRId64, stop);
  if (n->sl_step != 1)
    buf_printf(pr->out, ":%" PRId64, n->sl_step);
}

static void slice(Printer *pr, const Node *n) {
  if (n->newaxis) {
    buf_puts(pr->out, "None");
    return;
  }
  if (n->sl_norm) {
    norm_slice(pr, n);
    return;
  }
  if (n->lo)
    expr(pr, n->lo, P_TEST);
  buf_putc(pr->out, ':');
  if (n->hi)
    expr(pr, n->hi, P_TEST);
  if (n->step_expr) {
    buf_putc(pr->out, ':');
    expr(pr, n->step_expr, P_TEST);
  }
}

static void unary(Printer *pr, const Node *n) {
  buf_puts(pr->out, op_symbol(n->op));
  if (n->op == OP_NOT)
    buf_putc(pr->out, ' ');
  const Node *a = n->lhs;
  int p = n->op == OP_NOT ? P_NOT : P_UNARY;
  /* `-(-x)` rather than `--x`, which reads as a decrement. */
  bool signed_operand =
      a && (negative_literal(a) || (a->kind == N_UNARY && a->op != OP_NOT && a->op != OP_INVERT));
  if (p == P_UNARY && signed_operand)
    p = P_ATOM;
  expr(pr, a, p);
}

static void binary(Printer *pr, const Node *n) {
  int p = binary_prec(n->op);
  if (p == P_ATOM) { /* max, min, atan2 */
    buf_printf(pr->out, "%s(", op_symbol(n->op));
    expr(pr, n->lhs, P_TEST);
    buf_puts(pr->out, ", ");
    expr(pr, n->rhs, P_TEST);
    buf_putc(pr->out, ')');
    return;
  }
  /* Left-associative except **; comparisons do not chain. */
  int lp = p == P_POW ? P_PRIMARY : p == P_CMP ? p + 1 : p;
  int rp = p == P_POW ? P_UNARY : p + 1;
  expr(pr, n->lhs, lp);
  buf_printf(pr->out, " %s ", op_symbol(n->op));
  expr(pr, n->rhs, rp);
}

/* A literal; the node kind decides how `val` reads, whatever its elem. */
static void literal(const Node *n, Buf *out) {
  Value v = n->val;
  if (n->kind == N_BOOL)
    v.elem = EL_BOOL;
  else if (n->kind == N_INT && !elem_is_int(v.elem))
    v.elem = EL_I64;
  else if (n->kind == N_FLOAT && !elem_is_float(v.elem))
    v.elem = EL_F64;
  value_str(v, out);
}

static void expr_body(Printer *pr, const Node *n) {
  Buf *out = pr->out;
  switch (n->kind) {
  case N_INT:
  case N_FLOAT:
  case N_BOOL: literal(n, out); break;
  case N_STR: quoted(out, n->str); break;
  case N_NAME: buf_puts(out, n->name ? n->name : "?"); break;
  case N_GLOBAL: global(pr, n); break;
  case N_ATTR:
    expr(pr, n->lhs, P_PRIMARY);
    buf_printf(out, ".%s", n->name ? n->name : "?");
    break;
  case N_VAR: var(pr, n->sym); break;
  case N_UNARY: unary(pr, n); break;
  case N_BINARY: binary(pr, n); break;
  case N_IFEXP:
    expr(pr, n->then, P_OR);
    buf_puts(out, " if ");
    expr(pr, n->cond, P_OR);
    buf_puts(out, " else ");
    expr(pr, n->els, P_TEST);
    break;
  case N_SUBSCRIPT:
    expr(pr, n->lhs, P_PRIMARY);
    buf_putc(out, '[');
    if (n->args)
      args(pr, n->args);
    else
      buf_puts(out, "()"); /* x[()]: the empty index of a 0-d array */
    buf_putc(out, ']');
    break;
  case N_SLICE: slice(pr, n); break;
  case N_TUPLE:
    buf_putc(out, '(');
    args(pr, n->args);
    buf_puts(out, n->args && !n->args->next ? ",)" : ")");
    break;
  case N_CALL:
    expr(pr, n->lhs, P_PRIMARY);
    buf_putc(out, '(');
    args(pr, n->args);
    axis(pr, n);
    buf_putc(out, ')');
    break;
  case N_BUILTIN: builtin(pr, n); break;
  case N_CONVERT:
    if (n->ty && n->ty->kind == TY_SCALAR && !n->ty->weak)
      buf_puts(out, elem_name(n->ty->elem));
    else
      type(pr, n->ty);
    buf_putc(out, '(');
    expr(pr, n->lhs, P_TEST);
    buf_putc(out, ')');
    break;
  case N_FIELD:
    expr(pr, n->lhs, P_PRIMARY);
    buf_putc(out, '[');
    quoted(out, n->str);
    buf_putc(out, ']');
    break;
  case N_FUNCALL:
  case N_EXTCALL:
  case N_INLINE:
    buf_puts(out, n->kind == N_FUNCALL   ? (n->fn && n->fn->name ? n->fn->name : "?")
                  : n->kind == N_EXTCALL ? (n->ext && n->ext->name ? n->ext->name : "?")
                                         : (n->func && n->func->name ? n->func->name : "?"));
    buf_putc(out, '(');
    args(pr, n->args);
    buf_putc(out, ')');
    break;
  default: buf_printf(out, "<node %d>", (int)n->kind); break;
  }
}

static void expr(Printer *pr, const Node *n, int prec) {
  while (n && n->kind == N_CHECK && n->lhs) /* a run-time check: the value it checks */
    n = n->lhs;
  if (!n) {
    buf_puts(pr->out, "<null>");
    return;
  }
  bool paren = prec_of(n) < prec;
  if (paren)
    buf_putc(pr->out, '(');
  expr_body(pr, n);
  if (paren)
    buf_putc(pr->out, ')');
}

/* ---- statements ---- */
static void stmts(Printer *pr, const Node *list, int depth);

static void indent(Printer *pr, int depth) { buf_indent(pr->out, 2 * depth); /* 4 spaces */ }

/* End-of-line notes: "  # label N, threads(1024), reduce(+) into y". */
static void note(Printer *pr, bool *first, const char *fmt, ...) PP_PRINTF(3, 4);
static void note(Printer *pr, bool *first, const char *fmt, ...) {
  buf_puts(pr->out, *first ? "  # " : ", ");
  *first = false;
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(pr->out, fmt, ap);
  va_end(ap);
}

static void labels(Printer *pr, const Node *n, bool *first) {
  for (int i = 0; i < n->labels.n; i++)
    note(pr, first, "label %s", n->labels.names[i] ? n->labels.names[i] : "?");
}

static void loop_notes(Printer *pr, const Node *n) {
  bool first = true;
  labels(pr, n, &first);
  if (n->par.nthreads > 0)
    note(pr, &first, "threads(%" PRId64 ")", n->par.nthreads);
  if (n->par.tpb != PP_DEFAULT_TPB && n->par.tpb > 0)
    note(pr, &first, "tpb(%" PRId64 ")", n->par.tpb);
  if (n->par.reduce || n->red_op != OP_NONE) {
    note(pr, &first, "reduce");
    if (n->red_op != OP_NONE)
      buf_printf(pr->out, "(%s)", op_symbol(n->red_op));
    if (n->red_target) {
      buf_puts(pr->out, " into ");
      expr(pr, n->red_target, P_TOP);
    }
  }
  if (n->par_outer)
    note(pr, &first, "outermost");
  if (n->all_threads)
    note(pr, &first, "all threads call %s", n->ext && n->ext->name ? n->ext->name : "?");
}

static void for_stmt(Printer *pr, const Node *n, int depth) {
  Buf *out = pr->out;
  indent(pr, depth);
  buf_puts(out, "for ");
  if (n->sym)
    var(pr, n->sym);
  else
    buf_puts(out, n->name ? n->name : "?");
  buf_puts(out, " in ");
  if (n->lo || n->hi) {
    buf_puts(out, "range(");
    expr(pr, n->lo, P_TEST);
    buf_puts(out, ", ");
    expr(pr, n->hi, P_TEST);
    if (n->step_expr) {
      buf_puts(out, ", ");
      expr(pr, n->step_expr, P_TEST);
    } else if (n->step != 1 && n->step != 0) {
      buf_printf(out, ", %" PRId64, n->step);
    }
    buf_putc(out, ')');
  } else {
    expr(pr, n->rhs, P_TOP);
  }
  buf_putc(out, ':');
  loop_notes(pr, n);
  buf_putc(out, '\n');
  stmts(pr, n->body, depth + 1);
}

static void if_stmt(Printer *pr, const Node *n, int depth, const char *kw) {
  indent(pr, depth);
  buf_printf(pr->out, "%s ", kw);
  expr(pr, n->cond, P_TOP);
  buf_puts(pr->out, ":\n");
  stmts(pr, n->then, depth + 1);
  const Node *e = n->els;
  if (!e)
    return;
  if (e->kind == N_IF && !e->next) {
    if_stmt(pr, e, depth, "elif");
    return;
  }
  indent(pr, depth);
  buf_puts(pr->out, "else:\n");
  stmts(pr, e, depth + 1);
}

/* `x: float32 = e` for a declaration, `lhs = e` otherwise. */
static void assign(Printer *pr, const Node *n) {
  expr(pr, n->lhs, P_TOP);
  const Type *t = n->lhs && n->lhs->kind == N_VAR && n->lhs->sym ? n->lhs->sym->ty
                  : n->lhs                                       ? n->lhs->ty
                                                                 : NULL;
  if (n->is_decl && t) {
    buf_puts(pr->out, ": ");
    type(pr, t);
  }
  buf_puts(pr->out, " = ");
  expr(pr, n->rhs, P_TOP);
  bool first = true;
  labels(pr, n, &first);
}

/* A compound statement: header, then its body one level deeper. */
static void block(Printer *pr, const char *kw, const Node *head, const Node *body, int depth) {
  indent(pr, depth);
  buf_puts(pr->out, kw);
  if (head) {
    buf_putc(pr->out, ' ');
    expr(pr, head, P_TOP);
  }
  buf_puts(pr->out, ":\n");
  stmts(pr, body, depth + 1);
}

static void stmt(Printer *pr, const Node *n, int depth) {
  Buf *out = pr->out;
  switch (n->kind) {
  case N_FOR: for_stmt(pr, n, depth); return;
  case N_IF: if_stmt(pr, n, depth, "if"); return;
  case N_WHILE: block(pr, "while", n->cond, n->body, depth); return;
  case N_WITH: block(pr, "with", n->lhs, n->body, depth); return;
  case N_GPU: block(pr, "with parpy.gpu", NULL, n->body, depth); return;
  case N_BLOCK: block(pr, "block", NULL, n->body, depth); return;
  case N_PRINT:
    indent(pr, depth);
    buf_puts(pr->out, "print(");
    for (const Node *a = n->args; a; a = a->next) {
      if (a != n->args)
        buf_puts(pr->out, ", ");
      expr(pr, a, P_TEST);
    }
    buf_puts(pr->out, ")\n");
    return;
  default: break;
  }
  indent(pr, depth);
  switch (n->kind) {
  case N_ASSIGN: assign(pr, n); break;
  case N_EXPR: expr(pr, n->lhs, P_TOP); break;
  case N_RETURN:
    buf_puts(out, "return ");
    expr(pr, n->lhs, P_TOP);
    break;
  case N_DECL:
    var(pr, n->sym);
    buf_puts(out, ": ");
    type(pr, n->sym ? n->sym->ty : NULL);
    break;
  case N_INLINE:
    expr(pr, n, P_TOP);
    buf_puts(out, "  # inline");
    break;
  case N_CHECK: buf_printf(out, "# debug: mark every element of %s unwritten", n->sym->cname); break;
  default: expr(pr, n, P_TOP); break; /* an expression where a statement should be */
  }
  buf_putc(out, '\n');
}

static void stmts(Printer *pr, const Node *list, int depth) {
  if (!list) {
    indent(pr, depth);
    buf_puts(pr->out, "pass\n");
  }
  for (const Node *n = list; n; n = n->next)
    stmt(pr, n, depth);
}

void print_fn(const Fn *f, Buf *out) {
  Printer pr = {out, f};
  buf_printf(out, "def %s(", f->name ? f->name : "?");
  for (int i = 0; i < f->nparams; i++) {
    const Sym *s = f->params ? f->params[i] : NULL;
    if (i)
      buf_puts(out, ", ");
    var(&pr, s);
    if (s && s->ty) {
      buf_puts(out, ": ");
      type(&pr, s->ty);
    }
  }
  buf_putc(out, ')');
  if (f->ret && f->ret->kind != TY_VOID) {
    buf_puts(out, " -> ");
    type(&pr, f->ret);
  }
  buf_puts(out, ":\n");
  stmts(&pr, f->body, 1);
}

void print_expr(const Node *n, Buf *out) {
  Printer pr = {out, NULL};
  expr(&pr, n, P_TOP);
}
