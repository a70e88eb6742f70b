using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Core;

namespace FreshBooksConnect.Tests;

/// <summary>A storage response carrying just an ETag, as table writes answer.</summary>
internal sealed class FakeResponse(int status = 204, string? etag = null) : Response
{
    public override int Status => status;

    public override string ReasonPhrase => "";

    public override Stream? ContentStream { get; set; }

    public override string ClientRequestId { get; set; } = "";

    public override void Dispose()
    {
    }

    protected override bool ContainsHeader(string name) => etag is not null && name == "ETag";

    protected override IEnumerable<HttpHeader> EnumerateHeaders() => etag is null ? [] : [new HttpHeader("ETag", etag)];

    protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value)
    {
        value = name == "ETag" ? etag : null;
        return value is not null;
    }

    protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
    {
        values = name == "ETag" && etag is not null ? [etag] : null;
        return values is not null;
    }
}
