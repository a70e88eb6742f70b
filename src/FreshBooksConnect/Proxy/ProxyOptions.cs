using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Proxy;

/// <summary>
/// The FreshBooks proxy (section <c>Proxy</c>): <c>Proxy__RetryBodyLimit</c> and <c>Proxy__MaxConcurrentPerConnection</c>. Its calls
/// to FreshBooks wait at most <c>FreshBooks__Timeout</c> for each step (connect, answer, each read or write of a body).
/// </summary>
public sealed class ProxyOptions
{
    public const string SectionName = "Proxy";

    /// <summary>
    /// Request bodies up to this many bytes (default 256 KiB) are kept in memory, so the request can be sent again with a renewed
    /// token after a 401; larger ones, and bodies of unknown length, are streamed and not sent again.
    /// </summary>
    public int RetryBodyLimit { get; set; } = 256 * 1024;

    /// <summary>Proxied calls of one connection at once on one instance (default 16); more are answered 429.</summary>
    public int MaxConcurrentPerConnection { get; set; } = 16;
}

internal sealed class ProxyOptionsValidator : IValidateOptions<ProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, ProxyOptions options)
    {
        var failures = new List<string>();
        if (options.RetryBodyLimit is < 0 or > 16 * 1024 * 1024)
        {
            failures.Add("Proxy__RetryBodyLimit must be 0-16777216 bytes (kept in memory per call).");
        }

        if (options.MaxConcurrentPerConnection is < 1 or > 1000)
        {
            failures.Add("Proxy__MaxConcurrentPerConnection must be 1-1000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
