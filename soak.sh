#!/usr/bin/env bash
# The chaos soak (issue 21, docs/soak.md): the real stack under every fault at once, then the invariants with their figures.
#   ./soak.sh [--minutes N] [--seed S] [--instances 2-5] [--connections N] [--logs DIR]
# Defaults: 3 minutes of faults, seed 21, 3 app instances, 30 connections, logs and report.txt in .run/soak/.
# Exit code 0 when every invariant held, 1 when one failed (the report says what to rerun), 2 for bad arguments.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# No build servers: nothing of the build stays running after the soak.
DOTNET_NOLOGO=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 dotnet build tests/FreshBooksConnect.Soak/FreshBooksConnect.Soak.csproj \
  -c Release -nologo -v q -nodeReuse:false -p:UseSharedCompilation=false >/dev/null || {
  echo "soak.sh: the build failed; run: dotnet build tests/FreshBooksConnect.Soak -c Release" >&2
  exit 1
}

# exec: the harness gets Ctrl-C and SIGTERM itself, and kills everything it started before it exits.
exec dotnet tests/FreshBooksConnect.Soak/bin/Release/net10.0/FreshBooksConnect.Soak.dll "$@"
