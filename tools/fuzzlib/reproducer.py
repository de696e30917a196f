"""The runner embedded in every program (so a reproducer is standalone),
and the program --inject mismatch replaces one with."""

RUNNER = r'''def values(r, dtype, shape):
    """Inputs: small ints, floats that are multiples of 1/8 (sums are exact)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return r.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "f":
        v = (r.integers(-32, 33, size=shape) / 8).astype(dt)
        if SPECIALS:
            flat = v.reshape(-1)
            for k in r.integers(0, flat.size, size=max(1, flat.size // 8)):
                flat[k] = r.choice([np.nan, np.inf, -np.inf, -0.0])
        return v
    lo = -20 if dt.kind == "i" else 0
    return r.integers(lo, 21, size=shape).astype(dt)


def poison(a):
    if a.dtype.kind == "f":
        a.fill(np.nan)
    elif a.dtype.kind == "b":
        a.fill(True)
    else:
        a.fill(np.frombuffer(b"\xa5" * a.itemsize, dtype=a.dtype)[0])


TOL = {"float16": 4e-3, "float32": 2e-5, "float64": 1e-12}


def compare(name, ref, got, exact):
    if got.dtype != ref.dtype or got.shape != ref.shape:
        return f"{name}: {got.dtype}{got.shape} instead of {ref.dtype}{ref.shape}"
    if ref.dtype.kind != "f" or exact:
        same = (ref == got) | (np.isnan(ref) & np.isnan(got)) if ref.dtype.kind == "f" else ref == got
        if ref.dtype.kind == "f":
            # the sign of a NaN is the hardware's (x86 sets it, GPUs do not)
            same &= (np.signbit(ref) == np.signbit(got)) | np.isnan(ref)
    else:
        r64, g64 = ref.astype(np.float64), got.astype(np.float64)
        # math functions round differently (NumPy has its own SIMD versions),
        # and an error made in the narrowest float type of the program reaches
        # wider results: the tolerance is that type's
        tol = max(TOL[ref.dtype.name], TOL[LEAST_FLOAT]) * (10 if REDUCTION else 1)
        scale = np.maximum(1.0, np.abs(r64))
        with np.errstate(all="ignore"):
            same = (np.abs(r64 - g64) <= tol * scale) | (r64 == g64) | (np.isnan(r64) & np.isnan(g64))
    if np.all(same):
        return None
    bad = np.argwhere(~np.asarray(same))
    k = tuple(bad[0])
    return (f"{name}: {len(bad)} of {ref.size} elements differ; at {list(k)}: "
            f"compiled {got[k]!r}, interpreted {ref[k]!r}")


def run(backend="Cpu", extra_flags=(), seed=ARGS_SEED, exact=None):
    """Returns (outcome, detail): match / mismatch / ub-cast / rejected / invalid / error."""
    args = make_args(seed)
    def copy(a):
        if isinstance(a, dict):
            return {k: copy(v) for k, v in a.items()}
        return a.copy() if isinstance(a, np.ndarray) else a
    ref = [copy(a) for a in args]
    got = [copy(a) for a in args]
    for k in OUTPUTS:
        ref[k].fill(0)
        poison(got[k])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            try:
                kernel(*ref, seq=True)
            except Exception as e:
                return "invalid", f"interpreter raised {type(e).__name__}: {e}"
    cast_ub = any("cast" in str(w.message) for w in caught)
    opts = parpy.par(dict(PAR))
    opts.backend = getattr(parpy.CompileBackend, backend)
    opts.extra_flags = list(extra_flags)
    try:
        kernel(*got, opts=opts)
    except parpy.ParPyError as e:
        return "rejected", f"{type(e).__name__}: {e}"
    except Exception as e:
        return "error", f"compiled call raised {type(e).__name__}: {e}"
    if exact is None:
        exact = not INEXACT and not REDUCTION
    pairs = []
    for k, (r, g) in enumerate(zip(ref, got)):
        if isinstance(r, dict):
            pairs += [(f"{NAMES[k]}[{key!r}]", r[key], g[key]) for key in r]
        else:
            pairs.append((NAMES[k], r, g))
    for name, r, g in pairs:
        if isinstance(r, np.ndarray):
            msg = compare(name, r, g, exact)
            if msg:
                return ("ub-cast" if cast_ub or FLOAT_TO_UNSIGNED else "mismatch"), msg
    return "match", ""


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Replay one fuzz program.")
    ap.add_argument("--backend", default="Cpu")
    ap.add_argument("--ubsan", action="store_true")
    ap.add_argument("--exact", action="store_true", help="compare floats bit for bit")
    ap.add_argument("--print", action="store_true", help="print the generated code")
    a = ap.parse_args()
    flags = ["-fsanitize=undefined,float-cast-overflow"] if a.ubsan else []
    if a.print:
        o = parpy.par(dict(PAR))
        o.backend = getattr(parpy.CompileBackend, a.backend)
        print(parpy.print_compiled(kernel, make_args(), o))
    outcome, detail = run(a.backend, flags, exact=True if a.exact else None)
    print(outcome, detail)
    sys.exit(0 if outcome in ("match", "rejected", "invalid") else 1)
'''


INJECTED = """import sys
import warnings

import numpy as np
import parpy


@parpy.jit
def kernel(a0, a1, N0):
    parpy.label('L0')
    for i in range(N0):
        a1[i] = a0[i] * 2.0


PAR = {'L0': parpy.threads(4)}
NAMES = ['a0', 'a1', 'N0']
OUTPUTS = [1]
INEXACT = REDUCTION = FLOAT_TO_UNSIGNED = SPECIALS = False
LEAST_FLOAT = 'float64'
ARGS_SEED = 1


def make_args(seed=ARGS_SEED):
    r = np.random.default_rng(seed)
    return [values(r, 'float64', (10,)), values(r, 'float64', (10,)), 10]


""" + RUNNER
