using System.Net;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Time.Testing;

namespace FreshBooksConnect.LocalHost.Tests;

public sealed class TimerTriggerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task InvokeAsync_runs_a_timer_function_now_with_a_TimerInfo()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var options = SampleApp.Options();
        options.TimerTimeProvider = clock;
        await using var host = await LocalFunctionsHost.StartAsync(options);

        await host.InvokeAsync("Tick");

        var timer = Assert.IsType<TimerInfo>(Assert.Single(host.Log().All).Input);
        Assert.False(timer.IsPastDue);
        Assert.NotNull(timer.ScheduleStatus);
        Assert.Equal(new DateTime(2031, 1, 1, 0, 0, 0, DateTimeKind.Utc), timer.ScheduleStatus.Next);
        Assert.Equal(clock.GetUtcNow().UtcDateTime, timer.ScheduleStatus.LastUpdated);
    }

    [Fact]
    public async Task The_admin_endpoint_runs_a_timer_function_with_the_master_key_and_answers_202()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var withoutKey = await client.PostAsync("admin/functions/Tick", new StringContent("{}"));
        var withFunctionKey = await client.PostAsync($"admin/functions/Tick?code={Uri.EscapeDataString(host.FunctionKey)}", new StringContent("{}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "admin/functions/Tick") { Content = new StringContent("{}") };
        request.Headers.Add("x-functions-key", host.MasterKey);
        var accepted = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, withFunctionKey.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var run = await host.Log().WaitForAsync(i => i.FunctionName == "Tick", Wait);
        Assert.False(Assert.IsType<TimerInfo>(run.Input).IsPastDue);
    }

    [Fact]
    public async Task The_admin_endpoint_refuses_unknown_and_HTTP_functions()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();
        var code = Uri.EscapeDataString(host.MasterKey);

        var unknown = await client.PostAsync($"admin/functions/Nope?code={code}", new StringContent("{}"));
        var http = await client.PostAsync($"admin/functions/Hello?code={code}", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, http.StatusCode);
        Assert.Equal("application/problem+json", http.Content.Headers.ContentType?.MediaType);
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.InvokeAsync("Hello"));
        await Assert.ThrowsAsync<ArgumentException>(() => host.InvokeAsync("Nope"));
    }

    [Fact]
    public async Task A_timer_fires_on_its_schedule_from_the_settings_and_coalesces_missed_occurrences_as_past_due()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 5, TimeSpan.Zero));
        var options = SampleApp.Options();
        options.Settings["SampleSchedule"] = "*/10 * * * * *";
        options.TimerTimeProvider = clock;
        await using var host = await LocalFunctionsHost.StartAsync(options);
        var log = host.Log();

        clock.Advance(TimeSpan.FromSeconds(5)); // 00:00:10, the first occurrence
        var onTime = await log.WaitForAsync(i => i.FunctionName == "Tick", Wait);
        clock.Advance(TimeSpan.FromSeconds(60)); // 00:01:10: 00:00:20 ... 00:01:10 are all due
        var late = await log.WaitForAsync(i => i.FunctionName == "Tick" && i != onTime, Wait);

        var first = Assert.IsType<TimerInfo>(onTime.Input);
        Assert.False(first.IsPastDue);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 20, DateTimeKind.Utc), first.ScheduleStatus!.Next);
        var second = Assert.IsType<TimerInfo>(late.Input);
        Assert.True(second.IsPastDue);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 10, DateTimeKind.Utc), second.ScheduleStatus!.Last);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 1, 20, DateTimeKind.Utc), second.ScheduleStatus.Next);
        Assert.Equal(2, log.All.Count);
    }

    [Fact]
    public async Task RunOnStartup_runs_the_timer_once_at_start_and_double_underscore_settings_resolve_to_nested_keys()
    {
        var metadata = SampleApp.Metadata(SampleApp.Directory);
        var tick = metadata.Single(f => f!["name"]!.GetValue<string>() == "Tick")!["bindings"]![0]!.AsObject();
        tick["schedule"] = "%Sample__Schedule%";
        tick["runOnStartup"] = true;
        using var app = TempFunctionApp.Create(metadata, File.ReadAllText(Path.Combine(SampleApp.Directory, "host.json")));
        var options = SampleApp.Options();
        options.FunctionAppDirectory = app.Directory;
        options.Settings.Remove("SampleSchedule");
        options.Settings["Sample:Schedule"] = "0 0 0 1 1 *";

        await using var host = await LocalFunctionsHost.StartAsync(options);

        var run = await host.Log().WaitForAsync(i => i.FunctionName == "Tick", Wait);
        Assert.False(Assert.IsType<TimerInfo>(run.Input).IsPastDue);
        Assert.True(host.Functions.Single(f => f.Name == "Tick").RunOnStartup);
        Assert.Equal("%Sample__Schedule%", host.Functions.Single(f => f.Name == "Tick").Schedule);
    }

    [Fact]
    public async Task Timers_do_not_run_when_RunTimers_is_off_but_still_run_on_demand()
    {
        var metadata = SampleApp.Metadata(SampleApp.Directory);
        metadata.Single(f => f!["name"]!.GetValue<string>() == "Tick")!["bindings"]![0]!.AsObject()["runOnStartup"] = true;
        using var app = TempFunctionApp.Create(metadata);
        var options = SampleApp.Options();
        options.FunctionAppDirectory = app.Directory;
        options.RunTimers = false;
        options.Settings.Remove("SampleSchedule"); // not needed unless it runs

        await using var host = await LocalFunctionsHost.StartAsync(options);
        Assert.Empty(host.Log().All);
        await host.InvokeAsync("Tick");

        var timer = Assert.IsType<TimerInfo>(Assert.Single(host.Log().All).Input);
        Assert.Null(timer.ScheduleStatus); // the schedule's setting is not there to compute it
    }
}
