using System.Net.Sockets;
using Azure;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Tests;

public sealed class StorageFailuresTests
{
    public static TheoryData<Exception> Outages() =>
    [
        new RequestFailedException(503, "Server busy"),
        new RequestFailedException(500, "Internal error"),
        new RequestFailedException(429, "Too many requests"),
        new RequestFailedException(408, "Request timeout"),
        new RequestFailedException("Connection refused", new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused))),

        // What the SDK throws when every try failed at the transport level: "Retry failed after 4 tries".
        new AggregateException(
            "Retry failed after 4 tries.",
            new RequestFailedException("Connection refused", new HttpRequestException("refused")),
            new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout of 0:00:05."),
            new RequestFailedException(503, "Server busy")),
        new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout of 0:00:05."),
        new IOException("The response ended prematurely."),
        new HttpRequestException("Name or service not known"),
    ];

    public static TheoryData<Exception> NotOutages() =>
    [
        new RequestFailedException(412, "Condition not met"),
        new RequestFailedException(409, "Entity already exists"),
        new RequestFailedException(404, "Not found"),
        new RequestFailedException(400, "Bad request"),
        new RequestFailedException(403, "AuthorizationPermissionMismatch"),
        new AggregateException(new RequestFailedException(503, "busy"), new RequestFailedException(400, "bad")),
        new InvalidOperationException("a bug"),
    ];

    [Theory]
    [MemberData(nameof(Outages))]
    public void Transport_failures_time_outs_and_transient_statuses_mean_storage_is_unavailable(Exception failure) =>
        Assert.True(StorageFailures.IsUnavailable(failure, CancellationToken.None));

    [Theory]
    [MemberData(nameof(NotOutages))]
    public void Answers_about_the_request_itself_and_bugs_are_not_outages(Exception failure) =>
        Assert.False(StorageFailures.IsUnavailable(failure, CancellationToken.None));

    [Fact]
    public void The_callers_own_cancellation_is_not_an_outage()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.False(StorageFailures.IsUnavailable(new OperationCanceledException(cancelled.Token), cancelled.Token));
    }

    [Fact]
    public async Task A_guarded_call_turns_an_outage_into_storage_unavailable_with_its_status_and_lets_everything_else_through()
    {
        var outage = await Assert.ThrowsAsync<StorageUnavailableException>(() =>
            StorageFailures.GuardAsync(() => Task.FromException(new AggregateException(new RequestFailedException(503, "busy"))), CancellationToken.None));
        Assert.Equal(503, outage.Status);
        Assert.IsType<AggregateException>(outage.InnerException);

        await Assert.ThrowsAsync<RequestFailedException>(() =>
            StorageFailures.GuardAsync(() => Task.FromException(new RequestFailedException(412, "changed")), CancellationToken.None));
    }

    [Fact]
    public async Task A_guarded_query_surfaces_an_outage_on_the_page_that_failed()
    {
        async IAsyncEnumerable<int> Pages()
        {
            yield return 1;
            await Task.Yield();
            throw new RequestFailedException("Connection reset", new IOException("reset"));
        }

        var read = new List<int>();
        await Assert.ThrowsAsync<StorageUnavailableException>(async () =>
        {
            await foreach (var page in Pages().Guarded(CancellationToken.None))
            {
                read.Add(page);
            }
        });
        Assert.Equal([1], read);
    }
}
