/* kernels.c - the device side of the Cuda target: the kernels, in CUDA
 * C++.  Kernels print their parallel loops with the mapping that src/gpu
 * chose: a loop over layer j starts at `lo + step * t` where t is the
 * thread's index in that layer (threadIdx.x, blockIdx.y, ...) and strides
 * by the layer's size; a loop with no more iterations than threads prints
 * as a plain block that each thread runs at most once. */
#include <inttypes.h>
#include <string.h>

#include "cuda.h"
#include "sum.h"

/* CUDA's names of a thread's position. */
static const GpuNames cuda_names = {.thread = "threadIdx", .block = "blockIdx"};

/* ---- kernels ---- */

/* After a reduction loop: combine the threads' accumulators. */
static void combine(CPrinter *c, const Kernel *k, const Node *f) {
  const Layer *l = &k->layers[f->layer];
  const Node *acc = f->red_target;
  Buf *o = c->out;
  if (l->T == 1)
    return;
  const char *scope = f->cluster ? "cluster" : l->T > 32 || l->blocks > 1 ? "block" : "warp";
  c_line_start(c);
  buf_printf(o, "%s = parpy_%s_reduce<%s>(%s", acc->sym->cname, scope, gpu_red_functor(f->red_op),
             acc->sym->cname);
  if (strcmp(scope, "warp") != 0) {
    buf_puts(o, ", ");
    c_expr(c, identity_of(&c->p->arena, f->red_op, acc->sym->ty, f->span));
  }
  buf_puts(o, ");\n");
  gpu_store_partial(c, &cuda_names, f, acc->sym->cname);
}

/* The declaration of a coarsened loop's variable: lo + step * t for the
 * thread's iteration t (the C expression `t`, below 2^31), in the loop's
 * type. */
static void coarse_var(CPrinter *c, const Node *f, const char *t) {
  Buf *o = c->out;
  c_line_start(c);
  buf_printf(o, "%s %s = ", c_type_name(f->sym->ty->elem), f->sym->cname);
  int64_t mag = gpu_start_prefix(c, f);
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
  bool used = gpu_body_uses_var(f);
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
  int64_t trips = 0;
  if (k->coarsen && f == k->root) {
    print_coarsened(c, f);
    return;
  }
  bool once = gpu_trips(f, &trips) && trips <= l->T;
  CudaSum sum;
  bool compensated = !once && cuda_sum_begin(c, f, &sum);
  gpu_mapped_open(c, &cuda_names, f, once, trips);
  if (f->layer == k->nlayers - 1 && l->blocks == 1 && l->T < gpu_round_threads(l->n) &&
      !f->all_threads) {
    c->depth++;
    c_line_start(c);
    buf_printf(o, "/* coarsened: %" PRId64 " threads, not %" PRId64 ", run this level */\n", l->T,
               gpu_round_threads(l->n));
    c->depth--;
  }
  gpu_mapped_var(c, &cuda_names, f, once);
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

static void device_for(CPrinter *c, const Node *f) {
  if (f->all_threads) {
    gpu_all_threads(c, f);
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

static void device_expr(CPrinter *c, const Node *n) { gpu_device_expr(c, &cuda_names, n); }

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
bool cuda_binary(CPrinter *c, const Node *n) {
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
void cuda_print(CPrinter *c, const Node *s) {
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
bool cuda_runtime_scalars(const Fn *m) {
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
void cuda_consts_of(CPrinter *c, const Node *body, bool runtime) {
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
  cuda_consts_of(c, root, false);
}

void cuda_print_kernel(CPrinter *c, Kernel *k) {
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
