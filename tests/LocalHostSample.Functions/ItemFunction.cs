using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class ItemFunction
{
    [Function("Item")]
    public Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "items/{id:int}/{label?}")] HttpRequest request,
        int id,
        string? label) =>
        Task.FromResult<IActionResult>(new OkObjectResult(new { id, label }));
}
