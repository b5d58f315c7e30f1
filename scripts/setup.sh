#!/usr/bin/env bash
# Installs what Tandem needs on this machine, idempotently: npm packages from the lockfile
# (npm ci, skipped when node_modules already matches package-lock.json). Later workspaces
# add their Debian packages here. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.tandem-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
