namespace FreshBooks.Emulator;

/// <summary>A FreshBooks identity as <c>users/me</c> reports it.</summary>
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
        Businesses: [new EmulatedBusiness(MembershipId: 90210, BusinessId: 77001, BusinessUuid: "2b6f1c9e-0d4a-4e8b-b3f7-1a9d5c3e7f21", Name: "Analytical Engines Ltd.", AccountId: "AEL001", Role: "owner")]);
}

/// <summary>
/// One of a user's business memberships. <see cref="MembershipId"/> is not the business id;
/// accounting calls use <see cref="AccountId"/>, project calls <see cref="BusinessId"/>.
/// </summary>
public sealed record EmulatedBusiness(long MembershipId, long BusinessId, string BusinessUuid, string Name, string AccountId, string Role);
