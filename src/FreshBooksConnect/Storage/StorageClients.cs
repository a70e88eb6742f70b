using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Storage;

/// <summary>The product's tables and queue, created once from <see cref="StorageOptions"/> and reused.</summary>
internal sealed class StorageClients
{
    private int _ensured;

    public StorageClients(IOptions<StorageOptions> options)
    {
        var value = options.Value;
        var tableOptions = new TableClientOptions();

        // The Functions queue extension reads and writes Base64 messages by default; ours must match.
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        foreach (var clientOptions in (ReadOnlySpan<ClientOptions>)[tableOptions, queueOptions])
        {
            value.Retry.Apply(clientOptions.Retry);
            value.ConfigureClients?.Invoke(clientOptions);
        }

        if (!string.IsNullOrWhiteSpace(value.ConnectionString))
        {
            Tables = new TableServiceClient(value.ConnectionString, tableOptions);
            Queues = new QueueServiceClient(value.ConnectionString, queueOptions);
        }
        else
        {
            TokenCredential credential = string.Equals(value.Credential, "managedidentity", StringComparison.OrdinalIgnoreCase)
                ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(value.ClientId))
                : new DefaultAzureCredential();
            Tables = new TableServiceClient(value.TableServiceUri!, credential, tableOptions);
            Queues = new QueueServiceClient(value.QueueServiceUri!, credential, queueOptions);
        }

        Connections = Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        ConsentStates = Tables.GetTableClient(StorageOptions.ConsentStatesTableName);
        RenewalIndex = Tables.GetTableClient(StorageOptions.RenewalIndexTableName);
        Events = Tables.GetTableClient(StorageOptions.EventsTableName);
        RenewalQueue = Queues.GetQueueClient(StorageOptions.RenewalQueueName);
        EventQueue = Queues.GetQueueClient(StorageOptions.EventQueueName);
    }

    /// <summary>For unit tests: the product's clients given directly (mocks).</summary>
    internal StorageClients(TableServiceClient tables, QueueServiceClient queues, TableClient connections, TableClient consentStates, TableClient renewalIndex, QueueClient renewalQueue)
    {
        (Tables, Queues, Connections, ConsentStates, RenewalIndex, RenewalQueue) = (tables, queues, connections, consentStates, renewalIndex, renewalQueue);
        Events = tables.GetTableClient(StorageOptions.EventsTableName);
        EventQueue = queues.GetQueueClient(StorageOptions.EventQueueName);
    }

    public TableServiceClient Tables { get; }

    public QueueServiceClient Queues { get; }

    public TableClient Connections { get; }

    public TableClient ConsentStates { get; }

    public TableClient RenewalIndex { get; }

    public TableClient Events { get; }

    public QueueClient RenewalQueue { get; }

    public QueueClient EventQueue { get; }

    /// <summary>Creates the tables and queue when missing (Azurite, first run); once per process.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _ensured) == 1)
        {
            return;
        }

        await Task.WhenAll(
            Connections.CreateIfNotExistsAsync(cancellationToken),
            ConsentStates.CreateIfNotExistsAsync(cancellationToken),
            RenewalIndex.CreateIfNotExistsAsync(cancellationToken),
            Events.CreateIfNotExistsAsync(cancellationToken),
            RenewalQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Queues.GetQueueClient(StorageOptions.RenewalQueueName + "-poison").CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            EventQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Queues.GetQueueClient(StorageOptions.EventQueueName + "-poison").CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        Volatile.Write(ref _ensured, 1);
    }
}
