using System.Diagnostics;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Events;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Renewal.Internal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FreshBooksConnect.Tests;

public sealed class ConnectionRenewerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly Mock<IConnectionStore> _store = new(MockBehavior.Strict);
    private readonly Mock<IFreshBooksClient> _freshBooks = new(MockBehavior.Strict);
    private readonly RenewalOptions _options = new() { RetryBaseDelay = TimeSpan.Zero, SaveRetryDelay = TimeSpan.Zero };
    private readonly ConnectionLease _lease;
    private readonly UnsavedRenewals _unsaved = new(NullLogger<UnsavedRenewals>.Instance);
    private readonly ConnectionRenewer _renewer;

    public ConnectionRenewerTests()
    {
        var options = Options.Create(_options);
        var metrics = new RenewalMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), _time);
        _lease = new ConnectionLease(_store.Object, metrics, _time, options);
        var schedule = new RenewalSchedule(options);
        _renewer = new ConnectionRenewer(
            _store.Object, _lease, new InFlightRenewals(), _unsaved, new StorageRetries(_time, options), new RefreshRetries(schedule, _time, options), _freshBooks.Object, schedule, metrics, _time, options, Options.Create(new EventsOptions()), NullLogger<ConnectionRenewer>.Instance);
    }

    private static Connection Due(string? leaseOwner = null) => TableConnectionStoreTests.Sample("e1") with
    {
        AccessTokenExpiresAt = Now.AddMinutes(30),
        NextRenewalAt = Now.AddMinutes(-1),
        TokenGeneration = 1,
        LeaseOwner = leaseOwner,
        LeaseUntil = leaseOwner is null ? null : Now.AddMinutes(1),
    };

    private static WriteResult Stored(ConnectionChange change, string version) => new(WriteOutcome.Written, change.After with { Version = version });

    private static TokenGrant NewPair => new("access-2", "refresh-2", "user:profile:read", Now.AddHours(12));

    [Fact]
    public async Task A_connection_leased_by_another_instance_is_left_alone_by_the_sweep()
    {
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due("someone-else"));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Busy, result.Outcome);
        _freshBooks.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task A_lost_lease_race_reads_again_and_does_not_refresh_what_was_renewed_meanwhile()
    {
        _store.SetupSequence(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>()))
            .ReturnsAsync(Due())
            .ReturnsAsync(Due() with { NextRenewalAt = Now.AddHours(11), AccessTokenExpiresAt = Now.AddHours(12), TokenGeneration = 2, Version = "e2" });
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).ReturnsAsync(WriteResult.Refused(WriteOutcome.Conflict));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Current, result.Outcome);
        Assert.Equal(2, result.Connection!.TokenGeneration);
        _freshBooks.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task A_received_pair_is_saved_even_when_the_first_save_fails()
    {
        var order = new List<string>();
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due());
        var saves = 0;
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased && c.After.LeaseOwner == _lease.Owner), It.IsAny<CancellationToken>()))
            .Callback(() => order.Add("lease"))
            .Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>()))
            .Returns<ConnectionChange, CancellationToken>((c, _) =>
            {
                order.Add("save");
                return ++saves == 1
                    ? throw new StorageUnavailableException("storage blip")
                    : Task.FromResult(Stored(c, "saved"));
            });
        _freshBooks.Setup(f => f.RefreshAsync("refresh-secret", It.IsAny<CancellationToken>())).ReturnsAsync(FreshBooksResult<TokenGrant>.Success(NewPair));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Renewed, result.Outcome);
        Assert.Equal("access-2", result.Connection!.AccessToken);
        Assert.Equal(2, result.Connection.TokenGeneration);
        Assert.Null(result.Connection.LeaseOwner);
        Assert.Equal(["lease", "save", "save"], order);
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Invalid_grant_marks_the_connection_needs_reconsent_without_retrying()
    {
        Connection? saved = null;
        ConnectionChange? change = null;
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due());
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>()))
            .Callback<ConnectionChange, CancellationToken>((c, _) => (saved, change) = (c.After, c))
            .Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "x")));
        _freshBooks.Setup(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(FreshBooksResult<TokenGrant>.Failure(FreshBooksOutcome.InvalidGrant, "invalid_grant", "gone"));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.NeedsReconsent, result.Outcome);
        Assert.Equal(ConnectionStatus.NeedsReconsent, saved!.Status);
        Assert.Equal("invalid_grant: gone", saved.StatusReason);
        Assert.Null(saved.NextRenewalAt);
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal((ConnectionChangeKind.NeedsReconsent, Now.AddMinutes(-1)), (change!.Kind, change.Before!.NextRenewalAt));
    }

    [Fact]
    public async Task Transient_failures_are_retried_then_recorded_with_a_backoff()
    {
        Connection? saved = null;
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(() => saved ?? Due());
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>()))
            .Callback<ConnectionChange, CancellationToken>((c, _) => saved = c.After with { Version = "leased" })
            .Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>()))
            .Callback<ConnectionChange, CancellationToken>((c, _) => saved = c.After with { Version = "leased" })
            .Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _freshBooks.Setup(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(FreshBooksResult<TokenGrant>.Failure(FreshBooksOutcome.Transient, "503"));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Failed, result.Outcome);
        Assert.Equal(1, saved!.FailedAttempts);
        Assert.Equal("503", saved.LastError);
        Assert.InRange(saved.NextRenewalAt!.Value, Now.AddMinutes(2), Now.AddMinutes(2.5));
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Exactly(_options.RefreshAttempts));
    }

    [Fact]
    public async Task A_rejected_token_that_is_no_longer_stored_causes_no_refresh()
    {
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due());

        var result = await _renewer.RenewAsync("t-acme", new RenewalReason.TokenRejected("an-older-token"), default);

        Assert.Equal(RenewalOutcome.Current, result.Outcome);
        _freshBooks.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task Concurrent_renewals_in_one_process_share_one_refresh()
    {
        var answer = new TaskCompletionSource<FreshBooksResult<TokenGrant>>();
        var current = Due() with { AccessTokenExpiresAt = Now.AddMinutes(3) };
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(() => current);
        Task<WriteResult> Write(ConnectionChange c)
        {
            current = c.After with { Version = Guid.NewGuid().ToString() };
            return Task.FromResult(new WriteResult(WriteOutcome.Written, current));
        }

        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Write(c));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Write(c));
        _freshBooks.Setup(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>())).Returns(answer.Task);

        var renewals = Enumerable.Range(0, 10).Select(_ => _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default)).ToList();
        answer.SetResult(FreshBooksResult<TokenGrant>.Success(NewPair));
        var results = await Task.WhenAll(renewals);

        Assert.All(results, r => Assert.Equal("access-2", r.Connection!.AccessToken));
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task A_token_request_during_this_process_s_scheduled_renewal_waits_for_it_instead_of_answering_the_stored_token()
    {
        var answer = new TaskCompletionSource<FreshBooksResult<TokenGrant>>();
        var current = Due();
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(() => current);
        _store.Setup(s => s.WriteAsync(It.IsAny<ConnectionChange>(), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) =>
        {
            current = c.After with { Version = Guid.NewGuid().ToString() };
            return Task.FromResult(new WriteResult(WriteOutcome.Written, current));
        });
        _freshBooks.Setup(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>())).Returns(answer.Task);

        // The sweep's renewal is at FreshBooks (the row is leased by this process): the stored token is not due for a token request.
        var sweep = _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);
        var waited = Stopwatch.StartNew();
        while (current.LeaseOwner != _lease.Owner)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the sweep's renewal took no lease");
            await Task.Delay(1);
        }

        var request = _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default);
        Assert.False(request.IsCompleted);
        answer.SetResult(FreshBooksResult<TokenGrant>.Success(NewPair));

        Assert.Equal("access-2", (await request).Connection!.AccessToken);
        Assert.Equal(RenewalOutcome.Renewed, (await sweep).Outcome);
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task A_pair_storage_will_not_take_is_served_from_memory_and_saved_when_storage_returns()
    {
        _options.SaveAttempts = 2;
        _options.SaveRetryDelay = TimeSpan.FromSeconds(1);
        var storageDown = true;
        Connection? saved = null;
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due() with { AccessTokenExpiresAt = Now.AddMinutes(3) });
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>()))
            .Returns<ConnectionChange, CancellationToken>((c, _) =>
            {
                if (storageDown)
                {
                    throw new StorageUnavailableException("down");
                }

                saved = c.After;
                return Task.FromResult(Stored(c, "saved"));
            });
        _freshBooks.Setup(f => f.RefreshAsync("refresh-secret", It.IsAny<CancellationToken>())).ReturnsAsync(FreshBooksResult<TokenGrant>.Success(NewPair));

        var result = await AdvanceUntilDoneAsync(_renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default));

        Assert.Equal(RenewalOutcome.Renewed, result.Outcome);
        Assert.Equal("access-2", result.Connection!.AccessToken);
        Assert.Null(saved);

        // The save is still going on and the row still holds the pair the renewal spent: this process answers from the pair
        // it keeps, without refreshing again.
        var again = await _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default);
        Assert.Equal(RenewalOutcome.Current, again.Outcome);
        Assert.Equal("access-2", again.Connection!.AccessToken);

        // Once the row shows a new consent overtook the renewal, the pair kept in memory is never handed out again.
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due() with { AccessToken = "consented", RefreshToken = "consented-refresh", TokenGeneration = 2, AccessTokenExpiresAt = Now.AddHours(12) });
        var overtaken = await _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default);
        Assert.Equal("consented", overtaken.Connection!.AccessToken);
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(Due() with { AccessTokenExpiresAt = Now.AddMinutes(3) });

        storageDown = false;
        for (var i = 0; i < 100 && saved is null; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(10);
        }

        Assert.Equal("refresh-2", saved!.RefreshToken);
        Assert.Null(saved.LeaseOwner);
        _freshBooks.Verify(f => f.RefreshAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task A_pair_is_given_up_only_after_the_save_timeout_and_then_is_never_served()
    {
        _options.SaveAttempts = 1;
        _options.SaveRetryDelay = TimeSpan.FromSeconds(1);
        _options.SaveTimeout = TimeSpan.FromMinutes(10);
        _store.SetupSequence(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>()))
            .ReturnsAsync(Due() with { AccessTokenExpiresAt = Now.AddMinutes(3) })
            .ThrowsAsync(new StorageUnavailableException("down"));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).ThrowsAsync(new StorageUnavailableException("down"));
        _freshBooks.Setup(f => f.RefreshAsync("refresh-secret", It.IsAny<CancellationToken>())).ReturnsAsync(FreshBooksResult<TokenGrant>.Success(NewPair));

        var result = await AdvanceUntilDoneAsync(_renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default));
        Assert.Equal("access-2", result.Connection!.AccessToken);
        Assert.True(_unsaved.TryGet("t-acme", out _, out _, out _));

        for (var i = 0; i < 100 && _unsaved.TryGet("t-acme", out _, out _, out _); i++)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(10);
        }

        Assert.False(_unsaved.TryGet("t-acme", out _, out _, out _));
        Assert.True(_time.GetUtcNow() >= Now + _options.SaveTimeout);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default));
    }

    [Fact]
    public async Task A_lease_that_ran_out_unreleased_is_neither_refreshed_nor_served_until_the_save_timeout_has_passed()
    {
        var abandoned = Due() with { AccessTokenExpiresAt = Now.AddMinutes(3), LeaseOwner = "crashed-or-cut-off", LeaseUntil = Now.AddMinutes(-1) };
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(abandoned);

        var token = await _renewer.RenewAsync("t-acme", RenewalReason.TokenRequest, default);
        var sweep = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Busy, token.Outcome);
        Assert.Equal(RenewalOutcome.Busy, sweep.Outcome);
        _freshBooks.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task A_renewal_overtaken_by_a_reconsent_of_the_same_generation_revokes_its_own_pair()
    {
        _store.SetupSequence(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>()))
            .ReturnsAsync(Due())
            .ReturnsAsync(Due() with { AccessToken = "consent-access", RefreshToken = "consent-refresh", TokenGeneration = 2, Version = "consented" });
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind == ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).Returns<ConnectionChange, CancellationToken>((c, _) => Task.FromResult(Stored(c, "leased")));
        _store.Setup(s => s.WriteAsync(It.Is<ConnectionChange>(c => c.Kind != ConnectionChangeKind.Leased), It.IsAny<CancellationToken>())).ReturnsAsync(WriteResult.Refused(WriteOutcome.Conflict));
        _freshBooks.Setup(f => f.RefreshAsync("refresh-secret", It.IsAny<CancellationToken>())).ReturnsAsync(FreshBooksResult<TokenGrant>.Success(NewPair));
        _freshBooks.Setup(f => f.RevokeAsync("refresh-2", It.IsAny<CancellationToken>())).ReturnsAsync(FreshBooksResult<bool>.Success(true));

        var result = await _renewer.RenewAsync("t-acme", RenewalReason.Sweep, default);

        Assert.Equal(RenewalOutcome.Current, result.Outcome);
        Assert.Equal("consent-access", result.Connection!.AccessToken);
        _freshBooks.Verify(f => f.RevokeAsync("refresh-2", It.IsAny<CancellationToken>()), Times.Once);
    }

    /// <summary>Moves the fake clock on until <paramref name="task"/> ends (its retries wait on that clock).</summary>
    private async Task<T> AdvanceUntilDoneAsync<T>(Task<T> task)
    {
        for (var i = 0; i < 200 && !task.IsCompleted; i++)
        {
            await Task.Delay(5);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        return await task;
    }
}
