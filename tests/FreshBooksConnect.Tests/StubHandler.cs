namespace FreshBooksConnect.Tests;

/// <summary>An HttpMessageHandler that answers with a function (after dotnet/extensions' TestHandlerStub) and keeps what it was sent.</summary>
public sealed class StubHandler(Func<HttpRequestMessage, string?, HttpResponseMessage> answer) : HttpMessageHandler
{
    public List<(HttpRequestMessage Request, string? Body)> Sent { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Sent.Add((request, body));
        return answer(request, body);
    }
}
