/* pyread.h - private to the front end: reading CPython `ast` objects
 * defensively, and the conversion state shared by its files.
 *
 *   pyread.c  the ast classes, field readers, spans, errors
 *   pyexpr.c  names (locals, globals) and expressions
 *   pyast.c   statements, the function, front_parse
 *
 * Every reader tolerates a hand-built tree: a missing field or a wrong type
 * becomes a Diag, and no Python exception is left pending. */
#ifndef PARPY_PYREAD_H
#define PARPY_PYREAD_H

#include "front.h"

/* Deeper nesting than this is reported instead of risking the C stack (a
 * hand-built tree may even be cyclic). */
enum { MAX_DEPTH = 1000 };

/* ---- the ast classes, fetched once per process -----------------------------
 * A class missing from this Python version stays NULL and never matches. */
#define AST_CLASSES(X)                                                                     \
  /* statements */                                                                         \
  X(FunctionDef) X(AsyncFunctionDef) X(ClassDef) X(Return) X(Delete) X(Assign)             \
  X(AugAssign) X(AnnAssign) X(For) X(AsyncFor) X(While) X(If) X(With) X(AsyncWith)         \
  X(Match) X(Raise) X(Try) X(TryStar) X(Assert) X(Import) X(ImportFrom) X(Global)          \
  X(Nonlocal) X(Expr) X(Pass) X(Break) X(Continue) X(TypeAlias)                            \
  /* expressions */                                                                        \
  X(BoolOp) X(NamedExpr) X(BinOp) X(UnaryOp) X(Lambda) X(IfExp) X(Dict) X(Set)             \
  X(ListComp) X(SetComp) X(DictComp) X(GeneratorExp) X(Await) X(Yield) X(YieldFrom)        \
  X(Compare) X(Call) X(FormattedValue) X(JoinedStr) X(TemplateStr) X(Interpolation)        \
  X(Constant) X(Attribute) X(Subscript) X(Starred) X(Name) X(List) X(Tuple) X(Slice)       \
  /* operators */                                                                          \
  X(And) X(Or) X(Add) X(Sub) X(Mult) X(MatMult) X(Div) X(Mod) X(Pow) X(LShift) X(RShift)   \
  X(BitOr) X(BitXor) X(BitAnd) X(FloorDiv) X(Invert) X(Not) X(UAdd) X(USub) X(Eq)          \
  X(NotEq) X(Lt) X(LtE) X(Gt) X(GtE) X(Is) X(IsNot) X(In) X(NotIn)                         \
  /* base classes, for constructs newer than this file */                          \
  X(stmt) X(expr)

typedef enum AstKind {
#define X(n) K_##n,
  AST_CLASSES(X)
#undef X
  K_COUNT
} AstKind;

/* Ranges of the kinds searched for each syntactic category. */
#define STMTS K_FunctionDef, K_TypeAlias
#define EXPRS K_BoolOp, K_Slice
#define OPS K_And, K_NotIn

typedef struct Conv {
  Func *f;
  Arena *a;           /* &f->arena */
  Diag *d;
  Arena *darena;      /* outlives the Func: messages and their Source */
  int line_off, col_off;
  int depth;
  bool failed;
  const char **locals; /* interned; a name assigned anywhere is local everywhere */
  int nlocals, cap_locals;
  int cap_globals;
  int ntemps; /* fresh locals of multiple assignments */
} Conv;

/* The classes of the `ast` module (NULL where this Python has none), and why
 * each construct that is not compiled is rejected (NULL: compiled). */
extern PyObject *ast_classes[K_COUNT];
extern const char *const ast_unsupported[K_COUNT];

/* ---- pyread.c ---- */
/* The first error wins; its span must outlive the Func (freed on error), so
 * the Source is copied into the diagnostic arena. */
void conv_error(Conv *c, DiagKind kind, Span sp, const char *fmt, ...) PP_PRINTF(4, 5);
/* A tree we cannot read is a malformed hand-built ast (or a bug). */
#define conv_malformed(c, sp, ...) \
  conv_error((c), DIAG_INTERNAL, (sp), "malformed ast: " __VA_ARGS__)

bool ast_load_classes(Conv *c);
int ast_kind(PyObject *o, int lo, int hi); /* kind of `o` among [lo, hi], or -1 */
bool ast_is(PyObject *o, AstKind k);       /* false for NULL */
const char *ast_type_name(PyObject *o);
/* Fields: ast_opt gives NULL for a missing or None field without an error;
 * ast_field reports one; ast_list copies a list into a tuple (missing reads
 * as empty); ast_str interns a string field. */
PyObject *ast_opt(PyObject *o, const char *name);
PyObject *ast_field(Conv *c, PyObject *o, const char *name, Span sp);
PyObject *ast_list(Conv *c, PyObject *o, const char *name, Span sp);
const char *ast_str(Conv *c, PyObject *o, const char *name, Span sp);
/* The absolute file span of a node, or `parent` where it has no position. */
Span ast_span(Conv *c, PyObject *o, Span parent);
Op ast_op(Conv *c, PyObject *o, Span sp);
Op ast_op_field(Conv *c, PyObject *o, Span sp);

static inline Span span_join(Span a, Span b) {
  a.end_line = b.end_line;
  a.end_col = b.end_col;
  return a;
}

static inline Node *conv_node(Conv *c, NodeKind k, Span sp) { return new_node(c->a, k, sp); }

/* ---- pyexpr.c ---- */
bool conv_is_local(Conv *c, const char *name);
void conv_add_local(Conv *c, const char *name);
const char *ast_name_id(PyObject *t); /* the id of a Name, else NULL */
Node *conv_binary(Conv *c, Op op, Node *l, Node *r, Span sp);
Node *conv_expr(Conv *c, PyObject *o, Span parent);
Node *conv_expr_field(Conv *c, PyObject *o, const char *name, Span sp);

#endif
