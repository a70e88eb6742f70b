// An Azure Monitor workbook, filed under the Application Insights component: renewals by outcome,
// refresh latency, connections by status, consents per day and token API latency, over a time range
// picked at the top. Built here as an object and serialized once, so each chart reads as what it is.
// The metrics are the app's OpenTelemetry instruments (meter FreshBooksConnect) as Application
// Insights stores them in the workspace's AppMetrics table: one row per instrument, interval and
// instance, with Sum, ItemCount (values counted), Min, Max and the tags in Properties. A histogram is
// stored that way too, as aggregates without buckets, so true percentiles come from the per-call
// records instead: the app's own spans (AppDependencies), one per FreshBooks refresh call
// (freshbooks.refresh) and one per token API answer (token.request), named by the app whatever the
// Functions host calls its requests; the histograms' average and maximum are charted beside them.

@description('Azure region of the workbook.')
param location string

@description('Tags applied to the workbook.')
param tags { *: string }

@description('Name of the Application Insights component the workbook is filed under.')
param applicationInsightsName string

@description('Resource id of the Log Analytics workspace the charts query.')
param logAnalyticsWorkspaceId string

@description('Name shown in the portal.')
param displayName string = 'FreshBooks Connect'

@description('A query item of the workbook schema: a chart of a log query.')
type chartItem = {
  @description('3: a query item.')
  type: 3
  @description('Item name, unique in the workbook.')
  name: string
  @description('The query and how it is drawn.')
  content: {
    @description('Schema version of a query item.')
    version: 'KqlItem/1.0'
    @description('Chart title.')
    title: string
    @description('KQL over the workspace.')
    query: string
    @description('0: Log Analytics.')
    queryType: 0
    @description('Kind of resource the query runs on.')
    resourceType: 'microsoft.operationalinsights/workspaces'
    @description('The workspace.')
    crossComponentResources: string[]
    @description('Parameter holding the time range.')
    timeContextFromParameter: 'TimeRange'
    @description('timechart, barchart, ...')
    visualization: string
    @description('0: medium.')
    size: 0
  }
}

@description('One chart: a log query over the workspace, over the workbook\'s time range.')
func chart(name string, title string, query string, visualization string, workspaceId string) chartItem => {
  type: 3
  name: name
  content: {
    version: 'KqlItem/1.0'
    title: title
    query: query
    queryType: 0
    resourceType: 'microsoft.operationalinsights/workspaces'
    crossComponentResources: [
      workspaceId
    ]
    timeContextFromParameter: 'TimeRange'
    visualization: visualization
    size: 0
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

@description('The workbook, top to bottom.')
var workbook = {
  version: 'Notebook/1.0'
  '$schema': 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json'
  fallbackResourceIds: [
    applicationInsights.id
  ]
  items: [
    {
      type: 1
      name: 'about'
      content: {
        json: '## FreshBooks Connect\nRenewals, refresh and token API latency, connections by status and consents. The alerts and what to do when one fires are in the README, "Monitoring".'
      }
    }
    {
      type: 9
      name: 'time-range'
      content: {
        version: 'KqlParameterItem/1.0'
        style: 'pills'
        parameters: [
          {
            id: '5f0b7d3e-3c1a-4f8e-9a57-6c2d1e0b9a41'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            label: 'Time range'
            type: 4
            isRequired: true
            value: {
              durationMs: 86400000
            }
            typeSettings: {
              selectableValues: [
                { durationMs: 3600000 }
                { durationMs: 14400000 }
                { durationMs: 86400000 }
                { durationMs: 604800000 }
                { durationMs: 2592000000 }
              ]
            }
          }
        ]
      }
    }
    chart('renewals-by-outcome', 'Renewals by outcome', join([
      'AppMetrics'
      '| where Name == "freshbooks.renewals"'
      '| summarize Renewals = sum(Sum) by bin(TimeGenerated, {TimeRange:grain}), Outcome = tostring(Properties["outcome"])'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
    chart('refresh-latency-percentiles', 'Refresh latency p50 / p95, seconds (FreshBooks refresh calls)', join([
      'AppDependencies'
      '| where Name == "freshbooks.refresh"'
      '| summarize p50 = percentile(DurationMs, 50) / 1000.0, p95 = percentile(DurationMs, 95) / 1000.0 by bin(TimeGenerated, {TimeRange:grain})'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
    chart('refresh-duration', 'Refresh duration (freshbooks.refresh.duration), average and maximum, seconds', join([
      'AppMetrics'
      '| where Name == "freshbooks.refresh.duration"'
      '| summarize Average = sum(Sum) / sum(ItemCount), Maximum = max(Max) by bin(TimeGenerated, {TimeRange:grain})'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
    chart('connections-by-status', 'Connections by status', join([
      'AppMetrics'
      '| where Name == "freshbooks.connections"'
      '| summarize Connections = max(Max) by bin(TimeGenerated, {TimeRange:grain}), Status = tostring(Properties["status"])'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
    chart('consents-per-day', 'Consents per day, by outcome', join([
      'AppMetrics'
      '| where Name == "freshbooks.consents"'
      '| summarize Consents = sum(Sum) by bin(TimeGenerated, 1d), Outcome = tostring(Properties["outcome"])'
    ], '\n'), 'barchart', logAnalyticsWorkspaceId)
    chart('token-api-latency-percentiles', 'Token API latency p50 / p95, seconds (token and 401-refresh answers)', join([
      'AppDependencies'
      '| where Name == "token.request"'
      '| summarize p50 = percentile(DurationMs, 50) / 1000.0, p95 = percentile(DurationMs, 95) / 1000.0 by bin(TimeGenerated, {TimeRange:grain})'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
    chart('token-api-duration', 'Token API duration (freshbooks.token_request.duration), average and maximum, seconds', join([
      'AppMetrics'
      '| where Name == "freshbooks.token_request.duration"'
      '| summarize Average = sum(Sum) / sum(ItemCount), Maximum = max(Max) by bin(TimeGenerated, {TimeRange:grain})'
    ], '\n'), 'timechart', logAnalyticsWorkspaceId)
  ]
}

resource workbookResource 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; this one is stable per component, so a re-run updates it.
  name: guid(applicationInsights.id, 'freshbooks-connect-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: string(workbook)
  }
}

@description('Workbook resource id.')
output id string = workbookResource.id
