using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace ConnectionsBackup;

/// <summary>
/// <c>export</c> and <c>restore</c>. Each storage side is a service URI (https, signed in as you through
/// <see cref="DefaultAzureCredential"/>: <c>az login</c>) or <c>env:NAME</c>, a connection string in environment variable NAME,
/// so no secret is ever an argument. Exit codes: 0 done, 1 refused or failed (nothing or, for a failed restore, part written),
/// 2 bad arguments.
/// </summary>
public static class BackupCommand
{
    public const string DefaultContainer = "connections-backup";

    private const string Usage = """
        usage:
          ConnectionsBackup export  --tables <uri|env:NAME> --blobs <uri|env:NAME> [--container connections-backup]
          ConnectionsBackup restore --tables <uri|env:NAME> --blobs <uri|env:NAME> [--container connections-backup] --blob <name|latest>
        <uri>: https://<account>.table.core.windows.net/ or https://<account>.blob.core.windows.net/, signed in as you (az login).
        env:NAME: the connection string in environment variable NAME (never on the command line).
        """;

    public static async Task<int> RunAsync(string[] args, Func<string, string?> environment, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args is not [("export" or "restore") and var command, .. var rest] || !TryParse(rest, out var options)
            || !options.TryGetValue("--tables", out var tablesAt) || !options.TryGetValue("--blobs", out var blobsAt)
            || (command == "restore") != options.ContainsKey("--blob"))
        {
            await error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        var containerName = options.GetValueOrDefault("--container", DefaultContainer);
        if (!TryTables(tablesAt, environment, out var tables, out var problem) || !TryContainer(blobsAt, containerName, environment, out var container, out problem))
        {
            await error.WriteLineAsync(problem + Environment.NewLine + Usage).ConfigureAwait(false);
            return 2;
        }

        try
        {
            if (command == "export")
            {
                var (name, rows) = await TableBackup.ExportAsync(tables!, container!, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"exported {rows} rows ({string.Join(", ", TableBackup.Tables)}) to container {container!.Name}").ConfigureAwait(false);
                await output.WriteLineAsync($"blob: {name}").ConfigureAwait(false);
                return 0;
            }

            var blobName = options["--blob"] == "latest" ? await TableBackup.LatestAsync(container!, cancellationToken).ConfigureAwait(false) : options["--blob"];
            if (blobName is null)
            {
                await error.WriteLineAsync($"Container {container!.Name} holds no backup.").ConfigureAwait(false);
                return 1;
            }

            var (restored, refusal) = await TableBackup.RestoreAsync(tables!, container!, blobName, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                await error.WriteLineAsync(refusal).ConfigureAwait(false);
                return 1;
            }

            await output.WriteLineAsync($"restored {restored} rows from {blobName}").ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is RequestFailedException or AuthenticationFailedException or CredentialUnavailableException)
        {
            // The service's own words (status, error code), never a connection string: the SDK does not put one in them.
            var status = ex is RequestFailedException failed ? $"{failed.Status} {failed.ErrorCode}" : ex.GetType().Name;
            await error.WriteLineAsync($"{command} failed: storage answered {status}.").ConfigureAwait(false);
            return 1;
        }
    }

    private static bool TryParse(string[] args, out Dictionary<string, string> options)
    {
        options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] is not ("--tables" or "--blobs" or "--container" or "--blob") || i + 1 >= args.Length || !options.TryAdd(args[i], args[i + 1]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryTables(string at, Func<string, string?> environment, out TableServiceClient? client, out string problem)
    {
        client = null;
        if (!TryEndpoint(at, environment, out var connectionString, out var uri, out problem))
        {
            return false;
        }

        client = connectionString is not null ? new TableServiceClient(connectionString) : new TableServiceClient(uri, Credential);
        return true;
    }

    private static bool TryContainer(string at, string name, Func<string, string?> environment, out BlobContainerClient? client, out string problem)
    {
        client = null;
        if (!TryEndpoint(at, environment, out var connectionString, out var uri, out problem))
        {
            return false;
        }

        client = connectionString is not null ? new BlobContainerClient(connectionString, name) : new BlobServiceClient(uri, Credential).GetBlobContainerClient(name);
        return true;
    }

    private static bool TryEndpoint(string at, Func<string, string?> environment, out string? connectionString, out Uri? uri, out string problem)
    {
        (connectionString, uri, problem) = (null, null, "");
        if (at.StartsWith("env:", StringComparison.Ordinal))
        {
            connectionString = environment(at[4..]);
            problem = string.IsNullOrWhiteSpace(connectionString) ? $"Environment variable {at[4..]} is not set." : "";
            return problem.Length == 0;
        }

        if (Uri.TryCreate(at, UriKind.Absolute, out uri) && uri.Scheme == Uri.UriSchemeHttps && string.IsNullOrEmpty(uri.Query))
        {
            return true;
        }

        problem = "A storage endpoint is an https service URI without a query string (no SAS on the command line), or env:NAME.";
        return false;
    }

    private static DefaultAzureCredential Credential => new();
}
