/* locale.c - the "C" locale, for printing and reading numbers whatever the
 * process's locale is: Python code may call locale.setlocale, after which
 * printf would print 2.5 as "2,5" (in C, the comma operator). */
#include <pthread.h>

#include "util.h"

static locale_t c;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void make(void) { c = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

locale_t c_locale(void) {
  pthread_once(&once, make);
  return c;
}
