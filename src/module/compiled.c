/* compiled.c - compile_string and the callable it returns.
 *
 * The code was generated elsewhere (by print_compiled, perhaps edited), so
 * the only record of what it was specialised to is the signature string the
 * library carries.  Every call checks its arguments against it: a scalar
 * baked into the code must have the same value, an array the same dtype and
 * shape. */
#include <math.h>

#include "module.h"

typedef struct CompiledObject {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  Library lib;
  Arena arena; /* name, names, specs */
  const char *name;
  int n;
  const char **names;
  ArgSpec *specs;
} CompiledObject;

/* "a float32[10, 4] array", "2.5", "a dict with fields 'a', 'b'" */
static void describe(const ArgSpec *s, Buf *b) {
  switch (s->kind) {
  case ARG_INT:
  case ARG_FLOAT:
  case ARG_BOOL: value_str(s->val, b); break;
  case ARG_SCALAR:
    buf_printf(b, "%s(", elem_name(s->elem));
    value_str(s->val, b);
    buf_puts(b, ")");
    break;
  case ARG_ARRAY:
    buf_printf(b, "a %s[", elem_name(s->elem));
    for (int i = 0; i < s->rank; i++)
      buf_printf(b, "%s%lld", i ? ", " : "", (long long)s->shape[i]);
    buf_printf(b, "] array%s", s->readonly ? " (read-only)" : "");
    break;
  case ARG_DICT:
    buf_puts(b, "a dict with fields");
    for (int i = 0; i < s->nfields; i++)
      buf_printf(b, "%s '%s'", i ? "," : "", s->keys[i]);
    if (!s->nfields)
      buf_puts(b, " (none)");
    break;
  case ARG_OPAQUE: buf_printf(b, "an object of type %s", s->what ? s->what : "?"); break;
  }
}

static bool same_value(Value a, Value b) {
  if (a.elem != b.elem)
    return false;
  if (elem_is_float(a.elem))
    return a.f == b.f || (isnan(a.f) && isnan(b.f));
  if (a.elem == EL_BOOL)
    return a.b == b.b;
  return a.i == b.i;
}

static bool match(const ArgSpec *want, const ArgSpec *got) {
  if (want->kind == ARG_OPAQUE)
    return got->kind != ARG_DICT; /* one slot, never read */
  if (want->kind != got->kind)
    return false;
  if (want->runtime) /* a run-time scalar takes any value of its kind */
    return want->kind != ARG_SCALAR || want->elem == got->elem;
  switch (want->kind) {
  case ARG_INT:
  case ARG_FLOAT:
  case ARG_BOOL: return same_value(want->val, got->val);
  case ARG_SCALAR: return want->elem == got->elem && same_value(want->val, got->val);
  case ARG_ARRAY:
    if (want->elem != got->elem || want->rank != got->rank || (got->readonly && !want->readonly))
      return false;
    for (int i = 0; i < want->rank; i++)
      if (want->shape[i] != got->shape[i])
        return false;
    return true;
  case ARG_DICT:
    if (want->nfields != got->nfields)
      return false;
    for (int i = 0; i < want->nfields; i++)
      if (strcmp(want->keys[i], got->keys[i]) != 0 || !match(&want->fields[i], &got->fields[i]))
        return false;
    return true;
  case ARG_OPAQUE: return true;
  }
  return false;
}

/* A different kind, dtype or rank is a TypeError; a different value, shape
 * or writability of the same type a ValueError. */
static DiagKind mismatch_kind(const ArgSpec *want, const ArgSpec *got) {
  if (want->kind != got->kind || want->elem != got->elem)
    return DIAG_TYPE;
  if (want->kind == ARG_ARRAY && want->rank != got->rank)
    return DIAG_TYPE;
  if (want->kind == ARG_DICT)
    return DIAG_TYPE;
  return DIAG_VALUE;
}

/* Raise for the first mismatch; within a dict of the same keys, name the
 * field that differs. */
static void report(const CompiledObject *c, const char *param, const char *key,
                   const ArgSpec *want, const ArgSpec *got) {
  bool same_keys = want->kind == ARG_DICT && got->kind == ARG_DICT &&
                   want->nfields == got->nfields;
  for (int i = 0; same_keys && i < want->nfields; i++)
    same_keys = strcmp(want->keys[i], got->keys[i]) == 0;
  for (int i = 0; same_keys && i < want->nfields; i++)
    if (!match(&want->fields[i], &got->fields[i])) {
      report(c, param, want->keys[i], &want->fields[i], &got->fields[i]);
      return;
    }
  Buf b;
  buf_init(&b);
  if (key)
    buf_printf(&b, "field '%s' of ", key);
  buf_printf(&b, "argument '%s' of %s was ", param, c->name);
  describe(want, &b);
  buf_puts(&b, " when this code was generated, got ");
  describe(got, &b);
  if (want->kind == ARG_ARRAY && got->kind == ARG_ARRAY && got->readonly && !want->readonly)
    buf_puts(&b, "; the code writes to it, so it must be writable");
  pp_raise(mismatch_kind(want, got), "%s", buf_cstr(&b));
  buf_free(&b);
}

static bool check_args(const CompiledObject *c, const CallArgs *ca) {
  for (int i = 0; i < c->n; i++)
    if (!match(&c->specs[i], &ca->specs[i])) {
      report(c, c->names[i], NULL, &c->specs[i], &ca->specs[i]);
      return false;
    }
  return true;
}

static PyObject *compiled_vectorcall(CompiledObject *self, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (kwnames && PyTuple_GET_SIZE(kwnames))
    return pp_raise(DIAG_TYPE, "%s() takes no keyword arguments", self->name);
  if (nargs != self->n)
    return args_count_error(self->name, self->n, nargs);
  CallArgs ca;
  args_init(&ca);
  PyObject *result = NULL;
  if (args_classify(&ca, args, self->n, self->name, self->names) && check_args(self, &ca))
    result = call_library(&self->lib, &ca, self->name);
  if (result && ca.nmps && !args_writeback(&ca))
    Py_CLEAR(result);
  args_release(&ca);
  return result;
}

static void compiled_dealloc(CompiledObject *self) {
  arena_free(&self->arena);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *compiled_repr(CompiledObject *self) {
  return PyUnicode_FromFormat("<parpy compiled function %s>", self->name);
}

static PyObject *compiled_signature(CompiledObject *self, void *unused) {
  (void)unused;
  return PyUnicode_FromString(self->lib.signature ? self->lib.signature : "");
}

static PyGetSetDef compiled_getset[] = {
    {"signature", (getter)compiled_signature, NULL, "what the code was specialised to", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject CompiledType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parpy._core.CompiledFunction",
    .tp_basicsize = sizeof(CompiledObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Generated code built by parpy.compile_string.",
    .tp_dealloc = (destructor)compiled_dealloc,
    .tp_vectorcall_offset = offsetof(CompiledObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)compiled_repr,
    .tp_getset = compiled_getset,
};

/* compile_string(name, code, opts) -> CompiledFunction */
PyObject *mod_compile_string(PyObject *self, PyObject *args) {
  (void)self;
  const char *name, *code;
  PyObject *opts;
  if (!PyArg_ParseTuple(args, "ssO:compile_string", &name, &code, &opts))
    return NULL;
  if (!(opts = options_check(opts)))
    return NULL;
  CompiledObject *c = PyObject_New(CompiledObject, &CompiledType);
  if (!c)
    return NULL;
  c->vectorcall = (vectorcallfunc)compiled_vectorcall;
  c->lib = (Library){0};
  arena_init(&c->arena);
  c->name = arena_strdup(&c->arena, name);
  c->n = 0;
  c->names = NULL;
  c->specs = NULL;
  Options opt;
  Diag d = {0};
  if (!options_from_py(opts, true, &opt, &c->arena) || !build_target_arch(&opt) ||
      !build_load(&opt, code, c->name, "string", NULL, &c->lib))
    goto fail;
  if (!c->lib.signature) {
    pp_raise(DIAG_RUNTIME, "the code defines no %s__signature; compile_string expects code "
             "printed by parpy.print_compiled", name);
    goto fail;
  }
  if (!sig_parse(c->lib.signature, &c->arena, &c->names, &c->specs, &c->n, &d)) {
    if (d.kind == DIAG_NONE)
      diag_error(&d, &c->arena, DIAG_RUNTIME, (Span){0}, "malformed %s__signature", name);
    raise_diag(&d);
    goto fail;
  }
  return (PyObject *)c;
fail:
  Py_DECREF(c);
  return NULL;
}

PyObject *mod_nvrtc_build(PyObject *self, PyObject *args) {
  (void)self;
  const char *name, *code, *arch;
  PyObject *opts;
  if (!PyArg_ParseTuple(args, "ssOs:_nvrtc_build", &name, &code, &opts, &arch))
    return NULL;
  if (!(opts = options_check(opts)))
    return NULL;
  Options opt;
  Arena a;
  arena_init(&a);
  Diag d = {0};
  size_t size = 0;
  bool ok = options_from_py(opts, false, &opt, &a);
  if (ok) {
    opt.cuda_arch = arena_strdup(&a, arch);
    Py_BEGIN_ALLOW_THREADS
    ok = rt_nvrtc_check_build(&opt, code, name, &size, &d, &a);
    Py_END_ALLOW_THREADS
    if (!ok)
      raise_diag(&d);
  }
  arena_free(&a);
  return ok ? PyLong_FromSize_t(size) : NULL;
}
