#!/usr/bin/env bash
# `npm start`: the local stack and the desktop app (scripts/localStack.ts) with a keychain for the desktop's vault.
# On Linux that is a private gnome-keyring kept in .tandem/keyring, so the local desktop profile's device key (and
# with it the key shares stored in .tandem/desktop) survives restarts; macOS and Windows use their own keychain.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${TANDEM_DATA_ROOT:-${INIT_CWD:-$PWD}/.tandem}"
mkdir -p -m 0700 "$root/keyring"
export KEYRING_DATA_HOME="$root/keyring"
exec bash "$here/with-keyring.sh" npx tsx "$here/localStack.ts"
