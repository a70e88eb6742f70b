using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Connections.Internal;

internal sealed class TableConnectionCensus(StorageClients storage) : IConnectionCensus
{
    public Task<IReadOnlyDictionary<ConnectionStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync<IReadOnlyDictionary<ConnectionStatus, long>>(
            async () =>
            {
                // The connection rows only (not the events in their partitions), and of each only its status.
                var counts = new Dictionary<ConnectionStatus, long>();
                var filter = TableClient.CreateQueryFilter($"RowKey eq {TableConnectionStore.RowKey}");
                await foreach (var row in storage.Connections.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["Status"], cancellationToken).ConfigureAwait(false))
                {
                    var status = Enum.TryParse<ConnectionStatus>(row.GetString("Status"), out var parsed) ? parsed : ConnectionStatus.Active;
                    counts[status] = counts.GetValueOrDefault(status) + 1;
                }

                return counts;
            },
            cancellationToken);
}
