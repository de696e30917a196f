"""Builds parpy._core, the C compiler and runtime, with warnings as errors.

PARPY_SANITIZE=1 builds it with AddressSanitizer and UndefinedBehaviorSanitizer
(see .ci/run); PARPY_DEBUG=1 builds without optimisation.
"""
import os
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).parent
sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "src").rglob("*.c"))

cflags = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
          "-fvisibility=hidden"]
ldflags = []
if os.environ.get("PARPY_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-fno-omit-frame-pointer", "-g", "-O1"]
    cflags += san
    ldflags += san
elif os.environ.get("PARPY_DEBUG"):
    cflags += ["-O0", "-g"]
else:
    cflags += ["-O2"]

version = "0.2.0"

setup(
    ext_modules=[
        Extension(
            "parpy._core",
            sources=sources,
            include_dirs=["src"],
            define_macros=[("PARPY_VERSION", f'"{version}"')],
            extra_compile_args=cflags,
            extra_link_args=ldflags,
            libraries=["dl", "m"],
        )
    ],
)
