using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Turns <c>functions.metadata</c> into runnable functions: finds each entry point, checks every trigger, binding,
/// parameter and return type against what the local host supports, and reports all problems at once.
/// </summary>
internal static class FunctionIndexer
{
    public const string HttpTrigger = "httpTrigger";
    public const string TimerTrigger = "timerTrigger";
    public const string QueueTrigger = "queueTrigger";

    private static readonly HashSet<Type> SimpleTypes =
    [
        typeof(string), typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(char), typeof(Guid),
        typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(DateOnly), typeof(TimeOnly),
    ];

    public static IReadOnlyList<FunctionDescriptor> Index(
        string functionAppDirectory,
        IReadOnlyList<FunctionMetadataEntry> entries,
        HostSettings host,
        IConfiguration configuration)
    {
        var problems = new List<string>();
        var functions = new List<FunctionDescriptor>();
        var filter = host.FunctionsFilter;
        var assemblies = new Dictionary<string, Assembly?>(StringComparer.OrdinalIgnoreCase);

        foreach (var entry in entries)
        {
            if (filter is not null && !filter.Contains(entry.Name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var errors = new List<string>();
            var descriptor = IndexOne(functionAppDirectory, entry, host, configuration, assemblies, errors);
            problems.AddRange(errors.Select(e => $"Function '{entry.Name}': {e}"));
            if (descriptor is not null && errors.Count == 0)
            {
                functions.Add(descriptor);
            }
        }

        foreach (var duplicate in functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"Function '{duplicate.Key}' is declared {duplicate.Count()} times.");
        }

        if (problems.Count > 0)
        {
            throw new LocalHostStartupException(problems);
        }

        return functions;
    }

    private static FunctionDescriptor? IndexOne(
        string functionAppDirectory,
        FunctionMetadataEntry entry,
        HostSettings host,
        IConfiguration configuration,
        Dictionary<string, Assembly?> assemblies,
        List<string> errors)
    {
        var triggers = entry.Bindings.Where(b => b.IsTrigger && b.IsIn).ToArray();
        if (triggers.Length != 1)
        {
            errors.Add(triggers.Length == 0 ? "it has no trigger binding." : "it has more than one trigger binding.");
            return null;
        }

        var trigger = triggers[0];
        var kind = trigger.Type switch
        {
            _ when trigger.Type.Equals(HttpTrigger, StringComparison.OrdinalIgnoreCase) => LocalTriggerType.Http,
            _ when trigger.Type.Equals(TimerTrigger, StringComparison.OrdinalIgnoreCase) => LocalTriggerType.Timer,
            _ when trigger.Type.Equals(QueueTrigger, StringComparison.OrdinalIgnoreCase) => LocalTriggerType.Queue,
            _ => (LocalTriggerType?)null,
        };
        if (kind is null)
        {
            errors.Add($"trigger type '{trigger.Type}' (parameter '{trigger.Name}') is not supported by the local host " +
                       $"(supported: {HttpTrigger}, {TimerTrigger}, {QueueTrigger}).");
            return null;
        }

        var method = FindMethod(functionAppDirectory, entry, assemblies, errors);
        if (method is null)
        {
            return null;
        }

        var function = Describe(entry, kind.Value, trigger, host, configuration, errors);
        var parameters = BindParameters(method, entry, kind.Value, trigger, errors);
        var returnShape = ReturnShape.For(method.ReturnType);
        CheckOutputs(entry, kind.Value, method, returnShape, errors);
        if (function is null || errors.Count > 0)
        {
            return null;
        }

        var id = FunctionIdFor(entry.Name);
        return new FunctionDescriptor
        {
            Function = function,
            Id = id,
            Definition = new LocalFunctionDefinition(
                id,
                entry.Name,
                method.DeclaringType!.Assembly.Location,
                entry.EntryPoint,
                [.. method.GetParameters().Select(p => new FunctionParameter(p.Name!, p.ParameterType))],
                entry.Bindings),
            Method = method,
            Factory = method.IsStatic ? null : ActivatorUtilities.CreateFactory(method.DeclaringType!, Type.EmptyTypes),
            Parameters = parameters,
            Return = returnShape,
        };
    }

    private static LocalFunction? Describe(
        FunctionMetadataEntry entry,
        LocalTriggerType kind,
        BindingEntry trigger,
        HostSettings host,
        IConfiguration configuration,
        List<string> errors)
    {
        var disabled = IsTrue(configuration[$"AzureWebJobs.{entry.Name}.Disabled"]) ||
                       IsTrue(configuration[$"AzureWebJobs:{entry.Name}:Disabled"]);
        var function = new LocalFunction
        {
            Name = entry.Name,
            EntryPoint = entry.EntryPoint,
            TriggerType = kind,
            IsDisabled = disabled,
        };

        switch (kind)
        {
            case LocalTriggerType.Http:
                var levelText = trigger.GetString("authLevel");
                var level = AuthorizationLevel.Function;
                if (levelText is not null && !Enum.TryParse(levelText, ignoreCase: true, out level))
                {
                    errors.Add($"authLevel '{levelText}' is not an authorization level.");
                }
                else if (level == AuthorizationLevel.User)
                {
                    errors.Add("authLevel 'User' (App Service authentication) is not supported by the local host.");
                }

                var route = (trigger.GetString("route") ?? entry.Name).Trim('/');
                var served = host.RoutePrefix.Length == 0 ? route : route.Length == 0 ? host.RoutePrefix : $"{host.RoutePrefix}/{route}";
                try
                {
                    RoutePatternFactory.Parse(served);
                }
                catch (RoutePatternException ex)
                {
                    errors.Add($"route '{served}' is not a valid route template: {ex.Message}");
                }

                if (served.Equals("admin", StringComparison.OrdinalIgnoreCase) ||
                    served.StartsWith("admin/", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"route '{served}' conflicts with the host's built-in admin routes.");
                }

                return function with
                {
                    Route = served,
                    Methods = (trigger.GetStrings("methods") ?? []).Select(m => m.ToUpperInvariant()).Distinct().ToArray(),
                    AuthLevel = level,
                };

            case LocalTriggerType.Timer:
                var schedule = trigger.GetString("schedule");
                if (string.IsNullOrWhiteSpace(schedule))
                {
                    errors.Add("the timer trigger has no schedule.");
                }

                return function with { Schedule = schedule, RunOnStartup = trigger.GetBoolean("runOnStartup") };

            default:
                var queueName = trigger.GetString("queueName");
                if (string.IsNullOrWhiteSpace(queueName))
                {
                    errors.Add("the queue trigger has no queueName.");
                }

                var connection = trigger.GetString("connection");
                return function with { QueueName = queueName, Connection = string.IsNullOrEmpty(connection) ? null : connection };
        }
    }

    private static MethodInfo? FindMethod(
        string functionAppDirectory,
        FunctionMetadataEntry entry,
        Dictionary<string, Assembly?> assemblies,
        List<string> errors)
    {
        if (string.IsNullOrEmpty(entry.ScriptFile) || string.IsNullOrEmpty(entry.EntryPoint))
        {
            errors.Add("its metadata has no scriptFile or entryPoint.");
            return null;
        }

        if (!assemblies.TryGetValue(entry.ScriptFile, out var assembly))
        {
            assembly = LoadAssembly(functionAppDirectory, entry.ScriptFile, errors);
            assemblies[entry.ScriptFile] = assembly;
        }

        if (assembly is null)
        {
            errors.Add($"its assembly '{entry.ScriptFile}' could not be loaded.");
            return null;
        }

        var split = entry.EntryPoint.LastIndexOf('.');
        var typeName = split > 0 ? entry.EntryPoint[..split] : string.Empty;
        var methodName = entry.EntryPoint[(split + 1)..];
        var type = assembly.GetType(typeName, throwOnError: false) ?? assembly.GetType(NestedTypeName(typeName), throwOnError: false);
        if (type is null)
        {
            errors.Add($"entry point type '{typeName}' was not found in {assembly.GetName().Name}.");
            return null;
        }

        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m.Name == methodName)
            .ToArray();
        var method = candidates.Length == 1
            ? candidates[0]
            : candidates.FirstOrDefault(m => m.GetCustomAttribute<FunctionAttribute>()?.Name == entry.Name);
        if (method is null)
        {
            errors.Add($"entry point method '{entry.EntryPoint}' was not found (a public method named '{methodName}').");
        }
        else if (method.IsGenericMethodDefinition || method.DeclaringType!.ContainsGenericParameters)
        {
            errors.Add($"entry point '{entry.EntryPoint}' is generic.");
            return null;
        }

        return method;
    }

    /// <summary>
    /// The function app's assembly: by name from the local host's own dependencies when it is one of them (the normal
    /// case: a ProjectReference; types are then shared), else from the function app directory.
    /// </summary>
    private static Assembly? LoadAssembly(string functionAppDirectory, string scriptFile, List<string> errors)
    {
        var path = Path.GetFullPath(Path.Combine(functionAppDirectory, scriptFile));
        var name = new AssemblyName(Path.GetFileNameWithoutExtension(scriptFile));
        try
        {
            return AssemblyLoadContext.Default.LoadFromAssemblyName(name);
        }
        catch (FileNotFoundException) when (File.Exists(path))
        {
            var directory = Path.GetDirectoryName(path)!;
            AssemblyLoadContext.Default.Resolving += (context, dependency) =>
            {
                var candidate = Path.Combine(directory, dependency.Name + ".dll");
                return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
            };
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            errors.Add($"loading '{scriptFile}' failed: {ex.Message}");
            return null;
        }
    }

    private static string NestedTypeName(string typeName)
    {
        var split = typeName.LastIndexOf('.');
        return split > 0 ? typeName[..split] + "+" + typeName[(split + 1)..] : typeName;
    }

    private static ParameterBinding[] BindParameters(
        MethodInfo method,
        FunctionMetadataEntry entry,
        LocalTriggerType kind,
        BindingEntry trigger,
        List<string> errors)
    {
        var bindings = new List<ParameterBinding>();
        foreach (var parameter in method.GetParameters())
        {
            var name = parameter.Name ?? string.Empty;
            var type = parameter.ParameterType;
            var described = $"parameter '{name}' ({Display(type)})";
            if (type.IsByRef || parameter.IsOut)
            {
                errors.Add($"{described} is passed by reference; not supported.");
                continue;
            }

            ArgumentSource? source = null;
            var binding = entry.Bindings.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.Ordinal));
            if (type == typeof(FunctionContext))
            {
                source = ArgumentSource.FunctionContext;
            }
            else if (type == typeof(CancellationToken))
            {
                source = ArgumentSource.CancellationToken;
            }
            else if (binding is not null && binding == trigger)
            {
                source = TriggerSource(kind, type);
                if (source is null)
                {
                    errors.Add($"{described} can't receive a {trigger.Type}: supported types are {SupportedTriggerTypes(kind)}.");
                    continue;
                }
            }
            else if (binding is not null)
            {
                errors.Add($"{described} uses a '{binding.Type}' binding, which the local host does not support " +
                           "(only the trigger, FunctionContext, CancellationToken and, for HTTP, route values are bound).");
                continue;
            }
            else if (kind == LocalTriggerType.Http && IsSimple(type))
            {
                source = ArgumentSource.RouteValue;
            }

            if (source is null)
            {
                errors.Add($"{described} can't be bound by the local host: it is not the trigger, FunctionContext, " +
                           "CancellationToken" + (kind == LocalTriggerType.Http ? " or a route value of a simple type." : "."));
                continue;
            }

            bindings.Add(new ParameterBinding(name, type, source.Value, parameter.HasDefaultValue, parameter.HasDefaultValue ? parameter.DefaultValue : null));
        }

        return [.. bindings];
    }

    private static ArgumentSource? TriggerSource(LocalTriggerType kind, Type type) => kind switch
    {
        LocalTriggerType.Http when type == typeof(HttpRequest) => ArgumentSource.HttpRequest,
        LocalTriggerType.Timer when type == typeof(TimerInfo) => ArgumentSource.TimerInfo,
        LocalTriggerType.Queue when type == typeof(string) => ArgumentSource.QueueString,
        LocalTriggerType.Queue when type == typeof(BinaryData) => ArgumentSource.QueueBinaryData,
        LocalTriggerType.Queue when type == typeof(byte[]) => ArgumentSource.QueueBytes,
        LocalTriggerType.Queue when type == typeof(QueueMessage) => ArgumentSource.QueueMessage,
        LocalTriggerType.Queue when IsJsonPoco(type) => ArgumentSource.QueueJson,
        _ => null,
    };

    private static string SupportedTriggerTypes(LocalTriggerType kind) => kind switch
    {
        LocalTriggerType.Http => "HttpRequest (ASP.NET Core integration)",
        LocalTriggerType.Timer => "TimerInfo",
        _ => "string, BinaryData, byte[], QueueMessage or a class deserialized from JSON",
    };

    private static bool IsJsonPoco(Type type) =>
        !type.IsAbstract && !type.IsInterface && !type.IsPointer && !type.IsByRefLike &&
        type != typeof(object) && !typeof(Delegate).IsAssignableFrom(type) &&
        type.Namespace?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) != true &&
        type.Namespace?.StartsWith("Microsoft.Azure.Functions", StringComparison.Ordinal) != true;

    private static bool IsSimple(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return SimpleTypes.Contains(underlying) || underlying.IsEnum;
    }

    private static void CheckOutputs(FunctionMetadataEntry entry, LocalTriggerType kind, MethodInfo method, ReturnShape shape, List<string> errors)
    {
        foreach (var output in entry.Bindings.Where(b => !b.IsIn))
        {
            var isHttpResponse = kind == LocalTriggerType.Http && output.Name == "$return" &&
                                 output.Type.Equals("http", StringComparison.OrdinalIgnoreCase);
            if (!isHttpResponse)
            {
                errors.Add($"output binding '{output.Type}' ('{output.Name}') is not supported by the local host.");
            }
        }

        if (kind == LocalTriggerType.Http && shape.ResultType is { } result &&
            !typeof(IActionResult).IsAssignableFrom(result) && !typeof(IResult).IsAssignableFrom(result))
        {
            errors.Add($"return type {Display(method.ReturnType)} is not supported for an HTTP function " +
                       "(IActionResult or IResult, optionally in Task<>/ValueTask<>, or void/Task/ValueTask).");
        }
    }

    private static string FunctionIdFor(string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    private static bool IsTrue(string? value) => bool.TryParse(value, out var result) && result;

    private static string Display(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Display))}>"
            : type.Name;
}
