using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using FreshBooksConnect.FreshBooks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Functions.Http;

/// <summary>
/// A small, self-contained HTML page for the customer's browser. No external assets: the CSP allows only this page's own
/// stylesheet (by hash), no scripts, no frames, no forms but the page's own <paramref name="form"/>, and the referrer is never
/// sent (the callback URL carries the code).
/// </summary>
public sealed class Page(int status, string title, string message, string? detail = null, Uri? link = null, string? linkText = null, PageForm? form = null) : IActionResult
{
    private const string Style =
        "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f6f8;color:#1d2730}" +
        "main{max-width:34rem;margin:12vh auto;padding:2rem 2.25rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}" +
        "h1{font-size:1.5rem;margin:0 0 .75rem}p{margin:.5rem 0}.detail{color:#4a5866}" +
        ".brand{font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:#0063b1;margin-bottom:1.25rem}" +
        ".button{display:inline-block;margin-top:1.25rem;padding:.6rem 1.1rem;border:0;border-radius:8px;background:#0063b1;color:#fff;font:inherit;text-decoration:none;cursor:pointer}" +
        ".button:focus{outline:3px solid #ffbf47;outline-offset:2px}";

    private static readonly string StyleHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)));

    /// <summary>
    /// The policy a page is served with. A page with a form may post it to this app and be redirected on to
    /// <see cref="PageForm.ContinuesTo"/>'s origin (browsers apply <c>form-action</c> to a form's redirects too); no other page may
    /// post anything anywhere.
    /// </summary>
    public static string ContentSecurityPolicy(PageForm? form = null) =>
        $"default-src 'none'; style-src 'sha256-{StyleHash}'; img-src 'none'; form-action {(form is null ? "'none'" : "'self' " + form.ContinuesTo.GetLeftPart(UriPartial.Authority))}; frame-ancestors 'none'; base-uri 'none'";

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy(form);
        SecurityHeaders.Apply(response);
        if (status is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests)
        {
            // Every 503 and 429 page says "try again in a minute or a few": so does its header, for browsers and monitors.
            response.Headers.RetryAfter = "60";
        }

        await response.WriteAsync(Render(), Encoding.UTF8, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    internal string Render()
    {
        var html = new StringBuilder()
            .Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<meta name=\"referrer\" content=\"no-referrer\">")
            .Append("<title>").Append(Encode(title)).Append(" · FreshBooks Connect</title>")
            .Append("<style>").Append(Style).Append("</style></head><body><main>")
            .Append("<div class=\"brand\">FreshBooks Connect</div>")
            .Append("<h1>").Append(Encode(title)).Append("</h1>")
            .Append("<p>").Append(Encode(message)).Append("</p>");
        if (detail is not null)
        {
            html.Append("<p class=\"detail\">").Append(Encode(detail)).Append("</p>");
        }

        if (form is not null)
        {
            html.Append("<form method=\"post\" action=\"").Append(Encode(form.Action)).Append("\">");
            foreach (var (name, value) in form.Fields)
            {
                html.Append("<input type=\"hidden\" name=\"").Append(Encode(name)).Append("\" value=\"").Append(Encode(value)).Append("\">");
            }

            html.Append("<button class=\"button\" type=\"submit\">").Append(Encode(form.ButtonText)).Append("</button></form>");
        }

        if (link is not null)
        {
            html.Append("<a class=\"button\" href=\"").Append(Encode(link.AbsoluteUri)).Append("\">").Append(Encode(linkText ?? "Continue")).Append("</a>");
        }

        return html.Append("</main></body></html>").ToString();
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}

/// <summary>
/// A page's one form: a button that posts <see cref="Fields"/> to <see cref="Action"/> (a URL relative to the page), whose answer
/// may redirect the browser on to <see cref="ContinuesTo"/>.
/// </summary>
public sealed record PageForm(string Action, IReadOnlyList<KeyValuePair<string, string>> Fields, string ButtonText, Uri ContinuesTo);

/// <summary>
/// Headers every answer carries: nothing here may be cached, sniffed or leak the URL onwards; and an app served over https tells
/// browsers to come back over https only (HSTS, a year; browsers ignore it over plain http, so sending it is never harmful).
/// </summary>
public static class SecurityHeaders
{
    public const string StrictTransportSecurity = "max-age=31536000";

    public static void Apply(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        if (IsServedOverHttps(response.HttpContext))
        {
            response.Headers.StrictTransportSecurity = StrictTransportSecurity;
        }
    }

    /// <summary>
    /// In Azure TLS ends at the front end, so the worker sees http: the public redirect URI says how the app is reached, and the
    /// front end's <c>X-Forwarded-Proto</c> says how this request came.
    /// </summary>
    private static bool IsServedOverHttps(HttpContext context) =>
        context.Request.IsHttps
        || string.Equals(context.Request.Headers["X-Forwarded-Proto"], "https", StringComparison.OrdinalIgnoreCase)
        || context.RequestServices?.GetService(typeof(IOptions<FreshBooksOptions>)) is IOptions<FreshBooksOptions> { Value.RedirectUri.Scheme: "https" };
}
