#!/usr/bin/env bash
# Runs every test: installs what the tests need (Azurite and MailDev, pinned in package-lock.json), builds,
# and runs the whole suite. The tests start Azurite and MailDev themselves on free ports. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found)." >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js and npm are required for Azurite and MailDev (npm not found)." >&2; exit 1; }

if [ ! -x node_modules/.bin/azurite ] || [ ! -x node_modules/.bin/maildev ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite and MailDev (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test SyncFunctions.slnx --configuration Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line, whatever the runner printed above.
summary=$(grep -E "^(Passed|Failed)!? +- +Failed: +[0-9]+, +Passed: +[0-9]+" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$summary")
  echo "$passed passed, $failed failed, $skipped skipped"
  if [ "$passed" = "0" ] && [ "$status" = "0" ]; then
    echo "No test ran." >&2
    exit 1
  fi
fi
exit "$status"
