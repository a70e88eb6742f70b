using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Tests;

/// <summary>
/// The keys of local.settings.sample.json are public: the app refuses them once its redirect URI is not loopback (a tunnel,
/// Azure), and takes them on this machine. The sample is read from the repository here, so a key added to it or changed
/// there is covered without editing this test.
/// </summary>
public sealed class SampleKeysTests
{
    private const string TunnelRedirectUri = "https://fbc-dev.example-tunnel.app/api/callback";

    [Fact]
    public void The_sample_settings_as_they_are_start_on_loopback()
    {
        var sample = SampleSettings();
        Assert.True(new Uri(sample["FreshBooks:RedirectUri"]!).IsLoopback);

        Validate(sample);
    }

    [Fact]
    public void With_a_redirect_uri_off_loopback_the_samples_keys_stop_the_app_naming_each_setting_and_the_fix()
    {
        var settings = SampleSettings();
        settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;

        var refused = Assert.Throws<OptionsValidationException>(() => Validate(settings));

        var sampleKeys = new[] { "Onboarding__SigningKey", "TokenProtection__Keys__k1" };
        Assert.Equal(sampleKeys, refused.Failures.Select(f => f.Split(' ')[0]).Order(StringComparer.Ordinal));
        Assert.All(refused.Failures, failure =>
        {
            Assert.Contains("local.settings.sample.json", failure, StringComparison.Ordinal);
            Assert.Contains("https://fbc-dev.example-tunnel.app", failure, StringComparison.Ordinal);
            Assert.Contains("openssl rand -base64 32", failure, StringComparison.Ordinal);
            Assert.Contains("./run.sh", failure, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void A_sample_key_kept_under_another_key_id_is_refused_too()
    {
        var settings = SampleSettings();
        var sampleKey = settings["TokenProtection:Keys:k1"];
        settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        settings["TokenProtection:Keys:k1"] = KeyRings.NewKey();
        settings["TokenProtection:Keys:old"] = sampleKey;
        settings["Onboarding:SigningKey"] = KeyRings.NewKey();

        var refused = Assert.Throws<OptionsValidationException>(() => Validate(settings));

        Assert.StartsWith("TokenProtection__Keys__old holds the well-known key of local.settings.sample.json", Assert.Single(refused.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void With_new_random_keys_a_redirect_uri_off_loopback_starts()
    {
        var settings = SampleSettings();
        settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        settings["TokenProtection:Keys:k1"] = KeyRings.NewKey();
        settings["Onboarding:SigningKey"] = KeyRings.NewKey();

        Validate(settings);
    }

    private static void Validate(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddFreshBooksConnect(configuration).BuildServiceProvider();
        _ = provider.GetRequiredService<IOptions<FreshBooks.FreshBooksOptions>>().Value;
    }

    /// <summary>local.settings.sample.json's Values as configuration keys (<c>A__B</c> is <c>A:B</c>), as the hosts read them.</summary>
    private static Dictionary<string, string?> SampleSettings()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FreshBooksFunctions.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory.FullName, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(setting => setting.Name.Replace("__", ":", StringComparison.Ordinal), setting => setting.Value.GetString(), StringComparer.OrdinalIgnoreCase);
    }
}
