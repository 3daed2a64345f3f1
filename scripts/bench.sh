#!/usr/bin/env bash
# Benchmarks and fault scenarios (issue 11): ./scripts/bench.sh [all|service|peer|faults].
# Starts its own Azurite (from node_modules, free ports) and, for the Hangfire peer, a throwaway PostgreSQL
# (Debian's package, installed when missing). Prints a table and writes JSON under artifacts/bench/.
# peer: SyncFunctions beside the textbook Durable Functions sync (benchmarks/SyncFunctions.TextbookPeer, issue 17)
# and beside Hangfire. Not part of ./scripts/test.sh or .ci/run: it measures, it does not gate. BENCH_QUICK=1 shrinks it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

# The fault and memory scenarios run the app as real processes: the local host (the Function App's own
# functions on the real Durable extension) from its Release build output.
dotnet build SyncFunctions.LocalHost/SyncFunctions.LocalHost.csproj -c Release --nologo -v quiet
dotnet build benchmarks/SyncFunctions.Benchmarks -c Release --nologo -v quiet
exec dotnet benchmarks/SyncFunctions.Benchmarks/bin/Release/net10.0/SyncFunctions.Benchmarks.dll "${1:-all}"
