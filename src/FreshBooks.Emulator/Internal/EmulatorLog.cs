namespace FreshBooks.Emulator.Internal;

/// <summary>The call log and the misuse log. Thread-safe; readers get snapshot copies.</summary>
internal sealed class EmulatorLog(TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly List<EmulatorCall> _calls = [];
    private readonly List<EmulatorMisuse> _misuses = [];

    public IReadOnlyList<EmulatorCall> Calls
    {
        get { lock (_gate)
            {
                return _calls.ToArray();
            }
        }
    }

    public IReadOnlyList<EmulatorMisuse> Misuses
    {
        get { lock (_gate)
            {
                return _misuses.ToArray();
            }
        }
    }

    public void Add(EmulatorCall call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
    }

    public void Misuse(MisuseKind kind, EndpointKind endpoint, string detail)
    {
        var misuse = new EmulatorMisuse(clock.GetUtcNow(), kind, endpoint, detail);
        lock (_gate)
        {
            _misuses.Add(misuse);
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _calls.Clear();
            _misuses.Clear();
        }
    }

    /// <summary>Enough of a token or code to tell two apart in a log, never the whole secret.</summary>
    public static string Redact(string? secret) =>
        string.IsNullOrEmpty(secret) ? "(none)" : secret.Length <= 8 ? "(short value)" : secret[..6] + "…";
}
