/* host.c - the host side of the Metal target: plain C++ calling the runtime
 * API of parpy_metal.h, the same on macOS and in the simulator.
 *
 *   <f>_launch(buffers, temporaries)   the host code of the function: its
 *                                      sequential loops, kernel launches
 *   <f>_run(buffers)                   allocates the temporaries around it
 *   <f>(arrays)                        the entry: a buffer per array (the
 *                                      memory in place where the runtime
 *                                      can, else a copy), runs, waits,
 *                                      copies back the written copies
 *
 * Every runtime call is checked; a failure returns 1 and leaves the
 * runtime's message (naming the kernel) for <f>__error(). */
#include <inttypes.h>

#include "metal.h"

#ifndef PARPY_VERSION
#define PARPY_VERSION "dev"
#endif

static void launch(CPrinter *c, const Node *f) {
  const Kernel *k = f->kernel;
  Buf *o = c->out;
  c_line_start(c);
  buf_puts(o, "{");
  c_loop_comment(c, f);
  buf_puts(o, "\n");
  c->depth++;
  c_line_start(c);
  buf_printf(o, "const parpy_metal_arg parpy_args[%d] = {", k->nparams > 0 ? k->nparams : 1);
  for (int i = 0; i < k->nparams; i++) {
    const Node *n = k->params[i];
    buf_puts(o, i ? ", " : "");
    bool array = n->kind == N_FIELD || n->sym->ty->kind == TY_ARRAY ||
                 n->sym->ty->kind == TY_POINTER;
    buf_puts(o, array ? "parpy_metal_buffer_arg(" : "parpy_metal_bytes_arg(&");
    c_expr(c, n);
    if (!array) {
      buf_puts(o, ", sizeof ");
      c_expr(c, n);
    }
    buf_puts(o, ")");
  }
  if (k->nparams == 0)
    buf_puts(o, "parpy_metal_bytes_arg(NULL, 0)");
  buf_puts(o, "};\n");
  c_line_start(c);
  buf_printf(o,
             "PARPY_METAL_CHECK(parpy_metal_launch(&parpy_library, PARPY_METAL_KERNEL(%s), "
             "parpy_args, %d, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", 1, 1));\n",
             k->name, k->nparams, k->grid[0], k->grid[1], k->grid[2], k->tpb);
  c->depth--;
  c_line_start(c);
  buf_puts(o, "}\n");
}

static void host_for(CPrinter *c, const Node *f) {
  if (f->kernel)
    launch(c, f);
  else
    c_for_loop(c, f);
}

/* An array of the host code is a buffer (the host never reads elements). */
static void buffer_pointer(CPrinter *c, Elem e) {
  (void)e;
  buf_puts(c->out, "parpy_metal_buffer *");
}

static const CDialect host_dialect = {
    .type_name = c_type_name, .for_loop = host_for, .pointer_type = buffer_pointer};

/* ---- the functions ---- */

static void buffer_param(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)e, (void)slot, (void)nth;
  buf_printf(c->out, ", parpy_metal_buffer *%s", name);
}

static void buffer_name(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)e, (void)slot, (void)nth;
  buf_printf(c->out, ", %s", name);
}

/* The parameters (decl) or arguments of <f>_launch, after a first one. */
static void buffers(CPrinter *c, bool decl, bool temps) {
  Prog *p = c->p;
  c_main_arrays(c, p->main, decl ? buffer_param : buffer_name);
  for (int i = 0; temps && i < p->ntemps; i++)
    (decl ? buffer_param : buffer_name)(c, EL_BOOL, p->temps[i]->cname, -1, -1);
}

/* "(parpy_metal_buffer *x, ...)" (the buffers of the arrays, then of the
 * temporaries if `temps`), or "(void)". */
static void launch_params(CPrinter *c, bool temps) {
  Buf list;
  buf_init(&list);
  Buf *save = c->out;
  c->out = &list;
  buffers(c, true, temps);
  c->out = save;
  buf_printf(c->out, "(%s)", list.len > 2 ? buf_cstr(&list) + 2 : "void");
  buf_free(&list);
}

/* "x, y" or "": the names of the buffers. */
static void launch_args(CPrinter *c, bool temps) {
  Buf list;
  buf_init(&list);
  Buf *save = c->out;
  c->out = &list;
  buffers(c, false, temps);
  c->out = save;
  buf_puts(c->out, list.len > 2 ? buf_cstr(&list) + 2 : "");
  buf_free(&list);
}

static void print_launch_fn(CPrinter *c, Fn *m, bool temps) {
  Buf *o = c->out;
  buf_printf(o, "static int32_t %s_%s", m->name, temps ? "launch" : "run");
  launch_params(c, temps);
  buf_puts(o, " {\n");
  c->depth = 1;
  c_const_params(c, m->body);
  c->depth = 0;
  c_block(c, m->body);
  buf_puts(o, "  return 0;\n}\n\n");
}

static void print_run_fn(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  buf_printf(o, "static int32_t %s_run", m->name);
  launch_params(c, false);
  buf_puts(o, " {\n  int32_t status = 0;\n");
  for (int i = 0; i < p->ntemps; i++) {
    Sym *t = p->temps[i];
    int64_t bytes = type_numel(t->ty) * elem_size(t->ty->elem);
    buf_printf(o, "  parpy_metal_buffer *%s = NULL; /* %s: %" PRId64 " bytes */\n", t->cname,
               t->name, bytes);
    buf_printf(o, "  if (status == 0)\n    status = parpy_metal_alloc(&%s, %" PRId64 ");\n",
               t->cname, bytes);
  }
  buf_printf(o, "  if (status == 0)\n    status = %s_launch(", m->name);
  launch_args(c, true);
  buf_puts(o, ");\n");
  for (int i = 0; i < p->ntemps; i++)
    buf_printf(o, "  parpy_metal_free(%s);\n", p->temps[i]->cname);
  buf_puts(o, "  return status;\n}\n\n");
}

/* What the entry needs of each array: its size and whether it is written. */
typedef struct EntryInfo {
  const char *access; /* c_access: per slot 'w', 'r' or '-' */
  int64_t *bytes;     /* per slot */
  bool copy_out;      /* print the copies back rather than in */
} EntryInfo;

static void copy_array(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  EntryInfo *info = c->ctx;
  (void)e;
  if (!info->copy_out)
    buf_printf(c->out,
               "  if (status == 0)\n    status = parpy_metal_use(&parpy_b[%d], %s, %" PRId64
               ", &parpy_copied[%d]);\n",
               nth, name, info->bytes[slot], nth);
  else if (info->access[slot] == 'w')
    buf_printf(c->out,
               "  if (status == 0 && parpy_copied[%d])\n    status = parpy_metal_copy_out(%s, "
               "parpy_b[%d], %" PRId64 ");\n",
               nth, name, nth, info->bytes[slot]);
}

static void buffer_of(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)e, (void)name, (void)slot;
  buf_printf(c->out, "%sparpy_b[%d]", nth ? ", " : "", nth);
}

/* The byte size of every array slot of main's arguments. */
static int64_t *slot_bytes(Prog *p) {
  int n = sig_nslots(p->args, p->nargs);
  int64_t *bytes = ARENA_ARRAY(&p->arena, int64_t, n > 0 ? n : 1);
  int slot = 0;
  for (int i = 0; i < p->nargs; i++) {
    const ArgSpec *a = &p->args[i];
    int nf = a->kind == ARG_DICT ? a->nfields : 1;
    for (int k = 0; k < nf; k++, slot++) {
      const ArgSpec *f = a->kind == ARG_DICT ? &a->fields[k] : a;
      int64_t b = f->kind == ARG_ARRAY ? elem_size(f->elem) : 0;
      for (int d = 0; f->kind == ARG_ARRAY && d < f->rank; d++)
        b *= f->shape[d];
      bytes[slot] = b;
    }
  }
  return bytes;
}

static void print_entry(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  Buf access;
  buf_init(&access);
  c_access(p, &access);
  EntryInfo info = {.access = buf_cstr(&access), .bytes = slot_bytes(p)};
  void *save = c->ctx;
  c->ctx = &info;
  int n = c_main_arrays(c, m, NULL);
  buf_printf(o, "extern \"C\" int32_t %s(", m->name);
  c_main_params(c, m);
  buf_printf(o, ") {\n  parpy_metal_buffer *parpy_b[%d] = {NULL};\n", n > 0 ? n : 1);
  if (n > 0) /* per array: 1 if its buffer is a copy */
    buf_printf(o, "  int parpy_copied[%d] = {0};\n", n);
  buf_puts(o, "  int32_t status = parpy_metal_load(&parpy_library);\n");
  c_main_arrays(c, m, copy_array);
  buf_printf(o, "  if (status == 0)\n    status = %s_run(", m->name);
  c_main_arrays(c, m, buffer_of);
  /* Waits even after a failure: no queued kernel may outlive the arrays it
   * uses in place. */
  buf_puts(o, ");\n  if (parpy_metal_sync() != 0 && status == 0)\n    status = 1;\n");
  info.copy_out = true;
  c_main_arrays(c, m, copy_array);
  buf_printf(o, "  for (int parpy_i = 0; parpy_i < %d; parpy_i++)\n"
                "    parpy_metal_free(parpy_b[parpy_i]);\n"
                "  return status;\n}\n\n",
             n);
  c->ctx = save;
  buf_free(&access);
}

static void print_convention(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  const char *f = p->func->name;
  gpu_convention_strings(c);
  buf_printf(o, "extern \"C\" const char *%s__error(void) { return parpy_metal_error(); }\n\n", f);
  buf_printf(o, "extern \"C\" int32_t %s__entry(void **args) {\n  return %s(", f, m->name);
  c_args_from_slots(c, m);
  buf_puts(o, ");\n}\n");
}

void metal_host(CPrinter *c) {
  Prog *p = c->p;
  Fn *m = p->main;
  c->d = &host_dialect;
  for (Fn *h = p->helpers; h; h = h->next)
    if (!h->calls_device)
      c_helper(c, h, "static inline ");
  c->fn = m;
  print_launch_fn(c, m, p->ntemps > 0);
  if (p->ntemps > 0)
    print_run_fn(c, m);
  print_entry(c, m);
  print_convention(c, m);
}
