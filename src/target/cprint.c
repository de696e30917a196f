/* cprint.c - printing the compiler's trees as C-family source.  The code is
 * meant to be read: names come from the Python source (cnames.c),
 * expressions print as C would write them (cexpr.c), statements too
 * (cstmt.c).  This file has what the file of a whole program needs: the
 * calling convention's strings, the headers of externals, which types and
 * features the program uses, and the functions' parameters. */
#include <string.h>

#include "cprint.h"
#include "../gpu/gpu.h"

/* ---- the calling convention's strings ---- */

/* The parameter (and dict key) an assignment target writes into. */
typedef struct WriteCtx {
  Prog *p;
  bool *written;
  int *base;
} WriteCtx;

static void mark_written(Prog *p, const Node *n, bool *written, int base_slot_of[]);

static bool mark_one(const Node *n, void *ctx) {
  WriteCtx *w = ctx;
  mark_written(w->p, n, w->written, w->base);
  return true;
}

static void mark_written(Prog *p, const Node *n, bool *written, int base_slot_of[]) {
  if (is_array_ref(n)) { /* a write through it may reach any of its bindings */
    WriteCtx w = {p, written, base_slot_of};
    each_array_of(n, mark_one, &w);
    return;
  }
  while (n && n->kind == N_SUBSCRIPT)
    n = n->lhs;
  if (!n)
    return;
  const Fn *m = p->main;
  if (n->kind == N_VAR && n->sym->kind == SYM_PARAM && n->sym->param < m->nparams)
    written[base_slot_of[n->sym->param]] = true;
  if (n->kind == N_FIELD && n->lhs->kind == N_VAR && n->lhs->sym->kind == SYM_PARAM) {
    const ArgSpec *a = n->lhs->sym->arg;
    int slot = base_slot_of[n->lhs->sym->param];
    for (int k = 0; k < a->nfields; k++)
      if (intern(a->keys[k]) == n->str)
        written[slot + k] = true;
  }
}

/* A callee may write through a pointer parameter: an array passed to one
 * counts as written (so that a GPU runtime copies it back), unless it is
 * read-only (then writing to it is the callee's bug, not ours to copy). */
static void find_pointer_args(Prog *p, const Node *n, bool *written, int *base) {
  if (!n)
    return;
  if (n->kind == N_FUNCALL || n->kind == N_EXTCALL)
    for (const Node *a = n->args; a; a = a->next)
      if (a->ty && a->ty->kind == TY_ARRAY)
        mark_written(p, a, written, base);
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->lo, n->hi};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    find_pointer_args(p, kids[i], written, base);
  for (const Node *a = n->args; a; a = a->next)
    find_pointer_args(p, a, written, base);
}

static void find_writes(Prog *p, const Node *list, bool *written, int *base) {
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind != N_VAR)
      mark_written(p, s->lhs, written, base);
    find_pointer_args(p, s->lhs, written, base);
    find_pointer_args(p, s->rhs, written, base);
    find_pointer_args(p, s->cond, written, base);
    find_pointer_args(p, s->lo, written, base);
    find_pointer_args(p, s->hi, written, base);
    find_writes(p, s->body, written, base);
    find_writes(p, s->then, written, base);
    find_writes(p, s->els, written, base);
  }
}

void c_access(Prog *p, Buf *out) {
  int n = sig_nslots(p->args, p->nargs);
  bool *written = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  bool *array = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  bool *readonly = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  int *base = ARENA_ARRAY(&p->arena, int, p->nargs > 0 ? p->nargs : 1);
  int slot = 0;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    base[i] = slot;
    if (a->kind == ARG_DICT) {
      for (int k = 0; k < a->nfields; k++, slot++) {
        array[slot] = a->fields[k].kind == ARG_ARRAY;
        readonly[slot] = array[slot] && a->fields[k].readonly;
      }
    } else {
      array[slot] = a->kind == ARG_ARRAY;
      readonly[slot++] = a->kind == ARG_ARRAY && a->readonly;
    }
  }
  find_writes(p, p->main->body, written, base);
  /* A histogram kept in shared memory (privatise.c) reaches its array only
   * in the merge the printer adds at the kernel's end: not in the tree. */
  for (const Kernel *k = p->kernels; k; k = k->next)
    for (int i = 0; i < k->nprivate; i++) {
      const Sym *g = k->privates[i].global;
      if (g->kind == SYM_PARAM && g->param < p->main->nparams)
        written[base[g->param]] = true;
    }
  /* Stores into read-only arrays were refused by the types pass; what is
   * left came from pointer arguments, which must not be copied back. */
  for (int i = 0; i < n; i++)
    buf_putc(out, !array[i] ? '-' : written[i] && !readonly[i] ? 'w' : 'r');
}

void c_signature(Prog *p, Buf *out) {
  Fn *m = p->main;
  const char **names = ARENA_ARRAY(&p->arena, const char *, m->nparams > 0 ? m->nparams : 1);
  for (int i = 0; i < m->nparams; i++)
    names[i] = p->func->params[i].name;
  Buf sig;
  buf_init(&sig);
  sig_format(names, p->args, p->nargs, &sig);
  for (const char *q = buf_cstr(&sig); *q; q++) {
    if (*q == '"' || *q == '\\')
      buf_putc(out, '\\');
    buf_putc(out, *q);
  }
  buf_free(&sig);
}

/* ---- headers of externals ---- */

void c_ext_headers(const Prog *p, Buf *out) {
  bool any = false;
  for (int i = 0; i < p->nexts; i++) {
    const char *h = p->exts[i]->header;
    bool seen = !h;
    for (int j = 0; j < i && !seen; j++)
      seen = p->exts[j]->header && strcmp(p->exts[j]->header, h) == 0;
    if (seen)
      continue;
    if (h[0] == '<')
      buf_printf(out, "#include %s\n", h);
    else
      buf_printf(out, "#include \"%s\"\n", h);
    any = true;
  }
  if (any)
    buf_puts(out, "\n");
}

/* ---- which element types the program uses ---- */

static bool node_uses(const Node *n, Elem e) {
  if (!n)
    return false;
  if (n->ty && (n->ty->kind == TY_SCALAR || n->ty->kind == TY_ARRAY) && n->ty->elem == e)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->partial_at};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (node_uses(kids[i], e))
      return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *a = lists[i]; a; a = a->next)
      if (node_uses(a, e))
        return true;
  return false;
}

static bool fn_uses(const Fn *f, Elem e) {
  for (int i = 0; i < f->nsyms; i++) {
    const Type *t = f->syms[i]->ty;
    if (t && t->kind != TY_DICT && t->elem == e)
      return true;
  }
  for (const Node *s = f->body; s; s = s->next)
    if (node_uses(s, e))
      return true;
  return f->ret && f->ret->kind == TY_SCALAR && f->ret->elem == e;
}

static bool list_prints(const Node *list) {
  for (const Node *s = list; s; s = s->next)
    if (s->kind == N_PRINT || list_prints(s->body) || list_prints(s->then) ||
        list_prints(s->els))
      return true;
  return false;
}

bool c_uses_print(const Prog *p) {
  for (const Fn *h = p->helpers; h; h = h->next)
    if (list_prints(h->body))
      return true;
  return list_prints(p->main->body);
}

bool c_uses_elem(const Prog *p, Elem e) {
  for (const Fn *h = p->helpers; h; h = h->next)
    if (fn_uses(h, e))
      return true;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    if ((a->kind == ARG_ARRAY || a->kind == ARG_SCALAR) && a->elem == e)
      return true;
    for (int k = 0; a->kind == ARG_DICT && k < a->nfields; k++)
      if (a->fields[k].kind != ARG_DICT && a->fields[k].elem == e)
        return true;
  }
  return fn_uses(p->main, e);
}

/* ---- functions ---- */

/* A helper function, after `prefix` ("static inline ", ...). */
void c_helper(CPrinter *c, Fn *h, const char *prefix) {
  c->fn = h;
  Buf *o = c->out;
  buf_puts(o, prefix);
  c_type(c, h->ret);
  buf_printf(o, " %s(", h->name);
  for (int i = 0; i < h->nparams; i++) {
    Sym *s = h->params[i];
    if (i)
      buf_puts(o, ", ");
    c_type(c, s->ty);
    buf_printf(o, "%s%s", s->ty && s->ty->kind == TY_POINTER ? "" : " ", s->cname);
  }
  buf_puts(o, h->nparams ? ") {\n" : "void) {\n");
  c_block(c, h->body);
  buf_puts(o, "}\n\n");
}

int c_main_arrays(CPrinter *c, Fn *m, CEachArray each) {
  int slot = 0, n = 0;
  for (int i = 0; i < m->nparams; i++) {
    Sym *s = m->params[i];
    const ArgSpec *a = s->arg;
    bool dict = a->kind == ARG_DICT;
    int nslots = dict ? a->nfields : 1;
    for (int k = 0; k < nslots; k++, slot++) {
      const ArgSpec *f = dict ? &a->fields[k] : a;
      if (f->kind != ARG_ARRAY)
        continue;
      if (each)
        each(c, f->elem, dict ? c_field_name(c->p, s, a->keys[k]) : s->cname, slot, n);
      n++;
    }
  }
  return n;
}

static void param(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)slot;
  buf_printf(c->out, "%s%s *%s", nth ? ", " : "", c->d->type_name(e), name);
}

static void from_slot(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)name;
  buf_printf(c->out, "%s(%s *)args[%d]", nth ? ", " : "", c->d->type_name(e), slot);
}

static bool has_runtime(const Fn *m) {
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i]->arg && m->params[i]->arg->runtime)
      return true;
  return false;
}

/* "float *x, float *y" (or "void"): the array parameters of main, then the
 * entry's slots where scalars are taken at run time (c_const_params). */
void c_main_params(CPrinter *c, Fn *m) {
  int n = c_main_arrays(c, m, param);
  if (has_runtime(m))
    buf_puts(c->out, n ? ", void **parpy_slots" : "void **parpy_slots");
  else if (n == 0)
    buf_puts(c->out, "void");
}

/* "(float *)args[0], (float *)args[1]": main's arrays in the entry. */
void c_args_from_slots(CPrinter *c, Fn *m) {
  int n = c_main_arrays(c, m, from_slot);
  if (has_runtime(m))
    buf_puts(c->out, n ? ", args" : "args");
}
