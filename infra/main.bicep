// FreshBooks Connect for Azure: everything `azd up` creates, in one resource group.
// Reads top-down: names, then one module per concern (identity, storage, monitoring, key vault,
// role assignments, the app, then locks, resource logs, alerts and the workbook), then the outputs
// azd stores in the environment (the hooks read them from there).
// Keyless throughout: one user-assigned identity, Entra ID to storage and telemetry, secrets in Key Vault.
// The app's own keys are not parameters: the postprovision hook creates them in the vault once.
targetScope = 'subscription'

@description('azd environment name; names the resource group and seeds the unique resource names.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region for all resources: one that offers the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the principal running azd (AZURE_PRINCIPAL_ID); gets data roles only with deployerDataAccess.')
param principalId string = ''

@description('Kind of that principal, as azd reports it (AZURE_PRINCIPAL_TYPE): a user, or a service principal in CI.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Give the deploying principal the storage data roles and Key Vault Secrets Officer (to run the app locally against these resources). Off by default: deploying needs none.')
param deployerDataAccess bool = false

@description('Key Vault purge protection and 90 days of soft delete. false only for a throwaway environment (7 days, purgeable); fixed once the vault exists.')
param keyVaultPurgeProtection bool = true

@description('Key Vault soft-delete retention in days; 0 follows keyVaultPurgeProtection. Set only for a vault created with another retention (it can\'t change): the preprovision hook does.')
@minValue(0)
@maxValue(90)
param keyVaultRetentionDays int = 0

@description('CanNotDelete locks on the storage account and the Key Vault. false only for a throwaway environment.')
param deleteLocks bool = true

@description('E-mail address that alerts go to; empty: none (alerts still show in the portal).')
param alertEmail string = ''

@description('FreshBooks OAuth client id, from the FreshBooks developer portal.')
@minLength(1)
param freshBooksClientId string

@description('FreshBooks OAuth client secret; stored only in Key Vault.')
@secure()
param freshBooksClientSecret string

@description('Space-separated FreshBooks scopes to ask for; empty asks for the app\'s registered scopes.')
param freshBooksScopes string = ''

@description('Send a PKCE S256 challenge with each consent and its verifier with the code exchange (FreshBooks__UsePkce); FreshBooks does not document PKCE, so off unless asked for.')
param freshBooksUsePkce bool = false

@description('Comma-separated ids of the token encryption keys in the vault (k1, k2, ...), set by the preprovision hook from the vault; empty: k1 alone (a new environment).')
param tokenKeyIds string = ''

@description('The token key that encrypts (TokenProtection__CurrentKeyId), set by the preprovision hook; empty: the last of tokenKeyIds.')
param tokenCurrentKeyId string = ''

@description('Where the app POSTs connection events (Events__WebhookUrl, https); empty: the event feed only. Signed with the vault\'s events-signing-secret.')
param eventsWebhookUrl string = ''

@description('The SaaS product\'s name on the customer\'s onboarding pages (Onboarding__ProductName); empty: generic wording.')
param onboardingProductName string = ''

@description('Onboarding__ConfirmPage: \'false\' sends a link straight to FreshBooks, without the page that names the product and the tenant; empty: the app\'s default (the page is shown).')
param onboardingConfirmPage string = ''

@description('Onboarding__AllowedReturnUrls: \';\'-separated https URL prefixes a link\'s returnUrl may point under (whole path segments); empty: links carry no return URL.')
param onboardingAllowedReturnUrls string = ''

@description('The token keys the app gets; k1 alone until the vault has more.')
var tokenKeyRing = empty(tokenKeyIds) ? ['k1'] : split(tokenKeyIds, ',')

@description('The token key that encrypts: the hook\'s choice, or the newest.')
var tokenCurrentKey = empty(tokenCurrentKeyId) ? last(tokenKeyRing) : tokenCurrentKeyId

@description('Tags on the resource group and every resource: azd finds the environment\'s resources by them.')
var tags = {
  'azd-env-name': environmentName
}

@description('Stable per subscription, environment and region: a re-run updates the same resources.')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

@description('Resource names, known before deployment (so the app\'s host name and every role assignment are too).')
var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-api-${resourceToken}'
  storageAccount: 'st${resourceToken}'
  deploymentContainer: 'app-package'
  hostContainers: [
    'azure-webjobs-hosts'
    'azure-webjobs-secrets'
  ]
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-api-${resourceToken}'
}

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  scope: rg
  params: {
    name: names.storageAccount
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    hostContainerNames: names.hostContainers
  }
}

module monitoring 'app/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    freshBooksClientSecret: freshBooksClientSecret
    purgeProtection: keyVaultPurgeProtection
    retentionDays: keyVaultRetentionDays
    tokenKeyIds: tokenKeyRing
  }
}

module rbac 'app/rbac.bicep' = {
  scope: rg
  params: {
    storageAccountName: names.storageAccount
    deploymentContainerName: names.deploymentContainer
    hostContainerNames: names.hostContainers
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    identityName: names.identity
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    deployerDataAccess: deployerDataAccess
  }
  // Given names rather than outputs (see `names`), so the order is spelled out.
  dependsOn: [
    identity
    storage
    keyVault
    monitoring
  ]
}

module api 'app/api.bicep' = {
  scope: rg
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    freshBooksClientId: freshBooksClientId
    freshBooksScopes: freshBooksScopes
    freshBooksUsePkce: freshBooksUsePkce
    freshBooksClientSecretUri: keyVault.outputs.freshBooksClientSecretUri
    tokenKeySecretUris: keyVault.outputs.tokenKeySecretUris
    tokenCurrentKeyId: tokenCurrentKey
    onboardingSigningKeySecretUri: keyVault.outputs.onboardingSigningKeySecretUri
    eventsSigningSecretUri: keyVault.outputs.eventsSigningSecretUri
    eventsWebhookUrl: eventsWebhookUrl
    onboardingProductName: onboardingProductName
    onboardingConfirmPage: onboardingConfirmPage
    onboardingAllowedReturnUrls: onboardingAllowedReturnUrls
  }
  // The app reads storage and resolves Key Vault references as soon as it starts: roles first.
  dependsOn: [
    rbac
  ]
}

// Protection and monitoring: they change nothing the app needs to start, so they come last.
module locks 'app/locks.bicep' = if (deleteLocks) {
  scope: rg
  params: {
    storageAccountName: names.storageAccount
    keyVaultName: names.keyVault
  }
  dependsOn: [
    storage
    keyVault
  ]
}

module diagnostics 'app/diagnostics.bicep' = {
  scope: rg
  params: {
    keyVaultName: names.keyVault
    storageAccountName: names.storageAccount
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
  dependsOn: [
    storage
    keyVault
  ]
}

module alerts 'app/alerts.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    nameSuffix: resourceToken
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    alertEmail: alertEmail
  }
}

module workbook 'app/workbook.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: names.applicationInsights
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Entra ID tenant of the subscription.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Function app name.')
output AZURE_FUNCTION_APP_NAME string = api.outputs.name

@description('Function app name, under the name azd looks for when it deploys service "api".')
output SERVICE_API_NAME string = api.outputs.name

@description('Base URL of the function app.')
output SERVICE_API_URI string = api.outputs.uri

@description('Key Vault holding the FreshBooks client secret and the app\'s keys.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Storage account holding the app\'s tables and queues.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Where infra/scripts/backup-connections.sh puts backups of the connections (a container of the storage account, versioned, soft delete).')
output AZURE_BACKUP_CONTAINER string = storage.outputs.backupContainerName

@description('Register exactly this redirect URI for the app in the FreshBooks developer portal.')
output FRESHBOOKS_REDIRECT_URI string = api.outputs.redirectUri

@description('Creates an onboarding link for a tenant; put the app\'s function key in place of <function key>.')
output ONBOARDING_LINK_COMMAND string = 'curl -X POST "https://${api.outputs.defaultHostName}/api/onboarding-links?code=<function key>" -H "Content-Type: application/json" -d \'{"tenantId":"acme"}\'   # <function key>: az functionapp keys list -g ${rg.name} -n ${api.outputs.name} --query functionKeys.default -o tsv'
