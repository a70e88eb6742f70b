using System.Net;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using ConnectionsBackup;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Issue 18, item 5: the connections exported as stored (tokens stay encrypted) to a blob, restored into an empty account,
/// and an app on that account reads and renews every connection with the same keys.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class BackupTests(ConnectStack stack, AzuriteFixture empty) : IAsyncLifetime, IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _empty = empty;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Export_then_restore_into_an_empty_account_gives_an_app_every_connection_readable_and_renewable()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await stack.App.ConnectAsync($"backup-{i}")).ConnectionId);
        }

        var store = stack.App.Services.GetRequiredService<IConnectionStore>();
        var reconsent = (await store.GetAsync(ids[0], default))!;
        Assert.True((await store.WriteAsync(reconsent.NeedsReconsent("invalid_grant: test", stack.Clock.GetUtcNow()), default)).Written);
        var source = await stack.ConnectionRowsAsync();

        var environment = new Dictionary<string, string?> { ["SOURCE_STORAGE"] = stack.Azurite.ConnectionString, ["TARGET_STORAGE"] = _empty.ConnectionString };
        var exported = await RunAsync(environment, "export", "--tables", "env:SOURCE_STORAGE", "--blobs", "env:SOURCE_STORAGE", "--container", "connections-backup");
        Assert.True(exported.Code == 0, $"export: exit code {exported.Code}: {exported.Output}");
        var blobName = exported.Output.Split('\n').Select(line => line.Trim()).Single(line => line.StartsWith("blob: ", StringComparison.Ordinal))["blob: ".Length..];

        // As stored: the blob holds the ciphertext, never a token or a key.
        var blob = (await new BlobContainerClient(stack.Azurite.ConnectionString, "connections-backup").GetBlobClient(blobName).DownloadContentAsync()).Value.Content.ToString();
        foreach (var id in ids)
        {
            var connection = (await store.GetAsync(id, default))!;
            Assert.DoesNotContain(connection.AccessToken, blob);
            Assert.DoesNotContain(connection.RefreshToken, blob);
            Assert.Contains(source.Single(r => r.PartitionKey == id).GetString("RefreshToken"), blob);
        }

        Assert.DoesNotContain(stack.EncryptionKey, blob);
        Assert.DoesNotContain(stack.Azurite.ConnectionString, exported.Output);

        var restored = await RunAsync(environment, "restore", "--tables", "env:TARGET_STORAGE", "--blobs", "env:SOURCE_STORAGE", "--container", "connections-backup", "--blob", blobName);
        Assert.True(restored.Code == 0, restored.Output);

        // The restored rows are the exported rows, field for field.
        var target = new TableServiceClient(_empty.ConnectionString).GetTableClient(StorageOptions.ConnectionsTableName);
        foreach (var row in source)
        {
            var copy = (await target.GetEntityAsync<TableEntity>(row.PartitionKey, row.RowKey)).Value;
            Assert.Equal(row.Keys.Where(k => k != "odata.etag" && k != "Timestamp").Order(), copy.Keys.Where(k => k != "odata.etag" && k != "Timestamp").Order());
            Assert.Equal(row.GetString("AccessToken"), copy.GetString("AccessToken"));
            Assert.Equal(row.GetDateTimeOffset("NextRenewalAt"), copy.GetDateTimeOffset("NextRenewalAt"));
            Assert.Equal(row.GetInt64("TokenGeneration"), copy.GetInt64("TokenGeneration"));
        }

        // The same deployment (its redirect URI, the vault's keys) on the restored account serves and renews every connection.
        var app = await stack.StartAppAsync(
            s =>
            {
                s["Storage"] = _empty.ConnectionString;
                s["AzureWebJobsStorage"] = _empty.ConnectionString;
            },
            instanceOf: stack.App);
        foreach (var id in ids.Skip(1))
        {
            var token = (await app.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
            Assert.True(stack.Emulator.IsAccessTokenValid(token), id);
        }

        await app.GetJsonAsync($"api/connections/{ids[0]}/token", HttpStatusCode.Conflict);

        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        await app.Host.InvokeAsync("RenewalSweep");
        var queue = new Azure.Storage.Queues.QueueClient(_empty.ConnectionString, StorageOptions.RenewalQueueName, new Azure.Storage.Queues.QueueClientOptions { MessageEncoding = Azure.Storage.Queues.QueueMessageEncoding.Base64 });
        var renewed = 0;
        foreach (var message in (await queue.ReceiveMessagesAsync(32)).Value)
        {
            await app.Host.InvokeAsync("RenewConnection", message.Body.ToString());
            renewed++;
        }

        Assert.Equal(4, renewed);
        foreach (var id in ids.Skip(1))
        {
            var connection = await RenewalDriver.ConnectionAsync(app, id);
            Assert.True(connection.TokenGeneration == 2, $"{id}: generation {connection.TokenGeneration}, status {connection.Status}, next {connection.NextRenewalAt}, error {connection.LastError}, lease {connection.LeaseOwner}");
            Assert.True(stack.Emulator.IsAccessTokenValid(connection.AccessToken), id);
        }
    }

    [Fact]
    public async Task Restore_refuses_an_account_that_already_has_connections_and_changes_nothing()
    {
        await stack.App.ConnectAsync("backup-live");
        var environment = new Dictionary<string, string?> { ["SOURCE_STORAGE"] = stack.Azurite.ConnectionString };
        var exported = await RunAsync(environment, "export", "--tables", "env:SOURCE_STORAGE", "--blobs", "env:SOURCE_STORAGE");
        Assert.Equal(0, exported.Code);
        var blobName = exported.Output.Split('\n').Select(line => line.Trim()).Single(line => line.StartsWith("blob: ", StringComparison.Ordinal))["blob: ".Length..];
        var before = await stack.ConnectionRowsAsync();

        var refused = await RunAsync(environment, "restore", "--tables", "env:SOURCE_STORAGE", "--blobs", "env:SOURCE_STORAGE", "--blob", blobName);

        Assert.NotEqual(0, refused.Code);
        Assert.Contains("not empty", refused.Output);
        Assert.Equal(before.Select(r => r.ETag), (await stack.ConnectionRowsAsync()).Select(r => r.ETag));
    }

    [Fact]
    public async Task An_upload_sent_again_after_its_answer_was_lost_counts_as_done_and_the_blob_holds_the_export()
    {
        await stack.App.ConnectAsync("backup-lost-answer");
        var faults = new StorageFaults();
        faults.DropAnswer(IsBackupUpload);
        var options = new BlobClientOptions();
        options.AddPolicy(faults, HttpPipelinePosition.PerRetry);
        var container = new BlobContainerClient(stack.Azurite.ConnectionString, "backup-lost-answer", options);

        var (name, rows) = await TableBackup.ExportAsync(new TableServiceClient(stack.Azurite.ConnectionString), container, stack.Clock.GetUtcNow(), default);

        Assert.Equal(1, faults.AnswersDropped);
        Assert.True(rows > 0);
        var stored = (await container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString();
        Assert.StartsWith($"{{\"format\":\"{TableBackup.Format}\"", stored, StringComparison.Ordinal);
        Assert.Equal(rows + 1, stored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task An_upload_that_finds_another_exports_blob_under_its_name_fails_and_leaves_that_blob_as_it_was()
    {
        await stack.App.ConnectAsync("backup-taken-name");
        var options = new BlobClientOptions();
        var squatter = new NameTakenFirst(stack.Azurite.ConnectionString);
        options.AddPolicy(squatter, HttpPipelinePosition.PerRetry);
        var container = new BlobContainerClient(stack.Azurite.ConnectionString, "backup-taken-name", options);

        var failure = await Assert.ThrowsAsync<RequestFailedException>(
            () => TableBackup.ExportAsync(new TableServiceClient(stack.Azurite.ConnectionString), container, stack.Clock.GetUtcNow(), default));

        Assert.Equal(409, failure.Status);
        var blob = Assert.Single(await container.GetBlobsAsync().ToListAsync());
        Assert.Equal(NameTakenFirst.Content, (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString());
    }

    private static bool IsBackupUpload(Request request) =>
        request.Method == RequestMethod.Put && new BlobUriBuilder(request.Uri.ToUri()).BlobName.StartsWith("connections-", StringComparison.Ordinal);

    [Theory]
    [InlineData("export", "--tables", "SOURCE_STORAGE", "--blobs", "env:SOURCE_STORAGE")]
    [InlineData("export", "--tables", "env:NOT_SET", "--blobs", "env:SOURCE_STORAGE")]
    [InlineData("restore", "--tables", "env:SOURCE_STORAGE", "--blobs", "env:SOURCE_STORAGE")]
    [InlineData("import", "--tables", "env:SOURCE_STORAGE")]
    public async Task Bad_arguments_are_refused_with_a_message_and_touch_nothing(params string[] args)
    {
        var environment = new Dictionary<string, string?> { ["SOURCE_STORAGE"] = stack.Azurite.ConnectionString };
        var result = await RunAsync(environment, args);
        Assert.Equal(2, result.Code);
        Assert.Contains("usage", result.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(stack.Azurite.ConnectionString, result.Output);
    }

    private static async Task<(int Code, string Output)> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var output = new StringWriter();
        var code = await BackupCommand.RunAsync(args, name => environment.GetValueOrDefault(name), output, output, CancellationToken.None);
        return (code, output.ToString());
    }

    /// <summary>Another export's blob appears under the name just before this export's upload is sent.</summary>
    private sealed class NameTakenFirst(string connectionString) : HttpPipelinePolicy
    {
        public const string Content = "another export's bytes";

        private int _taken;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The export is asynchronous.");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (IsBackupUpload(message.Request) && Interlocked.Exchange(ref _taken, 1) == 0)
            {
                var upload = new BlobUriBuilder(message.Request.Uri.ToUri());
                await new BlobContainerClient(connectionString, upload.BlobContainerName).GetBlobClient(upload.BlobName).UploadAsync(BinaryData.FromString(Content));
            }

            await ProcessNextAsync(message, pipeline);
        }
    }
}
