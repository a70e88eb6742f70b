using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FreshBooksConnect.Functions.Http;

/// <summary>Reads what a request carries and refuses what is malformed before any work: repeated, oversized or odd values.</summary>
public static partial class RequestInput
{
    private const int MaxJsonBytes = 16 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The longest a small body may take to arrive, whatever rate the server's own minimum allows.</summary>
    private static readonly TimeSpan BodyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The one value of <paramref name="name"/> (null when absent); false when repeated or longer than <paramref name="maxLength"/>.</summary>
    public static bool TryGetSingle(IQueryCollection query, string name, int maxLength, out string? value)
    {
        value = null;
        if (!query.TryGetValue(name, out var values))
        {
            return true;
        }

        if (values.Count != 1 || values[0] is not { } single || single.Length > maxLength)
        {
            return false;
        }

        value = single;
        return true;
    }

    /// <summary>Connection ids are what this product makes them: <c>t-{tenant}</c> or <c>fb-{identity}</c>, letters, digits, <c>._-</c>.</summary>
    public static bool IsConnectionId(string? id) => id is not null && ConnectionIdPattern().IsMatch(id);

    /// <summary>Reads a small JSON body; on failure returns the problem to answer with.</summary>
    public static async Task<(T? Value, JsonResponse? Problem)> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (!IsJson(request.ContentType))
        {
            return (null, JsonResponse.Problem(StatusCodes.Status415UnsupportedMediaType, "JSON expected", "Send the body as application/json (UTF-8)."));
        }

        var (body, problem) = await ReadBodyAsync(request, MaxJsonBytes, cancellationToken).ConfigureAwait(false);
        if (problem is { } refused)
        {
            return (null, JsonResponse.Problem(refused.Status, refused.Title, refused.Detail));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(body, JsonResponse.Options);
            return value is null
                ? (null, JsonResponse.Problem(StatusCodes.Status400BadRequest, "Body required", "Send a JSON object."))
                : (value, null);
        }
        catch (JsonException)
        {
            return (null, JsonResponse.Problem(StatusCodes.Status400BadRequest, "Malformed JSON", "The body is not a JSON object of the expected shape."));
        }
    }

    /// <summary>
    /// Reads a small HTML form (<c>application/x-www-form-urlencoded</c>, UTF-8) of at most <paramref name="maxBytes"/>; on failure,
    /// why (the status of the answer).
    /// </summary>
    public static async Task<(IQueryCollection? Fields, int? RefusedWith)> ReadFormAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
            || !parsed.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            || (parsed.Charset.Length != 0 && !parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return (null, StatusCodes.Status415UnsupportedMediaType);
        }

        var (body, problem) = await ReadBodyAsync(request, maxBytes, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem.Status);
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return (null, StatusCodes.Status400BadRequest);
        }

        return (new QueryCollection(QueryHelpers.ParseQuery(text)), null);
    }

    /// <summary>
    /// Reads a body of at most <paramref name="maxBytes"/>, whatever Content-Length claimed (or if it was absent). A body that
    /// ends early, arrives too slowly (<see cref="BodyTimeout"/> for all of it) or is too large is a refusal, never a 500.
    /// </summary>
    public static async Task<(byte[] Body, BodyProblem? Problem)> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return ([], TooLargeBody(maxBytes));
        }

        // Read at most one byte past the limit.
        var buffer = new byte[maxBytes + 1];
        var read = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(BodyTimeout);
        try
        {
            int chunk;
            while (read < buffer.Length && (chunk = await request.Body.ReadAsync(buffer.AsMemory(read), deadline.Token).ConfigureAwait(false)) > 0)
            {
                read += chunk;
            }
        }
        catch (BadHttpRequestException ex)
        {
            // The server's own verdict on the body: it ended before its Content-Length, or came slower than the minimum rate.
            return ([], new BodyProblem(ex.StatusCode is >= 400 and < 500 ? ex.StatusCode : StatusCodes.Status400BadRequest, "Incomplete body", "The request body ended early or arrived too slowly."));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ([], new BodyProblem(StatusCodes.Status408RequestTimeout, "Body too slow", $"The request body must arrive within {BodyTimeout.TotalSeconds:0} seconds."));
        }

        return read > maxBytes ? ([], TooLargeBody(maxBytes)) : (buffer[..read], null);
    }

    /// <summary>Exactly <c>application/json</c>, with no charset or UTF-8 (RFC 8259: JSON between systems is UTF-8).</summary>
    internal static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (parsed.Charset.Length == 0 || parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static BodyProblem TooLargeBody(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "Body too large", $"The body may be at most {maxBytes} bytes.");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionIdPattern();
}

/// <summary>Why a body was refused: the status and words of the answer, for a problem or a page alike.</summary>
public sealed record BodyProblem(int Status, string Title, string Detail);
