namespace FreshBooks.Emulator.Internal;

/// <summary>Everything one emulator instance holds, shared by its endpoints and its public face.</summary>
internal sealed class EmulatorCore
{
    public EmulatorCore(EmulatorOptions options, EmulatorClock clock)
    {
        Options = options;
        Clock = clock;
        Log = new EmulatorLog(clock);
        OAuth = new OAuthServer(options, clock, Log);
        Authorize = new AuthorizeFlow(options, Log, OAuth);
        Nonces = new ConsentNonces(clock);
        Data = new BusinessData(options.Users, clock);
    }

    public EmulatorOptions Options { get; }

    public EmulatorClock Clock { get; }

    public EmulatorLog Log { get; }

    public EmulatorFaults Faults { get; } = new();

    public OAuthServer OAuth { get; }

    public AuthorizeFlow Authorize { get; }

    public ConsentNonces Nonces { get; }

    public BusinessData Data { get; }
}
