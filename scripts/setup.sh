#!/usr/bin/env bash
# Installs what Tandem needs on this machine, idempotently: Debian packages (skipped when already installed), then
# npm packages from the lockfile (npm ci, skipped when node_modules already matches package-lock.json). Later
# workspaces add their Debian packages to the list below. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, and who needs them:
# - gnome-keyring, dbus: a real OS keychain for the desktop's vault tests, run headless by scripts/with-keyring.sh
#   (dbus brings dbus-run-session and dbus-send). @napi-rs/keyring speaks D-Bus itself: no libsecret needed.
# - chromium: the browser the desktop's Playwright specs drive (playwright-core, executablePath /usr/bin/chromium);
#   Playwright's own browser download cannot run here.
debian_packages=(gnome-keyring dbus chromium)

install_debian_packages() {
  if ! command -v dpkg-query >/dev/null; then
    [ "$(uname -s)" = Linux ] && echo "setup: not a Debian system: install the equivalent of ${debian_packages[*]} yourself" >&2
    return 0 # macOS and Windows have their keychain built in
  fi
  local missing=() p
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  # env inside sudo: sudo drops the caller's environment, and apt must not stop to ask questions.
  local apt=()
  if [ "$(id -u)" -eq 0 ]; then
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
  else
    echo "setup: Debian packages missing: ${missing[*]} (needed by the desktop's keychain tests)." >&2
    echo "setup: this user cannot install them; run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "setup: (or 'sudo bash scripts/setup.sh'). Continuing without them." >&2
    return 0
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  local install=("${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}")
  # A fresh machine (or container) may have empty package lists: fetch them once, only when needed.
  if ! "${install[@]}" >/dev/null 2>&1; then
    "${apt[@]}" update -qq
    "${install[@]}" >/dev/null
  fi
}
install_debian_packages

stamp=node_modules/.tandem-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  # The electron package is there for its types, Playwright's _electron and the packager; its install script
  # downloads the Electron binary from GitHub, which this machine cannot reach. TANDEM_FETCH_ELECTRON=1 lets it.
  [ "${TANDEM_FETCH_ELECTRON:-}" = 1 ] || export ELECTRON_SKIP_BINARY_DOWNLOAD=1
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
