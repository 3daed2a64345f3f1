#!/usr/bin/env bash
# Runs the service locally: Azurite on its default ports with its data under .data/azurite (git-ignored),
# MailDev (SMTP 1025, web and REST API on http://localhost:1080) to catch the sync summaries, then the
# Function App in SyncFunctions.LocalHost (the real Durable Functions extension, published to
# artifacts/localhost) on http://localhost:5080 with a 'demo' tenant whose 'demo' connector is configured.
# Ctrl-C stops all three: the local host first (so that the Durable extension can release its leases
# while storage is still up), then Azurite and MailDev.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found)." >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js and npm are required for Azurite and MailDev (npm not found)." >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 5080 10000 10001 10002 1025 1080; do
  if port_busy "$port"; then
    echo "Port $port is in use; stop whatever listens there (another run, another Azurite or MailDev) and try again." >&2
    exit 1
  fi
done

if [ ! -x node_modules/.bin/azurite ] || [ ! -x node_modules/.bin/maildev ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite and MailDev (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "Building..."
dotnet publish SyncFunctions.LocalHost/SyncFunctions.LocalHost.csproj --configuration Release --nologo --verbosity quiet --output artifacts/localhost

mkdir -p .data/azurite .data/maildev .data/folders/sample
[ -f .data/folders/sample/README.md ] || cp README.md .data/folders/sample/README.md

# Each service runs in a process group of its own (set -m while it starts): Ctrl-C in the terminal
# then reaches only this script, whose cleanup stops them in order instead of all at once.
pids=()
host_pid=
in_own_group() { set -m; "$@" & set +m; pids+=($!); }
stop_within() { # seconds pid name: SIGTERM, then SIGKILL if it has not exited in time
  kill "$2" 2>/dev/null || return 0
  for _ in $(seq 1 $(($1 * 10))); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
  echo "$3 did not stop within $1 s; killing it." >&2
  kill -9 "$2" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  # The host stops within about 12 s (LocalFunctionsHost.ShutdownTimeout and DisposeTimeout), about a
  # second while Azurite is still up.
  [ -z "$host_pid" ] || stop_within 20 "$host_pid" "The local host"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Stopped."
}
trap cleanup EXIT INT TERM

in_own_group node_modules/.bin/azurite --location .data/azurite --skipApiVersionCheck --loose --silent --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1
for port in 10000 10001 10002; do
  for _ in $(seq 1 100); do port_busy "$port" && break; sleep 0.1; done
done
echo "Azurite is up (data in .data/azurite)."

in_own_group node_modules/.bin/maildev --smtp 1025 --ip 127.0.0.1 --web 1080 --web-ip 127.0.0.1 --mail-directory .data/maildev --silent
for port in 1025 1080; do
  for _ in $(seq 1 100); do port_busy "$port" && break; sleep 0.1; done
done
echo "MailDev is up: sync summaries appear at http://localhost:1080."

export ASPNETCORE_ENVIRONMENT=Development
export SYNC_DEMO_TENANT="${SYNC_DEMO_TENANT:-demo}"
export FOLDER_CONNECTOR_ROOT="${FOLDER_CONNECTOR_ROOT:-$root/.data/folders}"
export SYNC_LOCAL_SETTINGS_FILE="$root/local.settings.json"
# E-mail goes to MailDev (plain SMTP: it offers no STARTTLS) unless ACS is configured instead.
if [ -z "${ACS_EMAIL_ENDPOINT:-}" ]; then
  export SMTP_HOST="${SMTP_HOST:-127.0.0.1}" SMTP_PORT="${SMTP_PORT:-1025}"
  export SMTP_FROM_EMAIL="${SMTP_FROM_EMAIL:-syncfunctions@localhost.localdomain}" SMTP_FROM_NAME="${SMTP_FROM_NAME:-SyncFunctions (local)}"
fi
in_own_group dotnet artifacts/localhost/SyncFunctions.LocalHost.dll --urls http://localhost:5080
host_pid=$!

for _ in $(seq 1 200); do port_busy 5080 && break; sleep 0.1; done
cat <<MSG

SyncFunctions is running: open the dashboard at http://localhost:5080/ (tenant 'demo', connector 'demo');
each sync's summary e-mail shows up in MailDev at http://localhost:1080. Or try the API:
  TOKEN=\$(curl -s -X POST localhost:5080/api/dev/token -H 'content-type: application/json' -d '{"tenant_id":"demo","email":"you@example.com"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  curl -s -X POST localhost:5080/api/v1/sync -H "authorization: Bearer \$TOKEN"
  curl -s localhost:5080/api/v1/sync/status -H "authorization: Bearer \$TOKEN"
Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
