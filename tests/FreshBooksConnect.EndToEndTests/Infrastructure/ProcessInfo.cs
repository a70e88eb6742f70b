using System.Globalization;
using System.Text;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>A running process as /proc shows it.</summary>
public sealed record ProcessInfo(int Id, int ProcessGroupId, char State, string CommandLine)
{
    public override string ToString() => $"pid {Id} (group {ProcessGroupId}, state {State}): {CommandLine}";

    /// <summary>
    /// Every process (but this one) that belongs to a run: it carries the run's <c>FBC_RUN_ID</c> in its environment
    /// (run.sh exports it, so whatever it starts inherits it), or its command line names one of the run's ports
    /// (<c>--blobPort 41001</c>, <c>--urls http://127.0.0.1:41002</c>).
    /// </summary>
    public static IReadOnlyList<ProcessInfo> Find(string runId, IReadOnlyList<int> ports)
    {
        var marker = Encoding.UTF8.GetBytes($"FBC_RUN_ID={runId}\0");
        var portArguments = ports.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToHashSet();
        var found = new List<ProcessInfo>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                var namesPort = arguments.Any(a => portArguments.Contains(a) || portArguments.Any(p => a.EndsWith(":" + p, StringComparison.Ordinal) || a.Contains(":" + p + "/", StringComparison.Ordinal)));
                var carriesRunId = File.ReadAllBytes(Path.Combine(directory, "environ")).AsSpan().IndexOf(marker) >= 0;
                if (namesPort || carriesRunId)
                {
                    var (state, group) = Stat(directory);
                    found.Add(new ProcessInfo(pid, group, state, string.Join(' ', arguments)));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked, or not ours to read.
            }
        }

        return found;
    }

    /// <summary>SIGKILL to the process's group when it leads one of its own, else to the process alone.</summary>
    public void KillGroup()
    {
        var (_, ownGroup) = Stat("/proc/self");
        if (ProcessGroupId == Id && ProcessGroupId != ownGroup)
        {
            Signals.SendToGroup(ProcessGroupId, Signals.SIGKILL);
        }
        else
        {
            Signals.Send(Id, Signals.SIGKILL);
        }
    }

    private static (char State, int ProcessGroupId) Stat(string directory)
    {
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so read from the last ')'.
        var stat = File.ReadAllText(Path.Combine(directory, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], int.Parse(fields[2], CultureInfo.InvariantCulture));
    }
}
