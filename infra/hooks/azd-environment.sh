# Sourced by the hooks and by infra/scripts: reading the azd environment, and the two checks every step
# that talks to Azure makes before it changes anything.

# The value in the azd environment, or else in this process's environment (azd exports the
# environment's values to hooks, so a value only exported in the shell counts as set), or empty.
value_of() {
  value=$(azd env get-value "$1" 2>/dev/null) || value=""
  if [ -z "$value" ]; then
    value=$(printenv "$1" 2>/dev/null) || value=""
  fi
  printf '%s' "$value"
}

# Exits 1 naming the provision's outputs ($@) unless the azd environment has every one of them.
require_outputs() {
  for name in "$@"; do
    if [ -z "$(value_of "$name")" ]; then
      echo "ERROR: the azd environment lacks the provision's outputs ($(echo "$@" | sed 's/ /, /g')); run azd up (or azd provision) first." >&2
      exit 1
    fi
  done
}

# Exits 1 unless the Azure CLI is signed in to subscription $1.
require_signed_in() {
  if ! az account show --subscription "$1" --query id --output tsv >/dev/null 2>&1; then
    echo "ERROR: the Azure CLI is not signed in to subscription $1. Run: az login" >&2
    exit 1
  fi
}
