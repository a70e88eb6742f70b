using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>Configuration as Functions sees it: <c>%SETTING%</c> expressions and <c>local.settings.json</c>.</summary>
internal static partial class AppSettings
{
    public const string LocalSettingsFileName = "local.settings.json";
    public const string SampleSettingsFileName = "local.settings.sample.json";

    /// <summary>
    /// A setting by its Functions name: the configuration key itself, or with <c>__</c> read as <c>:</c>
    /// (<c>Renewal__Schedule</c> is <c>Renewal:Schedule</c>, as environment variables are).
    /// </summary>
    public static string? Get(IConfiguration configuration, string name)
    {
        var value = configuration[name];
        if (value is null && name.Contains("__", StringComparison.Ordinal))
        {
            value = configuration[name.Replace("__", ":", StringComparison.Ordinal)];
        }

        return value;
    }

    /// <summary>
    /// Replaces every <c>%NAME%</c> in a binding expression by its setting; <paramref name="missing"/> names the first
    /// setting that has no value (the result is then null).
    /// </summary>
    public static string? Resolve(IConfiguration configuration, string expression, out string? missing)
    {
        string? firstMissing = null;
        var resolved = SettingExpression().Replace(expression, match =>
        {
            var name = match.Groups["name"].Value;
            var value = Get(configuration, name);
            if (value is null)
            {
                firstMissing ??= name;
                return string.Empty;
            }

            return value;
        });
        missing = firstMissing;
        return firstMissing is null ? resolved : null;
    }

    /// <summary>
    /// The <c>local.settings.json</c> to read, the first that exists of: the repository root above the function app
    /// directory (the first parent holding a <c>*.sln</c> or <c>.git</c>; where this repo keeps it), the function app
    /// directory itself, the current directory.
    /// </summary>
    public static string? FindLocalSettingsFile(string currentDirectory, string functionAppDirectory)
    {
        return Candidates().Select(dir => Path.Combine(dir, LocalSettingsFileName)).FirstOrDefault(File.Exists);

        IEnumerable<string> Candidates()
        {
            for (var dir = new DirectoryInfo(functionAppDirectory); dir is not null; dir = dir.Parent)
            {
                if (dir.EnumerateFiles("*.sln").Any() || Directory.Exists(Path.Combine(dir.FullName, ".git")))
                {
                    yield return dir.FullName;
                    break;
                }
            }

            yield return functionAppDirectory;
            yield return currentDirectory;
        }
    }

    /// <summary>
    /// The <c>Values</c> (as configuration keys: <c>A__B</c> is <c>A:B</c>) and <c>ConnectionStrings</c> of a
    /// <c>local.settings.json</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> ReadLocalSettings(string path) => ReadLocalSettings(File.ReadAllBytes(path), path);

    /// <summary>
    /// The settings of the repository's <c>local.settings.sample.json</c>, embedded in this assembly: its keys are public,
    /// so the host refuses them while it is reachable from outside this machine (<see cref="PublicAddress"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> ReadSampleSettings()
    {
        var name = typeof(AppSettings).Assembly.GetName().Name + "." + SampleSettingsFileName;
        using var stream = typeof(AppSettings).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{SampleSettingsFileName} is not embedded as {name}: see FreshBooksConnect.LocalHost.csproj.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return ReadLocalSettings(bytes.ToArray(), SampleSettingsFileName);
    }

    private static IReadOnlyDictionary<string, string?> ReadLocalSettings(byte[] json, string path)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });
        var root = document.RootElement;
        if (root.TryGetProperty("IsEncrypted", out var encrypted) && encrypted.ValueKind == JsonValueKind.True)
        {
            throw new LocalHostStartupException([$"{path} is encrypted (IsEncrypted: true); the local host reads plain settings only."]);
        }

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (root.TryGetProperty("Values", out var values) && values.ValueKind == JsonValueKind.Object)
        {
            foreach (var value in values.EnumerateObject())
            {
                settings[value.Name.Replace("__", ":", StringComparison.Ordinal)] = Scalar(value.Value);
            }
        }

        if (root.TryGetProperty("ConnectionStrings", out var connectionStrings) && connectionStrings.ValueKind == JsonValueKind.Object)
        {
            foreach (var value in connectionStrings.EnumerateObject())
            {
                settings["ConnectionStrings:" + value.Name] = Scalar(value.Value);
            }
        }

        return settings;
    }

    private static string? Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Null => null,
        _ => element.GetRawText(),
    };

    [GeneratedRegex("%(?<name>[^%]+)%")]
    private static partial Regex SettingExpression();

    /// <summary>A readable description of a setting name for messages (never its value).</summary>
    public static string Describe(string name)
    {
        var builder = new StringBuilder($"'{name}'");
        if (name.Contains("__", StringComparison.Ordinal))
        {
            builder.Append($" (configuration key '{name.Replace("__", ":", StringComparison.Ordinal)}')");
        }

        return builder.ToString();
    }
}
