namespace FreshBooks.Emulator;

/// <summary>
/// A FreshBooks identity as <c>users/me</c> reports it. The positional fields are what every test needs;
/// the optional ones fill the rest of the answer (FreshBooks sends <c>null</c> where they are null).
/// </summary>
public sealed record EmulatedUser(
    long Id,
    string IdentityUuid,
    string FirstName,
    string LastName,
    string Email,
    IReadOnlyList<EmulatedBusiness> Businesses)
{
    /// <summary>Ada Lovelace, ada@example.com, owner of one business "Analytical Engines Ltd." (account <c>AEL001</c>).</summary>
    public static EmulatedUser Default { get; } = new(
        Id: 1843,
        IdentityUuid: "8f3c0a52-6b7e-4d1f-9a2c-5e4b7d9c1a01",
        FirstName: "Ada",
        LastName: "Lovelace",
        Email: "ada@example.com",
        Businesses: [new EmulatedBusiness(MembershipId: 90210, BusinessId: 77001, BusinessUuid: "2b6f1c9e-0d4a-4e8b-b3f7-1a9d5c3e7f21", Name: "Analytical Engines Ltd.", AccountId: "AEL001", Role: "owner")
        {
            Address = new EmulatedAddress("12 St James's Square", "London", "Greater London", "United Kingdom", "SW1Y 4JH"),
            PhoneNumber = "+44 20 7946 0018",
        }]);

    /// <summary>
    /// Charles Babbage, a user with several businesses and roles: owner of "Difference Engine Works"
    /// (account <c>DEW101</c>), accountant of Ada's "Analytical Engines Ltd." (<c>AEL001</c>), and manager of
    /// "Babbage Lecture Tours", a business without an accounting account (<c>account_id</c> null).
    /// </summary>
    public static EmulatedUser MultiBusiness { get; } = new(
        Id: 1791,
        IdentityUuid: "5d1e7a30-9c2b-4f6e-8a1d-3b7c9e2f4a17",
        FirstName: "Charles",
        LastName: "Babbage",
        Email: "charles@example.com",
        Businesses:
        [
            new EmulatedBusiness(90301, 77101, "6e2a9f14-3b8c-4d7e-a5f0-2c9b1d8e7a33", "Difference Engine Works", "DEW101", "owner")
            {
                Address = new EmulatedAddress(null, null, null, "United Kingdom", null),
            },
            new EmulatedBusiness(90302, 77001, "2b6f1c9e-0d4a-4e8b-b3f7-1a9d5c3e7f21", "Analytical Engines Ltd.", "AEL001", "business_accountant")
            {
                Address = new EmulatedAddress("12 St James's Square", "London", "Greater London", "United Kingdom", "SW1Y 4JH"),
                PhoneNumber = "+44 20 7946 0018",
            },
            new EmulatedBusiness(90303, 77102, "0a4c8e26-7f1b-4b3d-9e5a-6d2f8c1b9e45", "Babbage Lecture Tours", AccountId: "", "business_manager"),
        ])
    {
        PhoneNumber = "+44 20 7946 0991",
    };

    /// <summary>The user's own phone number; null (the default) is answered as FreshBooks does: <c>[{"title":"","phone_number":null}]</c>.</summary>
    public string? PhoneNumber { get; init; }

    /// <summary><c>language</c> in <c>users/me</c>.</summary>
    public string Language { get; init; } = "en";

    /// <summary>When the identity was created (<c>created_at</c>, <c>confirmed_at</c> and the roles' <c>created_at</c>).</summary>
    public DateTimeOffset SignedUpAt { get; init; } = new(2019, 6, 5, 15, 42, 54, TimeSpan.Zero);
}

/// <summary>
/// One of a user's business memberships. <see cref="MembershipId"/> is not the business id;
/// accounting calls use <see cref="AccountId"/>, project and time-tracking calls <see cref="BusinessId"/>.
/// An empty <see cref="AccountId"/> (the default) is a business without an accounting account: FreshBooks
/// answers <c>"account_id": null</c>, lists no role for it, and its accounting API is out of reach.
/// (Empty rather than null keeps <see cref="AccountId"/> a non-null string for existing callers.)
/// </summary>
public sealed record EmulatedBusiness(long MembershipId, long BusinessId, string BusinessUuid, string Name, string AccountId = "", string Role = "owner")
{
    /// <summary>The business address; null is answered as <c>"address": null</c>.</summary>
    public EmulatedAddress? Address { get; init; }

    /// <summary>The business phone number; null is answered as <c>"phone_number": null</c>.</summary>
    public string? PhoneNumber { get; init; }

    /// <summary><c>date_format</c> of the business.</summary>
    public string DateFormat { get; init; } = "mm/dd/yyyy";

    /// <summary>Whether the business has an accounting account (a non-empty <see cref="AccountId"/>).</summary>
    public bool HasAccounting => !string.IsNullOrEmpty(AccountId);
}

/// <summary>A business address; FreshBooks sends null for the parts nobody filled in.</summary>
public sealed record EmulatedAddress(string? Street = null, string? City = null, string? Province = null, string? Country = null, string? PostalCode = null);
