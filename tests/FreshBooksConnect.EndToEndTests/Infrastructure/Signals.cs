using System.Runtime.InteropServices;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>kill(2): .NET can only SIGKILL a process; a terminal's Ctrl-C is SIGINT to a process group.</summary>
internal static partial class Signals
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    public static bool SendToGroup(int processGroupId, int signal) => Kill(-processGroupId, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
