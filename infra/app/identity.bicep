// The one identity the function app uses for everything it reaches: storage (host and app data),
// the deployment package, Key Vault references and Application Insights. A user-assigned identity
// exists before the site does, so its roles can be granted first and no secret is ever needed.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id: attach it to the site and name it as the Key Vault reference identity.')
output id string = identity.id

@description('Client id: what the app settings name so the SDKs pick this identity.')
output clientId string = identity.properties.clientId

@description('Principal (object) id: what the role assignments grant roles to.')
output principalId string = identity.properties.principalId
