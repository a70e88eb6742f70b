using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>The <see cref="FunctionContext"/> of one invocation.</summary>
internal sealed class LocalFunctionContext : FunctionContext
{
    /// <summary>Where the ASP.NET Core integration keeps the HttpContext (read by <c>context.GetHttpContext()</c>).</summary>
    public const string HttpContextItemKey = "HttpRequestContext";

    public LocalFunctionContext(
        FunctionDescriptor function,
        IServiceProvider instanceServices,
        IReadOnlyDictionary<string, object?> bindingData,
        int retryCount,
        CancellationToken cancellationToken)
    {
        InvocationId = Guid.NewGuid().ToString();
        FunctionId = function.Id;
        FunctionDefinition = function.Definition;
        InstanceServices = instanceServices;
        BindingContext = new LocalBindingContext(bindingData);
        RetryContext = new LocalRetryContext(retryCount);
        TraceContext = new LocalTraceContext(Activity.Current);
        CancellationToken = cancellationToken;
    }

    public override string InvocationId { get; }

    public override string FunctionId { get; }

    public override TraceContext TraceContext { get; }

    public override BindingContext BindingContext { get; }

    public override RetryContext RetryContext { get; }

    public override IServiceProvider InstanceServices { get; set; }

    public override FunctionDefinition FunctionDefinition { get; }

    public override IDictionary<object, object> Items { get; set; } = new ConcurrentDictionary<object, object>();

    public override IInvocationFeatures Features { get; } = new LocalInvocationFeatures();

    public override CancellationToken CancellationToken { get; }

    private sealed class LocalBindingContext(IReadOnlyDictionary<string, object?> bindingData) : BindingContext
    {
        public override IReadOnlyDictionary<string, object?> BindingData { get; } = bindingData;
    }

    private sealed class LocalRetryContext(int retryCount) : RetryContext
    {
        public override int RetryCount { get; } = retryCount;

        public override int MaxRetryCount => 0;
    }

    private sealed class LocalTraceContext(Activity? activity) : TraceContext
    {
        public override string TraceParent { get; } = activity?.Id ?? string.Empty;

        public override string TraceState { get; } = activity?.TraceStateString ?? string.Empty;
    }

    private sealed class LocalInvocationFeatures : IInvocationFeatures
    {
        private readonly ConcurrentDictionary<Type, object> _features = new();

        public T? Get<T>() => _features.TryGetValue(typeof(T), out var feature) ? (T)feature : default;

        public void Set<T>(T instance)
        {
            if (instance is null)
            {
                _features.TryRemove(typeof(T), out _);
            }
            else
            {
                _features[typeof(T)] = instance;
            }
        }

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _features.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>The <see cref="Microsoft.Azure.Functions.Worker.FunctionDefinition"/> of a loaded function.</summary>
internal sealed class LocalFunctionDefinition(
    string id,
    string name,
    string pathToAssembly,
    string entryPoint,
    ImmutableArray<FunctionParameter> parameters,
    IReadOnlyList<BindingEntry> bindings) : FunctionDefinition
{
    public override ImmutableArray<FunctionParameter> Parameters { get; } = parameters;

    public override string PathToAssembly { get; } = pathToAssembly;

    public override string EntryPoint { get; } = entryPoint;

    public override string Id { get; } = id;

    public override string Name { get; } = name;

    public override IImmutableDictionary<string, BindingMetadata> InputBindings { get; } =
        bindings.Where(b => !b.IsOut).ToImmutableDictionary(b => b.Name, b => (BindingMetadata)new LocalBindingMetadata(b.Name, b.Type, BindingDirection.In));

    public override IImmutableDictionary<string, BindingMetadata> OutputBindings { get; } =
        bindings.Where(b => b.IsOut).ToImmutableDictionary(b => b.Name, b => (BindingMetadata)new LocalBindingMetadata(b.Name, b.Type, BindingDirection.Out));

    private sealed class LocalBindingMetadata(string name, string type, BindingDirection direction) : BindingMetadata
    {
        public override string Name { get; } = name;

        public override string Type { get; } = type;

        public override BindingDirection Direction { get; } = direction;
    }
}
