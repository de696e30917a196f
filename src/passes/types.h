/* types.h - what the files of the types pass share (types.c, types_index.c,
 * types_ops.c, types_call.c, types_stmt.c); nothing else includes it: the
 * pass itself is check_types() of ast.h. */
#ifndef PARPY_TYPES_H
#define PARPY_TYPES_H

#include "../ast.h"

typedef struct Typer {
  Prog *p;
  Fn *fn;
  bool final;
  bool changed;
  bool in_base; /* typing the base of a subscript */
} Typer;

/* Small predicates every file uses. */
static inline Arena *A(Typer *t) { return &t->p->arena; }
static inline bool is_num(const Type *x) { return x && (x->kind == TY_SCALAR || x->kind == TY_ARRAY); }
static inline bool is_scalar(const Type *x) { return x && x->kind == TY_SCALAR; }
static inline bool is_array(const Type *x) { return x && x->kind == TY_ARRAY; }
static inline int kind_of(Elem e) { return e == EL_BOOL ? 0 : elem_is_float(e) ? 2 : 1; }

/* types.c: helpers, conversions, leaves, the expression dispatch. */
/* Errors are only reported in final mode; infer mode gives up quietly. */
Type *terr(Typer *t, DiagKind kind, Span span, const char *fmt, ...) PP_PRINTF(4, 5);
const char *tstr(Typer *t, const Type *ty);
Type *scalar_of(Typer *t, const Type *x);
Type *shaped(Typer *t, const Type *shape, const Type *s);
const Type *broadcast(Typer *t, const Type *a, const Type *b, Span span, bool *ok);
bool broadcasts_into(const Type *from, const Type *to);
bool int_fits(Value val, Elem e);
void convert(Typer *t, Node **np, const Type *to);
Type *ty_literal(Typer *t, Node *n);
Node *literal_int(Typer *t, int64_t v, Span span, Node *next);
Type *ty_expr(Typer *t, Node **np);

/* types_index.c: subscripts. */
bool is_view_expr(const Node *n);
Type *ty_subscript(Typer *t, Node **np);

/* types_ops.c: operators. */
Type *ty_binary(Typer *t, Node **np);
Type *ty_unary(Typer *t, Node **np);
Type *ty_ifexp(Typer *t, Node **np);

/* types_call.c: builtins and calls. */
Type *ty_builtin(Typer *t, Node **np);
bool contiguous_view(const Node *n);
Type *ty_funcall(Typer *t, Node **np);
Type *ty_extcall(Typer *t, Node **np);

/* types_stmt.c: statements. */
void ty_block(Typer *t, Node **list);

#endif
