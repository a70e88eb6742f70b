#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what it needs (Chromium, npm packages), restores, builds, tests.
# Every test starts the services it needs itself (Azurite, the FreshBooks emulator, the app) on free ports.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Chromium (browser tests)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

echo "== npm packages (Azurite; the official FreshBooks Node SDK, run against the emulator by FreshBooks.Emulator.Tests)"
npm ci --no-audit --no-fund --loglevel=error

echo "== restore and build"
dotnet restore FreshBooksFunctions.sln --verbosity quiet
dotnet build FreshBooksFunctions.sln --no-restore --verbosity quiet -nologo

echo "== tests"
results=$(mktemp -d)
status=0
# The soak test (three app processes, minutes of faults) runs on its own after the rest, so it neither starves nor is starved
# by the other projects on a 2-core machine; its hang limit covers its start, faults and settle phase.
dotnet test FreshBooksFunctions.sln --no-build --verbosity quiet -nologo --filter "FullyQualifiedName!~FreshBooksConnect.Soak.Tests" \
  --logger "trx" --results-directory "$results" --blame-hang-timeout 5m || status=$?
dotnet test tests/FreshBooksConnect.Soak.Tests --no-build --verbosity quiet -nologo \
  --logger "trx" --results-directory "$results" --blame-hang-timeout 12m || status=$?

# Each failed test with its message (the quiet console above names it only), then one closing line over all test
# projects, from their result files.
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    root = ET.parse(path).getroot()
    for result in root.findall(".//{*}UnitTestResult"):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            message = result.findtext(".//{*}ErrorInfo/{*}Message") or ""
            stack = (result.findtext(".//{*}ErrorInfo/{*}StackTrace") or "").strip().splitlines()[:5]
            print(f"\n-- {result.get('outcome').upper()}: {result.get('testName')}\n{message.strip()}")
            print("\n".join(stack))
    counters = root.find(".//{*}Counters")
    passed += int(counters.get("passed", 0))
    failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0))
    skipped += int(counters.get("total", 0)) - int(counters.get("executed", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
rm -rf "$results"
exit $status
