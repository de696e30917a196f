/* resolve.h - what the files of the resolve pass share (resolve.c: scopes,
 * globals, expressions, functions; resolve_call.c: calls of builtins,
 * helpers and externals; resolve_stmt.c: statements and labels).  Nothing
 * else includes it: the pass itself is resolve_names() and resolve_inlined()
 * of ast.h. */
#ifndef PARPY_RESOLVE_H
#define PARPY_RESOLVE_H

#include "../ast.h"

typedef struct Binding {
  const char *name;
  Sym *sym;           /* a variable, or */
  const Node *subst;  /* an inlined callee's parameter: the caller's argument */
} Binding;

typedef struct Resolver Resolver;
struct Resolver {
  Prog *p;
  Fn *fn;
  Func *func;
  Binding *scope;
  int nscope, cap;
  Resolver *parent; /* the resolver of the caller, to detect recursion */
};

/* resolve.c: scopes, globals, expressions, functions. */
void bind_name(Resolver *r, const char *name, Sym *sym, const Node *subst);
const Binding *lookup_name(Resolver *r, const char *name);
Sym *fn_sym(Resolver *r, const char *name, SymKind kind);
const Resolved *global_of(Resolver *r, const Node *n);
const char *global_name(Resolver *r, const Node *n);
Node *resolve_expr(Resolver *r, const Node *n);
Fn *resolve_fn(Prog *p, Func *f, bool is_main, Resolver *parent);
Fn *resolve_helper(Resolver *r, Func *f, Span call);

/* resolve_call.c: calls. */
Node *resolve_args(Resolver *r, const Node *args);
Node *resolve_call(Resolver *r, const Node *n);

/* resolve_stmt.c: statements. */
Node *resolve_block(Resolver *r, const Node *list);

#endif
