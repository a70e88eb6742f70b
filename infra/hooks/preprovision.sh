#!/bin/sh
# azd preprovision hook (posix). Runs before every `azd provision` / `azd up`.
#  1. Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
#  2. For an environment whose Key Vault exists already, pins KEY_VAULT_RETENTION_DAYS to the vault's
#     own soft-delete retention: a vault keeps the retention it was created with (older templates
#     made it 7 days), and provisioning another value would fail. azd (>= 1.21.0) reads the value
#     this sets in the same run.
#  3. For an environment whose Key Vault exists, sets TOKEN_KEY_IDS and TOKEN_CURRENT_KEY_ID from the
#     token keys the vault holds (ids only; token-keys.sh), so the template gives the app every key.
# The app's own keys are not made here: they live only in Key Vault, where postprovision.sh creates
# each once (README.md, "Deploy").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# value_of: a value only exported in the shell counts as set, as it does for main.parameters.json.
. "$here/azd-environment.sh"

missing=""
for name in FRESHBOOKS_CLIENT_ID FRESHBOOKS_CLIENT_SECRET; do
  if [ -z "$(value_of "$name")" ]; then
    missing="$missing $name"
  fi
done
if [ -n "$missing" ]; then
  echo "ERROR: not set in the azd environment:$missing" >&2
  echo "Copy them from your app in the FreshBooks developer portal, then run:" >&2
  for name in $missing; do
    echo "  azd env set $name <value>" >&2
  done
  exit 1
fi
echo "FreshBooks app credentials: set."

vault=$(value_of AZURE_KEY_VAULT_NAME)
if [ -n "$vault" ] && [ -z "$(value_of KEY_VAULT_RETENTION_DAYS)" ]; then
  sub=$(value_of AZURE_SUBSCRIPTION_ID)
  days=$(az keyvault show --name "$vault" ${sub:+--subscription "$sub"} --query properties.softDeleteRetentionInDays --output tsv 2>/dev/null) || days=""
  case "$days" in
    '' | *[!0-9]*) ;;
    *)
      azd env set KEY_VAULT_RETENTION_DAYS "$days" >/dev/null
      echo "Key Vault $vault: keeps its ${days}-day soft-delete retention (fixed when a vault is created); KEY_VAULT_RETENTION_DAYS=$days."
      ;;
  esac
fi

# The token keys: every key in the vault is one TokenProtection__Keys__<id> setting (README.md,
# "Rotate the token encryption key"). Only ids go to the azd environment, never a key.
rg=$(value_of AZURE_RESOURCE_GROUP)
sub=$(value_of AZURE_SUBSCRIPTION_ID)
if [ -n "$vault" ] && [ -n "$rg" ] && [ -n "$sub" ]; then
  . "$here/token-keys.sh"
  if ! ids=$(token_key_ids "$sub" "$rg" "$vault" 2>/dev/null); then
    if az keyvault show --name "$vault" --subscription "$sub" --query name --output tsv >/dev/null 2>&1; then
      echo "ERROR: could not list the token keys of Key Vault $vault (az rest failed); a provision without them could leave connections unreadable. Check az login." >&2
      exit 1
    fi
    ids=""
  fi
  if [ -n "$ids" ]; then
    pending=$(value_of TOKEN_KEY_PENDING)
    current=$(current_token_key "$ids" "$pending")
    azd env set TOKEN_KEY_IDS "$(printf '%s' "$ids" | tr ' ' ',')" >/dev/null
    azd env set TOKEN_CURRENT_KEY_ID "$current" >/dev/null
    echo "Token keys in Key Vault $vault: $ids; current $current${pending:+ ($pending added, not current yet)}."
  fi
fi
