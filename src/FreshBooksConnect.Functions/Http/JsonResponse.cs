using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FreshBooksConnect.Functions.Http;

/// <summary>A JSON answer for the SaaS backend, never cached (it may hold a token).</summary>
public sealed class JsonResponse(int status, object body, string contentType = "application/json", TimeSpan? retryAfter = null) : IActionResult
{
    internal static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        response.StatusCode = status;
        response.ContentType = contentType + "; charset=utf-8";
        SecurityHeaders.Apply(response);
        if (retryAfter is { } after)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await JsonSerializer.SerializeAsync(response.Body, body, body.GetType(), Options, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    public static JsonResponse Ok(object body) => new(StatusCodes.Status200OK, body);

    public static JsonResponse Accepted(object body) => new(StatusCodes.Status202Accepted, body);

    /// <summary>An RFC 7807 problem: what went wrong in words a developer can act on, never a secret.</summary>
    public static JsonResponse Problem(int status, string title, string detail, string? type = null, TimeSpan? retryAfter = null, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails
        {
            Type = "urn:freshbooks-connect:problem:" + (type ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Title = title,
            Status = status,
            Detail = detail,
        };
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        return new JsonResponse(status, problem, "application/problem+json", retryAfter);
    }
}
