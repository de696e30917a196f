/* config.c - the runtime's process-wide settings, clock and interrupt check. */
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;

static char *include_dir, *version;

/* Settings are copied so the caller's strings need not outlive the call; a
 * second call (tests) replaces them. */
void rt_configure(const char *incdir, const char *ver) {
  char *i = strdup(incdir ? incdir : ""), *v = strdup(ver ? ver : "");
  pthread_mutex_lock(&rt_lock);
  free(include_dir);
  free(version);
  include_dir = i;
  version = v;
  pthread_mutex_unlock(&rt_lock);
}

bool rt_settings(const char **incdir, const char **ver, Diag *d, Arena *a) {
  pthread_mutex_lock(&rt_lock);
  bool ok = include_dir && version && include_dir[0];
  if (ok) {
    *incdir = arena_strdup(a, include_dir);
    *ver = arena_strdup(a, version);
  }
  pthread_mutex_unlock(&rt_lock);
  if (!ok)
    diag_error(d, a, DIAG_INTERNAL, (Span){0},
               "the ParPy runtime was used before rt_configure gave it its include directory");
  return ok;
}

double rt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool (*_Atomic interrupt_check)(void);

void rt_set_interrupt(bool (*check)(void)) { interrupt_check = check; }

bool rt_interrupted(void) {
  bool (*check)(void) = interrupt_check;
  return check && check();
}
