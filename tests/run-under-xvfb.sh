#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs a command on a private X server (Xvfb) and stops the server whatever
# happens to the command. Usage: run-under-xvfb.sh PROGRAM [ARGS...]
# Xvfb picks a free display itself (-displayfd), so parallel tests never
# collide; its log goes to stderr only if it fails to start.
set -u

dir=$(mktemp -d "${TMPDIR:-/tmp}/xd-xvfb.XXXXXX") || exit 99
xvfb_pid=
child_pid=

cleanup () {
  [ -n "$child_pid" ] && kill "$child_pid" 2>/dev/null
  if [ -n "$xvfb_pid" ]; then
    kill "$xvfb_pid" 2>/dev/null
    wait "$xvfb_pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset \
  3>"$dir/display" >"$dir/xvfb.log" 2>&1 &
xvfb_pid=$!

# -displayfd writes the display number once the server accepts clients.
i=0
while [ ! -s "$dir/display" ]; do
  if ! kill -0 "$xvfb_pid" 2>/dev/null || [ "$i" -ge 100 ]; then
    echo "Bail out! Xvfb did not start:" && sed 's/^/# /' "$dir/xvfb.log"
    exit 99
  fi
  i=$((i + 1))
  sleep 0.1
done

DISPLAY=":$(head -n 1 "$dir/display")"
GDK_BACKEND=x11
NO_AT_BRIDGE=1
export DISPLAY GDK_BACKEND NO_AT_BRIDGE

"$@" &
child_pid=$!
wait "$child_pid"
rc=$?
child_pid=
exit "$rc"
