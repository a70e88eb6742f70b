using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class EchoFunction
{
    [Function("Echo")]
    public async Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Function, "post", Route = "echo")] HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        return new ContentResult { Content = body, ContentType = "text/plain; charset=utf-8", StatusCode = StatusCodes.Status200OK };
    }
}
