/* host.c - the host side of the Cuda target: the function launching the
 * kernels on the call's stream (or capturing them into a CUDA graph), with
 * the temporaries it allocates.  Every CUDA call is checked; an error
 * returns 1 and leaves its message (naming the kernel) for <f>__error(). */
#include <inttypes.h>
#include <string.h>

#include "cuda.h"

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

const CDialect cuda_host_dialect = {.type_name = c_type_name, .for_loop = host_for,
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
  if (cuda_runtime_scalars(m))
    buf_puts(c->out, decl ? ", void **parpy_slots" : ", parpy_slots");
}

/* The host code: `<f>_launch` runs it on a stream; with temporaries,
 * `<f>_run` allocates them around it (so that an error still frees them). */
static void print_host(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  c->fn = m;
  c->d = &cuda_host_dialect;
  bool temps = p->ntemps > 0;
  const char *stream_t = p->opt.cuda_nvrtc ? "void *" : "cudaStream_t ";
  buf_printf(o, "static int32_t %s_%s(%sstream", m->name, temps ? "launch" : "run", stream_t);
  array_params(c, m, true, true);
  buf_puts(o, ") {\n");
  c->depth = 1;
  cuda_consts_of(c, m->body, true);
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

void cuda_print_main(CPrinter *c, Fn *m) {
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
