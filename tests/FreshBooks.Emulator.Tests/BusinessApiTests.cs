using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

/// <summary>
/// users/me in full, the accounting clients and invoices, projects and time entries: shapes as FreshBooks
/// sends them, scoped by account or business, with FreshBooks' paging and error bodies.
/// Tests that create clients start an emulator of their own, so the shared one keeps its seeded books.
/// </summary>
[Collection(BooksCollection.Name)]
public sealed class BusinessApiTests
{
    private const string Everything = BooksFixture.AllScopes;
    private static readonly EmulatedUser Charles = EmulatedUser.MultiBusiness;
    private static readonly EmulatedUser Ada = EmulatedUser.Default;

    private readonly EmulatorHarness _harness;

    public BusinessApiTests(BooksFixture fixture)
    {
        _harness = fixture.Harness;
        _harness.Reset();
    }

    private TestClient Client => _harness.Client;

    private FreshBooksEmulator Emulator => _harness.Emulator;

    [Fact]
    public async Task Users_me_has_the_full_shape_with_FreshBooks_nulls_and_a_business_without_accounting()
    {
        var pair = await Client.ConnectAsync(Everything, Charles.Id);

        using var response = await Client.MeAsync(pair.AccessToken);
        using var body = await JsonAsync(response, HttpStatusCode.OK);

        var me = body.RootElement.GetProperty("response");
        Assert.Equal(Charles.Id, me.GetProperty("id").GetInt64());
        Assert.Equal(Charles.Id, me.GetProperty("identity_id").GetInt64());
        Assert.Equal("Charles", me.GetProperty("first_name").GetString());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("unconfirmed_email").ValueKind);
        Assert.Equal("2019-06-05T15:42:54Z", me.GetProperty("created_at").GetString());
        Assert.Equal(JsonValueKind.Null, Assert.Single(me.GetProperty("addresses").EnumerateArray()).ValueKind);
        Assert.Equal("", Assert.Single(me.GetProperty("phone_numbers").EnumerateArray()).GetProperty("title").GetString());
        Assert.Equal(JsonValueKind.Object, me.GetProperty("profession").ValueKind);
        Assert.Equal($"/service/auth/api/v1/users?id={Charles.Id}", me.GetProperty("links").GetProperty("me").GetString());

        var memberships = me.GetProperty("business_memberships").EnumerateArray().ToList();
        Assert.Equal(["owner", "business_accountant", "business_manager"], memberships.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(Charles.Businesses.Select(b => b.MembershipId), memberships.Select(m => m.GetProperty("id").GetInt64()));
        var businesses = memberships.Select(m => m.GetProperty("business")).ToList();
        Assert.Equal(["DEW101", "AEL001", null], businesses.Select(b => b.GetProperty("account_id").GetString()));
        Assert.Equal(JsonValueKind.Null, businesses[2].GetProperty("account_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, businesses[2].GetProperty("address").ValueKind);
        Assert.Equal(JsonValueKind.Null, businesses[0].GetProperty("phone_number").ValueKind);
        Assert.Equal(JsonValueKind.Null, businesses[0].GetProperty("address").GetProperty("street").ValueKind);
        Assert.Equal("+44 20 7946 0018", businesses[1].GetProperty("phone_number").GetProperty("phone_number").GetString());
        Assert.All(businesses, b => Assert.Equal(JsonValueKind.Array, b.GetProperty("business_clients").ValueKind));
        Assert.All(businesses, b => Assert.Equal("mm/dd/yyyy", b.GetProperty("date_format").GetString()));

        // Roles are the accounting systems' user records: none for the business without accounting.
        var roles = me.GetProperty("roles").EnumerateArray().ToList();
        Assert.Equal(["DEW101", "AEL001"], roles.Select(r => r.GetProperty("accountid").GetString()));
        Assert.Equal(["admin", "business_accountant"], roles.Select(r => r.GetProperty("role").GetString()));
        Assert.All(roles, r => Assert.Equal("2019-06-05T15:42:54Z", r.GetProperty("created_at").GetString()));
        Assert.Equal(3, me.GetProperty("groups").GetArrayLength());
        Assert.Equal(["DEW101", "AEL001"], me.GetProperty("permissions").EnumerateObject().Select(p => p.Name));
        Assert.Equal("active", me.GetProperty("subscription_statuses").GetProperty("AEL001").GetString());
    }

    [Fact]
    public async Task Users_me_of_a_user_without_a_phone_number_answers_a_null_number()
    {
        var pair = await Client.ConnectAsync(Everything, Ada.Id);

        using var response = await Client.MeAsync(pair.AccessToken);
        using var body = await JsonAsync(response, HttpStatusCode.OK);

        var me = body.RootElement.GetProperty("response");
        Assert.Equal(JsonValueKind.Null, me.GetProperty("phone_numbers")[0].GetProperty("phone_number").ValueKind);
        var business = Assert.Single(me.GetProperty("business_memberships").EnumerateArray()).GetProperty("business");
        Assert.Equal("London", business.GetProperty("address").GetProperty("city").GetString());
    }

    [Fact]
    public async Task Clients_list_pages_with_page_and_per_page_like_FreshBooks()
    {
        var token = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;

        using var all = await ClientsResultAsync(token, "DEW101", "");
        using var second = await ClientsResultAsync(token, "DEW101", "?page=2&per_page=2");
        using var beyond = await ClientsResultAsync(token, "DEW101", "?page=5&per_page=2");
        using var capped = await ClientsResultAsync(token, "DEW101", "?per_page=500");

        AssertPage(all.RootElement, page: 1, pages: 1, perPage: 15, total: 3, count: 3);
        AssertPage(second.RootElement, page: 2, pages: 2, perPage: 2, total: 3, count: 1);
        AssertPage(beyond.RootElement, page: 5, pages: 2, perPage: 2, total: 3, count: 0);
        AssertPage(capped.RootElement, page: 1, pages: 1, perPage: 100, total: 3, count: 3);
        Assert.Equal(
            all.RootElement.GetProperty("clients")[2].GetProperty("id").GetInt64(),
            second.RootElement.GetProperty("clients")[0].GetProperty("id").GetInt64());
        var client = all.RootElement.GetProperty("clients")[0];
        Assert.Equal("DEW101", client.GetProperty("accounting_systemid").GetString());
        Assert.Equal(client.GetProperty("id").GetInt64(), client.GetProperty("userid").GetInt64());
        Assert.Equal(JsonValueKind.Null, client.GetProperty("vat_name").ValueKind);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", client.GetProperty("signup_date").GetString());
        Assert.Equal(0, client.GetProperty("vis_state").GetInt32());
    }

    [Theory]
    [InlineData("?page=0", 1014, "page")]
    [InlineData("?page=two", 1014, "page")]
    [InlineData("?per_page=-5", 1013, "per_page")]
    public async Task Clients_list_refuses_a_bad_page_in_the_accounting_error_shape(string query, int errno, string field)
    {
        var token = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;

        using var response = await Client.ApiAsync(HttpMethod.Get, $"accounting/account/DEW101/users/clients{query}", token);

        var error = await AccountingErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal((errno, field), (error.GetProperty("errno").GetInt32(), error.GetProperty("field").GetString()));
    }

    [Fact]
    public async Task Client_by_id_is_answered_or_404_in_the_accounting_error_shape()
    {
        var token = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        using var list = await ClientsResultAsync(token, "DEW101", "");
        var listed = list.RootElement.GetProperty("clients")[1];
        var id = listed.GetProperty("id").GetInt64();

        using var found = await Client.ApiAsync(HttpMethod.Get, $"accounting/account/DEW101/users/clients/{id}", token);
        using var unknown = await Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/users/clients/999999", token);
        using var otherAccount = await Client.ApiAsync(HttpMethod.Get, $"accounting/account/AEL001/users/clients/{id}", token);

        using var body = await JsonAsync(found, HttpStatusCode.OK);
        var client = body.RootElement.GetProperty("response").GetProperty("result").GetProperty("client");
        Assert.Equal(listed.GetRawText(), client.GetRawText());
        var error = await AccountingErrorAsync(unknown, HttpStatusCode.NotFound);
        Assert.Equal(1012, error.GetProperty("errno").GetInt32());
        Assert.Equal("userid", error.GetProperty("field").GetString());
        Assert.Equal("Client not found.", error.GetProperty("message").GetString());
        Assert.Equal("client", error.GetProperty("object").GetString());
        Assert.Equal("999999", error.GetProperty("value").GetString());
        Assert.Equal(1012, (await AccountingErrorAsync(otherAccount, HttpStatusCode.NotFound)).GetProperty("errno").GetInt32());
        Assert.Empty(Emulator.Misuses);
        Assert.Equal(
            [(EndpointKind.ClientById, 200, null), (EndpointKind.ClientById, 404, "UnknownResource"), (EndpointKind.ClientById, 404, "UnknownResource")],
            Emulator.Calls.Where(c => c.Endpoint == EndpointKind.ClientById).Select(c => (c.Endpoint, c.StatusCode, c.Error)).ToList<(EndpointKind, int, string?)>());
    }

    [Fact]
    public async Task Created_client_is_answered_listed_and_kept_per_account()
    {
        await using var own = await BooksFixture.StartAsync();
        var token = (await own.Client.ConnectAsync(Everything, Charles.Id)).AccessToken;

        using var created = await own.Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/users/clients", token, new
        {
            client = new { fname = "Mary", lname = "Somerville", organization = "Mechanism Ltd.", email = "mary@example.com", currency_code = "GBP", p_city = "Oxford", pref_gmail = true, unknown_field = 7 },
        });

        using var body = await JsonAsync(created, HttpStatusCode.OK);
        var client = body.RootElement.GetProperty("response").GetProperty("result").GetProperty("client");
        var id = client.GetProperty("id").GetInt64();
        Assert.Equal(id, client.GetProperty("userid").GetInt64());
        Assert.Equal(("Mary", "Somerville", "Mechanism Ltd.", "mary@example.com", "GBP", "Oxford"),
            (client.GetProperty("fname").GetString(), client.GetProperty("lname").GetString(), client.GetProperty("organization").GetString(),
             client.GetProperty("email").GetString(), client.GetProperty("currency_code").GetString(), client.GetProperty("p_city").GetString()));
        Assert.True(client.GetProperty("pref_gmail").GetBoolean());
        Assert.Equal("DEW101", client.GetProperty("accounting_systemid").GetString());
        Assert.False(client.TryGetProperty("unknown_field", out _));
        Assert.Equal(own.Emulator.Clock.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), client.GetProperty("signup_date").GetString());

        using var fetched = await own.Client.ApiAsync(HttpMethod.Get, $"accounting/account/DEW101/users/clients/{id}", token);
        using var fetchedBody = await JsonAsync(fetched, HttpStatusCode.OK);
        Assert.Equal(client.GetRawText(), fetchedBody.RootElement.GetProperty("response").GetProperty("result").GetProperty("client").GetRawText());
        using var here = await ClientsResultAsync(token, "DEW101", "", own.Client);
        using var elsewhere = await ClientsResultAsync(token, "AEL001", "", own.Client);
        Assert.Equal(4, here.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(id, here.RootElement.GetProperty("clients")[3].GetProperty("id").GetInt64());
        Assert.Equal(3, elsewhere.RootElement.GetProperty("total").GetInt32());
        Assert.DoesNotContain(elsewhere.RootElement.GetProperty("clients").EnumerateArray(), c => c.GetProperty("id").GetInt64() == id);
        Assert.Empty(own.Emulator.Misuses);
    }

    [Fact]
    public async Task Created_invoice_sums_its_lines_for_a_client_of_the_account_and_is_fetched_by_id()
    {
        await using var own = await BooksFixture.StartAsync();
        var token = (await own.Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        using var clients = await ClientsResultAsync(token, "DEW101", "", own.Client);
        var customer = clients.RootElement.GetProperty("clients")[0].GetProperty("id").GetInt64();

        using var created = await own.Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/invoices/invoices", token, new
        {
            invoice = new { customerid = customer, create_date = "2026-11-30", notes = "Gears", lines = new object[] { new { qty = 3, unit_cost = new { amount = "12.50" } }, new { qty = "1", unit_cost = new { amount = 4 } } } },
        });
        using var body = await JsonAsync(created, HttpStatusCode.OK);
        var invoice = body.RootElement.GetProperty("response").GetProperty("result").GetProperty("invoice");
        Assert.Equal(("41.50", "2026-11-30", "Gears", customer), (invoice.GetProperty("amount").GetProperty("amount").GetString(), invoice.GetProperty("create_date").GetString(), invoice.GetProperty("notes").GetString(), invoice.GetProperty("customerid").GetInt64()));

        using var fetched = await own.Client.ApiAsync(HttpMethod.Get, $"accounting/account/DEW101/invoices/invoices/{invoice.GetProperty("id").GetInt64()}", token);
        using var fetchedBody = await JsonAsync(fetched, HttpStatusCode.OK);
        Assert.Equal(invoice.GetRawText(), fetchedBody.RootElement.GetProperty("response").GetProperty("result").GetProperty("invoice").GetRawText());

        // A customer of another account, or none: refused in the accounting error shape, nothing created.
        using var foreign = await own.Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/invoices/invoices", token, new { invoice = new { customerid = 999999 } });
        using var missing = await own.Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/invoices/invoices", token, new { invoice = new { notes = "x" } });
        using var unknown = await own.Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/invoices/invoices/999999", token);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(3, own.Emulator.Calls.Count(c => c.Endpoint is EndpointKind.Invoices or EndpointKind.InvoiceById && c.StatusCode != 200));
        Assert.Empty(own.Emulator.Misuses);
    }

    public static TheoryData<string, HttpStatusCode, int, string?> InvalidClients => new()
    {
        { """{"client":{}}""", HttpStatusCode.UnprocessableEntity, 1001, "organization" },
        { """{"client":{"fname":"  "}}""", HttpStatusCode.UnprocessableEntity, 1001, "organization" },
        { """{"client":{"email":"not-an-email"}}""", HttpStatusCode.UnprocessableEntity, 1004, "email" },
        { """{"client":{"fname":42}}""", HttpStatusCode.UnprocessableEntity, 1004, "fname" },
        { """{"client":{"organization":"X","currency_code":"pounds"}}""", HttpStatusCode.UnprocessableEntity, 1004, "currency_code" },
        { """{"client":{"organization":"X","pref_email":"yes"}}""", HttpStatusCode.UnprocessableEntity, 1004, "pref_email" },
        { """{"organization":"X"}""", HttpStatusCode.BadRequest, 1005, null },
        { """{"client":""", HttpStatusCode.BadRequest, 1005, null },
    };

    [Theory]
    [MemberData(nameof(InvalidClients))]
    public async Task Invalid_client_is_refused_in_the_accounting_error_shape_and_nothing_is_created(string json, HttpStatusCode status, int errno, string? field)
    {
        await using var own = await BooksFixture.StartAsync();
        var token = (await own.Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        using var request = new HttpRequestMessage(HttpMethod.Post, "accounting/account/DEW101/users/clients")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", token);

        using var response = await own.Http.SendAsync(request);

        var error = await AccountingErrorAsync(response, status);
        Assert.Equal(errno, error.GetProperty("errno").GetInt32());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        using var list = await ClientsResultAsync(token, "DEW101", "", own.Client);
        Assert.Equal(3, list.RootElement.GetProperty("total").GetInt32());
        Assert.Empty(own.Emulator.Misuses);
    }

    [Fact]
    public async Task Creating_a_client_needs_the_clients_write_scope()
    {
        var token = (await Client.ConnectAsync("user:profile:read user:clients:read", Charles.Id)).AccessToken;

        using var response = await Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/users/clients", token, new { client = new { organization = "Nope" } });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("insufficient_scope", await TestClient.ErrorAsync(response));
        using var list = await ClientsResultAsync(token, "DEW101", "");
        Assert.Equal(3, list.RootElement.GetProperty("total").GetInt32());
        Assert.Equal([MisuseKind.Forbidden], Emulator.Misuses.Select(m => m.Kind));
    }

    [Fact]
    public async Task Invoices_list_is_paged_and_needs_the_invoices_scope()
    {
        var token = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        var withoutScope = (await Client.ConnectAsync("user:profile:read user:clients:read", Charles.Id)).AccessToken;

        using var response = await Client.ApiAsync(HttpMethod.Get, "accounting/account/AEL001/invoices/invoices?per_page=1", token);
        using var refused = await Client.ApiAsync(HttpMethod.Get, "accounting/account/AEL001/invoices/invoices", withoutScope);
        using var clients = await ClientsResultAsync(token, "AEL001", "");

        using var body = await JsonAsync(response, HttpStatusCode.OK);
        var result = body.RootElement.GetProperty("response").GetProperty("result");
        AssertPage(result, page: 1, pages: 2, perPage: 1, total: 2, count: null);
        var invoice = Assert.Single(result.GetProperty("invoices").EnumerateArray());
        Assert.Equal("AEL001", invoice.GetProperty("accountid").GetString());
        Assert.Equal("0000001", invoice.GetProperty("invoice_number").GetString());
        Assert.Equal(invoice.GetProperty("id").GetInt64(), invoice.GetProperty("invoiceid").GetInt64());
        Assert.Equal(JsonValueKind.String, invoice.GetProperty("amount").GetProperty("amount").ValueKind);
        Assert.Contains(clients.RootElement.GetProperty("clients").EnumerateArray(), c => c.GetProperty("id").GetInt64() == invoice.GetProperty("customerid").GetInt64());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("insufficient_scope", await TestClient.ErrorAsync(refused));
    }

    [Fact]
    public async Task Accounting_for_an_account_the_user_has_no_business_with_is_403_access_denied()
    {
        var ada = (await Client.ConnectAsync(Everything, Ada.Id)).AccessToken;

        using var clients = await Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/users/clients", ada);
        using var create = await Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/users/clients", ada, new { client = new { organization = "Sneaky" } });
        using var invoices = await Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/invoices/invoices", ada);

        foreach (var response in new[] { clients, create, invoices })
        {
            var error = await AccountingErrorAsync(response, HttpStatusCode.Forbidden);
            Assert.Equal(1003, error.GetProperty("errno").GetInt32());
            Assert.Equal("DEW101", error.GetProperty("value").GetString());
        }

        Assert.Equal([MisuseKind.Forbidden, MisuseKind.Forbidden, MisuseKind.Forbidden], Emulator.Misuses.Select(m => m.Kind));
        var charles = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        using var unchanged = await ClientsResultAsync(charles, "DEW101", "");
        Assert.Equal(3, unchanged.RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Business_without_accounting_has_projects_and_time_entries_scoped_by_business()
    {
        var charles = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        var ada = (await Client.ConnectAsync(Everything, Ada.Id)).AccessToken;
        var tours = Charles.Businesses.Single(b => !b.HasAccounting).BusinessId;

        using var projects = await Client.ApiAsync(HttpMethod.Get, $"projects/business/{tours}/projects", charles);
        using var entries = await Client.ApiAsync(HttpMethod.Get, $"timetracking/business/{tours}/time_entries?per_page=1&page=2", charles);
        using var foreign = await Client.ApiAsync(HttpMethod.Get, $"projects/business/{tours}/projects", ada);
        using var foreignEntries = await Client.ApiAsync(HttpMethod.Get, $"timetracking/business/{tours}/time_entries", ada);
        using var notANumber = await Client.ApiAsync(HttpMethod.Get, "projects/business/tours/projects", charles);

        using var projectsBody = await JsonAsync(projects, HttpStatusCode.OK);
        var meta = projectsBody.RootElement.GetProperty("meta");
        Assert.Equal((1, 1, 30, 1), (meta.GetProperty("page").GetInt32(), meta.GetProperty("pages").GetInt32(), meta.GetProperty("per_page").GetInt32(), meta.GetProperty("total").GetInt32()));
        Assert.Equal(JsonValueKind.Array, meta.GetProperty("sort").ValueKind);
        var project = Assert.Single(projectsBody.RootElement.GetProperty("projects").EnumerateArray());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", project.GetProperty("created_at").GetString());
        using var entriesBody = await JsonAsync(entries, HttpStatusCode.OK);
        var entry = Assert.Single(entriesBody.RootElement.GetProperty("time_entries").EnumerateArray());
        Assert.Equal(project.GetProperty("id").GetInt64(), entry.GetProperty("project_id").GetInt64());
        Assert.Equal(2, entriesBody.RootElement.GetProperty("meta").GetProperty("pages").GetInt32());
        foreach (var refused in new[] { foreign, foreignEntries, notANumber })
        {
            using var error = await JsonAsync(refused, HttpStatusCode.Forbidden);
            Assert.Equal(JsonValueKind.String, error.RootElement.GetProperty("error").ValueKind);
        }

        Assert.Equal(3, Emulator.Misuses.Count(m => m.Kind == MisuseKind.Forbidden));
    }

    [Fact]
    public async Task Projects_and_time_entries_need_their_scopes()
    {
        var token = (await Client.ConnectAsync("user:profile:read user:clients:read", Charles.Id)).AccessToken;

        using var projects = await Client.ApiAsync(HttpMethod.Get, $"projects/business/{Charles.Businesses[0].BusinessId}/projects", token);
        using var entries = await Client.ApiAsync(HttpMethod.Get, $"timetracking/business/{Charles.Businesses[0].BusinessId}/time_entries", token);

        Assert.Equal("insufficient_scope", await TestClient.ErrorAsync(projects));
        Assert.Equal("insufficient_scope", await TestClient.ErrorAsync(entries));
    }

    [Fact]
    public async Task Api_calls_are_recorded_by_endpoint_method_path_and_status_without_any_token()
    {
        var token = (await Client.ConnectAsync(Everything, Charles.Id)).AccessToken;
        Emulator.ResetLog();

        using (await Client.MeAsync(token)) { }
        using (await Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/users/clients?page=1", token)) { }
        using (await Client.ApiAsync(HttpMethod.Post, "accounting/account/DEW101/users/clients", token, new { client = new { } })) { }
        using (await Client.ApiAsync(HttpMethod.Get, "accounting/account/DEW101/invoices/invoices", token)) { }
        using (await Client.ApiAsync(HttpMethod.Get, "projects/business/77101/projects", token)) { }
        using (await Client.ApiAsync(HttpMethod.Get, "timetracking/business/77101/time_entries", null)) { }

        Assert.Equal(
            [
                (EndpointKind.UsersMe, "GET", "/auth/api/v1/users/me", 200, null),
                (EndpointKind.Clients, "GET", "/accounting/account/DEW101/users/clients", 200, null),
                (EndpointKind.Clients, "POST", "/accounting/account/DEW101/users/clients", 422, "RequiredField"),
                (EndpointKind.Invoices, "GET", "/accounting/account/DEW101/invoices/invoices", 200, null),
                (EndpointKind.Projects, "GET", "/projects/business/77101/projects", 200, null),
                (EndpointKind.TimeEntries, "GET", "/timetracking/business/77101/time_entries", 401, "unauthenticated"),
            ],
            Emulator.Calls.Select(c => (c.Endpoint, c.Method, c.Path, c.StatusCode, c.Error)).ToList<(EndpointKind, string, string, int, string?)>());
        var logs = await _harness.Http.GetStringAsync("_emulator/calls") + await _harness.Http.GetStringAsync("_emulator/misuses");
        Assert.DoesNotContain(token, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(token[..12], logs, StringComparison.Ordinal);
    }

    private async Task<JsonDocument> ClientsResultAsync(string token, string accountId, string query, TestClient? client = null)
    {
        using var response = await (client ?? Client).ApiAsync(HttpMethod.Get, $"accounting/account/{accountId}/users/clients{query}", token);
        var body = await JsonAsync(response, HttpStatusCode.OK);
        using (body)
        {
            return JsonDocument.Parse(body.RootElement.GetProperty("response").GetProperty("result").GetRawText());
        }
    }

    private static void AssertPage(JsonElement result, int page, int pages, int perPage, int total, int? count)
    {
        Assert.Equal((page, pages, perPage, total),
            (result.GetProperty("page").GetInt32(), result.GetProperty("pages").GetInt32(), result.GetProperty("per_page").GetInt32(), result.GetProperty("total").GetInt32()));
        if (count is { } expected)
        {
            Assert.Equal(expected, result.GetProperty("clients").GetArrayLength());
        }
    }

    private static async Task<JsonDocument> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }

    /// <summary>The one error of <c>{"response":{"errors":[{"errno","field","message","object","value"}]}}</c>.</summary>
    private static async Task<JsonElement> AccountingErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        using var body = await JsonAsync(response, status);
        var error = Assert.Single(body.RootElement.GetProperty("response").GetProperty("errors").EnumerateArray());
        Assert.Equal(["errno", "field", "message", "object", "value"], error.EnumerateObject().Select(p => p.Name));
        return error.Clone();
    }
}
