/* memcache.c - the in-memory cache of one jitted function: specialisation
 * key -> loaded library.  Open addressing with linear probing; keys are the
 * compact signature key followed by the options fingerprint.
 *
 * Entries of an older generation (before the last clear_cache()) count as
 * absent and are overwritten in place.  Libraries are never unloaded: code
 * of a running call may still be in one, and dlclose buys little. */
#include <stdlib.h>
#include <string.h>

#include "module.h"

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

void memcache_free(MemCache *c) {
  for (size_t i = 0; i < c->cap; i++)
    free(c->slots[i].key);
  free(c->slots);
  c->slots = NULL;
  c->cap = c->used = 0;
}

static bool same_key(const CacheEntry *e, const void *key, size_t len, uint64_t hash) {
  return e->hash == hash && e->keylen == len && memcmp(e->key, key, len) == 0;
}

const CacheEntry *memcache_get(const MemCache *c, const void *key, size_t len, uint64_t hash) {
  if (!c->cap)
    return NULL;
  size_t mask = c->cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const CacheEntry *e = &c->slots[i];
    if (!e->key)
      return NULL;
    if (same_key(e, key, len, hash))
      return e->gen == pp_generation ? e : NULL;
  }
}

static CacheEntry *find_slot(CacheEntry *slots, size_t cap, const void *key, size_t len,
                             uint64_t hash) {
  size_t mask = cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask)
    if (!slots[i].key || same_key(&slots[i], key, len, hash))
      return &slots[i];
}

/* Double the table, dropping dead entries on the way. */
static bool grow(MemCache *c) {
  size_t cap = c->cap ? c->cap * 2 : 8;
  CacheEntry *slots = calloc(cap, sizeof(CacheEntry));
  if (!slots)
    return false;
  size_t used = 0;
  for (size_t i = 0; i < c->cap; i++) {
    CacheEntry *e = &c->slots[i];
    if (!e->key)
      continue;
    if (e->gen != pp_generation) {
      free(e->key);
      continue;
    }
    *find_slot(slots, cap, e->key, e->keylen, e->hash) = *e;
    used++;
  }
  free(c->slots);
  c->slots = slots;
  c->cap = cap;
  c->used = used;
  return true;
}

void memcache_put(MemCache *c, const void *key, size_t len, uint64_t hash, const Library *lib,
                  int nslots) {
  if ((c->used + 1) * 4 > c->cap * 3 && !grow(c))
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
  e->gen = pp_generation;
  e->lib = *lib;
  e->nslots = nslots;
}

size_t memcache_live(const MemCache *c) {
  size_t n = 0;
  for (size_t i = 0; i < c->cap; i++)
    n += c->slots[i].key && c->slots[i].gen == pp_generation;
  return n;
}
