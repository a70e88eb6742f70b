namespace FreshBooksConnect.Infra.Tests.Infrastructure;

/// <summary>Paths in the repository, found by walking up from the test assembly's folder.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string PathTo(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "azure.yaml"))
                && File.Exists(Path.Combine(dir.FullName, "infra", "main.bicep")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No repository root (a folder with azure.yaml and infra/main.bicep) above {AppContext.BaseDirectory}.");
    }
}
