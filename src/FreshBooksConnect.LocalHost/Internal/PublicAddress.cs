using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Who may reach the host. By itself it answers loopback names only; the app's public address (a tunnel forwarding to this
/// machine) adds that one host. Every request's Host header is checked against them (ASP.NET Core's host filtering), so a
/// web page whose DNS name was rebound to 127.0.0.1 can't call the host from the developer's browser. While the address is
/// public, the function and master keys of <c>local.settings.sample.json</c>, which anyone can read, are refused.
/// </summary>
internal sealed class PublicAddress
{
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    private PublicAddress(string? setting, Uri? url)
    {
        Setting = setting;
        Url = url;
    }

    /// <summary>The setting holding the address.</summary>
    public string? Setting { get; }

    /// <summary>The public address; null when the setting is absent, not an absolute URL, or loopback.</summary>
    public Uri? Url { get; }

    /// <summary>The Host values served, any port: the loopback names, and the public address's host.</summary>
    public IReadOnlyList<string> AllowedHosts => Url is null ? LoopbackHosts : [.. LoopbackHosts, Url.Host];

    public static PublicAddress From(IConfiguration settings, string? setting)
    {
        var value = setting is null ? null : AppSettings.Get(settings, setting);
        return Uri.TryCreate(value, UriKind.Absolute, out var url) && !url.IsLoopback && url.Host.Length > 0
            ? new PublicAddress(setting, url)
            : new PublicAddress(setting, null);
    }

    /// <summary>One line for each of the host's keys that is a value of the sample, while the address is public.</summary>
    public IReadOnlyList<string> SampleKeyProblems(IConfiguration settings)
    {
        if (Url is null)
        {
            return [];
        }

        var sampleValues = AppSettings.ReadSampleSettings().Values.OfType<string>().ToHashSet(StringComparer.Ordinal);
        return new[] { (Name: FunctionKeys.FunctionKeySetting, Reach: "its functions"), (Name: FunctionKeys.MasterKeySetting, Reach: "every function and the admin endpoints") }
            .Where(key => settings[key.Name] is { Length: > 0 } value && sampleValues.Contains(value.Trim()))
            .Select(key =>
                $"{key.Name} ({key.Name.Replace(":", "__", StringComparison.Ordinal)}) holds the well-known key of {AppSettings.SampleSettingsFileName}, " +
                $"and {Setting} ({Url.GetLeftPart(UriPartial.Authority)}) makes this host reachable from outside this machine: anyone who read the " +
                $"sample could call {key.Reach}. Remove the setting (a key is then made for each run and printed) or give it a new random value " +
                "(openssl rand -base64 32); ./run.sh writes random keys into a new local.settings.json.")
            .ToList();
    }
}
