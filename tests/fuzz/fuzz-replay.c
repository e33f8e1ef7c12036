/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target on the files (or the files in the directories) given,
 * once each, without libFuzzer: the seed corpus and the crashes kept as
 * regressions are a test of every build (tests/fuzz/meson.build), with gcc
 * and under ASan+UBSan alike.
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint
run_file (const char *path)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      exit (2);
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  return 1;
}

int
main (int argc, char **argv)
{
  guint n = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
          const char *name;

          while (dir && (name = g_dir_read_name (dir)))
            {
              g_autofree char *path = g_build_filename (argv[i], name, NULL);
              n += run_file (path);
            }
        }
      else
        n += run_file (argv[i]);
    }
  printf ("replayed %u inputs\n", n);
  return n > 0 ? 0 : 1;
}
