#!/bin/sh
# Rotates the onboarding link signing key in one command (README.md, "Rotate the onboarding link signing key"): writes a
# new version of onboarding-signing-key (32 random bytes) through infra/hooks/app-keys.bicep with a parameters file only
# you can read, deleted at once (never on a command line, in the azd environment or printed), then restarts the app so
# its Key Vault reference reads the new version. The app knows one link key: links made before stop working at once.
# Needs azd and the Azure CLI signed in (`az login`) to the environment's subscription.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
hooks=$(cd "$here/../hooks" && pwd)

. "$hooks/azd-environment.sh"

require_outputs AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_KEY_VAULT_NAME AZURE_FUNCTION_APP_NAME
sub=$(value_of AZURE_SUBSCRIPTION_ID)
rg=$(value_of AZURE_RESOURCE_GROUP)
vault=$(value_of AZURE_KEY_VAULT_NAME)
app=$(value_of AZURE_FUNCTION_APP_NAME)
require_signed_in "$sub"

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

parameters="$work/link-key.parameters.json"
# printf is a shell builtin: the key reaches the file without being any process's argument.
printf '{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#","contentVersion":"1.0.0.0","parameters":{"vaultName":{"value":"%s"},"onboardingSigningKey":{"value":"%s"}}}\n' \
  "$vault" "$(openssl rand -base64 32)" >"$parameters"
az deployment group create --subscription "$sub" --resource-group "$rg" --name "link-key-$(date +%Y%m%d%H%M%S)" \
  --template-file "$hooks/app-keys.bicep" --parameters "@$parameters" --output none
rm -f "$parameters"
echo "onboarding-signing-key: a new version in Key Vault $vault (32 random bytes)."

az functionapp restart --subscription "$sub" --resource-group "$rg" --name "$app" --output none
echo "$app restarted: it signs and accepts links with the new key only."
echo "Links made before now no longer work (Start answers 403 \"This link is not valid\"): ask your backend for new links"
echo "(POST /api/onboarding-links) for customers who have not connected yet. Connections already made are not affected."
