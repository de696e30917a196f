/* ast.h - the compiler core's data structures and passes.
 *
 * One tree type serves the whole pipeline (chibicc-style "fat" nodes): the
 * front end builds it from CPython's ast, the passes rewrite it in place, and
 * the backends print it.  Statement lists and argument lists are linked
 * through `next`.  Plain C11: nothing here includes Python.h.
 *
 * Lifetimes:
 *   - A Func is the decoration-time tree of one @parpy.jit function.  It owns
 *     an arena that lives as long as the Python function object.
 *   - A Prog is one compilation.  `resolve` clones the Funcs it needs into the
 *     Prog's arena, so passes may mutate freely; the arena is dropped after
 *     code generation.
 */
#ifndef PARPY_AST_H
#define PARPY_AST_H

#include "util/util.h"

typedef struct Node Node;
typedef struct Type Type;
typedef struct Sym Sym;
typedef struct Func Func;
typedef struct Fn Fn;
typedef struct Prog Prog;
typedef struct ArgSpec ArgSpec;
typedef struct Extern Extern;
typedef struct Kernel Kernel;

/* ==== element types ======================================================
 * Same order and numbering as parpy.ElemSize in Python. */
typedef enum Elem {
  EL_BOOL, EL_I8, EL_I16, EL_I32, EL_I64, EL_U8, EL_U16, EL_U32, EL_U64,
  EL_F16, EL_F32, EL_F64,
  EL_BF16, /* bfloat16: stored as its bits, computed in float32 (passes/bfloat16.c) */
  EL_COUNT
} Elem;

int elem_size(Elem e);          /* bytes */
bool elem_is_int(Elem e);       /* signed or unsigned integer (not bool) */
bool elem_is_signed(Elem e);
bool elem_is_unsigned(Elem e);
bool elem_is_float(Elem e);     /* float16, float32, float64, bfloat16 */
/* bfloat16 <-> float32: the value of its bits, and float32's round to
 * nearest even (NaN stays NaN, quiet), as PyTorch and ml_dtypes do. */
float bf16_to_float(uint16_t bits);
uint16_t bf16_from_float(float f);
uint16_t bf16_from_double(double d); /* rounded once, as ml_dtypes does */
const char *elem_name(Elem e);  /* NumPy name: "float32" */
const char *elem_short(Elem e); /* "f32", used in signatures and keys */

/* A compile-time scalar value.  Integers of every width live in `i`
 * (unsigned 64-bit values above INT64_MAX in `u`), floats in `f`. */
typedef struct Value {
  Elem elem;
  union {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
  };
} Value;

/* ==== types ===============================================================
 * Scalars carry NumPy 2 (NEP 50) "weakness": a Python int/float/bool
 * (literals, scalar arguments, range variables, arithmetic among them) is
 * weak and adopts the type of the strong operand it meets.  A weak scalar's
 * elem is already concrete: the int size or float size of the options. */
typedef enum TypeKind {
  TY_VOID,
  TY_SCALAR,
  TY_ARRAY,   /* n-d array or view (slice expression), contiguous row-major */
  TY_POINTER, /* helper parameter annotated parpy.types.pointer(T) */
  TY_DICT,    /* dict argument: fields sorted by key */
  TY_SHAPE,   /* x.shape: a tuple of compile-time ints */
  TY_STR
} TypeKind;

struct Type {
  TypeKind kind;
  Elem elem;
  bool weak;
  int rank;        /* ARRAY, SHAPE */
  int64_t *shape;  /* ARRAY: extents; SHAPE: the values */
  int nfields;     /* DICT */
  const char **keys;
  Type **fields;
};

/* ==== builtins ============================================================
 * What a global reference resolved to (the Python side recognises the
 * objects; the core only sees these codes). */
typedef enum Builtin {
  B_NONE,
  B_RANGE, B_LABEL, B_GPU,
  /* elementwise math, NumPy ufunc typing (math.* variants set `weak_result`) */
  B_EXP, B_LOG, B_SIN, B_COS, B_TAN, B_SQRT, B_TANH, B_ATAN2, B_ABS,
  B_FLOOR, B_CEIL,
  B_MAXIMUM, B_MINIMUM, /* two-argument max/min */
  /* reductions over slices (one argument, optional axis=) */
  B_SUM, B_PROD, B_MAX, B_MIN, /* B_MAX/B_MIN with two args become MAXIMUM/MINIMUM */
  B_CONVERT,                   /* int8(x) ... float64(x): node->elem is the target */
  B_INT, B_FLOAT, B_BOOL,      /* Python int()/float()/bool(): weak results */
  B_LEN,
  /* the math library: one float argument, typed as exp (math.* weak) */
  B_LOG2, B_LOG10, B_LOG1P, B_EXPM1, B_EXP2, B_ASIN, B_ACOS, B_ATAN, B_SINH, B_COSH,
  B_ASINH, B_ACOSH, B_ATANH, B_ERF, B_ERFC, B_GAMMA, B_LGAMMA, B_CBRT, B_RADIANS,
  B_DEGREES, B_RINT,
  B_HYPOT, B_COPYSIGN,            /* two float arguments, typed as atan2 */
  B_FMOD, B_FMAX, B_FMIN,         /* two arguments, their promotion (ints stay ints) */
  B_TRUNC, B_ROUND,               /* as floor: same type, or a Python int for math/round() */
  B_SIGN, B_SQUARE, B_RECIPROCAL, /* same type */
  B_ISNAN, B_ISINF, B_ISFINITE,   /* bool results */
  /* rewritten by resolve into operators and conditional expressions */
  B_ADD, B_SUBTRACT, B_MULTIPLY, B_DIVIDE, B_POWER, B_MODULO, B_FLOOR_DIVIDE, B_NEGATIVE,
  B_LOGICAL_AND, B_LOGICAL_OR, B_LOGICAL_NOT, B_CLIP, B_WHERE, B_DIVMOD,
  /* rewritten by types into sums over the slice */
  B_MEAN, B_VAR, B_STD, B_DOT,
  B_ZEROS, B_EMPTY, /* np.zeros(shape, dtype): a local array (`elem`) */
  B_PRINT,          /* print(...) as a statement: N_PRINT */
  B_COUNT
} Builtin;

const char *builtin_name(Builtin b);
/* Every function a ParPy function may call, for the error naming one it may not. */
const char *builtin_supported_list(void);

/* ==== global references ===================================================
 * The front end records every free name (and attribute chain rooted at one,
 * such as "np.exp" or "parpy.operators.sum") as a GlobalRef.  Before the
 * first compilation the Python layer evaluates each chain in the function's
 * closure/globals and fills `res`; constants are thereby frozen in. */
typedef enum GlobalKind {
  GK_UNRESOLVED, /* not yet looked up */
  GK_UNDEFINED,  /* lookup failed: `what` says why (NameError) */
  GK_CONST,      /* int/float/bool: `val`, `weak` (false for NumPy scalars) */
  GK_BUILTIN,    /* `builtin` (+ `elem` for conversions, `weak_result`) */
  GK_FUNC,       /* another @parpy.jit function: `func` */
  GK_EXTERN,     /* an @parpy.external declaration: `ext` */
  GK_TYPE,       /* a parpy.types element type: `elem` (annotations) */
  GK_OTHER       /* anything else: `what` is its Python type name */
} GlobalKind;

typedef struct Resolved {
  GlobalKind kind;
  Value val;
  bool weak;
  Builtin builtin;
  Elem elem;
  bool weak_result;
  Func *func;
  Extern *ext;
  const char *what;
} Resolved;

typedef struct GlobalRef {
  const char *chain; /* interned, e.g. "np.exp" */
  Span span;         /* first use, for errors */
  Resolved res;
} GlobalRef;

/* ==== parallel specification ============================================== */
enum { PP_DEFAULT_TPB = 1024 };

typedef struct LoopPar {
  int64_t nthreads; /* 0: sequential */
  bool reduce;
  int64_t tpb;      /* threads per block; PP_DEFAULT_TPB when not set */
} LoopPar;

typedef enum Backend { BACKEND_AUTO, BACKEND_CUDA, BACKEND_METAL, BACKEND_CPU } Backend;
const char *backend_name(Backend b);

typedef struct LabelPar {
  const char *label; /* interned */
  LoopPar par;
} LabelPar;

/* The compile options, already validated by the Python layer.  `backend` is
 * resolved (never AUTO here); int_size/float_size are the forced sizes or the
 * backend's defaults. */
typedef struct Options {
  Backend backend;
  LabelPar *par;
  int npar;
  bool debug_print, write_output, verbose_backend_resolution;
  bool debug; /* the checked variant: bounds, races, division by zero (passes/checks.c) */
  bool use_clusters, use_graphs;
  int64_t max_blocks_per_cluster;
  Elem int_size, float_size;
  const char **includes, **libs, **extra_flags;
  int nincludes, nlibs, nextra_flags;
  const char *cuda_arch; /* "sm_90": the GPU in use; NULL when only printing */
  /* Cuda: print the code for the NVRTC path (kernels for NVRTC, host code
   * in C; runtime/nvrtc.c), else for nvcc.  Set by module/build.c. */
  bool cuda_nvrtc;
} Options;

/* ==== call arguments ======================================================
 * What the compiled code is specialised to: one ArgSpec per parameter. */
typedef enum ArgKind {
  ARG_INT, ARG_FLOAT, ARG_BOOL, /* Python scalars (weak) */
  ARG_SCALAR,                   /* 0-d array or NumPy scalar: strong, has value */
  ARG_ARRAY,
  ARG_DICT,
  ARG_OPAQUE                    /* any other object; only legal if never used */
} ArgKind;

struct ArgSpec {
  ArgKind kind;
  Elem elem;      /* SCALAR, ARRAY */
  Value val;      /* INT, FLOAT, BOOL, SCALAR */
  int rank;       /* ARRAY */
  int64_t *shape; /* ARRAY */
  bool readonly;  /* ARRAY */
  bool device;    /* ARRAY: the data lives in GPU memory (not part of the key) */
  bool runtime;   /* INT, FLOAT, SCALAR: taken at run time, not a constant (jitfn.c) */
  int nfields;    /* DICT: sorted keys */
  const char **keys;
  ArgSpec *fields;
  const char *what; /* OPAQUE: Python type name, for errors */
};

/* ==== external functions ===================================================
 * An @parpy.external declaration: a function of the target language that
 * jitted code calls by `ext_name`.  The Python layer has checked it (every
 * parameter and the result typed, backend/target constraints). */
struct Extern {
  const char *name;     /* Python name */
  const char *ext_name; /* symbol in generated code */
  Backend backend;
  bool device;          /* Target.Device */
  const char *header;   /* "<math.h>", "my.h" or NULL */
  LoopPar par;          /* nthreads > 0: a parallel external (device only) */
  int nparams;
  Type **params;        /* strong scalars or TY_POINTER */
  Type *ret;            /* a strong scalar */
};

/* ==== symbols ============================================================= */
typedef enum SymKind { SYM_PARAM, SYM_LOCAL, SYM_LOOP, SYM_TEMP } SymKind;

struct Sym {
  const char *name;    /* interned source name */
  int id;              /* unique within the Prog */
  SymKind kind;
  Type *ty;            /* NULL until typed */
  int param;           /* SYM_PARAM: position */
  const ArgSpec *arg;  /* SYM_PARAM of main: the specialisation */
  bool is_const;       /* specialised scalar parameter: value in `val` */
  int slot;            /* run-time scalar parameter of main (arg->runtime): its slot */
  Value val;
  Node *alias;         /* local naming an array view (row = x[i]) */
  /* An array local bound more than once (src = b ... if t & 1: src = a):
   * a pointer chosen at run time.  `binds` are the right-hand sides of its
   * bindings (whole arrays or contiguous views), for what may be written. */
  bool array_ref;
  bool local_array;    /* owns its elements: tmp = np.zeros(K) or e = <array expression> */
  bool slice_temp;     /* a local array holding a slice statement's right-hand side */
  Node *first_bind;    /* the statement of its first binding (types pass) */
  int nbinds;
  Node **binds;
  bool assigned;       /* written somewhere in the body */
  Span float_from;     /* a scalar local: the first assignment that made it a float */
  const char *cname;   /* name in generated code, unique per function */
};

/* ==== nodes =============================================================== */
typedef enum NodeKind {
  /* -- expressions -- */
  N_INT, N_FLOAT, N_BOOL, /* literal in `val` (weak unless `ty` says otherwise) */
  N_STR,                  /* `str`: dict key or label text */
  N_NAME,                 /* front end: unresolved name `name` */
  N_GLOBAL,               /* front end: func->globals[gidx] */
  N_ATTR,                 /* `lhs`.`name` on a local (x.shape, x.ndim, x.size) */
  N_VAR,                  /* `sym` */
  N_UNARY,                /* `op` `lhs` */
  N_BINARY,               /* `lhs` `op` `rhs` (arith, compare, and/or, max/min) */
  N_IFEXP,                /* `then` if `cond` else `els` */
  N_SUBSCRIPT,            /* `lhs`[`args`...] (index exprs and N_SLICE) */
  N_SLICE,                /* `lo`:`hi`:`step` (each may be NULL) */
  N_TUPLE,                /* front end: `args` (only as an index) */
  N_CALL,                 /* front end: `lhs`(`args`, axis=`axis`) */
  N_BUILTIN,              /* `builtin`(`args`), `axis`, `elem` for conversions */
  N_CONVERT,              /* (`ty`)`lhs`; `explicit_conv` if the user wrote it */
  N_FIELD,                /* dict field `lhs`[`str`] */
  N_FUNCALL,              /* helper call `fn`(`args`) */
  N_EXTCALL,              /* external call `ext`(`args`) */
  /* -- statements -- */
  N_ASSIGN,   /* `lhs` = `rhs`; `labels`; `is_decl` set by the scope pass */
  N_FOR,      /* for `sym` in range(`lo`, `hi`, `step`): `body`; `labels`, `par` */
  N_WHILE,    /* while `cond`: `body` */
  N_IF,       /* if `cond`: `then` else `els` */
  N_WITH,     /* front end: with `lhs`: `body` (resolve checks lhs is parpy.gpu) */
  N_GPU,      /* with parpy.gpu: `body` */
  N_EXPR,     /* front end: expression statement `lhs` (label or call) */
  N_INLINE,   /* statement call of a jit function `func`(`args`), to be inlined */
  N_RETURN,   /* return `lhs` */
  N_DECL,     /* declaration of `sym` with no initialiser (scope pass) */
  N_BLOCK,    /* `body`: a nested statement list (scope pass, lowering) */
  N_PRINT,    /* print(`args`...): strings (N_STR) and scalars, one line */
  /* -- GPU targets (src/gpu) -- */
  N_SYNC,     /* barrier among the threads of a block (`cluster`: of a cluster) */
  N_FIRST,    /* expression: this thread is the first of those running the
                 statement (all indices of layers >= `layer` are 0; with
                 `per_block`, only within its block) */
  N_BLOCKIDX, /* expression: the index of this thread's block within layer `layer` */
  /* -- debug mode (passes/checks.c) -- */
  N_CHECK     /* expression: `lhs`, checked at run time against site `check`
                 (a divisor, a float converted to an integer); statement:
                 mark every element of the shadow array `sym` unwritten */
} NodeKind;

typedef enum Op {
  OP_NONE,
  /* unary */
  OP_NEG, OP_POS, OP_NOT, OP_INVERT,
  /* binary arithmetic */
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW,
  OP_BITAND, OP_BITOR, OP_BITXOR, OP_SHL, OP_SHR,
  /* logic (Python truthiness: `a and b` is `b if a else a`) */
  OP_AND, OP_OR,
  /* comparisons */
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
  /* two-argument functions, after resolution */
  OP_MAX, OP_MIN, OP_ATAN2,
  OP_MATMUL /* front end only: resolve makes `a @ b` a B_DOT */
} Op;

const char *op_symbol(Op op); /* "+", "//", "and", "max", ... */

/* Loop labels attached to a statement (resolve pass). */
typedef struct Labels {
  int n;
  const char **names; /* interned */
} Labels;

struct Node {
  NodeKind kind;
  Span span;
  Type *ty;     /* expressions, after `types` */
  Node *next;   /* next statement / argument */

  Op op;
  Node *lhs, *rhs;
  Node *cond, *then, *els;
  Node *body;
  Node *args;
  Node *lo, *hi, *step_expr; /* for: bounds; slice: lo/hi/step_expr */

  Value val;                 /* literals */
  const char *str;           /* N_STR, N_FIELD key */
  const char *name;          /* N_NAME, N_ATTR */
  int gidx;                  /* N_GLOBAL */
  Sym *sym;                  /* N_VAR, N_FOR, N_DECL */
  Func *func;                /* N_INLINE */
  Fn *fn;                    /* N_FUNCALL */
  Extern *ext;               /* N_EXTCALL */
  Builtin builtin;           /* N_BUILTIN */
  Elem elem;                 /* N_BUILTIN B_CONVERT target */
  bool weak_result;          /* N_BUILTIN from Python's math module; N_BINARY
                              * OP_MAX/OP_MIN from Python's builtin max/min */
  bool has_axis;             /* N_BUILTIN reductions */
  int64_t axis;
  bool keepdims;             /* N_BUILTIN sum along `axis` made by types.c for var/std: the
                              * reduced dimension stays, of extent 1 (NumPy's keepdims) */
  bool has_ddof;             /* N_CALL/N_BUILTIN np.var, np.std: ddof=`ddof` */
  int64_t ddof;
  bool explicit_conv;        /* N_CONVERT */
  bool where;                /* N_IFEXP from np.where: a strong (array) result */

  /* N_FOR */
  int64_t step;              /* compile-time step (never 0) */
  bool all_threads;          /* GPU: one iteration that every thread of the loop's
                                level runs (a call of a parallel external, `ext`) */
  Labels labels;             /* N_FOR, N_ASSIGN */
  LoopPar par;               /* N_FOR after the `parallel` pass */
  bool par_outer;            /* N_FOR: outermost parallel loop of its nest */
  Node *red_target;          /* N_FOR reduce: the accumulated lvalue */
  Op red_op;                 /* N_FOR reduce: OP_ADD, OP_MUL, OP_MAX, ... */

  /* N_SLICE after `types`: normalised like Python's slice.indices();
   * sl_norm is set once they are, and then lo/hi/step_expr are ignored
   * (a slice of a slice is composed into one normalised slice). */
  int64_t sl_start, sl_step, sl_len;
  bool sl_norm;
  bool newaxis;              /* N_SLICE: None / np.newaxis, a new dimension of extent 1 */

  /* N_ASSIGN after `scopes` */
  bool is_decl;              /* prints as a declaration of lhs->sym */
  /* N_ASSIGN in a .reduce() loop that is not a single reduction: the update
   * `t = t op v` of an array element is done atomically (`op`) */
  bool atomic;

  /* N_GPU made by the compiler (a reduction at host level), not the user;
   * front end N_ASSIGN: a later target of a chained assignment */
  bool implicit;

  /* GPU targets */
  Kernel *kernel;            /* N_FOR: the kernel this outermost parallel loop becomes */
  int layer;                 /* N_FOR in a kernel: its layer; N_FIRST, N_BLOCKIDX */
  bool per_block;            /* N_FIRST */
  bool cluster;              /* N_SYNC; N_FOR reduce: reduced across a cluster */
  Sym *partials;             /* N_FOR reduce across blocks: the array of per-block results */
  Node *partial_at;          /* ... and the element this block's result goes to */

  /* debug mode: 1 + the index of the node's CheckSite in Prog.checks (0:
   * unchecked).  N_SUBSCRIPT: its indices are checked against the shape;
   * N_ASSIGN: its store is checked for a write race; N_CHECK: see there. */
  int check;
};

/* ==== functions =========================================================== */
typedef struct Param {
  const char *name;
  Span span;
  Type *annot; /* parpy type annotation, or NULL */
  bool zero_d; /* indexed with () or ...: a 0-d array argument is passed as an array */
} Param;

/* A decorated function as parsed once at decoration time. */
struct Func {
  const char *name;
  Source src;
  Span span;
  int nparams;
  Param *params;
  Type *ret_annot;
  Node *body;
  int nglobals;
  GlobalRef *globals;
  bool resolved;     /* globals looked up by the Python layer */
  Arena arena;       /* owns everything above */
};

/* A function of one compilation: the main function or a helper called in
 * an expression.  Built by `resolve` from a Func. */
struct Fn {
  Func *src;
  const char *name;  /* C name */
  bool is_main;
  int nparams;
  Sym **params;
  Type *ret;         /* helpers: the return type; main: void */
  Node *body;
  int nsyms;         /* every symbol of the function (params first) */
  Sym **syms;
  /* Externals it calls, directly or through helpers (the first of each
   * kind): where it may be called from, and how the GPU runs it. */
  Extern *calls_device, *calls_host, *calls_parallel;
  Fn *next;
};

/* ==== run-time checks (debug mode, passes/checks.c) ========================
 * Each check in the code names a site of this table; the printers emit the
 * table so that a failed check only has to record small integers. */
typedef enum CheckKind {
  CHECK_INDEX = 1, /* N_SUBSCRIPT: every index within its dimension */
  CHECK_RACE,      /* N_ASSIGN through an index array: no other iteration wrote it */
  CHECK_ZERO,      /* N_CHECK: an integer divisor is not zero */
  CHECK_RANGE      /* N_CHECK: a float fits the integer type `elem` (and is not NaN) */
} CheckKind;

typedef struct CheckSite {
  CheckKind kind;
  Span span;
  const char *what;  /* the checked expression, as print_expr shows it */
  const char *array; /* INDEX, RACE: the array's name */
  const Type *ty;    /* INDEX, RACE: the array's type (its shape) */
  bool write;        /* INDEX: the subscript is stored to */
  int nidx;          /* INDEX: how many indices are checked (not slices) */
  Elem elem;         /* RANGE: the integer type */
  Sym *shadow;       /* RACE: the shadow array (int64, one per element) */
  Sym *iter;         /* RACE: the innermost parallel loop's variable */
} CheckSite;

/* ==== the compilation ===================================================== */
struct Prog {
  Arena arena;
  Diag diag;
  Options opt;
  int nargs;
  ArgSpec *args;
  Func *func;        /* the decorated main function */
  Fn *main;
  Fn *helpers;       /* callees before callers */
  int nexts;         /* externals called, in order of first call */
  Extern **exts;
  Kernel *kernels;   /* GPU targets: the kernels, in launch order of first appearance */
  int ntemps;        /* arrays the host code allocates for a call (GPU kernels' values,
                        large slice temporaries) */
  Sym **temps;
  int next_sym_id;
  int nchecks;       /* debug mode: the check sites (passes/checks.c) */
  CheckSite *checks;
  int nshadows;      /* debug mode: shadow arrays of race checks (int64, shape of the array) */
  Sym **shadows;
  Buf debug;         /* debug_print output */
  double t_start;    /* seconds, for debug_print timings */
};

/* ---- ast.c: constructors and helpers ---- */
Node *new_node(Arena *a, NodeKind kind, Span span);
Node *new_int(Arena *a, int64_t v, Span span);
Node *new_var(Prog *p, Sym *s, Span span);
Node *clone_node(Arena *a, const Node *n);   /* deep copy of one node and its children (not `next`) */
Node *clone_list(Arena *a, const Node *list);
Sym *new_sym(Prog *p, const char *name, SymKind kind, Type *ty);
Type *type_scalar(Arena *a, Elem e, bool weak);
Type *type_array(Arena *a, Elem e, int rank, const int64_t *shape);
Type *type_void(void);
bool type_equal(const Type *a, const Type *b);
void type_str(const Type *t, Buf *out);      /* "float32", "float32[10, 4]", "int (Python)" */
int64_t type_numel(const Type *t);
bool is_lvalue(const Node *n);
int list_len(const Node *n);
Node **list_tail(Node **head);               /* address of the last `next` slot */
void value_str(Value v, Buf *out);
/* The neutral element of a reduction with `op` (a literal of type `ty`). */
Node *identity_of(Arena *a, Op op, Type *ty, Span span);
/* Structural equality of expressions (same symbols, same operators). */
bool expr_equal(const Node *a, const Node *b);
/* Does the tree (with nested statements) refer to `s`? */
bool expr_mentions(const Node *n, const Sym *s);

/* Array locals bound several times (Sym.array_ref) are pointers chosen at
 * run time.  each_array_of calls `each` for every argument array (an N_VAR
 * of a parameter or an N_FIELD) the array expression `n` may refer to,
 * until it returns false; arrays_may_alias says whether two array
 * expressions may refer to one argument; is_array_ref whether an array
 * expression goes through such a local. */
bool each_array_of(const Node *n, bool (*each)(const Node *, void *), void *ctx);
bool arrays_may_alias(const Node *a, const Node *b);
bool is_array_ref(const Node *n);

/* Report an error at a node.  Returns false so callers can `return err(...)`. */
bool err(Prog *p, DiagKind kind, Span span, const char *fmt, ...) PP_PRINTF(4, 5);
bool failed(const Prog *p);

/* ---- the pipeline (compile.c) ---- */
/* After prog_init the caller allocates the ArgSpecs in p->arena and sets
 * p->args/p->nargs (one per parameter of the main function). */
void prog_init(Prog *p, Func *main, const Options *opt);
void prog_free(Prog *p);
/* Run every pass and print code for the target; false on error (p->diag). */
bool compile_prog(Prog *p, Buf *code);

/* ---- the passes, one file each, in pipeline order ---- */
bool resolve_names(Prog *p);   /* resolve.c: clone, bind names, builtins, labels, gpu */
bool inline_calls(Prog *p);    /* inline.c: statement calls to jit functions */
bool split_webs(Prog *p);    /* webs.c: a local reused by several loops, one per loop */
bool specialise(Prog *p);      /* specialise.c: parameter types and constants */
bool check_types(Prog *p);     /* types.c: NumPy typing, conversions, slices typed */
bool lower_slices(Prog *p);    /* slices.c: slice statements and reductions to loops */
bool plan_parallel(Prog *p);   /* parallel.c: LoopPar per loop, reduction form */
bool lower_bfloat16(Prog *p);  /* bfloat16.c: bfloat16 arithmetic done in float32 */
const Sym *first_bf16_sym(const Prog *p); /* bfloat16.c: an argument or local typed bfloat16 */
bool check_array_races(Prog *p); /* races.c: races on arrays in parallel loops */
bool place_slice_temps(Prog *p); /* temps.c: slice temporaries on the stack or allocated */
/* A new array of the main function that the host code allocates for each call. */
Sym *prog_new_temp(Prog *p, const char *name, Elem e, int rank, const int64_t *shape);
bool place_decls(Prog *p);     /* scopes.c: declarations, parallel races */
bool insert_checks(Prog *p);   /* checks.c: run-time checks of the debug mode */

/* ---- resolve.c: shared with inline.c and later passes ---- */
/* The statements of `callee` resolved in `caller` with its parameters bound
 * to `args` (a list); NULL on error. */
Node *resolve_inlined(Prog *p, Fn *caller, Func *callee, Node *args, Span call);
/* A fresh compiler temporary of `fn`. */
Sym *fn_temp(Prog *p, Fn *fn, const char *name, Type *ty);

/* ---- consteval.c ---- */
/* Evaluate an expression made of literals, specialised parameters, shapes
 * and arithmetic.  False if it is not a compile-time constant. */
bool const_eval(const Node *n, Value *out);
bool const_int(const Node *n, int64_t *out);

/* ---- promote.c: NumPy 2 type promotion ---- */
Elem promote_elem(Elem a, Elem b);                  /* np.promote_types */
Type *promote(Arena *a, const Type *x, const Type *y); /* scalars, NEP 50 weak rules */

/* ---- print.c: Python-like dump of a Fn for debug_print ---- */
void print_fn(const Fn *f, Buf *out);
void print_expr(const Node *n, Buf *out);

#endif
