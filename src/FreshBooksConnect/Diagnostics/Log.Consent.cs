using FreshBooksConnect.Consent;
using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Information, "Consent started (connection {ConnectionId})")]
    public static partial void ConsentStarted(ILogger logger, string? connectionId);

    [LoggerMessage(3002, LogLevel.Warning, "Onboarding link refused: {Outcome}")]
    public static partial void LinkRefused(ILogger logger, LinkValidationOutcome outcome);

    [LoggerMessage(3003, LogLevel.Warning, "Callback refused: it did not come from the browser that started the consent")]
    public static partial void BrowserMismatch(ILogger logger);

    [LoggerMessage(3004, LogLevel.Information, "Consent not given: FreshBooks returned error {Error}")]
    public static partial void ConsentDeclined(ILogger logger, string error);

    [LoggerMessage(3005, LogLevel.Warning, "Code exchange failed: {Outcome} ({Error})")]
    public static partial void CodeExchangeFailed(ILogger logger, FreshBooksOutcome outcome, string? error);

    [LoggerMessage(3006, LogLevel.Warning, "users/me failed after the code exchange: {Outcome} ({Error}); the new grant was revoked")]
    public static partial void IdentityLookupFailed(ILogger logger, FreshBooksOutcome outcome, string? error);

    [LoggerMessage(3007, LogLevel.Information, "Connection {ConnectionId} connected ({BusinessCount} businesses)")]
    public static partial void Connected(ILogger logger, string connectionId, int businessCount);

    [LoggerMessage(3009, LogLevel.Error, "Consent could not be handled: storage answered {Status}")]
    public static partial void ConsentStorageUnavailable(ILogger logger, int status);

    [LoggerMessage(3010, LogLevel.Error, "Connection {ConnectionId}: a new consent could not be saved (storage status {Status}); its grant was revoked and the customer asked to start again")]
    public static partial void ConnectionNotSaved(ILogger logger, string connectionId, int status);

    [LoggerMessage(3011, LogLevel.Warning, "Connection {ConnectionId} was saved, but its consent state could not be marked (storage status {Status}); a repeated callback shows the generic already-used page")]
    public static partial void ConsentStateNotUpdated(ILogger logger, string connectionId, int status);

    [LoggerMessage(3012, LogLevel.Warning, "Expired consent states not purged now: storage is unavailable (status {Status}); a later sweep purges them")]
    public static partial void ConsentPurgeDeferred(ILogger logger, int status);

    [LoggerMessage(3013, LogLevel.Warning, "Onboarding link for connection {ConnectionId} refused: a completed consent already used it")]
    public static partial void LinkAlreadyUsed(ILogger logger, string? connectionId);

    [LoggerMessage(3014, LogLevel.Warning, "Connection {ConnectionId}: a consent by another FreshBooks identity was refused (the link does not allow an identity change); its grant was revoked")]
    public static partial void IdentityChangeRefused(ILogger logger, string connectionId);

    [LoggerMessage(3015, LogLevel.Warning, "An onboarding link claimed by a consent that did not complete could not be released (storage status {Status}); it is usable again once the claim lapses")]
    public static partial void LinkNotReleased(ILogger logger, int status);

    [LoggerMessage(3016, LogLevel.Error, "Connection {ConnectionId} was saved, but its onboarding link could not be marked used (storage status {Status}); the link is usable again once its claim lapses")]
    public static partial void LinkNotSpent(ILogger logger, string connectionId, int status);

    [LoggerMessage(3017, LogLevel.Warning, "Start refused: the continue did not come from this app's confirm page in this browser (cross-site, or without its cookie); nothing was started")]
    public static partial void StartNotConfirmed(ILogger logger);

    [LoggerMessage(3008, LogLevel.Information, "Connection {ConnectionId} changed while a new consent was saved (try {Attempt}); retrying")]
    public static partial void ConnectionSaveConflict(ILogger logger, string connectionId, int attempt);
}
