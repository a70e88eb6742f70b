# Restores a backup of the connections into an account with empty tables (see restore-connections.sh, which this mirrors).
param(
  [string]$Blob = 'latest',
  [string]$FromAccount = '',
  [string]$ToAccount = ''
)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$account = azd env get-value AZURE_STORAGE_ACCOUNT_NAME
if ($LASTEXITCODE -ne 0) { exit 1 }
$container = azd env get-value AZURE_BACKUP_CONTAINER 2>$null
if ($LASTEXITCODE -ne 0 -or -not $container) { $container = 'connections-backup' }
if (-not $FromAccount) { $FromAccount = $account }
if (-not $ToAccount) { $ToAccount = $account }

dotnet run --project (Join-Path $root 'tools/ConnectionsBackup') -- restore `
  --tables "https://$ToAccount.table.core.windows.net/" `
  --blobs "https://$FromAccount.blob.core.windows.net/" `
  --container $container `
  --blob $Blob
exit $LASTEXITCODE
