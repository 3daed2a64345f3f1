#!/usr/bin/env bash
# Runs every test: installs what the tests need (Azurite, MailDev, and the SignalR and eventsource clients
# the client tests run with node, pinned in package-lock.json; Chromium from Debian's packages; the Bicep CLI from NuGet), builds, and runs the
# whole suite. The tests start Azurite and MailDev themselves on free ports. Exits non-zero when any
# test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found)." >&2; exit 1; }
command -v npm >/dev/null && command -v node >/dev/null || { echo "Node.js and npm are required for Azurite, MailDev and the client tests (node or npm not found)." >&2; exit 1; }

if [ ! -x node_modules/.bin/azurite ] || [ ! -x node_modules/.bin/maildev ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite, MailDev and the npm clients (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "Installing Chromium (Debian's chromium package) for the dashboard's browser tests..."
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The Azure infrastructure: compile infra/main.bicep and lint it with the real Bicep CLI (restored from
# NuGet by infra/tools/BicepCli.csproj). Any warning fails the run, like an error.
echo "Building and linting infra/main.bicep..."
dotnet restore infra/tools/BicepCli.csproj --verbosity quiet
bicep=$(dotnet msbuild infra/tools/BicepCli.csproj -getProperty:BicepCliPath)
[ -x "$bicep" ] || chmod +x "$bicep"
mkdir -p artifacts/infra
set +e
"$bicep" build infra/main.bicep --no-restore --outfile artifacts/infra/main.json >"$log" 2>&1
build_status=$?
"$bicep" lint infra/main.bicep --no-restore >>"$log" 2>&1
lint_status=$?
set -e
cat "$log"
if [ "$build_status" != "0" ] || [ "$lint_status" != "0" ] || grep -qE ': (Warning|Error) ' "$log"; then
  echo "infra/main.bicep: the Bicep build or lint reported a problem (warnings count as errors)." >&2
  exit 1
fi
echo "infra/main.bicep: built to artifacts/infra/main.json, lint clean."

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
