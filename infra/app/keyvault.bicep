// Key Vault for the three secrets the app needs: the FreshBooks client secret, the key that encrypts
// stored tokens and the key that signs onboarding links. The app never sees them as plain settings:
// its settings are Key Vault references resolved by the platform with the app's identity.
// Access is by Azure RBAC (no access policies), granted in rbac.bicep.

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

@description('Key that encrypts stored tokens (base64, 32 bytes); its id in the app is k1.')
@secure()
param tokenEncryptionKey string

@description('Key that signs onboarding links (base64, 32 bytes).')
@secure()
param onboardingSigningKey string

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
    // Soft delete keeps a deleted vault recoverable. The shortest retention and no purge protection,
    // so that `azd down --purge` can free the name for the next `azd up` of the same environment.
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
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

resource tokenKey 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: 'token-encryption-key'
  properties: {
    value: tokenEncryptionKey
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: 'onboarding-signing-key'
  properties: {
    value: onboardingSigningKey
  }
}

@description('Key Vault name.')
output name string = vault.name

// Versionless secret URIs: the app picks up a new secret version without a redeployment
// (App Service re-reads references within a day, or at once on a restart or a settings change).
@description('Versionless URI of the FreshBooks client secret.')
output freshBooksClientSecretUri string = clientSecret.properties.secretUri

@description('Versionless URI of the token encryption key.')
output tokenEncryptionKeySecretUri string = tokenKey.properties.secretUri

@description('Versionless URI of the onboarding signing key.')
output onboardingSigningKeySecretUri string = signingKey.properties.secretUri
