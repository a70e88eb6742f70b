using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace LocalHostSample.Functions;

public sealed class ContextFunction(ScopeProbe probe)
{
    [Function("Context")]
    public IActionResult Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "context")] HttpRequest request,
        FunctionContext context,
        CancellationToken cancellationToken) =>
        new OkObjectResult(new
        {
            invocationId = context.InvocationId,
            functionName = context.FunctionDefinition.Name,
            functionId = context.FunctionId,
            sameRequest = ReferenceEquals(context.GetHttpContext(), request.HttpContext),
            scopeId = probe.Id,
            sameScope = ReferenceEquals(context.InstanceServices.GetRequiredService<ScopeProbe>(), probe),
            tokenCanBeCanceled = cancellationToken.CanBeCanceled,
            sameToken = cancellationToken == context.CancellationToken,
        });
}
