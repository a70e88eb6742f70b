#!/bin/sh
# azd preprovision hook (posix). Runs before every `azd provision` / `azd up`.
#  1. Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
#  2. Makes TOKEN_ENCRYPTION_KEY and ONBOARDING_SIGNING_KEY once per environment (32 random bytes,
#     base64) and stores them with `azd env set`. An existing value is never replaced: a new token
#     key would make every stored connection unreadable (rotate as README.md, "Deploy", says instead).
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

for name in TOKEN_ENCRYPTION_KEY ONBOARDING_SIGNING_KEY; do
  if [ -n "$(azd env get-value "$name" 2>/dev/null || true)" ]; then
    echo "$name: already set, kept."
    continue
  fi
  # A value exported in the shell (say, restored from a backup) wins over a new one.
  value=$(printenv "$name" 2>/dev/null) || value=""
  if [ -z "$value" ]; then
    value=$(openssl rand -base64 32)
  fi
  azd env set "$name" "$value" >/dev/null
  echo "$name: stored in the azd environment."
done
