using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class HelloFunction
{
    [Function("Hello")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello/{name}")] HttpRequest request, string name) =>
        new OkObjectResult(new { greeting = $"Hello, {name}" });
}
