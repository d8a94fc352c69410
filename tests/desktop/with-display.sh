#!/usr/bin/env bash
# Runs a command on a private Xvfb display inside its own D-Bus session, and stops both after.
# Usage: tests/desktop/with-display.sh COMMAND [ARGS...]   (exit status: the command's)
set -euo pipefail
display=""
for n in $(seq 90 140); do
    if [[ ! -e /tmp/.X11-unix/X$n && ! -e /tmp/.X$n-lock ]]; then display=:$n; break; fi
done
[[ -n "$display" ]] || { echo "FAIL: no free X display number" >&2; exit 1; }
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null; wait "$xvfb" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    DISPLAY=$display xdpyinfo >/dev/null 2>&1 && break
    sleep 0.1
done
DISPLAY=$display dbus-run-session -- "$@"
