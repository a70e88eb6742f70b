namespace FreshBooksConnect.Connections;

/// <summary>Counts connections by status: one query over the connections table that reads only each row's keys and status.</summary>
public interface IConnectionCensus
{
    Task<IReadOnlyDictionary<ConnectionStatus, long>> CountByStatusAsync(CancellationToken cancellationToken);
}
