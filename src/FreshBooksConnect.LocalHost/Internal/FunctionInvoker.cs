using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>What triggered one invocation.</summary>
internal sealed class InvocationInput
{
    public required string Reason { get; init; }

    public HttpContext? HttpContext { get; init; }

    public TimerInfo? Timer { get; init; }

    public QueueMessage? QueueMessage { get; init; }
}

/// <summary>
/// Runs one invocation as the isolated worker does: a DI scope of its own, the function class created from that scope
/// with <see cref="ActivatorUtilities"/>, the arguments bound, the method awaited, then the result handed on.
/// </summary>
internal sealed class FunctionInvoker(IServiceProvider services, ILogger<FunctionInvoker> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Invokes <paramref name="function"/>; <paramref name="onResult"/> sees the awaited return value while the
    /// invocation's scope is still alive (the HTTP endpoint executes IActionResults there). Throws what the function threw.
    /// </summary>
    public async Task InvokeAsync(
        FunctionDescriptor function,
        InvocationInput input,
        Func<object?, FunctionContext, Task>? onResult,
        CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var context = new LocalFunctionContext(
            function,
            scope.ServiceProvider,
            BindingData(input),
            retryCount: input.QueueMessage is { DequeueCount: > 1 } message ? (int)Math.Min(int.MaxValue, message.DequeueCount - 1) : 0,
            cancellationToken);
        if (input.HttpContext is not null)
        {
            context.Items[LocalFunctionContext.HttpContextItemKey] = input.HttpContext;
        }

        using var logScope = logger.BeginScope(new Dictionary<string, object>
        {
            ["InvocationId"] = context.InvocationId,
            ["FunctionName"] = function.Name,
        });
        LocalHostLog.Executing(logger, function.Name, input.Reason, context.InvocationId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var arguments = function.Parameters.Select(p => Bind(p, input, context)).ToArray();
            var instance = function.Factory?.Invoke(scope.ServiceProvider, null);
            var returned = function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, binder: null, arguments, CultureInfo.InvariantCulture);
            var result = await function.Return.UnwrapAsync(returned).ConfigureAwait(false);
            if (onResult is not null)
            {
                await onResult(result, context).ConfigureAwait(false);
            }

            LocalHostLog.Executed(logger, function.Name, context.InvocationId, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            LocalHostLog.Failed(logger, function.Name, context.InvocationId, Stopwatch.GetElapsedTime(started).TotalMilliseconds, ex);
            throw;
        }
    }

    private static object? Bind(ParameterBinding parameter, InvocationInput input, LocalFunctionContext context) => parameter.Source switch
    {
        ArgumentSource.FunctionContext => context,
        ArgumentSource.CancellationToken => context.CancellationToken,
        ArgumentSource.HttpRequest => Require(input.HttpContext, parameter).Request,
        ArgumentSource.TimerInfo => Require(input.Timer, parameter),
        ArgumentSource.QueueMessage => Require(input.QueueMessage, parameter),
        ArgumentSource.QueueString => Require(input.QueueMessage, parameter).Body.ToString(),
        ArgumentSource.QueueBinaryData => Require(input.QueueMessage, parameter).Body,
        ArgumentSource.QueueBytes => Require(input.QueueMessage, parameter).Body.ToArray(),
        ArgumentSource.QueueJson => JsonSerializer.Deserialize(Require(input.QueueMessage, parameter).Body.ToMemory().Span, parameter.Type, Json),
        ArgumentSource.RouteValue => RouteValue(parameter, Require(input.HttpContext, parameter)),
        _ => throw new UnreachableException(),
    };

    private static T Require<T>(T? value, ParameterBinding parameter)
        where T : class =>
        value ?? throw new InvalidOperationException($"No input for parameter '{parameter.Name}' in this invocation.");

    private static object? RouteValue(ParameterBinding parameter, HttpContext http)
    {
        var text = http.Request.RouteValues.TryGetValue(parameter.Name, out var routeValue) && routeValue is not null
            ? Convert.ToString(routeValue, CultureInfo.InvariantCulture)
            : http.Request.Query.TryGetValue(parameter.Name, out var query) && query.Count > 0
                ? query[0]
                : null;
        if (text is null)
        {
            if (parameter.HasDefaultValue)
            {
                return parameter.DefaultValue;
            }

            return !parameter.Type.IsValueType || Nullable.GetUnderlyingType(parameter.Type) is not null
                ? null
                : throw new InvalidOperationException($"No route value or query parameter '{parameter.Name}' for a {parameter.Type.Name} parameter.");
        }

        if (parameter.Type == typeof(string))
        {
            return text;
        }

        try
        {
            return TypeDescriptor.GetConverter(parameter.Type).ConvertFromInvariantString(text);
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            throw new InvalidOperationException($"The value of '{parameter.Name}' can't be converted to {parameter.Type.Name}.", ex);
        }
    }

    private static Dictionary<string, object?> BindingData(InvocationInput input)
    {
        var data = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        if (input.HttpContext is { } http)
        {
            foreach (var (key, value) in http.Request.Query)
            {
                data[key] = value.ToString();
            }

            foreach (var (key, value) in http.Request.RouteValues)
            {
                data[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
        }

        if (input.QueueMessage is { } message)
        {
            data["QueueTrigger"] = message.Body.ToString();
            data["Id"] = message.MessageId;
            data["DequeueCount"] = message.DequeueCount;
            data["PopReceipt"] = message.PopReceipt;
            data["InsertionTime"] = message.InsertedOn;
            data["ExpirationTime"] = message.ExpiresOn;
            data["NextVisibleTime"] = message.NextVisibleOn;
        }

        return data;
    }
}
