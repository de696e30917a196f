/* parpy_metal_runtime.mm - the runtime API of parpy_metal.h on macOS: the one
 * file of ParPy that talks to Apple's Metal API (Objective-C++, built with
 * the system clang++ and the Metal and Foundation frameworks, with ARC).
 * Every generated library is built with its own copy (hidden symbols).
 *
 *  - one device (the system default) and one command queue per library;
 *  - a library's kernels are compiled once, at its first call, from
 *    parpy_metal_math.metal, parpy_metal_prelude.metal (in the directory
 *    the build passes as PARPY_METAL_INCLUDE) and the library text, with fast math off (NumPy's
 *    NaN and infinity); pipeline states are cached by kernel name;
 *  - launches are encoded into one compute encoder (serial dispatch: each
 *    kernel sees the writes of the one before) until parpy_metal_sync
 *    commits the command buffer and waits for it;
 *  - buffers use shared storage: copies are memcpy of their contents, and
 *    page-aligned host arrays (parpy.buffer's Metal buffers) are used in
 *    place, wrapped without a copy.
 *
 * This file cannot be compiled on Linux; .github/workflows/metal.yml builds
 * and tests it on macOS.  It is kept small on purpose. */
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parpy_metal.h"

#ifndef PARPY_METAL_INCLUDE
#error "the build passes -DPARPY_METAL_INCLUDE=\"<parpy's include directory>\""
#endif

struct parpy_metal_buffer {
  id<MTLBuffer> mtl;
  size_t size;
};

namespace {

/* A compiled library: its MTLLibrary and pipeline states by kernel name. */
struct LibState {
  id<MTLLibrary> lib;
  NSMutableDictionary<NSString *, id<MTLComputePipelineState>> *pipelines;
};

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* everything below */
id<MTLDevice> device;
id<MTLCommandQueue> queue;
id<MTLCommandBuffer> commands;       /* being encoded, not committed */
id<MTLComputeCommandEncoder> encoder;
thread_local char error_text[1024];

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_text, sizeof error_text, fmt, ap);
  va_end(ap);
  return 1;
}

const char *describe(NSError *e) {
  return e ? e.localizedDescription.UTF8String : "no reason given";
}

int ensure_device() {
  if (device)
    return 0;
  device = MTLCreateSystemDefaultDevice();
  if (!device)
    return fail("this Mac has no Metal device");
  queue = [device newCommandQueue];
  if (!queue) {
    device = nil;
    return fail("creating a Metal command queue failed");
  }
  return 0;
}

NSString *read_text(const char *name, NSError **err) {
  NSString *path = [NSString stringWithFormat:@"%s/%s", PARPY_METAL_INCLUDE, name];
  return [NSString stringWithContentsOfFile:path encoding:NSUTF8StringEncoding error:err];
}

int compile(parpy_metal_library *lib) {
  NSError *err = nil;
  NSString *math = read_text("parpy_metal_math.metal", &err);
  NSString *prelude = math ? read_text("parpy_metal_prelude.metal", &err) : nil;
  if (!prelude)
    return fail("reading ParPy's Metal files in %s failed: %s", PARPY_METAL_INCLUDE,
                describe(err));
  NSString *source = [NSString stringWithFormat:@"#include <metal_stdlib>\nusing namespace metal;\n"
                                                @"%@\n%@\n%s\n",
                                                math, prelude, lib->source];
  MTLCompileOptions *options = [MTLCompileOptions new];
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
  options.fastMathEnabled = NO; /* (mathMode in macOS 15) */
#pragma clang diagnostic pop
  id<MTLLibrary> compiled = [device newLibraryWithSource:source options:options error:&err];
  if (!compiled)
    return fail("compiling the Metal kernels failed: %s", describe(err));
  LibState *state = new LibState;
  state->lib = compiled;
  state->pipelines = [NSMutableDictionary new];
  lib->state = state;
  return 0;
}

id<MTLComputePipelineState> pipeline(LibState *state, const char *name) {
  NSString *key = [NSString stringWithUTF8String:name];
  id<MTLComputePipelineState> p = state->pipelines[key];
  if (p)
    return p;
  id<MTLFunction> fn = [state->lib newFunctionWithName:key];
  if (!fn) {
    fail("the Metal library has no kernel %s", name);
    return nil;
  }
  NSError *err = nil;
  p = [device newComputePipelineStateWithFunction:fn error:&err];
  if (!p) {
    fail("preparing the kernel %s failed: %s", name, describe(err));
    return nil;
  }
  if (p.threadExecutionWidth != 32) {
    fail("ParPy's Metal kernels need SIMD-groups of 32 threads; this GPU runs %s with %lu",
         name, (unsigned long)p.threadExecutionWidth);
    return nil;
  }
  state->pipelines[key] = p;
  return p;
}

/* Commit what was encoded and wait for it (under `lock`). */
int flush() {
  if (encoder) {
    [encoder endEncoding];
    encoder = nil;
  }
  if (!commands)
    return 0;
  [commands commit];
  [commands waitUntilCompleted];
  int status = 0;
  if (commands.status == MTLCommandBufferStatusError)
    status = fail("a Metal kernel failed: %s", describe(commands.error));
  commands = nil;
  return status;
}

} // namespace

int parpy_metal_load(parpy_metal_library *lib) {
  @autoreleasepool {
    pthread_mutex_lock(&lock);
    int status = ensure_device();
    if (status == 0 && !lib->state)
      status = compile(lib);
    pthread_mutex_unlock(&lock);
    return status;
  }
}

int parpy_metal_alloc(parpy_metal_buffer **b, size_t bytes) {
  @autoreleasepool {
    *b = NULL;
    pthread_mutex_lock(&lock);
    int status = ensure_device();
    id<MTLBuffer> mtl = nil;
    if (status == 0)
      mtl = [device newBufferWithLength:(bytes > 0 ? bytes : 1)
                                options:MTLResourceStorageModeShared];
    pthread_mutex_unlock(&lock);
    if (status != 0)
      return status;
    if (!mtl)
      return fail("Buffer allocation failed (%zu bytes)", bytes);
    *b = new parpy_metal_buffer{mtl, bytes};
    return 0;
  }
}

/* Page-aligned host memory in place: on Apple silicon the GPU shares it
 * (newBufferWithBytesNoCopy wants a page-aligned pointer and a length of
 * whole pages; the rounding stays within pages holding the array, and no
 * deallocator: the memory stays the caller's).  Where Metal refuses, a
 * copy. */
int parpy_metal_use(parpy_metal_buffer **b, void *host, size_t bytes, int *copied) {
  @autoreleasepool {
    *b = NULL;
    *copied = 0;
    size_t page = (size_t)getpagesize();
    if (bytes > 0 && (uintptr_t)host % page == 0) {
      pthread_mutex_lock(&lock);
      int status = ensure_device();
      id<MTLBuffer> mtl = nil;
      if (status == 0)
        mtl = [device newBufferWithBytesNoCopy:host
                                        length:(bytes + page - 1) / page * page
                                       options:MTLResourceStorageModeShared
                                   deallocator:nil];
      pthread_mutex_unlock(&lock);
      if (status != 0)
        return status;
      if (mtl) {
        *b = new parpy_metal_buffer{mtl, bytes};
        return 0;
      }
    }
    *copied = 1;
    return parpy_metal_alloc(b, bytes) || parpy_metal_copy_in(*b, host, bytes);
  }
}

/* Command buffers retain the buffers they use: releasing ours is safe
 * while a kernel still runs on it. */
void parpy_metal_free(parpy_metal_buffer *b) {
  @autoreleasepool {
    delete b;
  }
}

int parpy_metal_copy_in(parpy_metal_buffer *b, const void *src, size_t bytes) {
  if (bytes > b->size)
    return fail("copying %zu bytes into a buffer of %zu", bytes, b->size);
  if (bytes)
    memcpy(b->mtl.contents, src, bytes);
  return 0;
}

int parpy_metal_copy_out(void *dst, parpy_metal_buffer *b, size_t bytes) {
  if (bytes > b->size)
    return fail("copying %zu bytes out of a buffer of %zu", bytes, b->size);
  int status = parpy_metal_sync(); /* the kernels writing it come first */
  if (status == 0 && bytes)
    memcpy(dst, b->mtl.contents, bytes);
  return status;
}

int parpy_metal_launch(parpy_metal_library *lib, parpy_metal_kernel k,
                       const parpy_metal_arg *args, int nargs, uint32_t gx, uint32_t gy,
                       uint32_t gz, uint32_t tx, uint32_t ty, uint32_t tz) {
  @autoreleasepool {
    if (nargs > 31)
      return fail("launching the kernel %s: %d buffers (Metal binds at most 31)", k.name, nargs);
    pthread_mutex_lock(&lock);
    int status = 0;
    id<MTLComputePipelineState> p =
        lib->state ? pipeline((LibState *)lib->state, k.name) : nil;
    if (!lib->state)
      status = fail("launching the kernel %s: the library was not loaded", k.name);
    else if (!p)
      status = 1;
    else if ((uint64_t)tx * ty * tz > p.maxTotalThreadsPerThreadgroup)
      status = fail("launching the kernel %s: %llu threads per threadgroup, this GPU allows %lu",
                    k.name, (unsigned long long)tx * ty * tz,
                    (unsigned long)p.maxTotalThreadsPerThreadgroup);
    if (status == 0 && !commands)
      commands = [queue commandBuffer];
    if (status == 0 && !encoder)
      encoder = [commands computeCommandEncoder];
    if (status == 0 && (!commands || !encoder))
      status = fail("launching the kernel %s: no Metal command buffer", k.name);
    if (status == 0) {
      [encoder setComputePipelineState:p];
      for (int i = 0; i < nargs; i++) {
        if (args[i].buffer)
          [encoder setBuffer:args[i].buffer->mtl offset:0 atIndex:(NSUInteger)i];
        else
          [encoder setBytes:args[i].bytes length:args[i].size atIndex:(NSUInteger)i];
      }
      [encoder dispatchThreadgroups:MTLSizeMake(gx, gy, gz)
              threadsPerThreadgroup:MTLSizeMake(tx, ty, tz)];
    }
    pthread_mutex_unlock(&lock);
    return status;
  }
}

int parpy_metal_sync(void) {
  @autoreleasepool {
    pthread_mutex_lock(&lock);
    int status = flush();
    pthread_mutex_unlock(&lock);
    return status;
  }
}

const char *parpy_metal_error(void) { return error_text; }
