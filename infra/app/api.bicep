// The function app: a Flex Consumption plan and a Linux .NET 10 isolated-worker site that runs the
// package azd uploads to the deployment container. Everything it reaches, it reaches as the
// user-assigned identity: storage, Key Vault references, Application Insights, the package itself.
// The app validates its settings at start-up, so the names below are a contract with the code.

@description('Function app (site) name; also the first label of its default host name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region of the plan and the site.')
param location string

@description('Tags applied to the plan and the site (the site also gets azd-service-name).')
param tags { *: string }

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Blob endpoint of the storage account, with a trailing slash.')
param storageBlobEndpoint string

@description('Queue endpoint of the storage account, with a trailing slash.')
param storageQueueEndpoint string

@description('Table endpoint of the storage account, with a trailing slash.')
param storageTableEndpoint string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('FreshBooks OAuth client id (public, so a plain setting).')
param freshBooksClientId string

@description('Space-separated FreshBooks scopes to ask for; empty asks for the app\'s registered scopes.')
param freshBooksScopes string = ''

@description('Send a PKCE S256 challenge with each consent and its verifier with the code exchange (FreshBooks__UsePkce); FreshBooks does not document PKCE, so off unless asked for.')
param freshBooksUsePkce bool = false

@description('Versionless Key Vault URI of the FreshBooks client secret.')
param freshBooksClientSecretUri string

@description('Versionless Key Vault URI of each token encryption key by id: one TokenProtection__Keys__<id> setting each.')
param tokenKeySecretUris { *: string }

@description('The id of the key that encrypts tokens (TokenProtection__CurrentKeyId); one of tokenKeySecretUris.')
param tokenCurrentKeyId string

@description('Versionless Key Vault URI of the onboarding link signing key.')
param onboardingSigningKeySecretUri string

@description('Versionless Key Vault URI of the events\' webhook signing secret.')
param eventsSigningSecretUri string

@description('Where events are POSTed (https); empty: no webhook, the event feed only.')
param eventsWebhookUrl string = ''

@description('The SaaS product\'s name on the customer\'s onboarding pages; empty: generic wording.')
param onboardingProductName string = ''

@description('\'false\' turns off the page a link opens first; empty: the app\'s default (on).')
param onboardingConfirmPage string = ''

@description('\';\'-separated https URL prefixes a link\'s returnUrl may point under; empty: links carry no return URL.')
param onboardingAllowedReturnUrls string = ''

@description('Most instances Flex Consumption may scale out to.')
param maximumInstanceCount int = 100

@description('Memory of one instance, in MB.')
param instanceMemoryMB int = 2048

// Public Azure's App Service domain; other clouds use another suffix.
@description('Known before the site exists, so the redirect URI setting needs no reference to the site (a cycle).')
var defaultHostName = '${name}.azurewebsites.net'
@description('Where FreshBooks sends the customer back after consent: https, no query string.')
var redirectUri = 'https://${defaultHostName}/api/callback'

// Secrets are Key Vault references, resolved by the platform with keyVaultReferenceIdentity:
// nothing secret passes through this template.
@description('Every setting the app validates at start-up.')
var requiredAppSettings = [
  // The Functions host's own storage (leases, timer schedule state, queue-trigger bookkeeping).
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storageBlobEndpoint }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: storageQueueEndpoint }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storageTableEndpoint }
  // The app's data: tables, and the "renewals" and "events" queues (their triggers say Connection = "Storage").
  { name: 'Storage__credential', value: 'managedidentity' }
  { name: 'Storage__clientId', value: identityClientId }
  { name: 'Storage__tableServiceUri', value: storageTableEndpoint }
  { name: 'Storage__queueServiceUri', value: storageQueueEndpoint }
  // Telemetry, sent with the identity because the component accepts no local auth.
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  // FreshBooks OAuth.
  { name: 'FreshBooks__ClientId', value: freshBooksClientId }
  { name: 'FreshBooks__ClientSecret', value: '@Microsoft.KeyVault(SecretUri=${freshBooksClientSecretUri})' }
  { name: 'FreshBooks__RedirectUri', value: redirectUri }
  { name: 'FreshBooks__AuthUrl', value: 'https://auth.freshbooks.com/oauth/authorize/' }
  { name: 'FreshBooks__ApiUrl', value: 'https://api.freshbooks.com' }
  // Renewal timer, NCRONTAB with seconds: every five minutes.
  { name: 'RenewalSchedule', value: '0 */5 * * * *' }
  // Token encryption: the current key id; the keys by id are tokenKeyAppSettings.
  { name: 'TokenProtection__CurrentKeyId', value: tokenCurrentKeyId }
  // Onboarding links.
  { name: 'Onboarding__SigningKey', value: '@Microsoft.KeyVault(SecretUri=${onboardingSigningKeySecretUri})' }
  // Events: the webhook signing secret, there from the start so a webhook can be added by setting its URL alone.
  { name: 'Events__SigningSecret', value: '@Microsoft.KeyVault(SecretUri=${eventsSigningSecretUri})' }
]

@description('One setting per token key in the vault: a rotation adds a key without an edit here.')
var tokenKeyAppSettings = [
  for key in items(tokenKeySecretUris): {
    name: 'TokenProtection__Keys__${key.key}'
    value: '@Microsoft.KeyVault(SecretUri=${key.value})'
  }
]

@description('Set only when asked for: without it the app asks FreshBooks for the app\'s registered scopes.')
var scopesAppSettings = empty(freshBooksScopes) ? [] : [
  { name: 'FreshBooks__Scopes', value: freshBooksScopes }
]

@description('Set only when asked for: without it the app leaves PKCE out, its default.')
var pkceAppSettings = freshBooksUsePkce ? [
  { name: 'FreshBooks__UsePkce', value: 'true' }
] : []

@description('Set only when asked for: without it events are kept in the feed (GET /api/events) and POSTed nowhere.')
var webhookAppSettings = empty(eventsWebhookUrl) ? [] : [
  { name: 'Events__WebhookUrl', value: eventsWebhookUrl }
]

@description('Set only when asked for: without it the onboarding pages speak of "the app that sent you this link".')
var productNameAppSettings = empty(onboardingProductName) ? [] : [
  { name: 'Onboarding__ProductName', value: onboardingProductName }
]

@description('Set only when asked for: without it a link opens the page that names the product and the tenant.')
var confirmPageAppSettings = empty(onboardingConfirmPage) ? [] : [
  { name: 'Onboarding__ConfirmPage', value: onboardingConfirmPage }
]

@description('Set only when asked for: without it a link can carry no return URL (the success page is the end of onboarding).')
var returnUrlsAppSettings = empty(onboardingAllowedReturnUrls) ? [] : [
  { name: 'Onboarding__AllowedReturnUrls', value: onboardingAllowedReturnUrls }
]

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(requiredAppSettings, tokenKeyAppSettings, scopesAppSettings, pkceAppSettings, webhookAppSettings, productNameAppSettings, confirmPageAppSettings, returnUrlsAppSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// No FTP or SCM basic-auth publishing: azd deploys with Entra ID.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output name string = site.name

@description('Default host name as computed before deployment (the one the redirect URI uses).')
output defaultHostName string = defaultHostName

@description('Base URL of the app, from the deployed site.')
output uri string = 'https://${site.properties.defaultHostName}'

@description('The OAuth redirect URI the app sends; register exactly this in FreshBooks.')
output redirectUri string = redirectUri
