/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* An invariant of a fuzz target: a broken one aborts, which libFuzzer keeps
 * as a crash (and the replay test fails on). */
#define CHECK(cond)                                                                                \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);            \
          abort ();                                                                                \
        }                                                                                          \
    }                                                                                              \
  while (0)
