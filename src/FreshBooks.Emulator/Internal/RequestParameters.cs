using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace FreshBooks.Emulator.Internal;

/// <summary>Named string parameters from a query, a form (urlencoded or multipart) or a JSON object.</summary>
internal sealed class RequestParameters
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _repeated = new(StringComparer.Ordinal);

    public static RequestParameters Empty { get; } = new();

    /// <summary>The first name that was given more than once, if any (a malformed request).</summary>
    public string? Repeated => _repeated.FirstOrDefault();

    public string? this[string name] => _values.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    public static RequestParameters From(IEnumerable<KeyValuePair<string, StringValues>> pairs)
    {
        var parameters = new RequestParameters();
        foreach (var (name, value) in pairs)
        {
            if (value.Count > 1)
            {
                parameters._repeated.Add(name);
            }

            parameters._values[name] = value.ToString();
        }

        return parameters;
    }

    public static RequestParameters FromQuery(Uri uri) => From(QueryHelpers.ParseQuery(uri.Query));

    /// <summary>Reads a token or revoke request body; null when the body is neither JSON nor a form.</summary>
    public static async Task<RequestParameters?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.HasFormContentType)
        {
            try
            {
                return From(await request.ReadFormAsync(cancellationToken));
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }

        if (request.HasJsonContentType())
        {
            try
            {
                using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
                return document.RootElement.ValueKind == JsonValueKind.Object ? FromJson(document.RootElement) : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return null;
    }

    private static RequestParameters FromJson(JsonElement element)
    {
        var parameters = new RequestParameters();
        foreach (var property in element.EnumerateObject())
        {
            if (!parameters._values.TryAdd(property.Name, ToText(property.Value)))
            {
                parameters._repeated.Add(property.Name);
            }
        }

        return parameters;
    }

    private static string ToText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => value.GetRawText(),
    };
}
