// Delete locks on the two resources whose loss loses customers: the storage account (every
// connection's encrypted refresh token) and the Key Vault (the key that decrypts them). A CanNotDelete
// lock lets everything else go on (reads, writes, deployments) but refuses a delete of the resource,
// and so a delete of its resource group: `azd down` stops with ScopeLocked until someone removes the
// locks on purpose (README, "Remove"). main.bicep deploys this module only when deleteLocks is true;
// turning that off later does not remove existing locks (a deployment never deletes what it omits).

@description('Storage account holding the connections.')
param storageAccountName string

@description('Key Vault holding the token key.')
param keyVaultName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource storageLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'do-not-delete-connections'
  scope: storageAccount
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds every FreshBooks connection (encrypted tokens). Deleting it makes every customer connect again.'
  }
}

resource vaultLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'do-not-delete-keys'
  scope: vault
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the only copy of the token encryption key. Without it no stored connection can be read.'
  }
}
