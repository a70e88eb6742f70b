using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "Connection {ConnectionId} renewed; access token valid until {ExpiresAt:O}")]
    public static partial void Renewed(ILogger logger, string connectionId, DateTimeOffset expiresAt);

    [LoggerMessage(2002, LogLevel.Warning, "Connection {ConnectionId} needs a new consent: FreshBooks refused its grant ({Error})")]
    public static partial void NeedsReconsent(ILogger logger, string connectionId, string? error);

    [LoggerMessage(2003, LogLevel.Warning, "Renewal of connection {ConnectionId} failed: {Outcome} ({Error}); {FailedAttempts} failures in a row, retried later")]
    public static partial void RenewalFailed(ILogger logger, string connectionId, FreshBooksOutcome outcome, string? error, int failedAttempts);

    [LoggerMessage(2004, LogLevel.Critical, "Connection {ConnectionId}: FreshBooks issued a new token pair that could not be saved; the connection will need a new consent")]
    public static partial void RenewedPairNotSaved(ILogger logger, string connectionId);

    [LoggerMessage(2005, LogLevel.Warning, "Connection {ConnectionId}: the renewal lease was lost before FreshBooks answered; the new holder decides")]
    public static partial void LeaseLost(ILogger logger, string connectionId);

    [LoggerMessage(2006, LogLevel.Information, "Connection {ConnectionId} got a new consent while it was being renewed; the renewed grant is revoked")]
    public static partial void RenewalSuperseded(ILogger logger, string connectionId);

    [LoggerMessage(2007, LogLevel.Warning, "Connection {ConnectionId} was deleted while it was being renewed; the renewed grant is revoked")]
    public static partial void RenewedConnectionDeleted(ILogger logger, string connectionId);

    [LoggerMessage(2008, LogLevel.Information, "Connection {ConnectionId} changed while its renewal was saved (try {Attempt}); re-read and saved again")]
    public static partial void SaveConflictRetried(ILogger logger, string connectionId, int attempt);

    [LoggerMessage(2009, LogLevel.Warning, "Connection {ConnectionId}: storage did not take the renewal's outcome ({Outcome}); it is kept in memory and saved when storage answers")]
    public static partial void OutcomeKeptUntilSaved(ILogger logger, string connectionId, string outcome);

    [LoggerMessage(2010, LogLevel.Information, "Renewal sweep: {Due} due, {Enqueued} enqueued, {Skipped} already queued; {Purged} expired consents purged")]
    public static partial void Swept(ILogger logger, int due, int enqueued, int skipped, int purged);

    [LoggerMessage(2012, LogLevel.Error, "Connection {ConnectionId}: its tokens cannot be decrypted with the keys in TokenProtection__Keys; it is not renewed or served")]
    public static partial void TokensUnreadable(ILogger logger, string connectionId);

    [LoggerMessage(2013, LogLevel.Warning, "Connection {ConnectionId}: another instance's renewal lease ran out unreleased; its token is neither refreshed nor served until that instance saves or {Until:O}")]
    public static partial void RenewalInDoubt(ILogger logger, string connectionId, DateTimeOffset until);

    [LoggerMessage(2014, LogLevel.Error, "Connection {ConnectionId}: the renewal's outcome ({Outcome}) could not be saved (storage status {Status}); a later renewal decides again")]
    public static partial void RenewalOutcomeNotSaved(ILogger logger, string connectionId, string outcome, int status);

    [LoggerMessage(2015, LogLevel.Information, "Connection {ConnectionId}: its previous renewal index entry could not be removed (storage status {Status}); it is dropped when it comes due")]
    public static partial void StaleEntryLeft(ILogger logger, string connectionId, int status);

    [LoggerMessage(2016, LogLevel.Warning, "Renewal sweep: storage is unavailable (status {Status}); {Enqueued} enqueued before it failed, the rest are offered again by a later sweep")]
    public static partial void SweepInterrupted(ILogger logger, int status, int enqueued);

    [LoggerMessage(2017, LogLevel.Warning, "Renewal sweep: connection {ConnectionId} could not be enqueued (storage status {Status}); it is offered again later")]
    public static partial void EnqueueFailed(ILogger logger, string connectionId, int status);

    [LoggerMessage(2018, LogLevel.Warning, "Renewal message for connection {ConnectionId} not handled: storage is unavailable (status {Status}); the sweep offers it again later")]
    public static partial void RenewalMessageDeferred(ILogger logger, string connectionId, int status);

    [LoggerMessage(2011, LogLevel.Information, "Renewal message for connection {ConnectionId}: {Outcome}")]
    public static partial void RenewalProcessed(ILogger logger, string connectionId, RenewalOutcome outcome);
}
