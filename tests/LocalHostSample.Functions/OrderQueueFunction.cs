using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class OrderQueueFunction(InvocationLog log)
{
    [Function("Orders")]
    public ValueTask Run([QueueTrigger("%SampleOrdersQueue%", Connection = "SampleStorage")] SampleOrder order, FunctionContext context)
    {
        log.Record(new Invocation("Orders", order, context.InvocationId));
        return ValueTask.CompletedTask;
    }
}
