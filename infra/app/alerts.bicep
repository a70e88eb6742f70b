// Alerts on what loses or stalls customers, and the action group that tells someone.
// Every rule is a log search over the Log Analytics workspace, because the signals are there and
// nowhere else: the app's log lines by event id (AppTraces; Properties["EventId"], which both the
// Functions host's Application Insights logger and the OpenTelemetry exporter fill, with the message
// text as a second match), the requests the Functions host records (AppRequests), and the queue
// service's own resource log (StorageQueueLogs, sent by diagnostics.bicep). Each query returns rows
// only when its condition holds, so each rule fires on "more than 0 rows"; counts add ItemCount, so
// sampled telemetry still counts right. Query validation is skipped at creation because a new
// workspace has none of these tables until their first record arrives. README, "Monitoring", says
// what to do when each fires.

@description('Azure region of the rules (the workspace\'s).')
param location string

@description('Tags applied to every resource.')
param tags { *: string }

@description('Appended to every name, so that names are unique per environment.')
param nameSuffix string

@description('Resource id of the Log Analytics workspace the rules query.')
param logAnalyticsWorkspaceId string

@description('Where alerts are e-mailed; empty: the action group has no receiver (alerts still show in the portal).')
param alertEmail string = ''

@description('Connections that may go needs-reconsent within 15 minutes before it alerts (customers revoking access now and then is normal).')
@minValue(0)
param reconsentThreshold int = 5

@description('Percentage of renewals in 15 minutes that may fail before it alerts.')
@minValue(1)
@maxValue(100)
param renewalFailurePercent int = 20

@description('Fewest renewal attempts in 15 minutes for the failure rate to mean anything.')
@minValue(1)
param renewalMinimumAttempts int = 10

@description('Failed function executions in 15 minutes that may happen before it alerts.')
@minValue(0)
param functionFailureThreshold int = 5

@description('Every rule: evaluated every 5 minutes, over the window it names.')
var rules = [
  {
    name: 'pair-not-saved'
    displayName: 'FreshBooks Connect: a renewed token pair could not be saved'
    description: 'Log event 2004 (critical): FreshBooks issued a new token pair that could not be saved, so that connection needs a new consent. Fires on any.'
    severity: 0
    windowSize: 'PT5M'
    query: join([
      'AppTraces'
      '| where toint(Properties["EventId"]) == 2004 or Message has "could not be saved"'
      '| project TimeGenerated, Message, ConnectionId = tostring(Properties["ConnectionId"])'
    ], '\n')
  }
  {
    name: 'reconsents'
    displayName: 'FreshBooks Connect: connections going needs-reconsent'
    description: 'Log event 2002: more than ${reconsentThreshold} connections in 15 minutes whose grant FreshBooks refused (invalid_grant).'
    severity: 2
    windowSize: 'PT15M'
    query: join([
      'AppTraces'
      '| where toint(Properties["EventId"]) == 2002 or Message has "needs a new consent"'
      '| summarize Reconsents = sum(ItemCount)'
      '| where Reconsents > ${reconsentThreshold}'
    ], '\n')
  }
  {
    name: 'renewal-failure-rate'
    displayName: 'FreshBooks Connect: renewals failing'
    description: 'Log events 2001/2002/2003: at least ${renewalFailurePercent}% of at least ${renewalMinimumAttempts} renewals in 15 minutes failed (FreshBooks 5xx/429/timeouts or storage), and are retried with backoff.'
    severity: 2
    windowSize: 'PT15M'
    query: join([
      'AppTraces'
      '| extend EventId = toint(Properties["EventId"])'
      '| where EventId in (2001, 2002, 2003)'
      '| summarize Attempts = sum(ItemCount), Failed = sumif(ItemCount, EventId == 2003)'
      '| where Attempts >= ${renewalMinimumAttempts} and Failed * 100 >= ${renewalFailurePercent} * Attempts'
    ], '\n')
  }
  {
    name: 'renewal-poison-queue'
    displayName: 'FreshBooks Connect: renewal messages moved to renewals-poison'
    description: 'A renewal message failed 5 times and was moved to the renewals-poison queue; that connection is not renewed by the queue until it is dealt with.'
    severity: 1
    windowSize: 'PT5M'
    // A storage metric alert sees only the account's total QueueMessageCount (the renewals queue
    // included, which rises on every sweep); the queue service's own log names the queue.
    // The host's "Moving message to queue 'renewals-poison'" line is the second source.
    query: join([
      'union isfuzzy=true'
      '  (StorageQueueLogs | where OperationName == "PutMessage" and Uri contains "/renewals-poison/messages" | project TimeGenerated),'
      '  (AppTraces | where Message has "renewals-poison" | project TimeGenerated)'
    ], '\n')
  }
  {
    name: 'event-delivery-given-up'
    displayName: 'FreshBooks Connect: event deliveries given up'
    description: 'Log event 5003: the webhook did not take an event for Events__GiveUpAfter (a day of retries); it is kept as failed and the SaaS has not heard of that change. Fires on any.'
    severity: 2
    windowSize: 'PT5M'
    // The line's own {EventId} (the event's id, evt_…) can take the place of the log event id in
    // Properties, so the message text is the match to count on here.
    // Not the events-poison queue: a delivery message that ends there loses nothing (the outbox's
    // reminder brings its events back), and its failing executions are function-failures' to report.
    query: join([
      'AppTraces'
      '| where toint(Properties["EventId"]) == 5003 or Message has "could not be delivered in"'
      '| project TimeGenerated, Message, ConnectionId = tostring(Properties["ConnectionId"])'
    ], '\n')
  }
  {
    name: 'function-failures'
    displayName: 'FreshBooks Connect: function executions failing'
    description: 'More than ${functionFailureThreshold} failed function executions in 15 minutes (any function: HTTP, sweep, queue worker).'
    severity: 2
    windowSize: 'PT15M'
    query: join([
      'AppRequests'
      '| where Success == false'
      '| summarize Failures = sum(ItemCount)'
      '| where Failures > ${functionFailureThreshold}'
    ], '\n')
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-fbconnect-${nameSuffix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'fbconnect'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'operator'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: 'alert-${rule.name}-${nameSuffix}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        logAnalyticsWorkspaceId
      ]
      evaluationFrequency: 'PT5M'
      windowSize: rule.windowSize
      skipQueryValidation: true
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

@description('Action group every alert notifies.')
output actionGroupId string = actionGroup.id

@description('Names of the alert rules.')
output alertRuleNames string[] = [for (rule, i) in rules: alertRules[i].name]
