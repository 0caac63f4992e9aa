#!/usr/bin/env bash
# Installs the third-party OpenID Connect server used by the interop tests
# (tests/api/oidc_interop.rs): oauth2-mock-server in tests/interop/node_modules, at the versions
# pinned in package-lock.json. Needs Node 20.19+ with npm. Safe to re-run: skipped when
# node_modules already matches the lock file.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

# npm writes node_modules/.package-lock.json on install; newer than the lock file means done.
if [ -f node_modules/.package-lock.json ] && [ -f package-lock.json ] &&
  [ node_modules/.package-lock.json -nt package-lock.json ] &&
  [ -f node_modules/oauth2-mock-server/package.json ]; then
  exit 0
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

echo "OIDC interop dependencies installed: $PWD/node_modules (oauth2-mock-server $(node -p 'require("./node_modules/oauth2-mock-server/package.json").version'))"
