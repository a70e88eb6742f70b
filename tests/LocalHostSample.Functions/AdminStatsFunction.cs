using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class AdminStatsFunction(InvocationLog log)
{
    [Function("AdminStats")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Admin, "get", Route = "stats")] HttpRequest request) =>
        new OkObjectResult(new { invocations = log.All.Count });
}
