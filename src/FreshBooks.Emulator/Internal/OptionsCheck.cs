namespace FreshBooks.Emulator.Internal;

/// <summary>Start-up validation of <see cref="EmulatorOptions"/>: fail at start, not on the first request.</summary>
internal static class OptionsCheck
{
    public static void Validate(EmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            problems.Add("ClientId is empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            problems.Add("ClientSecret is empty.");
        }

        if (string.IsNullOrWhiteSpace(options.Scopes))
        {
            problems.Add("Scopes is empty.");
        }

        if (options.CodeLifetime <= TimeSpan.Zero || options.AccessTokenLifetime <= TimeSpan.Zero)
        {
            problems.Add("CodeLifetime and AccessTokenLifetime must be positive.");
        }

        if (options.Users.Count == 0)
        {
            problems.Add("Users is empty: the consent page needs someone to sign in as.");
        }

        if (options.Users.Select(u => u.Id).Distinct().Count() != options.Users.Count)
        {
            problems.Add("Two users share an id.");
        }

        problems.AddRange(options.RedirectUris
            .Where(uri => !RedirectUris.TryNormalize(uri, out _))
            .Select(uri => $"RedirectUris: '{uri}' is not an absolute http(s) URI without a query or fragment."));

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid emulator options: " + string.Join(" ", problems), nameof(options));
        }
    }
}
