// The app's own keys, created in Key Vault once. Not part of main.bicep: the postprovision hook
// deploys this only when a key is missing from the vault, and passes only the missing ones (each a
// fresh 32 random bytes, base64; the events' signing secret with the whsec_ prefix), from a parameters file that only its user can read and that it
// deletes afterwards. A key that exists is never passed, so it is never written again.
// An ARM deployment writes the secrets with the deployer's control-plane rights (the same ones that
// deploy main.bicep), so the deployer needs no data-plane role on the vault, and secure parameters
// are kept out of the deployment's history.
targetScope = 'resourceGroup'

@description('The environment\'s Key Vault (main.bicep\'s AZURE_KEY_VAULT_NAME).')
param vaultName string

@description('New token encryption key (k1), base64 of 32 random bytes; empty: leave it alone.')
@secure()
param tokenEncryptionKey string = ''

@description('New onboarding link signing key, base64 of 32 random bytes; empty: leave it alone.')
@secure()
param onboardingSigningKey string = ''

@description('New events webhook signing secret, whsec_ and base64 of 32 random bytes (Standard Webhooks); empty: leave it alone.')
@secure()
param eventsSigningSecret string = ''

@description('Id of a new token encryption key (k2, k3, ...: infra/scripts/rotate-token-key.sh); empty: none.')
param newTokenKeyId string = ''

@description('That key, base64 of 32 random bytes; written as secret token-encryption-key-<id>.')
@secure()
param newTokenKey string = ''

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource tokenKey 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(tokenEncryptionKey)) {
  parent: vault
  name: 'token-encryption-key'
  properties: {
    value: tokenEncryptionKey
    contentType: 'base64, 32 bytes: AES-256-GCM key of stored tokens (TokenProtection__Keys__k1)'
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(onboardingSigningKey)) {
  parent: vault
  name: 'onboarding-signing-key'
  properties: {
    value: onboardingSigningKey
    contentType: 'base64, 32 bytes: HMAC-SHA256 key of onboarding links (Onboarding__SigningKey)'
  }
}

resource eventsSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(eventsSigningSecret)) {
  parent: vault
  name: 'events-signing-secret'
  properties: {
    value: eventsSigningSecret
    contentType: 'whsec_ and base64, 32 bytes: Standard Webhooks signing secret of events (Events__SigningSecret)'
  }
}

resource rotatedTokenKey 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(newTokenKeyId) && !empty(newTokenKey)) {
  parent: vault
  name: 'token-encryption-key-${newTokenKeyId}'
  properties: {
    value: newTokenKey
    contentType: 'base64, 32 bytes: AES-256-GCM key of stored tokens (TokenProtection__Keys__${newTokenKeyId})'
  }
}
