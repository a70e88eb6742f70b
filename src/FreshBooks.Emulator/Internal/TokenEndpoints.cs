using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;

namespace FreshBooks.Emulator.Internal;

/// <summary><c>POST /auth/oauth/token</c> (with faults and latency) and <c>POST /auth/oauth/revoke</c>.</summary>
internal static class TokenEndpoints
{
    private const string UnreadableBody = "The request body must be JSON, application/x-www-form-urlencoded or multipart/form-data.";

    public static async Task TokenAsync(HttpContext context, EmulatorCore core, IHostApplicationLifetime lifetime)
    {
        var call = CallInfo.Of(context);
        try
        {
            if (core.Faults.Latency is { } latency && latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, context.RequestAborted);
            }

            var parameters = await RequestParameters.ReadBodyAsync(context.Request, context.RequestAborted);
            call?.GrantType = parameters?["grant_type"];
            var fault = core.Faults.NextTokenFault();
            if (call is not null && fault is not null)
            {
                call.Fault = fault.Kind;
            }

            if (fault is not null && !await ApplyFaultAsync(context, fault, lifetime.ApplicationStopping))
            {
                return;
            }

            var outcome = Process(context.Request, parameters, core);
            if (fault?.Kind == TokenFaultKind.DropAfterRotation)
            {
                // Processed in full (the old refresh token or code is spent, a new pair exists), then lost on the way back.
                call?.Dropped = true;
                context.Abort();
                return;
            }

            if (outcome.Error is { } error)
            {
                await Answers.ErrorAsync(context, error);
                return;
            }

            // An odd shape applies only to a success: the pair inside is the one just issued and live.
            var shape = fault?.Kind == TokenFaultKind.OddAnswer ? fault.Shape : null;
            call?.AnswerShape = shape;
            await TokenAnswers.WriteAsync(context, outcome.Issued!, shape);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            call?.Dropped = true;
        }
    }

    public static async Task RevokeAsync(HttpContext context, EmulatorCore core)
    {
        if (core.Faults.NextApiFault(EndpointKind.Revoke) is { } fault)
        {
            CallInfo.Of(context)?.ApiFault = fault.Kind;
            if (!await ApiCall.ApplyFaultAsync(context, fault))
            {
                return;
            }
        }

        var parameters = await RequestParameters.ReadBodyAsync(context.Request, context.RequestAborted);
        if (parameters is null)
        {
            core.Log.Misuse(MisuseKind.InvalidRequest, EndpointKind.Revoke, UnreadableBody);
            await Answers.ErrorAsync(context, 400, "invalid_request", UnreadableBody);
            return;
        }

        var (clientId, clientSecret) = ClientCredentials(context.Request, parameters);
        if (core.OAuth.AuthenticateClient(clientId, clientSecret, EndpointKind.Revoke) is { } refused)
        {
            await Answers.ErrorAsync(context, refused);
            return;
        }

        if (parameters["token"] is not { } token)
        {
            core.Log.Misuse(MisuseKind.InvalidRequest, EndpointKind.Revoke, "No token was sent.");
            await Answers.ErrorAsync(context, 400, "invalid_request", "Missing required parameter: token.");
            return;
        }

        core.OAuth.Revoke(token);
        await Answers.JsonAsync(context, StatusCodes.Status200OK, new Dictionary<string, string>());
    }

    /// <summary>False when the fault answered (or swallowed) the request itself.</summary>
    private static async Task<bool> ApplyFaultAsync(HttpContext context, TokenFault fault, CancellationToken stopping)
    {
        switch (fault.Kind)
        {
            case TokenFaultKind.ServerError:
                CallInfo.Of(context)?.Error = "service_unavailable";
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(
                    "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n",
                    context.RequestAborted);
                return false;
            case TokenFaultKind.TooManyRequests:
                context.Response.Headers.RetryAfter = Math.Ceiling(fault.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await Answers.ErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", "Rate limit exceeded. Retry later.");
                return false;
            case TokenFaultKind.Delay:
                await Task.Delay(fault.Duration, context.RequestAborted);
                return true;
            case TokenFaultKind.Timeout:
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

    private static TokenOutcome Process(HttpRequest request, RequestParameters? parameters, EmulatorCore core)
    {
        if (parameters is null || parameters.Repeated is not null)
        {
            var description = parameters is null ? UnreadableBody : $"The parameter {parameters.Repeated} was given more than once.";
            core.Log.Misuse(MisuseKind.InvalidRequest, EndpointKind.Token, description);
            return new TokenOutcome(null, new OAuthError(400, "invalid_request", description));
        }

        var grantType = parameters["grant_type"];
        var (clientId, clientSecret) = ClientCredentials(request, parameters);
        if (core.OAuth.AuthenticateClient(clientId, clientSecret, EndpointKind.Token) is { } refused)
        {
            return new TokenOutcome(null, refused);
        }

        switch (grantType)
        {
            case "authorization_code":
                return core.OAuth.ExchangeCode(parameters["code"], parameters["redirect_uri"], parameters["code_verifier"]);
            case "refresh_token":
                return core.OAuth.Refresh(parameters["refresh_token"], parameters["redirect_uri"]);
            case null:
                core.Log.Misuse(MisuseKind.InvalidRequest, EndpointKind.Token, "No grant_type was sent.");
                return new TokenOutcome(null, new OAuthError(400, "invalid_request", "Missing required parameter: grant_type."));
            default:
                core.Log.Misuse(MisuseKind.UnsupportedGrantType, EndpointKind.Token, $"grant_type '{grantType}' is not supported.");
                return new TokenOutcome(null, new OAuthError(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."));
        }
    }

    /// <summary>client_id/client_secret from the body, or else from HTTP Basic authentication.</summary>
    private static (string? Id, string? Secret) ClientCredentials(HttpRequest request, RequestParameters parameters)
    {
        if (parameters["client_id"] is { } id)
        {
            return (id, parameters["client_secret"]);
        }

        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
            && string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            && header.Parameter is { } encoded)
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Split(':', 2);
                return (Uri.UnescapeDataString(pair[0]), pair.Length == 2 ? Uri.UnescapeDataString(pair[1]) : null);
            }
            catch (FormatException)
            {
                return (null, null);
            }
        }

        return (null, null);
    }
}
