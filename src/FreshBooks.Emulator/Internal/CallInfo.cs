namespace FreshBooks.Emulator.Internal;

/// <summary>What an endpoint tells the call recorder about the request it answered.</summary>
internal sealed class CallInfo(EndpointKind endpoint, DateTimeOffset time)
{
    public EndpointKind Endpoint { get; } = endpoint;
    public DateTimeOffset Time { get; } = time;
    public string? GrantType { get; set; }
    public string? Error { get; set; }
    public TokenFaultKind? Fault { get; set; }
    public TokenAnswerShape? AnswerShape { get; set; }
    public ApiFaultKind? ApiFault { get; set; }
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
            core.Log.Add(new EmulatorCall(call.Time, call.Endpoint, context.Request.Method, path.Value ?? "/", call.GrantType, status, call.Error, call.Fault)
            {
                AnswerShape = call.AnswerShape,
                ApiFault = call.ApiFault,
            });
        }
    }

    private static EndpointKind Classify(PathString path)
    {
        var value = (path.Value ?? "").TrimEnd('/');
        var segments = value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return value switch
        {
            "/oauth/authorize" => EndpointKind.Authorize,
            "/auth/oauth/token" => EndpointKind.Token,
            "/auth/oauth/revoke" => EndpointKind.Revoke,
            "/auth/api/v1/users/me" => EndpointKind.UsersMe,
            _ => segments switch
            {
                ["accounting", "account", _, "users", "clients"] => EndpointKind.Clients,
                ["accounting", "account", _, "users", "clients", _] => EndpointKind.ClientById,
                ["accounting", "account", _, "invoices", "invoices"] => EndpointKind.Invoices,
                ["accounting", "account", _, "invoices", "invoices", _] => EndpointKind.InvoiceById,
                ["projects", "business", _, "projects"] => EndpointKind.Projects,
                ["timetracking", "business", _, "time_entries"] => EndpointKind.TimeEntries,
                _ => EndpointKind.Other,
            },
        };
    }
}
