namespace FreshBooks.Emulator;

/// <summary>Which emulated FreshBooks endpoint a request hit.</summary>
public enum EndpointKind
{
    Other,
    Authorize,
    Token,
    Revoke,
    UsersMe,
    /// <summary><c>/accounting/account/{accountId}/users/clients</c>: list (GET) and create (POST).</summary>
    Clients,
    /// <summary><c>/accounting/account/{accountId}/users/clients/{clientId}</c>.</summary>
    ClientById,
    /// <summary><c>/accounting/account/{accountId}/invoices/invoices</c>: list (GET) and create (POST).</summary>
    Invoices,
    /// <summary><c>/accounting/account/{accountId}/invoices/invoices/{invoiceId}</c>.</summary>
    InvoiceById,
    /// <summary><c>/projects/business/{businessId}/projects</c>.</summary>
    Projects,
    /// <summary><c>/timetracking/business/{businessId}/time_entries</c>.</summary>
    TimeEntries,
}

/// <summary>
/// One request the emulator answered (admin requests under <c>/_emulator/</c> are not recorded).
/// <see cref="StatusCode"/> is 0 when the connection was dropped without an answer. Paths only: no query
/// strings, headers or bodies, so no token is ever recorded.
/// </summary>
public sealed record EmulatorCall(
    DateTimeOffset Time,
    EndpointKind Endpoint,
    string Method,
    string Path,
    string? GrantType,
    int StatusCode,
    string? Error,
    TokenFaultKind? Fault)
{
    /// <summary>The odd shape of a 200 token answer (<see cref="TokenFaultKind.OddAnswer"/>).</summary>
    public TokenAnswerShape? AnswerShape { get; init; }

    /// <summary>The API fault this call took, if any.</summary>
    public ApiFaultKind? ApiFault { get; init; }
}
