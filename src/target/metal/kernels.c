/* kernels.c - the device side of the Metal target: the kernels (and the
 * helper functions they call) in the Metal Shading Language.
 *
 * The kernels are those src/gpu formed, printed as the Cuda target prints
 * them with Metal's names: a thread's position in its threadgroup and the
 * threadgroup's position in the grid arrive as the parameters parpy_tid
 * and parpy_bid (threadIdx and blockIdx in CUDA), a barrier is
 * threadgroup_barrier, and reductions combine a SIMD-group (32 threads on
 * every Apple GPU; the runtime checks it) with the simd_* functions and a
 * threadgroup through threadgroup memory declared in the kernel, since MSL
 * allows threadgroup variables only at kernel scope.  The parpy_*
 * functions called here are MSL code of parpy_metal_prelude.metal, which
 * the runtime puts before the library. */
#include <inttypes.h>
#include <string.h>

#include "metal.h"

/* Metal's names of a thread's position: the kernels' parameters. */
static const GpuNames metal_names = {
    .thread = "parpy_tid", .block = "parpy_bid", .paren_index = true};

/* MSL's math functions (6.5 of Apple's specification) by their C names;
 * those Metal lacks are the prelude's (parpy_log1p, ...).  The float
 * version serves half too: cexpr.c computes half in float, as NumPy. */
const char *metal_math_name(const char *fn) {
  static const char *const names[][2] = {
      {"exp", "metal::exp"}, {"log", "metal::log"}, {"sin", "metal::sin"},
      {"cos", "metal::cos"}, {"tan", "metal::tan"}, {"sqrt", "metal::sqrt"},
      {"tanh", "metal::tanh"}, {"atan2", "metal::atan2"}, {"floor", "metal::floor"},
      {"ceil", "metal::ceil"}, {"pow", "metal::pow"}, {"fabs", "metal::fabs"},
      {"fmod", "metal::fmod"}, {"copysign", "metal::copysign"}, {"log2", "metal::log2"},
      {"log10", "metal::log10"}, {"exp2", "metal::exp2"}, {"asin", "metal::asin"},
      {"acos", "metal::acos"}, {"atan", "metal::atan"}, {"sinh", "metal::sinh"},
      {"cosh", "metal::cosh"}, {"asinh", "metal::asinh"}, {"acosh", "metal::acosh"},
      {"atanh", "metal::atanh"}, {"rint", "metal::rint"}, {"fmax", "metal::fmax"},
      {"fmin", "metal::fmin"}, {"trunc", "metal::trunc"}, {"log1p", "parpy_log1p"},
      {"expm1", "parpy_expm1"}, {"cbrt", "parpy_cbrt"}, {"hypot", "parpy_hypot"},
      {"erf", "parpy_erf"}, {"erfc", "parpy_erfc"}, {"tgamma", "parpy_tgamma"},
      {"lgamma", "parpy_lgamma"},
  };
  for (size_t i = 0; i < PP_COUNT(names); i++)
    if (strcmp(names[i][0], fn) == 0)
      return names[i][1];
  return fn; /* (every function cexpr.c calls is in the table) */
}

/* ---- reductions ---- */

/* Does combining the reduction loop `f` need a whole threadgroup (and so
 * threadgroup memory), rather than one SIMD-group? */
static bool group_wide(const Kernel *k, const Node *f) {
  const Layer *l = &k->layers[f->layer];
  return l->T > 32 || l->blocks > 1;
}

/* After a reduction loop: combine the threads' accumulators. */
static void combine(CPrinter *c, const Kernel *k, const Node *f) {
  const Node *acc = f->red_target;
  const char *v = acc->sym->cname;
  Buf *o = c->out;
  if (k->layers[f->layer].T == 1)
    return;
  c_line_start(c);
  if (!group_wide(k, f)) {
    buf_printf(o, "%s = parpy_simd_reduce<%s>(%s);\n", v, gpu_red_functor(f->red_op), v);
  } else {
    buf_printf(o, "%s = parpy_threadgroup_reduce<%s>(%s, ", v, gpu_red_functor(f->red_op), v);
    c_expr(c, identity_of(&c->p->arena, f->red_op, acc->sym->ty, f->span));
    buf_printf(o, ", parpy_red_%s, parpy_tid.x, %" PRId64 ");\n", elem_short(acc->sym->ty->elem),
               k->tpb);
  }
  gpu_store_partial(c, &metal_names, f, v);
}

/* The element types of the group-wide reductions in `list`, as a bit set. */
static unsigned scratch_types(const Kernel *k, const Node *list) {
  unsigned set = 0;
  for (const Node *s = list; s; s = s->next) {
    if (s->kind == N_FOR && s->par.reduce && s->red_target && k->layers[s->layer].T > 1 &&
        group_wide(k, s))
      set |= 1u << s->red_target->sym->ty->elem;
    set |= scratch_types(k, s->body) | scratch_types(k, s->then) | scratch_types(k, s->els);
  }
  return set;
}

/* ---- statements and expressions ---- */

static void print_mapped(CPrinter *c, const Node *f) {
  const Kernel *k = c->ctx;
  int64_t trips = 0;
  bool once = gpu_trips(f, &trips) && trips <= k->layers[f->layer].T;
  gpu_mapped_open(c, &metal_names, f, once, trips);
  gpu_mapped_var(c, &metal_names, f, once);
  c_block(c, f->body);
  c_line_start(c);
  buf_puts(c->out, "}\n");
  if (f->par.reduce)
    combine(c, k, f);
}

static void device_for(CPrinter *c, const Node *f) {
  if (f->all_threads) {
    gpu_all_threads(c, f); /* a parallel external: every thread of the level calls it */
  } else if (f->par.nthreads > 0) {
    print_mapped(c, f);
  } else {
    c_for_loop(c, f);
  }
}

/* Device memory too: a barrier also orders a thread's write to an array
 * (done by one thread, src/gpu/kernels.c) before the others read it. */
static void device_stmt(CPrinter *c, const Node *s) {
  c_line_start(c);
  if (s->kind == N_SYNC)
    buf_puts(c->out,
             "threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);\n");
  else
    buf_printf(c->out, "/* unexpected statement %d */\n", s->kind);
}

static void device_expr(CPrinter *c, const Node *n) { gpu_device_expr(c, &metal_names, n); }

/* Kernels and their helpers point only into buffers: device memory. */
static void device_pointer(CPrinter *c, Elem e) {
  buf_printf(c->out, "device %s *", c_type_name(e));
}

static const CDialect device_dialect = {.type_name = c_type_name,
                                        .pointer_type = device_pointer,
                                        .for_loop = device_for,
                                        .extra_stmt = device_stmt,
                                        .extra_expr = device_expr,
                                        .math_name = metal_math_name,
                                        .int64_suffix = "L"};

/* ---- functions ---- */

/* A helper the kernels may call: pointer parameters point to device memory. */
static void device_helper(CPrinter *c, Fn *h) {
  Buf *o = c->out;
  c->fn = h;
  buf_puts(o, "static inline ");
  c_type(c, h->ret);
  buf_printf(o, " %s(", h->name);
  for (int i = 0; i < h->nparams; i++) {
    Sym *s = h->params[i];
    bool ptr = s->ty->kind == TY_POINTER || s->ty->kind == TY_ARRAY;
    buf_printf(o, "%s%s%s %s%s", i ? ", " : "", ptr ? "device " : "", c_type_name(s->ty->elem),
               ptr ? "*" : "", s->cname);
  }
  buf_puts(o, h->nparams ? ") {\n" : ") {\n");
  c_block(c, h->body);
  buf_puts(o, "}\n\n");
}

static void print_param(CPrinter *c, const Node *n, int i) {
  Buf *o = c->out;
  const char *ty = c_type_name(n->ty->elem);
  buf_puts(o, i ? ",\n    " : "\n    ");
  if (n->kind == N_FIELD)
    buf_printf(o, "device %s *%s", ty, c_field_name(c->p, n->lhs->sym, n->str));
  else if (n->sym->ty->kind == TY_ARRAY || n->sym->ty->kind == TY_POINTER)
    buf_printf(o, "device %s *%s", ty, n->sym->cname);
  else /* a value of the host code, passed with setBytes */
    buf_printf(o, "constant %s &%s", ty, n->sym->cname);
  buf_printf(o, " [[buffer(%d)]]", i);
}

static void print_kernel(CPrinter *c, Kernel *k) {
  Buf *o = c->out;
  CPrinter kc = *c;
  kc.d = &device_dialect;
  kc.ctx = k;
  kc.depth = 0;
  buf_printf(o, "[[max_total_threads_per_threadgroup(%" PRId64 ")]]\nkernel void %s(", k->tpb,
             k->name);
  for (int i = 0; i < k->nparams; i++)
    print_param(&kc, k->params[i], i);
  buf_printf(o, "%s    uint3 parpy_tid [[thread_position_in_threadgroup]],\n"
                "    uint3 parpy_bid [[threadgroup_position_in_grid]]) {\n",
             k->nparams ? ",\n" : "\n");
  kc.depth = 1;
  unsigned scratch = scratch_types(k, k->root);
  for (int e = 0; e < EL_COUNT; e++)
    if (scratch & (1u << e))
      buf_printf(o, "  threadgroup %s parpy_red_%s[32]; /* one value per SIMD-group */\n",
                 c_type_name((Elem)e), elem_short((Elem)e));
  Node root = *k->root; /* the kernel's own code, not a launch */
  root.kernel = NULL;
  root.next = NULL;
  c_const_params(&kc, &root);
  c_stmt(&kc, &root);
  buf_puts(o, "}\n\n");
}

void metal_library(CPrinter *c) {
  Prog *p = c->p;
  Buf *o = c->out;
  CPrinter dc = *c;
  dc.d = &device_dialect;
  buf_puts(o, "/* The device code, in the Metal Shading Language.  On macOS the runtime compiles\n"
              " * this text (after parpy_metal_prelude.metal) with Metal; elsewhere it is C++\n"
              " * that the simulator runs (parpy_metal_sim.h).  Preprocessor directives cannot\n"
              " * go in here. */\n"
              "PARPY_METAL_LIBRARY(\n");
  Fn *device[256];
  int n = metal_device_fns(p, device, 256);
  for (Fn *h = p->helpers; h; h = h->next) /* callees first */
    for (int i = 0; i < n; i++)
      if (device[i] == h)
        device_helper(&dc, h);
  dc.fn = p->main;
  for (Kernel *k = p->kernels; k; k = k->next)
    print_kernel(&dc, k);
  buf_puts(o, ")\n\n");
}
