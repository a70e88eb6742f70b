using FreshBooksConnect.LocalHost;
using Microsoft.Extensions.DependencyInjection;

// Serves the function app like `func start` (Core Tools are not available here):
//   dotnet run --project src/FreshBooksConnect.LocalHost -- --urls http://127.0.0.1:7071
// Settings: local.settings.json "Values" (repo root), then environment variables, then the command line.
await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
{
    Urls = "http://127.0.0.1:7071",
    Args = args,
    ConfigureServices = (services, configuration) =>
    {
        services.AddFreshBooksConnect(configuration);
        services.AddFreshBooksConnectTelemetry(configuration);
    },
});
host.WriteSummary(Console.Out);
await host.WaitForShutdownAsync();
