using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LocalHostSample.Functions;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Tests;

public sealed class HttpTriggerTests
{
    [Fact]
    public async Task Routes_served_equal_the_sample_functions_metadata()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var listing = await ListAsync(client, host.MasterKey);

        Assert.Equal(ExpectedHttpRoutes(SampleApp.Directory), ServedHttpRoutes(listing));
        Assert.Equal(
            ["Orders:queueTrigger", "TextQueue:queueTrigger", "Tick:timerTrigger"],
            listing.Where(f => f.GetProperty("trigger").GetString() != "httpTrigger")
                .Select(f => $"{f.GetProperty("name").GetString()}:{f.GetProperty("trigger").GetString()}")
                .Order(StringComparer.Ordinal));
        Assert.Equal(SampleApp.Metadata(SampleApp.Directory).Count, host.Functions.Count);
    }

    [Fact]
    public async Task Anonymous_get_binds_route_values_into_parameters()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var hello = await client.GetFromJsonAsync<JsonElement>("sample/hello/World");
        var item = await client.GetFromJsonAsync<JsonElement>("sample/items/21/blue");
        var itemWithoutLabel = await client.GetFromJsonAsync<JsonElement>("sample/items/7");
        var notAnInt = await client.GetAsync("sample/items/abc");

        Assert.Equal("Hello, World", hello.GetProperty("greeting").GetString());
        Assert.Equal(21, item.GetProperty("id").GetInt32());
        Assert.Equal("blue", item.GetProperty("label").GetString());
        Assert.Equal(JsonValueKind.Null, itemWithoutLabel.GetProperty("label").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, notAnInt.StatusCode);
    }

    [Fact]
    public async Task A_method_the_function_does_not_declare_is_405()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var response = await client.PostAsync("sample/hello/World", content: null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Function_level_accepts_the_function_key_in_the_header_or_the_code_query_and_the_master_key()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        using var withHeader = new HttpRequestMessage(HttpMethod.Post, "sample/echo") { Content = new StringContent("from header") };
        withHeader.Headers.Add("x-functions-key", host.FunctionKey);
        var byHeader = await client.SendAsync(withHeader);
        var byQuery = await client.PostAsync($"sample/echo?code={Uri.EscapeDataString(host.FunctionKey)}", new StringContent("from query"));
        var byMaster = await client.PostAsync($"sample/echo?code={Uri.EscapeDataString(host.MasterKey)}", new StringContent("from master"));

        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal("from header", await byHeader.Content.ReadAsStringAsync());
        Assert.Equal("from query", await byQuery.Content.ReadAsStringAsync());
        Assert.Equal("from master", await byMaster.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_missing_or_wrong_key_is_401_problem_json_that_does_not_echo_the_key()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();
        const string wrongKey = "wrong-key-0123456789";

        var missing = await client.PostAsync("sample/echo", new StringContent("x"));
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "sample/echo") { Content = new StringContent("x") };
        wrong.Headers.Add("x-functions-key", wrongKey);
        var wrongResponse = await client.SendAsync(wrong);
        var wrongQuery = await client.PostAsync($"sample/echo?code={wrongKey}", new StringContent("x"));

        foreach (var response in new[] { missing, wrongResponse, wrongQuery })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.CacheControl?.NoStore);
            Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
            var body = await response.Content.ReadAsStringAsync();
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(401, problem.GetProperty("status").GetInt32());
            Assert.Equal("Unauthorized", problem.GetProperty("title").GetString());
            Assert.DoesNotContain(wrongKey, body, StringComparison.Ordinal);
            Assert.DoesNotContain(host.FunctionKey, body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Admin_level_needs_the_master_key()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var withFunctionKey = await client.GetAsync($"sample/stats?code={Uri.EscapeDataString(host.FunctionKey)}");
        var withMasterKey = await client.GetAsync($"sample/stats?code={Uri.EscapeDataString(host.MasterKey)}");

        Assert.Equal(HttpStatusCode.Unauthorized, withFunctionKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withMasterKey.StatusCode);
    }

    [Fact]
    public async Task Keys_come_from_the_LocalHost_settings_when_set()
    {
        var options = SampleApp.Options();
        options.Settings["LocalHost:FunctionKey"] = "configured-function-key";
        options.Settings["LocalHost:MasterKey"] = "configured-master-key";
        await using var host = await LocalFunctionsHost.StartAsync(options);
        using var client = host.Client();

        var response = await client.PostAsync("sample/echo?code=configured-function-key", new StringContent("ok"));
        var summary = new StringWriter();
        host.WriteSummary(summary);

        Assert.Equal("configured-function-key", host.FunctionKey);
        Assert.Equal("configured-master-key", host.MasterKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("configured-master-key", summary.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generated_keys_differ_per_run_and_are_printed_in_the_summary()
    {
        await using var first = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        await using var second = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        var summary = new StringWriter();
        first.WriteSummary(summary);

        Assert.NotEqual(first.FunctionKey, second.FunctionKey);
        Assert.NotEqual(first.FunctionKey, first.MasterKey);
        Assert.True(first.MasterKey.Length >= 40);
        Assert.Contains(first.FunctionKey, summary.ToString(), StringComparison.Ordinal);
        Assert.Contains(first.MasterKey, summary.ToString(), StringComparison.Ordinal);
        Assert.Contains($"Hello: [GET] {first.BaseUri}sample/hello/{{name}}  (Anonymous)", summary.ToString(), StringComparison.Ordinal);
        Assert.Contains($"Echo: [POST] {first.BaseUri}sample/echo  (Function)", summary.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionContext_and_CancellationToken_are_bound_with_one_scope_per_invocation()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var first = await client.GetFromJsonAsync<JsonElement>("sample/context");
        var second = await client.GetFromJsonAsync<JsonElement>("sample/context");

        Assert.Equal("Context", first.GetProperty("functionName").GetString());
        Assert.Equal(host.Functions.Single(f => f.Name == "Context").Name, first.GetProperty("functionName").GetString());
        Assert.True(first.GetProperty("sameRequest").GetBoolean());
        Assert.True(first.GetProperty("sameScope").GetBoolean());
        Assert.True(first.GetProperty("tokenCanBeCanceled").GetBoolean());
        Assert.True(first.GetProperty("sameToken").GetBoolean());
        Assert.NotEqual(first.GetProperty("invocationId").GetString(), second.GetProperty("invocationId").GetString());
        Assert.NotEqual(first.GetProperty("scopeId").GetString(), second.GetProperty("scopeId").GetString());
        Assert.Equal(first.GetProperty("functionId").GetString(), second.GetProperty("functionId").GetString());
    }

    [Fact]
    public async Task A_static_function_returning_IResult_is_served()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var get = await client.GetStringAsync("sample/ping");
        var post = await client.PostAsync("sample/ping", content: null);

        Assert.Equal("pong", get);
        Assert.Equal("pong", await post.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_throwing_function_answers_500_problem_json_without_the_exception_and_logs_it()
    {
        var logs = new LogCollector();
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options(logs));
        using var client = host.Client();

        var response = await client.GetAsync("sample/boom");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(500, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain(BoomFunction.SecretDetail, body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        var logged = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error && e.Exception is not null);
        Assert.Contains("Functions.Boom", logged.Message, StringComparison.Ordinal);
        Assert.Contains(BoomFunction.SecretDetail, logged.Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invocation_cut_short_by_the_instance_stopping_answers_503_with_Retry_After_while_its_client_waits()
    {
        var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var call = client.GetAsync("sample/wait");
        await host.Log().WaitForAsync(i => i.FunctionName == "Wait", TimeSpan.FromSeconds(20));
        var stopping = host.DisposeAsync().AsTask();
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        await stopping;

        // Not a 500: nothing went wrong with the request, and the client can send it again (to another instance).
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("This instance is stopping", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_function_disabled_by_setting_is_not_served()
    {
        var options = SampleApp.Options();
        options.Settings["AzureWebJobs.Hello.Disabled"] = "true";
        await using var host = await LocalFunctionsHost.StartAsync(options);
        using var client = host.Client();

        var response = await client.GetAsync("sample/hello/World");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.True(host.Functions.Single(f => f.Name == "Hello").IsDisabled);
    }

    [Fact]
    public async Task The_function_listing_needs_the_master_key()
    {
        await using var host = await LocalFunctionsHost.StartAsync(SampleApp.Options());
        using var client = host.Client();

        var anonymous = await client.GetAsync("admin/functions");
        var functionKey = await client.GetAsync($"admin/functions?code={Uri.EscapeDataString(host.FunctionKey)}");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, functionKey.StatusCode);
    }

    internal static async Task<JsonElement[]> ListAsync(HttpClient client, string masterKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/functions");
        request.Headers.Add("x-functions-key", masterKey);
        var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement[]>())!;
    }

    /// <summary>"name route [METHODS] level" for every HTTP function of a functions.metadata, prefix applied.</summary>
    internal static IEnumerable<string> ExpectedHttpRoutes(string functionAppDirectory)
    {
        var prefix = SampleApp.RoutePrefix(functionAppDirectory);
        return SampleApp.Metadata(functionAppDirectory)
            .Select(f => (Name: f!["name"]!.GetValue<string>(), Trigger: f["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>().EndsWith("Trigger", StringComparison.Ordinal))!))
            .Where(f => f.Trigger["type"]!.GetValue<string>() == "httpTrigger")
            .Select(f =>
            {
                var route = f.Trigger["route"]?.GetValue<string>() ?? f.Name;
                var methods = (f.Trigger["methods"]?.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()) ?? []).Order(StringComparer.Ordinal);
                var served = prefix.Length == 0 ? route : $"{prefix}/{route}";
                return $"{f.Name} {served} [{string.Join(",", methods)}] {f.Trigger["authLevel"]!.GetValue<string>()}";
            })
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The same, from the host's listing (which reads the routing table).</summary>
    internal static IEnumerable<string> ServedHttpRoutes(IEnumerable<JsonElement> listing) =>
        listing.Where(f => f.GetProperty("trigger").GetString() == "httpTrigger")
            .Select(f =>
            {
                var methods = f.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).Order(StringComparer.Ordinal);
                return $"{f.GetProperty("name").GetString()} {f.GetProperty("route").GetString()} [{string.Join(",", methods)}] {f.GetProperty("authLevel").GetString()}";
            })
            .Order(StringComparer.Ordinal);
}
