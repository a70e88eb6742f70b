#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run from traps and from wait_for are reachable
# Runs FreshBooks Connect on this machine: Azurite (in memory), the FreshBooks emulator and the function app, then
# creates an onboarding link for the tenant "demo" ("Demo Company") and prints it. Ctrl-C stops everything this script started.
#
#   ./run.sh                                  app http://localhost:7071, emulator 127.0.0.1:5100, Azurite 10000-10002
#   APP_PORT=7072 EMULATOR_PORT=5200 ./run.sh  other ports, no settings file edited
#   EVENTS_RECEIVER=yes ./run.sh              also a webhook receiver on 127.0.0.1:7090 that verifies and prints each event
#
# Ports: APP_PORT, EMULATOR_PORT, AZURITE_BLOB_PORT, AZURITE_QUEUE_PORT, AZURITE_TABLE_PORT, EVENTS_RECEIVER_PORT.
# Settings come from local.settings.json (created from local.settings.sample.json with new random keys when missing, never
# overwritten), environment variables win over it, and this script sets the port-dependent ones itself (storage
# connection strings, FreshBooks URLs, the redirect URI) so that changing a port never means editing a file. When
# FreshBooks__AuthUrl points anywhere but this machine, no emulator is started and the app talks to that FreshBooks.
# Logs: .run/ (RUN_LOG_DIR). More in README.md, "Run it locally".
set -euo pipefail

cd "$(dirname "$0")"
readonly ROOT=$PWD

readonly APP_PORT=${APP_PORT:-7071}
readonly EMULATOR_PORT=${EMULATOR_PORT:-5100}
readonly AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-10000}
readonly AZURITE_QUEUE_PORT=${AZURITE_QUEUE_PORT:-10001}
readonly AZURITE_TABLE_PORT=${AZURITE_TABLE_PORT:-10002}
readonly RUN_LOG_DIR=${RUN_LOG_DIR:-$ROOT/.run}
readonly START_TIMEOUT=${START_TIMEOUT:-120}   # seconds a service may take to answer after it was started
readonly STOP_TIMEOUT=${STOP_TIMEOUT:-15}     # seconds the services get to stop before they are killed
# Which Functions host serves the app: "func" (Core Tools), "local" (src/FreshBooksConnect.LocalHost) or "auto"
# (func when it is on PATH).
readonly FUNCTIONS_HOST=${FUNCTIONS_HOST:-auto}
# Whether the emulator plays FreshBooks: "yes", "no" (use FreshBooks__AuthUrl/ApiUrl as configured, e.g. a
# FreshBooks-compatible server of your own on this machine) or "auto" (when FreshBooks__AuthUrl points at this machine).
readonly FRESHBOOKS_EMULATOR=${FRESHBOOKS_EMULATOR:-auto}
# "yes": also start tools/EventReceiver, a webhook receiver that verifies each event's signature and prints it, and point
# the app's Events__WebhookUrl at it. Its port: EVENTS_RECEIVER_PORT; when that is not set and 7090 is taken, any free
# port does (only the app, told here, needs to know it).
readonly EVENTS_RECEIVER=${EVENTS_RECEIVER:-no}
readonly RECEIVER_PORT_GIVEN=${EVENTS_RECEIVER_PORT:+yes}
EVENTS_RECEIVER_PORT=${EVENTS_RECEIVER_PORT:-7090}
# Every process started here inherits this variable, so a leftover can always be traced back to its run
# (grep -l FBC_RUN_ID=<id> /proc/*/environ); the end-to-end tests use it to prove that nothing is left behind.
export FBC_RUN_ID=${FBC_RUN_ID:-run-$$}

readonly TENANT=demo
readonly TENANT_NAME="Demo Company"   # what the link's page calls the tenant
readonly CONFIGURATION=Debug
readonly TARGET_FRAMEWORK=net10.0
readonly SETTINGS_FILE=$ROOT/local.settings.json
readonly BUILD_STAMP=$ROOT/.run/build.stamp   # shared by all runs of this checkout, whatever RUN_LOG_DIR is
readonly RECEIVER_BUILD_STAMP=$ROOT/.run/receiver-build.stamp

# Azurite's well-known development account (public and documented; not a secret).
readonly AZURITE_ACCOUNT=devstoreaccount1
readonly AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

declare -A PIDS=()      # service name -> pid; each service leads its own process group (pgid = pid)
SERVICES=()             # service names, in start order
STOPPING=""

info() { printf '== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

main() {
  check_tools
  create_local_settings
  read_settings
  check_ports
  install_npm_packages
  mkdir -p "$RUN_LOG_DIR"

  trap 'on_signal INT 130' INT
  trap 'on_signal TERM 143' TERM
  trap 'on_signal HUP 129' HUP
  trap stop_all EXIT

  build
  start_azurite
  [[ $USE_EMULATOR == yes ]] && start_emulator
  [[ $USE_RECEIVER == yes ]] && start_receiver
  wait_for azurite "Azurite" azurite_answers
  [[ $USE_EMULATOR == yes ]] && wait_for emulator "the FreshBooks emulator" http_ok "$EMULATOR_URL/_emulator/status"
  [[ $USE_RECEIVER == yes ]] && wait_for receiver "the event receiver" http_ok "$RECEIVER_URL/"
  start_app
  wait_for app "the app" http_ok "$APP_URL/api/health"

  local link
  link=$(create_onboarding_link)
  print_banner "$link"
  follow_app_log
}

check_tools() {
  local tool
  for tool in dotnet node npm curl setsid flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing. This needs the .NET 10 SDK, Node 20 with npm, curl and util-linux (setsid, flock)."
  done
}

# Fails fast, naming the variable to change, instead of letting a service die on a bind error later.
check_ports() {
  local -A seen=()
  local name port
  local names=(APP_PORT AZURITE_BLOB_PORT AZURITE_QUEUE_PORT AZURITE_TABLE_PORT)
  [[ $USE_EMULATOR == yes ]] && names+=(EMULATOR_PORT)
  [[ $USE_RECEIVER == yes ]] && names+=(EVENTS_RECEIVER_PORT)
  for name in "${names[@]}"; do
    port=${!name}
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die "$name=$port is not a port number."; fi
    if [[ $name == EVENTS_RECEIVER_PORT && -z $RECEIVER_PORT_GIVEN ]] && { [[ -n ${seen[$port]:-} ]] || port_in_use 127.0.0.1 "$port"; }; then
      EVENTS_RECEIVER_PORT=$(free_port)
      info "port $port is taken: the event receiver takes port $EVENTS_RECEIVER_PORT (EVENTS_RECEIVER_PORT=<port> picks one)"
      port=$EVENTS_RECEIVER_PORT
    fi
    [[ -z ${seen[$port]:-} ]] || die "$name and ${seen[$port]} are both $port: give each service a port of its own."
    seen[$port]=$name
    # The app listens on localhost, which is both 127.0.0.1 and ::1.
    if port_in_use 127.0.0.1 "$port" || { [[ $name == APP_PORT ]] && port_in_use ::1 "$port"; }; then
      die "port $port ($name) is already in use. Is another ./run.sh or 'func start' running? Stop it, or pick another port: $name=<port> ./run.sh"
    fi
  done
}

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

free_port() {
  node -e 'const server = require("net").createServer();
    server.listen(0, "127.0.0.1", () => { process.stdout.write(String(server.address().port)); server.close(); });'
}

install_npm_packages() {
  if [[ ! -x node_modules/.bin/azurite ]]; then
    info "installing npm packages (Azurite)"
    npm ci --no-audit --no-fund --no-progress --loglevel=error
  fi
}

# A new local.settings.json is the sample with new random keys: the sample's are public, and the app refuses them once its
# redirect URI is not loopback (a tunnel). The keys are made and written inside node, so none is ever an argument (ps shows
# those), a variable here, or printed. The file appears whole or not at all (a link of a finished draft), and a run that
# finds one, even one another run made a moment ago, keeps it.
create_local_settings() {
  [[ -f $SETTINGS_FILE ]] && return 0
  local draft
  draft=$(mktemp "$SETTINGS_FILE.XXXXXX")   # readable by you alone; beside the file, so the link below can be made
  if ! node -e '
    const fs = require("fs");
    const crypto = require("crypto");
    const [sample, draft] = process.argv.slice(1);
    const settings = JSON.parse(fs.readFileSync(sample, "utf8").replace(/^\uFEFF/, ""));
    const base64Key = () => crypto.randomBytes(32).toString("base64");          // token encryption, link signing
    const urlSafeKey = () => crypto.randomBytes(32).toString("base64url");      // sent in a header or ?code=
    const fresh = {
      Onboarding__SigningKey: base64Key,
      Events__SigningSecret: () => "whsec_" + base64Key(),
      LocalHost__FunctionKey: urlSafeKey,
      LocalHost__MasterKey: urlSafeKey,
    };
    for (const name of Object.keys(settings.Values || {})) {
      const make = name.startsWith("TokenProtection__Keys__") ? base64Key : fresh[name];
      if (make) settings.Values[name] = make();
    }
    fs.writeFileSync(draft, JSON.stringify(settings, null, 2) + "\n");
  ' local.settings.sample.json "$draft"; then
    rm -f "$draft"
    die "local.settings.json could not be made from local.settings.sample.json (see above)."
  fi
  if ln "$draft" "$SETTINGS_FILE" 2>/dev/null; then
    info "created local.settings.json from local.settings.sample.json with new random keys (yours to edit; run.sh never overwrites it)"
  fi
  rm -f "$draft"
}

# A setting as the app will see it: the environment variable when set, else local.settings.json's Values.
setting() {
  local name=$1
  if printenv "$name" >/dev/null; then
    printenv "$name"
    return
  fi
  node -e '
    const [file, name] = process.argv.slice(1);
    const text = require("fs").readFileSync(file, "utf8").replace(/^\uFEFF/, "");
    const value = (JSON.parse(text).Values || {})[name];
    process.stdout.write(value == null ? "" : String(value));
  ' "$SETTINGS_FILE" "$name" || die "local.settings.json could not be read as JSON (see above)."
}

is_loopback_url() { [[ $1 =~ ^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?(/|$) ]]; }

# Decides what runs and with which settings; everything port-dependent is derived here.
read_settings() {
  APP_URL=http://localhost:$APP_PORT
  EMULATOR_URL=http://127.0.0.1:$EMULATOR_PORT
  STORAGE="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;"
  STORAGE+="BlobEndpoint=http://127.0.0.1:$AZURITE_BLOB_PORT/$AZURITE_ACCOUNT;"
  STORAGE+="QueueEndpoint=http://127.0.0.1:$AZURITE_QUEUE_PORT/$AZURITE_ACCOUNT;"
  STORAGE+="TableEndpoint=http://127.0.0.1:$AZURITE_TABLE_PORT/$AZURITE_ACCOUNT;"

  # The emulator plays FreshBooks unless the settings point at a FreshBooks elsewhere (the real one, or a tunnel).
  AUTH_URL=$(setting FreshBooks__AuthUrl)
  API_URL=$(setting FreshBooks__ApiUrl)
  case $FRESHBOOKS_EMULATOR in
    auto) if is_loopback_url "$AUTH_URL"; then USE_EMULATOR=yes; else USE_EMULATOR=no; fi ;;
    yes | no) USE_EMULATOR=$FRESHBOOKS_EMULATOR ;;
    *) die "FRESHBOOKS_EMULATOR=$FRESHBOOKS_EMULATOR: use yes, no or auto." ;;
  esac
  if [[ $USE_EMULATOR == yes ]]; then
    AUTH_URL=$EMULATOR_URL/oauth/authorize/
    API_URL=$EMULATOR_URL
  else
    AUTH_URL=${AUTH_URL:-https://auth.freshbooks.com/oauth/authorize/}
    API_URL=${API_URL:-https://api.freshbooks.com}
  fi

  # A localhost redirect URI follows APP_PORT; a public one (an https tunnel to this app) is kept as configured.
  REDIRECT_URI=$(setting FreshBooks__RedirectUri)
  if [[ -z $REDIRECT_URI ]] || is_loopback_url "$REDIRECT_URI"; then
    REDIRECT_URI=$APP_URL/api/callback
  fi

  CLIENT_ID=$(setting FreshBooks__ClientId)
  CLIENT_SECRET=$(setting FreshBooks__ClientSecret)
  [[ -n $CLIENT_ID && -n $CLIENT_SECRET ]] || die "FreshBooks__ClientId and FreshBooks__ClientSecret must be set (local.settings.json or the environment)."

  # The local host takes its function key from this setting; without one, one is made for this run, so the printed curl
  # line works either way.
  FUNCTION_KEY=$(setting LocalHost__FunctionKey)
  [[ -n $FUNCTION_KEY ]] || FUNCTION_KEY=$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')

  case $FUNCTIONS_HOST in
    auto) if command -v func >/dev/null 2>&1; then HOST_KIND=func; else HOST_KIND=local; fi ;;
    func | local) HOST_KIND=$FUNCTIONS_HOST ;;
    *) die "FUNCTIONS_HOST=$FUNCTIONS_HOST: use func, local or auto." ;;
  esac
  if [[ $HOST_KIND == func ]]; then
    APP_PROJECT=src/FreshBooksConnect.Functions/FreshBooksConnect.Functions.csproj
    APP_OUTPUT=src/FreshBooksConnect.Functions/bin/$CONFIGURATION/$TARGET_FRAMEWORK
    APP_OUTPUT_FILE=$APP_OUTPUT/functions.metadata
  else
    APP_PROJECT=src/FreshBooksConnect.LocalHost/FreshBooksConnect.LocalHost.csproj
    APP_OUTPUT=src/FreshBooksConnect.LocalHost/bin/$CONFIGURATION/$TARGET_FRAMEWORK
    APP_OUTPUT_FILE=$APP_OUTPUT/FreshBooksConnect.LocalHost.dll
  fi
  EMULATOR_PROJECT=src/FreshBooks.Emulator/FreshBooks.Emulator.csproj
  EMULATOR_DLL=src/FreshBooks.Emulator/bin/$CONFIGURATION/$TARGET_FRAMEWORK/FreshBooks.Emulator.dll

  case $EVENTS_RECEIVER in
    yes) USE_RECEIVER=yes ;;
    no | '') USE_RECEIVER=no ;;
    *) die "EVENTS_RECEIVER=$EVENTS_RECEIVER: use yes or no." ;;
  esac
  RECEIVER_PROJECT=tools/EventReceiver/EventReceiver.csproj
  RECEIVER_DLL=tools/EventReceiver/bin/$CONFIGURATION/$TARGET_FRAMEWORK/EventReceiver.dll
  if [[ $USE_RECEIVER == yes ]]; then
    # The app signs with this secret and the receiver verifies with it. Held in a variable only: it reaches both through
    # the environment (start_receiver), never an argument, and is never printed.
    EVENTS_SECRET=$(setting Events__SigningSecret)
    if [[ -n $EVENTS_SECRET ]]; then
      EVENTS_SECRET_ORIGIN="Events__SigningSecret from your settings"
    else
      EVENTS_SECRET=$(node -e 'process.stdout.write("whsec_" + require("crypto").randomBytes(32).toString("base64"))')
      EVENTS_SECRET_ORIGIN="a new one made for this run"
    fi
  fi
}

# Builds the app (and the emulator, and the event receiver) once; later runs skip the ~20 s of an up-to-date
# `dotnet build` unless a source changed since the last build. A lock keeps two runs from building at the same time.
build() {
  mkdir -p "$ROOT/.run"
  (
    flock 9
    # The app and the emulator share a stamp; the receiver has its own, so a run without it never leaves it stale.
    local projects=() stamps=() what=()
    if needs_build; then
      projects+=("$APP_PROJECT")
      what+=("$(basename "$APP_PROJECT" .csproj)")
      if [[ $USE_EMULATOR == yes ]]; then
        projects+=("$EMULATOR_PROJECT")
        what+=("the emulator")
      fi
      stamps+=("$BUILD_STAMP")
    fi
    if [[ $USE_RECEIVER == yes ]] && needs_receiver_build; then
      projects+=("$RECEIVER_PROJECT")
      what+=("the event receiver")
      stamps+=("$RECEIVER_BUILD_STAMP")
    fi
    if ((${#projects[@]} == 0)); then
      info "build is up to date"
      exit 0
    fi
    info "building $(join_and "${what[@]}") (log: $RUN_LOG_DIR/build.log)"
    local stamp project
    # Taken before building: an edit made during the build triggers the next one.
    for stamp in "${stamps[@]}"; do touch "$stamp.next"; done
    : >"$RUN_LOG_DIR/build.log"
    for project in "${projects[@]}"; do
      # No build servers or reused MSBuild nodes: they would outlive this script, and it leaves nothing behind.
      if ! DOTNET_NOLOGO=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 dotnet build "$project" -c "$CONFIGURATION" -nologo -tl:off \
        -nodeReuse:false -p:UseSharedCompilation=false -p:UseRazorBuildServer=false </dev/null >>"$RUN_LOG_DIR/build.log" 2>&1; then
        grep -E ': error [A-Z]+[0-9]+' "$RUN_LOG_DIR/build.log" | sort -u >&2 || tail -n 30 "$RUN_LOG_DIR/build.log" >&2
        die "the build of $project failed (errors above; whole log: $RUN_LOG_DIR/build.log)."
      fi
    done
    for stamp in "${stamps[@]}"; do mv "$stamp.next" "$stamp"; done
  ) 9>"$ROOT/.run/build.lock"
}

# Usage: join_and A [B ...]; prints "A", "A and B", "A, B and C".
join_and() {
  local out=$1
  shift
  while (($# > 1)); do
    out+=", $1"
    shift
  done
  if (($# == 1)); then out+=" and $1"; fi
  echo "$out"
}

needs_build() {
  [[ -f $BUILD_STAMP && -f $APP_OUTPUT_FILE ]] || return 0
  [[ $USE_EMULATOR == no || -f $EMULATOR_DLL ]] || return 0
  # The sample is embedded in the app and the local host (to recognise its keys).
  local inputs=(src Directory.Build.props Directory.Packages.props host.json local.settings.sample.json)
  # Core Tools read the copy of local.settings.json the build puts next to the app.
  [[ $HOST_KIND == func ]] && inputs+=(local.settings.json)
  # Files only: a project directory's own time changes when its first build creates bin/ and obj/ in it.
  [[ -n $(find "${inputs[@]}" \( -name bin -o -name obj \) -prune -o -type f -newer "$BUILD_STAMP" -print -quit) ]]
}

needs_receiver_build() {
  [[ -f $RECEIVER_BUILD_STAMP && -f $RECEIVER_DLL ]] || return 0
  local inputs=(tools/EventReceiver Directory.Build.props Directory.Packages.props)
  [[ -n $(find "${inputs[@]}" \( -name bin -o -name obj \) -prune -o -type f -newer "$RECEIVER_BUILD_STAMP" -print -quit) ]]
}

# Starts a service in a new session, so it leads a process group of its own: stop_all signals the whole group (a
# service's own child processes too), and a Ctrl-C in the terminal reaches only this script, which then stops the
# services in order. Usage: start_service NAME DIRECTORY [VAR=value ...] COMMAND [ARGS ...]
start_service() {
  local name=$1 directory=$2
  shift 2
  setsid env -C "$directory" "$@" </dev/null >"$RUN_LOG_DIR/$name.log" 2>&1 &
  PIDS[$name]=$!
  SERVICES+=("$name")
}

start_azurite() {
  info "starting Azurite (in memory) on ports $AZURITE_BLOB_PORT, $AZURITE_QUEUE_PORT, $AZURITE_TABLE_PORT (blob, queue, table)"
  # In memory: Azurite refuses --location with --inMemoryPersistence, so its working directory catches anything
  # it might still write. Without telemetry: its flush on SIGTERM holds the process for seconds (offline: longer).
  mkdir -p "$RUN_LOG_DIR/azurite"
  start_service azurite "$RUN_LOG_DIR/azurite" "$ROOT/node_modules/.bin/azurite" \
    --inMemoryPersistence --silent --skipApiVersionCheck --loose --disableTelemetry \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_BLOB_PORT" \
    --queueHost 127.0.0.1 --queuePort "$AZURITE_QUEUE_PORT" \
    --tableHost 127.0.0.1 --tablePort "$AZURITE_TABLE_PORT"
}

azurite_answers() {
  port_in_use 127.0.0.1 "$AZURITE_BLOB_PORT" && port_in_use 127.0.0.1 "$AZURITE_QUEUE_PORT" && port_in_use 127.0.0.1 "$AZURITE_TABLE_PORT"
}

start_emulator() {
  info "starting the FreshBooks emulator on $EMULATOR_URL"
  # The built dll, not `dotnet run`: the pid is the emulator itself, so a signal reaches it.
  start_service emulator "$ROOT" \
    "Emulator__ClientId=$CLIENT_ID" "Emulator__ClientSecret=$CLIENT_SECRET" "Emulator__RedirectUris__0=$REDIRECT_URI" \
    dotnet "$ROOT/$EMULATOR_DLL" --urls "$EMULATOR_URL"
}

start_receiver() {
  RECEIVER_URL=http://127.0.0.1:$EVENTS_RECEIVER_PORT
  info "starting the event receiver on $RECEIVER_URL (signing secret: $EVENTS_SECRET_ORIGIN)"
  # Exported, not passed like the other settings: start_service hands VAR=value to env as arguments, which anyone on this
  # machine can read. The app, started after this, inherits it the same way.
  export Events__SigningSecret=$EVENTS_SECRET
  start_service receiver "$ROOT" dotnet "$ROOT/$RECEIVER_DLL" --urls "$RECEIVER_URL"
}

start_app() {
  local settings=(
    "Storage=$STORAGE"
    "AzureWebJobsStorage=$STORAGE"
    "FreshBooks__RedirectUri=$REDIRECT_URI"
  )
  # Exported, not among the settings above: start_service hands those to env as arguments, which anyone on this machine can read.
  export LocalHost__FunctionKey=$FUNCTION_KEY
  [[ $USE_EMULATOR == yes ]] && settings+=("FreshBooks__AuthUrl=$AUTH_URL" "FreshBooks__ApiUrl=$API_URL")
  [[ $USE_RECEIVER == yes ]] && settings+=("Events__WebhookUrl=$RECEIVER_URL/events")
  if [[ $HOST_KIND == func ]]; then
    info "starting the app with Core Tools (func start) on $APP_URL"
    # From the build output: it holds host.json, functions.metadata and worker.config.json, and no project for
    # Core Tools to build again.
    start_service app "$ROOT/$APP_OUTPUT" "${settings[@]}" func start --port "$APP_PORT"
  else
    info "starting the app in the local Functions host on $APP_URL"
    # The local host reads local.settings.json from the repository root (the working directory); the environment wins.
    start_service app "$ROOT" "${settings[@]}" dotnet "$ROOT/$APP_OUTPUT_FILE" --urls "$APP_URL"
  fi
}

# Usage: wait_for SERVICE DESCRIPTION CHECK [ARGS ...]; gives up when the service exits or START_TIMEOUT passes.
wait_for() {
  local name=$1 description=$2
  shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      show_log "$name"
      die "$description exited while starting (its log: $RUN_LOG_DIR/$name.log)."
    fi
    if ((SECONDS >= deadline)); then
      show_log "$name"
      die "$description did not answer within ${START_TIMEOUT}s (its log: $RUN_LOG_DIR/$name.log)."
    fi
    sleep 0.25
  done
}

http_ok() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") == 200 ]]; }

show_log() { printf -- '-- last lines of %s:\n' "$RUN_LOG_DIR/$1.log" >&2; tail -n 25 "$RUN_LOG_DIR/$1.log" >&2 || true; }

# POST /api/onboarding-links as the SaaS backend would, and print the link's url.
create_onboarding_link() {
  local answer status
  answer=$(curl -s --max-time 15 -w '\n%{http_code}' -H "x-functions-key: $FUNCTION_KEY" -H 'Content-Type: application/json' \
    -d "{\"tenantId\":\"$TENANT\",\"tenantName\":\"$TENANT_NAME\"}" "$APP_URL/api/onboarding-links") || die "POST $APP_URL/api/onboarding-links failed."
  status=${answer##*$'\n'}
  [[ $status == 200 ]] || die "POST $APP_URL/api/onboarding-links answered $status: ${answer%$'\n'*}"
  node -e 'process.stdout.write(JSON.parse(process.argv[1]).url)' "${answer%$'\n'*}"
}

print_banner() {
  local link=$1 logs=$RUN_LOG_DIR account='<accountId>'
  [[ $logs == "$ROOT"/* ]] && logs=${logs#"$ROOT"/}
  # The emulator's default user has account AEL001; at the real FreshBooks the token answer names the account ids.
  [[ $USE_EMULATOR == yes ]] && account=AEL001
  cat <<EOF

FreshBooks Connect is running ($([[ $HOST_KIND == func ]] && echo "Core Tools" || echo "local Functions host"), FreshBooks: $([[ $USE_EMULATOR == yes ]] && echo "the emulator" || echo "$AUTH_URL")).

  1. Open the onboarding link of tenant "$TENANT" in a browser:

       $link

     It shows a page naming the product and the tenant ("$TENANT_NAME"); its button Continue to FreshBooks sends you to
     FreshBooks' consent page ($AUTH_URL). Click Allow: you land on the app's page saying which business was connected.
EOF
  if ! is_loopback_url "$REDIRECT_URI"; then
    echo "     The link and FreshBooks' redirect go through ${REDIRECT_URI%/api/callback}: keep its tunnel to $APP_URL open."
  fi
  cat <<EOF

  2. Call FreshBooks through the app, which adds the connection's token (the token never leaves the app):

       curl -H "x-functions-key: $FUNCTION_KEY" $APP_URL/api/connections/t-$TENANT/freshbooks/accounting/account/$account/users/clients

  3. Or get the access token, as a SaaS backend that calls FreshBooks itself does:

       curl -H "x-functions-key: $FUNCTION_KEY" $APP_URL/api/connections/t-$TENANT/token

EOF
  if [[ $USE_EMULATOR == yes ]]; then
    cat <<EOF
     and call the (emulated) FreshBooks API with it:

       curl -H "Authorization: Bearer <accessToken>" $API_URL/accounting/account/AEL001/users/clients

EOF
  fi
  if [[ $USE_RECEIVER == yes ]]; then
    cat <<EOF
  Events: the app POSTs each connection event to the event receiver ($RECEIVER_URL/events), which checks its
  signature ($EVENTS_SECRET_ORIGIN) and prints one line per event to $logs/receiver.log, also shown below:
  time, type, connection, webhook-id, "verified" (or "signature did not verify").

EOF
  fi
  cat <<EOF
  Logs: $logs/app.log, $logs/azurite.log$([[ $USE_EMULATOR == yes ]] && echo ", $logs/emulator.log")$([[ $USE_RECEIVER == yes ]] && echo ", $logs/receiver.log"). The app's log follows$([[ $USE_RECEIVER == yes ]] && echo ", with the receiver's").
  Ctrl-C stops everything.

EOF
}

# Shows the app's log until Ctrl-C, or until a service stops on its own (then everything stops).
follow_app_log() {
  local logs=("$RUN_LOG_DIR/app.log")
  [[ $USE_RECEIVER == yes ]] && logs+=("$RUN_LOG_DIR/receiver.log")
  tail -q -n 0 -F "${logs[@]}" &
  local pids=() name status=0
  for name in "${SERVICES[@]}"; do pids+=("${PIDS[$name]}"); done
  wait -n "${pids[@]}" || status=$?
  for name in "${SERVICES[@]}"; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      show_log "$name"
      die "$name stopped on its own (exit code $status); stopping the rest."
    fi
  done
  die "a service stopped on its own; stopping the rest."
}

on_signal() {
  printf '\n'
  info "stopping (SIG$1)"
  stop_all
  exit "$2"
}

# Stops everything started in the background: each service's process group gets SIGTERM, then SIGKILL after
# STOP_TIMEOUT; the log follower gets SIGTERM. Runs once, on Ctrl-C, SIGTERM, SIGHUP or any exit. The shell's own job
# list says what to stop, not PIDS: a signal can arrive between starting a process and recording its pid.
stop_all() {
  [[ -z $STOPPING ]] || return 0
  STOPPING=yes
  trap '' INT TERM HUP   # a second Ctrl-C must not cut the clean-up short
  local pids pid
  pids=$(jobs -p)
  [[ -n $pids ]] || return 0
  for pid in $pids; do signal TERM "$pid" || true; done
  local deadline=$((SECONDS + STOP_TIMEOUT))
  for pid in $pids; do
    while signal 0 "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if signal 0 "$pid"; then
      info "$(service_name "$pid") did not stop within ${STOP_TIMEOUT}s: killing it"
      signal KILL "$pid" || true
    fi
  done
  wait 2>/dev/null || true
  info "stopped"
}

# Sends a signal to the process group a service leads, or to the process alone when it leads none (the log follower).
signal() { kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null; }

service_name() {
  local name
  for name in "${SERVICES[@]}"; do [[ ${PIDS[$name]} == "$1" ]] && { echo "$name"; return; }; done
  echo "process $1"
}

main "$@"
