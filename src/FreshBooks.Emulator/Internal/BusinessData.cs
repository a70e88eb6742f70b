using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The books behind the emulated API, in memory: clients and invoices per accounting account, projects and
/// time entries per business. Seeded at start for every configured account and business, so ids are the
/// same on every run; clients created through the API are kept per account. One lock guards everything.
/// Records are FreshBooks-shaped <see cref="JsonObject"/>s (field names as the official SDKs read them).
/// </summary>
internal sealed class BusinessData
{
    private const string DateTimeFormat = "yyyy-MM-dd HH:mm:ss";

    private static readonly string[] TextClientFields =
    [
        "fname", "lname", "organization", "email", "currency_code", "language", "note", "username",
        "bus_phone", "home_phone", "mob_phone", "fax", "vat_name", "vat_number", "company_industry", "company_size",
        "p_street", "p_street2", "p_city", "p_province", "p_country", "p_code",
        "s_street", "s_street2", "s_city", "s_province", "s_country", "s_code",
    ];

    private static readonly string[] BooleanClientFields =
        ["allow_late_fees", "allow_late_notifications", "allow_email_include_pdf", "pref_email", "pref_gmail"];

    private readonly Lock _gate = new();
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, List<JsonObject>> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<JsonObject>> _invoices = new(StringComparer.Ordinal);
    private readonly Dictionary<long, List<JsonObject>> _projects = [];
    private readonly Dictionary<long, List<JsonObject>> _timeEntries = [];
    private long _nextClientId = 501;
    private long _nextInvoiceId = 1001;

    public BusinessData(IReadOnlyList<EmulatedUser> users, TimeProvider clock)
    {
        _clock = clock;
        var seeded = new DateTimeOffset(2024, 1, 15, 14, 30, 0, TimeSpan.Zero);
        long nextProjectId = 3001, nextEntryId = 5001;
        foreach (var (user, business) in users.SelectMany(u => u.Businesses.Select(b => (u, b))))
        {
            if (business.AccountId is { Length: > 0 } accountId && !_clients.ContainsKey(accountId))
            {
                var seeds = new List<JsonObject>
                {
                    NewClient(_nextClientId++, accountId, seeded, "Grace", "Hopper", "Compiler Works Inc.", "grace@example.com", "USD"),
                    NewClient(_nextClientId++, accountId, seeded, "Alan", "Turing", "Bletchley Consulting", "alan@example.com", "GBP"),
                    NewClient(_nextClientId++, accountId, seeded, "Katherine", "Johnson", "Orbital Mechanics LLC", "katherine@example.com", "USD"),
                };
                _clients[accountId] = seeds;
                _invoices[accountId] =
                [
                    NewInvoice(_nextInvoiceId++, accountId, seeds[0], 1, "1200.00", paid: true, seeded),
                    NewInvoice(_nextInvoiceId++, accountId, seeds[1], 2, "350.50", paid: false, seeded.AddDays(20)),
                ];
            }

            if (!_projects.ContainsKey(business.BusinessId))
            {
                var projectId = nextProjectId++;
                _projects[business.BusinessId] = [NewProject(projectId, business, seeded)];
                _timeEntries[business.BusinessId] =
                [
                    NewTimeEntry(nextEntryId++, user.Id, projectId, seeded.AddDays(1), 3600, "Design review"),
                    NewTimeEntry(nextEntryId++, user.Id, projectId, seeded.AddDays(2), 5400, "Punched-card layout"),
                ];
            }
        }
    }

    public IReadOnlyList<JsonObject> Clients(string accountId) => Snapshot(_clients, accountId);

    public JsonObject? Client(string accountId, long id)
    {
        lock (_gate)
        {
            return _clients.GetValueOrDefault(accountId)?.FirstOrDefault(c => (long?)c["id"] == id)?.DeepClone().AsObject();
        }
    }

    public IReadOnlyList<JsonObject> Invoices(string accountId) => Snapshot(_invoices, accountId);

    public JsonObject? Invoice(string accountId, long id)
    {
        lock (_gate)
        {
            return _invoices.GetValueOrDefault(accountId)?.FirstOrDefault(i => (long?)i["id"] == id)?.DeepClone().AsObject();
        }
    }

    public IReadOnlyList<JsonObject> Projects(long businessId) => Snapshot(_projects, businessId);

    public IReadOnlyList<JsonObject> TimeEntries(long businessId) => Snapshot(_timeEntries, businessId);

    /// <summary>
    /// Creates a client from the <c>client</c> object of a create request, or says what FreshBooks would
    /// refuse (field, message, value). Unknown fields are ignored, as FreshBooks does.
    /// </summary>
    public (JsonObject? Created, AccountingProblem? Problem) CreateClient(string accountId, JsonElement client)
    {
        var now = _clock.GetUtcNow();
        var created = NewClient(0, accountId, now, null, null, null, null, "USD");
        foreach (var field in TextClientFields)
        {
            if (!client.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return (null, AccountingProblem.InvalidValue(field, $"{field} must be a string.", value.GetRawText()));
            }

            created[field] = value.GetString();
        }

        foreach (var field in BooleanClientFields)
        {
            if (client.TryGetProperty(field, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                created[field] = value.GetBoolean();
            }
            else if (client.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null)
            {
                return (null, AccountingProblem.InvalidValue(field, $"{field} must be true or false.", value.GetRawText()));
            }
        }

        if (new[] { "fname", "lname", "organization", "email" }.All(f => string.IsNullOrWhiteSpace((string?)created[f])))
        {
            return (null, AccountingProblem.RequiredField("organization", "A client needs an organization, a first or last name, or an email address."));
        }

        if ((string?)created["email"] is { } email && !LooksLikeEmail(email))
        {
            return (null, AccountingProblem.InvalidValue("email", "Email is not a valid email address.", email));
        }

        if ((string?)created["currency_code"] is not { Length: 3 } currency || !currency.All(char.IsAsciiLetterUpper))
        {
            return (null, AccountingProblem.InvalidValue("currency_code", "currency_code must be a three-letter ISO 4217 code.", (string?)created["currency_code"]));
        }

        lock (_gate)
        {
            var id = _nextClientId++;
            created["id"] = id;
            created["userid"] = id;
            created["uuid"] = DeterministicUuid("client", id);
            if (!_clients.TryGetValue(accountId, out var list))
            {
                _clients[accountId] = list = [];
            }

            list.Add(created);
            return (created.DeepClone().AsObject(), null);
        }
    }

    /// <summary>
    /// Creates an invoice from the <c>invoice</c> object of a create request: <c>customerid</c> (a client of the account) is
    /// required; the amount is the sum of <c>lines[].qty</c> × <c>lines[].unit_cost.amount</c> (numbers or numeric strings);
    /// <c>create_date</c> (<c>yyyy-MM-dd</c>), <c>notes</c> and <c>po_number</c> are taken. Other fields are ignored.
    /// </summary>
    public (JsonObject? Created, AccountingProblem? Problem) CreateInvoice(string accountId, JsonElement invoice)
    {
        if (!invoice.TryGetProperty("customerid", out var customer) || !customer.TryGetInt64(out var customerId))
        {
            return (null, AccountingProblem.RequiredField("customerid", "An invoice needs the customerid of one of the account's clients.") with { Object = "invoice" });
        }

        if (Client(accountId, customerId) is not { } client)
        {
            return (null, AccountingProblem.UnknownResource("customerid", "Client not found.", "invoice", customer.GetRawText()));
        }

        var created = _clock.GetUtcNow();
        if (invoice.TryGetProperty("create_date", out var date) && date.ValueKind == JsonValueKind.String)
        {
            if (!DateTime.TryParseExact(date.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return (null, AccountingProblem.InvalidValue("create_date", "create_date must be a date (yyyy-MM-dd).", date.GetString()) with { Object = "invoice" });
            }

            created = new DateTimeOffset(parsed, TimeSpan.Zero);
        }

        var total = 0m;
        if (invoice.TryGetProperty("lines", out var lines) && lines.ValueKind == JsonValueKind.Array)
        {
            foreach (var line in lines.EnumerateArray())
            {
                if (!TryDecimal(line, "qty", out var quantity, 1m) || !line.TryGetProperty("unit_cost", out var cost) || !TryDecimal(cost, "amount", out var unit, 0m))
                {
                    return (null, AccountingProblem.InvalidValue("lines", "Each line needs a numeric qty and unit_cost.amount.", line.GetRawText()) with { Object = "invoice" });
                }

                total += quantity * unit;
            }
        }

        lock (_gate)
        {
            var id = _nextInvoiceId++;
            var list = _invoices.TryGetValue(accountId, out var existing) ? existing : _invoices[accountId] = [];
            var made = NewInvoice(id, accountId, client, list.Count + 1, total.ToString("0.00", CultureInfo.InvariantCulture), paid: false, created);
            foreach (var field in new[] { "notes", "po_number" })
            {
                if (invoice.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    made[field] = value.GetString();
                }
            }

            list.Add(made);
            return (made.DeepClone().AsObject(), null);
        }
    }

    private static bool TryDecimal(JsonElement parent, string name, out decimal value, decimal absent)
    {
        value = absent;
        if (!parent.TryGetProperty(name, out var element))
        {
            return true;
        }

        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetDecimal(out value),
            JsonValueKind.String => decimal.TryParse(element.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    private IReadOnlyList<JsonObject> Snapshot<TKey>(Dictionary<TKey, List<JsonObject>> store, TKey key)
        where TKey : notnull
    {
        lock (_gate)
        {
            return store.TryGetValue(key, out var list) ? list.Select(o => o.DeepClone().AsObject()).ToList() : [];
        }
    }

    private static bool LooksLikeEmail(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == email.LastIndexOf('@') && email.IndexOf('.', at) > at + 1 && !email.EndsWith('.') && !email.Any(char.IsWhiteSpace);
    }

    private static string Date(DateTimeOffset time) => time.UtcDateTime.ToString(DateTimeFormat, CultureInfo.InvariantCulture);

    private static JsonObject Money(string amount, string code) => new() { ["amount"] = amount, ["code"] = code };

    private static JsonObject NewClient(long id, string accountId, DateTimeOffset signup, string? first, string? last, string? organization, string? email, string currency) => new()
    {
        ["id"] = id,
        ["userid"] = id,
        ["accounting_systemid"] = accountId,
        ["fname"] = first,
        ["lname"] = last,
        ["organization"] = organization,
        ["email"] = email,
        ["currency_code"] = currency,
        ["language"] = "en",
        ["note"] = null,
        ["username"] = null,
        ["bus_phone"] = "",
        ["home_phone"] = null,
        ["mob_phone"] = "",
        ["fax"] = "",
        ["vat_name"] = null,
        ["vat_number"] = null,
        ["company_industry"] = null,
        ["company_size"] = null,
        ["p_street"] = "",
        ["p_street2"] = "",
        ["p_city"] = "",
        ["p_province"] = "",
        ["p_country"] = "",
        ["p_code"] = "",
        ["s_street"] = "",
        ["s_street2"] = "",
        ["s_city"] = "",
        ["s_province"] = "",
        ["s_country"] = "",
        ["s_code"] = "",
        ["allow_late_fees"] = true,
        ["allow_late_notifications"] = true,
        ["allow_email_include_pdf"] = false,
        ["pref_email"] = true,
        ["pref_gmail"] = false,
        ["direct_link_token"] = null,
        ["statement_token"] = null,
        ["subdomain"] = null,
        ["has_retainer"] = null,
        ["retainer_id"] = null,
        ["last_activity"] = null,
        ["last_login"] = null,
        ["num_logins"] = 0,
        ["level"] = 0,
        ["notified"] = false,
        ["role"] = "client",
        ["signup_date"] = Date(signup),
        ["updated"] = Date(signup),
        ["uuid"] = DeterministicUuid("client", id),
        ["grand_total_balance"] = new JsonArray(),
        ["outstanding_balance"] = new JsonArray(),
        ["vis_state"] = 0,
    };

    private static JsonObject NewInvoice(long id, string accountId, JsonObject client, int number, string amount, bool paid, DateTimeOffset created)
    {
        var currency = (string)client["currency_code"]!;
        return new JsonObject
        {
            ["id"] = id,
            ["invoiceid"] = id,
            ["accountid"] = accountId,
            ["accounting_systemid"] = accountId,
            ["invoice_number"] = number.ToString("D7", CultureInfo.InvariantCulture),
            ["customerid"] = (long)client["id"]!,
            ["fname"] = (string?)client["fname"],
            ["lname"] = (string?)client["lname"],
            ["organization"] = (string?)client["organization"],
            ["current_organization"] = (string?)client["organization"],
            ["currency_code"] = currency,
            ["amount"] = Money(amount, currency),
            ["outstanding"] = Money(paid ? "0.00" : amount, currency),
            ["paid"] = Money(paid ? amount : "0.00", currency),
            ["discount_total"] = Money("0.00", currency),
            ["discount_value"] = "0",
            ["discount_description"] = null,
            ["create_date"] = created.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["created_at"] = Date(created),
            ["updated"] = Date(created),
            ["due_date"] = created.AddDays(30).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["due_offset_days"] = 30,
            ["date_paid"] = paid ? created.AddDays(3).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
            ["status"] = paid ? 4 : 2,
            ["v3_status"] = paid ? "paid" : "sent",
            ["display_status"] = paid ? "paid" : "sent",
            ["payment_status"] = paid ? "paid" : "unpaid",
            ["last_order_status"] = null,
            ["autobill_status"] = null,
            ["auto_bill"] = false,
            ["deposit_amount"] = null,
            ["deposit_percentage"] = null,
            ["deposit_status"] = "none",
            ["dispute_status"] = null,
            ["description"] = "",
            ["notes"] = "",
            ["terms"] = "",
            ["po_number"] = null,
            ["address"] = "",
            ["street"] = "",
            ["street2"] = "",
            ["city"] = "",
            ["province"] = "",
            ["country"] = "",
            ["code"] = "",
            ["language"] = "en",
            ["template"] = "clean-grouped",
            ["payment_details"] = "",
            ["return_uri"] = null,
            ["generation_date"] = null,
            ["fulfillment_date"] = null,
            ["estimateid"] = 0,
            ["basecampid"] = 0,
            ["ownerid"] = 1,
            ["sentid"] = 1,
            ["parent"] = 0,
            ["ext_archive"] = 0,
            ["gmail"] = false,
            ["show_attachments"] = true,
            ["vat_name"] = null,
            ["vat_number"] = "",
            ["uuid"] = DeterministicUuid("invoice", id),
            ["vis_state"] = 0,
        };
    }

    private static JsonObject NewProject(long id, EmulatedBusiness business, DateTimeOffset created) => new()
    {
        ["id"] = id,
        ["title"] = $"{business.Name}: engine trials",
        ["description"] = null,
        ["due_date"] = null,
        ["client_id"] = null,
        ["internal"] = true,
        ["budget"] = null,
        ["fixed_price"] = null,
        ["rate"] = null,
        ["billing_method"] = "project_rate",
        ["project_type"] = "hourly_rate",
        ["project_manager_id"] = null,
        ["active"] = true,
        ["complete"] = false,
        ["sample"] = false,
        ["created_at"] = created.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
        ["updated_at"] = created.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
        ["logged_duration"] = 9000,
        ["services"] = new JsonArray(),
        ["billed_amount"] = "0.00",
        ["billed_status"] = "unbilled",
        ["retainer_id"] = null,
        ["expense_markup"] = 0,
        ["group_id"] = business.BusinessId + 700_000,
    };

    private static JsonObject NewTimeEntry(long id, long identityId, long projectId, DateTimeOffset started, int seconds, string note) => new()
    {
        ["id"] = id,
        ["identity_id"] = identityId,
        ["is_logged"] = true,
        ["started_at"] = started.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["created_at"] = started.AddSeconds(seconds).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["client_id"] = null,
        ["project_id"] = projectId,
        ["pending_client"] = null,
        ["pending_project"] = null,
        ["pending_task"] = null,
        ["task_id"] = null,
        ["service_id"] = null,
        ["note"] = note,
        ["active"] = true,
        ["billable"] = true,
        ["billed"] = false,
        ["internal"] = false,
        ["retainer_id"] = null,
        ["duration"] = seconds,
        ["timer"] = null,
    };

    /// <summary>A stable UUID-shaped id, so seeded records look the same on every run.</summary>
    private static string DeterministicUuid(string kind, long id)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{kind}:{id}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }
}

/// <summary>An accounting error as FreshBooks reports it: <c>errno</c> (and its name), <c>field</c>, <c>message</c>, <c>object</c>, <c>value</c>.</summary>
internal sealed record AccountingProblem(int Status, int Errno, string Name, string? Field, string Message, string? Object, string? Value)
{
    public static AccountingProblem RequiredField(string field, string message) => new(422, 1001, nameof(RequiredField), field, message, "client", null);

    public static AccountingProblem InvalidValue(string field, string message, string? value) => new(422, 1004, nameof(InvalidValue), field, message, "client", value);

    public static AccountingProblem ParseError(string message) => new(400, 1005, nameof(ParseError), null, message, null, null);

    public static AccountingProblem AccessDenied(string accountId) => new(403, 1003, nameof(AccessDenied), "accountid", "You do not have access to perform the action requested.", "account", accountId);

    public static AccountingProblem UnknownResource(string field, string message, string obj, string value) => new(404, 1012, nameof(UnknownResource), field, message, obj, value);

    public static AccountingProblem InvalidPage(string value) => new(400, 1014, nameof(InvalidPage), "page", "The 'page' argument must be a positive integer.", null, value);

    public static AccountingProblem InvalidPerPage(string value) => new(400, 1013, nameof(InvalidPerPage), "per_page", "The 'per_page' argument must be a positive integer.", null, value);
}
