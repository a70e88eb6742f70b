using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.Functions.Http;

/// <summary>Reads what a request carries and refuses what is malformed before any work: repeated, oversized or odd values.</summary>
public static partial class RequestInput
{
    private const int MaxJsonBytes = 16 * 1024;

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
        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, JsonResponse.Problem(StatusCodes.Status415UnsupportedMediaType, "JSON expected", "Send the body as application/json."));
        }

        if (request.ContentLength > MaxJsonBytes)
        {
            return (null, TooLarge());
        }

        // Read at most one byte past the limit, whatever Content-Length claimed (or if it was absent).
        var buffer = new byte[MaxJsonBytes + 1];
        var read = 0;
        int chunk;
        while (read < buffer.Length && (chunk = await request.Body.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
        {
            read += chunk;
        }

        if (read > MaxJsonBytes)
        {
            return (null, TooLarge());
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, read), JsonResponse.Options);
            return value is null
                ? (null, JsonResponse.Problem(StatusCodes.Status400BadRequest, "Body required", "Send a JSON object."))
                : (value, null);
        }
        catch (JsonException)
        {
            return (null, JsonResponse.Problem(StatusCodes.Status400BadRequest, "Malformed JSON", "The body is not a JSON object of the expected shape."));
        }
    }

    private static JsonResponse TooLarge() =>
        JsonResponse.Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"The body may be at most {MaxJsonBytes} bytes.");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionIdPattern();
}
