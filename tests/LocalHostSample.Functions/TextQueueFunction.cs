using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class TextQueueFunction(InvocationLog log)
{
    /// <summary>Records each message; a message starting with "fail" throws (to exercise retries and poison).</summary>
    [Function("TextQueue")]
    public async Task Run([QueueTrigger("%SampleTextQueue%")] string message, FunctionContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        log.Record(new Invocation("TextQueue", message, context.InvocationId));
        if (message.StartsWith("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Asked to fail.");
        }
    }
}
