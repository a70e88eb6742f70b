using System.Diagnostics;
using System.Text.Json;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Tests;

public sealed class TelemetryTests
{
    [Theory]
    [InlineData("ClientId=6f1c2a4e-93b7-4d0a-b5e2-7c8d9e0f1a2b;Authorization=AAD", true, "6f1c2a4e-93b7-4d0a-b5e2-7c8d9e0f1a2b")]
    [InlineData("Authorization=AAD", true, null)]
    [InlineData(" authorization = aad ; clientid = abc ", true, "abc")]
    [InlineData("ClientId=abc", false, null)]
    [InlineData("Authorization=Key", false, null)]
    [InlineData("garbage", false, null)]
    public void The_authentication_string_names_the_managed_identity_the_exporter_signs_in_as(string value, bool entra, string? clientId)
    {
        var options = new TelemetryOptions { ApplicationInsightsAuthentication = value };

        Assert.Equal(entra, options.TryGetManagedIdentity(out var id));
        if (entra)
        {
            Assert.Equal(clientId, id);
        }
    }

    [Theory]
    [InlineData("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=Key")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")]
    [InlineData("Telemetry:SummaryInterval", "00:00:00.100")]
    public void A_malformed_telemetry_setting_stops_the_app_at_start_up_naming_it(string setting, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create<string, string?>(setting, value)]).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddFreshBooksConnectTelemetry(configuration);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(setting.Replace(":", "__", StringComparison.Ordinal), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_query_string_survives_on_a_span()
    {
        using var span = new Activity("GET api/callback?code=abc").Start();
        span.SetTag("url.query", "?code=abc&state=xyz");
        span.SetTag("url.full", "http://localhost/api/connect?link=secret");
        span.SetTag("url.path", "/api/connect");

        new QueryStringRedaction().OnEnd(span);

        Assert.Null(span.GetTagItem("url.query"));
        Assert.Equal("http://localhost/api/connect", span.GetTagItem("url.full"));
        Assert.Equal("/api/connect", span.GetTagItem("url.path"));
        Assert.Equal("GET api/callback", span.DisplayName);
    }

    [Fact]
    public void A_renewal_message_queued_before_trace_context_was_carried_still_reads()
    {
        var old = JsonSerializer.Deserialize<RenewalMessage>("""{"connectionId":"t-acme","renewAt":"2026-11-30T12:00:00+00:00"}""", new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

        Assert.Equal(new RenewalMessage("t-acme", DateTimeOffset.Parse("2026-11-30T12:00:00+00:00", System.Globalization.CultureInfo.InvariantCulture)), old);
        Assert.Null(old.TraceParent);
    }

    [Theory]
    [InlineData(RenewalOutcome.NeedsReconsent, "needs_reconsent")]
    [InlineData(RenewalOutcome.Renewed, "renewed")]
    [InlineData(FreshBooks.FreshBooksOutcome.InvalidGrant, "invalid_grant")]
    public void Outcomes_are_tagged_as_snake_case_words(Enum outcome, string tag) => Assert.Equal(tag, ConnectTelemetry.TagValue(outcome));
}
