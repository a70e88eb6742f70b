using Azure.Storage.Queues;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>The sweep's marks in the renewal index: batched into entity-group transactions, each entry still guarded by its ETag.</summary>
[Collection(StackCollection.Name)]
public sealed class RenewalIndexTests(ConnectStack stack) : IAsyncLifetime
{
    private IRenewalIndex Index => stack.App.Services.GetRequiredService<IRenewalIndex>();

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_sweep_marks_due_entries_in_one_transaction_per_hundred_and_enqueues_each_once()
    {
        var now = stack.Clock.GetUtcNow();
        await ScheduleAsync(250, now.AddMinutes(-30));
        await ScheduleAsync(20, now.AddHours(5), idPrefix: "t-later");
        var counter = new TableReadCounter();
        var counted = await stack.StartAppAsync(services: counter.AddTo, instanceOf: stack.App);
        var sweep = counted.Services.GetRequiredService<RenewalSweep>();

        var first = await sweep.SweepAsync(default);
        var second = await sweep.SweepAsync(default);

        Assert.Equal(new SweepResult(250, 250, 0, 0), first);
        Assert.Equal(3, counter.Requests("POST", "$batch"));
        Assert.Equal(0, counter.Requests("PATCH", StorageOptions.RenewalIndexTableName) + counter.Requests("PUT", StorageOptions.RenewalIndexTableName));
        Assert.Equal(new SweepResult(250, 0, 250, 0), second);
        Assert.Equal(250, await QueuedAsync());
        var rows = await stack.RowsAsync(StorageOptions.RenewalIndexTableName);
        Assert.Equal(250, rows.Count(r => r.GetDateTimeOffset("EnqueuedAt") >= now));
        Assert.Equal(20, rows.Count(r => r.GetDateTimeOffset("EnqueuedAt") is null));
    }

    [Fact]
    public async Task Entries_changed_since_they_were_read_are_left_out_of_the_batch_and_the_rest_are_marked()
    {
        var now = stack.Clock.GetUtcNow();
        await ScheduleAsync(150, now.AddMinutes(-30));
        var read = await Index.ReadDueAsync(now, default).ToListAsync();
        var markedElsewhere = read[3];
        var renewedMeanwhile = read[120];
        Assert.Single(await Index.MarkEnqueuedAsync([markedElsewhere], now.AddSeconds(-5), default));
        await Index.DropStaleAsync(renewedMeanwhile.ConnectionId, renewedMeanwhile.RenewAt, default);

        var marked = await Index.MarkEnqueuedAsync(read, now, default);

        Assert.Equal(read.Except([markedElsewhere, renewedMeanwhile]).Select(e => e.ConnectionId), marked.Select(e => e.ConnectionId));
        var rows = (await stack.RowsAsync(StorageOptions.RenewalIndexTableName)).ToDictionary(r => r.GetString("ConnectionId"));
        Assert.Equal(149, rows.Count);
        Assert.Equal(now.AddSeconds(-5), rows[markedElsewhere.ConnectionId].GetDateTimeOffset("EnqueuedAt"));
        Assert.All(marked, e => Assert.Equal(now, rows[e.ConnectionId].GetDateTimeOffset("EnqueuedAt")));
    }

    private async Task ScheduleAsync(int count, DateTimeOffset renewAt, string idPrefix = "t-due")
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), async (i, ct) =>
            await stack.App.Services.GetRequiredService<IRenewalIndexWriter>().ScheduleAsync($"{idPrefix}{i:D3}", renewAt.AddSeconds(i), ct));
    }

    private async Task<int> QueuedAsync()
    {
        var queue = new QueueClient(stack.Azurite.ConnectionString, StorageOptions.RenewalQueueName);
        return (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
    }
}
