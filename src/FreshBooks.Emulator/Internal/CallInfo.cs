namespace FreshBooks.Emulator.Internal;

/// <summary>What an endpoint tells the call recorder about the request it answered.</summary>
internal sealed class CallInfo(EndpointKind endpoint, DateTimeOffset time)
{
    public EndpointKind Endpoint { get; } = endpoint;
    public DateTimeOffset Time { get; } = time;
    public string? GrantType { get; set; }
    public string? Error { get; set; }
    public TokenFaultKind? Fault { get; set; }
    public bool Dropped { get; set; }

    public static CallInfo? Of(HttpContext context) => context.Features.Get<CallInfo>();

    /// <summary>Records every request except the admin ones, after it was answered.</summary>
    public static async Task RecordAsync(HttpContext context, RequestDelegate next, EmulatorCore core)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/_emulator"))
        {
            await next(context);
            return;
        }

        var call = new CallInfo(Classify(path), core.Clock.GetUtcNow());
        context.Features.Set(call);
        var status = 500;
        try
        {
            await next(context);
            status = call.Dropped ? 0 : context.Response.StatusCode;
        }
        finally
        {
            core.Log.Add(new EmulatorCall(call.Time, call.Endpoint, context.Request.Method, path.Value ?? "/", call.GrantType, status, call.Error, call.Fault));
        }
    }

    private static EndpointKind Classify(PathString path)
    {
        var value = (path.Value ?? "").TrimEnd('/');
        return value switch
        {
            "/oauth/authorize" => EndpointKind.Authorize,
            "/auth/oauth/token" => EndpointKind.Token,
            "/auth/oauth/revoke" => EndpointKind.Revoke,
            "/auth/api/v1/users/me" => EndpointKind.UsersMe,
            _ when value.StartsWith("/accounting/account/", StringComparison.Ordinal) && value.EndsWith("/users/clients", StringComparison.Ordinal) => EndpointKind.Clients,
            _ => EndpointKind.Other,
        };
    }
}
