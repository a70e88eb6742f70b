using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// The product calls whose shape changed between versions. <c>./bench.sh --compare</c> builds this same bench against older
/// sources, so each such call has one form per product API; the project file defines <c>CONNECTION_CHANGES</c> when the source
/// it builds against writes connections as <see cref="ConnectionChange"/>s (the store then keeps the renewal index itself).
/// </summary>
internal static class ProductApi
{
    /// <summary>Stores a new connection and its renewal index entry, as a consent would.</summary>
    public static async Task AddConnectionAsync(IServiceProvider services, Connection connection, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<IConnectionStore>();
#if CONNECTION_CHANGES
        var write = await store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Consented, null, connection), cancellationToken);
#else
        var write = await store.AddAsync(connection, cancellationToken);
        if (write.Written)
        {
            await services.GetRequiredService<IRenewalIndex>().ScheduleAsync(connection.Id, connection.NextRenewalAt!.Value, cancellationToken);
        }
#endif
        if (!write.Written)
        {
            throw new InvalidOperationException($"seed {connection.Id}: {write.Outcome}");
        }
    }

    /// <summary>An index entry with no connection row behind it.</summary>
    public static Task ScheduleOnlyAsync(IServiceProvider services, string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken) =>
#if CONNECTION_CHANGES
        services.GetRequiredService<IRenewalIndexWriter>().ScheduleAsync(connectionId, renewAt, cancellationToken);
#else
        services.GetRequiredService<IRenewalIndex>().ScheduleAsync(connectionId, renewAt, cancellationToken);
#endif
}
