using Azure;

namespace FreshBooksConnect.Storage;

/// <summary>A record's opaque version as the table's ETag, for a write guarded by it.</summary>
internal static class RowVersion
{
    public static ETag IfMatch(string? version) =>
        version is null ? throw new InvalidOperationException("A guarded write needs the version the record was read with.") : new ETag(version);
}
