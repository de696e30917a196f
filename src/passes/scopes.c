/* scopes.c - decide where each local is declared in the generated code.
 *
 * Python locals live for the whole function; C wants a declaration in a
 * block enclosing every use.  We declare each local in the innermost block
 * that holds all its uses: inside a parallel loop that makes it private to
 * an iteration, which is what a thread needs.  The first assignment becomes
 * the declaration when it is a plain statement of that block; otherwise an
 * N_DECL goes before the first statement that uses it.
 *
 * A local assigned inside a parallel loop but declared outside it would be
 * shared by all iterations (a race, and its value after the loop undefined),
 * unless the loop is a reduction into it: that is an error. */
#include <string.h>

#include "../ast.h"

typedef struct Path {
  int n;
  Node ***blocks; /* from the function body inwards */
} Path;

typedef struct Scoper {
  Prog *p;
  Fn *fn;
  Path *paths;     /* by symbol id: the innermost block enclosing all uses */
  bool *seen;
  Node ***stack;   /* the blocks enclosing the statement being visited */
  int depth, cap;
} Scoper;

/* Locals and compiler temporaries (arrays chosen at run time are pointer
 * locals); not the arrays a GPU host allocates. */
static bool is_declared_here(const Sym *s) {
  return (s->kind == SYM_LOCAL || s->kind == SYM_TEMP) &&
         (s->array_ref || !(s->ty && s->ty->kind == TY_ARRAY));
}

static void note_use(Scoper *sc, Sym *s) {
  if (!is_declared_here(s) || s->alias)
    return;
  Path *path = &sc->paths[s->id];
  if (!sc->seen[s->id]) {
    sc->seen[s->id] = true;
    path->n = sc->depth;
    path->blocks = ARENA_ARRAY(&sc->p->arena, Node **, sc->depth > 0 ? sc->depth : 1);
    memcpy(path->blocks, sc->stack, sizeof(Node **) * (size_t)sc->depth);
    return;
  }
  int k = 0;
  while (k < path->n && k < sc->depth && path->blocks[k] == sc->stack[k])
    k++;
  path->n = k;
}

static void visit_expr(Scoper *sc, Node *n) {
  if (!n)
    return;
  if (n->kind == N_VAR)
    note_use(sc, n->sym);
  visit_expr(sc, n->lhs);
  visit_expr(sc, n->rhs);
  visit_expr(sc, n->cond);
  visit_expr(sc, n->then);
  visit_expr(sc, n->els);
  for (Node *a = n->args; a; a = a->next)
    visit_expr(sc, a);
}

static void visit_block(Scoper *sc, Node **list);

static void push(Scoper *sc, Node **block) {
  if (sc->depth == sc->cap) {
    int cap = sc->cap ? sc->cap * 2 : 16;
    Node ***ns = ARENA_ARRAY(&sc->p->arena, Node **, cap);
    if (sc->depth)
      memcpy(ns, sc->stack, sizeof(Node **) * (size_t)sc->depth);
    sc->stack = ns;
    sc->cap = cap;
  }
  sc->stack[sc->depth++] = block;
}

static void visit_block(Scoper *sc, Node **list) {
  push(sc, list);
  for (Node *s = *list; s; s = s->next) {
    switch (s->kind) {
    case N_ASSIGN:
      visit_expr(sc, s->lhs);
      visit_expr(sc, s->rhs);
      break;
    case N_FOR:
      visit_expr(sc, s->lo);
      visit_expr(sc, s->hi);
      visit_block(sc, &s->body);
      break;
    case N_WHILE:
      visit_expr(sc, s->cond);
      visit_block(sc, &s->body);
      break;
    case N_IF:
      visit_expr(sc, s->cond);
      visit_block(sc, &s->then);
      visit_block(sc, &s->els);
      break;
    case N_GPU: visit_block(sc, &s->body); break;
    case N_RETURN: visit_expr(sc, s->lhs); break;
    case N_PRINT:
      for (Node *a = s->args; a; a = a->next)
        visit_expr(sc, a);
      break;
    default: break;
    }
  }
  sc->depth--;
}

/* Declare `s` in `*block`: at its first assignment if that is a plain
 * statement of the block that does not read it, else before first use. */
static void declare(Scoper *sc, Sym *s, Node **block) {
  for (Node **link = block; *link; link = &(*link)->next) {
    Node *st = *link;
    if (!expr_mentions(st, s))
      continue;
    if (st->kind == N_ASSIGN && st->lhs->kind == N_VAR && st->lhs->sym == s &&
        !expr_mentions(st->rhs, s)) {
      st->is_decl = true;
      return;
    }
    Node *d = new_node(&sc->p->arena, N_DECL, st->span);
    d->sym = s;
    d->next = st;
    *link = d;
    return;
  }
}

static bool path_has(const Path *path, Node **block) {
  for (int i = 0; i < path->n; i++)
    if (path->blocks[i] == block)
      return true;
  return false;
}

/* Locals written in a parallel loop must be private to it (or reduced). */
static bool check_races(Scoper *sc, Node *list);

static bool check_writes(Scoper *sc, Node *loop, Node *list) {
  for (Node *s = list; s; s = s->next) {
    if (s->kind == N_ASSIGN && s->lhs->kind == N_VAR) {
      Sym *v = s->lhs->sym;
      bool reduced = loop->red_target && loop->red_target->kind == N_VAR &&
                     loop->red_target->sym == v;
      if (is_declared_here(v) && !v->alias && !reduced && !path_has(&sc->paths[v->id], &loop->body))
        return err(sc->p, DIAG_RUNTIME, s->span,
                   "'%s' is assigned in the parallel loop labelled '%s' but also used outside "
                   "it; the iterations run in parallel, so its value there is undefined. Use a "
                   "reduction (parpy.threads(n).reduce()) or write into an array",
                   v->name, loop->labels.n ? loop->labels.names[0] : "?");
    }
    if (!check_writes(sc, loop, s->body) || !check_writes(sc, loop, s->then) ||
        !check_writes(sc, loop, s->els))
      return false;
  }
  return true;
}

static bool check_races(Scoper *sc, Node *list) {
  for (Node *s = list; s; s = s->next) {
    /* In an all-threads loop (a parallel external on a GPU) every thread
     * computes the same values, which the user promised agree. */
    if (s->kind == N_FOR && s->par.nthreads > 0 && !s->all_threads &&
        !check_writes(sc, s, s->body))
      return false;
    if (!check_races(sc, s->body) || !check_races(sc, s->then) || !check_races(sc, s->els))
      return false;
  }
  return true;
}

static bool scope_fn(Prog *p, Fn *fn) {
  int n = p->next_sym_id;
  Scoper sc = {.p = p, .fn = fn};
  sc.paths = ARENA_ARRAY(&p->arena, Path, n > 0 ? n : 1);
  sc.seen = ARENA_ARRAY(&p->arena, bool, n > 0 ? n : 1);
  visit_block(&sc, &fn->body);
  if (!check_races(&sc, fn->body))
    return false;
  for (int i = 0; i < fn->nsyms; i++) {
    Sym *s = fn->syms[i];
    if (!is_declared_here(s) || s->alias || !sc.seen[s->id])
      continue;
    Path *path = &sc.paths[s->id];
    declare(&sc, s, path->blocks[path->n - 1]);
  }
  return true;
}

bool place_decls(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next)
    if (!scope_fn(p, h))
      return false;
  return scope_fn(p, p->main);
}
