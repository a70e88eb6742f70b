namespace FreshBooks.Emulator.Internal;

/// <summary><c>GET /oauth/authorize/</c> shows consent; <c>POST /oauth/authorize/</c> is the Allow/Deny form.</summary>
internal static class AuthorizeEndpoints
{
    public static Task ShowAsync(HttpContext context, EmulatorCore core)
    {
        var check = core.Authorize.Check(RequestParameters.From(context.Request.Query));
        if (check.Request is not { } request)
        {
            return FailAsync(context, check);
        }

        var user = core.Authorize.ChooseUser(request, null);
        var nonce = core.Nonces.Issue(request);
        var page = HtmlPages.Consent(core.Options.AppName, request, core.Options.Users, user, nonce);
        return Answers.HtmlAsync(context, StatusCodes.Status200OK, page, RedirectUris.Origin(request.RedirectUri));
    }

    public static async Task DecideAsync(HttpContext context, EmulatorCore core)
    {
        var form = await RequestParameters.ReadBodyAsync(context.Request, context.RequestAborted);
        if (form is null || !context.Request.HasFormContentType)
        {
            await Answers.HtmlAsync(context, 400, HtmlPages.Error("invalid_request", "The consent form must be posted as a form."), error: "invalid_request");
            return;
        }

        var check = core.Authorize.Check(form);
        if (check.Request is not { } request)
        {
            await FailAsync(context, check);
            return;
        }

        if (!core.Nonces.TryRedeem(form["consent_nonce"], request))
        {
            core.Log.Misuse(MisuseKind.ForgedConsent, EndpointKind.Authorize, "The consent form's nonce is missing, spent, expired or for another request.");
            await Answers.HtmlAsync(context, 400, HtmlPages.Error("invalid_request", "This consent form is no longer valid. Start the connection again."), error: "invalid_request");
            return;
        }

        switch (form["decision"])
        {
            case "allow":
                var user = long.TryParse(form["user_id"], out var id) ? core.OAuth.FindUser(id) : core.Authorize.ChooseUser(request, null);
                if (user is null)
                {
                    await Answers.HtmlAsync(context, 400, HtmlPages.Error("invalid_request", "No such user."), error: "invalid_request");
                    return;
                }

                Answers.Redirect(context, core.Authorize.Allow(request, user));
                return;
            case "deny":
                Answers.Redirect(context, AuthorizeFlow.Deny(request), "access_denied");
                return;
            default:
                await Answers.HtmlAsync(context, 400, HtmlPages.Error("invalid_request", "Choose Allow or Deny."), error: "invalid_request");
                return;
        }
    }

    private static Task FailAsync(HttpContext context, AuthorizeCheck check)
    {
        if (check.ErrorRedirect is { } location)
        {
            Answers.Redirect(context, location, check.Error);
            return Task.CompletedTask;
        }

        return Answers.HtmlAsync(context, StatusCodes.Status400BadRequest, HtmlPages.Error(check.Error!, check.ErrorDescription!), error: check.Error);
    }
}
