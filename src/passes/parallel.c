/* parallel.c - decide how each loop runs.  A loop's labels are looked up in
 * opts.parallelize and their LoopPars merged (thread counts must agree, as
 * must non-default threads per block); a parallel loop marked as a
 * reduction must have the one shape every backend can parallelise,
 * `target = target op value`.  The function must contain some parallelism
 * (a label of the options or a `with parpy.gpu` block), as in ParPy 0.1.3,
 * so that a typo in a label does not silently run everything sequentially.
 * Each nest of parallel loops shares one threads-per-block value. */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "../ast.h"

typedef struct Planner {
  Prog *p;
  bool found;  /* some label of the options, or a gpu block */
  int64_t nest_tpb;
  Span nest_span;
  Node *nest_root;
} Planner;

static const LoopPar *lookup_par(const Options *o, const char *label) {
  for (int i = 0; i < o->npar; i++)
    if (o->par[i].label == label)
      return &o->par[i].par;
  return NULL;
}

static bool merge_labels(Planner *pl, Node *f) {
  LoopPar m = {0, false, PP_DEFAULT_TPB};
  const char *tlabel = NULL, *blabel = NULL;
  for (int i = 0; i < f->labels.n; i++) {
    const char *l = f->labels.names[i];
    const LoopPar *lp = lookup_par(&pl->p->opt, l);
    if (!lp)
      continue;
    pl->found = true;
    if (lp->nthreads) {
      if (m.nthreads && m.nthreads != lp->nthreads)
        return err(pl->p, DIAG_RUNTIME, f->span,
                   "the labels '%s' and '%s' of this loop ask for different numbers of threads "
                   "(%" PRId64 " and %" PRId64 ")",
                   tlabel, l, m.nthreads, lp->nthreads);
      m.nthreads = lp->nthreads;
      tlabel = l;
    }
    if (lp->tpb != PP_DEFAULT_TPB) {
      if (m.tpb != PP_DEFAULT_TPB && m.tpb != lp->tpb)
        return err(pl->p, DIAG_RUNTIME, f->span,
                   "the labels '%s' and '%s' of this loop ask for different threads per block "
                   "(%" PRId64 " and %" PRId64 ")",
                   blabel, l, m.tpb, lp->tpb);
      m.tpb = lp->tpb;
      blabel = l;
    }
    m.reduce |= lp->reduce;
  }
  /* Reductions made from slices know they reduce; a label with threads is enough. */
  if (f->red_op != OP_NONE)
    m.reduce = true;
  f->par = m;
  return true;
}

static const Node *peel(const Node *n) {
  while (n && n->kind == N_CONVERT)
    n = n->lhs;
  return n;
}

static bool reducible(Op op) {
  switch (op) {
  case OP_ADD:
  case OP_MUL:
  case OP_MAX:
  case OP_MIN:
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR:
  case OP_AND:
  case OP_OR: return true;
  default: return false;
  }
}

/* `t -= v` (`t = t - v`) in a .reduce() loop is `t = t + -v`: exactly the
 * same value at every step (IEEE subtraction is addition of the negation,
 * integers wrap alike), so it reduces with + and every backend's sums
 * serve.  Scientists write `w -= A[i, k] * A[k, j]` (ludcmp, trisolv) as
 * often as `+=`.  Not for bools, which have no negation in NumPy. */
static void sub_as_add(Prog *p, Node *rhs_conv, Node *target) {
  Node *rhs = (Node *)peel(rhs_conv);
  if (rhs->kind != N_BINARY || rhs->op != OP_SUB || !expr_equal(peel(rhs->lhs), target) ||
      !rhs->rhs->ty || rhs->rhs->ty->kind != TY_SCALAR || rhs->rhs->ty->elem == EL_BOOL)
    return;
  Node *neg = new_node(&p->arena, N_UNARY, rhs->rhs->span);
  neg->op = OP_NEG;
  neg->lhs = rhs->rhs;
  neg->ty = rhs->rhs->ty;
  rhs->rhs = neg;
  rhs->op = OP_ADD;
}

static const char *loop_label(const Node *f) {
  return f->labels.n ? f->labels.names[0] : "?";
}

/* Operators with an atomic update on every target (natively or by CAS). */
static bool atomic_op(Op op) {
  switch (op) {
  case OP_ADD:
  case OP_MUL:
  case OP_MAX:
  case OP_MIN:
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR: return true;
  default: return false;
  }
}

/* Mark every array write in `list` (nested statements too) as an atomic
 * update; NULL, or the first write that is not `t = t op v`. */
static const Node *mark_atomics(Prog *p, Node *list, int *count) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind != N_VAR) {
      sub_as_add(p, s->rhs, s->lhs);
      const Node *rhs = peel(s->rhs);
      if (rhs->kind != N_BINARY || !atomic_op(rhs->op) || !expr_equal(peel(rhs->lhs), s->lhs))
        return s;
      s->atomic = true;
      s->op = rhs->op;
      (*count)++;
    }
    const Node *bad = mark_atomics(p, s->body, count);
    if (!bad)
      bad = mark_atomics(p, s->then, count);
    if (!bad)
      bad = mark_atomics(p, s->els, count);
    if (bad)
      return bad;
  }
  return NULL;
}

/* A .reduce() loop that is not one reduction: scatter updates such as the
 * histogram's `hist[b[i]] += 1`, or several accumulators (`acc[0] += x[i];
 * acc[1] += x[i] * x[i]`).  Every array write of its body must be an update
 * `t = t op v`; each becomes an atomic update and the loop a plain parallel
 * loop.  False when the loop has no such update (the caller's error says
 * what a reduction looks like). */
static bool atomic_reduction(Planner *pl, Node *f, bool *ok) {
  int count = 0;
  const Node *bad = mark_atomics(pl->p, f->body, &count);
  *ok = true;
  if (count == 0 && !bad)
    return false;
  if (bad) {
    *ok = err(pl->p, DIAG_RUNTIME, bad->span,
              "the loop labelled '%s' is a parallel reduction whose updates are done atomically, "
              "so every array write in it must update an element with +, -, *, max, min, &, | or ^ "
              "(as in 'hist[b[i]] += 1')",
              loop_label(f));
    return true;
  }
  f->par.reduce = false;
  return true;
}

/* A parallel reduction loop holds exactly `target = target op value`. */
static bool check_reduction(Planner *pl, Node *f) {
  Node *s = f->body;
  const char *why = NULL;
  if (!s || s->next)
    why = "its body must be a single statement";
  else if (s->kind != N_ASSIGN)
    why = "its body must be an assignment";
  if (!why)
    sub_as_add(pl->p, s->rhs, s->lhs);
  const Node *rhs = why ? NULL : peel(s->rhs);
  if (!why && (rhs->kind != N_BINARY || !reducible(rhs->op)))
    why = "the assignment must combine the target with a value using +, - (as a sum of "
          "negations), *, max, min, &, |, ^, and or or";
  if (!why && !expr_equal(peel(rhs->lhs), s->lhs))
    why = "the left operand of the update must be the assigned target itself";
  if (!why && expr_mentions(s->lhs, f->sym))
    why = "the target must be the same in every iteration (its index may not use the loop "
          "variable)";
  bool ok;
  if (why && f->red_op == OP_NONE && atomic_reduction(pl, f, &ok))
    return ok;
  if (why)
    return err(pl->p, DIAG_RUNTIME, s && !s->next ? s->span : f->span,
               "the loop labelled '%s' is a parallel reduction, so %s, as in 's[0] += x[i]' or "
               "'m = max(m, x[i])'",
               loop_label(f), why);
  f->red_target = s->lhs;
  f->red_op = rhs->op;
  return true;
}

static bool plan_block(Planner *pl, Node *list, int depth);

static bool plan_for(Planner *pl, Node *f, int depth) {
  if (!merge_labels(pl, f))
    return false;
  bool parallel = f->par.nthreads > 0;
  if (parallel) {
    if (f->par.reduce && !check_reduction(pl, f))
      return false;
    if (depth == 0) {
      f->par_outer = true;
      pl->nest_root = f;
      pl->nest_tpb = f->par.tpb;
      pl->nest_span = f->span;
    } else if (f->par.tpb != PP_DEFAULT_TPB) {
      if (pl->nest_tpb != PP_DEFAULT_TPB && pl->nest_tpb != f->par.tpb)
        return err(pl->p, DIAG_RUNTIME, f->span,
                   "this loop asks for %" PRId64 " threads per block, but its parallel nest "
                   "already uses %" PRId64 "; one nest runs with one block size",
                   f->par.tpb, pl->nest_tpb);
      pl->nest_tpb = f->par.tpb;
    }
  } else if (f->red_op != OP_NONE && !f->par.reduce) {
    f->red_op = f->red_op; /* sequential reduction made from a slice: nothing to check */
  }
  if (!parallel)
    f->par.reduce = false;
  return plan_block(pl, f->body, depth + (parallel ? 1 : 0));
}

/* Give every parallel loop of a nest the nest's threads per block. */
static void set_tpb(Node *list, int64_t tpb) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_FOR && s->par.nthreads > 0)
      s->par.tpb = tpb;
    set_tpb(s->body, tpb);
    set_tpb(s->then, tpb);
    set_tpb(s->els, tpb);
  }
}

static bool plan_block(Planner *pl, Node *list, int depth) {
  for (Node *s = list; s; s = s->next) {
    switch (s->kind) {
    case N_FOR:
      if (!plan_for(pl, s, depth))
        return false;
      if (s->par_outer) {
        set_tpb(s->body, pl->nest_tpb);
        s->par.tpb = pl->nest_tpb;
      }
      break;
    case N_GPU:
      pl->found |= !s->implicit;
      if (!plan_block(pl, s->body, depth))
        return false;
      break;
    case N_ASSIGN:
      for (int i = 0; i < s->labels.n; i++)
        if (lookup_par(&pl->p->opt, s->labels.names[i]))
          pl->found = true;
      break;
    default:
      if (!plan_block(pl, s->body, depth) || !plan_block(pl, s->then, depth) ||
          !plan_block(pl, s->els, depth))
        return false;
    }
  }
  return true;
}

/* Helpers run inside the caller's loops; their own loops stay sequential. */
static bool plan_helper(Prog *p, Fn *h, Node *list) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_FOR)
      for (int i = 0; i < s->labels.n; i++) {
        const LoopPar *lp = lookup_par(&p->opt, s->labels.names[i]);
        if (lp && lp->nthreads)
          return err(p, DIAG_RUNTIME, s->span,
                     "'%s' is called in an expression, so its loops cannot be parallel (label "
                     "'%s'); call it as a statement to inline it instead",
                     h->name, s->labels.names[i]);
      }
    if (!plan_helper(p, h, s->body) || !plan_helper(p, h, s->then) || !plan_helper(p, h, s->els))
      return false;
  }
  return true;
}

/* ---- no label of the options in the function ---- */

typedef struct LabelSet {
  int n;
  const char *names[64];
  Span first; /* the first labelled statement */
} LabelSet;

static void collect_labels(LabelSet *ls, const Node *list) {
  for (const Node *s = list; s; s = s->next) {
    for (int i = 0; i < s->labels.n; i++) {
      bool seen = false;
      for (int k = 0; k < ls->n; k++)
        seen |= ls->names[k] == s->labels.names[i];
      if (!seen && ls->n < (int)PP_COUNT(ls->names)) {
        if (ls->n == 0)
          ls->first = s->span;
        ls->names[ls->n++] = s->labels.names[i];
      }
    }
    collect_labels(ls, s->body);
    collect_labels(ls, s->then);
    collect_labels(ls, s->els);
  }
}

/* Levenshtein distance, ignoring case (labels are short; longer ones are
 * compared on their first 63 characters). */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  la = la > 63 ? 63 : la;
  lb = lb > 63 ? 63 : lb;
  int prev[64], cur[64];
  for (int j = 0; j <= lb; j++)
    prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++) {
      int sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
  }
  return prev[lb];
}

static void quoted_list(Buf *b, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    buf_printf(b, "%s'%s'", i ? ", " : "", names[i]);
}

/* "did you mean 'N' (for 'n')?": the closest function label of each option
 * label within a distance of about a third of its length. */
static void suggestions(Buf *b, const Options *o, const LabelSet *ls) {
  bool any = false;
  for (int i = 0; i < o->npar; i++) {
    const char *best = NULL;
    int best_d = 0, len = (int)strlen(o->par[i].label);
    for (int k = 0; k < ls->n; k++) {
      int d = edit_distance(o->par[i].label, ls->names[k]);
      if (d <= (len > 3 ? len / 3 : 1) && (!best || d < best_d))
        best = ls->names[k], best_d = d;
    }
    if (best) {
      buf_printf(b, "%s'%s' (for '%s')", any ? ", " : " Did you mean ", best, o->par[i].label);
      any = true;
    }
  }
  if (any)
    buf_puts(b, "?");
}

static bool no_parallelism(Prog *p) {
  LabelSet ls = {0};
  collect_labels(&ls, p->main->body);
  const Options *o = &p->opt;
  Buf b;
  buf_init(&b);
  buf_printf(&b, "The function '%s' does not contain any parallelism: ", p->main->name);
  if (ls.n == 0) {
    buf_puts(&b, "it has no labels. Put parpy.label('N') before a loop and pass "
                 "opts=parpy.par({'N': parpy.threads(n)}), or wrap sequential code in "
                 "'with parpy.gpu:'");
  } else {
    const char **opt_names = ARENA_ARRAY(&p->arena, const char *, o->npar > 0 ? o->npar : 1);
    for (int i = 0; i < o->npar; i++)
      opt_names[i] = o->par[i].label;
    buf_puts(&b, "none of its labels (");
    quoted_list(&b, ls.names, ls.n);
    if (o->npar == 0)
      buf_puts(&b, ") is in opts.parallelize, which is empty.");
    else {
      buf_puts(&b, ") is in opts.parallelize, which names ");
      quoted_list(&b, opt_names, o->npar);
      buf_puts(&b, ".");
      suggestions(&b, o, &ls);
    }
    buf_puts(&b, " Pass opts=parpy.par({label: parpy.threads(n)}) with labels of the function, "
                 "or wrap sequential code in 'with parpy.gpu:'");
  }
  err(p, DIAG_RUNTIME, ls.n ? ls.first : p->func->span, "%s", buf_cstr(&b));
  buf_free(&b);
  return false;
}

bool plan_parallel(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next)
    if (!plan_helper(p, h, h->body))
      return false;
  Planner pl = {.p = p};
  if (!plan_block(&pl, p->main->body, 0))
    return false;
  if (!pl.found)
    return no_parallelism(p);
  return true;
}
