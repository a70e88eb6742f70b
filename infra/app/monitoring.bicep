// Logs and telemetry: a Log Analytics workspace and a workspace-based Application Insights resource.
// Local (instrumentation key) authentication is off, so only an identity holding
// Monitoring Metrics Publisher can send telemetry: the connection string alone is not enough.

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Azure region of both.')
param location string

@description('Tags applied to both.')
param tags { *: string }

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

@description('Application Insights component name.')
output applicationInsightsName string = applicationInsights.name

@description('Log Analytics workspace resource id: alerts query it, resource logs go to it.')
output logAnalyticsWorkspaceId string = logAnalytics.id

@description('Connection string: an address, not a credential, since local auth is off.')
output connectionString string = applicationInsights.properties.ConnectionString
