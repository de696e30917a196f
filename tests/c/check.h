/* check.h - the smallest test harness: CHECK keeps going after a failure
 * so one run shows every broken expectation; main returns check_result(). */
#ifndef PARPY_TEST_CHECK_H
#define PARPY_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    check_count++;                                                                   \
    if (!(cond)) {                                                                   \
      check_failures++;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                                \
  } while (0)

/* String checks print both sides, which is what one wants to see. */
#define CHECK_STR(got, want)                                                         \
  do {                                                                               \
    const char *g_ = (got), *w_ = (want);                                            \
    check_count++;                                                                   \
    if (!g_ || strcmp(g_, w_) != 0) {                                                \
      check_failures++;                                                              \
      fprintf(stderr, "%s:%d: got  \"%s\"\n%*swant \"%s\"\n", __FILE__, __LINE__,    \
              g_ ? g_ : "(null)", (int)strlen(__FILE__) + 6, "", w_);                \
    }                                                                                \
  } while (0)

#define CHECK_HAS(text, part)                                                        \
  do {                                                                               \
    const char *t_ = (text), *p_ = (part);                                           \
    check_count++;                                                                   \
    if (!t_ || !strstr(t_, p_)) {                                                    \
      check_failures++;                                                              \
      fprintf(stderr, "%s:%d: \"%s\" not found in:\n%s\n", __FILE__, __LINE__, p_,   \
              t_ ? t_ : "(null)");                                                   \
    }                                                                                \
  } while (0)

static int check_result(const char *name) {
  printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
  return check_failures != 0;
}

#endif
