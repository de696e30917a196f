/* cchecks.c - printing the run-time checks of the debug mode (passes/checks.c)
 * as C or CUDA C++, with parpy_debug.h.  Nothing here runs without
 * opts.debug, so the unchecked code is printed exactly as before.
 *
 * The code gets the table of check sites (what, the array's shape, the
 * Python file, line and source line), one parpy_dbg_at<r> function per rank
 * of the checked subscripts (the row-major offset when every index is in
 * its dimension, else 0 after recording the failure), and the checks: a
 * checked subscript indexes with parpy_dbg_at<r>(site, i, n, stride, ...),
 * a divisor goes through parpy_dbg_nz_<t>, a float converted to an integer
 * through parpy_dbg_fits_<t>, a store through an index array is preceded by
 * parpy_dbg_mark on its shadow array. */
#include <inttypes.h>

#include "cprint.h"

/* ---- the table ---- */

static const char *kind_name(CheckKind k) {
  switch (k) {
  case CHECK_INDEX: return "PARPY_DBG_INDEX";
  case CHECK_RACE: return "PARPY_DBG_RACE";
  case CHECK_ZERO: return "PARPY_DBG_ZERO";
  case CHECK_RANGE: return "PARPY_DBG_RANGE";
  }
  return "0";
}

static void str_or_null(CPrinter *c, const char *s) {
  if (!s) {
    buf_puts(c->out, "NULL");
    return;
  }
  buf_puts(c->out, "\"");
  c_string_contents(c, s, false);
  buf_puts(c->out, "\"");
}

static void print_site(CPrinter *c, const CheckSite *s, int i) {
  Buf *o = c->out;
  const Span *sp = &s->span;
  const Source *src = sp->src;
  buf_printf(o, "  /* %d */ {%s, ", i, kind_name(s->kind));
  str_or_null(c, s->what);
  buf_puts(o, ", ");
  str_or_null(c, s->array);
  buf_printf(o, ", %d, ", s->write ? 1 : 0);
  int rank = s->ty ? s->ty->rank : 0;
  buf_printf(o, "%d, {", rank);
  for (int d = 0; d < rank && d < 8; d++)
    buf_printf(o, "%s%" PRId64, d ? ", " : "", s->ty->shape[d]);
  buf_puts(o, "}, ");
  str_or_null(c, s->kind == CHECK_RACE    ? s->iter->name
                 : s->kind == CHECK_RANGE ? elem_name(s->elem)
                                          : NULL);
  buf_puts(o, ",\n         ");
  str_or_null(c, src ? src->file : NULL);
  buf_puts(o, ", ");
  str_or_null(c, src ? src->func : NULL);
  size_t len = 0;
  const char *line = src ? diag_line(src->text, sp->line, &len) : NULL;
  int end = sp->end_line > sp->line ? (int)len : sp->end_col;
  buf_printf(o, ", %d, %d, %d, ", sp->line, sp->col, end);
  if (line)
    str_or_null(c, arena_strndup(&c->p->arena, line, len));
  else
    buf_puts(o, "NULL");
  buf_puts(o, "},\n");
}

static bool rank_used(const Prog *p, int r) {
  for (int i = 0; i < p->nchecks; i++)
    if (p->checks[i].kind == CHECK_INDEX && p->checks[i].nidx == r)
      return true;
  return false;
}

/* parpy_dbg_at<r>: the offset of r checked indices. */
static void print_at(CPrinter *c, int r) {
  Buf *o = c->out;
  buf_printf(o, "PARPY_DBG_FN int64_t parpy_dbg_at%d(int32_t site", r);
  for (int d = 0; d < r; d++)
    buf_printf(o, ", int64_t i%d, int64_t n%d, int64_t s%d", d, d, d);
  buf_puts(o, ") {\n  if (PARPY_DBG_LIKELY(");
  for (int d = 0; d < r; d++)
    buf_printf(o, "%s(uint64_t)i%d < (uint64_t)n%d", d ? " && " : "", d, d);
  buf_puts(o, "))\n    return ");
  for (int d = 0; d < r; d++)
    buf_printf(o, "%si%d * s%d", d ? " + " : "", d, d);
  buf_puts(o, ";\n  const int64_t idx[] = {");
  for (int d = 0; d < r; d++)
    buf_printf(o, "%si%d", d ? ", " : "", d);
  buf_puts(o, "}, dims[] = {");
  for (int d = 0; d < r; d++)
    buf_printf(o, "%sn%d", d ? ", " : "", d);
  buf_printf(o, "};\n  return parpy_dbg_index_fail(site, %d, idx, dims);\n}\n", r);
}

void c_check_prelude(CPrinter *c) {
  Prog *p = c->p;
  Buf *o = c->out;
  buf_puts(o, "/* Debug mode: the checks of this code, by number. */\n");
  buf_puts(o, "static const parpy_dbg_site parpy_dbg_sites[] = {\n");
  for (int i = 0; i < p->nchecks; i++)
    print_site(c, &p->checks[i], i);
  if (p->nchecks == 0)
    buf_puts(o, "  {0, NULL, NULL, 0, 0, {0}, NULL, NULL, NULL, 0, 0, 0, NULL},\n");
  buf_printf(o, "};\nstatic const int32_t parpy_dbg_nsites = %d;\n\n", p->nchecks);
  for (int r = 1; r <= 64; r++)
    if (rank_used(p, r)) {
      print_at(c, r);
      buf_puts(o, "\n");
    }
}

/* ---- the checks ---- */

void c_checked_offset(CPrinter *c, const Node *n) {
  Buf *o = c->out;
  const Type *bt = n->lhs->ty;
  int r = 0;
  int64_t slices = 0;
  int k = 0;
  for (const Node *i = n->args; i; i = i->next, k++) {
    int64_t stride = 1;
    for (int j = k + 1; j < bt->rank; j++)
      stride *= bt->shape[j];
    if (i->kind == N_SLICE)
      slices += i->sl_start * stride;
    else
      r++;
  }
  buf_printf(o, "parpy_dbg_at%d(%d", r, n->check - 1);
  k = 0;
  for (const Node *i = n->args; i; i = i->next, k++) {
    if (i->kind == N_SLICE)
      continue;
    int64_t stride = 1;
    for (int j = k + 1; j < bt->rank; j++)
      stride *= bt->shape[j];
    buf_puts(o, ", ");
    c_expr(c, i);
    buf_printf(o, ", %" PRId64 ", %" PRId64, bt->shape[k], stride);
  }
  buf_puts(o, ")");
  if (slices)
    buf_printf(o, " + %" PRId64, slices);
}

void c_check_expr(CPrinter *c, const Node *n) {
  const CheckSite *s = &c->p->checks[n->check - 1];
  Elem from = n->lhs->ty ? n->lhs->ty->elem : EL_F64;
  if (s->kind == CHECK_ZERO) {
    buf_printf(c->out, "parpy_dbg_nz_%s(", elem_short(from));
    c_expr(c, n->lhs);
  } else {
    buf_printf(c->out, "parpy_dbg_fits_%s(%s", elem_short(s->elem), from == EL_F16 ? "(float)" : "");
    if (from == EL_F16)
      buf_puts(c->out, "(");
    c_expr(c, n->lhs);
    if (from == EL_F16)
      buf_puts(c->out, ")");
  }
  buf_printf(c->out, ", %d)", n->check - 1);
}

void c_race_mark(CPrinter *c, const Node *s) {
  const CheckSite *site = &c->p->checks[s->check - 1];
  c_line_start(c);
  buf_printf(c->out, "parpy_dbg_mark(%s, ", site->shadow->cname);
  c_offset(c, s->lhs);
  buf_printf(c->out, ", %s, %d);\n", site->iter->cname, s->check - 1);
}

static int64_t shadow_bytes(const Sym *sh) {
  int64_t n = type_numel(sh->ty);
  return 8 * (n > 0 ? n : 1);
}

void c_check_reset(CPrinter *c, const Node *s) {
  c_line_start(c);
  if (c->p->opt.backend == BACKEND_CUDA)
    buf_printf(c->out,
               "PARPY_CHECK(cudaMemsetAsync(%s_h, 0x80, %" PRId64 ", stream), "
               "\"resetting a shadow array of the debug mode\");\n",
               s->sym->cname, shadow_bytes(s->sym));
  else
    buf_printf(c->out, "__builtin_memset(%s, 0x80, %" PRId64 "); /* debug: no element written yet */\n",
               s->sym->cname, shadow_bytes(s->sym));
}

/* ---- around the call (Cpu) ---- */

void c_check_shadows_decl(CPrinter *c) {
  Prog *p = c->p;
  for (int i = 0; i < p->nshadows; i++) {
    if (p->opt.backend == BACKEND_CUDA)
      buf_printf(c->out, "__device__ int64_t *%s;\nstatic int64_t *%s_h;\n",
                 p->shadows[i]->cname, p->shadows[i]->cname);
    else
      buf_printf(c->out, "static int64_t *%s;\n", p->shadows[i]->cname);
  }
  if (p->nshadows)
    buf_puts(c->out, "\n");
}

static bool empty_array(const ArgSpec *a) {
  if (a->kind != ARG_ARRAY)
    return false;
  for (int d = 0; d < a->rank; d++)
    if (a->shape[d] == 0)
      return true;
  return false;
}

/* A failing access goes to element 0 of its array, which an array of no
 * elements does not have: such arguments point to a scratch area instead
 * (the slots of target.h: one per argument, one per field of a dict). */
static void empty_arrays_to_scratch(CPrinter *c) {
  Prog *p = c->p;
  int slot = 0, n = sig_nslots(p->args, p->nargs);
  bool any = false;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    int nf = a->kind == ARG_DICT ? a->nfields : 1;
    for (int j = 0; j < nf; j++, slot++) {
      if (!empty_array(a->kind == ARG_DICT ? &a->fields[j] : a))
        continue;
      if (!any)
        buf_printf(c->out, "  static int64_t parpy_dbg_scratch[8];\n"
                           "  void *parpy_dbg_slots[%d];\n"
                           "  __builtin_memcpy(parpy_dbg_slots, args, sizeof parpy_dbg_slots);\n"
                           "  args = parpy_dbg_slots; /* arrays of no elements: */\n",
                   n);
      any = true;
      buf_printf(c->out, "  args[%d] = parpy_dbg_scratch;\n", slot);
    }
  }
}

/* Cpu: the entry with the checks' lock, and the error functions.  `call`
 * is the entry's call of main into rc (with its temporaries, cpu.c);
 * `oom`, when not NULL, what a failure that no check recorded means. */
void c_check_entry_cpu(CPrinter *c, const char *call, const char *oom) {
  Prog *p = c->p;
  Buf *o = c->out;
  const char *f = p->func->name;
  buf_printf(o, "int32_t %s__entry(void **args) {\n  parpy_dbg_begin();\n", f);
  empty_arrays_to_scratch(c);
  for (int i = 0; i < p->nshadows; i++) {
    const char *n = p->shadows[i]->cname;
    buf_printf(o, "  if (!%s && !(%s = (int64_t *)__builtin_malloc(%" PRId64 ")))\n"
                  "    return parpy_dbg_end(1, &parpy_dbg_host);\n",
               n, n, shadow_bytes(p->shadows[i]));
  }
  buf_printf(o, "%s  return parpy_dbg_end(rc, &parpy_dbg_host);\n}\n", call);
  if (oom)
    oom = arena_printf(&p->arena, "%s (or for the shadow arrays of the debug mode)", oom);
  else
    oom = "out of memory for the shadow arrays of the debug mode";
  buf_printf(o, "const char *%s__error(void) {\n"
                "  return parpy_dbg_message(parpy_dbg_sites, parpy_dbg_nsites,\n"
                "                           \"%s\");\n"
                "}\n", f, oom);
  buf_printf(o, "int32_t %s__error_at(const char **file, const char **func, int32_t *pos,\n"
                "                  const char **source) {\n"
                "  return parpy_dbg_where(parpy_dbg_sites, parpy_dbg_nsites, file, func, pos, source);\n"
                "}\n", f);
}
