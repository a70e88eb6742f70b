using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace EventReceiver;

/// <summary>
/// Verifies each POST with <see cref="StandardWebhook.Verify"/> (signature and timestamp) and prints one line: when, the
/// event's type and connection, its <c>webhook-id</c>, and "verified"; or "signature did not verify" and a 400, which the
/// app treats as a failed delivery and tries again. Only ids and types are printed: never a header value that signs.
/// </summary>
internal sealed class EventPrinter(StandardWebhook webhook, TextWriter output)
{
    private const string SecretPrefix = "whsec_";

    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var payload = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        var webhookId = Printable(request.Headers["webhook-id"].ToString());
        try
        {
            webhook.Verify(payload, request.Headers);
        }
        catch (Exception e) when (e is WebhookVerificationException or FormatException or ArgumentException)
        {
            Print($"signature did not verify ({e.Message}); webhook-id {webhookId}; answered 400");
            return Results.BadRequest();
        }

        var (type, connectionId) = Describe(payload);
        // At least once: a redelivery keeps its webhook-id, which is how a receiver drops duplicates.
        var again = !_seen.TryAdd(webhookId, true);
        Print($"{type} {connectionId} webhook-id {webhookId} verified{(again ? " (again: a redelivery)" : "")}");
        return Results.NoContent();
    }

    /// <summary>The app's own rule for <c>Events__SigningSecret</c>, so a bad one is named at start rather than at each POST.</summary>
    public static bool IsSigningSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var bytes = new byte[64];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], bytes, out var length) && length is >= 24 and <= 64;
    }

    private static (string Type, string ConnectionId) Describe(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
            var connectionId = root.TryGetProperty("data", out var data) && data.TryGetProperty("connectionId", out var c) ? c.GetString() : null;
            return (Printable(type), Printable(connectionId));
        }
        catch (JsonException)
        {
            return ("(not JSON)", "-");
        }
    }

    /// <summary>A value as one short line of plain text, whoever sent it.</summary>
    private static string Printable(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "-";
        }

        var clean = new string([.. value.Take(120).Select(c => char.IsControl(c) ? '?' : c)]);
        return clean.Length < value.Length ? clean + "…" : clean;
    }

    private void Print(string line)
    {
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            output.WriteLine($"{now} {line}");
            output.Flush();
        }
    }
}
