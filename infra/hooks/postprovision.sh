#!/bin/sh
# azd postprovision hook (posix). Runs after every provision (`azd provision`, `azd up`), when the
# vault exists.
#  1. Key Vault is the only home of the app's own keys: token-encryption-key (the app's k1),
#     onboarding-signing-key and events-signing-secret (the webhook signing secret). Each is created
#     once, when the vault does not have it, and never written again: a provision from any machine,
#     with or without the old .azure folder, keeps them. A new key is 32 random bytes (openssl; the
#     events secret is whsec_ and their base64, the Standard Webhooks form), written through
#     infra/hooks/app-keys.bicep with a parameters file that only this user can read and that is
#     deleted at exit: never on a command line, never in the azd environment, never printed.
#  2. Environments made by older templates kept the first two keys in the azd environment (.env). Once
#     the vault holds a key its old copy is removed from there; a key the vault lacks is restored from
#     that copy rather than replaced by a new one.
#  3. A new environment's role assignments take minutes to reach storage, and until then the first
#     deploy fails with 403: after creating the token or link key (only a new environment lacks them)
#     this hook waits that out. After creating any key it restarts the app so it resolves its Key Vault
#     references again.
# Needs the Azure CLI signed in (`az login`) to the environment's subscription.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
secret_names="token-encryption-key onboarding-signing-key events-signing-secret"

. "$here/azd-environment.sh"

# The azd environment variable older templates kept a secret's value in; none for a newer secret.
legacy_name_of() {
  case "$1" in
    token-encryption-key) echo TOKEN_ENCRYPTION_KEY ;;
    onboarding-signing-key) echo ONBOARDING_SIGNING_KEY ;;
  esac
}

# The value an older template kept of a secret in the azd environment, or empty.
legacy_value_of() {
  legacy_name=$(legacy_name_of "$1")
  if [ -n "$legacy_name" ]; then
    azd env get-value "$legacy_name" 2>/dev/null || true
  fi
}

# The app-keys.bicep parameter that creates a secret.
parameter_of() {
  case "$1" in
    token-encryption-key) echo tokenEncryptionKey ;;
    onboarding-signing-key) echo onboardingSigningKey ;;
    events-signing-secret) echo eventsSigningSecret ;;
  esac
}

# The form of a new value of a secret, without the value: prefix and base64 of 32 random bytes.
prefix_of() {
  case "$1" in
    events-signing-secret) echo whsec_ ;;
  esac
}

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

vault_id="/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.KeyVault/vaults/$vault"

# Sets $state to present or missing, asking Azure Resource Manager for the secret's metadata only
# (never its value). Any other answer stops the hook: a key is never created on a doubt.
state_of() {
  set +e
  az resource show --ids "$vault_id/secrets/$1" --query name --output tsv >/dev/null 2>"$work/error"
  code=$?
  set -e
  if [ "$code" -eq 0 ]; then
    state=present
  elif [ "$code" -eq 3 ] || grep -q "ResourceNotFound" "$work/error"; then
    state=missing
  else
    echo "ERROR: could not tell whether Key Vault $vault has secret $1 (az exit code $code); nothing was created." >&2
    cat "$work/error" >&2
    exit 1
  fi
}

missing=""
for name in $secret_names; do
  state_of "$name"
  if [ "$state" = present ]; then
    echo "$name: in Key Vault $vault, kept."
  else
    missing="$missing $name"
  fi
done

created=""
if [ -n "$missing" ]; then
  parameters="$work/app-keys.parameters.json"
  {
    printf '{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#","contentVersion":"1.0.0.0","parameters":{'
    printf '"vaultName":{"value":"%s"}' "$vault"
    for name in $missing; do
      legacy=$(legacy_value_of "$name")
      if [ -n "$legacy" ]; then
        key=$legacy
      else
        key=$(prefix_of "$name")$(openssl rand -base64 32)
      fi
      # printf is a shell builtin: the key reaches the file without being any process's argument.
      printf ',"%s":{"value":"%s"}' "$(parameter_of "$name")" "$key"
    done
    printf '}}\n'
  } >"$parameters"
  key=""
  legacy=""

  az deployment group create --subscription "$sub" --resource-group "$rg" --name app-keys \
    --template-file "$here/app-keys.bicep" --parameters "@$parameters" --output none
  rm -f "$parameters"

  for name in $missing; do
    state_of "$name"
    if [ "$state" != present ]; then
      echo "ERROR: Key Vault $vault still lacks $name after creating it." >&2
      exit 1
    fi
    if [ -n "$(legacy_value_of "$name")" ]; then
      echo "$name: restored into Key Vault $vault from the azd environment's old copy."
    else
      prefix=$(prefix_of "$name")
      echo "$name: created in Key Vault $vault (${prefix:+$prefix and }32 random bytes)."
    fi
    created="$created $name"
  done
fi

# The vault holds every key now: an old copy in the azd environment is only a risk (plain text).
for name in $secret_names; do
  if [ -n "$(legacy_value_of "$name")" ]; then
    legacy_name=$(legacy_name_of "$name")
    azd env set "$legacy_name" "" >/dev/null
    echo "$legacy_name: removed from the azd environment; the key lives in Key Vault only."
  fi
done

if [ -n "$created" ]; then
  wait_seconds=${ROLE_PROPAGATION_WAIT_SECONDS:-180}
  # Only the events secret new: an environment from before events, whose roles took effect long ago.
  # Its app already has the new reference and fails to start without the secret: restart it at once.
  case " $created " in
    *" token-encryption-key "* | *" onboarding-signing-key "*) ;;
    *) wait_seconds=0 ;;
  esac
  if [ "$wait_seconds" -gt 0 ]; then
    echo "New keys: waiting ${wait_seconds}s for this environment's new role assignments to take effect before the deploy (ROLE_PROPAGATION_WAIT_SECONDS changes this)."
    sleep "$wait_seconds"
  fi
  # The app may have started before its keys existed; a restart makes it resolve its references again.
  az functionapp restart --subscription "$sub" --resource-group "$rg" --name "$app" --output none
  echo "Function app $app restarted to read its keys."
fi
