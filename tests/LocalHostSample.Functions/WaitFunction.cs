using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

/// <summary>Never answers on its own: it records that it started and waits for its cancellation (an instance stopping).</summary>
public sealed class WaitFunction(InvocationLog log)
{
    [Function("Wait")]
    public async Task Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "wait")] HttpRequest request,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        log.Record(new Invocation("Wait", null, context.InvocationId));
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
