/* cuda.c - the Cuda target: CUDA C++ with one kernel per parallel nest
 * (kernels.c) and a host function that launches them (host.c).  Here: the
 * file's layout, the calling convention, the debug mode's record, and the
 * NVRTC path (device code compiled by NVRTC, host code in C). */
#include <inttypes.h>
#include <string.h>

#include "../../runtime/runtime.h"
#include "build.h"
#include "cuda.h"

#ifndef PARPY_VERSION
#define PARPY_VERSION "dev"
#endif

/* The namespace of the code's own functions (print_convention, emit). */
#define NAMESPACE "parpy_code"

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
  gpu_convention_strings(c);
  if (p->opt.debug)
    buf_printf(o, "extern \"C\" const char *%s__error(void) {\n  return "
                  "parpy_dbg_message(parpy_dbg_sites, parpy_dbg_nsites, parpy_error);\n}\n", f);
  else
    buf_printf(o, "extern \"C\" const char *%s__error(void) { return parpy_error; }\n", f);
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
  CPrinter c = {.p = p, .out = out, .d = &cuda_host_dialect};
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
    cuda_print_kernel(&c, k);
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
  c.d = &cuda_host_dialect;
  cuda_print_main(&c, p->main);
  print_convention_nvrtc(&c, p->main);
  buf_puts(out, "#endif\n");
  return !failed(p);
}

static bool emit(Prog *p, Buf *out) {
  CPrinter c = {.p = p, .out = out, .d = &cuda_host_dialect};
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
    cuda_print_kernel(&c, k);
  cuda_print_main(&c, p->main);
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
