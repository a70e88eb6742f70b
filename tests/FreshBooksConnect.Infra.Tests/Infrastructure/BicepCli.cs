using System.Reflection;

namespace FreshBooksConnect.Infra.Tests.Infrastructure;

/// <summary>
/// The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package; the project file records its
/// path in the BicepPath assembly metadata.
/// </summary>
internal static class BicepCli
{
    private static readonly Lazy<string> Executable = new(Locate);

    /// <summary>Runs bicep in the repository root.</summary>
    public static Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(Executable.Value, arguments, Repo.Root);

    /// <summary>The lines of Bicep output that carry a warning or an error.</summary>
    public static IReadOnlyList<string> WarningsAndErrors(string output) =>
        output.Split('\n')
            .Where(line => line.Contains("Warning", StringComparison.Ordinal) || line.Contains("Error", StringComparison.Ordinal))
            .Select(line => line.TrimEnd('\r'))
            .ToList();

    private static string Locate()
    {
        var path = typeof(BicepCli).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(attribute => attribute.Key == "BicepPath")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The Bicep CLI is not at '{path}': restore tests/FreshBooksConnect.Infra.Tests (it comes from NuGet).");
        }

        // Package extraction does not always keep the execute bit.
        var mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return path;
    }
}
