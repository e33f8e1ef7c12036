/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A benchmark of attach and detach through the engine and the simulated
 * toolstack, against a real xenstored (Debian's daemon under tests/shim). It
 * prints figures and asserts nothing about time.
 *
 * The host is the demo host plus synthetic VMs and devices (50 VMs and about
 * 1,000 devices, as bench-engine's host A), some of them attached, so that
 * the scans an operation makes of its backend (the live holders, a
 * partition's disk and siblings) have real entries to read. An engine
 * watches it, with the simulated toolstack set on it.
 *
 * Each round attaches a device to a VM and detaches it again, the target VM
 * alternating between personal and vault, one operation at a time, and waits
 * for the engine's model to settle before the next step:
 *   1. the round trip of attach and of detach, from the *_async call to its
 *      callback, for a block partition (sys-usb:sda2, through the toolstack)
 *      and for the mic (dom0:mic, written by the engine itself);
 *   2. a second run of the same rounds through an XdStore and an XdToolstack
 *      that wrap the real ones, count every request and time every call, to
 *      split the round trip into store calls, toolstack calls and the rest;
 *   3. from the first run: the time from the attach callback until the
 *      engine's model shows the new holder, as device-changed reports it.
 *
 * Run it with `meson test -C _build --benchmark` or directly with
 * XD_XENSTORED_SHIM set; `--quick` uses a small host and few rounds (for
 * sanitizer builds).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-bench-host.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
#include "xen/xd-xs-store.h"

#define WARMUP_ROUNDS 10
/* Generous: a step that takes this long is stuck, not slow. */
#define WAIT_TIMEOUT_S 30
/* xvda: 202 << 8; each further disk adds 16 (libxl's vbd numbering). */
#define XVD_DEVID_BASE 51712
#define XENBUS_STATE_CONNECTED 4

/* The demo host's domids; synthetic VMs follow. */
enum
{
  DOM0 = 0,
  SYS_USB = 1,
  PERSONAL = 3,
  VAULT = 4,
  FIRST_EXTRA_VM = 6,
};

typedef struct
{
  guint n_vms;     /* dom0 and the demo VMs included */
  guint n_devices; /* devices added to the demo host's */
  guint rounds;
  guint sys_usb_ports; /* more block ports in sys-usb (--sys-usb-ports) */
} Spec;

/* ---- small helpers ---- */

typedef struct
{
  gint64 median, p99, max, min;
} Figures;

static Figures
figures_of (const gint64 *values, guint n)
{
  g_autofree gint64 *sorted = g_memdup2 (values, n * sizeof *values);
  Figures f;

  qsort (sorted, n, sizeof *sorted, xd_bench_compare_int64);
  f.median = xd_bench_percentile (sorted, n, 50);
  f.p99 = xd_bench_percentile (sorted, n, 99);
  f.max = sorted[n - 1];
  f.min = sorted[0];
  return f;
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* ---- a store that counts and times requests ---- */

typedef enum
{
  CALL_CONNECT, /* open_worker: a new connection to xenstored */
  CALL_TXN_START,
  CALL_TXN_END,
  CALL_READ, /* read and read_txn */
  CALL_DIRECTORY,
  CALL_WRITE,
  CALL_RM,
  CALL_PERMS,
  N_CALLS,
} CallKind;

static const char *const call_names[N_CALLS] = {
  "connect", "txn-start", "txn-end", "read", "directory", "write", "rm", "set-perms",
};

/* Shared by the worker connections of successive operations (one at a time
 * here, but the main loop reads its own store meanwhile: hence the lock). */
typedef struct
{
  GMutex lock;
  guint64 count[N_CALLS];
  gint64 us[N_CALLS];
} CallStats;

typedef struct
{
  guint64 count[N_CALLS];
  gint64 us[N_CALLS];
} CallSnapshot;

static void
call_stats_add (CallStats *stats, CallKind kind, gint64 start)
{
  gint64 us = g_get_monotonic_time () - start;

  g_mutex_lock (&stats->lock);
  stats->count[kind]++;
  stats->us[kind] += us;
  g_mutex_unlock (&stats->lock);
}

/* Returns what was counted since the last take and starts again. */
static CallSnapshot
call_stats_take (CallStats *stats)
{
  CallSnapshot snap;

  g_mutex_lock (&stats->lock);
  memcpy (snap.count, stats->count, sizeof snap.count);
  memcpy (snap.us, stats->us, sizeof snap.us);
  memset (stats->count, 0, sizeof stats->count);
  memset (stats->us, 0, sizeof stats->us);
  g_mutex_unlock (&stats->lock);
  return snap;
}

static guint64
snapshot_requests (const CallSnapshot *snap)
{
  guint64 n = 0;
  for (guint k = 0; k < N_CALLS; k++)
    n += snap->count[k];
  return n;
}

static gint64
snapshot_us (const CallSnapshot *snap)
{
  gint64 us = 0;
  for (guint k = 0; k < N_CALLS; k++)
    us += snap->us[k];
  return us;
}

typedef struct
{
  XdStore parent;
  XdStore *inner;
  CallStats *stats;        /* this connection's calls */
  CallStats *worker_stats; /* where the connections it opens count theirs */
} CountingStore;

#define COUNTED(self, kind, call)                                                                  \
  ({                                                                                               \
    gint64 counted_start_ = g_get_monotonic_time ();                                               \
    __auto_type counted_result_ = (call);                                                          \
    call_stats_add ((self)->stats, (kind), counted_start_);                                        \
    counted_result_;                                                                               \
  })

static char *
counting_read (XdStore *store, const char *path, gsize *len, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_READ, xd_store_read (self->inner, path, len, error));
}

static char **
counting_directory (XdStore *store, const char *path, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_DIRECTORY, xd_store_directory (self->inner, path, error));
}

static gboolean
counting_watch (XdStore *store, const char *path, const char *token, GError **error)
{
  return xd_store_watch (((CountingStore *) store)->inner, path, token, error);
}

static void
counting_unwatch (XdStore *store, const char *path, const char *token)
{
  xd_store_unwatch (((CountingStore *) store)->inner, path, token);
}

static gboolean
counting_is_connected (XdStore *store)
{
  return xd_store_is_connected (((CountingStore *) store)->inner);
}

static gboolean
counting_transaction_start (XdStore *store, XdStoreTxn *txn, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_TXN_START, xd_store_transaction_start (self->inner, txn, error));
}

static gboolean
counting_transaction_end (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_TXN_END, xd_store_transaction_end (self->inner, txn, abort, error));
}

static char *
counting_read_txn (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_READ, xd_store_read_txn (self->inner, txn, path, len, error));
}

static char **
counting_directory_txn (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_DIRECTORY, xd_store_directory_txn (self->inner, txn, path, error));
}

static gboolean
counting_write (XdStore *store, XdStoreTxn txn, const char *path, const char *value, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_WRITE, xd_store_write (self->inner, txn, path, value, error));
}

static gboolean
counting_rm (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_RM, xd_store_rm (self->inner, txn, path, error));
}

static gboolean
counting_set_permissions (XdStore *store, XdStoreTxn txn, const char *path,
                          const XdStorePermission *perms, guint n_perms, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  return COUNTED (self, CALL_PERMS,
                  xd_store_set_permissions (self->inner, txn, path, perms, n_perms, error));
}

static void
counting_free (XdStore *store)
{
  CountingStore *self = (CountingStore *) store;
  xd_store_free (self->inner);
  g_free (self);
}

static XdStore *counting_open_worker (XdStore *store, GError **error);

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

/* The inner store's events go to whoever listens to the wrapper. */
static void
forward_event (const char *path, const char *token, gpointer user_data)
{
  XdStore *outer = user_data;
  if (outer->listener && outer->listener->on_event)
    outer->listener->on_event (path, token, outer->listener_data);
}

static void
forward_flush (gpointer user_data)
{
  XdStore *outer = user_data;
  if (outer->listener && outer->listener->on_flush)
    outer->listener->on_flush (outer->listener_data);
}

static void
forward_connection (gboolean connected, gpointer user_data)
{
  XdStore *outer = user_data;
  if (outer->listener && outer->listener->on_connection)
    outer->listener->on_connection (connected, outer->listener_data);
}

static const XdStoreListener forwarding_listener = {
  .on_event = forward_event,
  .on_flush = forward_flush,
  .on_connection = forward_connection,
};

static CountingStore *
counting_store_new (XdStore *inner, CallStats *stats, CallStats *worker_stats)
{
  CountingStore *self = g_new0 (CountingStore, 1);

  self->parent.vtable = &counting_vtable;
  self->inner = inner;
  self->stats = stats;
  self->worker_stats = worker_stats;
  xd_store_set_listener (inner, &forwarding_listener, self);
  return self;
}

/* The operations' own connections are wrapped too, and the time it takes
 * to open one is counted as a request of the operation. */
static XdStore *
counting_open_worker (XdStore *store, GError **error)
{
  CountingStore *self = (CountingStore *) store;
  gint64 start = g_get_monotonic_time ();
  XdStore *inner = xd_store_open_worker (self->inner, error);

  call_stats_add (self->worker_stats, CALL_CONNECT, start);
  if (!inner)
    return NULL;
  return &counting_store_new (inner, self->worker_stats, self->worker_stats)->parent;
}

/* ---- a toolstack that times its calls ---- */

typedef struct
{
  XdToolstack parent;
  XdToolstack *inner;
  GMutex lock;
  guint64 calls;
  gint64 us;
} TimedToolstack;

static void
timed_add (TimedToolstack *self, gint64 start)
{
  gint64 us = g_get_monotonic_time () - start;

  g_mutex_lock (&self->lock);
  self->calls++;
  self->us += us;
  g_mutex_unlock (&self->lock);
}

static gboolean
timed_attach (XdToolstack *toolstack, const XdAttachRequest *request, guint timeout_ms,
              GCancellable *cancellable, GError **error)
{
  TimedToolstack *self = (TimedToolstack *) toolstack;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = xd_toolstack_attach (self->inner, request, timeout_ms, cancellable, error);

  timed_add (self, start);
  return ok;
}

static gboolean
timed_detach (XdToolstack *toolstack, const XdAttachment *attachment, guint timeout_ms,
              GCancellable *cancellable, GError **error)
{
  TimedToolstack *self = (TimedToolstack *) toolstack;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = xd_toolstack_detach (self->inner, attachment, timeout_ms, cancellable, error);

  timed_add (self, start);
  return ok;
}

static gboolean
timed_stop_vm (XdToolstack *toolstack, guint domid, GError **error)
{
  return xd_toolstack_stop_vm (((TimedToolstack *) toolstack)->inner, domid, error);
}

static void
timed_free (XdToolstack *toolstack)
{
  TimedToolstack *self = (TimedToolstack *) toolstack;
  xd_toolstack_free (self->inner);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static const XdToolstackVTable timed_vtable = {
  .attach = timed_attach,
  .detach = timed_detach,
  .stop_vm = timed_stop_vm,
  .free = timed_free,
};

static TimedToolstack *
timed_toolstack_new (XdToolstack *inner)
{
  TimedToolstack *self = g_new0 (TimedToolstack, 1);

  self->parent.vtable = &timed_vtable;
  self->parent.name = inner->name;
  self->inner = inner;
  g_mutex_init (&self->lock);
  return self;
}

/* Returns the time spent in calls since the last take and starts again. */
static gint64
timed_take (TimedToolstack *self, guint64 *calls)
{
  gint64 us;

  g_mutex_lock (&self->lock);
  us = self->us;
  *calls = self->calls;
  self->us = 0;
  self->calls = 0;
  g_mutex_unlock (&self->lock);
  return us;
}

/* ---- the host ---- */

typedef struct
{
  guint sys_usb_block;   /* block ports sys-usb publishes */
  guint sys_usb_holders; /* vbd backend entries in sys-usb */
  guint extra_attached;  /* synthetic vbds, every backend */
  guint engine_devices;  /* what the loaded engine sees */
  guint engine_vms;      /* dom0 included */
  double populate_s;
} HostInfo;

/* The demo host, then synthetic VMs vm-006..., then devices round-robin
 * over every VM (dom0 and the demo VMs included): seven in ten block (a disk
 * and two partitions, in turn), the others usb; then @spec->sys_usb_ports
 * more block ports in sys-usb alone. One block device in four of sys-usb's,
 * and one in twenty elsewhere, is attached to a synthetic VM: sys-usb is
 * where the rounds' partition lives, and the backend of a USB VM holds
 * disks for several VMs at once. */
static void
populate (const Spec *spec, XdSimHost *host, HostInfo *info)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint *per_vm = g_new0 (guint, spec->n_vms);
  g_autofree guint *blocks = g_new0 (guint, spec->n_vms);
  g_autofree guint *disks_of = g_new0 (guint, spec->n_vms);
  guint n_extra = spec->n_vms - FIRST_EXTRA_VM;
  guint next_frontend = 0;
  guint n_block = 0;
  gint64 start = g_get_monotonic_time ();

  xd_sim_host_populate_demo (host, &error);
  xd_bench_die_on_error (error, "populating the demo host");
  for (guint d = FIRST_EXTRA_VM; d < spec->n_vms; d++)
    {
      g_autofree char *name = g_strdup_printf ("vm-%03u", d);
      xd_sim_host_add_vm (host, d, name, &error);
      xd_bench_die_on_error (error, "adding a VM");
    }

  for (guint i = 0; i < spec->n_devices + spec->sys_usb_ports; i++)
    {
      guint backend = i < spec->n_devices ? i % spec->n_vms : SYS_USB;
      guint k = per_vm[backend]++;

      if (k % 10 < 7 || i >= spec->n_devices)
        {
          guint b = blocks[backend]++;
          char port[16], parent[16];
          g_autofree char *desc = NULL;
          g_autofree char *size
            = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) (b + 1) * 1024 * 1024 * 1024);
          const char *mode = b % 5 == 4 ? "r" : "w";

          g_snprintf (port, sizeof port, b % 3 == 0 ? "xdsk%u" : "xdsk%up%u", b / 3, b % 3);
          g_snprintf (parent, sizeof parent, "xdsk%u", b / 3);
          desc = g_strdup_printf ("Synthetic disk %u of %s", b / 3, port);
          {
            const char *const kv[] = {
              "desc", desc, "size", size, "mode", mode, b % 3 ? "parent" : NULL, parent, NULL,
            };
            xd_sim_host_publish_device (host, backend, "block", port, kv, &error);
            xd_bench_die_on_error (error, "publishing a device");
          }
          if (backend == SYS_USB ? b % 4 == 3 : n_block++ % 20 == 19)
            {
              guint frontend;
              guint n;
              char dev[8];
              g_autofree char *params = g_strdup_printf ("/dev/%s", port);

              do
                frontend = FIRST_EXTRA_VM + next_frontend++ % n_extra;
              while (frontend == backend);
              n = disks_of[frontend]++;
              xd_bench_frontend_dev (n, dev);
              xd_sim_host_write_vbd (host, backend, frontend, xd_bench_frontend_devid (n), params,
                                     dev, mode, XENBUS_STATE_CONNECTED, &error);
              xd_bench_die_on_error (error, "attaching a block device");
              info->extra_attached++;
            }
        }
      else
        {
          guint u = per_vm[backend] - blocks[backend] - 1;
          /* Bus 3 and up: the demo's sys-usb devices sit on bus 2. */
          g_autofree char *port
            = u % 2 ? g_strdup_printf ("%u-%u_%u", 3 + u / 64, 1 + (u / 4) % 16, 1 + u % 4)
                    : g_strdup_printf ("%u-%u", 3 + u / 64, 1 + (u / 4) % 16 + 16 * (u % 4));
          g_autofree char *desc = g_strdup_printf ("Synthetic USB device %u", u);
          const char *const kv[] = { "desc", desc, "interfaces", ":080650:", NULL };

          xd_sim_host_publish_device (host, backend, "usb", port, kv, &error);
          xd_bench_die_on_error (error, "publishing a device");
        }
    }
  info->populate_s = seconds_since (start);

  {
    struct xs_handle *xsh = xd_sim_host_get_handle (host);
    unsigned int n = 0;
    char **ports = xs_directory (xsh, XBT_NULL, "/local/domain/1/data/xen-devices/block", &n);
    char **fronts;

    info->sys_usb_block = ports ? n : 0;
    free (ports);
    fronts = xs_directory (xsh, XBT_NULL, "/local/domain/1/backend/vbd", &n);
    for (unsigned int f = 0; fronts && f < n; f++)
      {
        g_autofree char *dir = g_strdup_printf ("/local/domain/1/backend/vbd/%s", fronts[f]);
        unsigned int m = 0;
        char **devids = xs_directory (xsh, XBT_NULL, dir, &m);
        info->sys_usb_holders += devids ? m : 0;
        free (devids);
      }
    free (fronts);
  }
}

/* ---- driving operations ---- */

typedef struct
{
  XdEngine *engine;
  CallStats *worker_stats; /* NULL in the plain run */
  CallStats *main_stats;
  TimedToolstack *toolstack;

  /* The device being watched and the holder expected, for device-changed. */
  XdClassId klass;
  guint backend;
  const char *port;
  guint frontend;
  gint64 seen_at;      /* model first shows the holder (any state) */
  gint64 connected_at; /* model first shows the holder in state 4 */
  gint64 cleared_at;   /* model first shows no such holder */

  gint64 done_at; /* the callback ran */
  gboolean ok;
  guint n_detached;
  GError *error;
  gboolean timed_out;
} Bench;

static void
device_changed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  Bench *b = user_data;
  gint64 now = g_get_monotonic_time ();
  const XdAttachment *holder = NULL;

  if (device->klass != b->klass || device->backend != b->backend || !b->port
      || strcmp (device->port, b->port) != 0)
    return;
  for (guint i = 0; i < device->attachments->len; i++)
    if (((XdAttachment *) device->attachments->pdata[i])->frontend == b->frontend)
      holder = device->attachments->pdata[i];
  if (holder)
    {
      if (!b->seen_at)
        b->seen_at = now;
      if (holder->state == XENBUS_STATE_CONNECTED && !b->connected_at)
        b->connected_at = now;
    }
  else if (!b->cleared_at)
    b->cleared_at = now;
}

static void
attach_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Bench *b = user_data;
  b->done_at = g_get_monotonic_time ();
  b->ok = xd_engine_attach_finish (XD_ENGINE (source), result, &b->error);
}

static void
detach_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Bench *b = user_data;
  b->done_at = g_get_monotonic_time ();
  b->ok = xd_engine_detach_finish (XD_ENGINE (source), result, &b->n_detached, &b->error);
}

static gboolean
timeout_cb (gpointer user_data)
{
  ((Bench *) user_data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until *@at is set. */
static gboolean
wait_until_set (Bench *b, const gint64 *at, const char *what)
{
  guint id;

  b->timed_out = FALSE;
  id = g_timeout_add_seconds (WAIT_TIMEOUT_S, timeout_cb, b);
  while (!*at && !b->timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!b->timed_out)
    g_source_remove (id);
  else
    g_printerr ("bench-ops: no %s within %d s\n", what, WAIT_TIMEOUT_S);
  return !b->timed_out;
}

typedef struct
{
  gint64 round_trip; /* async call -> callback */
  gint64 settle;     /* callback -> model settled (attach: state 4; detach: no holder) */
  gint64 seen;       /* async call -> model first shows the holder (attach) */
  CallSnapshot worker;
  CallSnapshot main;    /* the engine's own reads on the main loop, call -> settled */
  gint64 toolstack_us;  /* inside XdToolstack calls */
  XdEngineStats engine; /* what the engine did meanwhile, call -> settled */
} OpSample;

static const char *const domain_names[] = { "dom0", "sys-usb", "work", "personal", "vault" };

/* One attach or detach of @port of @backend for @frontend, then waits for
 * the model to settle. */
static gboolean
run_op (Bench *b, gboolean attach, XdClassId klass, guint backend, const char *port, guint frontend,
        OpSample *sample)
{
  XdEngineStats before, after;
  gint64 start;
  guint64 calls;

  b->klass = klass;
  b->backend = backend;
  b->port = port;
  b->frontend = frontend;
  b->seen_at = b->connected_at = b->cleared_at = b->done_at = 0;
  g_clear_error (&b->error);
  if (b->worker_stats)
    {
      call_stats_take (b->worker_stats);
      call_stats_take (b->main_stats);
      timed_take (b->toolstack, &calls);
    }

  xd_engine_get_stats (b->engine, &before);
  start = g_get_monotonic_time ();
  if (attach)
    xd_engine_attach_async (b->engine, klass, domain_names[backend], port, domain_names[frontend],
                            NULL, NULL, attach_cb, b);
  else
    xd_engine_detach_async (b->engine, klass, domain_names[backend], port, domain_names[frontend],
                            NULL, detach_cb, b);
  if (!wait_until_set (b, &b->done_at, attach ? "attach callback" : "detach callback"))
    return FALSE;
  if (!b->ok || (!attach && b->n_detached != 1))
    {
      g_printerr ("bench-ops: %s %s:%s %s %s failed: %s\n", attach ? "attaching" : "detaching",
                  domain_names[backend], port, attach ? "to" : "from", domain_names[frontend],
                  b->error ? b->error->message : "nothing detached");
      return FALSE;
    }
  sample->round_trip = b->done_at - start;
  /* Every worker call returned before the task did. */
  if (b->worker_stats)
    {
      sample->worker = call_stats_take (b->worker_stats);
      sample->toolstack_us = timed_take (b->toolstack, &calls);
    }

  if (!wait_until_set (b, attach ? &b->connected_at : &b->cleared_at,
                       attach ? "holder in the model" : "holder gone from the model"))
    return FALSE;
  sample->settle = (attach ? b->connected_at : b->cleared_at) - b->done_at;
  sample->seen = attach ? b->seen_at - start : 0;
  if (b->main_stats)
    sample->main = call_stats_take (b->main_stats);
  xd_engine_get_stats (b->engine, &after);
  sample->engine.events = after.events - before.events;
  sample->engine.full_scans = after.full_scans - before.full_scans;
  sample->engine.vm_scans = after.vm_scans - before.vm_scans;
  sample->engine.device_reads = after.device_reads - before.device_reads;
  return TRUE;
}

typedef struct
{
  const char *label;
  XdClassId klass;
  guint backend;
  const char *port;
} Target;

static const Target targets[] = {
  { "block", XD_CLASS_BLOCK, SYS_USB, "sda2" },
  { "mic", XD_CLASS_MIC, DOM0, "mic" },
};

/* Samples of one target: [0] attach, [1] detach, one per round. */
typedef struct
{
  OpSample *ops[2];
  double wall_s;
  gboolean ok;
} TargetRun;

static gboolean
run_rounds (Bench *b, const Target *t, guint rounds, TargetRun *run)
{
  gint64 start = g_get_monotonic_time ();
  OpSample scratch;

  for (guint i = 0; i < WARMUP_ROUNDS + rounds; i++)
    {
      guint frontend = i % 2 ? VAULT : PERSONAL;
      OpSample *a = i < WARMUP_ROUNDS ? &scratch : &run->ops[0][i - WARMUP_ROUNDS];
      OpSample *d = i < WARMUP_ROUNDS ? &scratch : &run->ops[1][i - WARMUP_ROUNDS];

      if (!run_op (b, TRUE, t->klass, t->backend, t->port, frontend, a)
          || !run_op (b, FALSE, t->klass, t->backend, t->port, frontend, d))
        return FALSE;
    }
  run->wall_s = seconds_since (start);
  run->ok = TRUE;
  return TRUE;
}

static XdEngine *
engine_new (XdStore *store, XdToolstack *toolstack, Bench *b)
{
  g_autoptr (GError) error = NULL;
  XdEngine *engine = xd_engine_new (store);

  xd_engine_set_toolstack (engine, toolstack);
  g_signal_connect (engine, "device-changed", G_CALLBACK (device_changed_cb), b);
  xd_engine_load (engine, TRUE, &error);
  xd_bench_die_on_error (error, "loading the engine");
  return engine;
}

/* ---- reporting ---- */

static void
print_figures (const char *label, const gint64 *values, guint n, const char *note)
{
  Figures f = figures_of (values, n);

  g_print ("    %-44s median %7" G_GINT64_FORMAT " us  p99 %7" G_GINT64_FORMAT
           " us  max %7" G_GINT64_FORMAT " us%s%s\n",
           label, f.median, f.p99, f.max, note ? "  " : "", note ? note : "");
}

/* Requests of each kind per operation: the median, and the range when the
 * rounds differ. Time per kind is the median too. */
static void
print_requests (const OpSample *ops, guint n)
{
  g_autofree gint64 *values = g_new (gint64, n);
  g_autoptr (GString) line = g_string_new ("    requests per operation (median; time in them):");

  for (guint k = 0; k < N_CALLS; k++)
    {
      Figures count, us;

      for (guint i = 0; i < n; i++)
        values[i] = (gint64) ops[i].worker.count[k];
      count = figures_of (values, n);
      if (count.max == 0)
        continue;
      for (guint i = 0; i < n; i++)
        values[i] = ops[i].worker.us[k];
      us = figures_of (values, n);
      g_string_append_printf (line, " %" G_GINT64_FORMAT, count.median);
      if (count.min != count.max)
        g_string_append_printf (line, " [%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "]", count.min,
                                count.max);
      g_string_append_printf (line, " %s (%" G_GINT64_FORMAT " us),", call_names[k], us.median);
    }
  g_string_truncate (line, line->len - 1);
  g_print ("%s\n", line->str);
}

typedef struct
{
  Figures round_trip, outside;
  double share_sum, share_median;
  gint64 requests;
} Breakdown;

/* 2.: the round trip split into the operation's own store calls (its worker
 * connection, opening it included), the toolstack call, and the rest. */
static Breakdown
print_breakdown (const char *label, const OpSample *ops, guint n)
{
  g_autofree gint64 *rt = g_new (gint64, n);
  g_autofree gint64 *store = g_new (gint64, n);
  g_autofree gint64 *connect = g_new (gint64, n);
  g_autofree gint64 *tool = g_new (gint64, n);
  g_autofree gint64 *outside = g_new (gint64, n);
  g_autofree gint64 *share = g_new (gint64, n);
  g_autofree gint64 *requests = g_new (gint64, n);
  g_autofree gint64 *main_req = g_new (gint64, n);
  g_autofree gint64 *main_us = g_new (gint64, n);
  g_autofree gint64 *events = g_new (gint64, n);
  g_autofree gint64 *rescans = g_new (gint64, n);
  gint64 sum_rt = 0, sum_outside = 0;
  Breakdown res;

  for (guint i = 0; i < n; i++)
    {
      rt[i] = ops[i].round_trip;
      store[i] = snapshot_us (&ops[i].worker);
      connect[i] = ops[i].worker.us[CALL_CONNECT];
      tool[i] = ops[i].toolstack_us;
      outside[i] = rt[i] - store[i] - tool[i];
      /* In hundredths of a percent, to sort as integers. */
      share[i] = rt[i] > 0 ? outside[i] * 10000 / rt[i] : 0;
      requests[i] = (gint64) snapshot_requests (&ops[i].worker);
      main_req[i] = (gint64) snapshot_requests (&ops[i].main);
      main_us[i] = snapshot_us (&ops[i].main);
      events[i] = (gint64) ops[i].engine.events;
      rescans[i] = (gint64) (ops[i].engine.full_scans + ops[i].engine.vm_scans);
      sum_rt += rt[i];
      sum_outside += outside[i];
    }
  res.round_trip = figures_of (rt, n);
  res.outside = figures_of (outside, n);
  res.share_sum = 100.0 * sum_outside / MAX (sum_rt, 1);
  res.share_median = figures_of (share, n).median / 100.0;
  res.requests = figures_of (requests, n).median;

  g_print ("  %s (%u rounds)\n", label, n);
  print_figures ("round trip (call -> callback)", rt, n, NULL);
  print_figures ("in the operation's store calls", store, n, NULL);
  print_figures ("  of which opening its connection", connect, n, NULL);
  print_figures ("in toolstack calls", tool, n, NULL);
  print_figures ("outside both (the engine's own share)", outside, n, NULL);
  print_requests (ops, n);
  {
    Figures mr = figures_of (main_req, n), mu = figures_of (main_us, n);
    Figures ev = figures_of (events, n), rs = figures_of (rescans, n);
    g_print ("    main loop meanwhile (model refresh, call -> settled): median %" G_GINT64_FORMAT
             " requests, %" G_GINT64_FORMAT " us in them; %" G_GINT64_FORMAT
             " watch events, %" G_GINT64_FORMAT " rescans (max %" G_GINT64_FORMAT ")\n",
             mr.median, mu.median, ev.median, rs.median, rs.max);
  }
  g_print ("    engine share: %.1f%% of the round trip is outside store calls and the toolstack"
           " (sum over rounds; per-round median %.1f%%)\n",
           res.share_sum, res.share_median);
  return res;
}

/* ---- main ---- */

int
main (int argc, char **argv)
{
  static const Spec full = { 50, 1000, 300, 0 };
  static const Spec quick = { 10, 100, 30, 0 };
  Spec spec_buf;
  gboolean opt_quick = FALSE;
  int opt_sys_usb_ports = 0;
  const GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "A small host, few rounds (sanitizer builds)",
      NULL },
    { "sys-usb-ports", 0, 0, G_OPTION_ARG_INT, &opt_sys_usb_ports,
      "Publish N more block ports in sys-usb (how the attach check scales)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context
    = g_option_context_new ("- benchmark attach and detach through the engine");
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) daemon = NULL;
  g_autoptr (XdSimHost) host = NULL;
  const Spec *spec;
  HostInfo info = { 0 };
  TargetRun plain[G_N_ELEMENTS (targets)] = { { { 0 } } };
  TargetRun counted[G_N_ELEMENTS (targets)] = { { { 0 } } };
  Breakdown breakdown[G_N_ELEMENTS (targets)][2];
  CallStats worker_stats = { 0 }, main_stats = { 0 };
  g_autofree gint64 *values = NULL;
  gboolean ok = TRUE;
  gint64 start = g_get_monotonic_time ();

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  spec_buf = opt_quick ? quick : full;
  spec_buf.sys_usb_ports = (guint) CLAMP (opt_sys_usb_ports, 0, 900);
  spec = &spec_buf;
  values = g_new (gint64, spec->rounds);
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    for (guint k = 0; k < 2; k++)
      {
        plain[t].ops[k] = g_new0 (OpSample, spec->rounds);
        counted[t].ops[k] = g_new0 (OpSample, spec->rounds);
      }
  g_mutex_init (&worker_stats.lock);
  g_mutex_init (&main_stats.lock);

  {
    g_autofree char *load = xd_bench_load_average ();
    g_print ("bench-ops: %u CPUs, load average %s at start\n", g_get_num_processors (), load);
  }

  daemon = xd_test_xenstored_start (&error);
  xd_bench_die_on_error (error, "starting xenstored");
  xd_test_xenstored_setenv (daemon);
  host = xd_sim_host_new (&error);
  xd_bench_die_on_error (error, "connecting the simulated host");
  populate (spec, host, &info);

  /* ---- 1.: the plain engine (3. is printed from its samples below) ---- */
  {
    Bench b = { 0 };
    XdStore *store = xd_xs_store_new (&error);
    XdToolstack *toolstack;
    g_autoptr (XdEngine) engine = NULL;

    xd_bench_die_on_error (error, "connecting the engine");
    toolstack = xd_toolstack_sim_new (&error);
    xd_bench_die_on_error (error, "starting the simulated toolstack");
    engine = b.engine = engine_new (store, toolstack, &b);
    {
      g_autoptr (GPtrArray) vms = xd_engine_get_vms (engine);
      g_autoptr (GPtrArray) devices = xd_engine_get_devices (engine, XD_N_CLASSES);
      info.engine_vms = vms->len;
      info.engine_devices = devices->len;
    }
    g_print ("host: demo host plus synthetic VMs: %u VMs, %u devices in the engine, %u synthetic "
             "block devices attached; populated in %.1f s\n",
             info.engine_vms, info.engine_devices, info.extra_attached, info.populate_s);
    g_print ("  sys-usb (the partition's backend): %u block ports (read for a partition's "
             "siblings), %u vbd backend entries (read as live holders)\n",
             info.sys_usb_block, info.sys_usb_holders);
    g_print ("rounds: attach then detach, alternately to personal and vault, %u rounds after %u "
             "warm-up; each step waits for the model to settle before the next\n",
             spec->rounds, WARMUP_ROUNDS);

    g_print ("\n1. round trips (plain engine: no wrappers)\n");
    for (guint t = 0; t < G_N_ELEMENTS (targets) && ok; t++)
      {
        const Target *tg = &targets[t];
        g_autofree char *label = NULL;

        ok = run_rounds (&b, tg, spec->rounds, &plain[t]);
        if (!ok)
          break;
        label = g_strdup_printf ("%s %s:%s", tg->label, domain_names[tg->backend], tg->port);
        g_print ("  %s (%u rounds in %.1f s)\n", label, spec->rounds, plain[t].wall_s);
        for (guint k = 0; k < 2; k++)
          {
            for (guint i = 0; i < spec->rounds; i++)
              values[i] = plain[t].ops[k][i].round_trip;
            print_figures (k == 0 ? "attach: call -> callback" : "detach: call -> callback", values,
                           spec->rounds, NULL);
          }
      }

    g_clear_error (&b.error);
  }

  /* ---- 2.: the same rounds through counting wrappers ---- */
  if (ok)
    {
      Bench b = { 0 };
      XdStore *inner = xd_xs_store_new (&error);
      CountingStore *store;
      TimedToolstack *toolstack;
      g_autoptr (XdEngine) engine = NULL;

      xd_bench_die_on_error (error, "connecting the engine");
      store = counting_store_new (inner, &main_stats, &worker_stats);
      toolstack = timed_toolstack_new (xd_toolstack_sim_new (&error));
      xd_bench_die_on_error (error, "starting the simulated toolstack");
      b.worker_stats = &worker_stats;
      b.main_stats = &main_stats;
      b.toolstack = toolstack;
      engine = b.engine = engine_new (&store->parent, &toolstack->parent, &b);

      g_print ("\n2. where the round trip goes (a second run, a new engine whose store and "
               "toolstack are wrapped)\n"
               "  round trip: from the *_async call to the start of its callback on the main "
               "loop.\n"
               "  store calls: wall time inside the XdStore calls the operation's worker makes on "
               "its own connection (read, directory, write, rm, set-perms, transaction start and "
               "end, and open_worker, which connects it), each timed around the call.\n"
               "  toolstack calls: wall time inside XdToolstack attach/detach (the simulated "
               "toolstack's own xenstore traffic and driver steps are in here, not in store "
               "calls).\n"
               "  outside both: round trip minus the two: the engine's code in the worker, the "
               "GTask hand-off to the thread pool and back to the main loop, and waits for the "
               "main loop while it refreshes the model (its requests are listed, not "
               "subtracted).\n");
      for (guint t = 0; t < G_N_ELEMENTS (targets) && ok; t++)
        {
          ok = run_rounds (&b, &targets[t], spec->rounds, &counted[t]);
          if (!ok)
            break;
          for (guint k = 0; k < 2; k++)
            {
              g_autofree char *label
                = g_strdup_printf ("%s %s %s:%s", targets[t].label, k == 0 ? "attach" : "detach",
                                   domain_names[targets[t].backend], targets[t].port);
              breakdown[t][k] = print_breakdown (label, counted[t].ops[k], spec->rounds);
            }
        }
      g_clear_error (&b.error);
    }

  /* ---- 3.: from the plain run ---- */
  if (ok)
    {
      g_print ("\n3. attach callback -> model shows the holder in state 4 (device-changed); "
               "negative: the model showed it first\n");
      for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
        {
          guint before = 0;
          g_autofree char *note = NULL;

          for (guint i = 0; i < spec->rounds; i++)
            {
              values[i] = plain[t].ops[0][i].settle;
              before += values[i] < 0;
            }
          note = g_strdup_printf ("(model before callback in %u of %u)", before, spec->rounds);
          print_figures (targets[t].label, values, spec->rounds, note);
          for (guint i = 0; i < spec->rounds; i++)
            values[i] = plain[t].ops[0][i].seen;
          print_figures ("  attach call -> holder first in the model", values, spec->rounds,
                         "(any XenBus state)");
          for (guint i = 0; i < spec->rounds; i++)
            values[i] = plain[t].ops[1][i].settle;
          print_figures ("  detach callback -> holder gone from model", values, spec->rounds, NULL);
        }
    }
  {
    g_autofree char *load = xd_bench_load_average ();
    g_print ("\nSummary%s (wall %.0f s, load average %s at end; %u VMs, %u devices, %u rounds)\n",
             opt_quick ? " (--quick)" : "", seconds_since (start), load, info.engine_vms,
             info.engine_devices, spec->rounds);
  }
  if (!ok)
    g_print ("  incomplete (see stderr)\n");
  for (guint t = 0; t < G_N_ELEMENTS (targets) && ok; t++)
    for (guint k = 0; k < 2; k++)
      {
        const Breakdown *br = &breakdown[t][k];
        Figures rt;

        for (guint i = 0; i < spec->rounds; i++)
          values[i] = plain[t].ops[k][i].round_trip;
        rt = figures_of (values, spec->rounds);
        g_print ("  %-5s %s  round trip median %6" G_GINT64_FORMAT " us, p99 %6" G_GINT64_FORMAT
                 " us;  engine's own %5" G_GINT64_FORMAT " us median (%.1f%% of the round trip), "
                 "%" G_GINT64_FORMAT " store requests\n",
                 targets[t].label, k == 0 ? "attach" : "detach", rt.median, rt.p99,
                 br->outside.median, br->share_sum, br->requests);
      }
  for (guint t = 0; t < G_N_ELEMENTS (targets) && ok; t++)
    {
      Figures f;
      for (guint i = 0; i < spec->rounds; i++)
        values[i] = plain[t].ops[0][i].settle;
      f = figures_of (values, spec->rounds);
      g_print ("  %-5s attach callback -> holder at state 4 in the model: median %" G_GINT64_FORMAT
               " us, p99 %" G_GINT64_FORMAT " us\n",
               targets[t].label, f.median, f.p99);
    }

  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    for (guint k = 0; k < 2; k++)
      {
        g_free (plain[t].ops[k]);
        g_free (counted[t].ops[k]);
      }
  g_mutex_clear (&worker_stats.lock);
  g_mutex_clear (&main_stats.lock);
  return ok ? 0 : 1;
}
