using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class BoomFunction
{
    public const string SecretDetail = "secret-detail-4711";

    [Function("Boom")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "boom")] HttpRequest request) =>
        throw new InvalidOperationException($"Something broke: {SecretDetail}");
}
