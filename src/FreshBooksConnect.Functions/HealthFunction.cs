using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.Functions;

/// <summary>
/// Liveness for load balancers, the local run and the deploy check: the app started (its settings passed
/// validation), and whether each secret setting arrived (set, missing, unresolved Key Vault reference), never its value.
/// </summary>
public sealed class HealthFunction(IConfiguration configuration)
{
    [Function("Health")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        JsonResponse.Ok(new { status = "ok", settings = KeySettingsReport.Describe(configuration) });
}
