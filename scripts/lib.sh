# shellcheck shell=bash
# Shared setup for scripts/test and scripts/run. Source it; do not execute it.
# Everything here logs to stderr, so the caller's stdout stays clean (scripts/run's stdout is the
# daemon's single `ready …` line).

# ── System packages every build needs (Debian 12 names) ──────────────────────────────────────
MAYROS_APT_PACKAGES=(
  build-essential
  pkg-config
  libdbus-1-dev # the keyring crate's Secret Service client links libdbus
  dbus          # dbus-daemon: the keyring tests start a private session bus
  gnome-keyring # gnome-keyring-daemon: the private Secret Service of the keyring tests
)

# ── What the tray app (src-tauri, Tauri 2 on WebKitGTK) needs to build ───────────────────────
MAYROS_TRAY_APT_PACKAGES=(
  libssl-dev
  libwebkit2gtk-4.1-dev
  libgtk-3-dev
  libsoup-3.0-dev
  libayatana-appindicator3-dev # the tray icon (StatusNotifierItem + dbusmenu)
  librsvg2-dev
  libxdo-dev
)

# Makes sure node (>= 20) and npm exist: the web UI's build, unit tests and browser tests use them.
mayros_ensure_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    mayros_die "node and npm not found: install Node.js 20 or newer (the UI build and its tests need them)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || mayros_die "node $(node --version) is too old: the UI build (Vite) needs Node.js 20 or newer"
}

MAYROS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_MAYROS_APT_UPDATED=0

mayros_log() { printf '%s\n' "$*" >&2; }
mayros_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
mayros_as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    mayros_die "need root to run: $* (install sudo or run as root)"
  fi
}

# Installs the given apt packages that are not installed yet; does nothing when all are.
mayros_ensure_apt_packages() {
  local pkg status missing=()
  if ! command -v dpkg-query >/dev/null 2>&1; then
    mayros_log "warning: not a Debian-like system; make sure these are installed: $*"
    return 0
  fi
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 ||
    mayros_die "missing packages (${missing[*]}) and no apt-get to install them"
  mayros_log "==> installing missing packages: ${missing[*]}"
  if ((_MAYROS_APT_UPDATED == 0)); then
    mayros_as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
    _MAYROS_APT_UPDATED=1
  fi
  mayros_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# Makes sure cargo is on PATH (rustup installs it in ~/.cargo/bin).
mayros_ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 ||
    mayros_die "cargo not found: install the Rust toolchain (https://rustup.rs), then re-run"
}

# Keeps a long-lived target dir (CI reuses ~/.cache/mayros/target across runs) from filling the
# disk: every dependency or feature change leaves another variant behind. Above $2 GiB it is
# emptied, and the next build starts cold.
mayros_trim_target_dir() {
  local dir="$1" max_gib="$2" kib
  [[ -d $dir ]] || return 0
  kib="$(du -sk "$dir" 2>/dev/null | cut -f1)"
  if ((kib > max_gib * 1024 * 1024)); then
    mayros_log "==> $dir holds $((kib / 1024 / 1024)) GiB (limit $max_gib GiB): emptying it"
    rm -rf "$dir"
  fi
}

# Makes sure the disk that holds $1 has room for a full build and test run (~$2 GiB): when it has
# less, the cached target dir $1 is emptied first (a cold build beats a linker killed by a full
# disk half way, which is how a CI run died once: `ld terminated with signal 7 [Bus error]`).
# Fails with the figures when even that leaves too little.
mayros_ensure_free_disk() {
  local dir="$1" need_gib="$2" probe free_kib
  probe="$dir"
  while [[ ! -d $probe ]]; do probe="$(dirname "$probe")"; done
  free_kib="$(df -Pk "$probe" | awk 'NR == 2 { print $4 }')"
  mayros_log "==> free disk at $probe: $((free_kib / 1024 / 1024)) GiB (a test run needs about $need_gib GiB)"
  ((free_kib >= need_gib * 1024 * 1024)) && return 0
  if [[ -d $dir ]]; then
    mayros_log "==> too little free disk: emptying the cached target dir $dir"
    rm -rf "$dir"
    free_kib="$(df -Pk "$probe" | awk 'NR == 2 { print $4 }')"
  fi
  ((free_kib >= need_gib * 1024 * 1024)) ||
    mayros_die "only $((free_kib / 1024)) MiB free on the disk of $dir; a build and test run needs about $need_gib GiB: free some space (df -h) and re-run"
}
