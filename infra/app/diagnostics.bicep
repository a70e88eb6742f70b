// Resource logs to the Log Analytics workspace: who read or changed what, kept as long as the
// workspace keeps logs. Key Vault: its audit log (every secret read and write, by whom; never a
// value). Storage, per service: tables with reads, writes and deletes (the connections table holds
// the encrypted tokens, so a read is worth recording), queues and blobs with writes and deletes (their
// reads are the queue trigger's and the host's polling: volume, not information). The poison-queue
// alert reads the queue log (alerts.bicep).

@description('Key Vault to audit.')
param keyVaultName string

@description('Storage account whose table, queue and blob services are logged.')
param storageAccountName string

@description('Resource id of the Log Analytics workspace that receives the logs.')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName

  resource tableService 'tableServices' existing = {
    name: 'default'
  }

  resource queueService 'queueServices' existing = {
    name: 'default'
  }

  resource blobService 'blobServices' existing = {
    name: 'default'
  }
}

// Each setting: 2021-05-01-preview is the newest version of scoped diagnostic settings. The "newer"
// one the linter offers (2016-09-01) is the old service-level shape, which can't be scoped to a
// resource at all.
#disable-next-line use-recent-api-versions
resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

#disable-next-line use-recent-api-versions
resource tableLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'table-to-log-analytics'
  scope: storageAccount::tableService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

#disable-next-line use-recent-api-versions
resource queueLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'queue-to-log-analytics'
  scope: storageAccount::queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

#disable-next-line use-recent-api-versions
resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'blob-to-log-analytics'
  scope: storageAccount::blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}
