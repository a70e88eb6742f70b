// Who may do what, and nothing more. The app's identity gets the data roles it uses, each on the
// narrowest scope that works:
//  - blob: only the containers it uses. The deployment container (Flex Consumption's platform writes
//    and reads the package there as the identity): Storage Blob Data Contributor. The host's own
//    containers, azure-webjobs-hosts (host id, singleton and timer locks, timer schedule state) and
//    azure-webjobs-secrets (function and host keys): Storage Blob Data Owner, the role Functions
//    documents for AzureWebJobsStorage. Both containers are made by storage.bicep, because a role
//    on a container can't create it.
//  - queue and table: the account. The queue trigger and the app use `renewals` and its poison queue,
//    but the host also writes a diagnostic-events table per month (AzureFunctionsDiagnosticEvents
//    yyyyMM) that no template can make in advance.
// The deploying user (principalId) gets data roles only when asked (deployerDataAccess): to run the
// app locally against the cloud resources, or to manage secrets by hand. Provisioning needs none:
// the app's keys are written through an ARM deployment (infra/hooks/app-keys.bicep).
// Role assignment names are guids of (scope, principal, role): re-running a deployment changes nothing.

@description('Storage account the app uses.')
param storageAccountName string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Blob containers holding the Functions host\'s state.')
param hostContainerNames string[]

@description('Key Vault holding the app secrets.')
param keyVaultName string

@description('Application Insights component the app sends telemetry to.')
param applicationInsightsName string

@description('Name of the app\'s user-assigned identity.')
param identityName string

@description('Object id of the deploying principal; empty grants it nothing.')
param deployerPrincipalId string = ''

@description('Kind of the deploying principal, as azd reports it (AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

@description('Give the deploying principal the app\'s storage data roles and Key Vault Secrets Officer.')
param deployerDataAccess bool = false

@description('Built-in role definition ids (the same in every tenant).')
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

@description('Account-wide data roles of the identity: the renewals queues and the tables (see the header for why not narrower).')
var identityAccountRoles = [
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

@description('What an opted-in deployer gets on the account: what running the app locally needs.')
var deployerStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

@description('Whether the deploying principal gets any data role.')
var grantDeployer = deployerDataAccess && !empty(deployerPrincipalId)

// Looked up by name (names are known before deployment, so what-if can predict every assignment).
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deploymentContainer 'containers' existing = {
      name: deploymentContainerName
    }
  }
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = [
  for containerName in hostContainerNames: {
    parent: storageAccount::blobService
    name: containerName
  }
]

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The platform uploads the package azd sends, and each instance reads it, as the identity.
resource identityDeploymentContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::deploymentContainer.id, identity.id, roles.storageBlobDataContributor)
  scope: storageAccount::blobService::deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource identityHostContainers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in hostContainerNames: {
    name: guid(hostContainers[i].id, identity.id, roles.storageBlobDataOwner)
    scope: hostContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource identityAccountRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in identityAccountRoles: {
    name: guid(storageAccount.id, identity.id, roleId)
    scope: storageAccount
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Read-only on secrets: what resolving a Key Vault reference needs.
resource identitySecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Needed to send telemetry at all, because the component has local authentication disabled.
resource identityMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerStorageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in deployerStorageRoles: if (grantDeployer) {
    name: guid(storageAccount.id, deployerPrincipalId, roleId)
    scope: storageAccount
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: deployerPrincipalId
      principalType: deployerPrincipalType
    }
  }
]

resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
