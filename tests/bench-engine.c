/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A benchmark of the device engine against a real xenstored (Debian's daemon
 * under tests/shim), on two synthetic hosts each in a fresh daemon. It prints
 * figures and asserts nothing about time: timing depends on the machine, and
 * a test that fails on a busy CI runner teaches nobody anything.
 *
 * For each host it measures
 *   1. the full scan (xd_engine_load without watches, median of 5, a new
 *      engine each time, which reads the host ahead in bulk) against a
 *      floor: the same nodes read with bare libxenstore calls in one pass,
 *      one request at a time; and the engine once without reading ahead;
 *   2. the latency from a device being published (another thread, its own
 *      connection) to the engine's device-added signal, one at a time;
 *   3. the engine's CPU time and rescans while unrelated writes land under
 *      /local/domain;
 *   4. the resident memory the engine takes per device.
 *
 * Run it with `meson test -C _build --benchmark` or directly with
 * XD_XENSTORED_SHIM set; `--quick` uses small hosts (for sanitizer builds).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <xenstore.h>

#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-bench-host.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-xs-store.h"

#define SCAN_RUNS 5
#define WARMUP_EVENTS 10
/* Generous: a step that takes this long is stuck, not slow. */
#define WAIT_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* xvda: 202 << 8; each further disk adds 16 (libxl's vbd numbering). */
#define XVD_DEVID_BASE 51712
#define XENBUS_STATE_CONNECTED 4

typedef struct
{
  const char *label;
  guint n_vms;       /* dom0 included */
  guint n_devices;   /* published devices, the mic in dom0 included */
  guint n_events;    /* latency samples */
  guint n_unrelated; /* unrelated writes */
  gboolean batched;  /* one transaction per VM, not per device */
} HostSpec;

typedef struct
{
  guint n_block, n_usb, n_mic, n_attached;
  double populate_s;
  double scan_ms, floor_ms;
  double one_by_one_ms; /* the engine without reading ahead (one run) */
  guint64 engine_requests, floor_requests;
  double load_watch_ms;
  /* Latency in µs over all events, then over ports that sort first in their
   * class and those that sort last: median, p99, max. */
  gint64 lat[3][3];
  double reads_per_event;
  double unrelated_write_s;
  double cpu_main_ms, cpu_proc_ms;
  guint64 rescans, unrelated_events;
  gint64 hwm_kib, rss_delta_kib, heap_delta_bytes;
  gboolean ok;
} HostResult;

/* ---- small helpers ---- */

static double
rusage_ms (int who)
{
  struct rusage ru;

  getrusage (who, &ru);
  return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3
         + ru.ru_stime.tv_usec / 1e3;
}

/* A field of /proc/self/status in KiB ("VmHWM", "VmRSS"); -1 if unknown. */
static gint64
proc_status_kib (const char *field)
{
  g_autofree char *contents = NULL;
  g_autofree char *key = g_strconcat ("\n", field, ":", NULL);
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return -1;
  p = strstr (contents, key);
  if (!p)
    return -1;
  return g_ascii_strtoll (p + strlen (key), NULL, 10);
}

/* Bytes in use in the main malloc arena, where the engine (main thread)
 * allocates: a cross-check of RSS that page granularity does not blur. */
static gint64
heap_in_use (void)
{
  struct mallinfo2 mi = mallinfo2 ();
  return (gint64) mi.uordblks + (gint64) mi.hblkhd;
}

/* The first three fields of /proc/loadavg: other work on the machine shows
 * in every figure here, latency most. */
/* ---- a store that counts requests ---- */

/* Wraps the engine's store to count what it asks xenstored, so the scan can
 * be compared with the floor request for request, not just in time. */
typedef struct
{
  XdStore parent;
  XdStore *inner;
  guint64 requests;
} CountingStore;

static char *
counting_read (XdStore *store, const char *path, gsize *len, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  return xd_store_read (self->inner, path, len, error);
}

static char **
counting_directory (XdStore *store, const char *path, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  return xd_store_directory (self->inner, path, error);
}

static gboolean
counting_watch (XdStore *store, const char *path, const char *token, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  return xd_store_watch (self->inner, path, token, error);
}

static void
counting_unwatch (XdStore *store, const char *path, const char *token)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  xd_store_unwatch (self->inner, path, token);
}

static gboolean
counting_is_connected (XdStore *store)
{
  return xd_store_is_connected (((CountingStore *) store)->inner);
}

static void
counting_free (XdStore *store)
{
  CountingStore *self = (CountingStore *) store;
  xd_store_free (self->inner);
  g_free (self);
}

static char *
counting_read_txn (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  return xd_store_read_txn (self->inner, txn, path, len, error);
}

static char **
counting_directory_txn (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  self->requests++;
  return xd_store_directory_txn (self->inner, txn, path, error);
}

/* The scan writes nothing; the rest pass through so the vtable is whole. */
static gboolean
counting_transaction_start (XdStore *store, XdStoreTxn *txn, GError **error)
{
  return xd_store_transaction_start (((CountingStore *) store)->inner, txn, error);
}

static gboolean
counting_transaction_end (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error)
{
  return xd_store_transaction_end (((CountingStore *) store)->inner, txn, abort, error);
}

static gboolean
counting_write (XdStore *store, XdStoreTxn txn, const char *path, const char *value, GError **error)
{
  return xd_store_write (((CountingStore *) store)->inner, txn, path, value, error);
}

static gboolean
counting_rm (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  return xd_store_rm (((CountingStore *) store)->inner, txn, path, error);
}

static gboolean
counting_set_permissions (XdStore *store, XdStoreTxn txn, const char *path,
                          const XdStorePermission *perms, guint n_perms, GError **error)
{
  return xd_store_set_permissions (((CountingStore *) store)->inner, txn, path, perms, n_perms,
                                   error);
}

static XdStore *
counting_open_worker (XdStore *store, GError **error)
{
  return xd_store_open_worker (((CountingStore *) store)->inner, error);
}

static const XdStoreVTable counting_vtable = {
  .read = counting_read,
  .directory = counting_directory,
  .watch = counting_watch,
  .unwatch = counting_unwatch,
  .is_connected = counting_is_connected,
  .free = counting_free,
  .transaction_start = counting_transaction_start,
  .transaction_end = counting_transaction_end,
  .read_txn = counting_read_txn,
  .directory_txn = counting_directory_txn,
  .write = counting_write,
  .rm = counting_rm,
  .set_permissions = counting_set_permissions,
  .open_worker = counting_open_worker,
};

/* Only used without watches: no events to pass on. */
static CountingStore *
counting_store_new (XdStore *inner)
{
  CountingStore *self = g_new0 (CountingStore, 1);
  self->parent.vtable = &counting_vtable;
  self->inner = inner;
  return self;
}

/* ---- the synthetic host ---- */

static const char *const class_names[] = { "block", "mic", "usb", "pci" };

/* Block devices come in groups of three: a disk and two partitions. */
static void
block_port (guint k, char buf[16], char parent[16])
{
  g_snprintf (buf, 16, k % 3 == 0 ? "xdsk%u" : "xdsk%up%u", k / 3, k % 3);
  g_snprintf (parent, 16, "xdsk%u", k / 3);
}

/* The device mix: a mic in dom0; the rest round-robin over the VMs (dom0
 * included), seven in ten of each VM's devices block (a disk and two
 * partitions, in turn), the others usb; every twentieth block device is
 * attached to the next guest through a vbd. */
static void
populate (const HostSpec *spec, XdSimHost *host, HostResult *res)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) plan
    = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_bench_device_free);
  g_autoptr (GArray) vbds = g_array_new (FALSE, TRUE, sizeof (XdBenchVbd));
  g_autofree guint *per_vm = g_new0 (guint, spec->n_vms);
  g_autofree guint *blocks = g_new0 (guint, spec->n_vms);
  g_autofree guint *usbs = g_new0 (guint, spec->n_vms);
  g_autofree guint *attached_to = g_new0 (guint, spec->n_vms);
  gint64 start = g_get_monotonic_time ();

  xd_bench_plan_device (plan, 0, "mic", "mic", "desc", "Internal microphone", NULL);
  res->n_mic = 1;
  for (guint i = 0; i + 1 < spec->n_devices; i++)
    {
      guint backend = i % spec->n_vms;
      guint k = per_vm[backend]++;

      if (k % 10 < 7)
        {
          guint b = blocks[backend]++;
          char port[16], parent[16];
          g_autofree char *desc = NULL;
          g_autofree char *size
            = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) (b + 1) * 1024 * 1024 * 1024);
          const char *mode = b % 5 == 4 ? "r" : "w";

          block_port (b, port, parent);
          desc = g_strdup_printf ("Synthetic disk %u of %s (%s)", b / 3, port,
                                  b % 3 == 0 ? "whole disk" : "partition");
          xd_bench_plan_device (plan, backend, "block", port, "desc", desc, "size", size, "mode",
                                mode, b % 3 ? "parent" : NULL, parent, NULL);
          if (res->n_block++ % 20 == 19)
            {
              /* The next guest: dom0 holds nothing. */
              guint frontend = backend + 1 < spec->n_vms ? backend + 1 : 1;
              guint n = attached_to[frontend]++;
              XdBenchVbd vbd = { backend, frontend, xd_bench_frontend_devid (n), "", "", mode };

              g_snprintf (vbd.params, sizeof vbd.params, "/dev/%s", port);
              xd_bench_frontend_dev (n, vbd.dev);
              g_array_append_val (vbds, vbd);
            }
        }
      else
        {
          guint u = usbs[backend]++;
          g_autofree char *port
            = u % 2 ? g_strdup_printf ("%u-%u_%u", 1 + u / 64, 1 + (u / 4) % 16, 1 + u % 4)
                    : g_strdup_printf ("%u-%u", 1 + u / 64, 1 + (u / 4) % 16 + 16 * (u % 4));
          g_autofree char *desc = g_strdup_printf ("Synthetic USB device %u", u);

          xd_bench_plan_device (plan, backend, "usb", port, "desc", desc, "interfaces",
                                u % 2 ? ":030101:030102:" : ":080650:", NULL);
          res->n_usb++;
        }
    }

  /* xenstored's cost per write grows with the number of domains, so each
   * VM is filled as soon as it exists, and a vbd written as soon as its
   * frontend does. */
  for (guint d = 0; d < spec->n_vms; d++)
    {
      g_autofree char *name = d == 0 ? g_strdup ("dom0") : g_strdup_printf ("vm-%03u", d);
      g_autoptr (GPtrArray) batch = g_ptr_array_new ();

      xd_sim_host_add_vm (host, d, name, &error);
      xd_bench_die_on_error (error, "adding a VM");
      for (guint i = 0; i < plan->len; i++)
        {
          const XdBenchDevice *device = plan->pdata[i];
          if (device->backend != d)
            continue;
          if (spec->batched)
            g_ptr_array_add (batch, plan->pdata[i]);
          else
            xd_sim_host_publish_device (host, d, device->klass, device->port,
                                        (const char *const *) device->kv, &error);
          xd_bench_die_on_error (error, "publishing a device");
        }
      if (batch->len > 0)
        xd_bench_publish_batch (host, batch);
      for (guint i = 0; i < vbds->len; i++)
        {
          const XdBenchVbd *vbd = &g_array_index (vbds, XdBenchVbd, i);
          if (MAX (vbd->backend, vbd->frontend) != d)
            continue;
          xd_sim_host_write_vbd (host, vbd->backend, vbd->frontend, vbd->devid, vbd->params,
                                 vbd->dev, vbd->mode, XENBUS_STATE_CONNECTED, &error);
          xd_bench_die_on_error (error, "attaching a block device");
        }
    }
  res->n_attached = vbds->len;
  res->populate_s = xd_bench_ms_since (start) / 1000.0;
}

/* ---- 1. the full scan and its floor ---- */

static gboolean
floor_read (struct xs_handle *xsh, const char *path, guint64 *requests)
{
  unsigned int len;
  char *value = xs_read (xsh, XBT_NULL, path, &len);

  (*requests)++;
  free (value);
  return value != NULL;
}

static char **
floor_directory (struct xs_handle *xsh, const char *path, unsigned int *n, guint64 *requests)
{
  (*requests)++;
  *n = 0;
  return xs_directory (xsh, XBT_NULL, path, n);
}

/* The nodes the engine reads, in one pass, with nothing done with them: how
 * fast the daemon can answer this many requests over one connection. */
static guint64
floor_scan (struct xs_handle *xsh)
{
  static const char *const vbd_keys[]
    = { "params", "mode", "dev", "frontend-id", "state", "device-type", NULL };
  guint64 requests = 0;
  unsigned int n_doms;
  char **doms = floor_directory (xsh, "/local/domain", &n_doms, &requests);

  for (unsigned int d = 0; doms && d < n_doms; d++)
    {
      g_autofree char *dom = g_strdup_printf ("/local/domain/%s", doms[d]);
      g_autofree char *name = g_strconcat (dom, "/name", NULL);
      g_autofree char *backend = g_strconcat (dom, "/backend", NULL);
      unsigned int n_kinds;
      char **kinds;

      floor_read (xsh, name, &requests);
      for (guint c = 0; c < G_N_ELEMENTS (class_names); c++)
        {
          g_autofree char *dir = g_strdup_printf ("%s/data/xen-devices/%s", dom, class_names[c]);
          unsigned int n_ports;
          char **ports = floor_directory (xsh, dir, &n_ports, &requests);

          /* One node per device (xd-device-entry.h). */
          for (unsigned int p = 0; ports && p < n_ports; p++)
            {
              g_autofree char *path = g_strdup_printf ("%s/%s", dir, ports[p]);
              floor_read (xsh, path, &requests);
            }
          free (ports);
        }

      kinds = floor_directory (xsh, backend, &n_kinds, &requests);
      for (unsigned int k = 0; kinds && k < n_kinds; k++)
        {
          g_autofree char *vbd = g_strconcat (backend, "/vbd", NULL);
          unsigned int n_fronts;
          char **fronts;

          if (strcmp (kinds[k], "vbd") != 0)
            continue;
          fronts = floor_directory (xsh, vbd, &n_fronts, &requests);
          for (unsigned int f = 0; fronts && f < n_fronts; f++)
            {
              g_autofree char *front = g_strdup_printf ("%s/%s", vbd, fronts[f]);
              unsigned int n_devids;
              char **devids = floor_directory (xsh, front, &n_devids, &requests);

              for (unsigned int i = 0; devids && i < n_devids; i++)
                {
                  g_autofree char *record
                    = g_strdup_printf ("/libxl/%s/device/vbd/%s/backend", fronts[f], devids[i]);
                  floor_read (xsh, record, &requests);
                  for (guint v = 0; vbd_keys[v]; v++)
                    {
                      g_autofree char *path
                        = g_strdup_printf ("%s/%s/%s", front, devids[i], vbd_keys[v]);
                      floor_read (xsh, path, &requests);
                    }
                }
              free (devids);
            }
          free (fronts);
        }
      free (kinds);
    }
  free (doms);
  return requests;
}

static void
measure_full_scan (HostResult *res)
{
  g_autoptr (GError) error = NULL;
  double engine_ms[SCAN_RUNS], floor_ms[SCAN_RUNS];
  struct xs_handle *xsh = xs_open (XS_OPEN_SOCKETONLY);

  if (!xsh)
    g_error ("cannot open a xenstore connection for the floor: %s", g_strerror (errno));

  /* Interleaved, so that a slow patch of the machine hits both sides. */
  for (guint run = 0; run < SCAN_RUNS; run++)
    {
      XdStore *store = xd_xs_store_new (&error);
      g_autoptr (XdEngine) engine = NULL;
      gint64 start;

      xd_bench_die_on_error (error, "connecting the engine");
      engine = xd_engine_new (store);
      start = g_get_monotonic_time ();
      xd_engine_load (engine, FALSE, &error);
      engine_ms[run] = xd_bench_ms_since (start);
      xd_bench_die_on_error (error, "loading");

      start = g_get_monotonic_time ();
      res->floor_requests = floor_scan (xsh);
      floor_ms[run] = xd_bench_ms_since (start);
    }
  xs_close (xsh);

  /* One more, untimed, through a store that counts the requests. */
  {
    XdStore *inner = xd_xs_store_new (&error);
    CountingStore *counting;
    g_autoptr (XdEngine) engine = NULL;

    xd_bench_die_on_error (error, "connecting the engine");
    gint64 start;

    counting = counting_store_new (inner);
    engine = xd_engine_new (&counting->parent);
    start = g_get_monotonic_time ();
    xd_engine_load (engine, FALSE, &error);
    res->one_by_one_ms = xd_bench_ms_since (start);
    xd_bench_die_on_error (error, "loading");
    res->engine_requests = counting->requests;
  }

  res->scan_ms = xd_bench_median (engine_ms, SCAN_RUNS);
  res->floor_ms = xd_bench_median (floor_ms, SCAN_RUNS);
}

/* ---- 2. and 3.: a watching engine and a second writer ---- */

typedef struct
{
  const HostSpec *spec;
  GAsyncQueue *reported; /* main loop -> writer: the awaited signal came */
  GMainLoop *loop;
  /* The port whose device-added or device-removed the writer waits for;
   * set by the writer before it writes, read in the main loop. */
  gpointer awaited_port;
  gint awaited_removal;
  gint64 *published;   /* [n_events], writer side */
  gint64 *reported_at; /* [n_events], main loop side */
  gint current;
  double writer_cpu_ms;
  double write_s;
  gboolean failed;
} Run;

static void
device_added_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  Run *run = user_data;
  gint64 now = g_get_monotonic_time ();
  const char *awaited = g_atomic_pointer_get (&run->awaited_port);

  if (awaited && !g_atomic_int_get (&run->awaited_removal) && strcmp (device->port, awaited) == 0)
    {
      gint i = g_atomic_int_get (&run->current);
      if (i >= 0)
        run->reported_at[i] = now;
      g_atomic_pointer_set (&run->awaited_port, NULL);
      g_async_queue_push (run->reported, GINT_TO_POINTER (1));
    }
}

static void
device_removed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  Run *run = user_data;
  const char *awaited = g_atomic_pointer_get (&run->awaited_port);

  if (awaited && g_atomic_int_get (&run->awaited_removal) && strcmp (device->port, awaited) == 0)
    {
      g_atomic_pointer_set (&run->awaited_port, NULL);
      g_async_queue_push (run->reported, GINT_TO_POINTER (1));
    }
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Writer side: arms the wait before writing, so the signal cannot be missed. */
static void
arm (Run *run, const char *port, gboolean removal, gint index)
{
  g_atomic_int_set (&run->current, index);
  g_atomic_int_set (&run->awaited_removal, removal);
  g_atomic_pointer_set (&run->awaited_port, (char *) port);
}

static gboolean
await_report (Run *run, const char *what)
{
  if (g_async_queue_timeout_pop (run->reported, WAIT_TIMEOUT_US))
    return TRUE;
  /* The port is about to be freed: the main loop must stop comparing. */
  g_atomic_pointer_set (&run->awaited_port, NULL);
  g_printerr ("bench-engine: no report of %s within %d s\n", what,
              (int) (WAIT_TIMEOUT_US / G_USEC_PER_SEC));
  run->failed = TRUE;
  return FALSE;
}

static gboolean
publish_and_wait (Run *run, XdSimHost *host, guint backend, const char *port, gint index)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[]
    = { "desc", "Benchmark disk", "size", "1073741824", "mode", "w", NULL };

  arm (run, port, FALSE, index);
  xd_sim_host_publish_device (host, backend, "block", port, kv, &error);
  /* The commit's reply has come back: the transaction is in the store. */
  if (index >= 0)
    run->published[index] = g_get_monotonic_time ();
  xd_bench_die_on_error (error, "publishing");
  return await_report (run, port);
}

static gboolean
unpublish_and_wait (Run *run, XdSimHost *host, guint backend, const char *port)
{
  g_autoptr (GError) error = NULL;

  arm (run, port, TRUE, -1);
  xd_sim_host_unpublish_device (host, backend, "block", port, &error);
  xd_bench_die_on_error (error, "unpublishing");
  return await_report (run, port);
}

/* A guest VM that takes the i-th event. */
static guint
event_backend (const HostSpec *spec, guint i)
{
  return 1 + i % (spec->n_vms - 1);
}

static gpointer
latency_thread (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (XdSimHost) host = xd_sim_host_new (&error);

  xd_bench_die_on_error (error, "connecting the publisher");
  /* The warm-up also lets the engine swallow its watches' echoes. */
  for (guint i = 0; i < WARMUP_EVENTS && !run->failed; i++)
    {
      guint backend = event_backend (run->spec, i);
      if (publish_and_wait (run, host, backend, "benchwarm", -1))
        unpublish_and_wait (run, host, backend, "benchwarm");
    }
  for (guint i = 0; i < run->spec->n_events && !run->failed; i++)
    {
      guint backend = event_backend (run->spec, i);
      /* A new port each time, so no cached state can answer for the engine;
       * in turn one that sorts before the VM's other block devices ("xdsk")
       * and one that sorts after them, since the engine reads a class in
       * order. */
      g_autofree char *port = g_strdup_printf (i % 2 ? "zbench%u" : "bench%u", i);
      if (publish_and_wait (run, host, backend, port, (gint) i))
        unpublish_and_wait (run, host, backend, port);
    }
  g_idle_add (quit_cb, run->loop);
  return NULL;
}

static gpointer
unrelated_thread (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (XdSimHost) host = xd_sim_host_new (&error);
  struct xs_handle *xsh;
  double cpu_start;
  gint64 start;

  xd_bench_die_on_error (error, "connecting the writer");
  xsh = xd_sim_host_get_handle (host);
  cpu_start = rusage_ms (RUSAGE_THREAD);
  start = g_get_monotonic_time ();
  /* What guests and the toolstack write all the time: balloon targets and
   * the state of network frontends. */
  for (guint i = 0; i < run->spec->n_unrelated; i++)
    {
      guint domid = event_backend (run->spec, i);
      g_autofree char *path = g_strdup_printf (
        i % 2 ? "/local/domain/%u/device/vif/0/state" : "/local/domain/%u/memory/target", domid);
      g_autofree char *value = g_strdup_printf ("%u", i % 2 ? 1 + i % 6 : 1048576 - i);

      if (!xs_write (xsh, XBT_NULL, path, value, strlen (value)))
        g_error ("writing %s: %s", path, g_strerror (errno));
    }
  run->write_s = xd_bench_ms_since (start) / 1000.0;
  /* The marker: once it is reported, every earlier event was delivered. */
  publish_and_wait (run, host, 1, "benchmark", -1);
  run->writer_cpu_ms = rusage_ms (RUSAGE_THREAD) - cpu_start;
  g_idle_add (quit_cb, run->loop);
  return NULL;
}

static void
run_writer (Run *run, GThreadFunc func)
{
  GThread *thread = g_thread_new ("bench-writer", func, run);
  g_main_loop_run (run->loop);
  g_thread_join (thread);
}

static void
measure_watching (const HostSpec *spec, HostResult *res)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GAsyncQueue) reported = g_async_queue_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree gint64 *published = g_new0 (gint64, spec->n_events);
  g_autofree gint64 *reported_at = g_new0 (gint64, spec->n_events);
  g_autofree gint64 *latency = g_new0 (gint64, spec->n_events);
  Run run = {
    .spec = spec,
    .reported = reported,
    .loop = loop,
    .published = published,
    .reported_at = reported_at,
    .current = -1,
  };
  XdEngineStats before, after;
  gint64 rss_before, heap_before, start;
  double main_cpu, proc_cpu;
  XdStore *store;

  /* ---- 4. memory: what loading this host adds ---- */
  malloc_trim (0);
  rss_before = proc_status_kib ("VmRSS");
  heap_before = heap_in_use ();
  store = xd_xs_store_new (&error);
  xd_bench_die_on_error (error, "connecting the engine");
  engine = xd_engine_new (store);
  start = g_get_monotonic_time ();
  xd_engine_load (engine, TRUE, &error);
  res->load_watch_ms = xd_bench_ms_since (start);
  xd_bench_die_on_error (error, "loading with watches");
  res->rss_delta_kib = proc_status_kib ("VmRSS") - rss_before;
  res->heap_delta_bytes = heap_in_use () - heap_before;
  res->hwm_kib = proc_status_kib ("VmHWM");

  {
    g_autoptr (GPtrArray) devices = xd_engine_get_devices (engine, XD_N_CLASSES);
    guint attached = 0;
    for (guint i = 0; i < devices->len; i++)
      attached += xd_device_is_attached (devices->pdata[i]);
    xd_engine_get_stats (engine, &before);
    if (devices->len != spec->n_devices || attached != res->n_attached || before.skipped)
      g_printerr ("bench-engine: %s: the engine sees %u devices (%u attached, %" G_GUINT64_FORMAT
                  " skipped), %u (%u) were published\n",
                  spec->label, devices->len, attached, before.skipped, spec->n_devices,
                  res->n_attached);
  }

  g_signal_connect (engine, "device-added", G_CALLBACK (device_added_cb), &run);
  g_signal_connect (engine, "device-removed", G_CALLBACK (device_removed_cb), &run);

  /* ---- 2. latency ---- */
  xd_engine_get_stats (engine, &before);
  run_writer (&run, latency_thread);
  xd_engine_get_stats (engine, &after);
  if (run.failed)
    return;
  for (guint group = 0; group < 3; group++)
    {
      guint n = 0;
      for (guint i = 0; i < spec->n_events; i++)
        if (group == 0 || i % 2 == group - 1)
          latency[n++] = reported_at[i] - published[i];
      qsort (latency, n, sizeof *latency, xd_bench_compare_int64);
      res->lat[group][0] = xd_bench_percentile (latency, n, 50);
      res->lat[group][1] = xd_bench_percentile (latency, n, 99);
      res->lat[group][2] = latency[n - 1];
    }
  /* Each event is a publish and an unpublish (two changes), plus the
   * warm-up's. */
  res->reads_per_event = (double) (after.device_reads - before.device_reads)
                         / (2.0 * (spec->n_events + WARMUP_EVENTS));

  /* ---- 3. unrelated writes ---- */
  xd_engine_get_stats (engine, &before);
  main_cpu = rusage_ms (RUSAGE_THREAD);
  proc_cpu = rusage_ms (RUSAGE_SELF);
  run_writer (&run, unrelated_thread);
  main_cpu = rusage_ms (RUSAGE_THREAD) - main_cpu;
  proc_cpu = rusage_ms (RUSAGE_SELF) - proc_cpu;
  xd_engine_get_stats (engine, &after);
  if (run.failed)
    return;
  res->cpu_main_ms = main_cpu;
  res->cpu_proc_ms = proc_cpu - run.writer_cpu_ms;
  res->unrelated_write_s = run.write_s;
  res->rescans = (after.full_scans - before.full_scans) + (after.vm_scans - before.vm_scans);
  res->unrelated_events = after.events - before.events;
  res->ok = TRUE;
}

/* ---- one host ---- */

static void
run_host (const HostSpec *spec, HostResult *res)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) daemon = xd_test_xenstored_start (&error);
  g_autoptr (XdSimHost) host = NULL;
  const char *l = spec->label;

  xd_bench_die_on_error (error, "starting xenstored");
  xd_test_xenstored_setenv (daemon);
  host = xd_sim_host_new (&error);
  xd_bench_die_on_error (error, "connecting the simulated host");

  populate (spec, host, res);
  g_print ("%s  host: %u VMs, %u devices (%u block, %u usb, %u mic; %u block attached through "
           "vbd), populated in %.1f s\n",
           l, spec->n_vms, spec->n_devices, res->n_block, res->n_usb, res->n_mic, res->n_attached,
           res->populate_s);

  measure_watching (spec, res);
  if (!res->ok)
    {
      g_print ("%s  watching: FAILED (see stderr)\n", l);
      return;
    }
  measure_full_scan (res);

  g_print ("%s  full scan: engine %.1f ms, floor %.1f ms (%.2fx)  [median of %d; %" G_GUINT64_FORMAT
           " vs %" G_GUINT64_FORMAT " requests]\n",
           l, res->scan_ms, res->floor_ms, res->scan_ms / res->floor_ms, SCAN_RUNS,
           res->engine_requests, res->floor_requests);
  g_print ("%s    (the engine reads ahead in bulk; one request at a time, as the floor does, it "
           "took %.1f ms)\n",
           l, res->one_by_one_ms);
  g_print ("%s  load with watches: %.1f ms (scan plus %u watches registered)\n", l,
           res->load_watch_ms, 3 * spec->n_vms + 2);
  g_print ("%s  publish -> device-added: median %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT
           " us, max %" G_GINT64_FORMAT " us  [%u events, one at a time; %.1f device reads per "
           "change]\n",
           l, res->lat[0][0], res->lat[0][1], res->lat[0][2], spec->n_events, res->reads_per_event);
  for (guint group = 1; group < 3; group++)
    g_print ("%s    port sorting %s in its class: median %" G_GINT64_FORMAT
             " us, p99 %" G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT " us\n",
             l, group == 1 ? "first" : "last ", res->lat[group][0], res->lat[group][1],
             res->lat[group][2]);
  g_print ("%s  %u unrelated writes (%.2f s): engine CPU %.2f ms main thread, %.2f ms process "
           "minus writer; rescans %" G_GUINT64_FORMAT ", watch events %" G_GUINT64_FORMAT
           " (marker included)\n",
           l, spec->n_unrelated, res->unrelated_write_s, res->cpu_main_ms, res->cpu_proc_ms,
           res->rescans, res->unrelated_events);
  g_print ("%s  memory: VmHWM %.1f MiB after load; loading added %.1f MiB RSS = %.0f bytes/device",
           l, res->hwm_kib / 1024.0, res->rss_delta_kib / 1024.0,
           res->rss_delta_kib * 1024.0 / spec->n_devices);
  /* A sanitizer's allocator keeps mallinfo2 at zero. */
  if (res->heap_delta_bytes > 0)
    g_print (" (heap %.0f bytes/device)", (double) res->heap_delta_bytes / spec->n_devices);
  g_print ("\n");
}

int
main (int argc, char **argv)
{
  static const HostSpec full[] = {
    { "A", 50, 1000, 1000, 10000, FALSE },
    { "B", 300, 10000, 1000, 10000, TRUE },
  };
  static const HostSpec quick[] = {
    { "A", 10, 100, 50, 500, FALSE },
    { "B", 30, 1000, 50, 500, TRUE },
  };
  gboolean opt_quick = FALSE, opt_first = FALSE;
  const GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "Small hosts, few events (sanitizer builds)",
      NULL },
    { "first", 0, 0, G_OPTION_ARG_NONE, &opt_first, "Only the first host (A)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- benchmark the device engine");
  g_autoptr (GError) error = NULL;
  const HostSpec *specs;
  HostResult res[2] = { { 0 } };
  guint n_hosts;
  gint64 start = g_get_monotonic_time ();

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  specs = opt_quick ? quick : full;
  n_hosts = opt_first ? 1 : 2;
  {
    g_autofree char *load = xd_bench_load_average ();
    g_print ("bench-engine: %u CPUs, load average %s at start\n", g_get_num_processors (), load);
  }

  for (guint h = 0; h < n_hosts; h++)
    run_host (&specs[h], &res[h]);

  {
    g_autofree char *load = xd_bench_load_average ();
    g_print ("\nSummary%s (wall %.0f s, load average %s at end)\n", opt_quick ? " (--quick)" : "",
             xd_bench_ms_since (start) / 1000, load);
  }
  for (guint h = 0; h < n_hosts; h++)
    {
      const HostSpec *s = &specs[h];
      const HostResult *r = &res[h];

      if (!r->ok)
        {
          g_print ("  %s  incomplete\n", s->label);
          continue;
        }
      g_print ("  %s  %5u devices  scan %.2fx floor (target <= 2x)  p99 %.2f ms (target < 2 ms)"
               "  rescans %" G_GUINT64_FORMAT " (target 0)  %.0f bytes/device\n",
               s->label, s->n_devices, r->scan_ms / r->floor_ms, r->lat[0][1] / 1000.0, r->rescans,
               r->rss_delta_kib * 1024.0 / s->n_devices);
    }
  if (n_hosts == 2 && res[0].ok && res[1].ok)
    g_print ("  A->B  %.1fx devices took %.2fx the scan time and %.1fx the memory; growth %.0f "
             "bytes/device\n",
             (double) specs[1].n_devices / specs[0].n_devices, res[1].scan_ms / res[0].scan_ms,
             (double) res[1].rss_delta_kib / res[0].rss_delta_kib,
             (res[1].rss_delta_kib - res[0].rss_delta_kib) * 1024.0
               / (specs[1].n_devices - specs[0].n_devices));
  return res[0].ok && (n_hosts == 1 || res[1].ok) ? 0 : 1;
}
