# Shared set-up for scripts/run and scripts/test: installs only what is missing.
# Sourced, not executed. Works on a fresh Debian or Ubuntu machine (as root, or with sudo).

# Everything that is built goes to one target folder outside the checkout, so a fresh clone
# reuses earlier builds; it still builds from nothing when the folder is empty.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mcpfw/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

BUILD_PACKAGES=(
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev
)
# A real window under Xvfb for the desktop tests (openbox: a window manager, so "active" and
# "always on top" mean what they do on a desktop), and the CLI tools the tests use.
# chromium runs the dashboard's browser tests (driven by playwright-core from ui/); dunst shows
# desktop notifications in their test. postgresql: tests/postgres.rs starts a scratch cluster of
# its own (initdb/pg_ctl from /usr/lib/postgresql/*/bin, as the `postgres` user when run as root).
# systemd: tests/organisation.rs checks the user unit with `systemd-analyze verify`.
# rpm2cpio, cpio: the bundle step lists the .rpm's files.
# The cross-checks (scripts/test lints the crates for Windows and the core for macOS): MinGW is
# the C cross compiler for Windows that build scripts need (libsqlite3-sys, ring) even when
# cargo only checks; there is no C toolchain for macOS here, so only the core (no C) is checked.
# wine64 runs the Windows builds of the core's and store's unit tests and of `mcpfw wrap`
# (scripts/wine/).
CROSS_PACKAGES=(gcc-mingw-w64-x86-64 wine64)
CROSS_TARGETS=(x86_64-pc-windows-gnu aarch64-apple-darwin)
TEST_PACKAGES=(xvfb xauth x11-utils xdotool dbus-x11 openbox imagemagick sqlite3 gnome-keyring dunst chromium libglib2.0-bin postgresql systemd rpm2cpio cpio)

# Each step is announced with `==>` and, when the next one starts (or `step_end` is called),
# closed with how long it took; `step_summary` prints every step's seconds, as plain lines, for
# finding where a run's time goes.
STEP_NAMES=()
STEP_SECONDS=()
STEP_CURRENT=""
STEP_STARTED=0
step_end() {
  if [ -n "$STEP_CURRENT" ]; then
    local took=$((SECONDS - STEP_STARTED))
    printf '<== %s: %d s\n' "$STEP_CURRENT" "$took"
    STEP_NAMES+=("$STEP_CURRENT")
    STEP_SECONDS+=("$took")
    STEP_CURRENT=""
  fi
}
step() {
  step_end
  STEP_CURRENT="$*"
  STEP_STARTED=$SECONDS
  printf '\n==> %s\n' "$*"
}
step_summary() {
  step_end
  local i total=0
  printf '\ntime per step (seconds):\n'
  for i in "${!STEP_NAMES[@]}"; do
    printf '%6d  %s\n' "${STEP_SECONDS[i]}" "${STEP_NAMES[i]}"
    total=$((total + STEP_SECONDS[i]))
  done
  printf '%6d  total (%d min %02d s)\n' "$total" $((total / 60)) $((total % 60))
  for i in "${!NOT_CHECKED[@]}"; do
    printf 'NOT CHECKED: %s\n' "${NOT_CHECKED[i]}"
  done
}

# What a step could not check, said when it happens and again under the step table.
NOT_CHECKED=()
not_checked() {
  NOT_CHECKED+=("$*")
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! NOT CHECKED: %s\n' "$*" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages that are not installed yet (one apt run, only if needed).
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    step "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_apt nodejs npm
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      step "installing the Rust toolchain (rustup)"
      ensure_apt curl ca-certificates
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

# The standard libraries of the cross-check targets (rustup target add), when rustup is there.
# A target that cannot be installed is left out here; the check that needs it says NOT CHECKED.
ensure_cross_targets() {
  command -v rustup >/dev/null || return 0
  local installed missing=() target
  installed=$(rustup target list --installed 2>/dev/null || true)
  for target in "${CROSS_TARGETS[@]}"; do
    grep -qx "$target" <<<"$installed" || missing+=("$target")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    step "rustup target add ${missing[*]}"
    rustup target add "${missing[@]}" || echo "mcpfw: cannot add the targets ${missing[*]}" >&2
  fi
}

# Lints packages for another target (check only, no code generated): cross_clippy TARGET
# C_COMPILER|- CARGO_ARGS…. Says NOT CHECKED, and passes, when the target's standard library or
# its C compiler is missing.
cross_clippy() {
  local target=$1 cc=$2
  shift 2
  if ! command -v rustup >/dev/null || ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    not_checked "clippy for $target: its standard library is not installed (rustup target add $target)"
    return 0
  fi
  if [ "$cc" != - ] && ! command -v "$cc" >/dev/null; then
    not_checked "clippy for $target: the C cross compiler $cc is missing"
    return 0
  fi
  cargo clippy --locked --target "$target" --all-targets "$@" -- -D warnings
}

# Whether the Windows builds can run here (wine64, MinGW and the Windows target); says NOT
# CHECKED when not.
wine_ready() {
  local wine=/usr/lib/wine/wine64
  if [ ! -x "$wine" ]; then
    not_checked "Windows under Wine: $wine is missing (apt-get install wine64)"
    return 1
  fi
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null ||
    ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    not_checked "Windows under Wine: MinGW or the x86_64-pc-windows-gnu target is missing"
    return 1
  fi
}

# Runs "$@" unless STAMP already records the hash of INPUT (so reinstalls happen only on change).
run_if_changed() {
  local input=$1 stamp=$2; shift 2
  local want; want=$(sha256sum "$input" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  "$@"
  echo "$want" > "$stamp"
}

# The real MCP peers the tests run: npm servers pinned by package-lock.json, and the Python
# `mcp` SDK client (and the OTLP receiver's opentelemetry-proto and grpcio) pinned in
# requirements.txt, in .venv.
ensure_test_peers() {
  ensure_node
  if [ ! -d tests/peers/node_modules ]; then rm -f tests/peers/node_modules.stamp; fi
  run_if_changed tests/peers/package-lock.json tests/peers/node_modules.stamp \
    sh -c 'echo "==> npm ci (tests/peers)"; npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error'
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    python3 -m venv .venv 2>/dev/null || { ensure_apt python3-venv; python3 -m venv .venv; }
    rm -f .venv/requirements.stamp
  fi
  run_if_changed tests/peers/requirements.txt .venv/requirements.stamp \
    sh -c 'echo "==> pip install (tests/peers/requirements.txt)"; .venv/bin/pip install -q --disable-pip-version-check -r tests/peers/requirements.txt'
}

# The dashboard (ui/): its npm packages pinned by ui/package-lock.json (Vite, TypeScript and
# playwright-core for the browser tests), and the build in ui/dist that `mcpfw daemon` serves
# and the desktop app embeds. Each step runs again only when its inputs change.
ensure_ui() {
  ensure_node
  if [ ! -d ui/node_modules ]; then rm -f ui/node_modules.stamp; fi
  run_if_changed ui/package-lock.json ui/node_modules.stamp \
    sh -c 'echo "==> npm ci (ui)"; npm ci --prefix ui --no-audit --no-fund --loglevel=error'
  if [ ! -f ui/dist/index.html ]; then rm -f ui/dist.stamp; fi
  local sources; sources=$(mktemp)
  find ui/src ui/public ui/index.html ui/package-lock.json ui/tsconfig.json ui/vite.config.ts \
    -type f -print0 | sort -z | xargs -0 sha256sum > "$sources"
  run_if_changed "$sources" ui/dist.stamp \
    sh -c 'echo "==> npm run build (ui)"; npm run build --prefix ui --silent'
  rm -f "$sources"
}

# cargo-deny for the supply-chain checks (scripts/audit), built from crates.io when missing.
# A debug build: cargo-deny's own release profile (fat LTO, one codegen unit) costs more than
# twice the CPU time to build, and the checks it runs here take seconds either way
# (CONTRIBUTING.md, "Where the time goes").
ensure_cargo_deny() {
  if ! command -v cargo-deny >/dev/null; then
    step "installing cargo-deny (cargo install --locked --debug cargo-deny)"
    cargo install --locked --debug cargo-deny
  fi
}
