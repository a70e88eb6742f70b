namespace FreshBooksConnect.Storage;

/// <summary>
/// Storage could not be reached or did not answer in time, after the storage client's own retries: the outcome of the call is
/// unknown (a write may or may not have landed). Callers answer "try again shortly" or retry; nothing is lost by it.
/// </summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
        : this("Storage is unavailable.", null)
    {
    }

    public StorageUnavailableException(string message)
        : this(message, null)
    {
    }

    public StorageUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The storage status when storage answered (429, 5xx); 0 when it could not be reached or timed out.</summary>
    public int Status { get; init; }
}
