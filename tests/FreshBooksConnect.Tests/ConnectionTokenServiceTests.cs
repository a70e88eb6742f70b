using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace FreshBooksConnect.Tests;

public sealed class ConnectionTokenServiceTests
{
    [Fact]
    public async Task A_request_cancelled_while_it_waits_on_a_refresh_is_answered_unavailable_not_thrown()
    {
        // The host stops (or the caller leaves) while the request waits on another instance's lease or this one's refresh.
        using var stopping = new CancellationTokenSource();
        var renewer = new Mock<IConnectionRenewer>();
        renewer.Setup(r => r.RenewAsync("t-acme", It.IsAny<RenewalReason>(), stopping.Token))
            .Returns<string, RenewalReason, CancellationToken>(async (_, _, ct) =>
            {
                await stopping.CancelAsync();
                ct.ThrowIfCancellationRequested();
                return new RenewalResult(RenewalOutcome.Current, null);
            });
        var tokens = new ConnectionTokenService(renewer.Object, Metrics.Create(), TimeProvider.System, NullLogger<ConnectionTokenService>.Instance);

        var result = await tokens.GetTokenAsync("t-acme", stopping.Token);

        Assert.Equal(TokenOutcome.Unavailable, result.Outcome);
        Assert.NotNull(result.RetryAfter);
        Assert.Null(result.Connection);
    }
}
