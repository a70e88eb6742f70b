using System.Globalization;
using NCrontab;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// A timer trigger's schedule, as Functions reads it: a 6-field NCRONTAB expression (with seconds) or, as Functions
/// also accepts, a TimeSpan interval ("00:05:00"). Evaluated in UTC (Azure's default time zone).
/// </summary>
internal abstract class TimerSchedule
{
    public abstract DateTimeOffset GetNextOccurrence(DateTimeOffset after);

    public static bool TryParse(string expression, out TimerSchedule? schedule, out string? error)
    {
        var trimmed = expression.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 1 && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var interval))
        {
            schedule = interval > TimeSpan.Zero ? new IntervalSchedule(interval) : null;
            error = schedule is null ? $"the interval '{trimmed}' is not positive." : null;
            return schedule is not null;
        }

        if (fields.Length != 6)
        {
            schedule = null;
            error = $"'{trimmed}' is not a 6-field NCRONTAB expression ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}) or a TimeSpan.";
            return false;
        }

        var cron = CrontabSchedule.TryParse(trimmed, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        schedule = cron is null ? null : new CronSchedule(cron);
        error = cron is null ? $"'{trimmed}' is not a valid NCRONTAB expression." : null;
        return cron is not null;
    }

    private sealed class CronSchedule(CrontabSchedule cron) : TimerSchedule
    {
        public override DateTimeOffset GetNextOccurrence(DateTimeOffset after)
        {
            var next = cron.GetNextOccurrence(after.UtcDateTime);
            return new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc));
        }
    }

    private sealed class IntervalSchedule(TimeSpan interval) : TimerSchedule
    {
        public override DateTimeOffset GetNextOccurrence(DateTimeOffset after) => after + interval;
    }
}
