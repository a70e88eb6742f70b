using System.Diagnostics.Metrics;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Renewal.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FreshBooksConnect.Tests;

/// <summary>A token request waiting for another instance's renewal is measured (<c>freshbooks.lease_wait.duration</c>) by how it ended.</summary>
public sealed class ConnectionLeaseWaitTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly Mock<IConnectionStore> _store = new(MockBehavior.Strict);
    private readonly IMeterFactory _meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
    private readonly MeterListener _listener = new();
    private readonly List<string> _waits = [];

    public ConnectionLeaseWaitTests()
    {
        // The outcome tag of every lease wait this test's meters record.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "freshbooks.lease_wait.duration" && instrument.Meter.Scope == _meters)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    _waits.Add((string)tag.Value!);
                }
            }
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_wait_that_sees_the_lease_released_or_the_connection_gone_is_recorded_with_that_outcome()
    {
        var lease = new ConnectionLease(_store.Object, new RenewalMetrics(_meters, _time), _time, Options.Create(new RenewalOptions()));

        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(TableConnectionStoreTests.Sample("v1"));
        await lease.WaitForReleaseAsync("t-acme", CancellationToken.None);
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync((Connection?)null);
        await lease.WaitForReleaseAsync("t-acme", CancellationToken.None);

        Assert.Equal(["released", "gone"], _waits);
    }

    [Fact]
    public async Task A_wait_that_runs_out_with_the_lease_still_held_elsewhere_is_recorded_as_still_leased()
    {
        var options = new RenewalOptions { LeaseWaitTimeout = TimeSpan.FromSeconds(1), LeaseWaitInterval = TimeSpan.FromSeconds(1) };
        var lease = new ConnectionLease(_store.Object, new RenewalMetrics(_meters, _time), _time, Options.Create(options));
        var held = TableConnectionStoreTests.Sample("v1") with { LeaseOwner = "another-instance", LeaseUntil = Now.AddMinutes(2) };
        _store.Setup(s => s.GetAsync("t-acme", It.IsAny<CancellationToken>())).ReturnsAsync(held);

        var waiting = lease.WaitForReleaseAsync("t-acme", CancellationToken.None);
        while (!waiting.IsCompleted)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        Assert.Same(held, await waiting);
        Assert.Equal(["still_leased"], _waits);
    }
}
