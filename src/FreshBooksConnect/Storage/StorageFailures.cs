using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Azure;

namespace FreshBooksConnect.Storage;

/// <summary>
/// The one classification of storage failures: what means "storage is unavailable for now" to every caller. The stores call
/// storage only through <see cref="GuardAsync{T}"/>, so nothing above them sees an Azure SDK exception for an outage.
/// </summary>
internal static class StorageFailures
{
    /// <summary>
    /// True for failures that say nothing about the request itself: a transient status (408, 429, 5xx), a transport failure
    /// (refused, reset, DNS), the SDK's <see cref="AggregateException"/> of such attempts after its retries, and a time-out of
    /// the storage call (a cancellation the caller did not ask for).
    /// </summary>
    public static bool IsUnavailable(Exception exception, CancellationToken callerToken) => exception switch
    {
        RequestFailedException failed => failed.Status is 0 or 408 or 429 or >= 500,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => IsUnavailable(e, callerToken)),
        OperationCanceledException => !callerToken.IsCancellationRequested,
        HttpRequestException or IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Runs one storage call; an unavailable storage surfaces as <see cref="StorageUnavailableException"/>.</summary>
    public static async Task<T> GuardAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw new StorageUnavailableException("Storage is unavailable: " + FirstMessage(ex), ex) { Status = StatusOf(ex) };
        }
    }

    public static async Task GuardAsync(Func<Task> call, CancellationToken cancellationToken) =>
        await GuardAsync(
            async () =>
            {
                await call().ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>A storage query read page by page, each page's read guarded like <see cref="GuardAsync{T}"/>.</summary>
    public static async IAsyncEnumerable<T> Guarded<T>(this IAsyncEnumerable<T> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var enumerator = source.GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (await GuardAsync(() => enumerator.MoveNextAsync().AsTask(), cancellationToken).ConfigureAwait(false))
            {
                yield return enumerator.Current;
            }
        }
    }

    private static int StatusOf(Exception exception) => exception switch
    {
        RequestFailedException failed => failed.Status,
        AggregateException aggregate => aggregate.InnerExceptions.Select(StatusOf).LastOrDefault(),
        _ => 0,
    };

    // The SDK's own first line, without its request dump (which names the account and the row, never a token).
    private static string FirstMessage(Exception exception) =>
        (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate ? aggregate.InnerExceptions[^1] : exception).Message.Split('\n')[0];
}
