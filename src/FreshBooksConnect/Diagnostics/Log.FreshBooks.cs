using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// Every log line the product writes, source-generated, one file per area. Only ids, outcomes and FreshBooks' error codes
/// appear: never tokens, codes, state, link tokens, keys or FreshBooks' free-text descriptions.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Warning, "FreshBooks could not be reached at {Path} ({Failure})")]
    public static partial void FreshBooksUnreachable(ILogger logger, string? path, string failure);

    [LoggerMessage(1002, LogLevel.Warning, "FreshBooks answered {Path} with status {Status} and a body that could not be read")]
    public static partial void FreshBooksMalformedAnswer(ILogger logger, string? path, int status);

    [LoggerMessage(1003, LogLevel.Information, "FreshBooks refused {Path}: status {Status}, error {Error}, outcome {Outcome}")]
    public static partial void FreshBooksRefused(ILogger logger, string? path, int status, string? error, FreshBooksOutcome outcome);

    [LoggerMessage(1004, LogLevel.Warning, "FreshBooks answered a token call without a usable expires_in; the access token is taken to live {Seconds} seconds")]
    public static partial void FreshBooksLifetimeAssumed(ILogger logger, int seconds);

    [LoggerMessage(1005, LogLevel.Warning, "FreshBooks answered a token call with token_type {TokenType}; the token is used as a bearer token")]
    public static partial void FreshBooksOddTokenType(ILogger logger, string tokenType);

    [LoggerMessage(1006, LogLevel.Information, "FreshBooks' created_at is {Seconds} seconds from when its answer arrived; the expiry counts from the arrival")]
    public static partial void FreshBooksCreatedAtIgnored(ILogger logger, long seconds);
}
