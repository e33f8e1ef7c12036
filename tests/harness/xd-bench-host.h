/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xen/xd-sim-host.h"

G_BEGIN_DECLS

/* The synthetic hosts of the benchmarks: devices planned first, then
 * published a backend at a time. */

/* One device as its agent would publish it. */
typedef struct
{
  guint backend;
  const char *klass;
  char *port;
  GStrv kv; /* key, value, ..., NULL */
} XdBenchDevice;

/* A vbd to attach once the devices are published. */
typedef struct
{
  guint backend, frontend, devid;
  char params[24];
  char dev[8];
  const char *mode;
} XdBenchVbd;

void xd_bench_device_free (XdBenchDevice *device);

/* Adds a device to @plan (freeing with xd_bench_device_free ()); the
 * varargs are key, value pairs ending with NULL. Returns the device. */
XdBenchDevice *xd_bench_plan_device (GPtrArray *plan, guint backend, const char *klass,
                                     const char *port, ...) G_GNUC_NULL_TERMINATED;

/* libxl's name and devid of the @n-th disk of a VM: xvda, ..., xvdz,
 * xvdaa, ...; past xvdp the extended numbering. */
void xd_bench_frontend_dev (guint n, char buf[8]);
guint xd_bench_frontend_devid (guint n);

/* Writes what xd_sim_host_publish_device () would for each of @devices
 * (all from one backend), in one transaction; aborts on failure. */
void xd_bench_publish_batch (XdSimHost *host, GPtrArray *devices);

/* ---- small helpers every benchmark uses ---- */

/* The first three fields of /proc/loadavg ("0.52 0.31 0.20"): other work on
 * the machine shows in every figure. */
char *xd_bench_load_average (void);
/* Stops the benchmark with @what and the error's message, if any. */
void xd_bench_die_on_error (GError *error, const char *what);
double xd_bench_ms_since (gint64 start);
/* For qsort () of gint64 values. */
int xd_bench_compare_int64 (gconstpointer a, gconstpointer b);
/* The nearest-rank percentile @p (0-100) of sorted @values. */
gint64 xd_bench_percentile (const gint64 *values, guint n, double p);
/* The median of @values (not changed). */
double xd_bench_median (const double *values, guint n);

G_END_DECLS
