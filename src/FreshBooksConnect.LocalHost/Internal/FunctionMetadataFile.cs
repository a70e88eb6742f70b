using System.Text.Json;
using System.Text.Json.Nodes;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>One entry of the SDK-generated <c>functions.metadata</c>.</summary>
internal sealed record FunctionMetadataEntry(string Name, string ScriptFile, string EntryPoint, IReadOnlyList<BindingEntry> Bindings);

/// <summary>One binding of a function: name, type, direction and the binding's own properties.</summary>
internal sealed record BindingEntry(string Name, string Type, string Direction, JsonObject Json)
{
    public bool IsTrigger => Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase);

    public bool IsIn => Direction.Equals("In", StringComparison.OrdinalIgnoreCase);

    public bool IsOut => Direction.Equals("Out", StringComparison.OrdinalIgnoreCase);

    public string? GetString(string property) =>
        Find(property) is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    public bool GetBoolean(string property) =>
        Find(property) switch
        {
            JsonValue v when v.TryGetValue(out bool b) => b,
            JsonValue v when v.TryGetValue(out string? s) => bool.TryParse(s, out var parsed) && parsed,
            _ => false,
        };

    public IReadOnlyList<string>? GetStrings(string property) =>
        Find(property) is JsonArray array
            ? array.Select(item => item?.GetValue<string>() ?? string.Empty).Where(s => s.Length > 0).ToArray()
            : null;

    private JsonNode? Find(string property) =>
        Json.FirstOrDefault(p => p.Key.Equals(property, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>Reads <c>functions.metadata</c> (a JSON array written by the Worker SDK at build time).</summary>
internal static class FunctionMetadataFile
{
    public const string FileName = "functions.metadata";

    public static IReadOnlyList<FunctionMetadataEntry> Read(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (JsonException ex)
        {
            throw new LocalHostStartupException([$"{path} is not valid JSON: {ex.Message}"]);
        }

        if (root is not JsonArray functions)
        {
            throw new LocalHostStartupException([$"{path} is not a JSON array of functions."]);
        }

        var entries = new List<FunctionMetadataEntry>();
        foreach (var node in functions.OfType<JsonObject>())
        {
            var bindings = (Get(node, "bindings") as JsonArray ?? [])
                .OfType<JsonObject>()
                .Select(b => new BindingEntry(Text(b, "name"), Text(b, "type"), Text(b, "direction"), b))
                .ToArray();
            entries.Add(new FunctionMetadataEntry(Text(node, "name"), Text(node, "scriptFile"), Text(node, "entryPoint"), bindings));
        }

        return entries;
    }

    private static JsonNode? Get(JsonObject node, string property) =>
        node.FirstOrDefault(p => p.Key.Equals(property, StringComparison.OrdinalIgnoreCase)).Value;

    private static string Text(JsonObject node, string property) =>
        Get(node, property) is JsonValue value && value.TryGetValue(out string? text) ? text : string.Empty;
}
