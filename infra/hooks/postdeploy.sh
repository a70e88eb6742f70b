#!/bin/sh
# azd postdeploy hook (posix). Runs after every deploy (`azd deploy`, `azd up`) and checks that the
# app really works where FreshBooks will send customers:
#  1. the redirect URI the README tells you to register (FRESHBOOKS_REDIRECT_URI) is on the app's real
#     default host name;
#  2. App Service resolved every Key Vault reference (it leaves the raw @Microsoft.KeyVault(...) text
#     in a setting whose reference failed);
#  3. GET /api/health answers 200 and reports every key setting as set (it names settings, never
#     values).
# A first deploy can meet role assignments that have not reached storage or Key Vault yet, so 2 and 3
# are retried for POSTDEPLOY_TIMEOUT_SECONDS (default 600), and the app is restarted once halfway.
# Needs the Azure CLI signed in (`az login`) and curl.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/azd-environment.sh"

require_outputs AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME FRESHBOOKS_REDIRECT_URI
sub=$(value_of AZURE_SUBSCRIPTION_ID)
rg=$(value_of AZURE_RESOURCE_GROUP)
app=$(value_of AZURE_FUNCTION_APP_NAME)
registered=$(value_of FRESHBOOKS_REDIRECT_URI)
timeout=${POSTDEPLOY_TIMEOUT_SECONDS:-600}
interval=${POSTDEPLOY_RETRY_SECONDS:-15}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

host=$(az functionapp show --subscription "$sub" --resource-group "$rg" --name "$app" --query defaultHostName --output tsv)
actual="https://$host/api/callback"
if [ "$actual" != "$registered" ]; then
  echo "ERROR: the app's real host name is $host, but the redirect URI to register (FRESHBOOKS_REDIRECT_URI, and the app's FreshBooks__RedirectUri) is $registered." >&2
  echo "FreshBooks would send customers to a host that is not this app. The template computes <app>.azurewebsites.net; an app on another host name needs its redirect URI set to $actual." >&2
  exit 1
fi
echo "Redirect URI: $registered matches the app's host name."

references_url="/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.Web/sites/$app/config/configreferences/appsettings?api-version=2024-11-01"

# Sets $failure to what is wrong now, or empty when every check passes.
check() {
  failure=""
  if az rest --method get --url "$references_url" \
      --query "value[?properties.status!='Resolved'].[name, properties.status]" --output tsv >"$work/references" 2>"$work/references.error"; then
    if [ -s "$work/references" ]; then
      failure="Key Vault references not resolved (setting, status): $(tr '\t\n' ' ;' <"$work/references")"
      return
    fi
  else
    echo "(Could not read the Key Vault reference status; /api/health still tells.)" >&2
  fi
  code=$(curl --silent --show-error --max-time 30 --output "$work/health" --write-out '%{http_code}' "https://$host/api/health" 2>"$work/health.error") || code="000"
  if [ "$code" != 200 ]; then
    failure="GET https://$host/api/health answered $code"
    return
  fi
  if grep -q -E '"(missing|unresolved)"' "$work/health"; then
    failure="GET /api/health reports settings that are not set: $(cat "$work/health")"
  fi
}

start=$(date +%s)
restarted=false
while :; do
  check
  if [ -z "$failure" ]; then
    break
  fi
  elapsed=$(($(date +%s) - start))
  if [ "$elapsed" -ge "$timeout" ]; then
    echo "ERROR: after ${elapsed}s: $failure" >&2
    echo "Look at the app's Key Vault references (portal: the function app, Environment variables) and its log stream." >&2
    echo "A new environment's role assignments can take longer than usual: run azd deploy again in a few minutes." >&2
    exit 1
  fi
  if [ "$restarted" = false ] && [ "$elapsed" -ge $((timeout / 2)) ]; then
    echo "Still failing ($failure): restarting $app so it reads its settings and storage again."
    az functionapp restart --subscription "$sub" --resource-group "$rg" --name "$app" --output none
    restarted=true
  else
    echo "Waiting for the app: $failure"
  fi
  sleep "$interval"
done

echo "Key Vault references: resolved."
echo "Health: $(cat "$work/health")"
echo "FreshBooks Connect is up at https://$host"
