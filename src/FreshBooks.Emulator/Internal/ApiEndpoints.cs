using System.Net.Http.Headers;

namespace FreshBooks.Emulator.Internal;

/// <summary>The bearer-token APIs: <c>users/me</c> and the accounting clients list.</summary>
internal static class ApiEndpoints
{
    public static Task MeAsync(HttpContext context, EmulatorCore core)
    {
        if (!TryAuthenticate(context, core, EndpointKind.UsersMe, "user:profile:read", out var user, out var refusal))
        {
            return refusal;
        }

        var memberships = user.Businesses
            .Select(b => new Membership(b.MembershipId, b.Role, new Business(b.BusinessId, b.BusinessUuid, b.Name, b.AccountId)))
            .ToList();
        var roles = user.Businesses
            .Select(b => new RoleEntry(b.MembershipId, b.Role == "owner" ? "admin" : b.Role, b.BusinessId, user.Id, b.AccountId))
            .ToList();
        var me = new Me(user.Id, user.IdentityUuid, user.FirstName, user.LastName, user.Email, memberships, roles);
        return Answers.JsonAsync(context, StatusCodes.Status200OK, new Envelope<Me>(me));
    }

    public static Task ClientsAsync(HttpContext context, EmulatorCore core, string accountId)
    {
        if (!TryAuthenticate(context, core, EndpointKind.Clients, "user:clients:read", out var user, out var refusal))
        {
            return refusal;
        }

        var business = user.Businesses.FirstOrDefault(b => string.Equals(b.AccountId, accountId, StringComparison.Ordinal));
        if (business is null)
        {
            core.Log.Misuse(MisuseKind.Forbidden, EndpointKind.Clients, $"User {user.Id} has no business with account id '{accountId}'.");
            return Answers.ErrorAsync(context, StatusCodes.Status403Forbidden, "forbidden", "The token's user has no access to this account.");
        }

        var clients = FixedClients(business);
        return Answers.JsonAsync(context, StatusCodes.Status200OK,
            new Envelope<ClientsResult>(new ClientsResult(new ClientPage(clients, 1, 1, 15, clients.Count))));
    }

    private static bool TryAuthenticate(HttpContext context, EmulatorCore core, EndpointKind endpoint, string scope, out EmulatedUser user, out Task refusal)
    {
        var outcome = core.OAuth.AuthenticateBearer(BearerToken(context.Request), endpoint);
        user = outcome.User!;
        refusal = Task.CompletedTask;
        if (outcome.Problem is { } problem)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"FreshBooks\", error=\"invalid_token\"";
            refusal = Answers.ErrorAsync(context, StatusCodes.Status401Unauthorized, "unauthenticated", $"This action requires authentication to continue: {problem}.");
            return false;
        }

        if (!outcome.Scope!.Split(' ').Contains(scope, StringComparer.Ordinal))
        {
            core.Log.Misuse(MisuseKind.Forbidden, endpoint, $"The token lacks the scope {scope}.");
            refusal = Answers.ErrorAsync(context, StatusCodes.Status403Forbidden, "insufficient_scope", $"This action requires the scope {scope}.");
            return false;
        }

        return true;
    }

    private static string? BearerToken(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
        && string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrWhiteSpace(header.Parameter)
            ? header.Parameter.Trim()
            : null;

    private static List<Client> FixedClients(EmulatedBusiness business) =>
    [
        new(501, business.AccountId, "grace@example.com", "Grace", "Hopper", "Compiler Works Inc.", "USD", 0, 801),
        new(502, business.AccountId, "alan@example.com", "Alan", "Turing", "Bletchley Consulting", "GBP", 0, 802),
        new(503, business.AccountId, "katherine@example.com", "Katherine", "Johnson", "Orbital Mechanics LLC", "USD", 0, 803),
    ];

    private sealed record Envelope<T>(T Response);

    private sealed record Me(long Id, string IdentityUuid, string FirstName, string LastName, string Email, IReadOnlyList<Membership> BusinessMemberships, IReadOnlyList<RoleEntry> Roles);

    private sealed record Membership(long Id, string Role, Business Business);

    private sealed record Business(long Id, string BusinessUuid, string Name, string AccountId);

    private sealed record RoleEntry(long Id, string Role, long Systemid, long Userid, string Accountid);

    private sealed record ClientsResult(ClientPage Result);

    private sealed record ClientPage(IReadOnlyList<Client> Clients, int Page, int Pages, int PerPage, int Total);

    private sealed record Client(long Id, string AccountingSystemid, string Email, string Fname, string Lname, string Organization, string CurrencyCode, int VisState, long Userid);
}
