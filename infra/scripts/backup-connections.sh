#!/bin/sh
# Backs up this azd environment's connections: every row of the connections and renewalindex tables,
# as stored (tokens stay encrypted under the vault's keys), to a new blob in the storage account's
# versioned, soft-deleted container (AZURE_BACKUP_CONTAINER). Signed in as you (az login), with
# Storage Table Data Reader and Storage Blob Data Contributor (DEPLOYER_DATA_ACCESS=true gives both).
# Prints the blob's name. README.md, "Back up and restore the connections".
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
account=$(azd env get-value AZURE_STORAGE_ACCOUNT_NAME)
container=$(azd env get-value AZURE_BACKUP_CONTAINER 2>/dev/null) || container=connections-backup

dotnet run --project "$root/tools/ConnectionsBackup" -- export \
  --tables "https://$account.table.core.windows.net/" \
  --blobs "https://$account.blob.core.windows.net/" \
  --container "$container"
