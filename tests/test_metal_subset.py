"""The printed Metal code stays in the MSL subset that parpy_metal_sim.h
documents (its table of constructs), so that the simulator of the Metal
grid accepts nothing Apple's compiler would reject; the prelude files that
Metal compiles before every library keep to it too.  Printing only: runs
anywhere."""
import re

from test_metal import include_text, library, printed_programs

# The MSL of parpy_metal_sim.h's table (test_the_subset_is_the_headers), the
# parpy_* functions of the prelude, and C++ keywords.  Any other name in a
# printed library block must be declared there (kernels, helpers, locals).
MSL_SUBSET = {
    "bool", "char", "short", "int", "long", "half", "float", "uint", "ushort", "uchar", "ulong",
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
    "uint2", "uint3", "x", "y", "z", "as_type", "device", "constant", "threadgroup", "kernel",
    "buffer", "thread_position_in_threadgroup", "threadgroup_position_in_grid",
    "max_total_threads_per_threadgroup", "metal", "exp", "log", "sin", "cos", "tan", "sqrt",
    "tanh", "atan2", "floor", "ceil", "pow", "fabs", "fmod", "copysign", "INFINITY", "NAN",
    "log2", "log10", "exp2", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "rint", "fmax", "fmin", "trunc", "isnan", "isinf", "isfinite",
    "threadgroup_barrier", "mem_flags", "mem_device", "mem_threadgroup", "simd_sum",
    "simd_product", "simd_max", "simd_min", "simd_and", "simd_or", "simd_xor",
    "simd_shuffle_xor", "atomic_uint", "memory_order_relaxed", "atomic_load_explicit",
    "atomic_compare_exchange_weak_explicit",
}
CPP = {"void", "const", "static", "inline", "if", "else", "for", "while", "return", "true",
       "false", "sizeof", "INT64_MIN", "UINT64_MAX"}  # (the last two: the prelude's)
TYPES = (r"(?:bool|char|short|int|long|half|float|uint|ushort|uchar|ulong|u?int(?:8|16|32|64)_t"
         r"|uint2|uint3)")


def words(text):
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))


def typed_names(text):
    """The names declared with a type of the subset (variables, parameters)."""
    return set(re.findall(TYPES + r"\s*[*&]?\s*([A-Za-z_][A-Za-z_0-9]*)", text))


def header_subset():
    """The constructs parpy_metal_sim.h documents in its table."""
    text = include_text("parpy_metal_sim.h")
    return words(text[text.index("construct"):text.index("Templates,")])


def prelude_names():
    text = "".join(include_text(f)
                   for f in ("parpy_metal_math.metal", "parpy_metal_prelude.metal"))
    names = set(re.findall(r"\b(parpy_[A-Za-z_0-9]+)", text))
    for kind in set(re.findall(r"\bparpy_([a-z0-9]+)_##", text)):  # macro-made names
        for t in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "f32"):
            names.add(f"parpy_{kind}_{t}")
    return names


# What the prelude (parpy_metal_math.metal, parpy_metal_prelude.metal) may
# use beyond the subset: C++ and the preprocessor, its macros' own names.
PRELUDE_CPP = CPP | {"template", "typename", "struct", "operator", "typedef", "define", "ifdef",
                     "ifndef", "endif", "if", "else", "__METAL_VERSION__"}
SHORT_TYPES = {"bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "f32",
               "add", "mul", "max", "min", "and", "or", "xor"}  # and operators


def metal_side(text):
    """The MSL that Metal compiles from a prelude file: comments and the
    host-only branches of #ifdef/#ifndef __METAL_VERSION__ removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out, keep = [], [True]
    for line in text.splitlines():
        m = re.match(r"#\s*(ifdef|ifndef|if|else|endif)\b(.*)", line.strip())
        if m and m.group(1) in ("ifdef", "ifndef", "if"):
            on_metal = {"ifdef": True, "ifndef": False}.get(m.group(1))
            if "__METAL_VERSION__" not in m.group(2):
                on_metal = None  # both branches may be compiled
            keep.append(on_metal)
        elif m and m.group(1) == "else":
            keep[-1] = None if keep[-1] is None else not keep[-1]
        elif m and m.group(1) == "endif":
            keep.pop()
        elif all(k is not False for k in keep):
            out.append(line)
    return "\n".join(out)


def test_the_prelude_stays_in_the_subset():
    """Metal compiles the two prelude files before every library: they too
    use only the documented subset (plus the names they define)."""
    allowed = header_subset() | PRELUDE_CPP
    for name in ("parpy_metal_math.metal", "parpy_metal_prelude.metal"):
        text = metal_side(include_text(name))
        assert "double" not in text, name
        text = re.sub(r"\b\d+(\.\d*)?([eE][-+]?\d+)?[fFuUlLxX]*[0-9a-fA-F]*", "0", text)
        text = re.sub(r"[\w#]*##[\w#]*", " ", text)  # names pasted by macros
        used = words(text)
        declared = typed_names(text)
        for macro, params in re.findall(r"#define (\w+)(?:\(([\w, ]*)\))?", text):
            declared |= {macro} | {q.strip() for q in params.split(",")}
        declared |= set(re.findall(r"(?:typename|struct) (\w+)", text))
        # locals and parameters of a template or macro type (T v, F f, PARPY_TO_FLOAT d)
        declared |= set(re.findall(r"\b[A-Z][A-Z_a-z0-9]*\s*[*&]?\s*([a-z_]\w*)\b", text))
        declared |= set(re.findall(r"::type (\w+)", text))
        declared |= set(re.findall(r",\s*([a-z_]\w*) = ", text))  # float z = ..., t = ...
        declared |= SHORT_TYPES  # the arguments of the macros making parpy_*_<type>
        left = {w for w in used - allowed - declared if not w.startswith("parpy_")}
        assert not left, (name, sorted(left))


def test_the_subset_is_the_headers():
    assert MSL_SUBSET <= header_subset(), MSL_SUBSET - header_subset()


def test_printed_code_stays_in_the_subset():
    allowed = MSL_SUBSET | CPP | prelude_names()
    n = 0
    for code in printed_programs():
        n += 1
        lib = library(code)
        assert "#" not in lib, "no preprocessor directives in the library block"
        assert not re.search(r"\bdouble\b|\d+LL\b|long long", lib)
        lib = re.sub(r"/\*.*?\*/", "", lib, flags=re.S)  # comments
        lib = re.sub(r"\b\d+(\.\d*)?([eE][-+]?\d+)?[fFuUlL]*", "0", lib)  # literals
        used = words(lib)
        declared = typed_names(lib)
        declared |= set(re.findall(r"\bkernel void ([A-Za-z_0-9]+)\(", lib))
        declared |= set(re.findall(r"\bstatic inline \w+ ([A-Za-z_0-9]+)\(", lib))
        assert used <= allowed | declared, (used - allowed - declared, lib)
    assert n > 10
