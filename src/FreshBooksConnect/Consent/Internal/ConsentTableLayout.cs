using System.Globalization;
using Azure.Data.Tables;

namespace FreshBooksConnect.Consent.Internal;

/// <summary>
/// Where rows live in the <c>consentstates</c> table since issue 17: under the minute they expire in
/// (<c>PartitionKey = exp-yyyyMMddHHmm</c>, UTC), a consent state as <c>state-{hash of its state}</c> and a link use as
/// <c>link-{link id}</c>. Every row of a partition whose minute has passed has expired, so the purge reads exactly the expired
/// rows (a range of partition keys) and deletes them in entity-group transactions; a point read still needs one request,
/// because the callback has the state's expiry (it is in the state) and Start and Callback have the link's (it is in the link).
/// </summary>
/// <remarks>
/// Rows written before issue 17 sit under the state's hash (64 hex digits) with row key <c>state</c>, or under <c>link-{id}</c>
/// with row key <c>link</c>: keys that never start with <see cref="PartitionPrefix"/>, so the two layouts never meet.
/// </remarks>
internal static class ConsentTableLayout
{
    public const string PartitionPrefix = "exp-";

    /// <summary>The row key of a consent state written before issue 17 (its partition key is the state's hash).</summary>
    public const string LegacyStateRowKey = "state";

    /// <summary>The row key of a link use written before issue 17 (its partition key is <c>link-{id}</c>).</summary>
    public const string LegacyLinkRowKey = "link";

    /// <summary>The first key after every key that starts with <see cref="PartitionPrefix"/> ('.' follows '-').</summary>
    private const string AfterPartitions = "exp.";

    public static string PartitionOf(DateTimeOffset expiresAt) => PartitionPrefix + expiresAt.UtcDateTime.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);

    public static string StateRowKey(string stateHash) => "state-" + stateHash;

    public static string LinkRowKey(string linkId) => "link-" + linkId;

    public static string LegacyLinkPartition(string linkId) => "link-" + linkId;

    /// <summary>The partitions whose minute ended before <paramref name="now"/>'s began: only expired rows, all of them.</summary>
    public static string Expired(DateTimeOffset now) =>
        TableClient.CreateQueryFilter($"PartitionKey ge {PartitionPrefix} and PartitionKey lt {PartitionOf(now)}");

    /// <summary>Rows of the layout before issue 17 (every partition outside this layout's), expired or not as <paramref name="expired"/> says.</summary>
    public static string Legacy(DateTimeOffset now, bool expired) => expired
        ? TableClient.CreateQueryFilter($"(PartitionKey lt {PartitionPrefix} or PartitionKey ge {AfterPartitions}) and ExpiresAt lt {now}")
        : TableClient.CreateQueryFilter($"(PartitionKey lt {PartitionPrefix} or PartitionKey ge {AfterPartitions}) and ExpiresAt ge {now}");
}
