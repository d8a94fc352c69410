#!/usr/bin/env bash
# The desktop app end to end, in a real X session (Xvfb with the openbox window manager, a
# private D-Bus session and the dunst notification server):
#
#   1. the app starts with a fresh MCPFW_HOME, hosts the daemon and shows the dashboard, signed in;
#   2. a second launch exits at once and leaves the first running (one instance per user);
#      closing the dashboard's window only hides it, and launching again brings it back;
#   3. a real MCP client (the Python SDK) calls a real server (server-filesystem) through
#      `mcpfw wrap`; the call needs approval (writing ~/.bashrc is a config change, two steps);
#   4. an approval window appears, is the active window and is kept above the others;
#   5. it is answered with the keyboard only (xdotool): Approve, then Confirm once armed; nothing
#      runs before the confirmation; the client receives the real result; the window closes;
#   6. a call denied elsewhere (`mcpfw deny`) closes its window and the client is refused;
#   7. with a standalone `mcpfw daemon` already running, the app says so in a window and keeps
#      running instead of crashing;
#   8. a call nobody answers times out (`--timeout 4`): its window closes, the client is refused.
#
# The tray is checked through a tray host of our own (tests/desktop/tray.py: the
# StatusNotifierWatcher and dbusmenu protocols Linux trays speak): the waiting count, pausing and
# resuming protection from its menu (a call that would ask then runs without asking, and the icon
# and label say PAUSED), and "Start at login" writing and removing the autostart entry, from the
# tray and from the dashboard's settings (the tray's check mark following).
#
# Usage: tests/desktop/approval.sh [APP_BINARY] [OUTPUT_DIR]
#   APP_BINARY  default: ${CARGO_TARGET_DIR:-target}/debug/mcpfw-desktop
#   OUTPUT_DIR  logs; default: a new temp dir. Screenshots go to $MCPFW_SCREENSHOTS
#               (default ${CARGO_TARGET_DIR:-target}/desktop-screenshots).
# Environment: MCPFW_BIN (default: mcpfw next to the app binary).
#
# Prints one PASS line per check; on the first failure prints "FAIL: <reason>" and exits 1.
# Every wait is bounded and every process started here is stopped by its PID (process group).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
APP=${1:-$TARGET/debug/mcpfw-desktop}
OUT=${2:-$(mktemp -d -t mcpfw-desktop.XXXXXX)}
MCPFW=${MCPFW_BIN:-$(dirname "$APP")/mcpfw}
SHOTS=${MCPFW_SCREENSHOTS:-$TARGET/desktop-screenshots}
PYTHON=$REPO/.venv/bin/python
FS_SERVER=$REPO/tests/peers/node_modules/.bin/mcp-server-filesystem
started=$SECONDS

# Process groups started here (each with setsid), stopped in reverse order.
GROUPS_STARTED=()
TMP=""

fail() {
    echo "FAIL: $*" >&2
    for log in app.log app2.log client.log client2.log daemon.log; do
        if [[ -s "$OUT/$log" ]]; then
            echo "---- last lines of $OUT/$log ----" >&2
            tail -n 15 "$OUT/$log" >&2
        fi
    done
    exit 1
}

pass() { echo "PASS: $* ($((SECONDS - started)) s)"; }

# Stops a process group: SIGTERM, then SIGKILL after a bounded wait.
stop_group() {
    local pgid=$1 i
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "-$pgid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
    wait "$pgid" 2>/dev/null || true
}

cleanup() {
    local i
    for ((i = ${#GROUPS_STARTED[@]} - 1; i >= 0; i--)); do stop_group "${GROUPS_STARTED[i]}"; done
    if [[ -n "$TMP" ]]; then rm -rf -- "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Runs "$@" in a new process group in the background; its PID (= group id) is in $LAST_PID.
spawn() {
    local log=$1
    shift
    setsid "$@" >"$log" 2>&1 &
    LAST_PID=$!
    GROUPS_STARTED+=("$LAST_PID")
}

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds (its output in $GOT), or fail.
wait_for() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + limit))
    while ((SECONDS < deadline)); do
        if GOT=$("$@" 2>/dev/null) && [[ -n "$GOT" ]]; then return 0; fi
        sleep 0.25
    done
    fail "$what (waited ${limit} s)"
}

window_named() { xdotool search --onlyvisible --name "$1" | head -n 1; }
window_gone() { xdotool search --onlyvisible --name "$1" >/dev/null && return 1 || echo gone; }
alive() { kill -0 "$1" 2>/dev/null || fail "$2"; }

# The window's screenshot once the page is painted (more than a handful of colours).
painted() {
    import -window "$1" "$2" && (($(convert "$2" -format '%k' info:) > 5)) && echo yes
}

for tool in Xvfb openbox dunst dbus-daemon xdotool xprop import convert setsid; do
    command -v "$tool" >/dev/null || fail "required tool '$tool' is not installed (scripts/test installs it)"
done
for file in "$APP" "$MCPFW" "$PYTHON" "$FS_SERVER" "$REPO/ui/dist/index.html"; do
    [[ -e "$file" ]] || fail "$file is missing (scripts/test builds and installs everything this test needs)"
done
mkdir -p -- "$OUT" "$SHOTS"
rm -f -- "$SHOTS"/*.png "$OUT"/*.log "$OUT/dbus.address" "$OUT/display"

# ---- an X session: Xvfb, a window manager, a D-Bus session, a notification server -----------
# Xvfb picks a free display itself (-displayfd), so parallel runs on a shared machine cannot
# take each other's display; -noreset: no server reset (refusing connections) when a client leaves.
spawn "$OUT/xvfb.log" sh -c 'exec Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$1"' \
    sh "$OUT/display"
wait_for 10 "Xvfb did not start (see $OUT/xvfb.log)" head -n 1 "$OUT/display"
export DISPLAY=":$GOT"
wait_for 10 "Xvfb on $DISPLAY does not accept clients" xdotool getdisplaygeometry

TMP=$(mktemp -d -t mcpfw-desktop-home.XXXXXX)
spawn "$OUT/openbox.log" openbox
OPENBOX_PID=$LAST_PID
wm_ready() { xprop -root -notype _NET_SUPPORTED | grep -q _NET_ACTIVE_WINDOW && echo yes; }
wait_for 10 "the window manager did not start" wm_ready
# The bus's address on its own descriptor: its warnings on stderr must not be taken for it.
spawn "$OUT/dbus.log" sh -c 'exec dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$1"' \
    sh "$OUT/dbus.address"
wait_for 10 "the D-Bus session did not start" head -n 1 "$OUT/dbus.address"
export DBUS_SESSION_BUS_ADDRESS=$GOT
spawn "$OUT/dunst.log" dunst
# A tray host, so the app's tray item registers and its menu can be read and clicked.
TRAY_ITEMS=$OUT/tray-items
: >"$TRAY_ITEMS"
spawn "$OUT/tray-host.log" "$PYTHON" "$REPO/tests/desktop/tray.py" watch "$TRAY_ITEMS"
tray() { "$PYTHON" "$REPO/tests/desktop/tray.py" "$1" "$TRAY_ITEMS" "${@:2}"; }
host_ready() { gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.kde.StatusNotifierWatcher | grep -q true && echo yes; }
wait_for 10 "the test's tray host did not start (see $OUT/tray-host.log)" host_ready
pass "X session on $DISPLAY with openbox, D-Bus, dunst and a tray host"

# ---- the app, with a fresh home --------------------------------------------------------------
export MCPFW_HOME=$TMP/fw MCPFW_KEYRING=off HOME=$TMP/home
mkdir -p "$MCPFW_HOME/config" "$HOME/work"
printf '[settings]\ninfer_roots = false\n' >"$MCPFW_HOME/config/policy.toml"
spawn "$OUT/app.log" "$APP"
APP_PID=$LAST_PID
wait_for 90 "no dashboard window titled 'MCP Firewall' appeared" window_named '^MCP Firewall$'
MAIN=$GOT
alive "$APP_PID" "the app exited after opening its window"
[[ -s "$MCPFW_HOME/run/api.json" ]] || fail "the hosted daemon wrote no api.json"
wait_for 30 "the dashboard did not render" painted "$MAIN" "$SHOTS/dashboard.png"
pass "the app hosts the daemon ($(cat "$MCPFW_HOME/run/api.json")) and shows the dashboard"
# jq-free reading of the tray's JSON.
# tray_get EXPR: a Python expression over the tray's JSON `t`, printed; fails when it is None.
tray_get() {
    tray show | "$PYTHON" -c 'import json,sys; t=json.load(sys.stdin); v=eval(sys.argv[1]); print(v); sys.exit(v is None)' "$1"
}
entry() { printf 'next((e for e in t["menu"] if e["label"].startswith("%s")), None)' "$1"; }
wait_for 30 "the app registered no tray item (see $OUT/tray-host.log)" grep -m1 . "$TRAY_ITEMS"
wait_for 10 "the tray menu has no 'Pending approvals'" tray_get "$(entry 'Pending approvals')"
menu=$(tray_get '[e["label"] for e in t["menu"]]')
for want in "Open dashboard" "Pause protection" "Resume protection" "Start at login" "Quit MCP Firewall"; do
    grep -q "$want" <<<"$menu" || fail "the tray menu lacks '$want': $menu"
done
[[ "$(tray_get "$(entry 'Resume protection')[\"enabled\"]")" == False ]] || fail "Resume is enabled while protection is on"
NORMAL_ICON=$(tray_get 't["icon"]')
pass "the tray item is registered with its menu: $menu"

# ---- one instance per user ---------------------------------------------------------------------
set +e
timeout 20 "$APP" >"$OUT/app2.log" 2>&1
second=$?
set -e
((second == 0)) || fail "a second launch exited with $second (expected 0: it hands over to the first)"
alive "$APP_PID" "the first instance exited when a second was launched"
count=$(xdotool search --onlyvisible --name '^MCP Firewall$' | wc -l)
((count == 1)) || fail "$count dashboard windows after a second launch (expected 1)"
pass "a second launch exits at once and the first keeps running"

# Closing the dashboard's window keeps protection on (the app stays, in the tray); launching the
# app again brings the window back.
alive "$OPENBOX_PID" "the window manager (openbox) died; see $OUT/openbox.log"
close_main() {
    xdotool windowactivate --sync "$MAIN" >/dev/null 2>&1 || return 1
    [[ "$(xdotool getactivewindow)" == "$MAIN" ]] || return 1
    xdotool key --clearmodifiers alt+F4
    for _ in $(seq 20); do
        window_gone '^MCP Firewall$' && return 0
        sleep 0.1
    done
    return 1
}
wait_for 15 "closing the dashboard's window (Alt+F4) did not hide it" close_main
sleep 0.5
alive "$APP_PID" "closing the dashboard's window quit the app"
timeout 20 "$APP" >>"$OUT/app2.log" 2>&1 || fail "a second launch failed after the window was closed"
wait_for 15 "launching the app again did not bring the dashboard back" window_named '^MCP Firewall$'
MAIN=$GOT
wait_for 30 "the dashboard did not render again" painted "$MAIN" "$SHOTS/dashboard-again.png"
pass "closing the dashboard hides it (the daemon keeps running); launching again shows it"

# ---- a real call that needs approval -----------------------------------------------------------
BASHRC=$HOME/.bashrc
call() {
    local log=$1 json=$2
    spawn "$log" "$PYTHON" "$REPO/tests/ui/calls.py" "$json" -- \
        "$MCPFW" wrap --name files --root "$HOME" -- "$FS_SERVER" "$HOME"
}
call "$OUT/client.log" '[["write_file", {"path": "'"$BASHRC"'", "content": "export EDITOR=vi\n"}]]'
CLIENT_PID=$LAST_PID
wait_for 30 "no approval window appeared for the held call" window_named '^MCP Firewall approval #'
POPUP=$GOT
active=$(xdotool getactivewindow 2>/dev/null || true)
[[ "$active" == "$POPUP" ]] || fail "the approval window $POPUP is not the active window ($active is)"
xprop -id "$POPUP" _NET_WM_STATE | grep -q _NET_WM_STATE_ABOVE ||
    fail "the approval window is not kept above others: $(xprop -id "$POPUP" _NET_WM_STATE)"
top=$(xprop -root -notype _NET_CLIENT_LIST_STACKING | sed 's/.*, //; s/.*# //')
((top == POPUP)) || fail "the approval window is not the topmost window (stacking top: $top)"
wait_for 30 "the approval window did not render" painted "$POPUP" "$SHOTS/popup.png"
waiting_shown() { [[ "$(tray_get 't["label"]')" == 1 ]] && tray_get "$(entry 'Pending approvals (1)')"; }
wait_for 10 "the tray does not show the waiting call: $(tray show 2>&1)" waiting_shown
pass "the tray shows 1 waiting call (label and menu)"
sleep 1.5 # the page has loaded the call; Approve works 0.75 s after it is shown
import -window "$POPUP" "$SHOTS/popup.png"
import -window root "$SHOTS/screen-with-popup.png"
pass "an approval window ($(xdotool getwindowname "$POPUP")) is active and on top; screenshot $SHOTS/popup.png"

# Keyboard only: the focus starts on the heading; Tab reaches the scope choice, Tab Approve.
xdotool key --clearmodifiers Tab Tab Return
sleep 0.5
import -window "$POPUP" "$SHOTS/popup-step2.png"
[[ ! -e "$BASHRC" ]] || fail "the call ran after the first step"
alive "$CLIENT_PID" "the client finished before the second step"
sleep 1.2 # Confirm is armed 1 s after the first step and then takes the focus
xdotool key --clearmodifiers Return
wait_for 30 "the client did not receive the approved call's result" grep -h '^\[' "$OUT/client.log"
grep -q '"is_error": false' <<<"$GOT" || fail "the approved call failed: $GOT"
[[ "$(cat "$BASHRC" 2>/dev/null)" == "export EDITOR=vi" ]] || fail "the approved write did not happen"
pass "approved with the keyboard in two steps; the client got the real result: $GOT"
wait_for 15 "the approval window did not close after the call was decided" window_gone '^MCP Firewall approval #'
pass "the approval window closed when the call settled"

# ---- decided elsewhere: the window closes, the client is refused -------------------------------
call "$OUT/client2.log" '[["write_file", {"path": "'"$HOME/.profile"'", "content": "x\n"}]]'
wait_for 30 "no approval window for the second call" window_named '^MCP Firewall approval #'
ID=$(xdotool getwindowname "$GOT" | sed 's/.*#//')
MCPFW_HOME=$MCPFW_HOME "$MCPFW" deny "$ID" >"$OUT/deny.log" 2>&1 || fail "mcpfw deny $ID failed: $(cat "$OUT/deny.log")"
wait_for 15 "the approval window stayed open after the call was denied elsewhere" window_gone '^MCP Firewall approval #'
wait_for 30 "the client did not receive the refusal" grep -h '^\[' "$OUT/client2.log"
grep -q '"is_error": true' <<<"$GOT" || fail "the denied call was not refused: $GOT"
[[ ! -e "$HOME/.profile" ]] || fail "the denied write happened"
pass "a call denied elsewhere (mcpfw deny $ID) closes its window and is refused"

# ---- pausing protection from the tray -----------------------------------------------------------
tray click "For 15 minutes" >/dev/null || fail "cannot click Pause protection > For 15 minutes"
paused_shown() { [[ "$(tray_get 't["label"]')" == PAUSED ]] && tray_get "$(entry 'Resume protection (paused, 15 min left)')[\"enabled\"]" | grep -x True; }
wait_for 10 "the tray does not show the pause: $(tray show 2>&1)" paused_shown
PAUSED_ICON=$(tray_get 't["icon"]')
[[ -f "$PAUSED_ICON" ]] && ! cmp -s "$PAUSED_ICON" "$NORMAL_ICON" || fail "the tray icon did not change while paused ($PAUSED_ICON)"
cp "$PAUSED_ICON" "$SHOTS/tray-icon-paused.png"
MCPFW_HOME=$MCPFW_HOME "$MCPFW" pause --json | grep -q '"paused":true' || fail "mcpfw pause does not report the tray's pause"
call "$OUT/client-paused.log" '[["write_file", {"path": "'"$HOME/.zshenv"'", "content": "paused\n"}]]'
wait_for 30 "the client's call did not run while protection was paused" grep -h '^\[' "$OUT/client-paused.log"
grep -q '"is_error": false' <<<"$GOT" || fail "the call was refused while paused: $GOT"
[[ "$(cat "$HOME/.zshenv")" == paused ]] || fail "the call did not run while paused"
window_gone '^MCP Firewall approval #' >/dev/null || fail "an approval window opened while protection was paused"
MCPFW_HOME=$MCPFW_HOME "$MCPFW" log --json --tool write_file --limit 0 | grep -q '"decided_by":"paused"' ||
    fail "the call that ran while paused is not recorded as decided_by paused"
pass "Pause protection > For 15 minutes in the tray: label PAUSED, a paused icon ($SHOTS/tray-icon-paused.png); a call that would ask ran without asking and is recorded so"
tray click "Resume protection" >/dev/null || fail "cannot click Resume protection"
resumed_shown() { [[ -z "$(tray_get 't["label"]')" ]] && tray_get "$(entry 'Resume protection')[\"enabled\"]" | grep -x False; }
wait_for 10 "the tray still shows a pause after Resume: $(tray show 2>&1)" resumed_shown
[[ "$(tray_get 't["icon"]')" != "$PAUSED_ICON" ]] || fail "the paused icon stayed after resuming"
MCPFW_HOME=$MCPFW_HOME "$MCPFW" pause --json | grep -q '"paused":false' || fail "protection is still paused after Resume"
pass "Resume protection in the tray ends the pause"

# ---- start at login from the tray ----------------------------------------------------------------
AUTOSTART_DIR=$HOME/.config/autostart
[[ ! -e "$HOME/.config" ]] || fail "the test expects a home without ~/.config (a fresh account)"
tray click "Start at login" >/dev/null || fail "cannot click Start at login"
entry_written() { grep -l -- "--hidden" "$AUTOSTART_DIR"/*.desktop 2>/dev/null; }
wait_for 10 "Start at login wrote no autostart entry with --hidden in $AUTOSTART_DIR (see $OUT/app.log)" entry_written
DESKTOP_FILE=$GOT
grep -q "^Exec=.*mcpfw-desktop" "$DESKTOP_FILE" || fail "the autostart entry does not start the app: $(cat "$DESKTOP_FILE")"
autostart_checked() { tray_get "$(entry 'Start at login')[\"checked\"]" | grep -x True; }
wait_for 10 "the Start at login item is not checked" autostart_checked
tray click "Start at login" >/dev/null || fail "cannot click Start at login again"
entry_removed() { [[ ! -e "$DESKTOP_FILE" ]] && echo removed; }
wait_for 10 "turning Start at login off left $DESKTOP_FILE" entry_removed
pass "Start at login in the tray writes $(basename "$DESKTOP_FILE") (Exec with --hidden) and removes it again"
# The dashboard's Settings page changes the same switch through the hosted daemon's API, and the
# tray's check mark follows.
put_autostart() {
    "$PYTHON" - "$1" <<'PY'
import json, os, sys, urllib.request
home = os.environ["MCPFW_HOME"]
url = json.load(open(f"{home}/run/api.json"))["url"]
token = open(f"{home}/config/approver.token").read().strip()
body = json.dumps({"autostart": sys.argv[1] == "on"}).encode()
request = urllib.request.Request(f"{url}/api/v1/settings", data=body, method="PUT", headers={
    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10)).get("autostart"))
PY
}
[[ "$(put_autostart on)" == True ]] || fail "PUT /api/v1/settings {autostart: true} did not report it on"
wait_for 10 "turning start at login on from the API wrote no autostart entry" entry_written
wait_for 10 "the tray's Start at login is not checked after the dashboard turned it on" autostart_checked
[[ "$(put_autostart off)" == False ]] || fail "PUT /api/v1/settings {autostart: false} did not report it off"
wait_for 10 "turning start at login off from the API left $DESKTOP_FILE" entry_removed
autostart_unchecked() { tray_get "$(entry 'Start at login')[\"checked\"]" | grep -x False; }
wait_for 10 "the tray's Start at login is still checked after the dashboard turned it off" autostart_unchecked
pass "Start at login from the dashboard's settings (PUT /api/v1/settings) writes and removes the same entry, and the tray's check mark follows"

# ---- a standalone daemon already running -------------------------------------------------------
stop_group "$APP_PID"
rm -f "$MCPFW_HOME/run/mcpfw.sock" "$MCPFW_HOME/run/api.json"
spawn "$OUT/daemon.log" "$MCPFW" daemon --no-notify
DAEMON_PID=$LAST_PID
wait_for 20 "mcpfw daemon did not start" cat "$MCPFW_HOME/run/api.json"
spawn "$OUT/app3.log" "$APP"
APP_PID=$LAST_PID
wait_for 60 "no window said that MCP Firewall is already running" window_named 'already running'
NOTICE=$GOT
wait_for 30 "the notice did not render" painted "$NOTICE" "$SHOTS/already-running.png"
sleep 1
alive "$APP_PID" "the app crashed when a standalone daemon was running"
import -window "$NOTICE" "$SHOTS/already-running.png"
pass "with mcpfw daemon running, the app says so ($(xdotool getwindowname "$NOTICE")); screenshot $SHOTS/already-running.png"

# ---- nobody answers: the countdown runs out, the window closes, the call is refused -----------
stop_group "$APP_PID"
stop_group "$DAEMON_PID"
spawn "$OUT/app4.log" "$APP" --timeout 4
APP_PID=$LAST_PID
wait_for 60 "the app did not start again" window_named '^MCP Firewall$'
call "$OUT/client3.log" '[["write_file", {"path": "'"$HOME/.zshrc"'", "content": "x\n"}]]'
wait_for 30 "no approval window for the third call" window_named '^MCP Firewall approval #'
wait_for 30 "the approval window did not render" painted "$GOT" "$SHOTS/popup-countdown.png"
wait_for 20 "the approval window stayed open after the call timed out" window_gone '^MCP Firewall approval #'
wait_for 30 "the client did not receive the refusal" grep -h '^\[' "$OUT/client3.log"
grep -q '"is_error": true' <<<"$GOT" || fail "the unanswered call was not refused: $GOT"
pass "an unanswered call times out (--timeout 4): its window closes and the client is refused"

echo "PASS: desktop approval test in $((SECONDS - started)) s; screenshots in $SHOTS"
