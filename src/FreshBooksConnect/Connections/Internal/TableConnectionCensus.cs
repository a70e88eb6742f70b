using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Connections.Internal;

internal sealed class TableConnectionCensus(StorageClients storage) : IConnectionCensus
{
    public Task<IReadOnlyDictionary<ConnectionStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync<IReadOnlyDictionary<ConnectionStatus, long>>(
            async () =>
            {
                // The connection rows only (not the events waiting in their partitions), and of each only its status. A table query
                // cannot compare a row's two keys, so the events (few: each lives until delivered) are read and skipped here.
                var counts = new Dictionary<ConnectionStatus, long>();
                await foreach (var row in storage.Connections.QueryAsync<TableEntity>(filter: (string?)null, maxPerPage: 1000, select: ["PartitionKey", "RowKey", "Status"], cancellationToken).ConfigureAwait(false))
                {
                    if (!TableConnectionStore.IsConnectionRow(row))
                    {
                        continue;
                    }

                    var status = Enum.TryParse<ConnectionStatus>(row.GetString("Status"), out var parsed) ? parsed : ConnectionStatus.Active;
                    counts[status] = counts.GetValueOrDefault(status) + 1;
                }

                return counts;
            },
            cancellationToken);
}
