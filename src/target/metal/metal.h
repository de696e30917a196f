/* metal.h - what the files of the Metal target share.
 *
 * The Metal target prints one C++ file: the kernels in the Metal Shading
 * Language (MSL) inside PARPY_METAL_LIBRARY( ... ), then plain C++ host
 * code that calls the small runtime API of parpy_metal.h (allocate, copy,
 * launch a kernel by name, synchronise, error text).  On macOS the header
 * turns the library block into a string that the runtime compiles with
 * Metal; elsewhere into C++ that the simulator runs (docs/metal.md). */
#ifndef PARPY_TARGET_METAL_H
#define PARPY_TARGET_METAL_H

#include "../../gpu/gpu.h"
#include "../cprint.h"
#include "../gpuprint.h"

/* kernels.c: the library block (helpers used on the device, kernels). */
void metal_library(CPrinter *c);
/* The MSL name of a float math function ("metal::exp"). */
const char *metal_math_name(const char *fn);

/* host.c: the host functions, the entry and the calling convention. */
void metal_host(CPrinter *c);

/* check.c: what Metal cannot run (float64 on the device); false with
 * p->diag filled. */
bool metal_check(Prog *p);
/* The helpers the kernels call, directly or not (at most `max`). */
int metal_device_fns(Prog *p, Fn **set, int max);

/* build.c */
const char **metal_build_cmd(const Options *opt, const char *src, const char *lib,
                             const char *incdir, Arena *a);

#endif
