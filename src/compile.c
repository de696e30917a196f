/* compile.c - the pipeline.  This is the one place that lists the passes in
 * order; read it to see how a decorated function becomes code. */
#include <time.h>

#include "ast.h"
#include "target/target.h"

typedef struct Pass {
  const char *name;
  bool (*run)(Prog *p);
} Pass;

static bool target_lower(Prog *p) {
  const Target *t = target_get(p->opt.backend);
  return !t->lower || t->lower(p);
}

static const Pass passes[] = {
    {"resolve", resolve_names},   /* clone the tree, bind names, builtins, labels */
    {"inline", inline_calls},     /* statement calls of jit functions */
    {"webs", split_webs},       /* a local each loop assigns before reading: its own */
    {"specialise", specialise},   /* parameters from the call's arguments */
    {"types", check_types},       /* NumPy 2 typing, conversions, slice shapes */
    {"slices", lower_slices},     /* slice statements and reductions become loops */
    {"parallel", plan_parallel},  /* labels to LoopPar, reduction forms */
    {"bfloat16", lower_bfloat16}, /* bfloat16 operations in float32, rounded */
    {"races", check_array_races}, /* races on arrays in parallel loops */
    {"temps", place_slice_temps}, /* slice temporaries: stack or allocated memory */
    {"target", target_lower},     /* GPU targets: kernels, grids, barriers */
    {"scopes", place_decls},      /* where locals are declared; parallel races */
    {"checks", insert_checks},    /* debug mode: bounds, races, division by zero */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void prog_init(Prog *p, Func *main, const Options *opt) {
  *p = (Prog){0};
  arena_init(&p->arena);
  buf_init(&p->debug);
  p->func = main;
  p->opt = *opt;
  p->t_start = now();
}

void prog_free(Prog *p) {
  buf_free(&p->debug);
  arena_free(&p->arena);
}

static void debug_dump(Prog *p, const char *after) {
  buf_printf(&p->debug, "===== after %s (%.0f us) =====\n", after, (now() - p->t_start) * 1e6);
  for (Fn *f = p->helpers; f; f = f->next)
    print_fn(f, &p->debug);
  if (p->main)
    print_fn(p->main, &p->debug);
  buf_puts(&p->debug, "\n");
}

bool compile_prog(Prog *p, Buf *code) {
  const Target *t = target_get(p->opt.backend);
  if (!t) {
    Span none = {0};
    return err(p, DIAG_RUNTIME, none, "the %s backend is not supported by this build of ParPy",
               backend_name(p->opt.backend));
  }
  for (size_t i = 0; i < PP_COUNT(passes); i++) {
    if ((passes[i].run == target_lower && !t->lower) || (passes[i].run == insert_checks && !p->opt.debug))
      continue; /* nothing to do: no empty debug dump */
    if (!passes[i].run(p) || failed(p))
      return false;
    if (p->opt.debug_print)
      debug_dump(p, passes[i].name);
  }
  if (!t->emit(p, code))
    return false;
  if (p->opt.debug_print)
    buf_printf(&p->debug, "===== generated %s code (%.0f us) =====\n%s\n", t->lang,
               (now() - p->t_start) * 1e6, buf_cstr(code));
  return true;
}
