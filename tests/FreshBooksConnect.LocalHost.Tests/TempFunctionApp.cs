using System.Text.Json.Nodes;

namespace FreshBooksConnect.LocalHost.Tests;

/// <summary>A function app folder made up by a test: its own functions.metadata (and host.json, local.settings.json).</summary>
internal sealed class TempFunctionApp : IDisposable
{
    private TempFunctionApp(string directory) => Directory = directory;

    public string Directory { get; }

    public static TempFunctionApp Create(JsonArray metadata, string? hostJson = null, string? localSettingsJson = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("localhost-app-").FullName;
        File.WriteAllText(Path.Combine(directory, "functions.metadata"), metadata.ToJsonString());
        File.WriteAllText(Path.Combine(directory, "host.json"), hostJson ?? """{ "version": "2.0" }""");
        if (localSettingsJson is not null)
        {
            File.WriteAllText(Path.Combine(directory, "local.settings.json"), localSettingsJson);
        }

        return new TempFunctionApp(directory);
    }

    /// <summary>One function entry pointing at a method of an assembly the tests load.</summary>
    public static JsonObject Function(string name, string scriptFile, string entryPoint, params JsonObject[] bindings) => new()
    {
        ["name"] = name,
        ["scriptFile"] = scriptFile,
        ["entryPoint"] = entryPoint,
        ["language"] = "dotnet-isolated",
        ["properties"] = new JsonObject { ["IsCodeless"] = false },
        ["bindings"] = new JsonArray([.. bindings]),
    };

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
