namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>The checkout the tests run from: the first directory above the test output holding run.sh and the solution.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "run.sh")) && File.Exists(Path.Combine(directory.FullName, "FreshBooksFunctions.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No run.sh and FreshBooksFunctions.sln above {AppContext.BaseDirectory}: run the tests from the repository checkout.");
    }
}
