using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace FreshBooksConnect.Infra.Tests.Infrastructure;

/// <summary>One app setting of the function app, as the compiled template sets it.</summary>
/// <param name="Value">A literal, or an ARM expression in the app module's terms.</param>
/// <param name="Conditional">Set only under a condition (for example, a non-empty parameter).</param>
public sealed record AppSetting(string Name, string Value, bool Conditional);

/// <summary>
/// infra/main.bicep compiled once (<c>bicep build --stdout</c>) and shared by the tests of the
/// collection, with just enough ARM reading to find modules, resources and the app settings.
/// </summary>
public sealed partial class CompiledTemplate : IAsyncLifetime
{
    private JsonObject? _root;

    internal ProcessResult Build { get; private set; } = new(-1, "", "");

    /// <summary>The compiled main template.</summary>
    public JsonObject Root => _root ?? throw new InvalidOperationException($"infra/main.bicep did not compile: {Build}");

    public async Task InitializeAsync()
    {
        Build = await BicepCli.RunAsync("build", "infra/main.bicep", "--stdout");
        if (Build.ExitCode == 0)
        {
            _root = JsonNode.Parse(Build.StandardOutput)!.AsObject();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>The nested deployments of main (one per Bicep module).</summary>
    public IReadOnlyList<Module> Modules =>
        Arm.Resources(Root)
            .Where(resource => (string?)resource["type"] == "Microsoft.Resources/deployments")
            .Select(deployment => new Module(deployment))
            .ToList();

    /// <summary>The one module that declares a resource of this type.</summary>
    public Module ModuleWith(string resourceType)
    {
        var modules = Modules.Where(module => module.ResourcesOfType(resourceType).Any()).ToList();
        Assert.True(modules.Count == 1, $"Expected one module declaring {resourceType}, found {modules.Count}.");
        return modules[0];
    }

    /// <summary>The module holding the function app.</summary>
    public Module App => ModuleWith("Microsoft.Web/sites");

    /// <summary>The function app's site resource.</summary>
    public JsonObject Site => App.Resource("Microsoft.Web/sites");

    /// <summary>
    /// The site's appSettings: a literal array of { name, value }, or
    /// <c>[concat(variables('a'), variables('b'), ...)]</c> where each variable is such an array
    /// (always set), an <c>if(...)</c> expression that builds one (set under a condition), or a copy loop that makes one setting
    /// per item (its name reads <c>Prefix{id}</c>, e.g. <c>TokenProtection__Keys__{id}</c>).
    /// </summary>
    public IReadOnlyList<AppSetting> AppSettings()
    {
        var appSettings = Site["properties"]?["siteConfig"]?["appSettings"];
        if (appSettings is JsonArray literal)
        {
            return FromArray(literal, conditional: false);
        }

        var expression = (string?)appSettings
            ?? throw new InvalidOperationException("The site has no siteConfig.appSettings.");
        var variableNames = VariableReference().Matches(expression).Select(match => match.Groups[1].Value).ToList();
        Assert.True(
            expression.StartsWith("[concat(", StringComparison.Ordinal) && variableNames.Count > 0,
            $"This test reads appSettings as a literal array or a concat() of variables; the template has: {expression}");

        var settings = new List<AppSetting>();
        foreach (var name in variableNames)
        {
            if (App.Template["variables"]?["copy"]?.AsArray().FirstOrDefault(loop => (string?)loop?["name"] == name)?["input"] is { } input)
            {
                var prefix = LoopSettingName().Match((string?)input["name"] ?? "");
                Assert.True(prefix.Success, $"Loop '{name}' names its settings as format('Prefix{{0}}', ...); the template has {input["name"]}");
                settings.Add(new AppSetting(prefix.Groups[1].Value + "{id}", input["value"]?.ToString() ?? "", Conditional: false));
                continue;
            }

            switch (App.Template["variables"]?[name])
            {
                case JsonArray array:
                    settings.AddRange(FromArray(array, conditional: false));
                    break;
                case JsonValue value when (string?)value is { } conditional:
                    foreach (Match match in ConditionalSetting().Matches(conditional))
                    {
                        settings.Add(new AppSetting(match.Groups[1].Value, Arm.Argument(conditional, match.Index + match.Length), Conditional: true));
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Variable '{name}' of the app module is neither an array nor an expression.");
            }
        }

        return settings;
    }

    private static List<AppSetting> FromArray(JsonArray array, bool conditional) =>
        array.Select(item => new AppSetting(
                (string?)item?["name"] ?? throw new InvalidOperationException("An app setting has no name."),
                item!["value"]?.ToString() ?? "",
                conditional))
            .ToList();

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"^\[format\('([^'{]+)\{0\}', ")]
    private static partial Regex LoopSettingName();

    [GeneratedRegex(@"createObject\('name', '([^']+)', 'value', ")]
    private static partial Regex ConditionalSetting();
}

/// <summary>One nested deployment of the main template: a Bicep module.</summary>
public sealed class Module(JsonObject deployment)
{
    public JsonObject Deployment { get; } = deployment;

    public JsonObject Template => Deployment["properties"]!["template"]!.AsObject();

    /// <summary>The resources the module creates (an <c>existing</c> one is only looked up).</summary>
    public IEnumerable<JsonObject> Resources => Arm.Resources(Template).Where(resource => (bool?)resource["existing"] != true);

    public IEnumerable<JsonObject> ResourcesOfType(string type) =>
        Resources.Where(resource => string.Equals((string?)resource["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Resource(string type)
    {
        var matches = ResourcesOfType(type).ToList();
        Assert.True(matches.Count == 1, $"Expected one {type} in the module, found {matches.Count}.");
        return matches[0];
    }

    /// <summary>
    /// What a module-level value means: for <c>[parameters('p')]</c>, the value main passes for p
    /// (an expression in main's terms) or else p's default; anything else unchanged.
    /// </summary>
    public JsonNode? Resolve(JsonNode? value)
    {
        if ((string?)(value as JsonValue) is { } text && Arm.ParameterOnly().Match(text) is { Success: true } match)
        {
            var name = match.Groups[1].Value;
            return Deployment["properties"]?["parameters"]?[name]?["value"]
                ?? Template["parameters"]?[name]?["defaultValue"];
        }

        return value;
    }

    /// <summary>The module parameters a module-level expression reads.</summary>
    public IEnumerable<string> ParametersIn(string expression) =>
        Arm.ParameterReference().Matches(expression).Select(match => match.Groups[1].Value).Distinct();
}

internal static partial class Arm
{
    /// <summary>Resources of a template: an array, or (language version 2.0) an object by symbolic name.</summary>
    public static IEnumerable<JsonObject> Resources(JsonObject template) =>
        template["resources"] switch
        {
            JsonArray array => array.Select(item => item!.AsObject()),
            JsonObject byName => byName.Select(pair => pair.Value!.AsObject()),
            _ => [],
        };

    /// <summary>The text of one function argument that starts at <paramref name="start"/>.</summary>
    public static string Argument(string expression, int start)
    {
        var depth = 0;
        var quoted = false;
        for (var i = start; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && (c == ')' || c == ',') && depth == 0)
            {
                return expression[start..i];
            }
            else if (!quoted && c == ')')
            {
                depth--;
            }
        }

        return expression[start..];
    }

    [GeneratedRegex(@"^\[parameters\('([^']+)'\)\]$")]
    public static partial Regex ParameterOnly();

    [GeneratedRegex(@"parameters\('([^']+)'\)")]
    public static partial Regex ParameterReference();
}

[CollectionDefinition(Name)]
public sealed class CompiledTemplateCollection : ICollectionFixture<CompiledTemplate>
{
    public const string Name = "compiled main template";
}
