using FreshBooksConnect.Connections;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>
/// Every 15 minutes: a re-encryption pass, so after a rotation every row reaches the current key without anyone asking, rows
/// that were leased included. With nothing to rewrite it only reads the connection rows.
/// </summary>
public sealed class ReencryptTokensFunction(TokenReencryption reencryption)
{
    [Function("ReencryptTokens")]
    public Task Run([TimerTrigger("0 */15 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        reencryption.RunAsync(cancellationToken);
}
