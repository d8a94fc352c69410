#!/usr/bin/env bash
# Smoke test for the MCP Firewall desktop shell.
#
# Starts a private Xvfb display, runs the app inside its own D-Bus session with
# a fresh MCPFW_HOME, waits for the "MCP Firewall" window, captures it and
# checks that the page actually rendered (the screenshot is not one flat colour).
#
# Usage: tests/desktop/smoke.sh [BINARY] [OUTPUT_DIR]
#   BINARY      default: ${CARGO_TARGET_DIR:-target}/debug/mcpfw-desktop
#   OUTPUT_DIR  where shot.png and app.log go; default: a new temp dir
#
# Exit status 0 on success; on failure prints "FAIL: <reason>" and exits 1.
# Every wait is bounded and every process started here is stopped by PID.
set -euo pipefail

BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/mcpfw-desktop}
OUT=${2:-$(mktemp -d -t mcpfw-smoke.XXXXXX)}
WINDOW_TIMEOUT=${SMOKE_WINDOW_TIMEOUT:-60}   # seconds until the window must appear
RENDER_TIMEOUT=${SMOKE_RENDER_TIMEOUT:-30}   # seconds until the page must be painted
MIN_COLOURS=5

XVFB_PID=""
APP_PID=""
APP_HOME=""

fail() {
    echo "FAIL: $*" >&2
    if [[ -s "$OUT/app.log" ]]; then
        echo "---- last lines of $OUT/app.log ----" >&2
        tail -n 20 "$OUT/app.log" >&2
    fi
    exit 1
}

# Stop a process group (the app, its D-Bus session and WebKit helpers) or a
# single process, first politely, then with SIGKILL after a bounded wait.
stop_pid() {
    local pid=$1 target=$2 i
    kill -TERM -- "$target" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "$target" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "$target" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    # The app runs in its own session/process group (setsid): stop the group.
    if [[ -n "$APP_PID" ]]; then stop_pid "$APP_PID" "-$APP_PID"; fi
    if [[ -n "$XVFB_PID" ]]; then stop_pid "$XVFB_PID" "$XVFB_PID"; fi
    if [[ -n "$APP_HOME" ]]; then rm -rf -- "$APP_HOME"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for tool in Xvfb xdotool import convert dbus-run-session setsid; do
    command -v "$tool" >/dev/null || fail "required tool '$tool' is not installed"
done
[[ -x "$BIN" ]] || fail "binary '$BIN' not found or not executable (build it with: cargo build -p mcpfw-desktop)"
mkdir -p -- "$OUT"
: >"$OUT/app.log"

# ---- Xvfb on a free display ------------------------------------------------
start_xvfb() {
    local n i
    for ((n = 99; n < 160; n++)); do
        [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]] && continue
        Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
        XVFB_PID=$!
        for ((i = 0; i < 50; i++)); do # up to 5 s for the server to accept clients
            if ! kill -0 "$XVFB_PID" 2>/dev/null; then break; fi
            if DISPLAY=":$n" xdotool getdisplaygeometry >/dev/null 2>&1; then
                DISPLAY_NUM=$n
                return 0
            fi
            sleep 0.1
        done
        # Lost a race for this display or the server hangs: try the next one.
        stop_pid "$XVFB_PID" "$XVFB_PID"
        XVFB_PID=""
    done
    return 1
}
start_xvfb || fail "could not start Xvfb on any display :99-:159 (see $OUT/xvfb.log)"
export DISPLAY=":$DISPLAY_NUM"
echo "Xvfb running on $DISPLAY (pid $XVFB_PID)"

# ---- the app -----------------------------------------------------------------
APP_HOME=$(mktemp -d -t mcpfw-home.XXXXXX)
# setsid: own process group, so the app, dbus-daemon and the WebKit helper
# processes can all be stopped together by the group id (= APP_PID).
# MCPFW_KEYRING=off: a private D-Bus session can activate a locked keyring whose unlock prompt
# nobody answers here (the approver token then lives in a 0600 file in APP_HOME).
MCPFW_HOME="$APP_HOME" MCPFW_KEYRING=off setsid dbus-run-session -- "$BIN" >"$OUT/app.log" 2>&1 &
APP_PID=$!
echo "app started (pid $APP_PID, MCPFW_HOME=$APP_HOME)"

WIN=""
deadline=$((SECONDS + WINDOW_TIMEOUT))
while ((SECONDS < deadline)); do
    kill -0 "$APP_PID" 2>/dev/null || fail "the app exited before its window appeared"
    WIN=$(xdotool search --onlyvisible --name '^MCP Firewall$' 2>/dev/null | head -n 1 || true)
    [[ -n "$WIN" ]] && break
    sleep 0.5
done
[[ -n "$WIN" ]] || fail "no visible window titled 'MCP Firewall' within ${WINDOW_TIMEOUT}s"
echo "window found: $WIN"

# ---- screenshot: wait (bounded) until the web page has been painted ---------
SHOT="$OUT/shot.png"
colours=0
deadline=$((SECONDS + RENDER_TIMEOUT))
while ((SECONDS < deadline)); do
    kill -0 "$APP_PID" 2>/dev/null || fail "the app exited while rendering"
    if import -window "$WIN" "$SHOT" 2>>"$OUT/app.log"; then
        colours=$(convert "$SHOT" -format '%k' info: 2>/dev/null || echo 0)
        if ((colours > MIN_COLOURS)); then
            sleep 1 # let the version badge (async IPC) settle, then take the final shot
            import -window "$WIN" "$SHOT" 2>>"$OUT/app.log" || true
            colours=$(convert "$SHOT" -format '%k' info: 2>/dev/null || echo 0)
            break
        fi
    fi
    sleep 0.5
done
((colours > MIN_COLOURS)) || fail "screenshot $SHOT has only $colours colour(s) after ${RENDER_TIMEOUT}s: page did not render"

# ---- memory once idle: the app and the processes of its group (WebKit, D-Bus) -----
# Reported, not held (a debug build here). PSS counts shared pages once across processes.
sleep 2
summary=""
total_pss=0
for pid in $(pgrep -g "$APP_PID" || true); do
    name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    # A process may end meanwhile: then it counts as 0.
    pss=$(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || pss=0
    hwm=$(awk '/^VmHWM:/ { h = $2 } END { print h + 0 }' "/proc/$pid/status" 2>/dev/null) || hwm=0
    total_pss=$((total_pss + pss))
    summary+=" $name: PSS $((pss / 1024)) MiB (VmHWM $((hwm / 1024)) MiB);"
done
echo "memory: the desktop app idle, sum of PSS $((total_pss / 1024)) MiB —$summary"

echo "PASS: window $WIN rendered with $colours colours; screenshot: $SHOT"
exit 0
