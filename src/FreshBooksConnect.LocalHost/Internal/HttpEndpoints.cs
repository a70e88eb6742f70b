using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>Marks the endpoint of an HTTP function (read back by the admin listing).</summary>
internal sealed record FunctionEndpointMetadata(LocalFunction Function);

/// <summary>
/// The HTTP side: each HTTP function on its route, with its methods and key check, and the admin endpoints
/// (<c>GET /admin/functions</c>, <c>POST /admin/functions/{name}</c>), all behind the same keys.
/// </summary>
internal static class HttpEndpoints
{
    private const string HostApiReason = "This function was programmatically called via the host APIs.";

    public static void MapFunctions(WebApplication app, IReadOnlyList<FunctionDescriptor> functions, FunctionKeys keys)
    {
        foreach (var function in functions.Where(f => f.Function is { TriggerType: LocalTriggerType.Http, IsDisabled: false }))
        {
            var endpoint = app.Map(RoutePatternFactory.Parse(function.Function.Route!), http => HandleAsync(http, function, keys))
                .WithDisplayName($"Functions.{function.Name}")
                .WithMetadata(new FunctionEndpointMetadata(function.Function));
            if (function.Function.Methods.Count > 0)
            {
                endpoint.WithMetadata(new HttpMethodMetadata(function.Function.Methods));
            }
        }
    }

    public static void MapAdmin(WebApplication app, IReadOnlyList<FunctionDescriptor> functions, FunctionKeys keys)
    {
        app.MapGet("admin/functions", async http =>
        {
            if (!await AuthorizeAdminAsync(http, keys))
            {
                return;
            }

            var endpoints = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
                .OfType<RouteEndpoint>()
                .Select(e => (Endpoint: e, Function: e.Metadata.GetMetadata<FunctionEndpointMetadata>()?.Function))
                .Where(e => e.Function is not null)
                .ToDictionary(e => e.Function!.Name, e => e.Endpoint, StringComparer.OrdinalIgnoreCase);
            var baseUri = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/";
            var listing = functions.Select(f => Describe(f.Function, endpoints.GetValueOrDefault(f.Name), baseUri)).ToArray();
            await Results.Json(listing).ExecuteAsync(http);
        });

        app.MapPost("admin/functions/{name}", async (HttpContext http, string name) =>
        {
            if (!await AuthorizeAdminAsync(http, keys))
            {
                return;
            }

            var function = functions.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (function is null)
            {
                await ProblemAsync(http, StatusCodes.Status404NotFound, "Function not found", $"There is no function named '{name}'.");
                return;
            }

            if (function.Function.TriggerType == LocalTriggerType.Http)
            {
                await ProblemAsync(http, StatusCodes.Status400BadRequest, "HTTP function", $"'{function.Name}' is HTTP-triggered: call its route instead.");
                return;
            }

            string? input;
            try
            {
                input = await ReadInputAsync(http.Request);
            }
            catch (JsonException)
            {
                await ProblemAsync(http, StatusCodes.Status400BadRequest, "Invalid body", "The body must be JSON like {\"input\": \"...\"}.");
                return;
            }

            if (function.Function.TriggerType == LocalTriggerType.Queue && input is null)
            {
                await ProblemAsync(http, StatusCodes.Status400BadRequest, "Missing input", $"'{function.Name}' is queue-triggered: send {{\"input\": \"<message>\"}}.");
                return;
            }

            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("FreshBooksConnect.LocalHost.Admin");
            LocalHostLog.AdminInvocation(logger, function.Name);
            http.RequestServices.GetRequiredService<TriggerListeners>().InvokeInBackground(function, input);
            http.Response.StatusCode = StatusCodes.Status202Accepted;
        });
    }

    private static object Describe(LocalFunction function, RouteEndpoint? endpoint, string baseUri)
    {
        var route = endpoint?.RoutePattern.RawText ?? function.Route;
        return new
        {
            name = function.Name,
            trigger = function.TriggerType switch
            {
                LocalTriggerType.Http => FunctionIndexer.HttpTrigger,
                LocalTriggerType.Timer => FunctionIndexer.TimerTrigger,
                _ => FunctionIndexer.QueueTrigger,
            },
            isDisabled = function.IsDisabled,
            route,
            methods = endpoint is null
                ? function.TriggerType == LocalTriggerType.Http ? function.Methods : null
                : endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [],
            authLevel = function.AuthLevel?.ToString(),
            invoke_url_template = route is null ? null : baseUri + route,
            schedule = function.Schedule,
            runOnStartup = function.TriggerType == LocalTriggerType.Timer ? function.RunOnStartup : (bool?)null,
            queueName = function.QueueName,
            connection = function.TriggerType == LocalTriggerType.Queue ? function.Connection ?? QueueConnections.DefaultConnection : null,
        };
    }

    private static async Task<string?> ReadInputAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The body is not a JSON object.");
        }

        return document.RootElement.TryGetProperty("input", out var input) ? input.ValueKind switch
        {
            JsonValueKind.String => input.GetString(),
            JsonValueKind.Null => null,
            _ => input.GetRawText(),
        } : null;
    }

    private static async Task<bool> AuthorizeAdminAsync(HttpContext http, FunctionKeys keys)
    {
        if (keys.Authorize(AuthorizationLevel.Admin, http.Request))
        {
            return true;
        }

        await UnauthorizedAsync(http, AuthorizationLevel.Admin);
        return false;
    }

    private static async Task HandleAsync(HttpContext http, FunctionDescriptor function, FunctionKeys keys)
    {
        var level = function.Function.AuthLevel ?? AuthorizationLevel.Function;
        if (!keys.Authorize(level, http.Request))
        {
            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("FreshBooksConnect.LocalHost.Http");
            LocalHostLog.Unauthorized(logger, function.Name, level.ToString());
            await UnauthorizedAsync(http, level);
            return;
        }

        var invoker = http.RequestServices.GetRequiredService<FunctionInvoker>();
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        try
        {
            await invoker.InvokeAsync(
                function,
                new InvocationInput { Reason = HostApiReason, HttpContext = http },
                (result, _) => ExecuteResultAsync(http, result),
                cancellation.Token);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception) when (stopping.IsCancellationRequested && !http.Response.HasStarted)
        {
            // The instance is stopping and the invocation ended with it while its client still waits: nothing is wrong with
            // the request, so it is asked to send it again (another instance, or this one restarted, takes it), not told 500.
            http.Response.Clear();
            http.Response.Headers.RetryAfter = "1";
            await ProblemAsync(http, StatusCodes.Status503ServiceUnavailable, "This instance is stopping", "The app is shutting down. Send the request again.");
        }
        catch (Exception)
        {
            // Logged by the invoker. The body says nothing about the exception, as in Azure.
            if (http.Response.HasStarted)
            {
                var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("FreshBooksConnect.LocalHost.Http");
                LocalHostLog.ResponseAlreadyStarted(logger, function.Name);
                http.Abort();
                return;
            }

            http.Response.Clear();
            await ProblemAsync(http, StatusCodes.Status500InternalServerError, "An error occurred while processing your request.", detail: null);
        }
    }

    private static Task ExecuteResultAsync(HttpContext http, object? result) => result switch
    {
        IActionResult action => action.ExecuteResultAsync(new ActionContext(http, http.GetRouteData(), new ActionDescriptor())),
        IResult minimal => minimal.ExecuteAsync(http),
        _ => Task.CompletedTask,
    };

    private static Task UnauthorizedAsync(HttpContext http, AuthorizationLevel level) =>
        ProblemAsync(
            http,
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            (level == AuthorizationLevel.Function ? "A function key or the master key" : "The master key") +
            $" is required, in the {FunctionKeys.HeaderName} header or the {FunctionKeys.QueryName} query parameter.");

    private static Task ProblemAsync(HttpContext http, int status, string title, string? detail)
    {
        // The host's own answers get the same hygiene as the app's: never cached, never sniffed.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?> { ["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier })
            .ExecuteAsync(http);
    }
}
