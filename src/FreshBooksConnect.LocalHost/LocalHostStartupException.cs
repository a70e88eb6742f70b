namespace FreshBooksConnect.LocalHost;

/// <summary>
/// The function app can't be served as it is: an unsupported trigger, parameter or binding, a missing setting, a
/// bad route or schedule. <see cref="Exception.Message"/> lists every problem, each naming the function.
/// </summary>
public sealed class LocalHostStartupException : InvalidOperationException
{
    /// <summary>Creates the exception from the problems found.</summary>
    public LocalHostStartupException(IReadOnlyList<string> problems)
        : base(Format(problems)) => Problems = problems;

    /// <summary>One line per problem.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(IReadOnlyList<string> problems) =>
        "The local host can't serve this function app:" + Environment.NewLine +
        string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
}
