/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An LD_PRELOAD library that lets Debian's unmodified C xenstored (4.17) run
 * as an ordinary process where no hypervisor exists.
 *
 * This is the one place where the hypervisor is simulated for the daemon:
 * every call xenstored makes into libxenctrl, libxenevtchn and libxengnttab is
 * answered here, and the two /proc/xen files it reads at start-up are served
 * from memfds. Everything above (the store, permissions, transactions, watches,
 * quotas, XS_INTRODUCE and XS_RELEASE) is the real daemon's own code.
 *
 * A domain "exists" from the moment xenstored maps its ring (which happens in
 * XS_INTRODUCE) until the ring is unmapped (XS_RELEASE); dom0 always exists.
 */
/* open() is interposed under both of its names; keep the headers from
 * redirecting one to the other. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define SHIM_MAX_DOMAINS 32768
#define SHIM_MAX_MAPS 4096
#define SHIM_XSD_PORT 1

struct shim_map
{
  void *addr;
  uint32_t domid;
};

/* Bitmap of the domains that exist, indexed by domid. */
static unsigned char domain_exists[SHIM_MAX_DOMAINS / 8];
static struct shim_map maps[SHIM_MAX_MAPS];
static int next_port = 2;
static int evtchn_fd = -1;
static int dummy_handle;
static int kva_fd = -1;

static void
set_exists (uint32_t domid, int exists)
{
  if (domid >= SHIM_MAX_DOMAINS)
    return;
  if (exists)
    domain_exists[domid / 8] |= (unsigned char) (1u << (domid % 8));
  else
    domain_exists[domid / 8] &= (unsigned char) ~(1u << (domid % 8));
}

static int
get_exists (uint32_t domid)
{
  if (domid == 0)
    return 1;
  if (domid >= SHIM_MAX_DOMAINS)
    return 0;
  return (domain_exists[domid / 8] >> (domid % 8)) & 1;
}

/* ---- /proc/xen/xsd_port and /proc/xen/xsd_kva ---- */

static int
memfd_with (const char *name, const void *data, size_t len, size_t size)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  if (ftruncate (fd, (off_t) size) < 0 || (len && pwrite (fd, data, len, 0) != (ssize_t) len))
    {
      close (fd);
      return -1;
    }
  return fd;
}

static int
shim_open_special (const char *path)
{
  if (strcmp (path, "/proc/xen/xsd_port") == 0)
    {
      char buf[16];
      int n = snprintf (buf, sizeof buf, "%d", SHIM_XSD_PORT);
      return memfd_with ("xsd_port", buf, (size_t) n, (size_t) n);
    }
  if (strcmp (path, "/proc/xen/xsd_kva") == 0)
    {
      /* The dom0 ring page: one shared, zeroed page, the same for every
       * open so that a re-open maps the same ring. */
      if (kva_fd < 0)
        kva_fd = memfd_with ("xsd_kva", NULL, 0, (size_t) getpagesize ());
      return kva_fd < 0 ? -1 : dup (kva_fd);
    }
  return -2;
}

int
open (const char *path, int flags, ...)
{
  static int (*real_open) (const char *, int, ...);
  mode_t mode = 0;
  int fd;

  if (flags & (O_CREAT | O_TMPFILE))
    {
      va_list ap;
      va_start (ap, flags);
      mode = va_arg (ap, mode_t);
      va_end (ap);
    }
  if ((fd = shim_open_special (path)) != -2)
    return fd;
  if (!real_open)
    real_open = (int (*) (const char *, int, ...)) dlsym (RTLD_NEXT, "open");
  return real_open (path, flags, mode);
}

int open64 (const char *path, int flags, ...) __attribute__ ((alias ("open")));

/* ---- libxenctrl ---- */

xc_interface *
xc_interface_open (xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                   unsigned open_flags)
{
  (void) logger;
  (void) dombuild_logger;
  (void) open_flags;
  return (xc_interface *) &dummy_handle;
}

int
xc_interface_close (xc_interface *xch)
{
  (void) xch;
  return 0;
}

int
xc_domain_getinfo (xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                   xc_dominfo_t *info)
{
  unsigned int n = 0;
  (void) xch;
  for (uint32_t d = first_domid; d < SHIM_MAX_DOMAINS && n < max_doms; d++)
    {
      if (!get_exists (d))
        continue;
      memset (&info[n], 0, sizeof info[n]);
      info[n].domid = d;
      info[n].running = 1;
      info[n].xenstore = d == 0;
      n++;
    }
  return (int) n;
}

/* ---- libxenevtchn: one eventfd stands for the event-channel device. ---- */

static xenevtchn_handle *
evtchn_handle (int fd)
{
  if (evtchn_fd < 0)
    evtchn_fd = fd >= 0 ? fd : eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  return evtchn_fd < 0 ? NULL : (xenevtchn_handle *) &evtchn_fd;
}

xenevtchn_handle *
xenevtchn_open (struct xentoollog_logger *logger, unsigned int flags)
{
  (void) logger;
  (void) flags;
  return evtchn_handle (-1);
}

xenevtchn_handle *
xenevtchn_fdopen (struct xentoollog_logger *logger, int fd, unsigned int flags)
{
  (void) logger;
  (void) flags;
  (void) fd;
  /* Live update hands over a real event-channel fd; here there is none. */
  return evtchn_handle (-1);
}

int
xenevtchn_close (xenevtchn_handle *xce)
{
  (void) xce;
  return 0;
}

int
xenevtchn_fd (xenevtchn_handle *xce)
{
  (void) xce;
  return evtchn_fd;
}

int
xenevtchn_notify (xenevtchn_handle *xce, evtchn_port_t port)
{
  /* Nobody listens on the other end of a simulated ring. */
  (void) xce;
  (void) port;
  return 0;
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain (xenevtchn_handle *xce, uint32_t domid, evtchn_port_t remote_port)
{
  (void) xce;
  (void) domid;
  (void) remote_port;
  return next_port++;
}

xenevtchn_port_or_error_t
xenevtchn_bind_virq (xenevtchn_handle *xce, unsigned int virq)
{
  (void) xce;
  (void) virq;
  return next_port++;
}

int
xenevtchn_unbind (xenevtchn_handle *xce, evtchn_port_t port)
{
  (void) xce;
  (void) port;
  return 0;
}

xenevtchn_port_or_error_t
xenevtchn_pending (xenevtchn_handle *xce)
{
  uint64_t v;
  (void) xce;
  /* Nothing ever signals the eventfd, so a read means no event is pending. */
  if (read (evtchn_fd, &v, sizeof v) != sizeof v)
    {
      errno = EAGAIN;
      return -1;
    }
  return -1;
}

int
xenevtchn_unmask (xenevtchn_handle *xce, evtchn_port_t port)
{
  (void) xce;
  (void) port;
  return 0;
}

/* ---- libxengnttab: a grant map of a domain's ring is an anonymous page. ---- */

static int gnttab_dummy;

xengnttab_handle *
xengnttab_open (struct xentoollog_logger *logger, unsigned int open_flags)
{
  (void) logger;
  (void) open_flags;
  return (xengnttab_handle *) &gnttab_dummy;
}

int
xengnttab_close (xengnttab_handle *xgt)
{
  (void) xgt;
  return 0;
}

int
xengnttab_set_max_grants (xengnttab_handle *xgt, uint32_t nr_grants)
{
  (void) xgt;
  (void) nr_grants;
  return 0;
}

void *
xengnttab_map_grant_ref (xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
  void *addr;
  (void) xgt;
  (void) ref;
  (void) prot;
  if (domid >= SHIM_MAX_DOMAINS)
    {
      errno = EINVAL;
      return NULL;
    }
  for (int i = 0; i < SHIM_MAX_MAPS; i++)
    {
      if (maps[i].addr)
        continue;
      addr = mmap (NULL, (size_t) getpagesize (), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      if (addr == MAP_FAILED)
        return NULL;
      maps[i].addr = addr;
      maps[i].domid = domid;
      set_exists (domid, 1);
      return addr;
    }
  errno = ENOMEM;
  return NULL;
}

int
xengnttab_unmap (xengnttab_handle *xgt, void *start_address, uint32_t count)
{
  (void) xgt;
  for (int i = 0; i < SHIM_MAX_MAPS; i++)
    {
      if (maps[i].addr != start_address)
        continue;
      munmap (start_address, (size_t) getpagesize () * count);
      set_exists (maps[i].domid, 0);
      maps[i].addr = NULL;
      return 0;
    }
  errno = EINVAL;
  return -1;
}
