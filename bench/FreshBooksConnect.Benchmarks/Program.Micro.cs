using System.Globalization;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FreshBooksConnect.Testing;
using Perfolizer.Horology;

namespace FreshBooksConnect.Benchmarks;

public static partial class Program
{
    /// <summary>
    /// Section 5: BenchmarkDotNet over single store calls. A partial method, so `./bench.sh --compare` can leave this file out
    /// when it builds the bench against older versions, whose store lacks the APIs measured here.
    /// </summary>
    static partial void MicroBenchmarks(StringBuilder md, bool quick)
    {
        md.AppendLine("## 5. One store call in isolation (BenchmarkDotNet)").AppendLine();
        md.AppendLine("`ConnectionStoreBenchmarks`: the app's `IConnectionStore` (from `AddFreshBooksConnect`) over an in-memory table service (an `HttpMessageHandler` that answers at once), ");
        md.AppendLine("so the figures are our code plus the Azure SDK per call: entity mapping, AES-GCM token encryption, JSON. In-process toolchain, ");
        md.AppendLine(CultureInfo.InvariantCulture, $"{(quick ? "a dry job (one pass: smoke test only)" : "3 warm-up and 15 measured iterations of ~250 ms each")}; mean ± half the 99.9% confidence interval, allocated bytes per call.").AppendLine();

        var job = (quick ? Job.Dry : Job.Default.WithWarmupCount(3).WithIterationCount(15).WithIterationTime(TimeInterval.FromMilliseconds(250))).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddLogger(ConsoleLogger.Default)
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray())
            .WithArtifactsPath(Path.Combine(RepositoryRoot.Find(), ".run", "BenchmarkDotNet.Artifacts"));
        var summary = BenchmarkRunner.Run<ConnectionStoreBenchmarks>(config);

        md.AppendLine("| call | mean | allocated / call |");
        md.AppendLine("|---|---:|---:|");
        foreach (var report in summary.Reports)
        {
            var stats = report.ResultStatistics;
            var mean = stats is null ? "n/a" : $"{stats.Mean / 1000:F1} µs ± {stats.ConfidenceInterval.Margin / 1000:F1}";
            var allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) is { } bytes ? $"{bytes:N0} B" : "n/a";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'')} | {mean} | {allocated} |");
        }

        var (replace, merge) = ConnectionStoreBenchmarks.LeaseBodySizesAsync().GetAwaiter().GetResult();
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Request body of the lease write: full-row replace {replace:N0} bytes, merge {merge:N0} bytes.").AppendLine();
    }
}
