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
        var tokens = new ConnectionTokenService(renewer.Object, TestMeters.TokenCache(), Metrics.Create(), TimeProvider.System, NullLogger<ConnectionTokenService>.Instance);

        var result = await tokens.GetTokenAsync("t-acme", stopping.Token);

        Assert.Equal(TokenOutcome.Unavailable, result.Outcome);
        Assert.NotNull(result.RetryAfter);
        Assert.Null(result.Connection);
    }

    [Fact]
    public async Task A_current_token_is_served_from_the_cache_until_it_is_rejected()
    {
        var first = TableConnectionStoreTests.Sample("\"v1\"") with { AccessToken = "access-1", AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(12) };
        var second = first with { AccessToken = "access-2", TokenGeneration = first.TokenGeneration + 1 };
        var renewer = new Mock<IConnectionRenewer>();
        renewer.Setup(r => r.RenewAsync("t-acme", RenewalReason.TokenRequest, It.IsAny<CancellationToken>())).ReturnsAsync(new RenewalResult(RenewalOutcome.Current, first));
        renewer.Setup(r => r.RenewAsync("t-acme", It.IsAny<RenewalReason.TokenRejected>(), It.IsAny<CancellationToken>())).ReturnsAsync(new RenewalResult(RenewalOutcome.Current, second));
        var tokens = new ConnectionTokenService(renewer.Object, TestMeters.TokenCache(), Metrics.Create(), TimeProvider.System, NullLogger<ConnectionTokenService>.Instance);

        var answers = new[] { await tokens.GetTokenAsync("t-acme", default), await tokens.GetTokenAsync("t-acme", default) };
        var afterRejection = await tokens.RefreshRejectedAsync("t-acme", "access-1", default);
        var next = await tokens.GetTokenAsync("t-acme", default);

        Assert.All(answers, a => Assert.Equal("access-1", a.Connection!.AccessToken));
        Assert.Equal("access-2", afterRejection.Connection!.AccessToken);
        Assert.Equal("access-2", next.Connection!.AccessToken);
        renewer.Verify(r => r.RenewAsync("t-acme", RenewalReason.TokenRequest, It.IsAny<CancellationToken>()), Times.Once());
    }
}
