namespace FreshBooks.Emulator.Internal;

/// <summary>Out-of-process control under <c>/_emulator/</c>, for local runs and benchmarks. Not recorded as calls.</summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/_emulator");
        admin.MapGet("/calls", (EmulatorCore core) => Results.Json(core.Log.Calls, Answers.Json));
        admin.MapGet("/misuses", (EmulatorCore core) => Results.Json(core.Log.Misuses, Answers.Json));
        admin.MapGet("/status", (EmulatorCore core) => Results.Json(Status(core), Answers.Json));
        admin.MapPost("/reset-log", (EmulatorCore core) =>
        {
            core.Log.Reset();
            return Results.NoContent();
        });
        admin.MapPost("/clock/advance", (EmulatorCore core, double seconds) =>
        {
            if (!double.IsFinite(seconds) || seconds < 0)
            {
                return Results.Json(new AdminError("seconds must be a non-negative number."), Answers.Json, statusCode: 400);
            }

            core.Clock.Advance(TimeSpan.FromSeconds(seconds));
            return Results.Json(Status(core), Answers.Json);
        });
        admin.MapPost("/faults", async (HttpContext context, EmulatorCore core) =>
        {
            FaultsRequest? request;
            try
            {
                request = await context.Request.ReadFromJsonAsync<FaultsRequest>(Answers.Json, context.RequestAborted);
            }
            catch (System.Text.Json.JsonException e)
            {
                return Results.Json(new AdminError(e.Message), Answers.Json, statusCode: 400);
            }

            try
            {
                Apply(core.Faults, request ?? new FaultsRequest());
            }
            catch (ArgumentException e)
            {
                return Results.Json(new AdminError(e.Message), Answers.Json, statusCode: 400);
            }

            return Results.Json(Status(core), Answers.Json);
        });
        admin.MapPost("/pkce", (EmulatorCore core, bool required) =>
        {
            core.OAuth.RequirePkce = required;
            return Results.Json(Status(core), Answers.Json);
        });
        admin.MapPost("/approve", (EmulatorCore core, string url, long? userId) => Decide(core, url, allow: true, userId));
        admin.MapPost("/deny", (EmulatorCore core, string url) => Decide(core, url, allow: false, null));
    }

    private static IResult Decide(EmulatorCore core, string url, bool allow, long? userId)
    {
        try
        {
            var redirect = core.Authorize.Decide(new Uri(url, UriKind.Absolute), allow, userId);
            return Results.Json(new Decision(redirect.AbsoluteUri), Answers.Json);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or UriFormatException)
        {
            return Results.Json(new AdminError(e.Message), Answers.Json, statusCode: 400);
        }
    }

    private static void Apply(EmulatorFaults faults, FaultsRequest request)
    {
        if (request.Clear)
        {
            faults.Clear();
        }

        if (request.LatencyMs is { } latency)
        {
            faults.Latency = TimeSpan.FromMilliseconds(latency);
        }

        foreach (var spec in request.Enqueue ?? [])
        {
            faults.EnqueueToken(spec.Kind switch
            {
                TokenFaultKind.ServerError => TokenFault.ServerError,
                TokenFaultKind.TooManyRequests => TokenFault.TooManyRequests(TimeSpan.FromSeconds(spec.Seconds ?? 1)),
                TokenFaultKind.Delay => TokenFault.Delay(TimeSpan.FromSeconds(spec.Seconds ?? 1)),
                TokenFaultKind.DropAfterRotation => TokenFault.DropAfterRotation,
                TokenFaultKind.Timeout => TokenFault.Timeout,
                TokenFaultKind.OddAnswer => TokenFault.OddAnswer(spec.Shape ?? throw new ArgumentException("An OddAnswer fault needs a \"shape\".")),
                _ => throw new ArgumentException($"Unknown fault kind {spec.Kind}."),
            });
        }

        if (request.ApiLatencyMs is { } apiLatency)
        {
            faults.ApiLatency = TimeSpan.FromMilliseconds(apiLatency);
        }

        foreach (var spec in request.ApiEnqueue ?? [])
        {
            var fault = spec.Kind switch
            {
                ApiFaultKind.ServerError => ApiFault.ServerError,
                ApiFaultKind.Unauthorized => ApiFault.Unauthorized,
                ApiFaultKind.Timeout => ApiFault.Timeout,
                ApiFaultKind.TooManyRequests => ApiFault.TooManyRequests(TimeSpan.FromSeconds(spec.Seconds ?? 1)),
                ApiFaultKind.Delay => ApiFault.Delay(TimeSpan.FromSeconds(spec.Seconds ?? 1)),
                _ => throw new ArgumentException($"Unknown API fault kind {spec.Kind}."),
            };
            faults.EnqueueApi(spec.Endpoint is { } endpoint ? fault.On(endpoint) : fault);
        }

        if (request.Random is { } random)
        {
            faults.SetRandom(random.Seed, random.ServerErrorRate, random.TooManyRequestsRate, random.DropAfterRotationRate,
                TimeSpan.FromSeconds(random.RetryAfterSeconds ?? 1));
        }
    }

    private static StatusBody Status(EmulatorCore core) =>
        new(core.Clock.GetUtcNow(), core.Clock.Offset.TotalSeconds, core.OAuth.LiveGrantCount, core.Faults.PendingCount, core.Faults.Latency.TotalMilliseconds,
            core.Faults.PendingApiCount, core.Faults.ApiLatency.TotalMilliseconds, core.OAuth.RequirePkce);

    private sealed record StatusBody(DateTimeOffset Now, double ClockOffsetSeconds, int LiveGrantCount, int PendingFaults, double LatencyMs, int PendingApiFaults, double ApiLatencyMs, bool RequirePkce);

    private sealed record Decision(string Redirect);

    private sealed record AdminError(string Error);

    /// <summary>
    /// <c>{"clear":true,"latency_ms":150,"enqueue":[{"kind":"TooManyRequests","seconds":3},{"kind":"OddAnswer","shape":"CreatedAtMilliseconds"}],
    /// "random":{"seed":7,"server_error_rate":0.1},"api_latency_ms":50,"api_enqueue":[{"kind":"Delay","seconds":30,"endpoint":"UsersMe"}]}</c>
    /// </summary>
    private sealed record FaultsRequest(
        bool Clear = false,
        double? LatencyMs = null,
        List<FaultSpec>? Enqueue = null,
        RandomSpec? Random = null,
        double? ApiLatencyMs = null,
        List<ApiFaultSpec>? ApiEnqueue = null);

    private sealed record FaultSpec(TokenFaultKind Kind, double? Seconds = null, TokenAnswerShape? Shape = null);

    private sealed record ApiFaultSpec(ApiFaultKind Kind, double? Seconds = null, EndpointKind? Endpoint = null);

    private sealed record RandomSpec(int Seed, double ServerErrorRate = 0, double TooManyRequestsRate = 0, double DropAfterRotationRate = 0, double? RetryAfterSeconds = null);
}
