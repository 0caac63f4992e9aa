#!/usr/bin/env bash
# Installs the official Azure Communication Identity SDKs used by the interop tests
# (tests/api/acs_sdk.rs): a Python venv at <repo>/.venv and node_modules in tests/acs_sdk.
# Needs python3 (>= 3.8) and Node 20+ with npm. Safe to re-run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))"
python="${PYTHON:-python3}"

if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
fi
"$root/.venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"

cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

echo "ACS SDK interop dependencies installed:"
echo "  python: $root/.venv/bin/python ($("$root/.venv/bin/python" -m pip show azure-communication-identity | grep '^Version'))"
echo "  node:   $here/node_modules ($(node -p 'require("./node_modules/@azure/communication-identity/package.json").version'))"
