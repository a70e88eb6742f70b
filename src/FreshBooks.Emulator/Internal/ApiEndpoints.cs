using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The bearer-token APIs: <c>users/me</c>, accounting clients and invoices (list, get, create),
/// projects and time entries (list). Each goes through <see cref="ApiCall"/> (latency, faults, token, scope,
/// the user's access to the account or business) before it reads or writes <see cref="BusinessData"/>.
/// </summary>
internal static class ApiEndpoints
{
    private const int AccountingPerPage = 15;
    private const int ProjectsPerPage = 30;

    public static Task MeAsync(HttpContext context, EmulatorCore core) =>
        ApiCall.RunAsync(context, core, EndpointKind.UsersMe, "user:profile:read", ApiScope.Identity, access =>
            Answers.JsonAsync(context, StatusCodes.Status200OK, IdentityAnswer.For(access.User)));

    public static Task ListClientsAsync(HttpContext context, EmulatorCore core, string accountId) =>
        ApiCall.RunAsync(context, core, EndpointKind.Clients, "user:clients:read", ApiScope.Account(accountId), _ =>
            AccountingListAsync(context, "clients", core.Data.Clients(accountId)));

    public static Task GetClientAsync(HttpContext context, EmulatorCore core, string accountId, string clientId) =>
        ApiCall.RunAsync(context, core, EndpointKind.ClientById, "user:clients:read", ApiScope.Account(accountId), _ =>
            long.TryParse(clientId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && core.Data.Client(accountId, id) is { } client
                ? AccountingResultAsync(context, "client", client)
                : ApiCall.AccountingErrorAsync(context, AccountingProblem.UnknownResource("userid", "Client not found.", "client", clientId)));

    public static Task CreateClientAsync(HttpContext context, EmulatorCore core, string accountId) =>
        ApiCall.RunAsync(context, core, EndpointKind.Clients, "user:clients:write", ApiScope.Account(accountId), async _ =>
        {
            if (await ReadObjectAsync(context, "client") is not { } client)
            {
                await ApiCall.AccountingErrorAsync(context, AccountingProblem.ParseError("The body must be JSON of the form {\"client\": {...}}."));
                return;
            }

            var (created, problem) = core.Data.CreateClient(accountId, client);
            await (problem is not null
                ? ApiCall.AccountingErrorAsync(context, problem)
                : AccountingResultAsync(context, "client", created!));
        });

    public static Task ListInvoicesAsync(HttpContext context, EmulatorCore core, string accountId) =>
        ApiCall.RunAsync(context, core, EndpointKind.Invoices, "user:invoices:read", ApiScope.Account(accountId), _ =>
            AccountingListAsync(context, "invoices", core.Data.Invoices(accountId)));

    public static Task GetInvoiceAsync(HttpContext context, EmulatorCore core, string accountId, string invoiceId) =>
        ApiCall.RunAsync(context, core, EndpointKind.InvoiceById, "user:invoices:read", ApiScope.Account(accountId), _ =>
            long.TryParse(invoiceId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && core.Data.Invoice(accountId, id) is { } invoice
                ? AccountingResultAsync(context, "invoice", invoice)
                : ApiCall.AccountingErrorAsync(context, AccountingProblem.UnknownResource("invoiceid", "Invoice not found.", "invoice", invoiceId)));

    public static Task CreateInvoiceAsync(HttpContext context, EmulatorCore core, string accountId) =>
        ApiCall.RunAsync(context, core, EndpointKind.Invoices, "user:invoices:write", ApiScope.Account(accountId), async _ =>
        {
            if (await ReadObjectAsync(context, "invoice") is not { } invoice)
            {
                await ApiCall.AccountingErrorAsync(context, AccountingProblem.ParseError("The body must be JSON of the form {\"invoice\": {...}}."));
                return;
            }

            var (created, problem) = core.Data.CreateInvoice(accountId, invoice);
            await (problem is not null
                ? ApiCall.AccountingErrorAsync(context, problem)
                : AccountingResultAsync(context, "invoice", created!));
        });

    public static Task ListProjectsAsync(HttpContext context, EmulatorCore core, string businessId) =>
        ApiCall.RunAsync(context, core, EndpointKind.Projects, "user:projects:read", ApiScope.Business(businessId), access =>
            ProjectsListAsync(context, "projects", core.Data.Projects(access.BusinessId), withSort: true));

    public static Task ListTimeEntriesAsync(HttpContext context, EmulatorCore core, string businessId) =>
        ApiCall.RunAsync(context, core, EndpointKind.TimeEntries, "user:time_entries:read", ApiScope.Business(businessId), access =>
            ProjectsListAsync(context, "time_entries", core.Data.TimeEntries(access.BusinessId), withSort: false));

    /// <summary><c>{"response":{"result":{"clients":[…],"page","pages","per_page","total"}}}</c>, honouring <c>page</c> and <c>per_page</c>.</summary>
    private static Task AccountingListAsync(HttpContext context, string name, IReadOnlyList<JsonObject> items)
    {
        if (!TryPage(context.Request.Query, AccountingPerPage, out var page, out var perPage, out var problem))
        {
            return ApiCall.AccountingErrorAsync(context, problem!);
        }

        var result = new JsonObject { [name] = Slice(items, page, perPage) };
        AddPaging(result, items.Count, page, perPage);
        return Answers.JsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["response"] = new JsonObject { ["result"] = result } });
    }

    private static Task AccountingResultAsync(HttpContext context, string name, JsonObject item) =>
        Answers.JsonAsync(context, StatusCodes.Status200OK,
            new JsonObject { ["response"] = new JsonObject { ["result"] = new JsonObject { [name] = item } } });

    /// <summary>The projects service's own shape: <c>{"meta":{"total","per_page","page","pages"},"projects":[…]}</c>.</summary>
    private static Task ProjectsListAsync(HttpContext context, string name, IReadOnlyList<JsonObject> items, bool withSort)
    {
        if (!TryPage(context.Request.Query, ProjectsPerPage, out var page, out var perPage, out var problem))
        {
            return ApiCall.ProjectsErrorAsync(context, StatusCodes.Status400BadRequest, problem!.Message);
        }

        var meta = new JsonObject();
        if (withSort)
        {
            meta["sort"] = new JsonArray();
        }

        AddPaging(meta, items.Count, page, perPage);
        return Answers.JsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["meta"] = meta, [name] = Slice(items, page, perPage) });
    }

    /// <summary>FreshBooks caps <c>per_page</c> at 100; a page or per_page that is not a positive integer is refused.</summary>
    private static bool TryPage(IQueryCollection query, int defaultPerPage, out int page, out int perPage, out AccountingProblem? problem)
    {
        page = 1;
        perPage = defaultPerPage;
        problem = null;
        if (query["page"].ToString() is { Length: > 0 } rawPage
            && (!int.TryParse(rawPage, NumberStyles.None, CultureInfo.InvariantCulture, out page) || page < 1))
        {
            problem = AccountingProblem.InvalidPage(rawPage);
            return false;
        }

        if (query["per_page"].ToString() is { Length: > 0 } rawPerPage)
        {
            if (!int.TryParse(rawPerPage, NumberStyles.None, CultureInfo.InvariantCulture, out perPage) || perPage < 1)
            {
                problem = AccountingProblem.InvalidPerPage(rawPerPage);
                return false;
            }

            perPage = Math.Min(perPage, 100);
        }

        return true;
    }

    private static JsonArray Slice(IReadOnlyList<JsonObject> items, int page, int perPage) =>
        new([.. items.Skip((int)Math.Min((long)(page - 1) * perPage, int.MaxValue)).Take(perPage)]);

    private static void AddPaging(JsonObject target, int total, int page, int perPage)
    {
        target["page"] = page;
        target["pages"] = (total + perPage - 1) / perPage;
        target["per_page"] = perPage;
        target["total"] = total;
    }

    /// <summary>The object under <paramref name="name"/> of a JSON body, or null when the body is not that.</summary>
    private static async Task<JsonElement?> ReadObjectAsync(HttpContext context, string name)
    {
        if (!context.Request.HasJsonContentType())
        {
            return null;
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty(name, out var inner)
                   && inner.ValueKind == JsonValueKind.Object
                ? inner.Clone()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
