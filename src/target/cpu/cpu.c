/* cpu.c - the Cpu target: C11 with OpenMP, built by the system C compiler.
 *
 * The outermost parallel loop of each nest becomes `#pragma omp parallel
 * for`; parallel loops nested inside it run sequentially in each thread (a
 * CPU has far fewer cores than a GPU has threads, so one level suffices),
 * except that perfectly nested parallel loops are collapsed into one.
 * The thread counts of labels say how many GPU threads to use; here OpenMP
 * uses one thread per core, which computes the same result.  tpb, clusters
 * and graphs have no meaning on a CPU and are ignored. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#ifndef PARPY_VERSION
#define PARPY_VERSION "dev"
#endif

/* Below this many iterations of a nest's innermost statements, sharing
 * them among threads costs more than it saves: a parallel region costs a
 * few microseconds on an idle machine and far more on a loaded one. */
#define PARALLEL_MIN_WORK 32768

/* An outer parallel loop with at least this many iterations has enough
 * for every thread by itself; collapsing the loops inside it into it would
 * only keep the compiler from vectorising the inner loop. */
#define COLLAPSE_BELOW 256

/* Iterations of the innermost statements of `list` (one per statement
 * that is not a loop), saturating at `cap`; `cap` when not known. */
static int64_t work(const Node *list, int64_t cap) {
  int64_t w = 0;
  for (const Node *s = list; s && w < cap; s = s->next) {
    if (s->kind == N_FOR) {
      int64_t n = cpu_trip_count(s);
      int64_t inner = work(s->body, cap);
      if (n < 0)
        return cap;
      w += n == 0 ? 0 : (inner > cap / n ? cap : n * inner);
    } else if (s->kind == N_WHILE) {
      return cap;
    } else if (s->kind == N_IF) {
      int64_t t = work(s->then, cap), e = work(s->els, cap);
      w += t > e ? t : e;
    } else if (s->kind == N_BLOCK || s->kind == N_GPU) {
      w += work(s->body, cap);
    } else {
      w++;
    }
  }
  return w < cap ? w : cap;
}

/* PARPY_CPU_PARALLEL_MIN_WORK overrides the threshold; the test suite sets
 * it to 0 so that its small inputs still run the OpenMP code paths. */
static int64_t parallel_min_work(void) {
  const char *env = getenv("PARPY_CPU_PARALLEL_MIN_WORK");
  char *end;
  long long v = env && *env ? strtoll(env, &end, 10) : -1;
  return v >= 0 && !*end ? (int64_t)v : PARALLEL_MIN_WORK;
}

static bool too_little_work(const Node *f) {
  Node one = *f;
  one.next = NULL;
  int64_t min = parallel_min_work();
  return min > 0 && work(&one, min) < min;
}

/* How many perfectly nested parallel loops can share one omp loop. */
static int collapse_depth(const Node *f) {
  if (f->par.reduce)
    return 1;
  int64_t n = cpu_trip_count(f);
  if (n >= COLLAPSE_BELOW)
    return 1;
  const Node *g = f->body;
  if (!g || g->next || g->kind != N_FOR || g->par.nthreads == 0 || g->par.reduce)
    return 1;
  if (expr_mentions(g->lo, f->sym) || expr_mentions(g->hi, f->sym))
    return 1;
  return 1 + collapse_depth(g);
}

/* The Cpu printer's state (CPrinter.ctx). */
typedef struct CpuState {
  /* Loops still to print that belong to the `collapse(n)` just printed:
   * nothing may come between them, not even a pragma. */
  int collapsed;
} CpuState;

/* ---- decisions taken at run time ----
 * Shapes are specialised, so trip counts are mostly known when the code is
 * printed; a scalar taken at run time (after it has varied, docs/language.md)
 * or a bound read from an array is not.  Then the code decides as it runs. */

/* Bounds that can be evaluated once more before the loop. */
static bool bounds_known_before(const Node *f) {
  return cpu_simple_value(f->lo) && cpu_simple_value(f->hi);
}

/* `(hi) - (lo) >= k * step`: the loop `f` runs at least about k times
 * (-fwrapv: a difference past the type's range wraps, which only picks
 * the slower of two right ways). */
static void print_trips_at_least(CPrinter *c, const Node *f, int64_t k) {
  Buf *o = c->out;
  int64_t step = f->step > 0 ? f->step : -f->step;
  const Node *big = f->step > 0 ? f->hi : f->lo, *small = f->step > 0 ? f->lo : f->hi;
  buf_puts(o, "(");
  c_expr(c, big);
  buf_puts(o, ") - (");
  c_expr(c, small);
  buf_printf(o, ") >= %" PRId64, k > INT64_MAX / step ? INT64_MAX : k * step);
}

/* An outer parallel loop of unknown trip count over known work per
 * iteration: `if(...)` keeps a call with too little work on one thread. */
static void if_clause(CPrinter *c, const Node *f) {
  int64_t min = parallel_min_work();
  if (min <= 0 || cpu_trip_count(f) >= 0 || !bounds_known_before(f))
    return;
  int64_t inner = work(f->body, min);
  if (inner <= 0 || inner >= min)
    return; /* unknown (counted as min) or enough in one iteration */
  buf_puts(c->out, " if(");
  print_trips_at_least(c, f, (min + inner - 1) / inner);
  buf_puts(c->out, ")");
}

/* OpenMP's own max/min reductions drop NaN (they compare with < and >);
 * NumPy's propagate it, so float max/min use the reductions parpy_cpu.h
 * declares with parpy_max_<t>/parpy_min_<t>.  `depth`: the loops to
 * collapse, 1 for none. */
static void pragma_depth(CPrinter *c, const Node *f, const char *red_var, Elem e, int depth) {
  c_line_start(c);
  buf_puts(c->out, "#pragma omp parallel for");
  if (depth > 1) {
    buf_printf(c->out, " collapse(%d)", depth);
    ((CpuState *)c->ctx)->collapsed = depth - 1;
  }
  if (red_var && elem_is_float(e) && (f->red_op == OP_MAX || f->red_op == OP_MIN))
    buf_printf(c->out, " reduction(parpy_%s_%s: %s)", cpu_omp_op(f->red_op), elem_short(e), red_var);
  else if (red_var)
    buf_printf(c->out, " reduction(%s: %s)", cpu_omp_op(f->red_op), red_var);
  if_clause(c, f);
  buf_puts(c->out, "\n");
}

static void pragma(CPrinter *c, const Node *f, const char *red_var, Elem e) {
  pragma_depth(c, f, red_var, e, collapse_depth(f));
}

/* Collapsing loops only pays when the outer one alone has too few
 * iterations for the threads: it keeps gcc from vectorising the inner
 * loop (Jacobi 2-D ran 3x slower).  With the outer trip count unknown,
 * the nest is printed twice and the count picks one. */
static bool collapse_at_run_time(CPrinter *c, const Node *f) {
  int depth = collapse_depth(f);
  if (depth < 2 || cpu_trip_count(f) >= 0 || !bounds_known_before(f))
    return false;
  c_line_start(c);
  buf_puts(c->out, "if (");
  print_trips_at_least(c, f, COLLAPSE_BELOW);
  buf_puts(c->out, ") {\n");
  c->depth++;
  pragma_depth(c, f, NULL, EL_I64, 1);
  c_for_loop(c, f);
  c->depth--;
  c_line_start(c);
  buf_printf(c->out, "} else { /* too few iterations for the threads: collapse(%d) */\n", depth);
  c->depth++;
  pragma_depth(c, f, NULL, EL_I64, depth);
  c_for_loop(c, f);
  c->depth--;
  c_line_start(c);
  buf_puts(c->out, "}\n");
  return true;
}

/* A parallel reduction into an array element that cpu_reduction does not
 * take: reduce into a local that starts from the element (OpenMP combines
 * the original value with the threads' partial results), then store it. */
static void reduction_into_element(CPrinter *c, const Node *f) {
  Prog *p = c->p;
  const Node *target = f->red_target;
  Sym *acc = c_new_local(c, target->lhs->kind == N_VAR
                                ? arena_printf(&p->arena, "%s_acc", target->lhs->sym->name)
                                : "acc",
                         target->ty);
  Node *v = new_var(p, acc, f->span);
  Node loop = *f;
  loop.body = cpu_replace(&p->arena, f->body, target, v);
  c_line_start(c);
  buf_puts(c->out, "{\n");
  c->depth++;
  c_line_start(c);
  c_type(c, acc->ty);
  buf_printf(c->out, " %s = ", acc->cname);
  c_expr(c, target);
  buf_puts(c->out, ";\n");
  pragma(c, f, acc->cname, acc->ty->elem);
  c_for_loop(c, &loop);
  c_line_start(c);
  c_expr(c, target);
  buf_printf(c->out, " = %s;\n", acc->cname);
  c->depth--;
  c_line_start(c);
  buf_puts(c->out, "}\n");
}

/* ---- scatter updates of one small array ---- */

/* The .reduce() loop of a histogram (`hist[b[i]] += 1`) updates elements
 * atomically.  When all its updates go to one small array with one
 * operator, an OpenMP array reduction gives each thread a private copy
 * instead, combined at the end: no atomic per update, no cache line
 * bouncing between cores.  Up to this many elements (each thread zeroes
 * and adds a copy), and only with 16 times as many iterations. */
#define ARRAY_REDUCTION_MAX 4096
#define SCATTER_MAX 16

typedef struct Scatter {
  const Sym *array;
  Op op;
  int n;
  Node *updates[SCATTER_MAX];
} Scatter;

static bool mentions_sym(const Node *n, const Sym *s);

static bool list_mentions(const Node *list, const Sym *s) {
  for (const Node *x = list; x; x = x->next)
    if (mentions_sym(x, s))
      return true;
  return false;
}

static bool mentions_sym(const Node *n, const Sym *s) {
  if (!n)
    return false;
  if ((n->kind == N_VAR || n->kind == N_FOR || n->kind == N_DECL) && n->sym == s)
    return true;
  const Node *kids[] = {n->lhs, n->rhs, n->cond, n->lo, n->hi, n->step_expr};
  for (size_t i = 0; i < PP_COUNT(kids); i++)
    if (mentions_sym(kids[i], s))
      return true;
  return list_mentions(n->args, s) || list_mentions(n->then, s) || list_mentions(n->els, s) ||
         list_mentions(n->body, s);
}

static bool array_reduction_op(Op op, Elem e) {
  if (e == EL_BOOL || e == EL_F16 || e == EL_BF16)
    return false;
  switch (op) {
  case OP_ADD:
  case OP_MUL: return true;
  case OP_MAX:
  case OP_MIN: /* OpenMP's float max/min would drop NaN */
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR: return elem_is_int(e);
  default: return false;
  }
}

/* Collect the atomic updates of `list`; false if they are not all
 * `A[...] op= v` of one array parameter A with one operator. */
static bool collect_updates(Node *list, Scatter *sc) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->atomic) {
      const Node *t = s->lhs;
      if (t->kind != N_SUBSCRIPT || t->lhs->kind != N_VAR || sc->n == SCATTER_MAX)
        return false;
      if (sc->n && (t->lhs->sym != sc->array || s->op != sc->op))
        return false;
      sc->array = t->lhs->sym;
      sc->op = s->op;
      sc->updates[sc->n++] = s;
    }
    if (!collect_updates(s->body, sc) || !collect_updates(s->then, sc) ||
        !collect_updates(s->els, sc))
      return false;
  }
  return true;
}

/* The array is only ever updated, never read otherwise: each thread's
 * copy starts from the identity, not from the array's values. */
static bool only_updated(const Node *list, const Scatter *sc) {
  for (const Node *s = list; s; s = s->next) {
    bool update = false;
    for (int i = 0; i < sc->n; i++)
      update |= sc->updates[i] == s;
    if (update) {
      const Node *u = s->rhs;
      while (u->kind == N_CONVERT)
        u = u->lhs;
      if (list_mentions(s->lhs->args, sc->array) || mentions_sym(u->rhs, sc->array))
        return false;
      continue;
    }
    if (mentions_sym(s->lhs, sc->array) || mentions_sym(s->rhs, sc->array) ||
        mentions_sym(s->cond, sc->array) || mentions_sym(s->lo, sc->array) ||
        mentions_sym(s->hi, sc->array) || list_mentions(s->args, sc->array) ||
        !only_updated(s->body, sc) || !only_updated(s->then, sc) || !only_updated(s->els, sc))
      return false;
  }
  return true;
}

static int64_t array_elems(const Sym *a) {
  const Type *t = a->ty;
  if (!t || t->kind != TY_ARRAY)
    return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->shape[i];
  return n;
}

static bool scatter_loop(CPrinter *c, const Node *f) {
  Scatter sc = {0};
  if (!collect_updates(f->body, &sc) || sc.n == 0 || sc.array->kind != SYM_PARAM ||
      !array_reduction_op(sc.op, sc.array->ty->elem) || !only_updated(f->body, &sc))
    return false;
  int64_t size = array_elems(sc.array), trips = cpu_trip_count(f);
  if (size < 1 || size > ARRAY_REDUCTION_MAX || (trips >= 0 && trips < 16 * size))
    return false;
  c_line_start(c);
  buf_printf(c->out, "#pragma omp parallel for reduction(%s: %s[:%" PRId64 "])\n",
             cpu_omp_op(sc.op), sc.array->cname, size);
  for (int i = 0; i < sc.n; i++)
    sc.updates[i]->atomic = false; /* each thread updates its own copy */
  c_for_loop(c, f);
  for (int i = 0; i < sc.n; i++)
    sc.updates[i]->atomic = true;
  return true;
}

/* ---- unrolling innermost loops ---- */

/* gcc vectorises a loop like matmul's `c[i, j] += aik * b[k, j]` but runs
 * one vector per iteration, its counter and branch in the way of the loads
 * and stores; LLVM (Numba) interleaves four.  `#pragma GCC unroll 8` made
 * that loop 1.4x faster (and faster than Numba's), and is asked for where
 * it pays: innermost loops (no loop, while or if inside) of at least
 * UNROLL_MIN_TRIPS iterations whose statements only store into array
 * elements indexed by the loop variable or into locals of the body, so
 * that no iteration waits for the one before.  A running sum
 * (`s += vals[k] * x[cols[k]]`, in order) stays one chain however it is
 * unrolled: unrolled it measured 1.3x slower, and -funroll-loops for whole
 * files slowed the pairwise sums' block loops 1.6x.  PARPY_CPU_UNROLL,
 * read when the code is generated, sets the factor (0 or 1: none). */
#define UNROLL 8
#define UNROLL_MIN_TRIPS 16

static int unroll_factor(void) {
  const char *env = getenv("PARPY_CPU_UNROLL");
  char *end;
  long v = env && *env ? strtol(env, &end, 10) : -1;
  return v >= 0 && v <= 64 && !*end ? (int)v : UNROLL;
}

/* `#pragma GCC unroll k` for the loop printed next. */
static void print_unroll(CPrinter *c, int k) {
  c_line_start(c);
  buf_puts(c->out, "parpy_unroll_here(0); /* see parpy_cpu.h */\n");
  c_line_start(c);
  buf_printf(c->out, "#pragma GCC unroll %d\n", k);
}

static bool independent_iterations(const Node *f) {
  for (const Node *s = f->body; s; s = s->next) {
    if (s->kind == N_DECL)
      continue;
    if (s->kind != N_ASSIGN || s->atomic)
      return false;
    const Node *t = s->lhs;
    if (t->kind == N_VAR && s->is_decl)
      continue;
    if (t->kind != N_SUBSCRIPT || !list_mentions(t->args, f->sym))
      return false;
  }
  return f->body != NULL;
}

static void sequential_loop(CPrinter *c, const Node *f) {
  CpuState *st = c->ctx;
  if (st->collapsed > 0) {
    st->collapsed--;
    c_for_loop(c, f);
    return;
  }
  int64_t n = cpu_trip_count(f);
  int k = unroll_factor();
  if (k > 1 && !c->p->opt.debug && (n < 0 || n >= UNROLL_MIN_TRIPS) &&
      independent_iterations(f))
    print_unroll(c, k);
  c_for_loop(c, f);
}

/* An escape-time loop (`while k < maxit and zr*zr + zi*zi <= 4.0`, Newton
 * steps) is one chain of dependent iterations, but unrolled it loses a
 * branch and register copies per step: Mandelbrot ran 1.1x faster, level
 * with Numba.  gcc ignores an unroll pragma on a loop whose condition is
 * `a && b`, so the printed loop tests the first operand and breaks on the
 * others, in the same order.  Innermost loops with few statements only. */
#define WHILE_UNROLL 4
#define WHILE_MAX_STMTS 16
#define WHILE_MAX_TERMS 8

/* Statements of `list` at any depth; past `max` for loops inside. */
static int small_body(const Node *list, int max) {
  int n = 0;
  for (const Node *s = list; s && n <= max; s = s->next) {
    if (s->kind == N_FOR || s->kind == N_WHILE)
      return max + 1;
    n += 1 + small_body(s->then, max) + small_body(s->els, max) +
         (s->kind == N_BLOCK ? small_body(s->body, max) : 0);
  }
  return n;
}

/* The operands of the `and` chain `e`, left to right; false past `max`. */
static bool and_terms(const Node *e, const Node **terms, int *n, int max) {
  if (e->kind == N_BINARY && e->op == OP_AND && e->ty && e->ty->elem == EL_BOOL)
    return and_terms(e->lhs, terms, n, max) && and_terms(e->rhs, terms, n, max);
  if (*n == max)
    return false;
  terms[(*n)++] = e;
  return true;
}

static bool cpu_while(CPrinter *c, const Node *w) {
  const Node *terms[WHILE_MAX_TERMS];
  int n = 0, k = unroll_factor();
  if (k > WHILE_UNROLL)
    k = WHILE_UNROLL;
  if (k <= 1 || c->p->opt.debug || small_body(w->body, WHILE_MAX_STMTS) > WHILE_MAX_STMTS ||
      !and_terms(w->cond, terms, &n, WHILE_MAX_TERMS))
    return false;
  Buf *o = c->out;
  print_unroll(c, k);
  c_line_start(c);
  buf_puts(o, "while (");
  expr_prec(c, terms[0], P_AND + 1);
  buf_puts(o, ") {\n");
  c->depth++;
  for (int i = 1; i < n; i++) {
    c_line_start(c);
    buf_puts(o, "if (!");
    expr_prec(c, terms[i], P_UNARY);
    buf_puts(o, ")\n");
    c->depth++;
    c_line_start(c);
    buf_puts(o, "break;\n");
    c->depth--;
  }
  c->depth--;
  c_block(c, w->body);
  c_line_start(c);
  buf_puts(o, "}\n");
  return true;
}

static void cpu_for(CPrinter *c, const Node *f) {
  if (!f->par_outer) {
    if (!cpu_reduction(c, f, false))
      sequential_loop(c, f);
    return;
  }
  if (too_little_work(f)) {
    c_line_start(c);
    buf_puts(c->out, "/* too little work to share among threads: runs on one */\n");
    if (!cpu_reduction(c, f, false))
      c_for_loop(c, f);
    return;
  }
  if (f->par.reduce && cpu_reduction(c, f, true))
    return;
  if (f->par.reduce && f->red_target && f->red_target->kind != N_VAR) {
    reduction_into_element(c, f);
    return;
  }
  if (!f->par.reduce && (scatter_loop(c, f) || collapse_at_run_time(c, f)))
    return;
  const Sym *red = f->par.reduce && f->red_target ? f->red_target->sym : NULL;
  pragma(c, f, red ? red->cname : NULL, red && red->ty ? red->ty->elem : EL_I64);
  c_for_loop(c, f);
}

static const CDialect cpu_dialect = {
    .type_name = c_type_name, .for_loop = cpu_for, .while_loop = cpu_while};

/* ---- functions ---- */

/* What `print` writes for main (its parameters, or its arguments from the
 * slots), as a string, "" for none. */
static const char *printed(CPrinter *c, Fn *m, void (*print)(CPrinter *, Fn *)) {
  Buf b, *saved = c->out;
  buf_init(&b);
  c->out = &b;
  print(c, m);
  c->out = saved;
  const char *s = arena_printf(&c->p->arena, "%s", buf_cstr(&b));
  buf_free(&b);
  return strcmp(s, "void") == 0 ? "" : s;
}

#define TEMPS_OOM "out of memory: no room for the temporary copy of a slice statement's right-hand side"

/* Large slice temporaries (passes/temps.c) are allocated for each call by
 * the entry and passed to main before its arrays. */
static void temps_params(CPrinter *c, bool decl) {
  Prog *p = c->p;
  for (int i = 0; i < p->ntemps; i++) {
    Sym *t = p->temps[i];
    if (decl)
      buf_printf(c->out, "%s%s *%s", i ? ", " : "", c_type_name(t->ty->elem), t->cname);
    else
      buf_printf(c->out, "%s%s", i ? ", " : "", t->cname);
  }
}

/* The entry's call of main into `rc`: with large slice temporaries, each
 * allocated first (rc stays 1 when one cannot be) and freed after. */
static const char *call_of_main(CPrinter *c, Fn *m, const char *rc) {
  Prog *p = c->p;
  Buf b, *saved = c->out;
  buf_init(&b);
  c->out = &b;
  for (int i = 0; i < p->ntemps; i++) {
    Sym *t = p->temps[i];
    const char *ty = c_type_name(t->ty->elem);
    buf_printf(&b, "  %s *%s = (%s *)__builtin_malloc(%" PRId64 ");\n", ty, t->cname, ty,
               type_numel(t->ty) * elem_size(t->ty->elem));
  }
  if (p->ntemps) {
    buf_printf(&b, "  int32_t %s = 1;\n  if (", rc);
    for (int i = 0; i < p->ntemps; i++)
      buf_printf(&b, "%s%s", i ? " && " : "", p->temps[i]->cname);
    buf_printf(&b, ")\n    %s = %s(", rc, m->name);
  } else
    buf_printf(&b, "  int32_t %s = %s(", rc, m->name);
  temps_params(c, false);
  const char *args = printed(c, m, c_args_from_slots);
  buf_printf(&b, "%s%s);\n", p->ntemps && args[0] ? ", " : "", args);
  for (int i = 0; i < p->ntemps; i++)
    buf_printf(&b, "  __builtin_free(%s);\n", p->temps[i]->cname);
  c->out = saved;
  const char *s = arena_printf(&p->arena, "%s", buf_cstr(&b));
  buf_free(&b);
  return s;
}

static void print_entry_with_temps(CPrinter *c, Fn *m) {
  Buf *o = c->out;
  const char *f = c->p->func->name;
  buf_printf(o, "const char *%s__error(void) {\n", f);
  buf_printf(o, "  return \"%s\";\n}\n\n", TEMPS_OOM);
  buf_printf(o, "int32_t %s__entry(void **args) {\n%s", f, call_of_main(c, m, "parpy_status"));
  buf_puts(o, "  return parpy_status;\n}\n");
}

static void print_entry(CPrinter *c, Fn *m) {
  Prog *p = c->p;
  Buf *o = c->out;
  if (p->opt.debug) { /* the same, and the checks' lock and messages */
    buf_puts(o, "/* ParPy's calling convention (debug mode): the specialisation, the arguments\n"
                " * written, an entry point taking the arguments as an array, and the message\n"
                " * and Python position of a failed check. */\n");
    buf_printf(o, "const char %s__signature[] = \"", p->func->name);
    c_signature(p, o);
    buf_printf(o, "\";\nconst char %s__access[] = \"", p->func->name);
    c_access(p, o);
    buf_puts(o, "\";\n\n");
    c_check_entry_cpu(c, call_of_main(c, m, "rc"), c->p->ntemps ? TEMPS_OOM : NULL);
    return;
  }
  buf_puts(o, "/* ParPy's calling convention: the specialisation this code was generated for,\n"
              " * which arguments it writes, and an entry point taking the arguments as an\n"
              " * array.  Keep them when you edit the code above and pass it to\n"
              " * parpy.compile_string. */\n");
  buf_printf(o, "const char %s__signature[] = \"", p->func->name);
  c_signature(p, o);
  buf_printf(o, "\";\nconst char %s__access[] = \"", p->func->name);
  c_access(p, o);
  buf_puts(o, "\";\n\n");
  if (p->ntemps) {
    print_entry_with_temps(c, m);
    return;
  }
  buf_printf(o, "int32_t %s__entry(void **args) {\n  return %s(", p->func->name, m->name);
  c_args_from_slots(c, m);
  buf_puts(o, ");\n}\n");
}

static void print_main(CPrinter *c, Fn *m) {
  c->fn = m;
  Buf *o = c->out;
  /* static, as the helpers are: the library exports only the calling
   * convention's <f>__ names, so a function named like a libc symbol
   * (select, time, random) neither hides nor binds to libc's. */
  buf_printf(o, "static int32_t %s(", m->name);
  if (c->p->ntemps) {
    temps_params(c, true);
    const char *params = printed(c, m, c_main_params);
    buf_printf(o, "%s%s", params[0] ? ", " : "", params);
  } else {
    c_main_params(c, m);
  }
  buf_puts(o, ") {\n");
  c->depth = 1;
  c_const_params(c, m->body);
  c->depth = 0;
  c_block(c, m->body);
  buf_puts(o, "  return 0;\n}\n\n");
}

static bool emit(Prog *p, Buf *out) {
  CpuState state = {0};
  CPrinter c = {.p = p, .out = out, .d = &cpu_dialect, .ctx = &state};
  c_name_functions(p);
  for (Fn *h = p->helpers; h; h = h->next)
    c_assign_names(p, h);
  c_assign_names(p, p->main);
  buf_printf(out,
             "/* %s: generated by ParPy %s for the Cpu backend (C11 with OpenMP). */\n"
             "%s#include \"parpy_cpu.h\"\n\n",
             p->func->name, PARPY_VERSION,
             /* print() needs <stdio.h>, whose names a program without it may use */
             c_uses_print(p) ? "#define PARPY_PRINT\n" : "");
  if (p->opt.debug) {
    buf_puts(out, "#include \"parpy_debug.h\"\n\n");
    c_check_prelude(&c);
    c_check_shadows_decl(&c);
  }
  c_ext_headers(p, out);
  for (Fn *h = p->helpers; h; h = h->next)
    c_helper(&c, h, "static inline ");
  print_main(&c, p->main);
  print_entry(&c, p->main);
  return !failed(p);
}

/* ---- building ---- */

static const char **build_cmd(const Options *opt, const char *src, const char *lib,
                              const char *incdir, Arena *a) {
  int n = 24 + opt->nincludes + opt->nlibs + opt->nextra_flags;
  const char **argv = ARENA_ARRAY(a, const char *, n);
  int k = 0;
  const char *cc = getenv("CC");
  argv[k++] = cc && *cc ? cc : "cc";
  argv[k++] = "-std=gnu11";
  argv[k++] = "-O3";
  argv[k++] = "-march=native";
  argv[k++] = "-fwrapv";
  argv[k++] = "-fexcess-precision=standard";
  /* No contraction of a*b+c into one fused multiply-add: NumPy rounds the
   * product and the sum separately, and results must be its bit for bit
   * (gcc contracts by default wherever the CPU has FMA, even for float16
   * with AVX512-FP16).  extra_flags come later and may turn it back on. */
  argv[k++] = "-ffp-contract=off";
  /* Math functions may leave errno alone (nothing reads it), so that
   * sqrt is one instruction and loops of expf, logf, ... call glibc's
   * vector versions (libmvec).  Not -ffast-math: NaN, infinities, signed
   * zeros and the order of float operations stay NumPy's. */
  argv[k++] = "-fno-math-errno";
  /* ... but with it gcc rewrites pow(x, 0.5) as sqrt(x), which differs at
   * -inf and -0.0 (Python and NumPy scalars give inf and 0.0). */
  argv[k++] = "-fno-builtin-pow";
  argv[k++] = "-fno-builtin-powf";
  /* gcc's RTL global CSE hoists a square shared by a loop's test and its
   * update, at the price of a register copy on the loop's critical path
   * (Mandelbrot's 12-cycle chain became 13, and 1.04x Numba's time). Tree
   * level PRE still runs; no other kernel of bench/cpu.py moved. */
  argv[k++] = "-fno-gcse";
  argv[k++] = "-fopenmp";
  argv[k++] = "-shared";
  argv[k++] = "-fPIC";
  argv[k++] = arena_printf(a, "-I%s", incdir);
  for (int i = 0; i < opt->nincludes; i++)
    argv[k++] = arena_printf(a, "-I%s", opt->includes[i]);
  for (int i = 0; i < opt->nlibs; i++)
    argv[k++] = arena_printf(a, "-L%s", opt->libs[i]);
  for (int i = 0; i < opt->nextra_flags; i++)
    argv[k++] = opt->extra_flags[i];
  argv[k++] = src;
  argv[k++] = "-o";
  argv[k++] = lib;
  argv[k++] = "-lm";
  argv[k] = NULL;
  return argv;
}

const Target target_cpu = {
    .backend = BACKEND_CPU, .name = "Cpu", .lang = "C", .src_ext = ".c", .emit = emit, .build_cmd = build_cmd};
