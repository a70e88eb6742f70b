using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;

namespace FreshBooks.Emulator.Internal;

/// <summary>Which books an API call reaches: none (identity), an accounting account, or a business.</summary>
internal sealed record ApiScope(ApiScopeKind Kind, string? Id)
{
    public static ApiScope Identity { get; } = new(ApiScopeKind.Identity, null);

    public static ApiScope Account(string accountId) => new(ApiScopeKind.Account, accountId);

    public static ApiScope Business(string businessId) => new(ApiScopeKind.Business, businessId);
}

internal enum ApiScopeKind
{
    Identity,
    Account,
    Business,
}

/// <summary>Who is calling, and the business a business-scoped call is for (0 otherwise).</summary>
internal readonly record struct ApiAccess(EmulatedUser User, long BusinessId);

/// <summary>
/// What every bearer-token API call goes through, in order: <see cref="EmulatorFaults.ApiLatency"/>, the next
/// queued <see cref="ApiFault"/> for this endpoint, the bearer token (401), the scope (403), and the user's
/// access to the account or business (403). Also the error answers in the shapes of FreshBooks' services.
/// </summary>
internal static class ApiCall
{
    public static async Task RunAsync(HttpContext context, EmulatorCore core, EndpointKind endpoint, string scope, ApiScope target, Func<ApiAccess, Task> handle)
    {
        var call = CallInfo.Of(context);
        try
        {
            if (core.Faults.ApiLatency is { } latency && latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, context.RequestAborted);
            }

            if (core.Faults.NextApiFault(endpoint) is { } fault)
            {
                call?.ApiFault = fault.Kind;
                if (!await ApplyFaultAsync(context, fault))
                {
                    return;
                }
            }

            if (await AuthorizeAsync(context, core, endpoint, scope, target) is { } access)
            {
                await handle(access);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            call?.Dropped = true;
        }
    }

    /// <summary><c>{"response":{"errors":[{"errno","field","message","object","value"}]}}</c>, the accounting API's error shape.</summary>
    public static Task AccountingErrorAsync(HttpContext context, AccountingProblem problem)
    {
        CallInfo.Of(context)?.Error = problem.Name;
        var error = new JsonObject
        {
            ["errno"] = problem.Errno,
            ["field"] = problem.Field,
            ["message"] = problem.Message,
            ["object"] = problem.Object,
            ["value"] = problem.Value,
        };
        return Answers.JsonAsync(context, problem.Status,
            new JsonObject { ["response"] = new JsonObject { ["errors"] = new JsonArray(error) } });
    }

    /// <summary><c>{"error": "…"}</c>, the projects and time-tracking services' error shape.</summary>
    public static Task ProjectsErrorAsync(HttpContext context, int status, string message)
    {
        CallInfo.Of(context)?.Error = status == StatusCodes.Status403Forbidden ? "forbidden" : "bad_request";
        return Answers.JsonAsync(context, status, new JsonObject { ["error"] = message });
    }

    /// <summary>Who may make this call, or null when it was refused (and answered).</summary>
    private static async Task<ApiAccess?> AuthorizeAsync(HttpContext context, EmulatorCore core, EndpointKind endpoint, string scope, ApiScope target)
    {
        var outcome = core.OAuth.AuthenticateBearer(BearerToken(context.Request), endpoint);
        if (outcome.Problem is { } problem)
        {
            await UnauthenticatedAsync(context, $"This action requires authentication to continue: {problem}.");
            return null;
        }

        var user = outcome.User!;
        if (!outcome.Scope!.Split(' ').Contains(scope, StringComparer.Ordinal))
        {
            core.Log.Misuse(MisuseKind.Forbidden, endpoint, $"The token lacks the scope {scope}.");
            await Answers.ErrorAsync(context, StatusCodes.Status403Forbidden, "insufficient_scope", $"This action requires the scope {scope}.");
            return null;
        }

        switch (target.Kind)
        {
            case ApiScopeKind.Account when !user.Businesses.Any(b => b.HasAccounting && string.Equals(b.AccountId, target.Id, StringComparison.Ordinal)):
                core.Log.Misuse(MisuseKind.Forbidden, endpoint, $"User {user.Id} has no business with account id '{target.Id}'.");
                await AccountingErrorAsync(context, AccountingProblem.AccessDenied(target.Id!));
                return null;
            case ApiScopeKind.Business:
                var business = long.TryParse(target.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var businessId)
                    ? user.Businesses.FirstOrDefault(b => b.BusinessId == businessId)
                    : null;
                if (business is null)
                {
                    core.Log.Misuse(MisuseKind.Forbidden, endpoint, $"User {user.Id} is no member of business '{target.Id}'.");
                    await ProjectsErrorAsync(context, StatusCodes.Status403Forbidden, "You do not have access to this business.");
                    return null;
                }

                return new ApiAccess(user, business.BusinessId);
            default:
                return new ApiAccess(user, 0);
        }
    }

    /// <summary>False when the fault answered (or dropped) the call itself.</summary>
    internal static async Task<bool> ApplyFaultAsync(HttpContext context, ApiFault fault)
    {
        switch (fault.Kind)
        {
            case ApiFaultKind.Reset:
                CallInfo.Of(context)?.Dropped = true;
                context.Abort();
                return false;
            case ApiFaultKind.ServerError:
                CallInfo.Of(context)?.Error = "service_unavailable";
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(
                    "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n",
                    context.RequestAborted);
                return false;
            case ApiFaultKind.TooManyRequests:
                context.Response.Headers.RetryAfter = Math.Ceiling(fault.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await Answers.ErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", "Rate limit exceeded. Retry later.");
                return false;
            case ApiFaultKind.Unauthorized:
                await UnauthenticatedAsync(context, "This action requires authentication to continue.");
                return false;
            case ApiFaultKind.Delay:
                await Task.Delay(fault.Duration, context.RequestAborted);
                return true;
            case ApiFaultKind.Timeout:
                var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping))
                {
                    try
                    {
                        await Task.Delay(fault.Duration, linked.Token);
                    }
                    catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                    {
                        context.Abort(); // the emulator is stopping: let go of the held request
                        CallInfo.Of(context)?.Dropped = true;
                        return false;
                    }
                }

                await Answers.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, "timeout", "The request timed out.");
                return false;
            default:
                return true;
        }
    }

    private static Task UnauthenticatedAsync(HttpContext context, string description)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"FreshBooks\", error=\"invalid_token\"";
        return Answers.ErrorAsync(context, StatusCodes.Status401Unauthorized, "unauthenticated", description);
    }

    private static string? BearerToken(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
        && string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrWhiteSpace(header.Parameter)
            ? header.Parameter.Trim()
            : null;
}
