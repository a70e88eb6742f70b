using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace FreshBooksConnect.Events.Internal;

/// <summary>
/// A typed client over IHttpClientFactory: each delivery is a POST of the event's JSON with <c>webhook-id</c> (the event id, the
/// same on every redelivery), <c>webhook-timestamp</c> and <c>webhook-signature</c>, made by the StandardWebhooks package.
/// </summary>
internal sealed class WebhookSender(HttpClient http, IOptions<EventsOptions> options, TimeProvider time) : IWebhookSender
{
    private readonly EventsOptions _options = options.Value;
    private readonly StandardWebhook? _signer = options.Value is { WebhookUrl: not null, SigningSecret: { } secret } ? new StandardWebhook(secret) : null;

    public bool IsConfigured => _signer is not null;

    public string UrlKey => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_options.WebhookUrl?.AbsoluteUri ?? "")))[..32];

    public async Task<WebhookResult> SendAsync(ConnectionEvent connectionEvent, CancellationToken cancellationToken)
    {
        if (_signer is null || _options.WebhookUrl is not { } url)
        {
            throw new InvalidOperationException("No webhook is configured (Events__WebhookUrl).");
        }

        var payload = connectionEvent.ToJson();
        var timestamp = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", connectionEvent.Id);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", _signer.Sign(connectionEvent.Id, timestamp, payload));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("FreshBooksConnect", "1.0"));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.DeliveryTimeout);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => new WebhookResult(WebhookOutcome.Delivered),
                410 => new WebhookResult(WebhookOutcome.Gone, "410"),
                _ => new WebhookResult(WebhookOutcome.Failed, status.ToString(CultureInfo.InvariantCulture)),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookResult(WebhookOutcome.Failed, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return new WebhookResult(WebhookOutcome.Failed, ex.HttpRequestError.ToString());
        }
    }
}
