using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The consent page and the authorize error page: plain HTML forms, one inline style block allowed by
/// its hash, no scripts, no external assets.
/// </summary>
internal static class HtmlPages
{
    private const string Css = """
        :root{color-scheme:light dark;--fg:#1d2b36;--muted:#5b6b78;--bg:#f4f6f8;--card:#fff;--accent:#0063c1;--line:#d5dde3}
        @media (prefers-color-scheme:dark){:root{--fg:#e8eef2;--muted:#a9b6c0;--bg:#111820;--card:#1b2530;--accent:#5aa9ff;--line:#33414d}}
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        main{max-width:32rem;margin:3rem auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:12px}
        .brand{margin:0 0 1rem;font-weight:700;color:var(--accent)}
        .brand span{font-weight:400;color:var(--muted)}
        h1{font-size:1.35rem;margin:0 0 .5rem}
        h2{font-size:1rem;margin:1.5rem 0 .5rem}
        p,li{margin:.25rem 0}
        .muted{color:var(--muted);font-size:.9rem}
        code{font-size:.85rem;overflow-wrap:anywhere}
        ul{padding-left:1.25rem}
        fieldset{border:1px solid var(--line);border-radius:8px;margin:1rem 0;padding:.75rem 1rem}
        label{display:block;padding:.25rem 0}
        .actions{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}
        button{font:inherit;padding:.6rem 1.4rem;border-radius:8px;border:1px solid var(--accent);cursor:pointer}
        button[value=allow]{background:var(--accent);color:#fff}
        button[value=deny]{background:transparent;color:var(--accent)}
        button:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
        """;

    private static readonly string StyleHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Css)));

    private static readonly Dictionary<string, string> ScopeText = new(StringComparer.Ordinal)
    {
        ["user:profile:read"] = "See your name, email address and the businesses you belong to",
        ["user:clients:read"] = "See your clients",
        ["user:clients:write"] = "Create and change your clients",
        ["user:invoices:read"] = "See your invoices",
        ["user:invoices:write"] = "Create and change your invoices",
        ["user:expenses:read"] = "See your expenses",
        ["user:expenses:write"] = "Create and change your expenses",
        ["user:projects:read"] = "See your projects",
        ["user:time_entries:read"] = "See your time entries",
    };

    /// <summary>The page's Content-Security-Policy; the form may go to the emulator and on to the redirect URI's origin.</summary>
    public static string ContentSecurityPolicy(string? redirectOrigin) =>
        $"default-src 'none'; style-src 'sha256-{StyleHash}'; form-action 'self'{(string.IsNullOrEmpty(redirectOrigin) ? "" : " " + redirectOrigin)}; frame-ancestors 'none'; base-uri 'none'";

    public static string Consent(string appName, AuthorizeRequest request, IReadOnlyList<EmulatedUser> users, EmulatedUser signedIn, string nonce)
    {
        var h = HtmlEncoder.Default;
        var html = new StringBuilder();
        html.Append(Head($"Allow {appName} to access FreshBooks?"));
        html.Append("<main>\n<p class=\"brand\">FreshBooks <span>emulator</span></p>\n");
        html.Append($"<h1>Allow <strong>{h.Encode(appName)}</strong> to access your FreshBooks account?</h1>\n");
        html.Append($"<p class=\"muted\">Client ID <code>{h.Encode(request.ClientId)}</code></p>\n");
        html.Append("<h2 id=\"scopes\">It will be able to</h2>\n<ul aria-labelledby=\"scopes\">\n");
        foreach (var scope in request.Scope.Split(' '))
        {
            var text = ScopeText.GetValueOrDefault(scope, "Use this part of your account");
            html.Append($"<li>{h.Encode(text)} <span class=\"muted\">(<code>{h.Encode(scope)}</code>)</span></li>\n");
        }

        html.Append("</ul>\n<form method=\"post\" action=\"/oauth/authorize/\">\n");
        foreach (var (name, value) in request.FormFields())
        {
            html.Append($"<input type=\"hidden\" name=\"{name}\" value=\"{h.Encode(value)}\">\n");
        }

        html.Append($"<input type=\"hidden\" name=\"consent_nonce\" value=\"{nonce}\">\n");
        if (users.Count == 1)
        {
            html.Append($"<p>Signed in as <strong>{h.Encode(FullName(signedIn))}</strong> ({h.Encode(signedIn.Email)})</p>\n");
            html.Append($"<input type=\"hidden\" name=\"user_id\" value=\"{signedIn.Id}\">\n");
        }
        else
        {
            html.Append("<fieldset>\n<legend>Signed in as</legend>\n");
            foreach (var user in users)
            {
                var id = $"user-{user.Id}";
                html.Append($"<label for=\"{id}\"><input type=\"radio\" id=\"{id}\" name=\"user_id\" value=\"{user.Id}\"{(user == signedIn ? " checked" : "")}> {h.Encode(FullName(user))} ({h.Encode(user.Email)})</label>\n");
            }

            html.Append("</fieldset>\n");
        }

        html.Append($"<p class=\"muted\">You will be sent back to <code>{h.Encode(request.RedirectUri)}</code></p>\n");
        html.Append("<div class=\"actions\">\n<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n</div>\n");
        html.Append("</form>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    public static string Error(string error, string description)
    {
        var h = HtmlEncoder.Default;
        return Head("FreshBooks authorization error")
            + "<main>\n<p class=\"brand\">FreshBooks <span>emulator</span></p>\n"
            + "<h1>This authorization request can't be completed</h1>\n"
            + $"<p>{h.Encode(description)}</p>\n"
            + $"<p class=\"muted\">Error: <code>{h.Encode(error)}</code></p>\n"
            + "</main>\n</body>\n</html>\n";
    }

    private static string Head(string title) =>
        $"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{HtmlEncoder.Default.Encode(title)}</title>\n<style>{Css}</style>\n</head>\n<body>\n";

    private static string FullName(EmulatedUser user) => $"{user.FirstName} {user.LastName}";
}
