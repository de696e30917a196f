"""parpy_repr.h, the float formatting of code without snprintf/strtod (CUDA
device code's print), compiled as C here and compared with Python's repr
and NumPy's: shortest digits that read back, the closest of them, and the
layout (positional or exponent) of each type."""
import os
import random
import shutil
import struct
import subprocess

import numpy as np
import pytest

import parpy

INCLUDE = os.path.join(os.path.dirname(parpy.__file__), "include")
CC = os.environ.get("CC", "cc")

DRIVER = r"""
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "parpy_repr.h"

int main(void) {
  char line[64], out[PARPY_REPR_MAX + 1];
  while (fgets(line, sizeof line, stdin)) {
    int kind;
    unsigned long long bits;
    if (sscanf(line, "%d %llx", &kind, &bits) != 2)
      return 2;
    double v;
    int n;
    if (kind == 0) {
      memcpy(&v, &bits, 8);
    } else if (kind == 1) {
      float f;
      uint32_t b = (uint32_t)bits;
      memcpy(&f, &b, 4);
      v = f;
    } else if (kind == 2) {
      uint16_t b = (uint16_t)bits; /* float16 decoded by hand: no _Float16 needed */
      int e = (b >> 10) & 31, m = b & 1023;
      v = e == 31 ? (m ? NAN : INFINITY) : e ? (1024 + m) * ldexp(1, e - 25) : m * ldexp(1, -24);
      if (b >> 15)
        v = -v;
    }
    if (kind == 3)
      n = parpy_repr_i64(out, (int64_t)bits);
    else if (kind == 4)
      n = parpy_repr_u64(out, (uint64_t)bits, false);
    else
      n = parpy_repr_float(out, v, kind);
    out[n] = 0;
    puts(out);
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler ({CC})")
    d = tmp_path_factory.mktemp("repr")
    (d / "driver.c").write_text(DRIVER)
    flags = ["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror"]
    if os.environ.get("PARPY_SANITIZE"):
        flags += ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    r = subprocess.run([CC, *flags, f"-I{INCLUDE}", str(d / "driver.c"), "-o", str(d / "driver"),
                        "-lm"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr

    def run(cases):
        inp = "".join(f"{k} {b:x}\n" for k, b in cases)
        out = subprocess.run([str(d / "driver")], input=inp, capture_output=True, text=True,
                             env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout.split("\n")[:len(cases)]
    return run


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def compare(driver, cases, ref):
    got = driver(cases)
    bad = [(k, hex(b), r, g) for (k, b), r, g in zip(cases, map(ref, cases), got) if r != g]
    assert not bad, f"{len(bad)} of {len(cases)} differ, first: {bad[:10]}"


def ref_of(case):
    kind, bits = case
    if kind == 0:
        return repr(struct.unpack("<d", struct.pack("<Q", bits))[0])
    if kind == 1:
        return str(np.uint32(bits).view(np.float32))
    if kind == 2:
        return str(np.uint16(bits).view(np.float16))
    if kind == 3:
        return str(np.uint64(bits).view(np.int64))
    return str(bits)


SPECIAL = [0.1, 0.2 + 0.1, 1e20, 1e16, 1e15, 9999999999999998.0, 0.0001, 0.00001, 5e-324,
           1.7976931348623157e308, 2.2250738585072014e-308, 2.225073858507201e-308, -0.0, 0.0,
           float("inf"), -float("inf"), float("nan"), 1.0, 2.5, 100.0, 1 / 3, 2.0**53 + 2, 1e22,
           1e23, 4.35, 123456789.0, 1e-7, 1e100, 1e-100, 8.41e21, 5.0e-310]


def test_doubles_as_python_repr(driver):
    rnd = random.Random(13)
    cases = [(0, f64_bits(x)) for x in SPECIAL]
    cases += [(0, f64_bits(-x)) for x in SPECIAL]
    cases += [(0, rnd.getrandbits(64)) for _ in range(60000)]
    cases += [(0, f64_bits(rnd.random() * 10.0**rnd.uniform(-25, 25))) for _ in range(30000)]
    cases += [(0, f64_bits(float(rnd.randint(-10**6, 10**6)))) for _ in range(2000)]
    compare(driver, cases, ref_of)


def test_float32_as_numpy(driver):
    rnd = random.Random(14)
    with np.errstate(over="ignore"):
        cases = [(1, int(np.float32(x).view(np.uint32))) for x in SPECIAL]
    cases += [(1, rnd.getrandbits(32)) for _ in range(60000)]
    compare(driver, cases, ref_of)


def test_every_float16_as_numpy(driver):
    compare(driver, [(2, b) for b in range(1 << 16)], ref_of)


def test_integers(driver):
    vals = [0, 1, 9, 10, 2**63 - 1, 2**64 - 1, 2**63, 12345678901234567890]
    cases = [(3, v) for v in vals] + [(4, v) for v in vals]
    compare(driver, cases, ref_of)
