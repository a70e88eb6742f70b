using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FreshBooks.Emulator.Internal;

/// <summary>How the emulator writes JSON, OAuth errors, HTML pages and redirects.</summary>
internal static class Answers
{
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    public static Task JsonAsync<T>(HttpContext context, int status, T body)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(body, Json, context.RequestAborted);
    }

    public static Task ErrorAsync(HttpContext context, OAuthError error) =>
        ErrorAsync(context, error.Status, error.Error, error.Description);

    public static Task ErrorAsync(HttpContext context, int status, string error, string description)
    {
        if (CallInfo.Of(context) is { } call)
        {
            call.Error = error;
        }

        return JsonAsync(context, status, new ErrorBody(error, description));
    }

    public static Task HtmlAsync(HttpContext context, int status, string html, string? redirectOrigin = null, string? error = null)
    {
        if (error is not null && CallInfo.Of(context) is { } call)
        {
            call.Error = error;
        }

        var headers = context.Response.Headers;
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        headers.ContentSecurityPolicy = HtmlPages.ContentSecurityPolicy(redirectOrigin);
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        return context.Response.WriteAsync(html, context.RequestAborted);
    }

    public static void Redirect(HttpContext context, Uri location, string? error = null)
    {
        if (error is not null && CallInfo.Of(context) is { } call)
        {
            call.Error = error;
        }

        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = location.AbsoluteUri;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
    }

    private sealed record ErrorBody(string Error, string ErrorDescription);
}
