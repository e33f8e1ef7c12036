/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-xs-watcher.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xd-error.h"
#include "xd-xs-prefetch.h"

#define SETTLE_TIMEOUT_MS 5000
#define RECEIVE_CHUNK 65536

typedef struct
{
  char *path;
  char *token;
} Event;

typedef struct
{
  enum xsd_sockmsg_type type;
  char *path;
} Request;

struct _XdXsWatcher
{
  int fd;
  guint32 next_req_id;
  GHashTable *requests; /* req_id -> Request *, awaiting their reply */
  GByteArray *in;       /* received, not yet a whole message */
  GQueue events;        /* Event * */
};

static void
request_free (gpointer data)
{
  Request *request = data;

  g_free (request->path);
  g_free (request);
}

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->path);
  g_free (event->token);
  g_free (event);
}

XdXsWatcher *
xd_xs_watcher_connect (GError **error)
{
  XdXsWatcher *self;
  int fd = xd_xs_connect_socket (error);

  if (fd < 0)
    return NULL;
  self = g_new0 (XdXsWatcher, 1);
  self->fd = fd;
  self->requests = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, request_free);
  self->in = g_byte_array_new ();
  g_queue_init (&self->events);
  return self;
}

void
xd_xs_watcher_free (XdXsWatcher *self)
{
  if (!self)
    return;
  close (self->fd);
  g_hash_table_unref (self->requests);
  g_byte_array_unref (self->in);
  g_queue_clear_full (&self->events, event_free);
  g_free (self);
}

int
xd_xs_watcher_get_fd (XdXsWatcher *self)
{
  return self->fd;
}

guint
xd_xs_watcher_get_pending (XdXsWatcher *self)
{
  return g_hash_table_size (self->requests);
}

static gboolean
set_lost (GError **error, const char *what)
{
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore watch connection: %s", what);
  return FALSE;
}

static gboolean
send_request (XdXsWatcher *self, enum xsd_sockmsg_type type, const char *path, const char *token,
              GError **error)
{
  gsize path_len = strlen (path) + 1, token_len = strlen (token) + 1;
  struct xsd_sockmsg header = { 0 };
  g_autoptr (GByteArray) message = NULL;
  Request *request;
  gsize sent = 0;

  if (path_len + token_len > XENSTORE_PAYLOAD_MAX)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "watching %s: path too long", path);
      return FALSE;
    }
  header.type = type;
  header.req_id = ++self->next_req_id;
  header.len = (guint32) (path_len + token_len);
  message = g_byte_array_sized_new ((guint) (sizeof header + header.len));
  g_byte_array_append (message, (const guint8 *) &header, sizeof header);
  g_byte_array_append (message, (const guint8 *) path, (guint) path_len);
  g_byte_array_append (message, (const guint8 *) token, (guint) token_len);
  /* Blocking: only a daemon that has stopped reading fills the socket. */
  while (sent < message->len)
    {
      ssize_t n = send (self->fd, message->data + sent, message->len - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return set_lost (error, g_strerror (errno));
      sent += (gsize) n;
    }
  request = g_new0 (Request, 1);
  request->type = type;
  request->path = g_strdup (path);
  g_hash_table_insert (self->requests, GUINT_TO_POINTER (header.req_id), request);
  return TRUE;
}

gboolean
xd_xs_watcher_watch (XdXsWatcher *self, const char *path, const char *token, GError **error)
{
  return send_request (self, XS_WATCH, path, token, error);
}

gboolean
xd_xs_watcher_unwatch (XdXsWatcher *self, const char *path, const char *token, GError **error)
{
  return send_request (self, XS_UNWATCH, path, token, error);
}

/* A string of @payload (@len bytes) from @offset, NUL-terminated inside it. */
static const char *
payload_string (const char *payload, guint32 len, gsize *offset)
{
  const char *start = payload + *offset;
  const char *nul;

  if (*offset >= len || !(nul = memchr (start, '\0', len - *offset)))
    return NULL;
  *offset += (gsize) (nul - start) + 1;
  return start;
}

static void
handle_message (const struct xsd_sockmsg *header, const char *payload, gpointer user_data)
{
  XdXsWatcher *self = user_data;
  Request *request;

  if (header->type == XS_WATCH_EVENT)
    {
      gsize offset = 0;
      const char *path = payload_string (payload, header->len, &offset);
      const char *token = payload_string (payload, header->len, &offset);
      Event *event;

      if (!path || !token)
        {
          g_debug ("xenstore watch connection: a malformed event, ignored");
          return;
        }
      event = g_new0 (Event, 1);
      event->path = g_strdup (path);
      event->token = g_strdup (token);
      g_queue_push_tail (&self->events, event);
      return;
    }

  request = g_hash_table_lookup (self->requests, GUINT_TO_POINTER (header->req_id));
  if (!request)
    return;
  if (header->type == XS_ERROR)
    {
      g_autofree char *reason = g_strndup (payload, header->len);

      /* An unwatch of a watch the daemon no longer has (it restarted) is
       * what was wanted. */
      if (request->type == XS_WATCH)
        g_warning ("cannot watch %s: %s", request->path, reason);
      else
        g_debug ("unwatching %s: %s", request->path, reason);
    }
  g_hash_table_remove (self->requests, GUINT_TO_POINTER (header->req_id));
}

gboolean
xd_xs_watcher_receive (XdXsWatcher *self, GError **error)
{
  guint8 buf[RECEIVE_CHUNK];

  for (;;)
    {
      ssize_t n = recv (self->fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n == 0)
        return set_lost (error, "closed by the daemon");
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRUE;
          return set_lost (error, g_strerror (errno));
        }
      g_byte_array_append (self->in, buf, (guint) n);
      if (!xd_xs_take_messages (self->in, handle_message, self, error))
        return FALSE;
      if ((gsize) n < sizeof buf)
        return TRUE;
    }
}

gboolean
xd_xs_watcher_settle (XdXsWatcher *self, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + SETTLE_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  while (g_hash_table_size (self->requests) > 0)
    {
      struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
      gint64 left = (deadline - g_get_monotonic_time ()) / G_TIME_SPAN_MILLISECOND;
      int ready;

      if (left <= 0)
        return set_lost (error, "the daemon did not answer");
      ready = poll (&pfd, 1, (int) left);
      if (ready < 0 && errno != EINTR)
        return set_lost (error, g_strerror (errno));
      if (ready > 0 && !xd_xs_watcher_receive (self, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
xd_xs_watcher_next_event (XdXsWatcher *self, char **path, char **token)
{
  Event *event = g_queue_pop_head (&self->events);

  if (!event)
    return FALSE;
  *path = g_steal_pointer (&event->path);
  *token = g_steal_pointer (&event->token);
  event_free (event);
  return TRUE;
}

gboolean
xd_xs_watcher_has_events (XdXsWatcher *self)
{
  return !g_queue_is_empty (&self->events);
}
