using System.Runtime.InteropServices;
using FreshBooksConnect.Soak;

// ./soak.sh [--minutes N] [--seed S]: the chaos soak (docs/soak.md). Exit code 0 when every invariant held, 1 when one failed,
// 2 for bad arguments, 130 when interrupted (everything it started is killed first).
var (options, error) = SoakOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(error);
    return 2;
}

var run = new SoakRun(options, Console.Out);
using var stopping = new CancellationTokenSource();
var interrupted = 0;
void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    if (Interlocked.Exchange(ref interrupted, 1) == 0)
    {
        Console.Error.WriteLine($"soak: {context.Signal}: killing everything it started");
        run.KillEverything();
        stopping.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Interrupt);
try
{
    var report = await run.RunAsync(stopping.Token);
    Console.WriteLine(report.Text);
    return report.Passed ? 0 : 1;
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    return 130;
}
