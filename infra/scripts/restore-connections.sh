#!/bin/sh
# Restores a backup of the connections (backup-connections.sh) into a storage account whose
# connections and renewalindex tables are empty; it refuses any other (a restored row over a newer one
# would bring back a spent refresh token). The app then reads every connection with the vault's keys.
#   restore-connections.sh [--blob <name>|latest] [--from-account <name>] [--to-account <name>]
# Both accounts default to this azd environment's (AZURE_STORAGE_ACCOUNT_NAME); the blob to the latest.
# Signed in as you (az login), with Storage Blob Data Reader on the backup and Storage Table Data
# Contributor on the target. README.md, "Back up and restore the connections".
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
blob=latest
from=""
to=""
while [ $# -gt 0 ]; do
  case "$1" in
    --blob) blob=${2:?--blob needs a name or latest}; shift 2 ;;
    --from-account) from=${2:?--from-account needs a storage account name}; shift 2 ;;
    --to-account) to=${2:?--to-account needs a storage account name}; shift 2 ;;
    *) echo "usage: $0 [--blob <name>|latest] [--from-account <name>] [--to-account <name>]" >&2; exit 2 ;;
  esac
done

account=$(azd env get-value AZURE_STORAGE_ACCOUNT_NAME)
container=$(azd env get-value AZURE_BACKUP_CONTAINER 2>/dev/null) || container=connections-backup
from=${from:-$account}
to=${to:-$account}

dotnet run --project "$root/tools/ConnectionsBackup" -- restore \
  --tables "https://$to.table.core.windows.net/" \
  --blobs "https://$from.blob.core.windows.net/" \
  --container "$container" \
  --blob "$blob"
