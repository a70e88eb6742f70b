using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Storage;

/// <summary>
/// Where connections, consent states, the renewal index and the renewal queue live. Section <c>Storage</c>, shaped like a
/// Functions connection so the queue trigger (<c>Connection = "Storage"</c>) reads the same settings:
/// locally <c>Storage</c> = a connection string (Azurite); in Azure <c>Storage__tableServiceUri</c>,
/// <c>Storage__queueServiceUri</c>, <c>Storage__credential</c> = <c>managedidentity</c> and <c>Storage__clientId</c>
/// (the user-assigned identity's client id).
/// </summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The renewal queue; fixed because the queue trigger names it at compile time.</summary>
    public const string RenewalQueueName = "renewals";

    public const string ConnectionsTableName = "connections";
    public const string ConsentStatesTableName = "consentstates";
    public const string RenewalIndexTableName = "renewalindex";

    /// <summary>A storage connection string (the value of the <c>Storage</c> setting itself).</summary>
    public string? ConnectionString { get; set; }

    public Uri? TableServiceUri { get; set; }

    public Uri? QueueServiceUri { get; set; }

    /// <summary><c>managedidentity</c> to use the identity named by <see cref="ClientId"/>; anything else uses DefaultAzureCredential.</summary>
    public string? Credential { get; set; }

    /// <summary>Client id of the user-assigned managed identity.</summary>
    public string? ClientId { get; set; }

    internal static void Bind(StorageOptions options, IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        section.Bind(options);
        options.ConnectionString ??= section.Value;
    }
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (options.TableServiceUri is not { IsAbsoluteUri: true })
        {
            failures.Add("Storage is required: a storage connection string, or Storage__tableServiceUri and Storage__queueServiceUri with a managed identity (Storage__credential=managedidentity, Storage__clientId).");
        }
        else if (options.QueueServiceUri is not { IsAbsoluteUri: true })
        {
            failures.Add("Storage__queueServiceUri is required beside Storage__tableServiceUri.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
