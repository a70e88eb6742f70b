using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.LocalHost.Tests;

public sealed class StartupValidationTests
{
    private const string TestAssembly = "FreshBooksConnect.LocalHost.Tests.dll";
    private const string SampleAssembly = "LocalHostSample.Functions.dll";

    [Fact]
    public async Task An_unsupported_trigger_fails_start_up_naming_the_function_and_the_trigger()
    {
        using var app = TempFunctionApp.Create([
            TempFunctionApp.Function("FromBus", SampleAssembly, "LocalHostSample.Functions.TickFunction.Run",
                new JsonObject { ["name"] = "timer", ["direction"] = "In", ["type"] = "serviceBusTrigger", ["queueName"] = "q" }),
        ]);

        var error = await Assert.ThrowsAsync<LocalHostStartupException>(() => StartAsync(app));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("Function 'FromBus'", problem, StringComparison.Ordinal);
        Assert.Contains("serviceBusTrigger", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsupported_parameters_bindings_and_return_types_fail_start_up_each_named()
    {
        var entryPoint = typeof(UnsupportedFunctions).FullName!;
        using var app = TempFunctionApp.Create([
            TempFunctionApp.Function("TimerWithUri", TestAssembly, $"{entryPoint}.{nameof(UnsupportedFunctions.TimerWithUri)}",
                Trigger("timer", "timerTrigger", ("schedule", "0 0 0 1 1 *"))),
            TempFunctionApp.Function("TimerTakingRequest", TestAssembly, $"{entryPoint}.{nameof(UnsupportedFunctions.TimerTakingRequest)}",
                Trigger("timer", "timerTrigger", ("schedule", "0 0 0 1 1 *"))),
            TempFunctionApp.Function("HttpReturningString", TestAssembly, $"{entryPoint}.{nameof(UnsupportedFunctions.HttpReturningString)}",
                Trigger("request", "httpTrigger", ("authLevel", "Anonymous")),
                new JsonObject { ["name"] = "$return", ["type"] = "http", ["direction"] = "Out" }),
            TempFunctionApp.Function("QueueOutput", TestAssembly, $"{entryPoint}.{nameof(UnsupportedFunctions.QueueOutput)}",
                Trigger("message", "queueTrigger", ("queueName", "in")),
                new JsonObject { ["name"] = "$return", ["type"] = "queue", ["direction"] = "Out", ["queueName"] = "out" }),
            TempFunctionApp.Function("BlobInput", TestAssembly, $"{entryPoint}.{nameof(UnsupportedFunctions.BlobInput)}",
                Trigger("message", "queueTrigger", ("queueName", "in")),
                new JsonObject { ["name"] = "blob", ["type"] = "blob", ["direction"] = "In", ["blobPath"] = "c/b" }),
            TempFunctionApp.Function("Missing", TestAssembly, $"{entryPoint}.NoSuchMethod",
                Trigger("timer", "timerTrigger", ("schedule", "0 0 0 1 1 *"))),
        ]);

        var error = await Assert.ThrowsAsync<LocalHostStartupException>(() => StartAsync(app));

        Assert.Contains(error.Problems, p => p.Contains("Function 'TimerWithUri'", StringComparison.Ordinal) && p.Contains("parameter 'target' (Uri)", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'TimerTakingRequest'", StringComparison.Ordinal) && p.Contains("parameter 'timer' (HttpRequest)", StringComparison.Ordinal) && p.Contains("TimerInfo", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'HttpReturningString'", StringComparison.Ordinal) && p.Contains("return type String", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'QueueOutput'", StringComparison.Ordinal) && p.Contains("output binding 'queue'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'BlobInput'", StringComparison.Ordinal) && p.Contains("parameter 'blob'", StringComparison.Ordinal) && p.Contains("'blob' binding", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'Missing'", StringComparison.Ordinal) && p.Contains("NoSuchMethod", StringComparison.Ordinal));
        Assert.Contains("Function 'TimerWithUri'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schedule_setting_that_is_missing_fails_start_up_naming_the_function_and_the_setting()
    {
        var options = SampleApp.Options();
        options.Settings.Remove("SampleSchedule");

        var error = await Assert.ThrowsAsync<LocalHostStartupException>(() => LocalFunctionsHost.StartAsync(options));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("Function 'Tick'", problem, StringComparison.Ordinal);
        Assert.Contains("'SampleSchedule'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_schedule_or_a_missing_queue_connection_fails_start_up()
    {
        var options = SampleApp.Options();
        options.Settings["SampleSchedule"] = "*/5 * * * *"; // 5 fields: Functions wants seconds too
        options.RunQueues = true;
        options.Settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";

        var error = await Assert.ThrowsAsync<LocalHostStartupException>(() => LocalFunctionsHost.StartAsync(options));

        Assert.Contains(error.Problems, p => p.Contains("Function 'Tick'", StringComparison.Ordinal) && p.Contains("6-field", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("Function 'Orders'", StringComparison.Ordinal) && p.Contains("'SampleStorage'", StringComparison.Ordinal));
        Assert.DoesNotContain(error.Problems, p => p.Contains("Function 'TextQueue'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_folder_without_functions_metadata_fails_start_up_saying_so()
    {
        var empty = Directory.CreateTempSubdirectory("localhost-empty-").FullName;
        try
        {
            var options = SampleApp.Options();
            options.FunctionAppDirectory = empty;

            var error = await Assert.ThrowsAsync<LocalHostStartupException>(() => LocalFunctionsHost.StartAsync(options));

            Assert.Contains("functions.metadata", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static Task<LocalFunctionsHost> StartAsync(TempFunctionApp app) =>
        LocalFunctionsHost.StartAsync(new LocalHostOptions
        {
            FunctionAppDirectory = app.Directory,
            LoadLocalSettingsFile = false,
            RunQueues = false,
            RunTimers = false,
        });

    private static JsonObject Trigger(string name, string type, params (string Key, string Value)[] properties)
    {
        var binding = new JsonObject { ["name"] = name, ["direction"] = "In", ["type"] = type };
        foreach (var (key, value) in properties)
        {
            binding[key] = value;
        }

        return binding;
    }
}

/// <summary>Methods the local host must refuse (their metadata is written by the tests above).</summary>
public sealed class UnsupportedFunctions
{
    public void TimerWithUri(TimerInfo timer, Uri target)
    {
    }

    public void TimerTakingRequest(HttpRequest timer)
    {
    }

    public string HttpReturningString(HttpRequest request) => "no";

    public string QueueOutput(string message) => message;

    public void BlobInput(string message, string blob)
    {
    }
}
