using System.Net;
using System.Text.RegularExpressions;

namespace FreshBooksConnect.LocalHost.Tests;

/// <summary>The local host against the product's function app, whatever functions it has today.</summary>
public sealed partial class RealFunctionAppTests
{
    [Fact]
    public async Task Routes_served_equal_the_real_function_app_functions_metadata()
    {
        await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
        {
            FunctionAppDirectory = SampleApp.RealAppDirectory,
            LoadLocalSettingsFile = false,
            RunTimers = false,
            RunQueues = false,
        });
        using var client = host.Client();

        var listing = await HttpTriggerTests.ListAsync(client, host.MasterKey);

        Assert.Equal(HttpTriggerTests.ExpectedHttpRoutes(SampleApp.RealAppDirectory), HttpTriggerTests.ServedHttpRoutes(listing));
        Assert.Equal(
            SampleApp.Metadata(SampleApp.RealAppDirectory).Select(f => f!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal),
            host.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));

        // Over HTTP, without running any function: a keyed route refuses a request without a key, and a method the
        // function doesn't declare is 405 (the route is there, for those methods only).
        foreach (var function in host.Functions.Where(f => f.TriggerType == LocalTriggerType.Http))
        {
            var path = RouteParameter().Replace(function.Route!, "1");
            if (path.Contains('{', StringComparison.Ordinal))
            {
                continue; // a constrained or catch-all parameter: no generic value to probe with
            }

            if (function.AuthLevel != Microsoft.Azure.Functions.Worker.AuthorizationLevel.Anonymous && function.Methods.Count > 0)
            {
                var unauthorized = await client.SendAsync(new HttpRequestMessage(new HttpMethod(function.Methods[0]), path));
                Assert.True(unauthorized.StatusCode == HttpStatusCode.Unauthorized, $"{function.Name}: {unauthorized.StatusCode}");
            }

            var otherMethod = new[] { "PUT", "PATCH", "DELETE", "POST", "GET" }.FirstOrDefault(m => !function.Methods.Contains(m) &&
                !host.Functions.Any(f => f.Route == function.Route && f.Methods.Contains(m)));
            if (function.Methods.Count > 0 && otherMethod is not null)
            {
                var notAllowed = await client.SendAsync(new HttpRequestMessage(new HttpMethod(otherMethod), path));
                Assert.True(notAllowed.StatusCode == HttpStatusCode.MethodNotAllowed, $"{function.Name} {otherMethod}: {notAllowed.StatusCode}");
            }
        }
    }

    [GeneratedRegex(@"\{[A-Za-z0-9_]+\??\}")]
    private static partial Regex RouteParameter();
}
