#!/usr/bin/env bash
# Runs a command with a working OS keychain, for tests that store keys in it (the desktop's vault).
#
#   bash scripts/with-keyring.sh node --test …
#
# On Linux it starts a private D-Bus session with its own gnome-keyring, unlocked with a throwaway password, in
# throwaway directories (see ../../shared/ENVIRONMENT.md). Private on purpose, even where a desktop session already
# runs one: tests never read or write the developer's login keyring. XDG_RUNTIME_DIR is private too, so the new
# gnome-keyring-daemon cannot find and talk to an existing daemon through its control socket.
#
# - Nested calls (a test that runs this script again) reuse the session they are in, unless the caller removes
#   TANDEM_KEYRING_SESSION from the environment to ask for a fresh one.
# - macOS and Windows have their keychain without any of this: the command runs as is.
# - Linux without gnome-keyring but with a session bus (a desktop with another Secret Service, e.g. KWallet): the
#   command runs against that session's keychain, with a note.
# - KEYRING_PW and KEYRING_DATA_HOME override the keyring's password and data directory (kept afterwards). `npm start`
#   keeps its keyring in .tandem/keyring, so the local desktop profile's device key survives restarts.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: bash scripts/with-keyring.sh COMMAND [ARG…]" >&2
  exit 2
fi

if [ -n "${TANDEM_KEYRING_SESSION:-}" ] || [ "$(uname -s)" != Linux ]; then
  exec "$@"
fi

if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    echo "with-keyring: gnome-keyring is not installed; using this session's own keychain" >&2
    exec "$@"
  fi
  echo "with-keyring: no keychain available: gnome-keyring and dbus are not installed." >&2
  echo "with-keyring: install them with 'sudo bash scripts/setup.sh' (or: apt-get install gnome-keyring dbus)." >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tandem-keyring.XXXXXX")
# A keyring daemon still writing as it stops can make the first rm fail: one retry.
trap 'rm -rf "$tmp" 2>/dev/null || { sleep 0.2; rm -rf "$tmp"; }' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -m 0700 "$tmp/run" "$tmp/data"

# gnome-keyring-daemon runs in the foreground (as a child we can stop): a daemonized one outlives a short command,
# because it may not have joined the bus yet when the bus goes away. The command starts once the daemon owns the
# Secret Service name. dbus-daemon's note "Failed to set fd limit" (no privilege to raise it) is harmless.
set +e
TANDEM_KEYRING_TMP=$tmp dbus-run-session -- sh -c '
  export XDG_RUNTIME_DIR="$TANDEM_KEYRING_TMP/run"
  export XDG_DATA_HOME="${KEYRING_DATA_HOME:-$TANDEM_KEYRING_TMP/data}"
  unset GNOME_KEYRING_CONTROL TANDEM_KEYRING_TMP
  printf %s "${KEYRING_PW:-ci-password}" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
  keyring=$!
  trap "kill $keyring 2>/dev/null; wait $keyring 2>/dev/null" EXIT
  tries=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ] || ! kill -0 "$keyring" 2>/dev/null; then
      echo "with-keyring: gnome-keyring-daemon did not start" >&2
      exit 1
    fi
    sleep 0.05
  done
  export TANDEM_KEYRING_SESSION=1
  "$@"' sh "$@"
status=$?
set -e
exit "$status"
