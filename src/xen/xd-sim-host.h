/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <xenstore.h>

G_BEGIN_DECLS

/* A simulated Xen host: it creates and destroys VMs in xenstore the way the
 * toolstack (libxl) does, and publishes devices the way the agent inside a
 * backend VM would. It talks to a real xenstored through libxenstore, so
 * everything that reads the store runs the same code as on a real dom0. */
typedef struct _XdSimHost XdSimHost;

/* Connects to the xenstored socket named by XENSTORED_PATH (or the default
 * socket); never falls back to the kernel's xenbus device. Fails with
 * XD_ERROR_UNAVAILABLE, naming the socket. */
XdSimHost *xd_sim_host_new (GError **error);
void xd_sim_host_free (XdSimHost *self);
struct xs_handle *xd_sim_host_get_handle (XdSimHost *self);

/* Creates /local/domain/<domid>, /vm/<uuid> and /libxl/<domid> as libxl
 * does, introducing the domain to xenstored first (which fires
 * @introduceDomain). Domain 0 always exists: for it only the nodes are
 * written. */
gboolean xd_sim_host_add_vm (XdSimHost *self, guint domid, const char *name, GError **error);
/* Destroys a VM as libxl does: its devices' backend directories, its
 * /vm/<uuid>, /local/domain/<domid> and /libxl/<domid> are removed, then the
 * domain is released (which fires @releaseDomain). */
gboolean xd_sim_host_remove_vm (XdSimHost *self, guint domid, GError **error);

/* Writes /local/domain/<backend>/data/xen-devices/<klass>/<port>, one node
 * whose value is the pairs of @kv (key, value, key, value, ..., NULL) as
 * key=value lines (xd-device-entry.h), owned by @backend, replacing what was
 * there. Nothing is validated: tests publish hostile data on purpose. */
gboolean xd_sim_host_publish_device (XdSimHost *self, guint backend, const char *klass,
                                     const char *port, const char *const *kv, GError **error);
gboolean xd_sim_host_unpublish_device (XdSimHost *self, guint backend, const char *klass,
                                       const char *port, GError **error);

/* Writes @len bytes of @value (any bytes) to @path, owned by @owner with no
 * access for anyone else. */
gboolean xd_sim_host_write_raw (XdSimHost *self, const char *path, const char *value, gsize len,
                                guint owner, GError **error);
gboolean xd_sim_host_rm (XdSimHost *self, const char *path, GError **error);

/* Writes a vbd's backend (in @backend), frontend (in @frontend) and libxl
 * bookkeeping nodes with the values and permissions libxl gives them. */
gboolean xd_sim_host_write_vbd (XdSimHost *self, guint backend, guint frontend, guint devid,
                                const char *params, const char *dev, const char *mode, int state,
                                GError **error);

/* The demo host: dom0 (0), sys-usb (1), work (2), personal (3), vault (4),
 * untrusted (5), with block, usb and mic devices published by sys-usb and
 * dom0, and sys-usb:sda1 attached to work as xvdi. */
gboolean xd_sim_host_populate_demo (XdSimHost *self, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdSimHost, xd_sim_host_free)

G_END_DECLS
