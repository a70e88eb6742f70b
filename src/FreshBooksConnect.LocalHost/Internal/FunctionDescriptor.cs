using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>Where an argument comes from.</summary>
internal enum ArgumentSource
{
    HttpRequest,
    FunctionContext,
    CancellationToken,
    TimerInfo,
    QueueString,
    QueueBinaryData,
    QueueBytes,
    QueueMessage,
    QueueJson,
    RouteValue,
}

/// <summary>How one parameter of a function method is bound.</summary>
internal sealed record ParameterBinding(string Name, Type Type, ArgumentSource Source, bool HasDefaultValue, object? DefaultValue);

/// <summary>What a function method returns, and how to await it.</summary>
internal sealed class ReturnShape
{
    private readonly MethodInfo? _asTask;
    private readonly PropertyInfo? _result;

    private ReturnShape(Type? resultType, MethodInfo? asTask, PropertyInfo? result, bool awaitable)
    {
        ResultType = resultType;
        _asTask = asTask;
        _result = result;
        IsAwaitable = awaitable;
    }

    /// <summary>The type of the (awaited) result; null for void, Task and ValueTask.</summary>
    public Type? ResultType { get; }

    private bool IsAwaitable { get; }

    public static ReturnShape For(Type returnType)
    {
        if (returnType == typeof(void))
        {
            return new ReturnShape(null, null, null, awaitable: false);
        }

        if (returnType == typeof(Task))
        {
            return new ReturnShape(null, null, null, awaitable: true);
        }

        if (returnType == typeof(ValueTask))
        {
            return new ReturnShape(null, typeof(ValueTask).GetMethod(nameof(ValueTask.AsTask)), null, awaitable: true);
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            return new ReturnShape(returnType.GetGenericArguments()[0], null, returnType.GetProperty(nameof(Task<object>.Result)), awaitable: true);
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            var inner = returnType.GetGenericArguments()[0];
            return new ReturnShape(
                inner,
                returnType.GetMethod(nameof(ValueTask<object>.AsTask)),
                typeof(Task<>).MakeGenericType(inner).GetProperty(nameof(Task<object>.Result)),
                awaitable: true);
        }

        return new ReturnShape(returnType, null, null, awaitable: false);
    }

    /// <summary>Awaits what the method returned, if it's awaitable, and gives its result.</summary>
    public async Task<object?> UnwrapAsync(object? returned)
    {
        if (!IsAwaitable)
        {
            return returned;
        }

        var task = _asTask is null ? (Task)returned! : (Task)_asTask.Invoke(returned, null)!;
        await task.ConfigureAwait(false);
        return _result?.GetValue(task);
    }
}

/// <summary>A function ready to run: its public description plus what it takes to invoke it.</summary>
internal sealed class FunctionDescriptor
{
    public required LocalFunction Function { get; init; }

    public required string Id { get; init; }

    public required LocalFunctionDefinition Definition { get; init; }

    public required MethodInfo Method { get; init; }

    /// <summary>Creates the function class from the invocation's scope; null for a static method.</summary>
    public required ObjectFactory? Factory { get; init; }

    public required IReadOnlyList<ParameterBinding> Parameters { get; init; }

    public required ReturnShape Return { get; init; }

    public string Name => Function.Name;
}
