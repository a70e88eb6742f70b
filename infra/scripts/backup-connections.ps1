# Backs up this azd environment's connections (see backup-connections.sh, which this mirrors).
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$account = azd env get-value AZURE_STORAGE_ACCOUNT_NAME
if ($LASTEXITCODE -ne 0) { exit 1 }
$container = azd env get-value AZURE_BACKUP_CONTAINER 2>$null
if ($LASTEXITCODE -ne 0 -or -not $container) { $container = 'connections-backup' }

dotnet run --project (Join-Path $root 'tools/ConnectionsBackup') -- export `
  --tables "https://$account.table.core.windows.net/" `
  --blobs "https://$account.blob.core.windows.net/" `
  --container $container
exit $LASTEXITCODE
