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
#include <xenstore.h>
#include <xenstore_lib.h>

#include "core/xd-error.h"

/* Requests in flight at once, over several connections. libxenstore has
 * one request in flight: each then costs a round trip through the daemon's
 * poll loop and two context switches (65 µs here). With many queued on one
 * connection the daemon still takes one request per turn of its poll loop
 * (20 µs each); with one queue on each of several connections it takes one
 * request of each per turn (11 µs each with 8 or more). */
#define N_CONNECTIONS 16
#define WINDOW 8 /* per connection */

typedef struct
{
  guint32 req_id;
  enum xsd_sockmsg_type type;
  char *path;
  const XdReadAheadTree *tree;
  guint level; /* under the tree's root: listed above its depth, read at it */
} Request;

typedef struct
{
  int fd;
  GHashTable *inflight; /* req_id -> Request * */
  GByteArray *out;
  GByteArray *in;
} Connection;

typedef struct
{
  Connection conns[N_CONNECTIONS];
  guint n_conns;
  XdSnapshot *snapshot;
  GQueue todo; /* Request *, not yet sent */
  guint32 next_id;
  guint requests;
  guint inflight;
} Prefetch;

static void
request_free (gpointer data)
{
  Request *request = data;

  g_free (request->path);
  g_free (request);
}

static void
queue (Prefetch *p, char *path, const XdReadAheadTree *tree, guint level)
{
  Request *request = g_new0 (Request, 1);

  request->type = level < tree->depth ? XS_DIRECTORY : XS_READ;
  request->path = path;
  request->tree = tree;
  request->level = level;
  g_queue_push_tail (&p->todo, request);
}

static void
send_more (Prefetch *p)
{
  for (guint c = 0; c < p->n_conns && !g_queue_is_empty (&p->todo); c++)
    {
      Connection *conn = &p->conns[c];

      while (g_hash_table_size (conn->inflight) < WINDOW && !g_queue_is_empty (&p->todo))
        {
          Request *request = g_queue_pop_head (&p->todo);
          struct xsd_sockmsg header = { 0 };
          gsize len = strlen (request->path) + 1;

          request->req_id = ++p->next_id;
          header.type = request->type;
          header.req_id = request->req_id;
          header.tx_id = 0;
          header.len = (guint32) len;
          g_byte_array_append (conn->out, (const guint8 *) &header, sizeof header);
          g_byte_array_append (conn->out, (const guint8 *) request->path, (guint) len);
          g_hash_table_insert (conn->inflight, GUINT_TO_POINTER (request->req_id), request);
          p->requests++;
          p->inflight++;
        }
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
      {
        const char *const *only
          = request->level < XD_READ_AHEAD_MAX_DEPTH ? request->tree->only[request->level] : NULL;
        if (only && !g_strv_contains (only, names->pdata[i]))
          continue;
        queue (p, child_path (request->path, names->pdata[i]), request->tree, request->level + 1);
      }
  }
}

gboolean
xd_xs_take_messages (GByteArray *in, XdXsMessageFunc func, gpointer user_data, GError **error)
{
  gsize offset = 0;

  while (in->len - offset >= sizeof (struct xsd_sockmsg))
    {
      struct xsd_sockmsg header;

      memcpy (&header, in->data + offset, sizeof header);
      if (header.len > (guint32) XENSTORE_PAYLOAD_MAX)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE,
                       "xenstored sent a message of %u bytes", header.len);
          return FALSE;
        }
      if (in->len - offset - sizeof header < header.len)
        break;
      func (&header, (const char *) in->data + offset + sizeof header, user_data);
      offset += sizeof header + header.len;
    }
  g_byte_array_remove_range (in, 0, (guint) offset);
  return TRUE;
}

typedef struct
{
  Prefetch *p;
  Connection *conn;
} Input;

static void
take_reply (const struct xsd_sockmsg *header, const char *payload, gpointer user_data)
{
  Input *input = user_data;
  Request *request = g_hash_table_lookup (input->conn->inflight, GUINT_TO_POINTER (header->req_id));

  if (!request)
    return;
  g_hash_table_steal (input->conn->inflight, GUINT_TO_POINTER (header->req_id));
  input->p->inflight--;
  handle_reply (input->p, request, header->type, payload, header->len);
  request_free (request);
}

/* Sends what is queued and takes in what has come, on every connection. */
static gboolean
pump (Prefetch *p, GError **error)
{
  struct pollfd pfds[N_CONNECTIONS];
  guint8 buf[65536];
  ssize_t n;
  int ready;

  for (guint c = 0; c < p->n_conns; c++)
    {
      pfds[c].fd = p->conns[c].fd;
      pfds[c].events = POLLIN | (p->conns[c].out->len ? POLLOUT : 0);
      pfds[c].revents = 0;
    }
  do
    ready = poll (pfds, p->n_conns, 5000);
  while (ready < 0 && errno == EINTR);
  if (ready <= 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstored did not answer");
      return FALSE;
    }
  for (guint c = 0; c < p->n_conns; c++)
    {
      Connection *conn = &p->conns[c];
      short revents = pfds[c].revents;

      if ((revents & POLLOUT) && conn->out->len)
        {
          n = send (conn->fd, conn->out->data, conn->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n < 0 && errno != EAGAIN && errno != EINTR)
            goto io_error;
          if (n > 0)
            g_byte_array_remove_range (conn->out, 0, (guint) n);
        }
      if (revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = recv (conn->fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n == 0)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE,
                           "xenstored closed the connection");
              return FALSE;
            }
          if (n < 0 && errno != EAGAIN && errno != EINTR)
            goto io_error;
          if (n > 0)
            {
              Input input = { p, conn };

              g_byte_array_append (conn->in, buf, (guint) n);
              if (!xd_xs_take_messages (conn->in, take_reply, &input, error))
                return FALSE;
            }
        }
    }
  return TRUE;

io_error:
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore: %s", g_strerror (errno));
  return FALSE;
}

int
xd_xs_connect_socket (GError **error)
{
  const char *socket_path = xs_daemon_socket ();
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd, err;

  if (strlen (socket_path) >= sizeof addr.sun_path)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s: path too long", socket_path);
      return -1;
    }
  /* As where xenstored runs in a stub domain: the tests of the fallbacks. */
  if (g_getenv ("XD_XS_NO_SOCKET"))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s: not used (XD_XS_NO_SOCKET)",
                   socket_path);
      return -1;
    }
  strcpy (addr.sun_path, socket_path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect (fd, (const struct sockaddr *) &addr, sizeof addr) == 0)
    return fd;
  err = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s: %s", socket_path, g_strerror (err));
  return -1;
}

XdSnapshot *
xd_xs_prefetch (const XdReadAheadTree *trees, guint n_trees, guint *n_requests, GError **error)
{
  Prefetch p = { 0 };
  gboolean ok = TRUE;

  for (guint c = 0; c < N_CONNECTIONS; c++)
    {
      g_autoptr (GError) local_error = NULL;
      int fd = xd_xs_connect_socket (&local_error);
      if (fd < 0)
        {
          if (c > 0)
            break; /* fewer connections, still in bulk */
          /* No socket (xenstored in a stub domain, reached through the
           * xenbus device): the caller reads the usual way. */
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      p.conns[c].fd = fd;
      p.conns[c].inflight
        = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, request_free);
      p.conns[c].out = g_byte_array_new ();
      p.conns[c].in = g_byte_array_new ();
      p.n_conns++;
    }

  p.snapshot = xd_snapshot_new ();
  g_queue_init (&p.todo);
  for (guint i = 0; i < n_trees; i++)
    queue (&p, g_strdup (trees[i].root), &trees[i], 0);

  while (ok && (!g_queue_is_empty (&p.todo) || p.inflight > 0))
    {
      send_more (&p);
      ok = pump (&p, error);
    }

  for (guint c = 0; c < p.n_conns; c++)
    {
      close (p.conns[c].fd);
      g_hash_table_unref (p.conns[c].inflight);
      g_byte_array_unref (p.conns[c].out);
      g_byte_array_unref (p.conns[c].in);
    }
  g_queue_clear_full (&p.todo, request_free);
  if (n_requests)
    *n_requests = p.requests;
  if (!ok)
    {
      xd_snapshot_free (p.snapshot);
      return NULL;
    }
  return p.snapshot;
}
