/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-test-xenstored.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core/xd-error.h"

#define DEFAULT_XENSTORED "/usr/lib/xen-4.17/bin/xenstored"
#define READY_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define READY_POLL_US (5 * 1000)
#define LOG_TAIL_CHARS 2000

struct _XdTestXenstored
{
  char *dir;
  char *socket;
  char *pid_file;
  char *log_file;
  char *daemon;
  char *shim;
  gboolean owns_dir;
  GPid pid;
};

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
child_setup (gpointer user_data)
{
  pid_t parent = *(pid_t *) user_data;

  /* Die with the parent (strictly: with the thread that forked us), so that
   * a crashed or killed test leaves no daemon behind. If the parent is
   * already gone, the signal would never come. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

static char *
read_log_tail (XdTestXenstored *self)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (self->log_file, &contents, &len, NULL) || len == 0)
    return g_strdup ("(empty log)");
  if (len > LOG_TAIL_CHARS)
    return g_strdup (contents + len - LOG_TAIL_CHARS);
  return g_steal_pointer (&contents);
}

static gboolean
socket_accepts (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;
  gboolean ok;

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return ok;
}

static void
reap (XdTestXenstored *self)
{
  int status;

  while (waitpid (self->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (self->pid);
  self->pid = 0;
}

static gboolean
wait_until_ready (XdTestXenstored *self, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + READY_TIMEOUT_US;

  while (g_get_monotonic_time () < deadline)
    {
      int status;
      pid_t r = waitpid (self->pid, &status, WNOHANG);

      if (r == self->pid)
        {
          g_autofree char *log = read_log_tail (self);
          g_autofree char *how = NULL;

          g_spawn_close_pid (self->pid);
          self->pid = 0;
          how = WIFSIGNALED (status)
                  ? g_strdup_printf ("was killed by signal %d", WTERMSIG (status))
                  : g_strdup_printf ("exited with status %d", WEXITSTATUS (status));
          g_set_error (error, XD_ERROR, XD_ERROR_FAILED,
                       "xenstored %s before accepting connections: %s", how, log);
          return FALSE;
        }
      if (socket_accepts (self->socket))
        return TRUE;
      g_usleep (READY_POLL_US);
    }

  xd_test_xenstored_kill (self);
  {
    g_autofree char *log = read_log_tail (self);
    g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT,
                 "xenstored did not accept connections on %s: %s", self->socket, log);
  }
  return FALSE;
}

static gboolean
spawn_daemon (XdTestXenstored *self, GError **error)
{
  g_autofree char *rundir_env = g_strdup_printf ("XENSTORED_RUNDIR=%s", self->dir);
  g_autofree char *preload_env = g_strdup_printf ("LD_PRELOAD=%s", self->shim);
  const char *argv[] = { self->daemon, "-N", "-F", self->pid_file, NULL };
  /* A clean environment: nothing of the test's own (a sanitizer runtime in
   * LD_PRELOAD, ASAN_OPTIONS, XENSTORED_PATH) may reach the daemon. */
  const char *envp[] = { rundir_env, preload_env, NULL };
  pid_t parent = getpid ();
  int log_fd;
  gboolean ok;

  g_return_val_if_fail (self->pid == 0, FALSE);

  /* A stale socket would accept nothing but make readiness harder to read;
   * the daemon binds a fresh one. */
  g_unlink (self->socket);
  g_unlink (self->pid_file);

  log_fd = open (self->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot open %s: %s", self->log_file,
                   g_strerror (errsv));
      return FALSE;
    }
  ok = g_spawn_async_with_pipes_and_fds (
    self->dir, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup,
    &parent, -1, log_fd, log_fd, NULL, NULL, 0, &self->pid, NULL, NULL, NULL, error);
  close (log_fd);
  if (!ok)
    {
      self->pid = 0;
      return FALSE;
    }
  return wait_until_ready (self, error);
}

static gboolean
find_programs (XdTestXenstored *self, GError **error)
{
  const char *daemon = g_getenv ("XD_XENSTORED");
  const char *shim = g_getenv ("XD_XENSTORED_SHIM");

  self->daemon = g_strdup (daemon && *daemon ? daemon : DEFAULT_XENSTORED);
  if (!g_file_test (self->daemon, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND,
                   "xenstored not found at %s (set XD_XENSTORED)", self->daemon);
      return FALSE;
    }
  if (!shim || !*shim)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND,
                   "XD_XENSTORED_SHIM is not set; it must name the built xenstored shim");
      return FALSE;
    }
  if (!g_file_test (shim, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "xenstored shim not found at %s", shim);
      return FALSE;
    }
  self->shim = g_strdup (shim);
  return TRUE;
}

static XdTestXenstored *
start (char *dir, gboolean owns_dir, GError **error)
{
  g_autoptr (XdTestXenstored) self = g_new0 (XdTestXenstored, 1);

  self->dir = dir;
  self->owns_dir = owns_dir;
  self->socket = g_build_filename (dir, "socket", NULL);
  self->pid_file = g_build_filename (dir, "pid", NULL);
  self->log_file = g_build_filename (dir, "xenstored.log", NULL);

  if (strlen (self->socket) >= sizeof ((struct sockaddr_un *) NULL)->sun_path)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Socket path %s is too long", self->socket);
      return NULL;
    }
  if (!find_programs (self, error) || !spawn_daemon (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

XdTestXenstored *
xd_test_xenstored_start (GError **error)
{
  g_autofree char *template = g_build_filename (g_get_tmp_dir (), "xd-xenstored-XXXXXX", NULL);

  if (!g_mkdtemp (template))
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot create %s: %s", template,
                   g_strerror (errsv));
      return NULL;
    }
  return start (g_steal_pointer (&template), TRUE, error);
}

XdTestXenstored *
xd_test_xenstored_start_in_dir (const char *dir, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);

  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot create %s: %s", dir,
                   g_strerror (errsv));
      return NULL;
    }
  return start (g_canonicalize_filename (dir, NULL), FALSE, error);
}

const char *
xd_test_xenstored_get_socket (XdTestXenstored *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->socket;
}

const char *
xd_test_xenstored_get_dir (XdTestXenstored *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->dir;
}

GPid
xd_test_xenstored_get_pid (XdTestXenstored *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->pid;
}

void
xd_test_xenstored_setenv (XdTestXenstored *self)
{
  g_return_if_fail (self != NULL);
  g_setenv ("XENSTORED_PATH", self->socket, TRUE);
}

void
xd_test_xenstored_kill (XdTestXenstored *self)
{
  g_return_if_fail (self != NULL);

  if (self->pid == 0)
    return;
  kill (self->pid, SIGKILL);
  reap (self);
}

gboolean
xd_test_xenstored_restart (XdTestXenstored *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  xd_test_xenstored_kill (self);
  return spawn_daemon (self, error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else if (g_unlink (child) < 0)
        g_warning ("Cannot remove %s: %s", child, g_strerror (errno));
    }
  if (g_rmdir (path) < 0)
    g_warning ("Cannot remove %s: %s", path, g_strerror (errno));
}

void
xd_test_xenstored_free (XdTestXenstored *self)
{
  if (!self)
    return;
  if (self->pid != 0)
    xd_test_xenstored_kill (self);
  if (self->dir && self->owns_dir)
    remove_tree (self->dir);
  else if (self->dir)
    {
      g_unlink (self->socket);
      g_unlink (self->pid_file);
    }
  g_free (self->dir);
  g_free (self->socket);
  g_free (self->pid_file);
  g_free (self->log_file);
  g_free (self->daemon);
  g_free (self->shim);
  g_free (self);
}
