/* specialise.c - give every parameter its type.  The main function's
 * parameters take the call's arguments (ArgSpecs): arrays their dtype and
 * shape, scalars their value as well, which makes them compile-time
 * constants.  Helpers called in expressions take their annotations. */
#include <math.h>
#include <string.h>

#include "../ast.h"

/* The value of a Python int argument in the configured int size. */
static bool int_value(Prog *p, Sym *s, int64_t v, Span span) {
  Elem e = p->opt.int_size;
  int bits = elem_size(e) * 8;
  if (bits < 64) {
    int64_t lo = elem_is_signed(e) ? -((int64_t)1 << (bits - 1)) : 0;
    int64_t hi = elem_is_signed(e) ? ((int64_t)1 << (bits - 1)) - 1 : ((int64_t)1 << bits) - 1;
    if (v < lo || v > hi)
      return err(p, DIAG_VALUE, span, "argument '%s' = %lld does not fit in %s (force_int_size)",
                 s->name, (long long)v, elem_name(e));
  } else if (e == EL_U64 && v < 0) {
    return err(p, DIAG_VALUE, span, "argument '%s' = %lld does not fit in uint64 (force_int_size)",
               s->name, (long long)v);
  }
  s->val.elem = e;
  s->val.i = v;
  return true;
}

static double round_to(Elem e, double v) {
  if (e == EL_F32)
    return (double)(float)v;
  if (e == EL_F16)
    return (double)(_Float16)v;
  return v;
}

static Type *spec_type(Prog *p, const ArgSpec *a) {
  Arena *ar = &p->arena;
  switch (a->kind) {
  case ARG_INT: return type_scalar(ar, p->opt.int_size, true);
  case ARG_FLOAT: return type_scalar(ar, p->opt.float_size, true);
  case ARG_BOOL: return type_scalar(ar, EL_BOOL, true);
  case ARG_SCALAR: return type_scalar(ar, a->elem, false);
  case ARG_ARRAY: return type_array(ar, a->elem, a->rank, a->shape);
  case ARG_DICT: {
    Type *t = ARENA_NEW(ar, Type);
    t->kind = TY_DICT;
    t->nfields = a->nfields;
    t->keys = ARENA_ARRAY(ar, const char *, a->nfields > 0 ? a->nfields : 1);
    t->fields = ARENA_ARRAY(ar, Type *, a->nfields > 0 ? a->nfields : 1);
    for (int i = 0; i < a->nfields; i++) {
      t->keys[i] = intern(a->keys[i]);
      t->fields[i] = spec_type(p, &a->fields[i]);
    }
    return t;
  }
  case ARG_OPAQUE: return NULL;
  }
  return NULL;
}

/* A scalar taken at run time (jitfn.c decides when) is a variable that the
 * entry reads from its slot: on Cpu, and on Cuda, whose host code reads it
 * and passes it to the kernels using it as a parameter (src/gpu/kernels.c).
 * Not on Metal, and not with CUDA graphs, whose replay would keep the
 * captured value.  Only where the C type holds every value of the argument
 * exactly: int parameters when ints are int64, no float16 or bfloat16.  Anything else
 * is refused, and the caller goes back to specialising that parameter. */
static bool runtime_param(Prog *p, Sym *s, const ArgSpec *a, int slot, Span span) {
  Elem e = a->kind == ARG_INT ? p->opt.int_size : a->kind == ARG_FLOAT ? p->opt.float_size : a->elem;
  bool backend = p->opt.backend == BACKEND_CPU ||
                 (p->opt.backend == BACKEND_CUDA && !p->opt.use_graphs);
  if (!backend || e == EL_F16 || e == EL_BF16 || e == EL_BOOL ||
      (a->kind == ARG_INT && e != EL_I64) || (a->kind != ARG_INT && a->kind != ARG_FLOAT &&
                                                a->kind != ARG_SCALAR))
    return err(p, DIAG_TYPE, span, "argument '%s' cannot be taken at run time here", s->name);
  s->is_const = false;
  s->slot = slot;
  return true;
}

static bool specialise_param(Prog *p, Sym *s, const ArgSpec *a, int slot, Span span) {
  s->arg = a;
  s->ty = spec_type(p, a);
  if (a->runtime)
    return runtime_param(p, s, a, slot, span);
  switch (a->kind) {
  case ARG_INT: s->is_const = true; return int_value(p, s, a->val.i, span);
  case ARG_FLOAT:
    s->is_const = true;
    s->val.elem = p->opt.float_size;
    s->val.f = round_to(p->opt.float_size, a->val.f);
    return true;
  case ARG_BOOL:
  case ARG_SCALAR:
    s->is_const = true;
    s->val = a->val;
    return true;
  default: return true;
  }
}

/* The entry's slots an argument takes: one per leaf (as sig_nslots). */
static int nslots(const ArgSpec *a) {
  if (a->kind != ARG_DICT)
    return 1;
  int n = 0;
  for (int k = 0; k < a->nfields; k++)
    n += nslots(&a->fields[k]);
  return n;
}

static bool specialise_main(Prog *p) {
  Fn *m = p->main;
  if (p->nargs != m->nparams)
    return err(p, DIAG_TYPE, p->func->span, "%s() takes %d argument%s but %d %s given", m->name,
               m->nparams, m->nparams == 1 ? "" : "s", p->nargs, p->nargs == 1 ? "was" : "were");
  int slot = 0;
  for (int i = 0; i < m->nparams; i++) {
    if (!specialise_param(p, m->params[i], &p->args[i], slot, p->func->params[i].span))
      return false;
    slot += nslots(&p->args[i]);
  }
  return true;
}

/* Helpers called in expressions are typed by their annotations. */
static bool specialise_helper(Prog *p, Fn *h) {
  Buf missing;
  buf_init(&missing);
  for (int i = 0; i < h->nparams; i++) {
    Type *t = h->src->params[i].annot;
    if (!t)
      buf_printf(&missing, "%s%s", missing.len ? ", " : "", h->params[i]->name);
    h->params[i]->ty = t;
  }
  bool ok = true;
  if (missing.len)
    ok = err(p, DIAG_TYPE, h->src->span,
             "the parameters %s of '%s' need type annotations, such as x: parpy.types.F32, "
             "because '%s' is called in an expression",
             buf_cstr(&missing), h->name, h->name);
  buf_free(&missing);
  h->ret = h->src->ret_annot; /* NULL: inferred from the return statements */
  return ok;
}

bool specialise(Prog *p) {
  for (Fn *h = p->helpers; h; h = h->next)
    if (!specialise_helper(p, h))
      return false;
  return specialise_main(p);
}
