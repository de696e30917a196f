/* gpuprint.c - the pieces of code that the Cuda and Metal printers print
 * alike (gpuprint.h), with each target's names. */
#include <inttypes.h>
#include <string.h>

#include "gpuprint.h"

void gpu_block_index(CPrinter *c, const GpuNames *g, const Layer *l) {
  Buf *o = c->out;
  const char *dim = l->dim == 'x' ? "x" : l->dim == 'y' ? "y" : "z";
  if (l->top && l->below == 1) {
    buf_printf(o, "%s.%s", g->block, dim);
    return;
  }
  buf_puts(o, "(");
  if (l->below > 1)
    buf_printf(o, "%s.%s / %" PRId64, g->block, dim, l->below);
  else
    buf_printf(o, "%s.%s", g->block, dim);
  if (!l->top)
    buf_printf(o, " %% %" PRId64, l->blocks);
  buf_puts(o, ")");
}

void gpu_layer_index(CPrinter *c, const GpuNames *g, const Kernel *k, int j) {
  const Layer *l = &k->layers[j];
  Buf *o = c->out;
  if (j < k->nlayers - 1) {
    gpu_block_index(c, g, l);
    return;
  }
  if (l->blocks == 1) {
    buf_printf(o, "%s.x", g->thread);
    return;
  }
  buf_puts(o, "(int64_t)");
  gpu_block_index(c, g, l);
  buf_printf(o, " * %" PRId64 " + %s.x", k->tpb, g->thread);
}

int64_t gpu_start_prefix(CPrinter *c, const Node *f) {
  Buf *o = c->out;
  int64_t lo = 0;
  if (!(const_int(f->lo, &lo) && lo == 0)) {
    c_expr(c, f->lo);
    buf_puts(o, f->step < 0 ? " - " : " + ");
  } else if (f->step < 0) {
    buf_puts(o, "-");
  }
  return f->step < 0 ? -f->step : f->step;
}

void gpu_print_start(CPrinter *c, const GpuNames *g, const Kernel *k, const Node *f) {
  Buf *o = c->out;
  int64_t mag = gpu_start_prefix(c, f);
  if (mag == 1) {
    gpu_layer_index(c, g, k, f->layer);
    return;
  }
  Buf t;
  buf_init(&t);
  c->out = &t;
  gpu_layer_index(c, g, k, f->layer);
  c->out = o;
  const char *idx = buf_cstr(&t);
  if (g->paren_index)
    buf_printf(o, "%" PRId64 " * (int64_t)(%s)", mag, idx);
  else if (strchr(idx, ' ') == NULL) /* threadIdx.x, blockIdx.y */
    buf_printf(o, "%" PRId64 " * (int64_t)%s", mag, idx);
  else
    buf_printf(o, "%" PRId64 " * (%s)", mag, idx);
  buf_free(&t);
}

void gpu_mapped_open(CPrinter *c, const GpuNames *g, const Node *f, bool once, int64_t trips) {
  const Kernel *k = c->ctx;
  const Layer *l = &k->layers[f->layer];
  Buf *o = c->out;
  const char *v = f->sym->cname;
  c_line_start(c);
  if (once && trips < l->T) {
    buf_puts(o, "if (");
    gpu_layer_index(c, g, k, f->layer);
    buf_printf(o, " < %" PRId64 ") {", trips);
  } else if (once) {
    buf_puts(o, "{");
  } else {
    buf_printf(o, "for (%s %s = ", c_type_name(f->sym->ty->elem), v);
    gpu_print_start(c, g, k, f);
    buf_printf(o, "; %s %s ", v, f->step > 0 ? "<" : ">");
    c_expr(c, f->hi);
    buf_printf(o, "; %s += %" PRId64 ") {", v, f->step * l->T);
  }
  c_loop_comment(c, f);
  buf_puts(o, "\n");
}

bool gpu_body_uses_var(const Node *f) {
  for (const Node *s = f->body; s; s = s->next)
    if (expr_mentions(s, f->sym))
      return true;
  return false;
}

void gpu_mapped_var(CPrinter *c, const GpuNames *g, const Node *f, bool once) {
  if (!once || !gpu_body_uses_var(f))
    return;
  c->depth++;
  c_line_start(c);
  buf_printf(c->out, "%s %s = ", c_type_name(f->sym->ty->elem), f->sym->cname);
  gpu_print_start(c, g, c->ctx, f);
  buf_puts(c->out, ";\n");
  c->depth--;
}

const char *gpu_red_functor(Op op) {
  switch (op) {
  case OP_ADD: return "parpy_add";
  case OP_MUL: return "parpy_mul";
  case OP_MAX: return "parpy_max";
  case OP_MIN: return "parpy_min";
  case OP_AND: return "parpy_and";
  case OP_OR: return "parpy_or";
  case OP_BITAND: return "parpy_bitand";
  case OP_BITOR: return "parpy_bitor";
  case OP_BITXOR: return "parpy_bitxor";
  default: return "?";
  }
}

void gpu_store_partial(CPrinter *c, const GpuNames *g, const Node *f, const char *acc) {
  if (!f->partial_at)
    return;
  c_line_start(c);
  buf_printf(c->out, "if (%s.x == 0) ", g->thread);
  c_expr(c, f->partial_at);
  buf_printf(c->out, " = %s;\n", acc);
}

void gpu_all_threads(CPrinter *c, const Node *f) {
  const Kernel *k = c->ctx;
  c_line_start(c);
  buf_printf(c->out, "{  /* all %" PRId64 " threads of this level call the parallel external %s */\n",
             k->layers[f->layer].T, f->ext->name);
  c_block(c, f->body);
  c_line_start(c);
  buf_puts(c->out, "}\n");
}

void gpu_device_expr(CPrinter *c, const GpuNames *g, const Node *n) {
  const Kernel *k = c->ctx;
  Buf *o = c->out;
  if (n->kind == N_FIRST && n->per_block) {
    buf_printf(o, "%s.x == 0", g->thread);
  } else if (n->kind == N_FIRST) {
    bool first = true;
    for (int j = n->layer; j < k->nlayers; j++) {
      if (k->layers[j].T == 1)
        continue;
      buf_puts(o, first ? "" : " && ");
      first = false;
      gpu_layer_index(c, g, k, j);
      buf_puts(o, " == 0");
    }
    if (first)
      buf_puts(o, "true");
  } else if (n->kind == N_BLOCKIDX) {
    gpu_block_index(c, g, &k->layers[n->layer]);
  } else {
    buf_printf(o, "/* unexpected node %d */ 0", n->kind);
  }
}

void gpu_convention_strings(CPrinter *c) {
  Prog *p = c->p;
  Buf *o = c->out;
  const char *f = p->func->name;
  buf_puts(o, "/* ParPy's calling convention: the specialisation this code was generated for,\n"
              " * which arguments it writes, the message of a failed call, and an entry point\n"
              " * taking the arguments as an array.  Keep them when you edit the code above and\n"
              " * pass it to parpy.compile_string. */\n");
  buf_printf(o, "extern \"C\" const char %s__signature[] = \"", f);
  c_signature(p, o);
  buf_printf(o, "\";\nextern \"C\" const char %s__access[] = \"", f);
  c_access(p, o);
  buf_puts(o, "\";\n");
}
