using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Every write to a connection row is guarded by its ETag: racing writers conflict and recover, no update is lost.</summary>
[Collection(StackCollection.Name)]
public sealed class ETagGuardTests(ConnectStack stack) : IAsyncLifetime
{
    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Two_writers_racing_on_one_row_one_gets_a_conflict_recovers_and_no_update_is_lost()
    {
        var (_, _, id) = await stack.App.ConnectAsync("etag");
        var second = await stack.StartAppAsync(instanceOf: stack.App);
        var storeA = stack.App.Services.GetRequiredService<IConnectionStore>();
        var storeB = second.Services.GetRequiredService<IConnectionStore>();

        // The plain interleaving: both read, A writes, B's write meets the changed row.
        var readA = (await storeA.GetAsync(id, default))!;
        var readB = (await storeB.GetAsync(id, default))!;
        Assert.True((await storeA.WriteAsync(Failure(readA), default)).Written);
        Assert.Equal(WriteOutcome.Conflict, (await storeB.WriteAsync(Failure(readB), default)).Outcome);
        var reread = (await storeB.GetAsync(id, default))!;
        Assert.True((await storeB.WriteAsync(Failure(reread), default)).Written);
        Assert.Equal(2, (await storeA.GetAsync(id, default))!.FailedAttempts);

        // Then many racing read-modify-write loops, with seeded jitter.
        var seed = Environment.TickCount;
        const int PerWriter = 25;
        var conflicts = 0;
        async Task WriteAsync(IConnectionStore store, Random random)
        {
            for (var done = 0; done < PerWriter;)
            {
                var current = (await store.GetAsync(id, default))!;
                await Task.Delay(random.Next(0, 3));
                var write = await store.WriteAsync(Failure(current), default);
                if (write.Written)
                {
                    done++;
                }
                else
                {
                    Assert.Equal(WriteOutcome.Conflict, write.Outcome);
                    Interlocked.Increment(ref conflicts);
                }
            }
        }

        await Task.WhenAll(WriteAsync(storeA, new Random(seed)), WriteAsync(storeB, new Random(seed + 1)), WriteAsync(storeA, new Random(seed + 2)));

        var final = (await storeA.GetAsync(id, default))!;
        Assert.True(2 + (3 * PerWriter) == final.FailedAttempts, $"lost updates with seed {seed}: {final.FailedAttempts}, {conflicts} conflicts");
    }

    [Fact]
    public async Task Two_instances_taking_the_lease_from_one_read_one_wins_and_the_tokens_are_not_rewritten()
    {
        var (_, _, id) = await stack.App.ConnectAsync("lease");
        var second = await stack.StartAppAsync(instanceOf: stack.App);
        var storeA = stack.App.Services.GetRequiredService<IConnectionStore>();
        var storeB = second.Services.GetRequiredService<IConnectionStore>();
        var before = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == id);
        var read = (await storeA.GetAsync(id, default))!;
        var until = stack.Clock.GetUtcNow().AddMinutes(2);

        var writes = await Task.WhenAll(
            storeA.WriteAsync(read.Leased("instance-a", until, stack.Clock.GetUtcNow()), default),
            storeB.WriteAsync(read.Leased("instance-b", until, stack.Clock.GetUtcNow()), default));

        Assert.Single(writes, w => w.Written);
        Assert.Single(writes, w => w.Outcome == WriteOutcome.Conflict);
        var winner = writes[0].Written ? "instance-a" : "instance-b";
        var after = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == id);
        Assert.Equal(winner, after.GetString("LeaseOwner"));
        Assert.Equal(until, after.GetDateTimeOffset("LeaseUntil"));
        Assert.Equal(writes.Single(w => w.Written).Stored!.Version, after.ETag.ToString());
        foreach (var unchanged in before.Keys.Except(["odata.etag", "Timestamp", "LeaseOwner", "LeaseUntil"]))
        {
            Assert.Equal(before[unchanged], after[unchanged]);
        }
    }

    /// <summary>A read-modify-write of the row: one more failed renewal attempt, over the row as read.</summary>
    private ConnectionChange Failure(Connection read) => read.RenewalFailed("test", stack.Clock.GetUtcNow(), read.NextRenewalAt!.Value, TimeSpan.FromDays(1));
}
