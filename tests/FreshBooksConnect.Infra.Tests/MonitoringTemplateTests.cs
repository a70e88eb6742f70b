using System.Text.Json.Nodes;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>Alerts, the action group, the workbook and the resource logs, as the compiled template has them.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class MonitoringTemplateTests(CompiledTemplate compiled)
{
    private Module Alerts => compiled.ModuleWith("Microsoft.Insights/scheduledQueryRules");

    private Dictionary<string, JsonObject> Rules =>
        Alerts.Template["variables"]!["rules"]!.AsArray().ToDictionary(rule => (string)rule!["name"]!, rule => rule!.AsObject());

    [Fact]
    public void Every_alert_rule_queries_the_workspace_every_5_minutes_and_notifies_the_action_group()
    {
        var rule = Alerts.Resource("Microsoft.Insights/scheduledQueryRules");
        var properties = rule["properties"]!;

        Assert.Equal("[length(variables('rules'))]", (string?)rule["copy"]!["count"]);
        Assert.Equal("LogAlert", (string?)rule["kind"]);
        Assert.Equal("[parameters('logAnalyticsWorkspaceId')]", (string?)Assert.Single(properties["scopes"]!.AsArray()));
        Assert.Equal("PT5M", (string?)properties["evaluationFrequency"]);
        Assert.True((bool?)properties["skipQueryValidation"]);
        var criterion = Assert.Single(properties["criteria"]!["allOf"]!.AsArray())!;
        Assert.Equal("[variables('rules')[copyIndex()].query]", (string?)criterion["query"]);
        Assert.Equal("Count", (string?)criterion["timeAggregation"]);
        Assert.Equal("GreaterThan", (string?)criterion["operator"]);
        Assert.Equal(0, (int?)criterion["threshold"]);
        Assert.Contains("Microsoft.Insights/actionGroups", (string?)Assert.Single(properties["actions"]!["actionGroups"]!.AsArray()), StringComparison.Ordinal);
        Assert.Contains(".outputs.logAnalyticsWorkspaceId.value", Alerts.Deployment["properties"]!["parameters"]!["logAnalyticsWorkspaceId"]!["value"]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void There_is_one_rule_for_each_way_a_customer_is_lost_or_stalled()
    {
        Assert.Equal(
            ["event-delivery-given-up", "function-failures", "pair-not-saved", "reconsents", "renewal-failure-rate", "renewal-poison-queue"],
            Rules.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_pair_that_could_not_be_saved_alerts_at_once_at_the_highest_severity()
    {
        var rule = Rules["pair-not-saved"];
        var query = (string)rule["query"]!;

        Assert.Equal(0, (int?)rule["severity"]);
        Assert.Equal("PT5M", (string?)rule["windowSize"]);
        Assert.Contains("AppTraces", query, StringComparison.Ordinal);
        Assert.Contains("toint(Properties[\"EventId\"]) == 2004", query, StringComparison.Ordinal);
        Assert.Contains("Message has \"could not be saved\"", query, StringComparison.Ordinal);
        Assert.DoesNotContain("summarize", query, StringComparison.Ordinal);
    }

    [Fact]
    public void Reconsents_alert_above_a_threshold_in_15_minutes()
    {
        var rule = Rules["reconsents"];
        var query = (string)rule["query"]!;

        Assert.Equal("PT15M", (string?)rule["windowSize"]);
        Assert.Contains("toint(Properties[\"EventId\"]) == 2002", query, StringComparison.Ordinal);
        Assert.Contains("sum(ItemCount)", query, StringComparison.Ordinal);
        Assert.Contains("format('| where Reconsents > {0}', parameters('reconsentThreshold'))", query, StringComparison.Ordinal);
        Assert.Equal(5, (int?)Alerts.Template["parameters"]!["reconsentThreshold"]!["defaultValue"]);
    }

    [Fact]
    public void The_renewal_failure_rate_alerts_on_failed_over_attempted_with_a_minimum_of_attempts()
    {
        var rule = Rules["renewal-failure-rate"];
        var query = (string)rule["query"]!;

        Assert.Equal("PT15M", (string?)rule["windowSize"]);
        Assert.Contains("EventId in (2001, 2002, 2003)", query, StringComparison.Ordinal);
        Assert.Contains("sumif(ItemCount, EventId == 2003)", query, StringComparison.Ordinal);
        Assert.Contains("format('| where Attempts >= {0} and Failed * 100 >= {1} * Attempts', parameters('renewalMinimumAttempts'), parameters('renewalFailurePercent'))", query, StringComparison.Ordinal);
        Assert.Equal(20, (int?)Alerts.Template["parameters"]!["renewalFailurePercent"]!["defaultValue"]);
    }

    [Fact]
    public void A_message_moved_to_the_renewal_poison_queue_alerts_from_the_queues_own_log()
    {
        var rule = Rules["renewal-poison-queue"];
        var query = (string)rule["query"]!;

        Assert.Equal(1, (int?)rule["severity"]);
        Assert.Contains("StorageQueueLogs | where OperationName == \"PutMessage\" and Uri contains \"/renewals-poison/messages\"", query, StringComparison.Ordinal);
        Assert.Contains("AppTraces | where Message has \"renewals-poison\"", query, StringComparison.Ordinal);
        // The queue log comes from the queue service's diagnostic setting, with writes on.
        var queueLogs = compiled.ModuleWith("Microsoft.Insights/diagnosticSettings").ResourcesOfType("Microsoft.Insights/diagnosticSettings")
            .Single(setting => ((string?)setting["scope"])!.Contains("queueServices", StringComparison.Ordinal));
        Assert.Contains(queueLogs["properties"]!["logs"]!.AsArray(), log => (string?)log!["category"] == "StorageWrite" && (bool?)log["enabled"] == true);
    }

    [Fact]
    public void An_event_delivery_given_up_alerts_at_once_on_log_event_5003_or_its_message()
    {
        var rule = Rules["event-delivery-given-up"];
        var query = (string)rule["query"]!;

        Assert.Equal(2, (int?)rule["severity"]);
        Assert.Equal("PT5M", (string?)rule["windowSize"]);
        Assert.Contains("AppTraces", query, StringComparison.Ordinal);
        Assert.Contains("toint(Properties[\"EventId\"]) == 5003", query, StringComparison.Ordinal);
        Assert.Contains("Message has \"could not be delivered in\"", query, StringComparison.Ordinal);
        Assert.DoesNotContain("summarize", query, StringComparison.Ordinal);

        // The text matched is the app's own log line for an event given up (Log.EventDeliveryFailed).
        var log = File.ReadAllText(Repo.PathTo("src", "FreshBooksConnect", "Diagnostics", "Log.Events.cs"));
        Assert.Matches(@"\[LoggerMessage\(5003, LogLevel\.Error, ""[^""]*could not be delivered in \{Attempts\} tries", log);
    }

    [Fact]
    public void Failed_function_executions_alert_above_a_threshold()
    {
        var query = (string)Rules["function-failures"]["query"]!;

        Assert.Contains("AppRequests", query, StringComparison.Ordinal);
        Assert.Contains("Success == false", query, StringComparison.Ordinal);
        Assert.Contains("parameters('functionFailureThreshold')", query, StringComparison.Ordinal);
    }

    [Fact]
    public void The_action_group_e_mails_only_when_an_address_is_given()
    {
        var group = Alerts.Resource("Microsoft.Insights/actionGroups");

        Assert.Equal("global", (string?)group["location"]);
        Assert.True(((string?)group["properties"]!["groupShortName"])!.Length <= 12);
        Assert.Equal(
            "[if(empty(parameters('alertEmail')), createArray(), createArray(createObject('name', 'operator', 'emailAddress', parameters('alertEmail'), 'useCommonAlertSchema', true())))]",
            (string?)group["properties"]!["emailReceivers"]);
        Assert.Equal("[parameters('alertEmail')]", (string?)Alerts.Resolve(JsonValue.Create("[parameters('alertEmail')]")));
        Assert.Equal("", (string?)compiled.Root["parameters"]!["alertEmail"]!["defaultValue"]);
    }

    [Fact]
    public void The_workbook_charts_renewals_latency_connections_consents_and_the_token_api_from_the_workspace()
    {
        var module = compiled.ModuleWith("Microsoft.Insights/workbooks");
        var workbook = module.Resource("Microsoft.Insights/workbooks");
        var data = module.Template["variables"]!["workbook"]!;

        Assert.Equal("shared", (string?)workbook["kind"]);
        Assert.Equal("[string(variables('workbook'))]", (string?)workbook["properties"]!["serializedData"]);
        Assert.Equal("[resourceId('Microsoft.Insights/components', parameters('applicationInsightsName'))]", (string?)workbook["properties"]!["sourceId"]);
        Assert.StartsWith("[guid(", (string?)workbook["name"], StringComparison.Ordinal);
        Assert.Equal("Notebook/1.0", (string?)data["version"]);

        var charts = data["items"]!.AsArray().Select(item => item!.ToString()).Where(item => item.StartsWith("[__bicep.chart(", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, charts.Count);
        Assert.All(charts, chart => Assert.EndsWith("parameters('logAnalyticsWorkspaceId'))]", chart, StringComparison.Ordinal));
        string Chart(string name) => Assert.Single(charts, chart => chart.StartsWith($"[__bicep.chart('{name}'", StringComparison.Ordinal));

        Assert.Contains("Name == \"freshbooks.renewals\"", Chart("renewals-by-outcome"), StringComparison.Ordinal);
        Assert.Contains("Properties[\"outcome\"]", Chart("renewals-by-outcome"), StringComparison.Ordinal);
        Assert.Contains("AppDependencies", Chart("refresh-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("Name == \"freshbooks.refresh\"", Chart("refresh-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("percentile(DurationMs, 50)", Chart("refresh-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("percentile(DurationMs, 95)", Chart("refresh-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("Name == \"freshbooks.refresh.duration\"", Chart("refresh-duration"), StringComparison.Ordinal);
        Assert.Contains("Name == \"freshbooks.connections\"", Chart("connections-by-status"), StringComparison.Ordinal);
        Assert.Contains("Properties[\"status\"]", Chart("connections-by-status"), StringComparison.Ordinal);
        Assert.Contains("Name == \"freshbooks.consents\"", Chart("consents-per-day"), StringComparison.Ordinal);
        Assert.Contains("bin(TimeGenerated, 1d)", Chart("consents-per-day"), StringComparison.Ordinal);
        Assert.Contains("AppDependencies", Chart("token-api-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("Name == \"token.request\"", Chart("token-api-latency-percentiles"), StringComparison.Ordinal);
        Assert.Contains("Name == \"freshbooks.token_request.duration\"", Chart("token-api-duration"), StringComparison.Ordinal);

        // Each chart is a Log Analytics query over the workspace, on the workbook's time range.
        var chartFunction = module.Template["functions"]![0]!["members"]!["chart"]!["output"]!["value"]!["content"]!;
        Assert.Equal(0, (int?)chartFunction["queryType"]);
        Assert.Equal("microsoft.operationalinsights/workspaces", (string?)chartFunction["resourceType"]);
        Assert.Equal("TimeRange", (string?)chartFunction["timeContextFromParameter"]);
    }

    [Fact]
    public void Key_Vault_audit_and_storage_table_queue_and_blob_logs_go_to_the_workspace()
    {
        var module = compiled.ModuleWith("Microsoft.Insights/diagnosticSettings");
        var settings = module.ResourcesOfType("Microsoft.Insights/diagnosticSettings").ToList();
        List<string> Categories(string scopePart) =>
            Assert.Single(settings, setting => ((string?)setting["scope"])!.Contains(scopePart, StringComparison.Ordinal))["properties"]!["logs"]!.AsArray()
                .Where(log => (bool?)log!["enabled"] == true)
                .Select(log => (string)log!["category"]!)
                .Order(StringComparer.Ordinal)
                .ToList();

        Assert.Equal(4, settings.Count);
        Assert.All(settings, setting => Assert.Equal("[parameters('logAnalyticsWorkspaceId')]", (string?)setting["properties"]!["workspaceId"]));
        Assert.Equal(["AuditEvent"], Categories("Microsoft.KeyVault/vaults"));
        Assert.Equal(["StorageDelete", "StorageRead", "StorageWrite"], Categories("tableServices"));
        Assert.Equal(["StorageDelete", "StorageWrite"], Categories("queueServices"));
        Assert.Equal(["StorageDelete", "StorageWrite"], Categories("blobServices"));
        Assert.Contains(".outputs.logAnalyticsWorkspaceId.value", module.Deployment["properties"]!["parameters"]!["logAnalyticsWorkspaceId"]!["value"]!.ToString(), StringComparison.Ordinal);
    }
}
