using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Queue service clients for the <c>connection</c> of queue triggers, one per connection, resolved as Functions does:
/// the setting <c>AzureWebJobs{connection}</c>, then <c>{connection}</c> (each also under <c>ConnectionStrings</c>);
/// its value is a connection string, or its children describe an identity-based connection
/// (<c>queueServiceUri</c> or <c>accountName</c>, plus <c>credential</c>/<c>clientId</c>).
/// </summary>
internal sealed class QueueConnections(IConfiguration configuration, QueueHostSettings settings)
{
    public const string DefaultConnection = "AzureWebJobsStorage";

    private readonly ConcurrentDictionary<string, QueueServiceClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    public QueueServiceClient GetClient(string? connection) =>
        _clients.GetOrAdd(connection ?? DefaultConnection, name => Create(name));

    /// <summary>A description of the connection for messages and logs: the setting used, never its value.</summary>
    public string Describe(string? connection) =>
        Find(connection ?? DefaultConnection) is { } section ? $"setting '{section.Path}'" : $"setting '{connection ?? DefaultConnection}' (missing)";

    private QueueServiceClient Create(string name)
    {
        var section = Find(name) ?? throw new InvalidOperationException(
            $"the connection setting '{name}' (or 'AzureWebJobs{name}') is missing: set a connection string, or " +
            $"'{name}__queueServiceUri' for an identity-based connection.");
        var options = new QueueClientOptions
        {
            MessageEncoding = settings.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None,
        };

        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            try
            {
                return new QueueServiceClient(section.Value, options);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException($"the connection setting '{section.Path}' is not a valid storage connection string.", ex);
            }
        }

        var serviceUri = section["queueServiceUri"] ?? section["serviceUri"] ??
                         (section["accountName"] is { Length: > 0 } account ? $"https://{account}.queue.core.windows.net" : null);
        if (!Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException(
                $"the connection setting '{section.Path}' has neither a connection string nor a valid '{section.Path}:queueServiceUri'.");
        }

        return new QueueServiceClient(uri, Credential(section), options);
    }

    private static TokenCredential Credential(IConfigurationSection section)
    {
        var clientId = section["clientId"];
        if (string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return new ManagedIdentityCredential(string.IsNullOrEmpty(clientId)
                ? ManagedIdentityId.SystemAssigned
                : ManagedIdentityId.FromUserAssignedClientId(clientId));
        }

        return new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrEmpty(clientId) ? null : clientId,
        });
    }

    private IConfigurationSection? Find(string name)
    {
        foreach (var candidate in new[] { "AzureWebJobs" + name, name })
        {
            var connectionString = configuration.GetSection("ConnectionStrings").GetSection(candidate);
            if (connectionString.Value is not null)
            {
                return connectionString;
            }

            var setting = configuration.GetSection(candidate);
            if (setting.Exists())
            {
                return setting;
            }
        }

        return null;
    }
}
