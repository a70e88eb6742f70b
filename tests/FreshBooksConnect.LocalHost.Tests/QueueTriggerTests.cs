using System.Net;
using Azure.Storage.Queues;
using FreshBooksConnect.Testing;
using LocalHostSample.Functions;

namespace FreshBooksConnect.LocalHost.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class QueueTriggerTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_base64_message_on_the_queue_runs_the_string_function_and_is_deleted()
    {
        await using var host = await StartAsync(out var options);
        var queue = await QueueAsync(options.Settings["SampleTextQueue"]!);

        await queue.SendMessageAsync("hello from the queue");

        var run = await host.Log().WaitForAsync(i => i.FunctionName == "TextQueue", Wait);
        Assert.Equal("hello from the queue", run.Input);
        await EventuallyEmptyAsync(queue);
    }

    [Fact]
    public async Task A_JSON_message_binds_to_a_POCO_on_a_named_connection_and_a_queue_name_from_a_setting()
    {
        await using var host = await StartAsync(out var options);
        var queue = await QueueAsync(options.Settings["SampleOrdersQueue"]!);

        await queue.SendMessageAsync("""{"orderId":"A-1","quantity":3}""");

        var run = await host.Log().WaitForAsync(i => i.FunctionName == "Orders", Wait);
        Assert.Equal(new SampleOrder("A-1", 3), run.Input);
        await EventuallyEmptyAsync(queue);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_moves_to_the_poison_queue_after_maxDequeueCount()
    {
        await using var host = await StartAsync(out var options);
        var name = options.Settings["SampleTextQueue"]!;
        var queue = await QueueAsync(name);
        var poison = await QueueAsync(name + "-poison");

        await queue.SendMessageAsync("fail: always");

        var poisoned = await EventuallyAsync(async () => (await poison.ReceiveMessagesAsync(1)).Value.SingleOrDefault());
        Assert.Equal("fail: always", poisoned.Body.ToString());
        Assert.Equal(2, host.Log().All.Count(i => i.FunctionName == "TextQueue")); // sample host.json: maxDequeueCount 2
        await EventuallyEmptyAsync(queue);
    }

    [Fact]
    public async Task Several_messages_run_and_all_are_deleted()
    {
        await using var host = await StartAsync(out var options);
        var queue = await QueueAsync(options.Settings["SampleTextQueue"]!);

        var texts = Enumerable.Range(0, 10).Select(i => $"message {i}").ToArray();
        foreach (var text in texts)
        {
            await queue.SendMessageAsync(text);
        }

        foreach (var text in texts)
        {
            await host.Log().WaitForAsync(i => i.FunctionName == "TextQueue" && (string?)i.Input == text, Wait);
        }

        await EventuallyEmptyAsync(queue);
    }

    [Fact]
    public async Task The_admin_endpoint_and_InvokeAsync_run_a_queue_function_with_the_given_input()
    {
        await using var host = await StartAsync(out _);
        using var client = host.Client();

        using var request = new HttpRequestMessage(HttpMethod.Post, "admin/functions/TextQueue")
        {
            Content = new StringContent("""{"input": "via admin"}"""),
        };
        request.Headers.Add("x-functions-key", host.MasterKey);
        var accepted = await client.SendAsync(request);
        var missingInput = await client.PostAsync($"admin/functions/TextQueue?code={Uri.EscapeDataString(host.MasterKey)}", new StringContent("{}"));
        await host.InvokeAsync("Orders", """{"orderId":"B-2","quantity":1}""");

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missingInput.StatusCode);
        Assert.Equal("via admin", (await host.Log().WaitForAsync(i => i.FunctionName == "TextQueue", Wait)).Input);
        Assert.Equal(new SampleOrder("B-2", 1), host.Log().All.Single(i => i.FunctionName == "Orders").Input);
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.InvokeAsync("TextQueue", "fail on demand"));
    }

    private Task<LocalFunctionsHost> StartAsync(out LocalHostOptions options)
    {
        options = SampleApp.Options();
        options.RunQueues = true;
        options.Settings["AzureWebJobsStorage"] = azurite.ConnectionString;
        options.Settings["SampleStorage"] = azurite.ConnectionString;
        return LocalFunctionsHost.StartAsync(options);
    }

    private async Task<QueueClient> QueueAsync(string name)
    {
        var queue = new QueueClient(azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    private static async Task EventuallyEmptyAsync(QueueClient queue) =>
        await EventuallyAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0 ? true : (bool?)null);

    /// <summary>Polls an external effect (Azurite's state) until it shows, for at most 30 s.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(100, timeout.Token);
        }
    }
}
