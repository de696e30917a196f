/* memcache.c - the in-memory cache of one jitted function: specialisation
 * key -> loaded library.  Open addressing with linear probing; keys are the
 * compact signature key followed by the options fingerprint.
 *
 * Entries of an older generation (before the last clear_cache()) and
 * evicted ones count as absent; they keep their slot (so probing stays
 * simple) until the table is rebuilt, which drops them.  The table is
 * bounded: past pp_memcache_limit live entries, the least recently used one
 * is evicted and its library unloaded when no call is running it, so a
 * function called with ever new scalar values does not fill the process's
 * memory and mappings (about 22 KiB and 5 mappings per library). */
#include <stdlib.h>
#include <string.h>

#include "module.h"

size_t pp_memcache_limit = 256;

LoadedLib *loaded_new(const Library *lib) {
  LoadedLib *l = malloc(sizeof *l);
  if (!l) {
    Library copy = *lib;
    rt_unload(&copy);
    PyErr_NoMemory();
    return NULL;
  }
  l->lib = *lib;
  l->refs = 1;
  return l;
}

void loaded_release(LoadedLib *l) {
  if (!l || --l->refs > 0)
    return;
  /* Kernels of a Cuda library may still be queued: its code must outlive
   * them.  Eviction is rare, so a device-wide wait is affordable here. */
  if (l->lib.backend == BACKEND_CUDA) {
    Py_BEGIN_ALLOW_THREADS
    rt_cuda_device_sync();
    Py_END_ALLOW_THREADS
  }
  rt_unload(&l->lib);
  free(l);
}

uint64_t memcache_hash(const void *key, size_t len) {
  /* Eight bytes at a time (keys are a few dozen bytes), then a final mix;
   * byte-wise FNV showed up in profiles of the call path. */
  const unsigned char *p = key;
  uint64_t h = 0x9e3779b97f4a7c15u ^ len;
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9u;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  memcpy(&w, p, len);
  h = (h ^ w) * 0x94d049bb133111ebu;
  return h ^ (h >> 29);
}

static bool live(const CacheEntry *e) { return e->key && e->lib && e->gen == pp_generation; }

void memcache_free(MemCache *c) {
  for (size_t i = 0; i < c->cap; i++) {
    free(c->slots[i].key);
    loaded_release(c->slots[i].lib);
  }
  free(c->slots);
  c->slots = NULL;
  c->cap = c->used = 0;
}

static bool same_key(const CacheEntry *e, const void *key, size_t len, uint64_t hash) {
  return e->hash == hash && e->keylen == len && memcmp(e->key, key, len) == 0;
}

CacheEntry *memcache_get(MemCache *c, const void *key, size_t len, uint64_t hash) {
  if (!c->cap)
    return NULL;
  size_t mask = c->cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    CacheEntry *e = &c->slots[i];
    if (!e->key)
      return NULL;
    if (same_key(e, key, len, hash)) {
      if (!live(e))
        return NULL;
      e->used = ++c->tick;
      return e;
    }
  }
}

static CacheEntry *find_slot(CacheEntry *slots, size_t cap, const void *key, size_t len,
                             uint64_t hash) {
  size_t mask = cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask)
    if (!slots[i].key || same_key(&slots[i], key, len, hash))
      return &slots[i];
}

/* Rebuild the table for its live entries (at most 3/8 full afterwards),
 * dropping dead ones. */
static bool rehash(MemCache *c) {
  size_t n = memcache_live(c), cap = 8;
  while (cap * 3 < (n + 1) * 8)
    cap *= 2;
  CacheEntry *slots = calloc(cap, sizeof(CacheEntry));
  if (!slots)
    return false;
  for (size_t i = 0; i < c->cap; i++) {
    CacheEntry *e = &c->slots[i];
    if (!e->key)
      continue;
    if (!live(e)) {
      free(e->key);
      loaded_release(e->lib);
      continue;
    }
    *find_slot(slots, cap, e->key, e->keylen, e->hash) = *e;
  }
  free(c->slots);
  c->slots = slots;
  c->cap = cap;
  c->used = n;
  return true;
}

/* Make room for one more live entry: evict the least recently used. */
static void evict(MemCache *c) {
  CacheEntry *old = NULL;
  for (size_t i = 0; i < c->cap; i++)
    if (live(&c->slots[i]) && (!old || c->slots[i].used < old->used))
      old = &c->slots[i];
  if (!old)
    return;
  LoadedLib *l = old->lib;
  old->lib = NULL;
  old->gen = 0;
  loaded_release(l);
}

void memcache_put(MemCache *c, const void *key, size_t len, uint64_t hash, LoadedLib *lib,
                  int nslots) {
  size_t limit = pp_memcache_limit ? pp_memcache_limit : 1;
  while (memcache_live(c) >= limit)
    evict(c);
  if ((c->used + 1) * 4 > c->cap * 3 && !rehash(c))
    return; /* out of memory: simply do not cache */
  CacheEntry *e = find_slot(c->slots, c->cap, key, len, hash);
  if (!e->key) {
    char *k = malloc(len ? len : 1);
    if (!k)
      return;
    memcpy(k, key, len);
    e->key = k;
    e->keylen = len;
    e->hash = hash;
    c->used++;
  }
  loaded_release(e->lib);
  lib->refs++;
  e->lib = lib;
  e->gen = pp_generation;
  e->used = ++c->tick;
  e->nslots = nslots;
}

size_t memcache_live(const MemCache *c) {
  size_t n = 0;
  for (size_t i = 0; i < c->cap; i++)
    n += live(&c->slots[i]);
  return n;
}
