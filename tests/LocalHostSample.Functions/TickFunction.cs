using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

public sealed class TickFunction(InvocationLog log)
{
    [Function("Tick")]
    public void Run([TimerTrigger("%SampleSchedule%")] TimerInfo timer, FunctionContext context) =>
        log.Record(new Invocation("Tick", timer, context.InvocationId));
}
