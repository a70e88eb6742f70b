# Sourced by preprovision.sh and scripts/rotate-token-key.sh: which token encryption keys the vault
# holds. Key Vault is the only record of them, so a provision from any machine (with or without the
# .azure folder) gives the app every key a row may still use.

# Prints the ids of the vault's enabled token keys, oldest first, space-separated: k1 is secret
# token-encryption-key, kN is token-encryption-key-kN. Asks Azure Resource Manager for the secrets'
# metadata only (names and attributes, never a value). Fails when it can't tell.
token_key_ids() {
  names=$(az rest --method get \
    --url "https://management.azure.com/subscriptions/$1/resourceGroups/$2/providers/Microsoft.KeyVault/vaults/$3/secrets?api-version=2024-11-01" \
    --query "value[?properties.attributes.enabled].name" --output tsv) || return 1
  for name in $names; do
    case "$name" in
      token-encryption-key) echo 1 ;;
      token-encryption-key-k*)
        number=${name#token-encryption-key-k}
        case "$number" in '' | *[!0-9]*) ;; *) echo "$number" ;; esac ;;
    esac
  done | sort -n | sed 's/^/k/' | tr '\n' ' ' | sed 's/ $//'
}

# The key that encrypts: the newest id of $1 that is not $2 (a key the rotation script has added but
# not made current yet).
current_token_key() {
  current=""
  for id in $1; do
    if [ "$id" != "$2" ]; then
      current=$id
    fi
  done
  printf '%s' "$current"
}
