/* CHECK for the C programs of tests/c_api: counts a failed condition and prints it with edgellm_last_error().
 * Not a test framework: each program returns failures == 0 from main. One program per translation unit. */
#ifndef EDGELLM_TESTS_C_API_CHECK_H
#define EDGELLM_TESTS_C_API_CHECK_H

#include <stdio.h>

#include "edgellm/edgellm.h"

static int failures = 0;
#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "FAILED: %s (line %d): %s\n", #cond, __LINE__, edgellm_last_error()); \
      ++failures;                                                                           \
    }                                                                                       \
  } while (0)

#endif
