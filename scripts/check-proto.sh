#!/usr/bin/env bash
# buf lint on proto/, and a check that the committed generated TypeScript matches mpc.proto
# (regenerated into a temporary directory and compared).
set -euo pipefail
cd "$(dirname "$0")/../proto"
../node_modules/.bin/buf lint
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
../node_modules/.bin/buf generate --output "$tmp"
if ! diff -ru gen "$tmp/gen" >/dev/null; then
  echo "proto/gen is stale: run 'npm run generate -w proto' and commit the result" >&2
  diff -ru gen "$tmp/gen" | head -40 >&2
  exit 1
fi
