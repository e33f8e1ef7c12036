/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-xs-prefetch.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>
#include <xenstore.h>
#include <xenstore_lib.h>

#include "core/xd-error.h"

/* Requests in flight at once. libxenstore has one: each request then costs
 * a round trip through the daemon's poll loop and two context switches
 * (65 µs here); with many queued, the daemon answers them back to back. */
#define WINDOW 64

typedef struct
{
  guint32 req_id;
  enum xsd_sockmsg_type type;
  char *path;
  guint depth_left; /* levels above the leaves, which are read, not listed */
} Request;

typedef struct
{
  int fd;
  XdSnapshot *snapshot;
  GQueue todo;          /* Request *, not yet sent */
  GHashTable *inflight; /* req_id -> Request * */
  guint32 next_id;
  GByteArray *out;
  GByteArray *in;
  guint requests;
} Prefetch;

static void
request_free (gpointer data)
{
  Request *request = data;

  g_free (request->path);
  g_free (request);
}

static void
queue (Prefetch *p, char *path, guint depth_left)
{
  Request *request = g_new0 (Request, 1);

  request->type = depth_left ? XS_DIRECTORY : XS_READ;
  request->path = path;
  request->depth_left = depth_left;
  g_queue_push_tail (&p->todo, request);
}

static void
send_more (Prefetch *p)
{
  while (g_hash_table_size (p->inflight) < WINDOW && !g_queue_is_empty (&p->todo))
    {
      Request *request = g_queue_pop_head (&p->todo);
      struct xsd_sockmsg header = { 0 };
      gsize len = strlen (request->path) + 1;

      request->req_id = ++p->next_id;
      header.type = request->type;
      header.req_id = request->req_id;
      header.tx_id = 0;
      header.len = (guint32) len;
      g_byte_array_append (p->out, (const guint8 *) &header, sizeof header);
      g_byte_array_append (p->out, (const guint8 *) request->path, (guint) len);
      g_hash_table_insert (p->inflight, GUINT_TO_POINTER (request->req_id), request);
      p->requests++;
    }
}

static char *
child_path (const char *parent, const char *name)
{
  return g_strconcat (parent, "/", name, NULL);
}

static void
handle_reply (Prefetch *p, Request *request, guint32 type, const char *payload, guint32 len)
{
  if (type == XS_ERROR)
    {
      /* A node gone (or never there) is an answer; any other error (too
       * many children for one reply, no permission) leaves the path to the
       * live store. */
      if (len >= 6 && strncmp (payload, "ENOENT", 6) == 0)
        xd_snapshot_add_absent (p->snapshot, request->path);
      return;
    }
  if (type != request->type)
    return;
  if (type == XS_READ)
    {
      xd_snapshot_add (p->snapshot, request->path, payload, len, NULL);
      return;
    }

  /* XS_DIRECTORY: names, each ending in a NUL. */
  {
    g_autoptr (GPtrArray) names = g_ptr_array_new ();
    const char *end = payload + len;

    for (const char *name = payload; name < end; name += strlen (name) + 1)
      {
        if (!memchr (name, '\0', (gsize) (end - name)))
          return; /* malformed: leave it to the live store */
        g_ptr_array_add (names, (gpointer) name);
      }
    g_ptr_array_add (names, NULL);
    xd_snapshot_add (p->snapshot, request->path, NULL, 0, (const char *const *) names->pdata);
    for (guint i = 0; i + 1 < names->len; i++)
      queue (p, child_path (request->path, names->pdata[i]), request->depth_left - 1);
  }
}

/* Takes every complete reply off the front of p->in. */
static gboolean
handle_input (Prefetch *p, GError **error)
{
  gsize offset = 0;

  while (p->in->len - offset >= sizeof (struct xsd_sockmsg))
    {
      struct xsd_sockmsg header;
      Request *request;

      memcpy (&header, p->in->data + offset, sizeof header);
      if (header.len > (guint32) XENSTORE_PAYLOAD_MAX)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstored sent a reply of %u bytes",
                       header.len);
          return FALSE;
        }
      if (p->in->len - offset - sizeof header < header.len)
        break;
      request = g_hash_table_lookup (p->inflight, GUINT_TO_POINTER (header.req_id));
      if (request)
        {
          g_hash_table_steal (p->inflight, GUINT_TO_POINTER (header.req_id));
          handle_reply (p, request, header.type,
                        (const char *) p->in->data + offset + sizeof header, header.len);
          request_free (request);
        }
      offset += sizeof header + header.len;
    }
  g_byte_array_remove_range (p->in, 0, (guint) offset);
  return TRUE;
}

static gboolean
pump (Prefetch *p, GError **error)
{
  struct pollfd pfd = { .fd = p->fd };
  guint8 buf[65536];
  ssize_t n;

  pfd.events = POLLIN | (p->out->len ? POLLOUT : 0);
  if (poll (&pfd, 1, 5000) <= 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstored did not answer");
      return FALSE;
    }
  if ((pfd.revents & POLLOUT) && p->out->len)
    {
      n = send (p->fd, p->out->data, p->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        goto io_error;
      if (n > 0)
        g_byte_array_remove_range (p->out, 0, (guint) n);
    }
  if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
    {
      n = recv (p->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstored closed the connection");
          return FALSE;
        }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        goto io_error;
      if (n > 0)
        {
          g_byte_array_append (p->in, buf, (guint) n);
          return handle_input (p, error);
        }
    }
  return TRUE;

io_error:
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore: %s", g_strerror (errno));
  return FALSE;
}

XdSnapshot *
xd_xs_prefetch (const char *const *roots, const guint *depths, guint *n_requests, GError **error)
{
  const char *socket_path = xs_daemon_socket ();
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  Prefetch p = { 0 };
  gboolean ok = TRUE;

  if (strlen (socket_path) >= sizeof addr.sun_path)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s: path too long", socket_path);
      return NULL;
    }
  strcpy (addr.sun_path, socket_path);
  p.fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p.fd < 0 || connect (p.fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      /* No socket (xenstored in a stub domain, reached through the xenbus
       * device): the caller reads the usual way. */
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s: %s", socket_path,
                   g_strerror (errno));
      if (p.fd >= 0)
        close (p.fd);
      return NULL;
    }

  p.snapshot = xd_snapshot_new ();
  p.inflight = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, request_free);
  p.out = g_byte_array_new ();
  p.in = g_byte_array_new ();
  g_queue_init (&p.todo);
  for (guint i = 0; roots[i]; i++)
    queue (&p, g_strdup (roots[i]), depths[i]);

  while (ok && (!g_queue_is_empty (&p.todo) || g_hash_table_size (p.inflight) > 0))
    {
      send_more (&p);
      ok = pump (&p, error);
    }

  close (p.fd);
  g_queue_clear_full (&p.todo, request_free);
  g_hash_table_unref (p.inflight);
  g_byte_array_unref (p.out);
  g_byte_array_unref (p.in);
  if (n_requests)
    *n_requests = p.requests;
  if (!ok)
    {
      xd_snapshot_free (p.snapshot);
      return NULL;
    }
  return p.snapshot;
}
