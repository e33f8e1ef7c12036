/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The synthetic-host population shared by the benchmarks (bench-engine,
 * bench-ops, bench-widget).
 */
#include "config.h"

#include "xd-bench-host.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <xenstore.h>

#include "core/xd-device-entry.h"

/* xvda's devid. */
#define XVD_DEVID_BASE 51712

void
xd_bench_device_free (XdBenchDevice *device)
{
  g_free (device->port);
  g_strfreev (device->kv);
  g_free (device);
}

XdBenchDevice *
xd_bench_plan_device (GPtrArray *plan, guint backend, const char *klass, const char *port, ...)
{
  XdBenchDevice *device = g_new0 (XdBenchDevice, 1);
  g_autoptr (GStrvBuilder) kv = g_strv_builder_new ();
  const char *key;
  va_list ap;

  device->backend = backend;
  device->klass = klass;
  device->port = g_strdup (port);
  va_start (ap, port);
  while ((key = va_arg (ap, const char *)))
    {
      g_strv_builder_add (kv, key);
      g_strv_builder_add (kv, va_arg (ap, const char *));
    }
  va_end (ap);
  device->kv = g_strv_builder_end (kv);
  g_ptr_array_add (plan, device);
  return device;
}

void
xd_bench_frontend_dev (guint n, char buf[8])
{
  if (n < 26)
    g_snprintf (buf, 8, "xvd%c", 'a' + n);
  else
    g_snprintf (buf, 8, "xvd%c%c", 'a' + (n / 26 - 1), 'a' + n % 26);
}

guint
xd_bench_frontend_devid (guint n)
{
  /* libxl's extended numbering past xvdp. */
  return n < 16 ? XVD_DEVID_BASE + 16 * n : (1U << 28) | (n << 8);
}

/* Fewer requests than xd_sim_host_publish_device: each write costs
 * xenstored time in proportion to the number of domains, and one
 * transaction per device makes a large host take a minute to fill. */
static gboolean
publish_batch_txn (struct xs_handle *xsh, xs_transaction_t t, GPtrArray *devices)
{
  for (guint i = 0; i < devices->len; i++)
    {
      const XdBenchDevice *device = devices->pdata[i];
      g_autofree char *path = g_strdup_printf ("/local/domain/%u/data/xen-devices/%s/%s",
                                               device->backend, device->klass, device->port);
      g_autofree char *value = xd_device_entry_format ((const char *const *) device->kv);

      /* No set_permissions: a node dom0 creates inherits its parent's
       * permissions, and data/ is the backend's, so the device's node gets
       * the {backend, NONE} the agent's would. */
      if (!value)
        g_error ("a bench device does not format: %s", path);
      if (!xs_write (xsh, t, path, value, strlen (value)))
        return FALSE;
    }
  return TRUE;
}

void
xd_bench_publish_batch (XdSimHost *host, GPtrArray *devices)
{
  struct xs_handle *xsh = xd_sim_host_get_handle (host);

  /* Nothing else writes while the host is filled: a conflict is a bug. */
  for (guint attempt = 0; attempt < 10; attempt++)
    {
      xs_transaction_t t = xs_transaction_start (xsh);

      if (t == XBT_NULL)
        g_error ("xs_transaction_start: %s", g_strerror (errno));
      if (!publish_batch_txn (xsh, t, devices))
        g_error ("publishing a batch: %s", g_strerror (errno));
      if (xs_transaction_end (xsh, t, false))
        return;
      if (errno != EAGAIN)
        g_error ("xs_transaction_end: %s", g_strerror (errno));
    }
  g_error ("publishing a batch kept conflicting");
}

/* ---- small helpers ---- */

char *
xd_bench_load_average (void)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return g_strdup ("unknown");
  fields = g_strsplit (contents, " ", 4);
  if (g_strv_length (fields) < 3)
    return g_strdup ("unknown");
  return g_strdup_printf ("%s %s %s", fields[0], fields[1], fields[2]);
}

void
xd_bench_die_on_error (GError *error, const char *what)
{
  if (error)
    g_error ("%s: %s", what, error->message);
}

double
xd_bench_ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

double
xd_bench_median (const double *values, guint n)
{
  g_autofree double *v = g_memdup2 (values, n * sizeof *values);

  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
xd_bench_compare_int64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

gint64
xd_bench_percentile (const gint64 *values, guint n, double p)
{
  guint rank = (guint) (p / 100.0 * n + 0.999999);
  return values[CLAMP (rank, 1, n) - 1];
}
