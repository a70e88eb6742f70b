namespace FreshBooksConnect.Testing;

/// <summary>The repository checkout the tests run from.</summary>
public static class RepositoryRoot
{
    public const string SolutionFileName = "FreshBooksFunctions.sln";

    /// <summary>The first directory above the test's output (or the current directory) holding the solution.</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"No {SolutionFileName} above {AppContext.BaseDirectory}: run the tests from the repository checkout.");
    }
}
