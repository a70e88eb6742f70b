#!/bin/sh
# Rotates the token encryption key in one command (README.md, "Rotate the token encryption key"):
#  1. adds a new key kN (32 random bytes) to Key Vault as token-encryption-key-kN, through
#     infra/hooks/app-keys.bicep with a parameters file only you can read, deleted at once: never on a
#     command line, never in the azd environment, never printed;
#  2. provisions with kN known but not current (TOKEN_KEY_PENDING), so every instance can read rows
#     under kN before any instance writes one; then provisions again with kN current;
#  3. runs re-encryption passes (POST /api/keys/reencrypt, master key sent on curl's stdin) and waits
#     until GET /api/keys shows that no older key protects a connection, then says they may be retired.
# `rotate-token-key.sh --wait` does step 3 only (after a time-out, say). A run stopped after step 1 is
# finished by running the script again (TOKEN_KEY_PENDING says which key it added).
# ROTATION_POLL_SECONDS (default 60) and ROTATION_TIMEOUT_SECONDS (default 3600) pace step 3.
# Needs azd and the Azure CLI signed in (`az login`) to the environment's subscription.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
hooks=$(cd "$here/../hooks" && pwd)
. "$hooks/azd-environment.sh"
. "$hooks/token-keys.sh"

wait_only=false
case "${1:-}" in
  --wait) wait_only=true ;;
  '') ;;
  *) echo "usage: $0 [--wait]" >&2; exit 2 ;;
esac

require_outputs AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_KEY_VAULT_NAME AZURE_FUNCTION_APP_NAME SERVICE_API_URI
sub=$(value_of AZURE_SUBSCRIPTION_ID)
rg=$(value_of AZURE_RESOURCE_GROUP)
vault=$(value_of AZURE_KEY_VAULT_NAME)
app=$(value_of AZURE_FUNCTION_APP_NAME)
uri=$(value_of SERVICE_API_URI)
require_signed_in "$sub"

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if ! ids=$(token_key_ids "$sub" "$rg" "$vault"); then
  echo "ERROR: could not list the token keys of Key Vault $vault; nothing was changed." >&2
  exit 1
fi
if [ -z "$ids" ]; then
  echo "ERROR: Key Vault $vault holds no token key yet: run azd up first." >&2
  exit 1
fi

if [ "$wait_only" = false ]; then
  new=$(value_of TOKEN_KEY_PENDING)
  if [ -z "$new" ]; then
    newest=$(current_token_key "$ids" "")
    new="k$(( ${newest#k} + 1 ))"
    parameters="$work/token-key.parameters.json"
    # printf is a shell builtin: the key reaches the file without being any process's argument.
    printf '{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#","contentVersion":"1.0.0.0","parameters":{"vaultName":{"value":"%s"},"newTokenKeyId":{"value":"%s"},"newTokenKey":{"value":"%s"}}}\n' \
      "$vault" "$new" "$(openssl rand -base64 32)" >"$parameters"
    az deployment group create --subscription "$sub" --resource-group "$rg" --name "token-key-$new" \
      --template-file "$hooks/app-keys.bicep" --parameters "@$parameters" --output none
    rm -f "$parameters"
    azd env set TOKEN_KEY_PENDING "$new" >/dev/null
    echo "token-encryption-key-$new: created in Key Vault $vault (32 random bytes)."
    echo "Provisioning with $new known but not current, so every instance can read it before any writes with it."
    azd provision --no-prompt
  else
    echo "Resuming the rotation to $new (TOKEN_KEY_PENDING)."
  fi

  azd env set TOKEN_KEY_PENDING "" >/dev/null
  echo "Provisioning with $new current."
  azd provision --no-prompt
fi

master=$(az functionapp keys list --subscription "$sub" --resource-group "$rg" --name "$app" --query masterKey --output tsv)

# The master key reaches curl on its standard input (a config line), never as an argument.
call() {
  printf 'header = "x-functions-key: %s"\n' "$master" |
    curl --silent --show-error --max-time 300 --config - --output "$work/answer" --write-out '%{http_code}' "$@"
}

poll=${ROTATION_POLL_SECONDS:-60}
timeout=${ROTATION_TIMEOUT_SECONDS:-3600}
started=$(date +%s)
while :; do
  call --request POST "$uri/api/keys/reencrypt" >/dev/null || true
  code=$(call "$uri/api/keys") || code=000
  if [ "$code" = 200 ]; then
    current=$(sed -n 's/.*"currentKeyId":"\([^"]*\)".*/\1/p' "$work/answer")
    # Every key but the current one, with the connections it still protects: "k1 3".
    left=$(grep -o '"id":"[^"]*","current":false,"configured":[a-z]*,"connections":[0-9]*' "$work/answer" |
      sed 's/"id":"\([^"]*\)".*"connections":\([0-9]*\)/\1 \2/' || true)
    remaining=$(printf '%s\n' "$left" | awk '{ n += $2 } END { print n + 0 }')
    unreadable=$(sed -n 's/.*"unreadable":\([0-9]*\).*/\1/p' "$work/answer")
    if [ "$remaining" -eq 0 ]; then
      echo "Every connection is under $current now."
      retired=$(printf '%s\n' "$left" | awk 'NF { print $1 }' | tr '\n' ' ' | sed 's/ $//')
      if [ -n "$retired" ]; then
        echo "$retired protect no connection and may be retired: disable each secret (token-encryption-key for k1, token-encryption-key-<id> for the others), e.g."
        echo "  az keyvault secret set-attributes --vault-name $vault --name <secret> --enabled false"
        echo "then run azd provision, which drops it from the app's settings."
      fi
      if [ "${unreadable:-0}" -gt 0 ]; then
        echo "WARNING: $unreadable connection(s) are under no key the app has (unreadable): don't retire anything before you know why (README.md)."
      fi
      exit 0
    fi
    echo "$remaining connection(s) still under an older key ($(printf '%s' "$left" | tr '\n' ';')); next pass in ${poll}s."
  else
    echo "GET /api/keys answered $code; trying again in ${poll}s."
  fi
  if [ $(( $(date +%s) - started )) -ge "$timeout" ]; then
    echo "ERROR: older keys still protect connections after ${timeout}s (a row leased for long, or storage unavailable). Run again: $0 --wait" >&2
    exit 1
  fi
  sleep "$poll"
done
