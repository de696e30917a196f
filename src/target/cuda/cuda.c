/* cuda.c - the Cuda target: CUDA C++ with one kernel per parallel nest and
 * a host function that launches them.
 *
 * Kernels print their parallel loops with the mapping that src/gpu chose:
 * a loop over layer j starts at `lo + step * t` where t is the thread's
 * index in that layer (threadIdx.x, blockIdx.y, ...) and strides by the
 * layer's size; a loop with no more iterations than threads prints as a
 * plain block that each thread runs at most once.  Every CUDA call of the
 * host code is checked; an error returns 1 and leaves its message (naming
 * the kernel) for <f>__error(). */
#include <inttypes.h>
#include <string.h>

#include "../../gpu/gpu.h"
#include "../../runtime/runtime.h"
#include "../cprint.h"
#include "build.h"
#include "sum.h"

#ifndef PARPY_VERSION
#define PARPY_VERSION "dev"
#endif

/* The namespace of the code's own functions (print_convention, emit). */
#define NAMESPACE "parpy_code"

/* ---- the index of a thread in a layer ---- */

static void block_index(CPrinter *c, const Kernel *k, const Layer *l) {
  Buf *o = c->out;
  const char *dim = l->dim == 'x' ? "x" : l->dim == 'y' ? "y" : "z";
  bool shared = !(l->top && l->below == 1);
  if (!shared) {
    buf_printf(o, "blockIdx.%s", dim);
    return;
  }
  buf_puts(o, "(");
  if (l->below > 1)
    buf_printf(o, "blockIdx.%s / %" PRId64, dim, l->below);
  else
    buf_printf(o, "blockIdx.%s", dim);
  if (!l->top)
    buf_printf(o, " %% %" PRId64, l->blocks);
  buf_puts(o, ")");
  (void)k;
}

/* t: this thread's index in layer `j`, 0 <= t < T. */
static void layer_index(CPrinter *c, const Kernel *k, int j) {
  const Layer *l = &k->layers[j];
  Buf *o = c->out;
  if (j < k->nlayers - 1) {
    block_index(c, k, l);
    return;
  }
  if (l->blocks == 1) {
    buf_puts(o, "threadIdx.x");
    return;
  }
  buf_puts(o, "(int64_t)");
  block_index(c, k, l);
  buf_printf(o, " * %" PRId64 " + threadIdx.x", k->tpb);
}

/* ---- kernels ---- */

static const char *red_functor(Op op) {
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

/* After a reduction loop: combine the threads' accumulators. */
static void combine(CPrinter *c, const Kernel *k, const Node *f) {
  const Layer *l = &k->layers[f->layer];
  const Node *acc = f->red_target;
  Buf *o = c->out;
  if (l->T == 1)
    return;
  const char *scope = f->cluster ? "cluster" : l->T > 32 || l->blocks > 1 ? "block" : "warp";
  c_line_start(c);
  buf_printf(o, "%s = parpy_%s_reduce<%s>(%s", acc->sym->cname, scope, red_functor(f->red_op),
             acc->sym->cname);
  if (strcmp(scope, "warp") != 0) {
    buf_puts(o, ", ");
    c_expr(c, identity_of(&c->p->arena, f->red_op, acc->sym->ty, f->span));
  }
  buf_puts(o, ");\n");
  if (!f->partial_at)
    return;
  /* This block's total goes to the partials; a second kernel combines them. */
  c_line_start(c);
  buf_puts(o, "if (threadIdx.x == 0) ");
  c_expr(c, f->partial_at);
  buf_printf(o, " = %s;\n", acc->sym->cname);
}

/* lo + step * t: t's arithmetic in int64 (threadIdx is unsigned, and a
 * negative step must not wrap), a negative step as a subtraction. */
static void print_start(CPrinter *c, const Kernel *k, const Node *f) {
  Buf *o = c->out;
  int64_t lo = 0;
  bool zero = const_int(f->lo, &lo) && lo == 0;
  if (!zero) {
    c_expr(c, f->lo);
    buf_puts(o, f->step < 0 ? " - " : " + ");
  } else if (f->step < 0) {
    buf_puts(o, "-");
  }
  int64_t mag = f->step < 0 ? -f->step : f->step;
  if (mag == 1) {
    layer_index(c, k, f->layer);
    return;
  }
  Buf t;
  buf_init(&t);
  Buf *save = c->out;
  c->out = &t;
  layer_index(c, k, f->layer);
  c->out = save;
  const char *idx = buf_cstr(&t);
  bool simple = strchr(idx, ' ') == NULL; /* threadIdx.x, blockIdx.y */
  if (simple)
    buf_printf(o, "%" PRId64 " * (int64_t)%s", mag, idx);
  else
    buf_printf(o, "%" PRId64 " * (%s)", mag, idx);
  buf_free(&t);
}

/* The declaration of a coarsened loop's variable: lo + step * t for the
 * thread's iteration t (the C expression `t`, below 2^31), in the loop's
 * type. */
static void coarse_var(CPrinter *c, const Node *f, const char *t) {
  Buf *o = c->out;
  int64_t lo = 0;
  c_line_start(c);
  buf_printf(o, "%s %s = ", c_type_name(f->sym->ty->elem), f->sym->cname);
  if (!(const_int(f->lo, &lo) && lo == 0)) {
    c_expr(c, f->lo);
    buf_puts(o, f->step < 0 ? " - " : " + ");
  } else if (f->step < 0) {
    buf_puts(o, "-");
  }
  int64_t mag = f->step < 0 ? -f->step : f->step;
  if (mag != 1)
    buf_printf(o, "%" PRId64 " * ", mag);
  buf_printf(o, "(int64_t)(%s);\n", t);
}

/* The one loop of a coarsened kernel (kernels.c, coarsen_elementwise):
 * each thread runs `coarsen` iterations tpb apart in its block's chunk,
 * unrolled and unguarded in the blocks whose chunk is whole, so that nvcc
 * issues all their loads before the first store. */
static void print_coarsened(CPrinter *c, const Node *f) {
  const Kernel *k = c->ctx;
  Buf *o = c->out;
  int64_t chunk = k->coarsen * k->tpb, whole = k->trips / chunk;
  c_line_start(c);
  buf_puts(o, "{");
  c_loop_comment(c, f);
  buf_puts(o, "\n");
  c->depth++;
  c_line_start(c);
  buf_printf(o, "/* coarsened: %" PRId64 " blocks of %" PRId64 " threads, each running %" PRId64
                " of the %" PRId64 " iterations, %" PRId64 " apart */\n",
             k->grid[0], k->tpb, k->coarsen, k->trips, k->tpb);
  c_line_start(c);
  buf_printf(o, "const int32_t parpy_first = (int32_t)blockIdx.x * %" PRId64 " + (int32_t)threadIdx.x;\n",
             chunk);
  bool used = false;
  for (const Node *s = f->body; s && !used; s = s->next)
    used = expr_mentions(s, f->sym);
  if (whole > 0) {
    c_line_start(c);
    if (whole < k->grid[0])
      buf_printf(o, "if ((int32_t)blockIdx.x < %" PRId64 ") {  /* a whole chunk */\n", whole);
    else
      buf_puts(o, "{\n");
    c->depth++;
    c_line_start(c);
    buf_puts(o, "#pragma unroll\n");
    c_line_start(c);
    buf_printf(o, "for (int32_t parpy_u = 0; parpy_u < %" PRId64 "; parpy_u++) {\n", k->coarsen);
    c->depth++;
    if (used)
      coarse_var(c, f, arena_printf(&c->p->arena, "parpy_first + parpy_u * %" PRId64, k->tpb));
    c->depth--;
    c_block(c, f->body);
    c_line_start(c);
    buf_puts(o, "}\n");
    c->depth--;
    c_line_start(c);
    buf_puts(o, "}");
    buf_puts(o, whole < k->grid[0] ? " else {  /* the last chunk, in part */\n" : "\n");
  } else {
    c_line_start(c);
    buf_puts(o, "{  /* the only chunk, in part */\n");
  }
  if (whole < k->grid[0]) {
    c->depth++;
    c_line_start(c);
    buf_printf(o, "for (int32_t parpy_u = 0; parpy_u < %" PRId64 "; parpy_u++) {\n", k->coarsen);
    c->depth++;
    c_line_start(c);
    buf_printf(o, "const int32_t parpy_t = parpy_first + parpy_u * %" PRId64 ";\n", k->tpb);
    c_line_start(c);
    buf_printf(o, "if (parpy_t < %" PRId64 ") {\n", k->trips);
    c->depth++;
    if (used)
      coarse_var(c, f, "parpy_t");
    c->depth--;
    c_block(c, f->body);
    c_line_start(c);
    buf_puts(o, "}\n");
    c->depth--;
    c_line_start(c);
    buf_puts(o, "}\n");
    c->depth--;
    c_line_start(c);
    buf_puts(o, "}\n");
  }
  c->depth--;
  c_line_start(c);
  buf_puts(o, "}\n");
}

static void print_mapped(CPrinter *c, const Node *f) {
  const Kernel *k = c->ctx;
  const Layer *l = &k->layers[f->layer];
  Buf *o = c->out;
  int64_t trips;
  if (k->coarsen && f == k->root) {
    print_coarsened(c, f);
    return;
  }
  bool once = gpu_trips(f, &trips) && trips <= l->T;
  const char *v = f->sym->cname;
  CudaSum sum;
  bool compensated = !once && cuda_sum_begin(c, f, &sum);
  c_line_start(c);
  if (once) {
    if (trips < l->T) {
      buf_puts(o, "if (");
      layer_index(c, k, f->layer);
      buf_printf(o, " < %" PRId64 ") {", trips);
    } else {
      buf_puts(o, "{");
    }
  } else {
    buf_printf(o, "for (%s %s = ", c_type_name(f->sym->ty->elem), v);
  }
  if (!once) {
    print_start(c, k, f);
    buf_printf(o, "; %s %s ", v, f->step > 0 ? "<" : ">");
    c_expr(c, f->hi);
    buf_printf(o, "; %s += %" PRId64 ") {", v, f->step * l->T);
  }
  c_loop_comment(c, f);
  buf_puts(o, "\n");
  if (f->layer == k->nlayers - 1 && l->blocks == 1 && l->T < gpu_round_threads(l->n) &&
      !f->all_threads) {
    c->depth++;
    c_line_start(c);
    buf_printf(o, "/* coarsened: %" PRId64 " threads, not %" PRId64 ", run this level */\n", l->T,
               gpu_round_threads(l->n));
    c->depth--;
  }
  bool used = false;
  for (const Node *s = f->body; s && !used; s = s->next)
    used = expr_mentions(s, f->sym);
  if (once && used) {
    c->depth++;
    c_line_start(c);
    buf_printf(o, "%s %s = ", c_type_name(f->sym->ty->elem), v);
    print_start(c, k, f);
    buf_puts(o, ";\n");
    c->depth--;
  }
  if (compensated)
    cuda_sum_body(c, &sum);
  else
    c_block(c, f->body);
  c_line_start(c);
  buf_puts(o, "}\n");
  if (compensated)
    cuda_sum_end(c, &sum);
  if (f->par.reduce)
    combine(c, k, f);
}

/* A parallel external's statement (src/gpu/externals.c): every thread of
 * the level runs its one iteration, so that they call the external
 * together; no thread index selects one. */
static void print_all_threads(CPrinter *c, const Node *f) {
  const Kernel *k = c->ctx;
  c_line_start(c);
  buf_printf(c->out, "{  /* all %" PRId64 " threads of this level call the parallel external %s */\n",
             k->layers[f->layer].T, f->ext->name);
  c_block(c, f->body);
  c_line_start(c);
  buf_puts(c->out, "}\n");
}

static void device_for(CPrinter *c, const Node *f) {
  if (f->all_threads) {
    print_all_threads(c, f);
    return;
  }
  if (f->par.nthreads > 0) {
    print_mapped(c, f);
    return;
  }
  c_for_loop(c, f);
}

static void device_stmt(CPrinter *c, const Node *s) {
  if (s->kind == N_SYNC) {
    c_line_start(c);
    buf_puts(c->out, s->cluster ? "parpy_cluster_sync();\n" : "__syncthreads();\n");
    return;
  }
  c_line_start(c);
  buf_printf(c->out, "/* unexpected statement %d */\n", s->kind);
}

static void device_expr(CPrinter *c, const Node *n) {
  const Kernel *k = c->ctx;
  Buf *o = c->out;
  if (n->kind == N_FIRST) {
    if (n->per_block) {
      buf_puts(o, "threadIdx.x == 0");
      return;
    }
    bool first = true;
    for (int j = n->layer; j < k->nlayers; j++) {
      if (k->layers[j].T == 1)
        continue;
      if (!first)
        buf_puts(o, " && ");
      first = false;
      layer_index(c, k, j);
      buf_puts(o, " == 0");
    }
    if (first)
      buf_puts(o, "true");
    return;
  }
  if (n->kind == N_BLOCKIDX) {
    block_index(c, k, &k->layers[n->layer]);
    return;
  }
  buf_printf(o, "/* unexpected node %d */ 0", n->kind);
}

static bool half_binary(CPrinter *c, const Node *n);

/* Is `n` the float constant 0.5 (a literal, maybe converted)? */
static bool is_one_half(const Node *n) {
  while (n->kind == N_CONVERT)
    n = n->lhs;
  return n->kind == N_FLOAT && n->val.f == 0.5;
}

/* `x ** 0.5` of a float: NumPy's scalars call the C library's pow, correctly
 * rounded, which is sqrt's result but for -inf and -0.0; CUDA's pow is off
 * by an ulp or two, so parpy_pow_half (parpy_cuda.h) computes it by sqrt. */
static bool cuda_binary(CPrinter *c, const Node *n) {
  if (n->op == OP_POW && n->ty && n->ty->kind == TY_SCALAR && elem_is_float(n->ty->elem) &&
      is_one_half(n->rhs)) {
    buf_printf(c->out, "parpy_pow_half(");
    c_expr(c, n->lhs);
    buf_puts(c->out, ")");
    return true;
  }
  return half_binary(c, n);
}

/* Half-precision + - * / through CUDA's _rn intrinsics: NumPy rounds each
 * operation, and nvcc would otherwise fuse a multiply and an add. */
static bool half_binary(CPrinter *c, const Node *n) {
  const char *fn = NULL;
  if (!n->ty || n->ty->elem != EL_F16 || n->ty->kind != TY_SCALAR)
    return false;
  switch (n->op) {
  case OP_ADD: fn = "__hadd_rn"; break;
  case OP_SUB: fn = "__hsub_rn"; break;
  case OP_MUL: fn = "__hmul_rn"; break;
  case OP_DIV: fn = "__hdiv"; break;
  default: return false;
  }
  buf_printf(c->out, "%s(", fn);
  c_expr(c, n->lhs);
  buf_puts(c->out, ", ");
  c_expr(c, n->rhs);
  buf_puts(c->out, ")");
  return true;
}

/* print(...): the line is built in a buffer of the thread, each value
 * formatted as Python prints it (parpy_repr.h: the shortest digits that
 * read back, with no snprintf in device code), then written by one printf,
 * which CUDA keeps whole.  The buffer's size is known here: the strings
 * plus PARPY_REPR_MAX per value and a separator each. */
static void cuda_print(CPrinter *c, const Node *s) {
  Buf *o = c->out;
  size_t size = 2;
  for (const Node *a = s->args; a; a = a->next)
    size += 1 + (a->kind == N_STR ? strlen(a->str) : 32);
  c_line_start(c);
  buf_printf(o, "{\n");
  c->depth++;
  c_line_start(c);
  buf_printf(o, "char parpy_line[%zu];\n", size);
  c_line_start(c);
  buf_puts(o, "int parpy_n = 0;\n");
  for (const Node *a = s->args; a; a = a->next) {
    c_line_start(c);
    if (a != s->args)
      buf_puts(o, "parpy_line[parpy_n++] = ' ';\n"), c_line_start(c);
    buf_puts(o, "parpy_n += ");
    if (a->kind == N_STR) {
      buf_puts(o, "parpy_put_str(parpy_line + parpy_n, \"");
      c_string_contents(c, a->str, false);
      buf_puts(o, "\");\n");
      continue;
    }
    Elem e = a->ty ? a->ty->elem : EL_F64;
    buf_puts(o, e == EL_BOOL             ? "parpy_put_str(parpy_line + parpy_n, ("
                : elem_is_signed(e)      ? "parpy_repr_i64(parpy_line + parpy_n, (int64_t)("
                : elem_is_unsigned(e)    ? "parpy_repr_u64(parpy_line + parpy_n, (uint64_t)("
                : e == EL_F16            ? "parpy_repr_float(parpy_line + parpy_n, (double)(float)("
                                         : "parpy_repr_float(parpy_line + parpy_n, (double)(");
    c_expr(c, a);
    buf_puts(o, e == EL_BOOL             ? ") ? \"True\" : \"False\");\n"
                : elem_is_unsigned(e)    ? "), false);\n"
                : elem_is_signed(e)      ? "));\n"
                : e == EL_F64            ? "), 0);\n"
                : e == EL_F32            ? "), 1);\n"
                                         : "), 2);\n");
  }
  c_line_start(c);
  buf_puts(o, "parpy_line[parpy_n] = 0;\n");
  c_line_start(c);
  buf_puts(o, "parpy_print_line(parpy_line);\n");
  c->depth--;
  c_line_start(c);
  buf_puts(o, "}\n");
}

static const CDialect device_dialect = {.type_name = c_type_name,
                                        .for_loop = device_for,
                                        .extra_stmt = device_stmt,
                                        .extra_expr = device_expr,
                                        .binary = cuda_binary,
                                        .print_stmt = cuda_print};

/* Kernel parameter i; arrays `const` where the kernel only reads them and
 * __restrict__ where none can overlap (kernels.c, param_promises). */
static void print_param_decl(CPrinter *c, const Kernel *k, int i) {
  const Node *n = k->params[i];
  const char *cst = k->param_const[i] ? "const " : "";
  const char *restr = k->restrict_ok ? "__restrict__ " : "";
  if (n->kind == N_FIELD) {
    buf_printf(c->out, "%s%s *%s%s", cst, c_type_name(n->ty->elem), restr,
               c_field_name(c->p, n->lhs->sym, n->str));
    return;
  }
  Sym *s = n->sym;
  if (s->ty->kind == TY_ARRAY)
    buf_printf(c->out, "%s%s *%s%s", cst, c_type_name(s->ty->elem), restr, s->cname);
  else
    buf_printf(c->out, "%s %s", c_type_name(s->ty->elem), s->cname);
}

/* Arrays whose atomic updates go to a copy per block in shared memory
 * (src/gpu/privatise.c): the copies start at the identity of addition
 * (-0.0 for floats: -0.0 + x is x for every x), and after the body each
 * block adds its copy to the array, one atomic update per element (integer
 * elements still zero are skipped). */
static void private_begin(CPrinter *c, const Kernel *k) {
  Buf *o = c->out;
  for (int i = 0; i < k->nprivate; i++) {
    const GpuPrivate *pv = &k->privates[i];
    Elem e = pv->copy->ty->elem;
    buf_printf(o, "  __shared__ %s %s[%" PRId64 "];  /* %s's updates in this block */\n",
               c_type_name(e), pv->copy->cname, pv->numel, pv->global->name);
  }
  for (int i = 0; i < k->nprivate; i++) {
    const GpuPrivate *pv = &k->privates[i];
    Elem e = pv->copy->ty->elem;
    buf_printf(o, "  for (int parpy_b = threadIdx.x; parpy_b < %" PRId64 "; parpy_b += %" PRId64 ")\n",
               pv->numel, k->tpb);
    buf_printf(o, "    %s[parpy_b] = %s;\n", pv->copy->cname,
               e == EL_F16 ? "(half)-0.0f" : e == EL_F32 ? "-0.0f" : e == EL_F64 ? "-0.0" : "0");
  }
  if (k->nprivate)
    buf_puts(o, "  __syncthreads();\n");
}

static void private_end(CPrinter *c, const Kernel *k) {
  Buf *o = c->out;
  if (k->nprivate)
    buf_puts(o, "  __syncthreads();\n");
  for (int i = 0; i < k->nprivate; i++) {
    const GpuPrivate *pv = &k->privates[i];
    Elem e = pv->global->ty->elem, ce = pv->copy->ty->elem;
    const char *g = pv->global->cname, *l = pv->copy->cname;
    buf_printf(o, "  for (int parpy_b = threadIdx.x; parpy_b < %" PRId64 "; parpy_b += %" PRId64 ")\n",
               pv->numel, k->tpb);
    if (elem_is_float(e))
      buf_printf(o, "    parpy_atomic_add_%s(&%s[parpy_b], %s[parpy_b]);\n", elem_short(e), g, l);
    else if (e == ce)
      buf_printf(o, "    if (%s[parpy_b] != 0)\n      parpy_atomic_add_%s(&%s[parpy_b], %s[parpy_b]);\n", l,
                 elem_short(e), g, l);
    else /* a 32-bit count: the sum in its own width (wrap-around), or exact */
      buf_printf(o, "    if (%s[parpy_b] != 0)\n      parpy_atomic_add_%s(&%s[parpy_b], (%s)%s[parpy_b]);\n",
                 l, elem_short(e), g, c_type_name(e), l);
  }
}

/* Whether main takes scalars at run time (passes/specialise.c): the host
 * code reads them from the entry's slots and passes them to the kernels as
 * parameters. */
static bool runtime_scalars(const Fn *m) {
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i]->arg && m->params[i]->arg->runtime)
      return true;
  return false;
}

/* Whether host code mentions `s`: its own statements, or a kernel it
 * launches taking `s` as a parameter. */
static bool host_uses(const Node *n, const Sym *s) {
  if (!n)
    return false;
  if (n->kind == N_FOR && n->kernel) {
    for (int i = 0; i < n->kernel->nparams; i++)
      if (host_uses(n->kernel->params[i], s))
        return true;
    return false;
  }
  if (n->kind == N_VAR && n->sym == s)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->step_expr};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (host_uses(kids[i], s))
      return true;
  const Node *lists[] = {n->args, n->body, n->then, n->els};
  for (size_t i = 0; i < PP_COUNT(lists); i++)
    for (const Node *a = lists[i]; a; a = a->next)
      if (host_uses(a, s))
        return true;
  return false;
}

/* main's constants (c_const_params) with the scalars taken at run time
 * left out (`runtime` false: a kernel, whose parameters they are) or read
 * from the entry's slots here (`runtime` true: the host code, where a
 * kernel launch may be their only use). */
static void consts_of(CPrinter *c, const Node *body, bool runtime) {
  Fn *m = c->fn;
  Sym **all = m->params;
  int n = m->nparams, k = 0;
  Sym **kept = ARENA_ARRAY(&c->p->arena, Sym *, n > 0 ? n : 1);
  for (int i = 0; i < n; i++) {
    Sym *s = all[i];
    if (!(s->arg && s->arg->runtime)) {
      kept[k++] = s;
      continue;
    }
    bool used = false;
    for (const Node *st = body; st && runtime && !used; st = st->next)
      used = host_uses(st, s);
    if (!used)
      continue;
    const ArgSpec *a = s->arg;
    Elem slot = a->kind == ARG_INT ? EL_I64 : a->kind == ARG_FLOAT ? EL_F64 : a->elem;
    c_line_start(c);
    buf_printf(c->out, "const %s %s = (%s)*(const %s *)parpy_slots[%d]; /* run-time parameter '%s' */\n",
               c_type_name(s->ty->elem), s->cname, c_type_name(s->ty->elem), c_type_name(slot),
               s->slot, s->name);
  }
  m->params = kept;
  m->nparams = k;
  c_const_params(c, body);
  m->params = all;
  m->nparams = n;
}

/* A kernel's constants: main's specialised scalars, not those taken at run
 * time, which are the kernel's parameters (only the host reads slots). */
static void kernel_consts(CPrinter *c, const Node *root) {
  consts_of(c, root, false);
}

static void print_kernel(CPrinter *c, Kernel *k) {
  Buf *o = c->out;
  CPrinter kc = *c;
  kc.d = &device_dialect;
  kc.ctx = k;
  kc.depth = 0;
  if (c->p->opt.cuda_nvrtc) /* found by name in the cubin (runtime/nvrtc.c) */
    buf_puts(o, "extern \"C\" ");
  buf_puts(o, "__global__ void ");
  if (k->cluster > 1)
    buf_printf(o, "__cluster_dims__(%" PRId64 ", 1, 1) ", k->cluster);
  buf_printf(o, "__launch_bounds__(%" PRId64 ") %s(", k->tpb, k->name);
  for (int i = 0; i < k->nparams; i++) {
    if (i)
      buf_puts(o, ", ");
    print_param_decl(&kc, k, i);
  }
  buf_puts(o, ") {\n");
  kc.depth = 1;
  Node root = *k->root; /* the kernel's own code, not a launch */
  root.kernel = NULL;
  root.next = NULL;
  kernel_consts(&kc, &root);
  private_begin(&kc, k);
  c_stmt(&kc, k->root);
  private_end(&kc, k);
  buf_puts(o, "}\n\n");
}

/* ---- host code ---- */

static void launch(CPrinter *c, const Node *f) {
  const Kernel *k = f->kernel;
  Buf *o = c->out;
  if (k->cluster > 8) {
    c_line_start(c);
    buf_printf(o,
               "PARPY_CHECK(cudaFuncSetAttribute(%s, cudaFuncAttributeNonPortableClusterSizeAllowed, "
               "1), \"allowing %" PRId64 " blocks per cluster for %s\");\n",
               k->name, k->cluster, k->name);
  }
  c_line_start(c);
  /* PARPY_LAUNCH(k, grid, block, shared bytes, stream)(args) is
   * k<<<grid, block, shared bytes, stream>>>(args) under nvcc, and a launch
   * of the CPU simulator under PARPY_CUDA_SIM (parpy_cuda.h). */
  buf_printf(o, "PARPY_LAUNCH(%s, dim3(%" PRId64 ", %" PRId64 ", %" PRId64 "), dim3(%" PRId64 ", 1, 1), 0, stream)(",
             k->name, k->grid[0], k->grid[1], k->grid[2], k->tpb);
  for (int i = 0; i < k->nparams; i++) {
    if (i)
      buf_puts(o, ", ");
    c_expr(c, k->params[i]);
  }
  buf_puts(o, ");");
  c_loop_comment(c, f);
  buf_puts(o, "\n");
  c_line_start(c);
  buf_printf(o, "PARPY_CHECK_LAUNCH(\"%s\");\n", k->name);
}

/* The kernel's position in p->kernels: its index in <f>__kernels. */
static int kernel_index(const Prog *p, const Kernel *k) {
  int i = 0;
  for (const Kernel *q = p->kernels; q && q != k; q = q->next)
    i++;
  return i;
}

/* On the NVRTC path the host code is C and launches through ParPy's table
 * (parpy_cuda_host.h): each argument goes into a local of the kernel
 * parameter's type, whose address cuLaunchKernel takes. */
static void launch_nvrtc(CPrinter *c, const Node *f) {
  const Kernel *k = f->kernel;
  Buf *o = c->out;
  c_line_start(c);
  buf_puts(o, "{");
  c_loop_comment(c, f);
  buf_puts(o, "\n");
  c->depth++;
  for (int i = 0; i < k->nparams; i++) {
    const Node *n = k->params[i];
    const Type *t = n->kind == N_FIELD ? n->ty : n->sym->ty;
    c_line_start(c);
    buf_printf(o, "%s %sparpy_a%d = ", c_type_name(t->elem), t->kind == TY_ARRAY ? "*" : "", i);
    c_expr(c, n);
    buf_puts(o, ";\n");
  }
  c_line_start(c);
  if (k->nparams == 0) {
    buf_puts(o, "void **parpy_args = NULL;\n");
  } else {
    buf_puts(o, "void *parpy_args[] = {");
    for (int i = 0; i < k->nparams; i++)
      buf_printf(o, "%s&parpy_a%d", i ? ", " : "", i);
    buf_puts(o, "};\n");
  }
  c_line_start(c);
  buf_printf(o, "PARPY_CHECK(parpy_api->launch(parpy_functions[%d], %" PRId64 ", %" PRId64
                ", %" PRId64 ", %" PRId64 ", stream, parpy_args), \"launching the kernel %s\");\n",
             kernel_index(c->p, k), k->grid[0], k->grid[1], k->grid[2], k->tpb, k->name);
  c->depth--;
  c_line_start(c);
  buf_puts(o, "}\n");
}

static void host_for(CPrinter *c, const Node *f) {
  if (f->kernel && c->p->opt.cuda_nvrtc) {
    launch_nvrtc(c, f);
    return;
  }
  if (f->kernel) {
    launch(c, f);
    return;
  }
  c_for_loop(c, f);
}

static const CDialect host_dialect = {.type_name = c_type_name, .for_loop = host_for,
                                      .binary = cuda_binary, .print_stmt = cuda_print};

static void print_temps(CPrinter *c, bool alloc) {
  Prog *p = c->p;
  Buf *o = c->out;
  for (int i = 0; i < p->ntemps; i++) {
    Sym *t = p->temps[i];
    int64_t bytes = type_numel(t->ty) * elem_size(t->ty->elem);
    if (alloc && p->opt.cuda_nvrtc) {
      buf_printf(o, "  %s *%s = NULL;\n", c_type_name(t->ty->elem), t->cname);
      buf_printf(o,
                 "  PARPY_CHECK(parpy_api->alloc((void **)&%s, %" PRId64 ", stream), "
                 "\"allocating %" PRId64 " bytes for %s\");\n",
                 t->cname, bytes, bytes, t->name);
    } else if (p->opt.cuda_nvrtc) {
      buf_printf(o, "  PARPY_CHECK(parpy_api->release(%s, stream), \"freeing %s\");\n",
                 t->cname, t->name);
    } else if (alloc) {
      buf_printf(o, "  %s *%s = NULL;\n", c_type_name(t->ty->elem), t->cname);
      buf_printf(o,
                 "  PARPY_CHECK(cudaMallocAsync((void **)&%s, %" PRId64 ", stream), "
                 "\"allocating %" PRId64 " bytes for %s\");\n",
                 t->cname, bytes, bytes, t->name);
    } else {
      buf_printf(o, "  PARPY_CHECK(cudaFreeAsync(%s, stream), \"freeing %s\");\n", t->cname,
                 t->name);
    }
  }
}

static void decl_after_comma(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)slot, (void)nth;
  buf_printf(c->out, ", %s *%s", c_type_name(e), name);
}

static void name_after_comma(CPrinter *c, Elem e, const char *name, int slot, int nth) {
  (void)e, (void)slot, (void)nth;
  buf_printf(c->out, ", %s", name);
}

/* ", float *x, float *y" (decl) or ", x, y": the arrays of the entry, the
 * temporaries after them if `temps`, then the entry's slots when scalars
 * are taken at run time (c_const_params reads them). */
static void array_params(CPrinter *c, Fn *m, bool decl, bool temps) {
  Prog *p = c->p;
  c_main_arrays(c, m, decl ? decl_after_comma : name_after_comma);
  for (int i = 0; temps && i < p->ntemps; i++)
    (decl ? decl_after_comma : name_after_comma)(c, p->temps[i]->ty->elem, p->temps[i]->cname,
                                                  -1, -1);
  if (runtime_scalars(m))
    buf_puts(c->out, decl ? ", void **parpy_slots" : ", parpy_slots");
}

/* The host code: `<f>_launch` runs it on a stream; with temporaries,
 * `<f>_run` allocates them around it (so that an error still frees them). */
static void print_host(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  c->fn = m;
  c->d = &host_dialect;
  bool temps = p->ntemps > 0;
  const char *stream_t = p->opt.cuda_nvrtc ? "void *" : "cudaStream_t ";
  buf_printf(o, "static int32_t %s_%s(%sstream", m->name, temps ? "launch" : "run", stream_t);
  array_params(c, m, true, true);
  buf_puts(o, ") {\n");
  c->depth = 1;
  consts_of(c, m->body, true);
  c->depth = 0;
  c_block(c, m->body);
  buf_puts(o, "  return 0;\n}\n\n");
  if (!temps)
    return;
  buf_printf(o, "static int32_t %s_run(%sstream", m->name, stream_t);
  array_params(c, m, true, false);
  buf_puts(o, ") {\n");
  print_temps(c, true);
  buf_printf(o, "  int32_t status = %s_launch(stream", m->name);
  array_params(c, m, false, true);
  buf_puts(o, ");\n");
  print_temps(c, false);
  buf_puts(o, "  return status;\n}\n\n");
}

/* With use_cuda_graphs the first call captures the launches into a graph
 * and later calls replay it; new array addresses mean a new capture, which
 * updates the executable graph in place when it can. */
static void print_graph_entry(CPrinter *c, Fn *m) {
  Buf *o = c->out;
  const char *f = m->name;
  int n = c_main_arrays(c, m, NULL);
  buf_printf(o, "static cudaGraphExec_t %s_graph = NULL;\n", f);
  buf_printf(o, "static const void *%s_graph_args[%d];\n\n", f, n > 0 ? n : 1);
  buf_printf(o, "static int32_t %s(", f);
  c_main_params(c, m);
  buf_printf(o, ") {\n  const void *args[%d] = {", n > 0 ? n : 1);
  Buf list;
  buf_init(&list);
  Buf *save = c->out;
  c->out = &list;
  array_params(c, m, false, false);
  c->out = save;
  buf_puts(o, list.len > 2 ? buf_cstr(&list) + 2 : "NULL");
  buf_printf(o, "};\n"
                "  if (%s_graph && memcmp(args, %s_graph_args, sizeof args) == 0) {\n"
                "    PARPY_CHECK(cudaGraphLaunch(%s_graph, parpy_stream), \"replaying the CUDA graph of %s\");\n"
                "    return 0;\n"
                "  }\n",
             f, f, f, f);
  buf_printf(o, "  cudaStream_t stream;\n"
                "  cudaGraph_t graph;\n"
                "  PARPY_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "
                "\"creating a stream\");\n"
                "  PARPY_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "
                "\"capturing the launches of %s\");\n"
                "  int32_t status = %s_run(stream%s);\n"
                "  cudaError_t end = cudaStreamEndCapture(stream, &graph);\n"
                "  cudaStreamDestroy(stream);\n"
                "  if (status != 0)\n"
                "    return status;\n"
                "  PARPY_CHECK(end, \"capturing the launches of %s\");\n",
             f, f, buf_cstr(&list), f);
  buf_free(&list);
  buf_printf(o, "  cudaGraphExecUpdateResultInfo info;\n"
                "  if (!%s_graph || cudaGraphExecUpdate(%s_graph, graph, &info) != cudaSuccess) {\n"
                "    if (%s_graph)\n"
                "      cudaGraphExecDestroy(%s_graph);\n"
                "    cudaGetLastError(); /* a failed update is not an error */\n"
                "    %s_graph = NULL;\n"
                "    PARPY_CHECK(cudaGraphInstantiate(&%s_graph, graph, 0), \"instantiating the CUDA graph of %s\");\n"
                "  }\n"
                "  cudaGraphDestroy(graph);\n"
                "  memcpy(%s_graph_args, args, sizeof args);\n"
                "  PARPY_CHECK(cudaGraphLaunch(%s_graph, parpy_stream), \"launching the CUDA graph of %s\");\n"
                "  return 0;\n}\n\n",
             f, f, f, f, f, f, f, f, f, f);
}

/* The stream of the call: the caller's (its arrays' stream: PyTorch's
 * current stream, a __cuda_array_interface__'s `stream`), set by the
 * runtime through <f>__set_stream before the entry; per thread, as calls
 * from several threads may run on different streams.  0: the legacy
 * default stream. */
static void print_stream(CPrinter *c) {
  if (c->p->opt.cuda_nvrtc)
    buf_puts(c->out, "static _Thread_local void *parpy_stream = NULL;\n\n");
  else
    buf_puts(c->out, "static thread_local cudaStream_t parpy_stream = 0;\n\n");
}

static void print_main(CPrinter *c, Fn *m) {
  print_stream(c);
  print_host(c, m);
  if (c->p->opt.use_graphs) {
    print_graph_entry(c, m);
    return;
  }
  Buf *o = c->out;
  buf_printf(o, "static int32_t %s(", m->name);
  c_main_params(c, m);
  buf_printf(o, ") {\n  return %s_run(parpy_stream", m->name);
  array_params(c, m, false, false);
  buf_puts(o, ");\n}\n\n");
}

/* Debug mode: before the call, the shadow arrays (allocated once) and a
 * clean record on the device; after it, the record read back (which waits
 * for the kernels: checked calls are synchronous). */
static void print_debug_prepare(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  buf_puts(o, "static int32_t parpy_dbg_prepare(void) {\n"
              "  static const parpy_dbg_rec zero = {};\n");
  for (int i = 0; i < p->nshadows; i++) {
    const Sym *sh = p->shadows[i];
    int64_t n = type_numel(sh->ty);
    buf_printf(o, "  if (!%s_h) {\n"
                  "    PARPY_CHECK(cudaMalloc((void **)&%s_h, %" PRId64 "), \"allocating a shadow "
                  "array of the debug mode\");\n"
                  "    PARPY_CHECK(cudaMemcpyToSymbol(%s, &%s_h, sizeof(int64_t *)), \"setting a "
                  "shadow array of the debug mode\");\n"
                  "  }\n",
               sh->cname, sh->cname, 8 * (n > 0 ? n : 1), sh->cname, sh->cname);
  }
  buf_printf(o, "  PARPY_CHECK(cudaMemcpyToSymbolAsync(parpy_dbg_dev, &zero, sizeof zero, 0, "
                "cudaMemcpyHostToDevice, parpy_stream), \"resetting the record of the debug "
                "mode\");\n"
                "  return 0;\n}\n\n"
                "static int32_t parpy_dbg_collect(parpy_dbg_rec *r) {\n"
                "  PARPY_CHECK(cudaStreamSynchronize(parpy_stream), \"running the kernels of "
                "%s\");\n"
                "  PARPY_CHECK(cudaMemcpyFromSymbol(r, parpy_dbg_dev, sizeof *r), \"reading the "
                "record of the debug mode\");\n"
                "  return 0;\n}\n\n",
             m->name);
}

static void print_debug_convention(CPrinter *c, Fn *m) {
  Buf *o = c->out;
  const char *f = c->p->func->name;
  buf_printf(o, "extern \"C\" int32_t %s__entry(void **args) {\n"
                "  parpy_dbg_begin();\n"
                "  parpy_dbg_rec rec = {};\n"
                "  int32_t rc = %s::parpy_dbg_prepare();\n"
                "  if (rc == 0)\n"
                "    rc = %s::%s(",
             f, NAMESPACE, NAMESPACE, m->name);
  c_args_from_slots(c, m);
  buf_printf(o, ");\n"
                "  if (rc == 0)\n"
                "    rc = %s::parpy_dbg_collect(&rec);\n"
                "  return parpy_dbg_end(rc, &rec);\n}\n",
             NAMESPACE);
  buf_printf(o, "extern \"C\" int32_t %s__error_at(const char **file, const char **func, "
                "int32_t *pos, const char **source) {\n"
                "  return parpy_dbg_where(parpy_dbg_sites, parpy_dbg_nsites, file, func, pos, "
                "source);\n}\n",
             f);
}

static void print_convention(CPrinter *c, Fn *m) {
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
  if (p->opt.debug)
    buf_printf(o, "\";\nextern \"C\" const char *%s__error(void) {\n  return "
                  "parpy_dbg_message(parpy_dbg_sites, parpy_dbg_nsites, parpy_error);\n}\n", f);
  else
    buf_printf(o, "\";\nextern \"C\" const char *%s__error(void) { return parpy_error; }\n", f);
  buf_printf(o, "extern \"C\" void %s__set_stream(void *stream) { %s::parpy_stream = "
                "(cudaStream_t)stream; }\n\n", f, NAMESPACE);
  if (p->opt.debug) {
    print_debug_convention(c, m);
    return;
  }
  buf_printf(o, "extern \"C\" int32_t %s__entry(void **args) {\n  return %s::%s(", f, NAMESPACE,
             m->name);
  c_args_from_slots(c, m);
  buf_puts(o, ");\n}\n");
}

/* The calling convention of the NVRTC path's host part (C): as
 * print_convention, plus the kernels' names, which the runtime looks up in
 * the cubin, and <f>__bind, through which it hands over their handles and
 * the launch table. */
static void print_convention_nvrtc(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  const char *f = p->func->name;
  buf_puts(o, "/* ParPy's calling convention (see the nvcc form of this code), and the kernels\n"
              " * the runtime loads from the cubin NVRTC makes of the part above and hands to\n"
              " * the code with its launch table. */\n");
  buf_printf(o, "const char %s__signature[] = \"", f);
  c_signature(p, o);
  buf_printf(o, "\";\nconst char %s__access[] = \"", f);
  c_access(p, o);
  buf_printf(o, "\";\nconst char *%s__error(void) { return parpy_error; }\n", f);
  buf_printf(o, "void %s__set_stream(void *stream) { parpy_stream = stream; }\n", f);
  buf_printf(o, "const char *const %s__kernels[] = {", f);
  for (Kernel *k = p->kernels; k; k = k->next)
    buf_printf(o, "\"%s\", ", k->name);
  buf_puts(o, "NULL};\n");
  buf_printf(o, "int32_t %s__bind(const ParpyCudaApi *api, void *const *functions) {\n"
                "  parpy_api = api;\n"
                "  for (int i = 0; i < (int)(sizeof parpy_functions / sizeof *parpy_functions); i++)\n"
                "    parpy_functions[i] = functions[i];\n"
                "  return PARPY_CUDA_API_VERSION;\n}\n\n", f);
  buf_printf(o, "int32_t %s__entry(void **args) {\n  return %s(", f, m->name);
  c_args_from_slots(c, m);
  buf_puts(o, ");\n}\n");
}

/* Why this program cannot take the NVRTC path (its host part is plain C
 * launching through cuLaunchKernel), or NULL. */
static const char *nvrtc_refusal(const Prog *p) {
  if (p->opt.use_graphs)
    return "CUDA graphs are captured by nvcc-built host code";
  for (const Kernel *k = p->kernels; k; k = k->next)
    if (k->cluster > 1)
      return "thread-block clusters are launched by nvcc-built host code";
  if (p->opt.nlibs > 0)
    return "opts.libs asks for a link that the NVRTC path does not make";
  if (c_uses_print(p))
    return "print() is formatted by parpy_repr.h, not yet ported to the NVRTC path";
  return NULL;
}

/* The NVRTC path: one file, two parts.  NVRTC defines __CUDACC_RTC__ and
 * compiles the kernels; the C compiler sees the rest. */
static bool emit_nvrtc(Prog *p, Buf *out) {
  CPrinter c = {.p = p, .out = out, .d = &host_dialect};
  buf_printf(out, "/* %s: generated by ParPy %s for the Cuda backend: kernels in CUDA C++ for "
                  "NVRTC,\n * host code in C. */\n%s\n\n", p->func->name, PARPY_VERSION,
             RT_NVRTC_MARK);
  buf_puts(out, "#ifdef __CUDACC_RTC__\n/* ---- the kernels: NVRTC compiles this part ---- */\n");
  if (c_uses_elem(p, EL_F16))
    buf_puts(out, "#define PARPY_HALF\n");
  buf_puts(out, "#include \"parpy_cuda.h\"\n\n");
  c_ext_headers(p, out);
  buf_printf(out, "namespace %s {\n\n", NAMESPACE);
  for (Fn *h = p->helpers; h; h = h->next)
    c_helper(&c, h, h->calls_device ? "static __device__ inline " : "static __host__ __device__ inline ");
  c.fn = p->main;
  for (Kernel *k = p->kernels; k; k = k->next)
    print_kernel(&c, k);
  buf_printf(out, "}  // namespace %s\n\n", NAMESPACE);
  buf_puts(out, "#else\n/* ---- the host code: the C compiler builds this part ---- */\n"
                "#include \"parpy_cuda_host.h\"\n\n");
  int nk = 0;
  for (Kernel *k = p->kernels; k; k = k->next)
    nk++;
  buf_printf(out, "static void *parpy_functions[%d]; /* the kernels, as %s__kernels names them */\n",
             nk > 0 ? nk : 1, p->func->name);
  for (Fn *h = p->helpers; h; h = h->next)
    if (!h->calls_device)
      c_helper(&c, h, "static inline ");
  c.fn = p->main;
  c.d = &host_dialect;
  print_main(&c, p->main);
  print_convention_nvrtc(&c, p->main);
  buf_puts(out, "#endif\n");
  return !failed(p);
}

static bool emit(Prog *p, Buf *out) {
  CPrinter c = {.p = p, .out = out, .d = &host_dialect};
  c_name_functions(p);
  for (Fn *h = p->helpers; h; h = h->next)
    c_assign_names(p, h);
  c_assign_names(p, p->main);
  const char *refusal = p->opt.cuda_nvrtc ? nvrtc_refusal(p) : NULL;
  if (refusal)
    p->opt.cuda_nvrtc = false;
  else if (p->opt.cuda_nvrtc)
    return emit_nvrtc(p, out);
  buf_printf(out, "/* %s: generated by ParPy %s for the Cuda backend (CUDA C++%s%s). */\n",
             p->func->name, PARPY_VERSION, refusal ? "; built with nvcc: " : "",
             refusal ? refusal : "");
  if (c_uses_elem(p, EL_F16))
    buf_puts(out, "#define PARPY_HALF\n");
  if (c_uses_print(p))
    buf_puts(out, "#define PARPY_PRINT\n");
  bool clusters = false;
  for (Kernel *k = p->kernels; k; k = k->next)
    clusters |= k->cluster > 1;
  if (clusters)
    buf_puts(out, "#define PARPY_CLUSTERS\n");
  buf_puts(out, "#include \"parpy_cuda.h\"\n\n");
  if (p->opt.debug) {
    buf_puts(out, "#include \"parpy_debug.h\"\n\n");
    c_check_prelude(&c);
    c_check_shadows_decl(&c);
  }
  c_ext_headers(p, out);
  /* The CUDA and C++ headers declare thousands of names (time, index,
   * clock, ...); in a namespace of its own, a function named like one of
   * them neither clashes with its declaration nor makes calls ambiguous. */
  buf_printf(out, "namespace %s {\n\n", NAMESPACE);
  for (Fn *h = p->helpers; h; h = h->next)
    /* nvcc refuses a __host__ __device__ function calling a __device__ one:
     * a helper reaching a device external is device code only (the gpu
     * lowering made sure the host never calls it). */
    c_helper(&c, h, h->calls_device ? "static __device__ inline " : "static __host__ __device__ inline ");
  c.fn = p->main;
  for (Kernel *k = p->kernels; k; k = k->next)
    print_kernel(&c, k);
  print_main(&c, p->main);
  if (p->opt.debug)
    print_debug_prepare(&c, p->main);
  buf_printf(out, "}  // namespace %s\n\n", NAMESPACE);
  print_convention(&c, p->main);
  return !failed(p);
}

const Target target_cuda = {.backend = BACKEND_CUDA,
                            .name = "Cuda",
                            .lang = "CUDA C++",
                            .src_ext = ".cu",
                            .lower = gpu_lower,
                            .emit = emit,
                            .build_cmd = cuda_build_cmd};
