using System.Globalization;

namespace FreshBooksConnect.Soak;

/// <summary>What one soak run does: how long the faults go on, the seed of their schedule, how much is running.</summary>
public sealed record SoakOptions
{
    /// <summary>The seed the short run in the test suite uses.</summary>
    public const int SuiteSeed = 21;

    /// <summary>How long faults are injected; the settle phase (no faults, one more renewal of everything) comes after.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(3);

    public int Seed { get; init; } = SuiteSeed;

    /// <summary>App instances, each a process of the local host on a port of its own.</summary>
    public int Instances { get; init; } = 3;

    /// <summary>Connections onboarded before the faults start.</summary>
    public int Connections { get; init; } = 30;

    /// <summary>
    /// The emulator's access-token life. The apps read real time, so renewal cycles are made short rather than the clock fast:
    /// FreshBooks' 12 hours would give no renewal at all within a run. The app's windows scale with it (see <see cref="AppSettings"/>).
    /// </summary>
    public TimeSpan TokenLife { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Where the app instances' logs and the report go.</summary>
    public string LogDirectory { get; init; } = Path.Combine(Directory.GetCurrentDirectory(), ".run", "soak");

    /// <summary>The command that repeats this run.</summary>
    public string RerunCommand =>
        $"./soak.sh --minutes {Duration.TotalMinutes.ToString("0.##", CultureInfo.InvariantCulture)} --seed {Seed}" +
        (Instances == 3 ? "" : $" --instances {Instances}") + (Connections == 30 ? "" : $" --connections {Connections}");

    /// <summary>Reads <c>--minutes N --seed S [--instances N] [--connections N] [--logs DIR]</c>; null and a message when they are wrong.</summary>
    public static (SoakOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        var options = new SoakOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--minutes" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) && minutes is > 0 and <= 24 * 60:
                    options = options with { Duration = TimeSpan.FromMinutes(minutes) };
                    break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed):
                    options = options with { Seed = seed };
                    break;
                case "--instances" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var instances) && instances is >= 2 and <= 5:
                    options = options with { Instances = instances };
                    break;
                case "--connections" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var connections) && connections is >= 5 and <= 500:
                    options = options with { Connections = connections };
                    break;
                case "--logs" when value is not null:
                    options = options with { LogDirectory = Path.GetFullPath(value) };
                    break;
                default:
                    return (null, $"unexpected argument {args[i]}{(value is null ? "" : " " + value)}; usage: soak.sh [--minutes N] [--seed S] [--instances 2-5] [--connections 5-500] [--logs DIR]");
            }

            i++;
        }

        return (options, null);
    }
}
