using System.Globalization;
using System.Text;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Figures the scenarios hand to the scale-out arithmetic at the end of the report.</summary>
internal sealed class ScaleInputs
{
    public double SweepSecondsPerDue { get; set; }
    public double Sweep1k1Pct { get; set; }
    public int SweepPopulation { get; set; }
    public double SweepPopulation1Pct { get; set; }
    public string DrainOpsDetail { get; set; } = "";
    public double DrainIndexWritesPerRenewal { get; set; }
    public string SweepOpsDetail { get; set; } = "";
    public Dictionary<(int Latency, int P), double> DrainRate { get; } = [];
    public Dictionary<(int Latency, int P), double> DrainP50 { get; } = [];
    public Dictionary<int, double> TokenRps { get; } = [];
}

/// <summary>Report text shared by the sections: the scale-out arithmetic, and how a set of runs is written (median (min–max)).</summary>
internal static class Report
{
    internal static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static void WriteAnalysis(StringBuilder md, ScaleInputs s)
    {
        md.AppendLine("## Scale-out arithmetic (computed from the figures above)").AppendLine();
        var r150 = s.DrainRate.GetValueOrDefault((150, 32));
        var r0 = s.DrainRate.GetValueOrDefault((0, 32));
        md.AppendLine(Inv, $"- Sweep: {s.SweepSecondsPerDue * 1000:F2} ms per due entry (1,000 × 100%); 1% due of 1,000 took {s.Sweep1k1Pct * 1000:F0} ms and 1% of {s.SweepPopulation:N0} took {s.SweepPopulation1Pct * 1000:F0} ms: cost tracks the due count ({s.SweepPopulation / 1_000}× the due rows ≈ {(s.Sweep1k1Pct > 0 ? s.SweepPopulation1Pct / s.Sweep1k1Pct : 0):F1}× the time), not the total.");
        md.AppendLine(Inv, $"- One instance (2 cores here, local host) renews {r0:F0}/s at 0 ms FreshBooks latency and {r150:F0}/s at 150 ms with 32 concurrent messages; at P = 1 and 150 ms it is {s.DrainRate.GetValueOrDefault((150, 1)):F1}/s (p50 {s.DrainP50.GetValueOrDefault((150, 1)):F0} ms per renewal ≈ 150 ms FreshBooks + table round trips).");
        // Azure's partition target counts entities, not requests: a transaction of 100 marks is 100 entity operations.
        var indexOps = s.DrainIndexWritesPerRenewal + 1;
        var cap = 2000 / indexOps;
        md.AppendLine("- Needed rate = connections / 12 h (each connection renews once per 12-hour token life; the sweep window spreads them):").AppendLine();
        md.AppendLine(Inv, $"| connections | renewals/s needed | instances at measured 150 ms / P=32 rate | index entity ops/s on the `due` partition ({indexOps:F1} per renewal: {s.DrainIndexWritesPerRenewal:F1} measured in the drain + 1 mark by the sweep) | partitions K at 2,000 ops/s |");
        md.AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var n in new[] { 10_000, 100_000, 1_000_000, 10_000_000 })
        {
            var need = n / (12 * 3600.0);
            var instances = r150 > 0 ? Math.Max(1, (int)Math.Ceiling(need / r150)) : 0;
            var k = Math.Max(1, (int)Math.Ceiling(need * indexOps / 2000.0));
            md.AppendLine(Inv, $"| {n:N0} | {need:F2} | {instances} | {need * indexOps:F1} | {k} |");
        }

        md.AppendLine();
        md.AppendLine("Renewals are spread over the 12 h window only as well as the token expiries are (jitter 10 min); a burst of consents (e.g. a bulk migration) ");
        md.AppendLine("makes due-count bursts, which the queue absorbs: Flex Consumption scales queue-triggered instances out on queue length, each running ");
        md.AppendLine("`batchSize` + `newBatchThreshold` messages at once (host.json). The single `due` partition (~2,000 entity ops/s in Azure Table Storage) ");
        md.AppendLine(Inv, $"caps renewals at ≈ 2,000 / {indexOps:F1} = {cap:F0}/s, i.e. ≈ {cap * 12 * 3600 / 1e6:F0} million connections per 12 h; bursts hit it sooner (1,000,000 connections due within one hour ");
        md.AppendLine(Inv, $"need 278 renewals/s ≈ {278 * indexOps:F0} index ops/s). Past that, key the index by `hash(connectionId) mod K` partitions and sweep the K partitions in parallel.").AppendLine();
    }

    internal static string Ms(List<double> seconds) => $"{Stats.Median(seconds) * 1000:F0} ms ({seconds.Min() * 1000:F0}–{seconds.Max() * 1000:F0})";

    internal static string Ms2(List<double> ms) => $"{Stats.Median(ms):F1} ms ({ms.Min():F1}–{ms.Max():F1})";

    internal static string Sec(List<double> seconds) => $"{Stats.Median(seconds):F2} s ({seconds.Min():F2}–{seconds.Max():F2})";

    internal static string Num(List<double> values, string format = "F0") =>
        $"{Stats.Median(values).ToString(format, Inv)} ({values.Min().ToString(format, Inv)}–{values.Max().ToString(format, Inv)})";

    internal static string Kb(List<double> bytes) => $"{Stats.Median(bytes) / 1024:F0} KB";

    internal static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):F0} MB";
}
