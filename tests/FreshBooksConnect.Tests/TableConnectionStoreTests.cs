using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Connections.Internal;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Security;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Events;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;

namespace FreshBooksConnect.Tests;

public sealed class TableConnectionStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly Mock<TableClient> _table = new();
    private readonly Mock<IRenewalIndexWriter> _index = new();
    private readonly Mock<IEventOutbox> _outbox = new();
    private readonly TokenKeyRing _protector = KeyRings.Create(("k1", KeyRings.NewKey()));
    private readonly TableConnectionStore _store;

    public TableConnectionStoreTests()
    {
        var storage = new StorageClients(Mock.Of<TableServiceClient>(), Mock.Of<QueueServiceClient>(), _table.Object, Mock.Of<TableClient>(), Mock.Of<TableClient>(), Mock.Of<QueueClient>());
        _store = new TableConnectionStore(
            storage, _protector, _index.Object, _outbox.Object, TestMeters.TokenCache(), Metrics.Create(), Options.Create(new RenewalOptions()), TimeProvider.System, NullLogger<TableConnectionStore>.Instance);
        _outbox.Setup(o => o.RemindAsync(It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<CancellationToken>())).ReturnsAsync("reminder");

        // After a refused write the store reads the row back; by default it holds somebody else's write.
        StoredRow(new TableEntity("t-acme", "t-acme")
        {
            ["RefreshToken"] = _protector.Protect("someone-elses-refresh", new TokenBinding("t-acme", TokenField.RefreshToken, 0)),
            ["LeaseOwner"] = "host/2",
            ["LeaseUntil"] = Now.AddMinutes(1),
            ["IdentityId"] = 42L,
        });
    }

    private void StoredRow(TableEntity entity) =>
        _table.Setup(t => t.GetEntityIfExistsAsync<TableEntity>("t-acme", "t-acme", null, It.IsAny<CancellationToken>()))
            .ReturnsAsync(Response.FromValue(entity, new FakeResponse(200)));

    internal static Connection Sample(string? version) => new()
    {
        Id = "t-acme",
        Identity = new FreshBooksIdentity(42, "u", "Ada", "Lovelace", "ada@example.com", [new BusinessMembership(1, "owner", 77, "b", "Engines", "AC77")]),
        AccessToken = "access-secret",
        RefreshToken = "refresh-secret",
        AccessTokenExpiresAt = Now.AddHours(12),
        CreatedAt = Now,
        UpdatedAt = Now,
        Version = version,
    };

    private static (WriteOutcome, string?) Versioned(WriteResult result) => (result.Outcome, result.Stored?.Version);

    /// <summary>A full write of <paramref name="connection"/> over itself as read (what a renewal's save is).</summary>
    private Task<WriteResult> ReplaceAsync(Connection connection) =>
        _store.WriteAsync(new ConnectionChange(ConnectionChangeKind.RenewalFailed, connection, connection), default);

    [Fact]
    public async Task Replace_sends_the_rows_etag_and_returns_the_new_one_with_tokens_encrypted()
    {
        TableEntity? written = null;
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), new ETag("\"v1\""), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .Callback<TableEntity, ETag, TableUpdateMode, CancellationToken>((e, _, _, _) => written = e)
            .ReturnsAsync(new FakeResponse(etag: "\"v2\""));

        var result = await ReplaceAsync(Sample("\"v1\""));

        Assert.Equal((WriteOutcome.Written, "v2"), Versioned(result));
        Assert.NotEqual("access-secret", written!.GetString("AccessToken"));
        Assert.DoesNotContain("refresh-secret", written.GetString("RefreshToken"));
        Assert.True(_protector.TryUnprotect(written.GetString("RefreshToken")!, new TokenBinding("t-acme", TokenField.RefreshToken, written.GetInt64("TokenGeneration") ?? 0), out var refresh));
        Assert.Equal("refresh-secret", refresh);
    }

    [Theory]
    [InlineData(412, WriteOutcome.Conflict)]
    [InlineData(404, WriteOutcome.NotFound)]
    public async Task Replace_maps_a_changed_or_missing_row_to_an_outcome(int status, WriteOutcome expected)
    {
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(status, "no"));

        Assert.Equal(expected, (await ReplaceAsync(Sample("\"v1\""))).Outcome);
    }

    [Fact]
    public async Task Storage_that_is_unavailable_is_not_swallowed_but_surfaces_as_storage_unavailable()
    {
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(503, "busy"));

        var refused = await Assert.ThrowsAsync<StorageUnavailableException>(() => ReplaceAsync(Sample("\"v1\"")));
        Assert.Equal(503, refused.Status);
    }

    [Fact]
    public async Task Storage_errors_that_are_not_outages_come_through_as_they_are()
    {
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(403, "AuthorizationPermissionMismatch"));

        await Assert.ThrowsAsync<RequestFailedException>(() => ReplaceAsync(Sample("\"v1\"")));
    }

    [Fact]
    public async Task A_replace_whose_answer_was_lost_recognises_its_own_write_when_the_retry_meets_412()
    {
        TableEntity? written = null;
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), new ETag("\"v1\""), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .Callback<TableEntity, ETag, TableUpdateMode, CancellationToken>((e, _, _, _) =>
            {
                written = e;
                StoredRow(new TableEntity(e) { ETag = new ETag("\"v2\"") });
            })
            .ThrowsAsync(new RequestFailedException(412, "the SDK's retry of a write that landed"));

        var result = await ReplaceAsync(Sample("\"v1\""));

        Assert.NotNull(written);
        Assert.Equal((WriteOutcome.Written, "\"v2\""), Versioned(result));
    }

    [Fact]
    public async Task An_insert_whose_answer_was_lost_recognises_its_own_row_when_the_retry_meets_409()
    {
        // A new connection's write carries its connection.created event: one transaction of the row and the event.
        _table.Setup(t => t.SubmitTransactionAsync(It.IsAny<IEnumerable<TableTransactionAction>>(), It.IsAny<CancellationToken>()))
            .Callback<IEnumerable<TableTransactionAction>, CancellationToken>((actions, _) => StoredRow(new TableEntity((TableEntity)actions.First().Entity) { ETag = new ETag("\"v1\"") }))
            .ThrowsAsync(new RequestFailedException(409, "the SDK's retry of an insert that landed"));

        Assert.Equal((WriteOutcome.Written, "\"v1\""), Versioned(await _store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Consented, null, Sample(null)), default)));
    }

    [Fact]
    public async Task A_lease_whose_answer_was_lost_recognises_itself_and_another_owners_lease_is_a_conflict()
    {
        var until = Now.AddMinutes(2);
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Merge, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(412, "changed"));
        StoredRow(new TableEntity("t-acme", "t-acme") { ["LeaseOwner"] = "host/1", ["LeaseUntil"] = until, ETag = new ETag("\"v2\"") });

        var ours = await _store.WriteAsync(Sample("\"v1\"").Leased("host/1", until, Now), default);
        var theirs = await _store.WriteAsync(Sample("\"v1\"").Leased("host/3", until, Now), default);

        Assert.Equal((WriteOutcome.Written, "\"v2\""), Versioned(ours));
        Assert.Equal(WriteOutcome.Conflict, theirs.Outcome);
    }

    [Fact]
    public async Task The_renewal_index_moves_with_the_row_new_entry_before_the_write_old_entry_after()
    {
        var order = new List<string>();
        var read = Sample("\"v1\"") with { NextRenewalAt = Now.AddMinutes(-1) };
        var renewed = read.Renewed(new TokenGrant("access-2", "refresh-2", "s", Now.AddHours(12)), Now, Now.AddHours(11));
        _index.Setup(i => i.ScheduleAsync("t-acme", Now.AddHours(11), It.IsAny<CancellationToken>())).Callback(() => order.Add("schedule new")).Returns(Task.CompletedTask);
        _index.Setup(i => i.RemoveAsync("t-acme", Now.AddMinutes(-1), It.IsAny<CancellationToken>())).Callback(() => order.Add("remove old")).Returns(Task.CompletedTask);
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), new ETag("\"v1\""), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .Callback(() => order.Add("write row"))
            .ReturnsAsync(new FakeResponse(etag: "\"v2\""));

        var result = await _store.WriteAsync(renewed, default);

        Assert.True(result.Written);
        Assert.Equal(["schedule new", "write row", "remove old"], order);
    }

    [Fact]
    public async Task A_write_that_does_not_land_removes_the_entry_it_scheduled_and_keeps_the_old_one()
    {
        var read = Sample("\"v1\"") with { NextRenewalAt = Now.AddMinutes(-1) };
        var renewed = read.Renewed(new TokenGrant("access-2", "refresh-2", "s", Now.AddHours(12)), Now, Now.AddHours(11));
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Replace, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(412, "changed"));

        var result = await _store.WriteAsync(renewed, default);

        Assert.Equal(WriteOutcome.Conflict, result.Outcome);
        _index.Verify(i => i.ScheduleAsync("t-acme", Now.AddHours(11), It.IsAny<CancellationToken>()));
        _index.Verify(i => i.RemoveAsync("t-acme", Now.AddHours(11), It.IsAny<CancellationToken>()));
        _index.Verify(i => i.RemoveAsync("t-acme", Now.AddMinutes(-1), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_lease_write_merges_only_the_lease_under_the_rows_etag()
    {
        TableEntity? written = null;
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), new ETag("\"v1\""), TableUpdateMode.Merge, It.IsAny<CancellationToken>()))
            .Callback<TableEntity, ETag, TableUpdateMode, CancellationToken>((e, _, _, _) => written = e)
            .ReturnsAsync(new FakeResponse(etag: "\"v2\""));

        var result = await _store.WriteAsync(Sample("\"v1\"").Leased("host/1", Now.AddMinutes(2), Now), default);

        Assert.Equal((WriteOutcome.Written, "v2"), Versioned(result));
        Assert.Equal(["LeaseOwner", "LeaseUntil"], written!.Keys.Except(["PartitionKey", "RowKey", "odata.etag", "Timestamp"]).Order());
        Assert.Equal("host/1", written.GetString("LeaseOwner"));
        Assert.Equal(Now.AddMinutes(2), written.GetDateTimeOffset("LeaseUntil"));
    }

    [Theory]
    [InlineData(412, WriteOutcome.Conflict)]
    [InlineData(404, WriteOutcome.NotFound)]
    public async Task A_lease_write_on_a_changed_or_missing_row_is_an_outcome(int status, WriteOutcome expected)
    {
        _table.Setup(t => t.UpdateEntityAsync(It.IsAny<TableEntity>(), It.IsAny<ETag>(), TableUpdateMode.Merge, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(status, "no"));

        var write = await _store.WriteAsync(Sample("\"v1\"").Leased("host/1", Now.AddMinutes(2), Now), default);

        Assert.Equal(expected, write.Outcome);
    }

    [Fact]
    public async Task A_lease_write_without_an_owner_is_refused_before_storage_is_called()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Leased, Sample("\"v1\""), Sample("\"v1\"")), default));

        _table.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task Delete_is_guarded_by_the_etag_and_a_conflict_is_an_outcome()
    {
        IReadOnlyList<TableTransactionAction>? submitted = null;
        _table.Setup(t => t.SubmitTransactionAsync(It.IsAny<IEnumerable<TableTransactionAction>>(), It.IsAny<CancellationToken>()))
            .Callback<IEnumerable<TableTransactionAction>, CancellationToken>((actions, _) => submitted = [.. actions])
            .ThrowsAsync(new RequestFailedException(412, "changed"));

        Assert.Equal(WriteOutcome.Conflict, (await _store.WriteAsync(Sample("\"v1\"").Removed(Now), default)).Outcome);

        // The delete and its connection.deleted event are one transaction, the delete guarded by the row's version.
        Assert.NotNull(submitted);
        Assert.Equal([TableTransactionActionType.Delete, TableTransactionActionType.Add], submitted.Select(a => a.ActionType));
        Assert.Equal(new ETag("\"v1\""), submitted[0].ETag);
        Assert.Equal("connection.deleted", ((TableEntity)submitted[1].Entity).GetString("Type"));
        Assert.Equal("t-acme", submitted[1].Entity.PartitionKey);
    }

    [Fact]
    public async Task Adding_an_existing_connection_is_a_conflict()
    {
        _table.Setup(t => t.SubmitTransactionAsync(It.IsAny<IEnumerable<TableTransactionAction>>(), It.IsAny<CancellationToken>())).ThrowsAsync(new RequestFailedException(409, "exists"));

        Assert.Equal(WriteOutcome.Conflict, (await _store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Consented, null, Sample(null)), default)).Outcome);
    }

    [Fact]
    public async Task A_row_whose_tokens_do_not_decrypt_is_read_as_unreadable_and_cannot_be_written_back()
    {
        var entity = new TableEntity("t-acme", "t-acme")
        {
            ["AccessToken"] = _protector.Protect("access", new TokenBinding("t-other", TokenField.AccessToken, 0)),
            ["RefreshToken"] = _protector.Protect("refresh", new TokenBinding("t-other", TokenField.RefreshToken, 0)),
            ["IdentityId"] = 42L,
        };
        _table.Setup(t => t.GetEntityIfExistsAsync<TableEntity>("t-acme", "t-acme", null, It.IsAny<CancellationToken>()))
            .ReturnsAsync(Response.FromValue(entity, new FakeResponse(200)));

        var connection = (await _store.GetAsync("t-acme", default))!;

        Assert.False(connection.TokensReadable);
        Assert.Equal("", connection.AccessToken);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ReplaceAsync(connection));
    }
}

internal static class KeyRings
{
    public static string NewKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static TokenKeyRing Create(params (string Id, string Key)[] keys) => Create(keys[0].Id, keys);

    public static TokenKeyRing Create(string current, params (string Id, string Key)[] keys) =>
        new(Options.Create(new TokenProtectionOptions { CurrentKeyId = current, Keys = keys.ToDictionary(k => k.Id, k => k.Key) }));
}
