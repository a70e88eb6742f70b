// One storage account, reached only with Entra ID (no account keys, no connection strings).
// It holds the Functions host's own state (containers azure-webjobs-hosts and azure-webjobs-secrets),
// the deployment package that Flex Consumption runs from,
// and the app's data: tables for connections, consent states, the renewal index and events (reminders,
// delivery leases, the feed, failed events), the "renewals" queue that fans renewals out and the
// "events" queue that delivers events (each with its poison queue, created up front so it can be watched).

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags { *: string }

@description('Blob container that holds the deployment package (azd uploads there, the app runs from there).')
param deploymentContainerName string

@description('Blob containers the Functions host keeps its own state in; made here so that roles can be scoped to them.')
param hostContainerNames string[]

@description('The app\'s tables; the names are part of its contract, change them together with the app.')
var tableNames = [
  'connections'
  'consentstates'
  'renewalindex'
  'events'
]
@description('The renewal fan-out and event delivery queues and their poison queues, created up front so they can be watched.')
var queueNames = [
  'renewals'
  'renewals-poison'
  'events'
  'events-poison'
]

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Identity-based access only: a leaked key can't read tokens, because there are no keys to use.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Versioning and 30 days of soft delete (blobs and containers): a backup of the connections that is
// overwritten or deleted by mistake can be brought back (README, "Back up and restore the connections").
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: 30
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 30
    }
  }
}

// Versioning keeps every overwritten blob, the host's state blobs too: previous versions go after 30 days.
resource versionExpiry 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-previous-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 30
                }
              }
            }
          }
        }
      ]
    }
  }
}

// Where infra/scripts/backup-connections.sh puts the connections (rows as stored, tokens encrypted).
resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  // tools/ConnectionsBackup's default container; the app has no role on it.
  name: 'connections-backup'
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The host's containers exist before the host starts: the identity's blob role is granted on each
// container, not on the account, so the host could not create them itself.
resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = [
  for containerName in hostContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

@description('Storage account name.')
output name string = account.name

@description('Blob endpoint, with a trailing slash.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint, with a trailing slash.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint, with a trailing slash.')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('URL of the deployment package container.')
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'

@description('Blob container the connections are backed up to.')
output backupContainerName string = backupContainer.name
