using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Every log line of the local host. Function names, queue names, message ids and outcomes only: never keys, message
/// contents, request bodies or exception details beyond the exception object itself.
/// </summary>
internal static partial class LocalHostLog
{
    [LoggerMessage(1, LogLevel.Information, "Executing 'Functions.{FunctionName}' (Reason='{Reason}', Id={InvocationId})")]
    public static partial void Executing(ILogger logger, string functionName, string reason, string invocationId);

    [LoggerMessage(2, LogLevel.Information, "Executed 'Functions.{FunctionName}' (Succeeded, Id={InvocationId}, Duration={DurationMs:0}ms)")]
    public static partial void Executed(ILogger logger, string functionName, string invocationId, double durationMs);

    [LoggerMessage(3, LogLevel.Error, "Executed 'Functions.{FunctionName}' (Failed, Id={InvocationId}, Duration={DurationMs:0}ms)")]
    public static partial void Failed(ILogger logger, string functionName, string invocationId, double durationMs, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "Loaded {Count} functions from {MetadataPath}")]
    public static partial void FunctionsLoaded(ILogger logger, int count, string metadataPath);

    [LoggerMessage(11, LogLevel.Information, "Read settings from {LocalSettingsPath}")]
    public static partial void LocalSettingsRead(ILogger logger, string localSettingsPath);

    [LoggerMessage(12, LogLevel.Warning, "No {SettingName} setting: using a key generated for this run (local development only)")]
    public static partial void KeyGenerated(ILogger logger, string settingName);

    [LoggerMessage(13, LogLevel.Information, "Request for 'Functions.{FunctionName}' refused: {AuthLevel} level needs a valid key")]
    public static partial void Unauthorized(ILogger logger, string functionName, string authLevel);

    [LoggerMessage(14, LogLevel.Warning, "The response of 'Functions.{FunctionName}' had already started when it failed; the connection is aborted")]
    public static partial void ResponseAlreadyStarted(ILogger logger, string functionName);

    [LoggerMessage(20, LogLevel.Information, "Timer 'Functions.{FunctionName}' scheduled '{Schedule}' (UTC); next occurrence {Next:O}")]
    public static partial void TimerScheduled(ILogger logger, string functionName, string schedule, DateTimeOffset next);

    [LoggerMessage(21, LogLevel.Warning, "Timer 'Functions.{FunctionName}' is past due: occurrence {Due:O} ran at {Now:O}")]
    public static partial void TimerPastDue(ILogger logger, string functionName, DateTimeOffset due, DateTimeOffset now);

    [LoggerMessage(30, LogLevel.Information, "Queue function 'Functions.{FunctionName}' listening on '{QueueName}' ({Connection})")]
    public static partial void QueueListening(ILogger logger, string functionName, string queueName, string connection);

    [LoggerMessage(31, LogLevel.Warning, "Polling '{QueueName}' for 'Functions.{FunctionName}' failed; retrying")]
    public static partial void QueuePollFailed(ILogger logger, string functionName, string queueName, Exception exception);

    [LoggerMessage(32, LogLevel.Warning, "Message {MessageId} of '{QueueName}' moved to '{PoisonQueueName}' after {DequeueCount} attempts")]
    public static partial void MovedToPoison(ILogger logger, string messageId, string queueName, string poisonQueueName, long dequeueCount);

    [LoggerMessage(33, LogLevel.Warning, "Completing message {MessageId} of '{QueueName}' failed")]
    public static partial void QueueCompletionFailed(ILogger logger, string messageId, string queueName, Exception exception);

    [LoggerMessage(40, LogLevel.Information, "Admin request: running 'Functions.{FunctionName}' now")]
    public static partial void AdminInvocation(ILogger logger, string functionName);
}
