namespace FreshBooks.Emulator;

/// <summary>
/// The emulator's time: an inner <see cref="TimeProvider"/> (the system clock, or the one a test passed,
/// e.g. a FakeTimeProvider) plus an offset that <see cref="Advance"/> moves forward.
/// </summary>
public sealed class EmulatorClock : TimeProvider
{
    private readonly TimeProvider _inner;
    private long _offsetTicks;

    public EmulatorClock(TimeProvider? inner = null) => _inner = inner ?? System;

    /// <summary>How far <see cref="Advance"/> has moved this clock ahead of the inner one.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>Shifts emulator time forward (codes and access tokens age; nothing sleeps).</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow() + Offset;

    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    public override long TimestampFrequency => _inner.TimestampFrequency;

    public override long GetTimestamp() => _inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _inner.CreateTimer(callback, state, dueTime, period);
}
