/* cprint.h - printing the compiler's trees as C-family source, shared by the
 * targets whose output is C or C++ (Cpu, and the device code of Cuda).
 * A target supplies a dialect: its spelling of types and math functions,
 * and how it prints loops (where parallelism shows up). */
#ifndef PARPY_CPRINT_H
#define PARPY_CPRINT_H

#include "target.h"

typedef struct CPrinter CPrinter;

typedef struct CDialect {
  const char *(*type_name)(Elem e);
  /* Print a for-loop (including its pragmas or mapping) and its body. */
  void (*for_loop)(CPrinter *c, const Node *f);
  /* Print a while loop the target's way; false (nothing printed): the plain
   * C way (may be NULL). */
  bool (*while_loop)(CPrinter *c, const Node *w);
  /* Statements and expressions only this target has (may be NULL). */
  void (*extra_stmt)(CPrinter *c, const Node *s);
  void (*extra_expr)(CPrinter *c, const Node *n);
  /* A binary operation printed the target's way; false: the C way. */
  bool (*binary)(CPrinter *c, const Node *n);
  /* print(...) the target's way (may be NULL: parpy_print_* of the Cpu header). */
  void (*print_stmt)(CPrinter *c, const Node *s);
  /* The float (and, through float, half) version of a math function of
   * <math.h> ("exp" -> "expf" when NULL); Metal spells it "metal::exp". */
  const char *(*math_name)(const char *fn);
  /* Suffix of integer literals beyond 32 bits ("LL" when NULL; Metal has
   * no long long, its long is 64 bits). */
  const char *int64_suffix;
  /* The type of a pointer to `e` ("T *" when NULL): Metal's device code
   * names an address space, its host code a buffer handle. */
  void (*pointer_type)(CPrinter *c, Elem e);
} CDialect;

struct CPrinter {
  Prog *p;
  Fn *fn;
  Buf *out;
  int depth;
  const CDialect *d;
  void *ctx; /* the dialect's own state (the kernel being printed) */
};

/* Is `name` taken by C, C++, <math.h> or parpy's headers?  A file-scope
 * name must avoid all of <math.h>; a local only what generated code calls. */
bool c_is_reserved(const char *name, bool file_scope);
/* Function names must not clash with each other or with C's. */
void c_name_functions(Prog *p);
/* Give every symbol of `fn` a unique C name (Python names where possible). */
void c_assign_names(Prog *p, Fn *fn);

/* A new local variable of the function being printed, named `name` or a
 * variant no other symbol of the function has (for the variables a target
 * adds to what the program says, such as a reduction's partial sums). */
Sym *c_new_local(CPrinter *c, const char *name, Type *ty);

/* The C name of an element type ("half" is parpy_cpu.h's and CUDA's). */
const char *c_type_name(Elem e);
void c_type(CPrinter *c, const Type *t);
void c_expr(CPrinter *c, const Node *n);
void c_stmt(CPrinter *c, const Node *s);
void c_block(CPrinter *c, const Node *list); /* statements at depth+1, no braces */
void c_line_start(CPrinter *c);              /* indentation of the current depth */

/* `for (T v = lo; v < hi; v++)`: the header of `f` as a C for-loop. */
void c_for_header(CPrinter *c, const Node *f);

/* The text of an N_STR as the contents of a C string literal; `percent`
 * doubles '%' (for a printf format). */
void c_string_contents(CPrinter *c, const char *s, bool percent);

/* A sequential loop as a C for-loop, with its label comment and body. */
void c_for_loop(CPrinter *c, const Node *f);
/* A comment naming the loop's labels and parallelism, or nothing. */
void c_loop_comment(CPrinter *c, const Node *f);

/* Scalar parameters of the main function are constants: print their
 * declarations at the start of a function body. */
void c_const_params(CPrinter *c, const Node *body);
/* The `<f>__access` string: per slot 'r', 'w' or '-' (target.h). */
void c_access(Prog *p, Buf *out);
/* The `<f>__signature` string as a C string literal's contents. */
void c_signature(Prog *p, Buf *out);
/* `#include` lines for the headers of the externals the program calls,
 * once each, in order of first call: <h> as written, anything else in "". */
void c_ext_headers(const Prog *p, Buf *out);
/* Does the program call print()? */
bool c_uses_print(const Prog *p);
/* Does any value of the program have element type `e`? */
bool c_uses_elem(const Prog *p, Elem e);
/* C name of a flattened dict field parameter. */
const char *c_field_name(Prog *p, const Sym *dict, const char *key);

/* Functions: a helper after `prefix`; main's array parameters ("void" if
 * none); the same arrays cast from the entry's argument slots. */
void c_helper(CPrinter *c, Fn *h, const char *prefix);
/* Calls `each` (if not NULL) for main's arrays in the entry's slot order:
 * array parameters and the array fields of dict parameters (whose other
 * fields also take a slot); `nth` counts the arrays.  Returns how many. */
typedef void (*CEachArray)(CPrinter *c, Elem e, const char *name, int slot, int nth);
int c_main_arrays(CPrinter *c, Fn *m, CEachArray each);
void c_main_params(CPrinter *c, Fn *m);
void c_args_from_slots(CPrinter *c, Fn *m);

/* Shared by the printer's own files (cexpr.c, cstmt.c): C precedence
 * levels and the pieces of expression printing that statements reuse. */
enum {
  P_COMMA = 1, P_TERNARY = 3, P_OR = 4, P_AND = 5, P_BITOR = 6, P_BITXOR = 7, P_BITAND = 8,
  P_EQ = 9, P_REL = 10, P_SHIFT = 11, P_ADD = 12, P_MUL = 13, P_UNARY = 14, P_POSTFIX = 15,
  P_ATOM = 16
};

static inline Elem ty_elem(const Node *n) { return n->ty ? n->ty->elem : n->val.elem; }
/* `n` printed in a context of precedence `min_prec` (parenthesised if lower). */
void expr_prec(CPrinter *c, const Node *n, int min_prec);
void print_literal(CPrinter *c, const Node *n);
/* `(T)a`; a float to an integer type through parpy_to_* (no UB out of range). */
void print_cast(CPrinter *c, Elem e, const Node *a);
/* Row-major offset of the indices of a subscript into its base array. */
void print_subscript(CPrinter *c, const Node *n);
/* The offset alone: what goes in base[...] (checked in debug mode). */
void c_offset(CPrinter *c, const Node *n);

/* ---- cchecks.c: the checks of the debug mode (passes/checks.c) ---- */
/* The table of check sites and the index-checking functions, after the
 * includes. */
void c_check_prelude(CPrinter *c);
/* The offset of a subscript with n->check: parpy_dbg_at<r>(site, i, n, s, ...). */
void c_checked_offset(CPrinter *c, const Node *n);
/* An N_CHECK expression: the checked value. */
void c_check_expr(CPrinter *c, const Node *n);
/* Before a store checked for races: mark its element in the shadow array. */
void c_race_mark(CPrinter *c, const Node *s);
/* An N_CHECK statement: the reset of a shadow array. */
void c_check_reset(CPrinter *c, const Node *s);
/* File-scope declarations of the shadow arrays. */
void c_check_shadows_decl(CPrinter *c);
/* Cpu: <f>__entry, <f>__error and <f>__error_at of checked code. */
void c_check_entry_cpu(CPrinter *c, const char *call, const char *oom);

#endif
