/* nest.c - facts about nests of parallel loops that several GPU steps need. */
#include "gpu.h"

bool gpu_is_par(const Node *s) { return s && s->kind == N_FOR && s->par.nthreads > 0; }

static void widths(const Node *list, int depth, int64_t *n, int *k) {
  for (const Node *s = list; s; s = s->next) {
    if (gpu_is_par(s)) {
      if (depth < GPU_MAX_LAYERS) {
        if (s->par.nthreads > n[depth])
          n[depth] = s->par.nthreads;
        if (depth + 1 > *k)
          *k = depth + 1;
      }
      widths(s->body, depth + 1, n, k);
      continue;
    }
    widths(s->body, depth, n, k);
    widths(s->then, depth, n, k);
    widths(s->els, depth, n, k);
  }
}

int gpu_nest_widths(const Node *root, int64_t *n) {
  int k = 0;
  for (int i = 0; i < GPU_MAX_LAYERS; i++)
    n[i] = 0;
  Node copy = *root;
  copy.next = NULL;
  widths(&copy, 0, n, &k);
  return k;
}

static int64_t tpb_of(const Node *list) {
  int64_t t = PP_DEFAULT_TPB;
  for (const Node *s = list; s; s = s->next) {
    if (gpu_is_par(s) && s->par.tpb != PP_DEFAULT_TPB)
      return s->par.tpb;
    int64_t inner[3] = {tpb_of(s->body), tpb_of(s->then), tpb_of(s->els)};
    for (int i = 0; i < 3; i++)
      if (inner[i] != PP_DEFAULT_TPB)
        return inner[i];
  }
  return t;
}

int64_t gpu_nest_tpb(const Node *root) {
  if (root->par.tpb != PP_DEFAULT_TPB)
    return root->par.tpb;
  return tpb_of(root->body);
}

int64_t gpu_round_threads(int64_t n) { return n <= 1 ? 1 : (n + 31) / 32 * 32; }

int64_t gpu_inner_blocks(int64_t n, int64_t tpb) {
  int64_t t = gpu_round_threads(n);
  return t <= tpb ? 1 : (t + tpb - 1) / tpb;
}

int64_t gpu_units_below(const Options *o, const int64_t *n, int k, int depth, int64_t tpb) {
  if (depth >= k)
    return 1;
  int64_t units = gpu_inner_blocks(n[k - 1], tpb);
  /* The blocks of a cluster can wait for each other. */
  if (o->use_clusters && units <= o->max_blocks_per_cluster)
    units = 1;
  for (int j = depth; j < k - 1; j++)
    units *= n[j];
  return units;
}

bool gpu_produces(const Node *s) {
  if (!s)
    return false;
  if (s->kind == N_ASSIGN)
    return s->lhs->kind == N_SUBSCRIPT;
  if (s->kind == N_FOR && s->partials)
    return true;
  return gpu_list_produces(s->body) || gpu_list_produces(s->then) || gpu_list_produces(s->els);
}

bool gpu_list_produces(const Node *list) {
  for (const Node *s = list; s; s = s->next)
    if (gpu_produces(s))
      return true;
  return false;
}

bool gpu_trips(const Node *f, int64_t *trips) {
  int64_t lo, hi;
  if (!const_int(f->lo, &lo) || !const_int(f->hi, &hi))
    return false;
  int64_t s = f->step;
  if (s > 0)
    *trips = hi > lo ? (hi - lo + s - 1) / s : 0;
  else
    *trips = lo > hi ? (lo - hi - s - 1) / -s : 0;
  return true;
}
