#!/bin/sh
# azd preprovision hook (posix). Runs before every `azd provision` / `azd up`.
# Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
# The app's own keys are not made here: they live only in Key Vault, where postprovision.sh creates
# each once (README.md, "Deploy").
set -eu

# The value in the azd environment, or empty. (azd also exports the environment's values to hooks,
# so a value only exported in the shell counts as set, as it does for main.parameters.json.)
value_of() {
  value=$(azd env get-value "$1" 2>/dev/null) || value=""
  if [ -z "$value" ]; then
    value=$(printenv "$1" 2>/dev/null) || value=""
  fi
  printf '%s' "$value"
}

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
