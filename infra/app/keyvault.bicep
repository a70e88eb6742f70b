// Key Vault: the one home of the app's secrets. The FreshBooks client secret is yours and this
// template writes it from FRESHBOOKS_CLIENT_SECRET on every provision. The app's own keys (the token
// encryption key, the link signing key and the events' webhook signing secret) are not written here at all: the postprovision hook
// creates each once, when it is missing, and nothing writes it again (see infra/hooks/app-keys.bicep).
// A provision from any machine therefore keeps them, and the vault's protection keeps them through a
// mistaken delete. The app never sees a secret as a plain setting: its settings are Key Vault
// references, resolved by the platform with the app's identity. Access is by Azure RBAC (rbac.bicep).

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags { *: string }

@description('FreshBooks OAuth client secret.')
@secure()
param freshBooksClientSecret string

@description('Purge protection and 90 days of soft delete (true); false for a throwaway environment: 7 days, purgeable.')
param purgeProtection bool = true

@description('Days a deleted secret or vault is kept; 0 follows purgeProtection (90 or 7). A vault keeps the retention it was created with, so an older environment\'s vault passes its own.')
@minValue(0)
@maxValue(90)
param retentionDays int = 0

@description('Ids of the token encryption keys the app gets (TokenProtection__Keys__<id>): k1 is secret token-encryption-key, kN is token-encryption-key-kN. The preprovision hook reads them from the vault.')
param tokenKeyIds string[] = ['k1']

@description('Names of the secrets the postprovision hook creates once; the app settings reference them.')
var appKeySecretNames = {
  tokenEncryptionKey: 'token-encryption-key'
  onboardingSigningKey: 'onboarding-signing-key'
  eventsSigningSecret: 'events-signing-secret'
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    // A deleted vault (or secret) stays recoverable for the retention period; with purge protection
    // nobody can purge it sooner, so the token key outlives any mistake by 90 days. Both are fixed
    // once set: retention can't change after creation and purge protection can't be turned off.
    enableSoftDelete: true
    softDeleteRetentionInDays: retentionDays > 0 ? retentionDays : (purgeProtection ? 90 : 7)
    // The API refuses false: leaving it out is what "off" means.
    enablePurgeProtection: purgeProtection ? true : null
    // The platform resolves Key Vault references over the public endpoint; RBAC guards the secrets.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource clientSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: 'freshbooks-client-secret'
  properties: {
    value: freshBooksClientSecret
  }
}

@description('Key Vault name.')
output name string = vault.name

// Versionless secret URIs: the app picks up a new secret version without a redeployment
// (App Service re-reads references within a day, or at once on a restart or a settings change).
@description('Versionless URI of the FreshBooks client secret.')
output freshBooksClientSecretUri string = clientSecret.properties.secretUri

// Built from the vault's URI: the secret is not a resource of this template (the hook creates it).
@description('Versionless URI of each token encryption key by its id (k1: token-encryption-key; kN: token-encryption-key-kN, made by infra/scripts/rotate-token-key.sh).')
output tokenKeySecretUris { *: string } = toObject(
  tokenKeyIds,
  id => id,
  id => '${vault.properties.vaultUri}secrets/${id == 'k1' ? appKeySecretNames.tokenEncryptionKey : '${appKeySecretNames.tokenEncryptionKey}-${id}'}'
)

@description('Versionless URI of the onboarding link signing key.')
output onboardingSigningKeySecretUri string = '${vault.properties.vaultUri}secrets/${appKeySecretNames.onboardingSigningKey}'

@description('Versionless URI of the events\' Standard Webhooks signing secret.')
output eventsSigningSecretUri string = '${vault.properties.vaultUri}secrets/${appKeySecretNames.eventsSigningSecret}'
